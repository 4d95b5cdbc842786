/*
 * filebytes.h - the fixed-width fields and 64-byte alignment of Akosha's
 * own mapped file formats (the vector index file, index/hnsw_file.c; the
 * segment files, query/segfile.c).  Fields are in host byte order: the
 * files are local caches rebuilt from the databases, never shipped.
 */
#ifndef AK_UTIL_FILEBYTES_H
#define AK_UTIL_FILEBYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline size_t ak_align64(size_t x) { return (x + 63) & ~(size_t)63; }

static inline void ak_put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void ak_put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

static inline uint32_t ak_get32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t ak_get64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

#endif
