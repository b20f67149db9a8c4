/*
 * tokenmap: a node's tokens, read from a backup's meta/tokenmap.json
 *   {"<node>": {"tokens": [<int64> or "<integer>", ...], "is_up": ..., "rack": ..., "dc": ...}}
 * for restoring that node's backup onto another host, which must take over
 * exactly those tokens.
 */
#ifndef CASSETTE_TOKENMAP_H
#define CASSETTE_TOKENMAP_H

#include <stddef.h>

/*
 * The tokens of `node` in the document json[0..len), as Cassandra's
 * initial_token wants them: "t1,t2,..." in the document's order, into *out
 * (the caller frees), and their count into *n. Each token is a JSON integer,
 * or a string of decimal digits (tokens beyond 64 bits, RandomPartitioner's,
 * do not fit a JSON integer here). `origin` names the document in messages.
 * 0; CST_EINVALID for a document of another shape or a token that is not an
 * integer; CST_ENOTFOUND when the node is absent or has no tokens ("cannot
 * seed a new node"). On failure *out is NULL.
 */
int tokenmap_tokens(char **out, size_t *n, const char *json, size_t len, const char *node,
		    const char *origin);

#endif
