/*
 * topology_parse: `nodetool ring` and `nodetool status`, line by line.
 *
 * Both print, per data center, "Datacenter: <dc>", a line of '=', then a
 * table (status first prints a two-line legend). Lines are split on blanks
 * and read by what each field must look like, from the left and the right,
 * never by column offset: 3.x status columns overflow their widths, a ring
 * rack of 12 or more characters runs into the Status word, loads may be '?'
 * or "2,1 MiB", ownership '?' or "100,00%". The rules and real samples are in
 * ../shared/fixtures/nodetool/README.md.
 */
#define _GNU_SOURCE
#include "topology_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define MAX_FIELDS 24		/* more is never a table line */
#define QUOTE_MAX 160		/* how much of a bad line an error quotes */

enum where { BEFORE, RULE, HEADER, WRAP, ROWS, AFTER };

struct tok {
	int64_t token;
	size_t node;
};

struct parser {
	const char *what;		/* "nodetool ring" or "nodetool status" */
	int ring;			/* else status */
	int lineno;
	char *line;			/* the current line, trimmed on the right */
	char *copy;			/* the same, cut into fields */
	size_t cap;
	char *f[MAX_FIELDS];
	int n;				/* fields; MAX_FIELDS + 1: too many */
	enum where at;
	char *dc;			/* the current data center */
	int token_per_node;		/* status: the "Token" layout */
	/* ring: the current data center's wrap-around line and largest token */
	int have_wrap, wrap_line;
	int64_t wrap, dc_max;
	size_t dc_rows;
	struct topology *t;
	size_t nodes_cap;
	uint32_t *slots;		/* address index: node + 1, 0 = empty */
	size_t n_slots;
	struct tok *toks;		/* ring: every (token, node) */
	size_t n_toks, toks_cap;
};

/* ---- lines and fields --------------------------------------------------- */

static void quote(char *out, const char *line)
{
	size_t i;

	for (i = 0; line[i] && i < QUOTE_MAX; i++)
		out[i] = ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) ? '?' : line[i];
	if (line[i])
		memcpy(out + i, "...", 4);
	else
		out[i] = '\0';
}

static int bad_line(const struct parser *p, const char *why)
{
	char q[QUOTE_MAX + 4];

	quote(q, p->line);
	if (why != NULL)
		return cst_error(CST_EINVALID, "%s: line %d is not understood (%s): '%s'", p->what,
				 p->lineno, why, q);
	return cst_error(CST_EINVALID, "%s: line %d is not understood: '%s'", p->what, p->lineno, q);
}

/* The next line into p->line and p->f: 1, 0 at the end, or CST_ENOMEM. */
static int next_line(struct parser *p, const char **pos)
{
	const char *s = *pos, *nl;
	size_t len;
	char *tok, *save = NULL;

	if (*s == '\0')
		return 0;
	nl = strchr(s, '\n');
	len = nl ? (size_t)(nl - s) : strlen(s);
	*pos = nl ? nl + 1 : s + len;
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	if (len + 1 > p->cap) {
		char *a = cst_realloc(p->line, len + 1), *b;

		if (a == NULL)
			return CST_ENOMEM;
		p->line = a;
		if ((b = cst_realloc(p->copy, len + 1)) == NULL)
			return CST_ENOMEM;
		p->copy = b;
		p->cap = len + 1;
	}
	memcpy(p->line, s, len);
	p->line[len] = '\0';
	memcpy(p->copy, p->line, len + 1);
	p->lineno++;
	p->n = 0;
	for (tok = strtok_r(p->copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (p->n == MAX_FIELDS) {
			p->n = MAX_FIELDS + 1;
			break;
		}
		p->f[p->n++] = tok;
	}
	return 1;
}

/* ---- what fields look like ---------------------------------------------- */

static int is_digits(const char *s)
{
	return *s && s[strspn(s, "0123456789")] == '\0';
}

/* "2,1", "75.19", "0": a Load number in any locale. */
static int is_amount(const char *s)
{
	return *s >= '0' && *s <= '9' && s[strspn(s, "0123456789.,")] == '\0';
}

static int is_unit(const char *s)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB",
					     "KB", "MB", "GB", "TB", NULL };
	size_t i;

	for (i = 0; units[i]; i++)
		if (strcmp(s, units[i]) == 0)
			return 1;
	return 0;
}

