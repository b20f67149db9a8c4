/*
 * The S3 XML answers (storage/s3_xml.c, expat): every reader on the same
 * body, as a hostile or broken server could send it -- ListObjectsV2
 * (ListBucketResult), ListMultipartUploads, InitiateMultipartUpload and
 * Error. What each promises its caller is checked on what it accepts.
 */
#include "fuzz.h"
#include "s3_int.h"

static void list(const char *body, size_t len)
{
	struct s3_list_page page;
	size_t i;
	int rc;

	memset(&page, 0, sizeof(page));
	cst_error_clear();
	rc = s3_xml_list(&page, body, len);
	fuzz_verdict("s3_xml_list", rc);
	fuzz_check_rc(rc);
	if (rc == 0) {
		FUZZ_CHECK(!page.truncated || (page.next_token != NULL && page.next_token[0] != '\0'));
		for (i = 0; i < page.n; i++) {
			FUZZ_CHECK(page.v[i].key != NULL && page.v[i].mtime >= 0);
			FUZZ_CHECK(memchr(page.v[i].etag, '\0', sizeof(page.v[i].etag)) != NULL);
			FUZZ_CHECK(strpbrk(page.v[i].etag, "\" ") == NULL);
		}
	}
	s3_list_page_clear(&page);
}

static void uploads(const char *body, size_t len)
{
	struct s3_uploads_page page;
	size_t i;
	int rc;

	memset(&page, 0, sizeof(page));
	cst_error_clear();
	rc = s3_xml_uploads(&page, body, len);
	fuzz_verdict("s3_xml_uploads", rc);
	fuzz_check_rc(rc);
	if (rc == 0) {
		FUZZ_CHECK(!page.truncated || (page.next_key != NULL && page.next_id != NULL));
		for (i = 0; i < page.n; i++)
			FUZZ_CHECK(page.v[i].key != NULL && page.v[i].id != NULL);
	}
	s3_uploads_page_clear(&page);
}

static void upload_id(const char *body, size_t len)
{
	char *id = NULL;
	int rc;

	cst_error_clear();
	rc = s3_xml_upload_id(&id, body, len);
	fuzz_verdict("s3_xml_upload_id", rc);
	fuzz_check_rc(rc);
	FUZZ_CHECK((rc == 0) == (id != NULL));
	FUZZ_CHECK(rc != 0 || id[0] != '\0');
	free(id);
}

static void error_doc(const char *body, size_t len)
{
	char code[64], msg[256];
	size_t i;
	int is_error;

	memset(code, 'x', sizeof(code));
	memset(msg, 'x', sizeof(msg));
	is_error = s3_xml_error(body, len, code, sizeof(code), msg, sizeof(msg));
	FUZZ_CHECK(is_error == 0 || is_error == 1);
	FUZZ_CHECK(memchr(code, '\0', sizeof(code)) != NULL && memchr(msg, '\0', sizeof(msg)) != NULL);
	FUZZ_CHECK(is_error || (code[0] == '\0' && msg[0] == '\0'));
	for (i = 0; code[i]; i++)	/* they go into one-line messages */
		FUZZ_CHECK((unsigned char)code[i] >= 0x20 && code[i] != 0x7f);
	for (i = 0; msg[i]; i++)
		FUZZ_CHECK((unsigned char)msg[i] >= 0x20 && msg[i] != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exactly `size` bytes, as libcurl hands a body over: no NUL after it */
	char *body = malloc(size ? size : 1);

	FUZZ_CHECK(body != NULL);
	memcpy(body, data, size);
	list(body, size);
	uploads(body, size);
	upload_id(body, size);
	error_doc(body, size);
	free(body);
	return 0;
}
