/* keygen and inspect: the two commands that need no config. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "crypto.h"
#include "util.h"

int cmd_keygen(const char *output)
{
	char line[CRYPTO_KEY_B64_LEN + 2];
	struct stat st;
	int fd = STDOUT_FILENO, rc;

	if ((rc = crypto_keygen_b64(line)) != 0)
		return rc;
	strcat(line, "\n");
	if (output != NULL) {
		/* created 0600 here, never over a file that is there */
		if ((fd = open(output, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
			rc = errno == EEXIST ?
			     cst_error(CST_EEXISTS, "%s exists: keygen never replaces a key file", output) :
			     cst_error_errno("cannot create %s", output);
			goto out;
		}
		if (cst_write_all(fd, line, strlen(line)) != 0 || fsync(fd) != 0)
			rc = cst_error_errno("cannot write %s", output);
		if (close(fd) != 0 && rc == 0)
			rc = cst_error_errno("cannot write %s", output);
		if (rc != 0)
			unlink(output);
		goto out;
	}
	/* `cassette keygen > backup.key`: the shell made the file 0644; a key
	 * file must not be readable by others, so tighten it before writing. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if (fchmod(fd, 0600) != 0) {
			rc = cst_error_errno("cannot chmod 600 the key file on standard output");
			goto out;
		}
	} else {
		fprintf(stderr, "cassette: the key goes to a %s: the mode of the file it ends up in is "
			"yours to set (0600), or use keygen --output FILE\n",
			isatty(fd) ? "terminal" : "pipe or device");
	}
	if (cst_write_all(fd, line, strlen(line)) != 0 || fsync(fd) != 0) {
		if (errno != EINVAL && errno != EROFS)
			rc = cst_error_errno("cannot write the key to standard output");
	}
out:
	cst_wipe(line, sizeof(line));
	return rc;
}

/* An object with segment kinds: walk the segments' lengths (no key needed);
 * they must end exactly at the end of the file. */
static int walk_kinds(int fd, const char *path, uint64_t size, uint32_t seg, uint64_t *nseg)
{
	unsigned char len[4];
	uint64_t off = CRYPTO_HEADER_LEN;
	uint32_t l;

	*nseg = 0;
	while (off < size) {
		if (pread(fd, len, sizeof(len), (off_t)off) != (ssize_t)sizeof(len))
			return cst_error(CST_EINTEGRITY, "%s: truncated inside the length of segment %" PRIu64,
					 path, *nseg);
		l = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 | (uint32_t)len[2] << 8 | len[3];
		if (l < 1 || l > seg + 1)
			return cst_error(CST_EINTEGRITY, "%s: segment %" PRIu64 " declares %" PRIu32
					 " bytes (1..%" PRIu32 ")", path, *nseg, l, seg + 1);
		off += sizeof(len) + l + CRYPTO_TAG_LEN;
		(*nseg)++;
	}
	if (off != size || *nseg == 0)
		return cst_error(CST_EINTEGRITY, "%s: the segments' lengths do not end at its %" PRIu64
				 " bytes (truncated or extended)", path, size);
	return 0;
}

int cmd_inspect(const char *path)
{
	unsigned char buf[CRYPTO_HEADER_LEN];
	struct crypto_header h;
	struct stat st;
	uint64_t plain;
	ssize_t n;
	char keyid[2 * CRYPTO_KEYID_LEN + 1], salt[2 * CRYPTO_SALT_LEN + 1];
	char prefix[2 * CRYPTO_PREFIX_LEN + 1];
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return cst_error_errno("cannot open %s", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cst_error(CST_EINVALID, "%s is not a regular file", path);
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0) {
		rc = cst_error_errno("cannot read %s", path);
		close(fd);
		return rc;
	}
	if ((rc = crypto_header_parse(&h, buf, (size_t)n)) != 0) {
		close(fd);
		return cst_error(rc, "%s: %s", path, cst_error_msg());
	}
	cst_hex(keyid, h.key_id, sizeof(h.key_id));
	cst_hex(salt, h.salt, sizeof(h.salt));
	cst_hex(prefix, h.nonce_prefix, sizeof(h.nonce_prefix));
	printf("file:           %s\n", path);
	printf("format:         cassette encrypted object, version %u\n", h.version);
	printf("suite:          %u (AES-256-GCM, HKDF-SHA256 per-object key, STREAM segments)\n", h.suite);
	printf("key id:         %s\n", keyid);
	printf("segment size:   %" PRIu32 "\n", h.segment_size);
	printf("salt:           %s\n", salt);
	printf("nonce prefix:   %s\n", prefix);
	printf("compression:    %s\n", (h.flags & CRYPTO_FLAG_SEGMENT_KINDS) ?
	       "segment kinds (each segment raw or zstd)" : "none");
	printf("stored size:    %lld\n", (long long)st.st_size);
	if (h.flags & CRYPTO_FLAG_SEGMENT_KINDS) {
		rc = walk_kinds(fd, path, (uint64_t)st.st_size, h.segment_size, &plain);
		close(fd);
		if (rc != 0)
			return rc;
		printf("segments:       %" PRIu64 "\n", plain);
		printf("plaintext size: up to %" PRIu64 " (compressed segments: the key tells)\n",
		       plain * h.segment_size);
		return 0;
	}
	close(fd);
	if (crypto_plain_size(&plain, (uint64_t)st.st_size, h.segment_size) == 0) {
		printf("segments:       %" PRIu64 "\n",
		       plain == 0 ? 1 : (plain + h.segment_size - 1) / h.segment_size);
		printf("plaintext size: %" PRIu64 "\n", plain);
	} else {
		printf("plaintext size: none\n");
		return cst_error(CST_EINTEGRITY, "%s: a stored size of %lld bytes matches no plaintext size "
				 "with %" PRIu32 "-byte segments (truncated or extended)", path,
				 (long long)st.st_size, h.segment_size);
	}
	return 0;
}
