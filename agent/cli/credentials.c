/* credentials: the AWS credentials file and environment variables. */
#define _GNU_SOURCE
#include "credentials.h"

#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "util.h"

struct creds_state {
	const char *profile;
	char *id, *secret;
	int nomem;
};

static int on_cred(void *user, const char *section, const char *name, const char *value)
{
	struct creds_state *st = user;
	char **field = NULL;

	if (strcmp(section, st->profile) != 0)
		return 1;
	if (strcmp(name, "aws_access_key_id") == 0)
		field = &st->id;
	else if (strcmp(name, "aws_secret_access_key") == 0)
		field = &st->secret;
	if (field == NULL)
		return 1;	/* other keys (aws_session_token, region...) are not ours */
	if (*field != NULL) {
		cst_wipe(*field, strlen(*field));
		free(*field);
	}
	if ((*field = strdup(value)) == NULL)
		st->nomem = 1;
	return 1;
}

static int from_file(struct config *cfg)
{
	struct creds_state st = { NULL, NULL, NULL, 0 };
	const char *profile = getenv("AWS_PROFILE");
	struct stat sb;
	int line, rc = 0;

	st.profile = profile && *profile ? profile : "default";
	if (stat(cfg->key_file, &sb) != 0)
		return cst_error_errno("%s: [storage] key_file %s", cfg->path, cfg->key_file);
	if (!S_ISREG(sb.st_mode))
		return cst_error(CST_EINVALID, "%s: [storage] key_file %s is not a regular file",
				 cfg->path, cfg->key_file);
	if (sb.st_mode & 077)
		return cst_error(CST_EINVALID, "key_file %s is readable by group or others (mode %04o); "
				 "chmod 600 it", cfg->key_file, (unsigned)(sb.st_mode & 07777));
	line = ini_parse(cfg->key_file, on_cred, &st);
	if (line < 0)
		rc = cst_error_errno("cannot read key_file %s", cfg->key_file);
	else if (line > 0)
		rc = cst_error(CST_EINVALID, "%s:%d: not an AWS credentials file", cfg->key_file, line);
	else if (st.nomem)
		rc = cst_error(CST_ENOMEM, "out of memory");
	else if (st.id == NULL || st.secret == NULL || !*st.id || !*st.secret)
		rc = cst_error(CST_EINVALID, "%s: profile [%s] lacks aws_access_key_id or "
			       "aws_secret_access_key", cfg->key_file, st.profile);
	if (rc == 0) {
		cfg->access_key_id = st.id;
		cfg->secret_access_key = st.secret;
		return 0;
	}
	free(st.id);
	if (st.secret) {
		cst_wipe(st.secret, strlen(st.secret));
		free(st.secret);
	}
	return rc;
}

int credentials_load(struct config *cfg)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");

	if (id && *id && secret && *secret) {
		cfg->access_key_id = cst_strdup(id);
		cfg->secret_access_key = cst_strdup(secret);
		return cfg->access_key_id && cfg->secret_access_key ? 0 : CST_ENOMEM;
	}
	if (cfg->key_file != NULL && cfg->key_file[0] != '\0')
		return from_file(cfg);
	return cst_error(CST_EINVALID, "%s: no S3 credentials: set [storage] key_file (an AWS "
			 "credentials file) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", cfg->path);
}
