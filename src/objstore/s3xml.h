/*
 * s3xml.h - the S3 XML documents the S3 backend reads and writes: a
 * ListObjectsV2 page, an <Error> body, the reply that starts a multipart
 * upload and the request that completes one.
 *
 * The reading side sits on xml.h's strict reader, with limits that fit the
 * largest legitimate reply (a page of 1000 keys of 1024 bytes, each
 * percent-encoded) and nothing much bigger.
 */
#ifndef AK_S3XML_H
#define AK_S3XML_H

#include <stddef.h>

#include "objstore/objstore.h"
#include "util/buf.h"
#include "util/err.h"

/* Bytes of a reply body the backend keeps (listing pages included). */
#define AK_S3XML_MAX_BYTES (16u << 20)

typedef struct {
    char code[64];     /* "NoSuchKey"; "" when the body is no S3 error */
    char message[256]; /* S3's sentence on one line, cut to fit */
} ak_s3_error;

/* 1 and *e filled when body is an S3 <Error> document, else 0 (and
 * e->code, e->message empty). */
int ak_s3xml_error(const char *body, size_t len, ak_s3_error *e);

/* Decode a ListBucketResult into *out (zeroed first; release it with
 * ak_store_page_free() even on failure).  Every key and prefix must start
 * with strip, the store's own prefix, which is removed.  With
 * <EncodingType>url</EncodingType> keys and prefixes are percent-decoded
 * ("+" is a space).  Keys and prefixes that are no valid object key once
 * decoded are left out, as the local backend leaves out names it could not
 * serve.  Errors: AK_ERR_CORRUPT (not a valid page), AK_ERR_NOMEM. */
ak_code ak_s3xml_list(const char *body, size_t len, const char *strip, ak_store_page *out,
                      ak_err *err);

/* The UploadId of an InitiateMultipartUploadResult (*upload_id malloc'd). */
ak_code ak_s3xml_upload_id(const char *body, size_t len, char **upload_id, ak_err *err);

/* Append the CompleteMultipartUpload request for parts 1..n with the
 * ETags S3 returned for them. */
ak_code ak_s3xml_complete(ak_buf *out, char *const *etags, size_t n);

#endif
