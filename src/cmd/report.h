/*
 * report.h - how a repair command (forget, reingest) prints its result for
 * one system: under --json the object {"system_id": ..., <the result's
 * fields>}, else a line of text.  One shape for every such command.
 *
 * Ownership: result is borrowed; the functions given write into the
 * caller-provided writer or buffer.
 */
#ifndef AK_CMD_REPORT_H
#define AK_CMD_REPORT_H

#include "util/buf.h"
#include "util/jsonw.h"

typedef void (*ak_report_json_fn)(ak_jw *w, const void *result);
typedef void (*ak_report_text_fn)(ak_buf *b, const char *system_id, const void *result);

/* Print the report on stdout; the exit status of ak_cmd_print(). */
int ak_cmd_report(const char *system_id, const void *result, int json, ak_report_json_fn fields,
                  ak_report_text_fn text);

#endif
