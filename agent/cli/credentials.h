/* credentials: S3 access keys from the environment or an AWS credentials file. */
#ifndef CASSETTE_CREDENTIALS_H
#define CASSETTE_CREDENTIALS_H

struct config;

/*
 * Fill cfg->access_key_id and cfg->secret_access_key: from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY when both are set, else from
 * [storage] key_file, an AWS credentials file (profile $AWS_PROFILE, else
 * "default"). The file must not be readable by group or others. Missing
 * credentials are CST_EINVALID naming what to set. Intermediate copies of
 * the secret are wiped.
 */
int credentials_load(struct config *cfg);

#endif