/* "48.85%", "100,00%", "?" */
static int is_owns(const char *s)
{
	size_t len = strlen(s);

	return strcmp(s, "?") == 0 ||
	       (len >= 2 && s[len - 1] == '%' && s[0] >= '0' && s[0] <= '9' &&
		strspn(s, "0123456789.,") == len - 1);
}

static int is_host_id(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : strchr("0123456789abcdefABCDEF", s[i]) == NULL)
			return 0;
	}
	return 1;
}

/* The ring's Status word: 1 Up, 0 Down, -1 '?'; -2 when it is not one. */
static int ring_status(const char *s)
{
	return strcmp(s, "Up") == 0 ? 1 : strcmp(s, "Down") == 0 ? 0 : strcmp(s, "?") == 0 ? -1 : -2;
}

/* The ring's State word as status's letter, or 0. */
static char ring_state(const char *s)
{
	return strcmp(s, "Normal") == 0 ? 'N' : strcmp(s, "Joining") == 0 ? 'J' :
	       strcmp(s, "Leaving") == 0 ? 'L' : strcmp(s, "Moving") == 0 ? 'M' : 0;
}

/* A rack of 12 or more characters runs into the Status word ("eu-central-1cUp"):
 * cut the word off `field` and return it, or NULL. */
static const char *glued_status(char *field)
{
	static const char *const words[] = { "Down", "Up", "?" };
	size_t len = strlen(field), i;

	for (i = 0; i < 3; i++) {
		size_t w = strlen(words[i]);

		if (len >= 12 + w && strcmp(field + len - w, words[i]) == 0) {
			field[len - w] = '\0';
			return words[i];
		}
	}
	return NULL;
}

int topo_token(int64_t *out, const char *s, const char *what, int line)
{
	const char *digits = s + (*s == '-');
	char *end;
	long long v;

	if (is_digits(digits)) {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno == 0 && *end == '\0') {
			*out = (int64_t)v;
			return 0;
		}
		return cst_error(CST_EUNSUPPORTED, "%s: line %d: token %.80s does not fit a signed 64-bit "
				 "integer (RandomPartitioner?): only Murmur3Partitioner is supported",
				 what, line, s);
	}
	return cst_error(CST_EUNSUPPORTED, "%s: line %d: token '%.80s' is not a Murmur3 token "
			 "(ByteOrderedPartitioner?): only Murmur3Partitioner is supported", what, line, s);
}

/* ---- nodes by address --------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The index slot of `address`: its node's (*node set), or the empty slot
 * where it goes (*node NULL). The index must not be empty. */
static size_t lookup(const struct parser *p, const char *address, struct topo_node **node)
{
	size_t mask = p->n_slots - 1, i = (size_t)hash_str(address) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t v = p->slots[i];

		*node = v ? &p->t->nodes[v - 1] : NULL;
		if (v == 0 || strcmp((*node)->address, address) == 0)
			return i;
	}
}

static struct topo_node *find_node(const struct parser *p, const char *address)
{
	struct topo_node *node = NULL;

	if (p->n_slots > 0)
		lookup(p, address, &node);
	return node;
}

static int index_grow(struct parser *p)
{
	size_t n = p->n_slots ? p->n_slots * 2 : 64, i, idx, mask = n - 1;
	uint32_t *slots = cst_calloc(n, sizeof(*slots));

	if (slots == NULL)
		return CST_ENOMEM;
	for (i = 0; i < p->t->n_nodes; i++) {
		for (idx = (size_t)hash_str(p->t->nodes[i].address) & mask; slots[idx];
		     idx = (idx + 1) & mask)
			;
		slots[idx] = (uint32_t)(i + 1);
	}
	free(p->slots);
	p->slots = slots;
	p->n_slots = n;
	return 0;
}

/* A new node at `address` in the current data center, in the index. */
static int add_node(struct parser *p, const char *address, const char *rack,
		    struct topo_node **out)
{
	struct topology *t = p->t;
	struct topo_node *nodes, *node, *old;
	size_t slot;

