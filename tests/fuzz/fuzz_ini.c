/*
 * The INI files (libinih): the config (agent/cli/config.c) and the AWS
 * credentials file (agent/cli/credentials.c). Both take a path, so the input
 * is written to one file (fuzz_input_file(): mode 0600, in a private temp
 * directory) and each parser loads it:
 * - config_load(), with S3 credentials in the environment so that an S3
 *   config never reads a key_file the input names;
 * - credentials_load() with that file as [storage] key_file and no
 *   credentials in the environment.
 */
#include "fuzz.h"
#include "config.h"
#include "credentials.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	unsetenv("AWS_PROFILE");
	return 0;
}

static void config(const char *path)
{
	struct config *cfg = NULL;
	int rc;

	setenv("AWS_ACCESS_KEY_ID", "AKIAFUZZ", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "fuzz-secret", 1);
	cst_error_clear();
	rc = config_load(&cfg, path);
	fuzz_verdict("config_load", rc);
	fuzz_check_rc(rc);
	FUZZ_CHECK((rc == 0) == (cfg != NULL));
	if (rc == 0) {
		/* what validate() promises the commands */
		FUZZ_CHECK(cfg->storage_provider != NULL && cfg->prefix != NULL &&
			   cfg->bucket_name != NULL && cfg->fqdn != NULL && cfg->state_dir != NULL);
		FUZZ_CHECK(config_fqdn_is_valid(cfg->fqdn));
		FUZZ_CHECK(cfg->prefix[0] != '/');
		FUZZ_CHECK(cfg->segment_size >= 4096 && (cfg->segment_size & (cfg->segment_size - 1)) == 0);
		FUZZ_CHECK(strcmp(cfg->storage_provider, "local") == 0 ||
			   (strcmp(cfg->storage_provider, "s3") == 0 && cfg->access_key_id != NULL));
	}
	config_free(cfg);
}

static void credentials(const char *path)
{
	struct config *cfg = calloc(1, sizeof(*cfg));
	int rc;

	FUZZ_CHECK(cfg != NULL);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	cfg->path = strdup("fuzz.ini");
	cfg->key_file = strdup(path);
	FUZZ_CHECK(cfg->path != NULL && cfg->key_file != NULL);
	cst_error_clear();
	rc = credentials_load(cfg);
	fuzz_verdict("credentials_load", rc);
	fuzz_check_rc(rc);
	if (rc == 0)
		FUZZ_CHECK(cfg->access_key_id != NULL && cfg->access_key_id[0] != '\0' &&
			   cfg->secret_access_key != NULL && cfg->secret_access_key[0] != '\0');
	else
		FUZZ_CHECK(cfg->access_key_id == NULL && cfg->secret_access_key == NULL);
	config_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_input_file(data, size);

	config(path);
	credentials(path);
	return 0;
}
