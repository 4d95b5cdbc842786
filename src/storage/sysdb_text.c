/*
 * sysdb_text.c - the full-text index of a transaction's new hot rows,
 * written at its commit (see sysdb_impl.h).
 *
 * Why deferred: FTS5 writes its pending terms out as a new segment at every
 * statement savepoint, and statements that follow a row's text in the same
 * transaction may open one: any SQLite may have to undo halfway, and every
 * statement with a trigger (then the vec_epoch triggers on hot and the
 * rollup's triggers on conv_facts, both gone since).  Indexed row by row,
 * every memory became its own FTS segment, and the merges followed: a
 * fifth of a push's SQLite time.
 * Queued and added together just before COMMIT, a batch's rows make one
 * segment.  The rows are in the same transaction either way, so a reader
 * never sees a committed row its text index lacks.  The queue is indexed
 * early once it holds QUEUE_MAX bytes of text: an upload is one
 * transaction, and its memory must not grow with the upload (a segment a
 * MiB is what FTS5's own pending-terms buffer would write).
 */
#include <stdlib.h>
#include <string.h>

#include "storage/sysdb_impl.h"

#define QUEUE_MAX (1u << 20)

struct ak_sysdb_textq {
    ak_buf text;    /* the queued rows' texts, one after another */
    struct {
        int64_t rowid;
        size_t at, len;
    } *rows;
    size_t n, cap;
};

ak_code ak_sysdb_text_queue(ak_sysdb *db, int64_t rowid, const char *text, size_t len,
                            ak_err *err)
{
    if (sqlite3_get_autocommit(db->db)) /* no transaction to wait for */
        return ak_sysdb_index_text(db, AK_TIER_HOT, rowid, text, len, err);
    ak_sysdb_textq *q = db->textq;
    if (!q && !(q = db->textq = calloc(1, sizeof *q)))
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 128;
        void *grown = realloc(q->rows, cap * sizeof *q->rows);
        if (!grown)
            return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
        q->rows = grown, q->cap = cap;
    }
    size_t at = q->text.len;
    if (ak_buf_append(&q->text, text, len))
        return ak_err_set(err, AK_ERR_NOMEM, "out of memory");
    q->rows[q->n].rowid = rowid, q->rows[q->n].at = at, q->rows[q->n].len = len;
    q->n++;
    return q->text.len >= QUEUE_MAX ? ak_sysdb_text_flush(db, err) : AK_OK;
}

ak_code ak_sysdb_text_flush(ak_sysdb *db, ak_err *err)
{
    ak_sysdb_textq *q = db->textq;
    ak_code rc = AK_OK;
    for (size_t i = 0; q && rc == AK_OK && i < q->n; i++)
        rc = ak_sysdb_index_text(db, AK_TIER_HOT, q->rows[i].rowid, q->text.data + q->rows[i].at,
                                 q->rows[i].len, err);
    ak_sysdb_text_drop(db);
    return rc;
}

void ak_sysdb_text_drop(ak_sysdb *db)
{
    if (db->textq) {
        db->textq->n = 0;
        ak_buf_reset(&db->textq->text);
    }
}

void ak_sysdb_text_free(ak_sysdb *db)
{
    if (db->textq) {
        ak_buf_free(&db->textq->text);
        free(db->textq->rows);
        free(db->textq);
        db->textq = NULL;
    }
}
