/* schema: DESCRIBE SCHEMA through cqlsh for meta/schema.cql (schema.h). */
#define _GNU_SOURCE
#include "schema.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot.h"
#include "util.h"

/* A cqlshrc holding the credentials, in a fresh 0700 directory: *dir and
 * *file, both removed by drop_cqlshrc(). */
static int write_cqlshrc(const struct config *cfg, char **dir, char **file)
{
	char *text = NULL;
	size_t len, done = 0;
	int fd = -1, rc = 0;

	*dir = cst_sprintf("%s/cassette-cqlsh-XXXXXX", cfg->encryption_tmp_dir);
	*file = NULL;
	if (*dir == NULL)
		return CST_ENOMEM;
	if (mkdtemp(*dir) == NULL) {
		rc = cst_error_errno("cannot create a private directory in %s", cfg->encryption_tmp_dir);
		free(*dir);
		*dir = NULL;
		return rc;
	}
	if ((*file = cst_path_join(*dir, "cqlshrc")) == NULL)
		return CST_ENOMEM;
	text = cst_sprintf("[authentication]\n%s%s%s%s%s%s",
			   cfg->cql_username ? "username = " : "", cfg->cql_username ? cfg->cql_username : "",
			   cfg->cql_username ? "\n" : "", cfg->cql_password ? "password = " : "",
			   cfg->cql_password ? cfg->cql_password : "", cfg->cql_password ? "\n" : "");
	if (text == NULL)
		return CST_ENOMEM;
	len = strlen(text);
	fd = open(*file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		rc = cst_error_errno("cannot create %s", *file);
	while (rc == 0 && done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = cst_error_errno("cannot write %s", *file);
		else
			done += (size_t)n;
	}
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = cst_error_errno("cannot write %s", *file);
	cst_wipe(text, len);
	free(text);
	return rc;
}

static void drop_cqlshrc(char *dir, char *file)
{
	if (file != NULL)
		unlink(file);
	if (dir != NULL)
		rmdir(dir);
	free(file);
	free(dir);
}

void schema_describe(const struct config *cfg, char **schema)
{
	const char *plain[] = { "-e", "DESCRIBE SCHEMA", NULL };
	const char *with_rc[] = { "--cqlshrc", NULL, "-e", "DESCRIBE SCHEMA", NULL };
	char *dir = NULL, *file = NULL, *text = NULL;
	const char *why = NULL;
	int rc = 0;

	if (cfg->snapshot_mode == SNAPSHOT_HARDLINK && !cfg->cqlsh_cmd_set)
		return;
	if (cfg->cql_username != NULL || cfg->cql_password != NULL) {
		rc = write_cqlshrc(cfg, &dir, &file);
		with_rc[1] = file;
	}
	if (rc == 0)
		rc = command_capture(cfg->cqlsh_cmd, "[cassandra] cqlsh_cmd", file ? with_rc : plain,
				     SCHEMA_CQLSH_TIMEOUT, &text);
	drop_cqlshrc(dir, file);
	if (rc != 0)
		why = cst_error_msg();
	else if (text[strspn(text, " \t\r\n")] == '\0')
		why = "it printed nothing";
	else if (strstr(text, "CREATE KEYSPACE") == NULL)
		why = "its output holds no CREATE KEYSPACE";
	if (why != NULL) {
		fprintf(stderr, "cassette: warning: schema.cql: DESCRIBE SCHEMA through [cassandra] "
			"cqlsh_cmd '%s' did not give the schema (%s); storing the snapshot's per-table "
			"schema.cql files instead\n", cfg->cqlsh_cmd, why);
		free(text);
		return;
	}
	free(*schema);
	*schema = text;
}
