/*
 * stats.c - see stats.h.
 *
 * Sums are taken about the mean (two passes), not as sum(x^2) - n*mean^2,
 * which cancels catastrophically on large, nearly constant counts.
 */
#include "analytics/stats.h"

#include <math.h>

void ak_stats_mean_sd(const double *y, size_t n, double *mean, double *sd)
{
    double m = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        m += y[i];
    m = n ? m / (double)n : 0;
    for (size_t i = 0; i < n; i++)
        ss += (y[i] - m) * (y[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
}

/* Continued fraction of the incomplete beta function (modified Lentz). */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    d = 1 / (fabs(d) < tiny ? tiny : d);
    double h = d;
    for (int m = 1; m <= 300; m++) {
        for (int k = 0; k < 2; k++) {
            double num = k == 0 ? m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
                                : -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
            d = 1 + num * d;
            d = 1 / (fabs(d) < tiny ? tiny : d);
            c = 1 + num / c;
            c = fabs(c) < tiny ? tiny : c;
            h *= d * c;
            if (k == 1 && fabs(d * c - 1) < 1e-15)
                return h;
        }
    }
    return h;
}

/* Regularized incomplete beta I_x(a, b). */
static double beta_inc(double a, double b, double x)
{
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2))
        return front * beta_cf(a, b, x) / a;
    return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double ak_stats_t_pvalue(double t, double df)
{
    if (!isfinite(t))
        return 0;
    double p = beta_inc(df / 2, 0.5, df / (df + t * t));
    return p < 0 ? 0 : p > 1 ? 1 : p;
}

int ak_stats_linreg(const double *y, size_t n, ak_stats_fit *out)
{
    if (n < 3)
        return 0;
    double xm = (double)(n - 1) / 2, ym, sd, sxx = 0, sxy = 0, syy = 0;
    ak_stats_mean_sd(y, n, &ym, &sd);
    for (size_t i = 0; i < n; i++) {
        double dx = (double)i - xm, dy = y[i] - ym;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    out->mean = ym;
    out->slope = sxy / sxx;
    out->intercept = ym - out->slope * xm;
    double ssr = syy - out->slope * sxy; /* residual sum of squares */
    if (ssr < 0 || syy == 0)
        ssr = 0;
    out->r2 = syy > 0 ? 1 - ssr / syy : 0;
    if (out->r2 < 0)
        out->r2 = 0;
    if (out->slope == 0)
        out->p_value = 1;
    else if (ssr <= syy * 1e-15) /* an exact line */
        out->p_value = 0;
    else
        out->p_value = ak_stats_t_pvalue(out->slope / sqrt(ssr / (double)(n - 2) / sxx),
                                         (double)(n - 2));
    return 1;
}

int ak_stats_pearson(const double *a, const double *b, size_t n, double *r)
{
    if (n < 3)
        return 0;
    double am, bm, asd, bsd, s = 0;
    ak_stats_mean_sd(a, n, &am, &asd);
    ak_stats_mean_sd(b, n, &bm, &bsd);
    if (asd == 0 || bsd == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        s += (a[i] - am) * (b[i] - bm);
    double v = s / ((double)(n - 1) * asd * bsd);
    *r = v > 1 ? 1 : v < -1 ? -1 : v;
    return 1;
}
