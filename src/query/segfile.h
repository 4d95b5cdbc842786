/*
 * segfile.h - a system's segment (query/segment.h) saved in a file beside
 * its database and mapped back at start, so a restart does not read every
 * vector out of SQLite again and the vectors are not copied into the heap.
 *
 * The file is named <database>-seg and holds the scan's arrays as they lie
 * in memory (int8 vectors, scales, times, row ids, conversation ids) and
 * the hot rows' float32 vectors, which are not mapped but read with
 * pread() for the few candidates a search re-ranks: resident memory is
 * what searches touch, not 1,536 bytes a vector.
 *
 * It is a cache of the database, which stays the truth: the file records
 * the database file's identity (device, inode) and its vector epoch
 * (ak_sysdb_vec_epoch(), bumped by every write to a vector table), taken
 * before the rows were read.  Any write since, a reingest (another inode),
 * a torn, truncated or foreign file makes the file unusable, and the index
 * loads the system from its database and writes the file again.
 *
 * Ownership: ak_segfile_map() returns a segment with one reference (it
 * owns the mapping and the descriptor; ak_segment_unref() frees them).
 */
#ifndef AK_SEGFILE_H
#define AK_SEGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "query/segment.h"

/* The state of the database a segment was read from. */
typedef struct {
    uint64_t dev, ino, epoch;
} ak_segfile_stamp;

/* The file's path for the database at db_path (<db_path>-seg). */
ak_code ak_segfile_path(const char *db_path, char *out, size_t n, ak_err *err);

/* Write s (loaded from a database in state *st) to path atomically. */
ak_code ak_segfile_write(const ak_segment *s, const ak_segfile_stamp *st, const char *path,
                         ak_err *err);

/* Map the file at path as system_id's segment, if it was written from the
 * database in state *want.  AK_ERR_NOTFOUND: no file; AK_ERR_UNSUPPORTED:
 * stale (another database state); AK_ERR_CORRUPT: damaged (bad magic,
 * size, checksum or offsets), saying what. */
ak_code ak_segfile_map(const char *path, const char *system_id, const ak_segfile_stamp *want,
                       ak_segment **out, ak_err *err);

/* Check the file as ak_segfile_map() would, and also the float section's
 * checksum (akosha verify).  want may be NULL (no staleness check). */
ak_code ak_segfile_check(const char *path, const char *system_id,
                         const ak_segfile_stamp *want, ak_err *err);

/* ak_segfile_map()'s checks over bytes in memory (the fuzz target): AK_OK
 * or AK_ERR_CORRUPT.  Nothing is kept. */
ak_code ak_segfile_check_bytes(const void *data, size_t size, ak_err *err);

#endif
