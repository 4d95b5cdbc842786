/* log.c - see log.h. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/jsonw.h"
#include "util/time.h"

static ak_log_level g_level = AK_LOG_INFO;
static ak_log_format g_format = AK_LOG_TEXT;
static int g_stamps;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int ak_log_init(ak_log_format default_format)
{
    const char *lv = getenv("AKOSHA_LOG_LEVEL"), *fm = getenv("AKOSHA_LOG_FORMAT");
    g_format = default_format;
    if (lv && *lv) {
        int found = 0;
        for (int i = 0; i < 4; i++)
            if (strcmp(lv, level_names[i]) == 0) {
                g_level = (ak_log_level)i;
                found = 1;
            }
        if (!found) {
            fprintf(stderr, "akosha: AKOSHA_LOG_LEVEL must be debug, info, warn or error, not '%s'\n", lv);
            return -1;
        }
    }
    if (fm && *fm) {
        if (strcmp(fm, "text") == 0)
            g_format = AK_LOG_TEXT;
        else if (strcmp(fm, "json") == 0)
            g_format = AK_LOG_JSON;
        else {
            fprintf(stderr, "akosha: AKOSHA_LOG_FORMAT must be text or json, not '%s'\n", fm);
            return -1;
        }
    }
    return 0;
}

void ak_log_set_timestamps(int on) { g_stamps = on; }

int ak_log_enabled(ak_log_level level) { return level >= g_level; }

void ak_log(ak_log_level level, const char *component, const char *fmt, ...)
{
    if (level < g_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    ak_buf line = {0};
    if (g_format == AK_LOG_JSON) {
        ak_jw w;
        ak_jw_init(&w, &line);
        ak_jw_obj(&w);
        ak_jw_key(&w, "ts");
        ak_jw_time(&w, ak_time_now_us());
        ak_jw_kstr(&w, "level", level_names[level]);
        ak_jw_kstr(&w, "component", component);
        ak_jw_kstr(&w, "msg", msg);
        ak_jw_end(&w);
    } else {
        if (g_stamps) {
            char when[AK_TIME_ISO_MAX];
            int64_t now = ak_time_now_us();
            ak_time_format(now - now % AK_US_PER_SEC, when);
            ak_buf_printf(&line, "%s ", when);
        }
        if (level == AK_LOG_INFO || level == AK_LOG_DEBUG)
            ak_buf_printf(&line, "akosha: %s", msg);
        else
            ak_buf_printf(&line, "akosha: %s: %s", level == AK_LOG_WARN ? "warning" : "error", msg);
    }
    ak_buf_putc(&line, '\n');
    if (line.data)
        fwrite(line.data, 1, line.len, stderr);
    ak_buf_free(&line);
}