	if (t->n_nodes >= UINT32_MAX - 1)
		return cst_error(CST_EINVALID, "%s: too many nodes", p->what);
	if ((t->n_nodes + 1) * 2 > p->n_slots && index_grow(p) != 0)
		return CST_ENOMEM;
	if ((nodes = cst_grow(t->nodes, &p->nodes_cap, t->n_nodes, sizeof(*nodes), 16)) == NULL)
		return CST_ENOMEM;
	t->nodes = nodes;
	node = &nodes[t->n_nodes];
	memset(node, 0, sizeof(*node));
	t->n_nodes++;
	if ((node->address = cst_strdup(address)) == NULL || (node->name = cst_strdup(address)) == NULL ||
	    (node->dc = cst_strdup(p->dc)) == NULL || (node->rack = cst_strdup(rack)) == NULL)
		return CST_ENOMEM;
	slot = lookup(p, address, &old);
	p->slots[slot] = (uint32_t)t->n_nodes;
	*out = node;
	return 0;
}

/* ---- rows --------------------------------------------------------------- */

/* `n` fields that are a Load: "?" or "<amount> <unit>". */
static int is_load(char *const *f, int n)
{
	return (n == 1 && strcmp(f[0], "?") == 0) || (n == 2 && is_amount(f[0]) && is_unit(f[1]));
}

static int conflict(const struct parser *p, const struct topo_node *node, const char *rack)
{
	return cst_error(CST_EINVALID, "%s: line %d: %s is in data center %s, rack %s, and in data "
			 "center %s, rack %s", p->what, p->lineno, node->address, node->dc, node->rack,
			 p->dc, rack);
}

/* Address, Rack, Status, State, Load, Owns, Token; the rack may run into the
 * Status word. */
static int ring_row(struct parser *p)
{
	char **f = p->f;
	const char *status;
	struct topo_node *node;
	struct tok *toks;
	int n = p->n, s, rc;
	int64_t token;

	if (n < 6 || n > 8)
		return bad_line(p, NULL);
	if (ring_status(f[2]) != -2 && ring_state(f[3]) != 0) {
		status = f[2];
		s = 3;
	} else if (ring_state(f[2]) != 0 && (status = glued_status(f[1])) != NULL) {
		s = 2;
	} else {
		return bad_line(p, NULL);
	}
	if (!is_load(f + s + 1, n - s - 3) || !is_owns(f[n - 2]))
		return bad_line(p, NULL);
	if ((rc = topo_token(&token, f[n - 1], p->what, p->lineno)) != 0)
		return rc;
	if ((node = find_node(p, f[0])) == NULL) {
		if ((rc = add_node(p, f[0], f[1], &node)) != 0)
			return rc;
		node->up = ring_status(status);
		node->state = ring_state(f[s]);
	} else if (strcmp(node->dc, p->dc) != 0 || strcmp(node->rack, f[1]) != 0) {
		return conflict(p, node, f[1]);
	}
	if ((toks = cst_grow(p->toks, &p->toks_cap, p->n_toks, sizeof(*toks), 1024)) == NULL)
		return CST_ENOMEM;
	p->toks = toks;
	toks[p->n_toks].token = token;
	toks[p->n_toks++].node = (size_t)(node - p->t->nodes);
	if (p->dc_rows++ == 0 || token > p->dc_max)
		p->dc_max = token;
	return 0;
}

/* Status, Address, Load, Tokens, Owns, Host ID, Rack; or in the token-per-node
 * layout Status, Address, Load, Owns, Host ID, Token, Rack. A null Host ID is
 * "null" (3.x) or an empty cell (4.0+). */
static int status_row(struct parser *p)
{
	char **f = p->f;
	const char *host_id = NULL;
	struct topo_node *node;
	int n = p->n, i = 2, rest, want = p->token_per_node ? 2 : 1, rc;
	long count = 1;
	int64_t token = 0;

	if (n < 5 || n > 10 || strlen(f[0]) != 2 || strchr("UD?", f[0][0]) == NULL ||
	    strchr("NJLMR", f[0][1]) == NULL)
		return bad_line(p, NULL);
	if (strcmp(f[i], "?") == 0)
		i += 1;
	else if (is_load(f + i, 2))
		i += 2;
	else
		return bad_line(p, NULL);
	if (!p->token_per_node) {
		if (i >= n || !is_digits(f[i]) || strlen(f[i]) > 9 || (count = atol(f[i])) == 0)
			return bad_line(p, NULL);
		i++;
	}
	if (i >= n || !is_owns(f[i]))
		return bad_line(p, NULL);
	rest = n - ++i;
	if (rest == want + 1) {
		host_id = f[i++];
		if (strcmp(host_id, "null") == 0)
			host_id = NULL;
		else if (!is_host_id(host_id))
			return bad_line(p, NULL);
	} else if (rest != want) {
		return bad_line(p, NULL);
	}
	if (p->token_per_node && (rc = topo_token(&token, f[i++], p->what, p->lineno)) != 0)
		return rc;
	if (find_node(p, f[1]) != NULL)
		return cst_error(CST_EINVALID, "%s: line %d: %s is listed twice", p->what, p->lineno, f[1]);
	if ((rc = add_node(p, f[1], f[i], &node)) != 0)
		return rc;
	node->up = f[0][0] == 'U' ? 1 : f[0][0] == 'D' ? 0 : -1;
	node->state = f[0][1];
	if (host_id != NULL && (node->host_id = cst_strdup(host_id)) == NULL)
		return CST_ENOMEM;
	if (p->token_per_node) {
		if ((node->tokens = cst_malloc(sizeof(*node->tokens))) == NULL)
			return CST_ENOMEM;
		node->tokens[0] = token;
	}
	node->n_tokens = (size_t)count;
	p->dc_rows++;
	return 0;
}

