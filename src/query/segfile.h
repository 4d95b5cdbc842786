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
 * Checking the epoch means opening the database, which costs more than
 * mapping the file (SQLite parses the schema per connection): at 1,000
 * systems most of a start.  So the file also records the file state of
 * the database and its WAL (size, mtime, ctime; ak_segfile_fs) at which
 * its epoch was last seen current, and a start maps a file without opening
 * the database while that state is unchanged.  Every commit writes the WAL
 * and every checkpoint the database, changing both times; a state is only
 * recorded when both files' mtimes are older than AK_SEGFILE_SETTLE_NS
 * before the epoch was read, so a write after that read, even in the same
 * clock tick, cannot leave them equal (git's "racily clean" rule).  Any
 * other state falls back to opening the database and checking the epoch,
 * which then records the new state (ak_segfile_restamp).
 *
 * Ownership: ak_segfile_map() returns a segment with one reference (it
 * owns the mapping and the descriptor; ak_segment_unref() frees them).
 */
#ifndef AK_SEGFILE_H
#define AK_SEGFILE_H

#include <stddef.h>
#include <stdint.h>

#include "query/segment.h"

/* The state of the database a segment was read from, and its rows by
 * tier (hot, warm, cold, with or without a vector: the server's gauges). */
typedef struct {
    uint64_t dev, ino, epoch;
    uint64_t rows[3];
} ak_segfile_stamp;

/* A file's size and times (nanoseconds); all zero when it does not exist. */
typedef struct {
    uint64_t size, mtime_ns, ctime_ns;
} ak_segfile_fstat;

/* The database's and its WAL's (whose ctime is left 0: SQLite changes it
 * at every open when run as root); db.mtime_ns == 0 means none. */
typedef struct {
    ak_segfile_fstat db, wal;
} ak_segfile_fs;

#define AK_SEGFILE_SETTLE_NS 2000000000LL

/* The file state of the database at db_path now.  With t0_ns (the
 * CLOCK_REALTIME time before the epoch that state is to vouch for is
 * read) > 0, none when either file was modified less than
 * AK_SEGFILE_SETTLE_NS before t0_ns; also none when db_path cannot be
 * read. */
void ak_segfile_fs_of(const char *db_path, int64_t t0_ns, ak_segfile_fs *out);
/* Whether a is a recorded state and b is the same. */
int ak_segfile_fs_same(const ak_segfile_fs *a, const ak_segfile_fs *b);

/* What a file's header says: its stamp and recorded file state. */
typedef struct {
    ak_segfile_stamp st;
    ak_segfile_fs fs;
} ak_segfile_info;

/* The file's path for the database at db_path (<db_path>-seg). */
ak_code ak_segfile_path(const char *db_path, char *out, size_t n, ak_err *err);

/* Write s (loaded from a database in state *st, its files in state *fs,
 * which may be none) to path atomically. */
ak_code ak_segfile_write(const ak_segment *s, const ak_segfile_stamp *st,
                         const ak_segfile_fs *fs, const char *path, ak_err *err);

/* Map the file at path as system_id's segment, if it was written from the
 * database in state *want (dev, ino and epoch compared; NULL: any).
 * AK_ERR_NOTFOUND: no file; AK_ERR_UNSUPPORTED: stale (another database
 * state or an older format); AK_ERR_CORRUPT: damaged (bad magic, size,
 * checksum or offsets), saying what.  info (may be NULL) gets the header. */
ak_code ak_segfile_map(const char *path, const char *system_id, const ak_segfile_stamp *want,
                       ak_segment **out, ak_segfile_info *info, ak_err *err);

/* As ak_segfile_map() without the checksum of the vectors, times, row
 * ids and conversation ids (the structure, sizes and every id offset are
 * still checked, so no byte can make a scan read outside the file): a
 * restart maps 450 bytes a vector in a CRC-32 otherwise.  The checksum is
 * then ak_segfile_sum()'s, after the server is ready.  info (may be NULL)
 * gets the header, so a caller can map first and decide from the header
 * whether to keep the segment: one open of the file, not a peek and a map. */
ak_code ak_segfile_map_unsummed(const char *path, const char *system_id,
                                const ak_segfile_stamp *want, ak_segment **out,
                                ak_segfile_info *info, ak_err *err);
/* The checksum of a segment mapped by ak_segfile_map_unsummed():
 * AK_ERR_CORRUPT when it does not match (AK_OK for one not mapped). */
ak_code ak_segfile_sum(const ak_segment *s, ak_err *err);

/* Read just the header of the file at path (no checksum checked: map does
 * that).  AK_ERR_NOTFOUND, AK_ERR_UNSUPPORTED (older format) or
 * AK_ERR_CORRUPT (not a segment file). */
ak_code ak_segfile_peek(const char *path, ak_segfile_info *info, ak_err *err);

/* Record *fs in the file at path, in place: its epoch was just seen
 * current with the database's files in that state.  A torn write leaves a
 * state whose checksum fails: none, never a wrong one. */
ak_code ak_segfile_restamp(const char *path, const ak_segfile_fs *fs, ak_err *err);

/* Check the file as ak_segfile_map() would, and also the float section's
 * checksum (akosha verify).  want may be NULL (no staleness check). */
ak_code ak_segfile_check(const char *path, const char *system_id,
                         const ak_segfile_stamp *want, ak_err *err);

/* ak_segfile_map()'s checks over bytes in memory (the fuzz target): AK_OK,
 * AK_ERR_CORRUPT or AK_ERR_UNSUPPORTED (an older format).  Nothing is
 * kept. */
ak_code ak_segfile_check_bytes(const void *data, size_t size, ak_err *err);

#endif
