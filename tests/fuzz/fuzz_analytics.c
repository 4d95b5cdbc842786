/*
 * fuzz_analytics.c - libFuzzer target for the analytics tools' arguments
 * (ak_an_params_from_json, src/analytics/params.c) and the statistics
 * (src/analytics/stats.c).
 *
 * The first byte picks the mode.  Mode 0: the rest is a tool's arguments
 * as JSON, tried for each tool; an accepted set passes ak_an_params_check,
 * names a known metric (but for get_system_metrics), a valid system id,
 * a window of 1-730 days and a finite positive threshold; a refused one
 * says why.  Mode 1: the rest is a series of int32 values; a fit gives
 * R-squared and a p-value within [0, 1] and a finite slope, the sample
 * deviation is finite and not negative, Pearson of the series with itself
 * is 1 (when defined) and with a shifted copy lies within [-1, 1]; no NaN
 * anywhere.
 *
 * Run with scripts/fuzz.sh analytics [seconds].
 */
#include "fuzz_common.h"

#include "analytics/analytics.h"
#include "analytics/series.h"
#include "analytics/stats.h"
#include "util/ids.h"

static void args(const uint8_t *data, size_t size)
{
    ak_json_doc *doc = ak_json_doc_new();
    const ak_json *root;
    ak_err err;
    if (!doc || ak_json_parse(doc, (const char *)data, size, &root, &err) != AK_OK) {
        ak_json_doc_free(doc);
        return;
    }
    for (int t = AK_AN_TRENDS; t <= AK_AN_METRICS; t++) {
        ak_an_params p;
        const char *why;
        ak_an_params_init(&p, (ak_an_tool)t, FUZZ_NOW_US);
        err.msg[0] = '\0';
        if (ak_an_params_from_json(root, (ak_an_tool)t, &p, &err) != AK_OK) {
            FUZZ_CHECK(err.msg[0], "a refusal without a reason");
            continue;
        }
        FUZZ_CHECK(ak_an_params_check(&p, (ak_an_tool)t, &err) == AK_OK, "accepted, then refused");
        FUZZ_CHECK(t == AK_AN_METRICS || ak_metric_find(p.metric_name), "unknown metric accepted");
        FUZZ_CHECK(!p.system_id || ak_id_system_valid(p.system_id, &why), "bad system id accepted");
        FUZZ_CHECK(p.days >= 1 && p.days <= AK_AN_MAX_DAYS, "window %lld", (long long)p.days);
        FUZZ_CHECK(isfinite(p.threshold_std) && p.threshold_std > 0, "threshold %g", p.threshold_std);
    }
    ak_json_doc_free(doc);
}

static void in_unit(double v, const char *what) { FUZZ_CHECK(v >= 0 && v <= 1, "%s %g", what, v); }

static void stats(const uint8_t *data, size_t size)
{
    size_t n = size / 4;
    double *y = malloc((n + 1) * sizeof *y), r, mean, sd;
    for (size_t i = 0; i < n; i++) {
        int32_t v;
        memcpy(&v, data + 4 * i, 4);
        y[i] = v;
    }
    ak_stats_fit f;
    if (ak_stats_linreg(y, n, &f)) {
        in_unit(f.r2, "r2");
        in_unit(f.p_value, "p");
        FUZZ_CHECK(isfinite(f.slope) && isfinite(f.intercept), "slope %g", f.slope);
    } else {
        FUZZ_CHECK(n < 3, "no fit of %zu points", n);
    }
    ak_stats_mean_sd(y, n, &mean, &sd);
    FUZZ_CHECK(isfinite(mean) && isfinite(sd) && sd >= 0, "mean %g sd %g", mean, sd);
    if (ak_stats_pearson(y, y, n, &r))
        FUZZ_CHECK(fabs(r - 1) < 1e-9, "r with itself %g", r);
    if (n > 1 && ak_stats_pearson(y, y + 1, n - 1, &r))
        FUZZ_CHECK(r >= -1 && r <= 1, "r %g", r);
    free(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        stats(data + 1, size - 1);
    else
        args(data + 1, size - 1);
    return 0;
}