/* ---- the blocks around the rows ----------------------------------------- */

static const char warning1[] = "Warning: \"nodetool ring\" is used to output all the tokens of a node.";
static const char warning2[] = "To view status related info of a node use \"nodetool status\" instead.";

static int header(struct parser *p)
{
	char **f = p->f;
	int i;

	if (p->ring) {
		if (p->n >= 2 && strcmp(f[0], "Address") == 0 && strcmp(f[p->n - 1], "Token") == 0) {
			p->at = WRAP;
			return 0;
		}
		return bad_line(p, "expected the header 'Address  Rack  Status  State  Load  Owns  Token'");
	}
	if (strncmp(p->line, "Status=", 7) == 0 || strncmp(p->line, "|/ State=", 9) == 0)
		return 0;	/* the legend */
	if (p->n >= 4 && strcmp(f[0], "--") == 0 && strcmp(f[1], "Address") == 0 &&
	    strcmp(f[2], "Load") == 0) {
		p->token_per_node = -1;
		if (strcmp(f[3], "Tokens") == 0)
			p->token_per_node = 0;
		for (i = 3; i < p->n && p->token_per_node < 0; i++)
			if (strcmp(f[i], "Token") == 0)
				p->token_per_node = 1;
		if (p->token_per_node >= 0) {
			p->at = ROWS;
			return 0;
		}
	}
	return bad_line(p, "expected the header '--  Address  Load  Tokens  Owns  Host ID  Rack'");
}

static int looks_like_token(const char *s)
{
	return is_digits(s + (*s == '-')) || s[strspn(s, "0123456789abcdefABCDEF")] == '\0';
}

/* The ring's line after the header: the data center's largest token (the
 * range that wraps around), or an empty line when it has one token. */
static int wrap(struct parser *p)
{
	int rc;

	p->at = ROWS;
	if (p->n == 0)
		return 0;
	if (p->n != 1)
		return ring_row(p);
	if (!looks_like_token(p->f[0]))
		return bad_line(p, NULL);
	if ((rc = topo_token(&p->wrap, p->f[0], p->what, p->lineno)) != 0)
		return rc;
	p->have_wrap = 1;
	p->wrap_line = p->lineno;
	return 0;
}

static int finish_dc(struct parser *p)
{
	p->at = AFTER;
	if (p->dc_rows == 0)
		return cst_error(CST_EINVALID, "%s: line %d: data center %s lists no node", p->what,
				 p->lineno, p->dc);
	if (p->ring && p->have_wrap && p->wrap != p->dc_max)
		return cst_error(CST_EINVALID, "%s: line %d: the wrap-around token %lld is not the largest "
				 "token of data center %s (%lld)", p->what, p->wrap_line,
				 (long long)p->wrap, p->dc, (long long)p->dc_max);
	p->have_wrap = 0;
	p->dc_rows = 0;
	return 0;
}

static int start_dc(struct parser *p)
{
	const char *name = p->line + strlen("Datacenter:");

	name += strspn(name, " \t");
	if (*name == '\0')
		return bad_line(p, "no data center name");
	free(p->dc);
	if ((p->dc = cst_strdup(name)) == NULL)
		return CST_ENOMEM;
	p->at = RULE;
	return 0;
}

