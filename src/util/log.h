/*
 * log.h - one line per event on stderr, with a level and a component.
 *
 * Two formats: "text" (for people at a terminal: "akosha: warning: ...")
 * and "json" (for the daemon's log collector: one JSON object per line with
 * ts, level, component, msg).  Level and format come from AKOSHA_LOG_LEVEL
 * (debug|info|warn|error, default info) and AKOSHA_LOG_FORMAT (text|json)
 * unless set by the program.  Safe to call from any thread: each event is
 * written with one fwrite, so lines never interleave.
 */
#ifndef AK_LOG_H
#define AK_LOG_H

typedef enum { AK_LOG_DEBUG, AK_LOG_INFO, AK_LOG_WARN, AK_LOG_ERROR } ak_log_level;
typedef enum { AK_LOG_TEXT, AK_LOG_JSON } ak_log_format;

/* Read AKOSHA_LOG_LEVEL / AKOSHA_LOG_FORMAT; default_format applies when the
 * variable is unset.  Returns 0, or -1 with a message on stderr for a bad
 * value. */
int ak_log_init(ak_log_format default_format);
/* Text lines begin with the UTC time ("2026-01-02T03:04:05Z akosha: ..."),
 * for long-running processes whose lines are read later; JSON lines always
 * carry "ts". */
void ak_log_set_timestamps(int on);
int ak_log_enabled(ak_log_level level);

void ak_log(ak_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define AK_DEBUG(comp, ...) ak_log(AK_LOG_DEBUG, comp, __VA_ARGS__)
#define AK_INFO(comp, ...) ak_log(AK_LOG_INFO, comp, __VA_ARGS__)
#define AK_WARN(comp, ...) ak_log(AK_LOG_WARN, comp, __VA_ARGS__)
#define AK_ERROR(comp, ...) ak_log(AK_LOG_ERROR, comp, __VA_ARGS__)

#endif
