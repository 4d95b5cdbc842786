/* report.c - see report.h. */
#include "cmd/report.h"

#include "cmd/cmd.h"

int ak_cmd_report(const char *system_id, const void *result, int json, ak_report_json_fn fields,
                  ak_report_text_fn text)
{
    ak_buf b = {0};
    if (json) {
        ak_jw w;
        ak_jw_init(&w, &b);
        ak_jw_obj(&w);
        ak_jw_kstr(&w, "system_id", system_id);
        fields(&w, result);
        ak_jw_end(&w);
    } else {
        text(&b, system_id, result);
    }
    int rc = ak_cmd_print(&b);
    ak_buf_free(&b);
    return rc;
}