/* After the tables: empty lines, the ring's vnode warning, "Note: ...". */
static int after(struct parser *p)
{
	const char *s = p->line + strspn(p->line, " \t");

	if (*s == '\0' || strncmp(s, "Note: ", 6) == 0)
		return 0;
	if (p->ring && (strcmp(s, warning1) == 0 || strcmp(s, warning2) == 0))
		return 0;
	return bad_line(p, NULL);
}

static int parse_lines(struct parser *p, const char *text)
{
	const char *pos = text;
	int rc;

	while ((rc = next_line(p, &pos)) == 1) {
		if ((p->at == BEFORE || p->at == ROWS || p->at == AFTER) &&
		    strncmp(p->line, "Datacenter:", 11) == 0) {
			if ((p->at == ROWS && (rc = finish_dc(p)) != 0) || (rc = start_dc(p)) != 0)
				return rc;
			continue;
		}
		if (p->n > MAX_FIELDS && p->at != BEFORE && p->at != AFTER)
			return bad_line(p, NULL);
		rc = 0;
		switch (p->at) {
		case BEFORE:	/* chatter before the output */
			break;
		case RULE:
			if (p->n != 1 || p->line[strspn(p->line, "=")] != '\0')
				return bad_line(p, "expected a line of '='");
			p->at = HEADER;
			break;
		case HEADER:
			rc = header(p);
			break;
		case WRAP:
			rc = wrap(p);
			break;
		case ROWS:
			rc = p->n == 0 ? finish_dc(p) : p->ring ? ring_row(p) : status_row(p);
			break;
		case AFTER:
			rc = after(p);
			break;
		}
		if (rc != 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (p->at == BEFORE)
		return cst_error(CST_EINVALID, "%s: no 'Datacenter:' line in its %d line%s of output",
				 p->what, p->lineno, p->lineno == 1 ? "" : "s");
	if (p->at == ROWS)
		return finish_dc(p);
	if (p->at != AFTER)
		return cst_error(CST_EINVALID, "%s: the output ends in the header of data center %s "
				 "(line %d)", p->what, p->dc, p->lineno);
	return 0;
}

static int cmp_tok(const void *a, const void *b)
{
	const struct tok *x = a, *y = b;

	if (x->token != y->token)
		return x->token < y->token ? -1 : 1;
	return x->node < y->node ? -1 : x->node > y->node;	/* errors name them in order */
}

/* Every node's tokens, ascending; a token listed twice is an error. */
static int finish_tokens(struct parser *p)
{
	struct topology *t = p->t;
	size_t i;

	qsort(p->toks, p->n_toks, sizeof(*p->toks), cmp_tok);
	for (i = 1; i < p->n_toks; i++)
		if (p->toks[i].token == p->toks[i - 1].token)
			return cst_error(CST_EINVALID, "%s: token %lld is listed twice (%s and %s)", p->what,
					 (long long)p->toks[i].token, t->nodes[p->toks[i - 1].node].address,
					 t->nodes[p->toks[i].node].address);
	for (i = 0; i < p->n_toks; i++)
		t->nodes[p->toks[i].node].n_tokens++;
	for (i = 0; i < t->n_nodes; i++) {
		if ((t->nodes[i].tokens = cst_calloc(t->nodes[i].n_tokens, sizeof(int64_t))) == NULL)
			return CST_ENOMEM;
		t->nodes[i].n_tokens = 0;
	}
	for (i = 0; i < p->n_toks; i++) {
		struct topo_node *node = &t->nodes[p->toks[i].node];

		node->tokens[node->n_tokens++] = p->toks[i].token;
	}
	return 0;
}

static int parse(struct topology **out, const char *text, int ring)
{
	struct parser p;
	int rc;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.ring = ring;
	p.what = ring ? "nodetool ring" : "nodetool status";
	if ((p.t = cst_calloc(1, sizeof(*p.t))) == NULL)
		return CST_ENOMEM;
	if ((rc = parse_lines(&p, text)) == 0 && ring)
		rc = finish_tokens(&p);
	if (rc == 0) {
		*out = p.t;
		p.t = NULL;
	}
	topology_free(p.t);
	free(p.line);
	free(p.copy);
	free(p.dc);
	free(p.slots);
	free(p.toks);
	return rc;
}

int topo_parse_ring(struct topology **out, const char *text)
{
	return parse(out, text, 1);
}

int topo_parse_status(struct topology **out, const char *text)
{
	return parse(out, text, 0);
}
