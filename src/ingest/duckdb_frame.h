/*
 * duckdb_frame.h - the frames DuckDB's reader process and akosha exchange.
 *
 * DuckDB reads uploaded files in a child process (duckdb_child.c), so a
 * file crafted to crash DuckDB kills only that child.  The child writes
 * frames on its stdout; the parent (duckdb_proc.c) decodes them, and
 * answers the two questions the child asks (which SQL to run next for a
 * text read, which rows of a first pass to read whole) on the child's
 * stdin.  The decoder is a parser of another process's output: every
 * frame is checked whole, nothing is trusted.
 *
 * Wire: u32 little-endian body length (1..AK_DFRAME_MAX), then the body:
 * one type byte and its fields, in the order of the table in
 * duckdb_frame.c.  Field kinds: u64 (little-endian), str (u32 length +
 * bytes), optional str (u8 0 | u8 1 + str), ts (u8 0 | u8 1 + i64),
 * embedding (u8 0 | u8 1 + u32 n + n == AK_DIM ? 384 f32 : nothing),
 * bitmap (u64 n bits + ceil(n/8) bytes, unused high bits 0).  Encoding is
 * canonical: a decoded frame encodes to the same bytes.
 */
#ifndef AK_DUCKDB_FRAME_H
#define AK_DUCKDB_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define AK_DFRAME_MAX (16u * 1024 * 1024)

typedef enum {
    /* child -> parent */
    AK_DF_COLUMN = 'C', /* str[0] table, str[1] column, str[2] type */
    AK_DF_QUERY = 'Q',  /* num q, str[0] catalog: which SQL next? (answer AK_DF_SQL) */
    AK_DF_TEXT = 'T',   /* num q, str[0] one row's text */
    AK_DF_KEY = 'K',    /* str[0] table, num row, str[1] id?, str[2] content? */
    AK_DF_SETTLE = 'W', /* str[0] table, num rows keyed: which whole? (answer AK_DF_WANT) */
    AK_DF_RECORD = 'R', /* str[0] table, num row, str[1] id?, str[2] content?, str[3] metadata?,
                           ts, embedding */
    AK_DF_ERROR = 'E',  /* num ak_code, str[0] message: the read failed */
    AK_DF_DONE = 'D',   /* the read succeeded */
    /* parent -> child */
    AK_DF_START = 'O',  /* str[0] mode (records | keys | text), str[1] the file: read it */
    AK_DF_SQL = 'S',    /* str[0] the SQL, absent: no more queries */
    AK_DF_WANT = 'B',   /* bitmap: bit r-1 set = row r wanted whole */
} ak_dframe_type;

typedef struct {
    const char *p; /* not NUL-terminated; NULL when absent */
    size_t n;
} ak_dfstr;

/* A decoded frame points into the bytes it was decoded from. */
typedef struct {
    int type;
    uint64_t num;           /* q, row, rows, code, or the bitmap's bit count */
    ak_dfstr str[4];
    int has_ts;
    int64_t ts_us;
    int has_emb;
    uint32_t n_emb;
    const unsigned char *emb; /* n_emb little-endian f32 when n_emb == AK_DIM, else NULL */
    const unsigned char *bits;/* AK_DF_WANT: (num + 7) / 8 bytes */
} ak_dframe;

/* Decode the frame at the start of buf[0..len).  1: *f holds it and *used
 * its length; 0: more bytes are needed (a frame's head is fine so far);
 * -1: malformed, err says how. */
int ak_dframe_decode(const void *buf, size_t len, ak_dframe *f, size_t *used, ak_err *err);

/* Append f's encoding to out.  AK_ERR_INVALID when f breaks a rule the
 * decoder checks (unknown type, body over AK_DFRAME_MAX). */
ak_code ak_dframe_encode(const ak_dframe *f, ak_buf *out);

/* A frame's type name for messages ("record", ...), "unknown" otherwise. */
const char *ak_dframe_name(int type);

#endif
