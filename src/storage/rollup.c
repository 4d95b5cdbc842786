/* rollup.c - see rollup.h. */
#include "storage/rollup.h"

#include <sqlite3.h>

#include "util/time.h"

int64_t ak_rollup_day(int64_t ts_us)
{
    int64_t r = ((ts_us % AK_US_PER_DAY) + AK_US_PER_DAY) % AK_US_PER_DAY;
    return (ts_us - r) / AK_US_PER_DAY;
}

#define EXPIRE_SQL                                                                            \
    "DELETE FROM conv_facts WHERE day <= ?1"                                                  \
    " AND NOT EXISTS(SELECT 1 FROM hot h WHERE h.conversation_id = conv_facts.conversation_id)" \
    " AND NOT EXISTS(SELECT 1 FROM warm w WHERE w.conversation_id = conv_facts.conversation_id)" \
    " AND NOT EXISTS(SELECT 1 FROM cold c WHERE c.conversation_id = conv_facts.conversation_id)"

ak_code ak_rollup_expire(sqlite3 *h, int64_t cutoff_us, ak_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return ak_err_set(err, AK_ERR_IO, "rollup: begin: %s", sqlite3_errmsg(h));
    int s = sqlite3_prepare_v2(h, EXPIRE_SQL, -1, &st, NULL);
    if (s == SQLITE_OK) {
        /* retention's cut is a day boundary: every day before it is gone */
        sqlite3_bind_int64(st, 1, ak_rollup_day(cutoff_us - 1));
        s = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (s == SQLITE_DONE && sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return AK_OK;
    ak_code rc = ak_err_set(err, AK_ERR_IO, "rollup: forgetting expired memories: %s",
                            sqlite3_errmsg(h));
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
