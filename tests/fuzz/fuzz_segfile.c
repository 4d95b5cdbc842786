/*
 * fuzz_segfile.c - libFuzzer target for the segment file loader
 * (src/query/segfile.c): a file beside each database, mapped at start,
 * that may be torn, truncated or anything at all.  Beyond "no crash, no
 * leak, no undefined behaviour": every input is accepted or refused as
 * AK_ERR_CORRUPT with a message.  (The checksum refuses nearly every
 * input; test_segfile.sh feeds real files damaged by garbage and
 * truncation.)
 *
 * Run with scripts/fuzz.sh segfile [seconds].
 */
#include "fuzz_common.h"

#include "query/segfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ak_err e;
    ak_err_clear(&e);
    ak_code rc = ak_segfile_check_bytes(data, size, &e);
    FUZZ_CHECK(rc == AK_OK || ((rc == AK_ERR_CORRUPT || rc == AK_ERR_UNSUPPORTED) && e.msg[0]),
               "refused (%d) without a message", rc);
    return 0;
}
