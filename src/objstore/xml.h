/*
 * xml.h - a small, strict, bounded XML reader for what S3 sends back:
 * ListObjectsV2 pages, multipart-upload replies and <Error> bodies.
 *
 * The whole response is parsed into a read-only tree of elements.  Only
 * what such documents use is accepted: UTF-8, an optional XML declaration,
 * comments, processing instructions, elements with attributes (checked,
 * then ignored), character data with the five predefined entities and
 * numeric character references, CDATA sections.  Anything else - a DOCTYPE
 * (and so entity definitions and their expansion bombs), unknown entities,
 * text mixed with child elements, bytes that are not UTF-8, control
 * characters, a second root - is an error naming the byte offset.  Size,
 * depth and element count are capped by ak_xml_limits, so a hostile or
 * broken server costs bounded memory and time.
 *
 * Names are matched exactly as written (S3 uses a default namespace, so no
 * prefixes).  Text is kept only for elements without children (leaves);
 * line ends in it are normalized to "\n" as XML requires.
 *
 * Ownership: ak_xml_parse() returns a document freed with ak_xml_free();
 * nodes and strings handed out live as long as the document.
 */
#ifndef AK_XML_H
#define AK_XML_H

#include <stddef.h>

#include "util/err.h"

typedef struct ak_xml_doc ak_xml_doc;
typedef struct ak_xml_node ak_xml_node;

typedef struct {
    size_t max_bytes; /* input size */
    size_t max_depth; /* nesting of elements; the root is depth 1 */
    size_t max_nodes; /* elements in the document */
} ak_xml_limits;

/* Parse data[0..len).  Errors: AK_ERR_CORRUPT (malformed, or over a
 * limit), AK_ERR_NOMEM. */
ak_code ak_xml_parse(const char *data, size_t len, const ak_xml_limits *lim,
                     ak_xml_doc **out, ak_err *err);
void ak_xml_free(ak_xml_doc *d);

const ak_xml_node *ak_xml_root(const ak_xml_doc *d);
const char *ak_xml_name(const ak_xml_node *n);
/* A leaf's decoded text ("" when empty or when n has children). */
const char *ak_xml_text(const ak_xml_node *n);
/* The first child of n named name (of any name when name is NULL), or NULL. */
const ak_xml_node *ak_xml_child(const ak_xml_node *n, const char *name);
/* The next sibling of n named name (any when NULL), or NULL. */
const ak_xml_node *ak_xml_next(const ak_xml_node *n, const char *name);
/* The text of n's first child named name, or NULL when there is none. */
const char *ak_xml_child_text(const ak_xml_node *n, const char *name);

#endif
