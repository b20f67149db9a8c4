/* datadirs: data_file_directories read from cassandra.yaml, and a backup
 * refused when it names a directory that data_dir is not. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "datadirs.h"
#include "scratch.h"
#include "util.h"

static void expect_dirs(const char *yaml, size_t want, const char *const *dirs)
{
	char **v;
	size_t n, i;

	assert_int_equal(datadirs_parse(&v, &n, yaml, strlen(yaml)), 0);
	assert_int_equal(n, want);
	for (i = 0; i < n; i++) {
		assert_string_equal(v[i], dirs[i]);
		free(v[i]);
	}
	free(v);
}

static void test_parse(void **state)
{
	static const char *const two[] = { "/var/lib/cassandra/data", "/mnt/disk2/data" };
	char **v;
	size_t n;

	(void)state;
	/* as shipped: commented out, so Cassandra's default; nothing to compare */
	expect_dirs("cluster_name: 'x'\n# data_file_directories:\n#     - /var/lib/cassandra/data\n"
		    "commitlog_directory: /c\n", 0, NULL);
	/* a block list, indented, with a comment, a blank line and quotes */
	expect_dirs("a: 1\ndata_file_directories:\n    - /var/lib/cassandra/data  # main\n\n"
		    "    # another disk\n    - \"/mnt/disk2/data\"\ncommitlog_directory: /c\n", 2, two);
	/* a block list at column 0, then the file ends without a newline */
	expect_dirs("data_file_directories:\n- /var/lib/cassandra/data\n- '/mnt/disk2/data'", 2, two);
	/* a flow list */
	expect_dirs("data_file_directories: [/var/lib/cassandra/data, \"/mnt/disk2/data\"]\n", 2, two);
	/* a key that only starts like it is another key */
	expect_dirs("data_file_directories_x:\n    - /nope\n", 0, NULL);
	assert_int_not_equal(datadirs_parse(&v, &n, "data_file_directories: [/a, /b\n", 30), 0);
}

/* Write cassandra.yaml: "data_file_directories:" then text (freed). */
static void write_yaml(const char *path, char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(text);
	assert_non_null(f);
	fprintf(f, "data_file_directories:%s", text);
	assert_int_equal(fclose(f), 0);
	free(text);
}

static void test_check(void **state)
{
	char *dir = scratch_new("datadirs"), *data = cst_path_join(dir, "data");
	char *other = cst_path_join(dir, "disk2"), *yaml = cst_path_join(dir, "cassandra.yaml");
	char *via_link = cst_path_join(dir, "link");
	char ini[] = "test.ini";
	struct config cfg;

	(void)state;
	assert_int_equal(cst_mkdirs(data), 0);
	assert_int_equal(symlink(data, via_link), 0);
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = ini;
	cfg.data_dir = data;
	cfg.cassandra_config = yaml;
	/* no cassandra.yaml at all: nothing to compare */
	assert_int_equal(datadirs_check(&cfg), 0);
	/* data_dir itself, even named through a link */
	write_yaml(yaml, cst_sprintf("\n    - %s\n", via_link));
	assert_int_equal(datadirs_check(&cfg), 0);
	/* a second directory: its SSTables would be missing */
	write_yaml(yaml, cst_sprintf("\n    - %s\n    - %s\n", data, other));
	assert_int_equal(datadirs_check(&cfg), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), other));
	assert_non_null(strstr(cst_error_msg(), "lists 2 data_file_directories"));
	/* one directory, and not data_dir (a stale copy backed up instead) */
	write_yaml(yaml, cst_sprintf(" [%s]\n", other));
	assert_int_equal(datadirs_check(&cfg), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "is not [cassandra] data_dir"));
	unlink(yaml);
	/* SSTables in a keyspace directory that is not named <table>-<id> */
	scratch_write(data, "ks1/t1-0123456789abcdef0123456789abcdef/nb-1-big-Data.db", "x", 1);
	scratch_write(data, "ks1/notes/readme.txt", "x", 1);	/* no SSTable: left alone */
	assert_int_equal(datadirs_check(&cfg), 0);
	scratch_write(data, "ks1/legacy/ks1-legacy-ka-1-Data.db", "x", 1);
	assert_int_equal(datadirs_check(&cfg), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "ks1/legacy holds SSTables"));
	scratch_remove(dir);
	free(data);
	free(other);
	free(yaml);
	free(via_link);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
