/*
 * yaml_tokens: make a cassandra.yaml take over another node's tokens, for a
 * node restored in place from that node's backup:
 *   initial_token: <t1,t2,...>
 *   num_tokens: <their count>
 *   auto_bootstrap: false
 * Every other byte of the file stays as it was. An uncommented top-level
 * line of one of these keys is replaced in place (with the value's
 * continuation lines, if any); a commented-out one ("# initial_token:") is
 * left alone; a key that is absent is appended at the end. This is a line
 * edit, not a YAML parser: cassandra.yaml is a flat mapping at column 0.
 */
#ifndef CASSETTE_YAML_TOKENS_H
#define CASSETTE_YAML_TOKENS_H

#include <stddef.h>

/*
 * The edited text of text[0..len) into *out (NUL-terminated, the caller
 * frees) and its length into *out_len. `initial_token` is the comma-separated
 * list, `num_tokens` its count. 0, or CST_ENOMEM.
 */
int yaml_tokens_edit(char **out, size_t *out_len, const char *text, size_t len,
		     const char *initial_token, size_t num_tokens);

/*
 * Before anything is changed: 0 when `path` (symbolic links followed) is a
 * readable regular file whose directory this process may write; else a CST_
 * code naming the path and the reason.
 */
int yaml_tokens_check(const char *path);

/*
 * Edit the file `path` (symbolic links followed) durably: the original is
 * first kept beside it as <path>.cassette-<tag> (or .cassette-<tag>.1, .2...
 * when that name holds something else; an identical earlier copy is reused),
 * then the edited text goes to a temp file with the original's mode, owner
 * and group, fsynced, renamed over the file, and the directory fsynced.
 * *kept gets the copy's name (the caller frees), or NULL when the file
 * already said exactly this and was left untouched. 0, or a CST_ code; on
 * failure the file is as it was.
 */
int yaml_tokens_apply(const char *path, const char *tag, const char *initial_token,
		      size_t num_tokens, char **kept);

#endif
