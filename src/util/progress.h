/*
 * progress.h - how long work reports how far it has got.
 *
 * Lower layers (aging, verify, backfill, reingest) take an optional
 * callback of this shape and call it after each unit of work with the
 * units done so far and the total; the command line draws it
 * (cmd/cmd.h ak_cmd_progress), the daemon passes none.
 */
#ifndef AK_PROGRESS_H
#define AK_PROGRESS_H

#include <stdint.h>

typedef void (*ak_progress_fn)(void *ctx, int64_t done, int64_t total);

#endif
