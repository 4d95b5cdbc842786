/*
 * stats.h - the statistics of the analytics tools, on plain arrays of
 * daily values: least-squares trend with its R-squared and the two-sided
 * p-value of its slope, mean and sample standard deviation (z-scores),
 * Pearson correlation.  No function returns NaN or infinity: an undefined
 * quantity is reported as undefined instead (a zero-variance series has no
 * correlation; a fit of fewer than 3 points has no p-value).
 */
#ifndef AK_STATS_H
#define AK_STATS_H

#include <stddef.h>

typedef struct {
    double slope, intercept; /* y = intercept + slope * i, i = 0..n-1 */
    double r2;               /* 0 when y is constant (nothing to explain) */
    double p_value;          /* of slope != 0 (t test, n - 2 degrees of freedom) */
    double mean;
} ak_stats_fit;

/* Fit y[0..n); returns 0 when n < 3 (no fit is told). */
int ak_stats_linreg(const double *y, size_t n, ak_stats_fit *out);

/* Mean and sample standard deviation (n - 1); sd 0 when n < 2. */
void ak_stats_mean_sd(const double *y, size_t n, double *mean, double *sd);

/* Pearson correlation of a and b; returns 0 (r untouched) when n < 3 or
 * either series is constant. */
int ak_stats_pearson(const double *a, const double *b, size_t n, double *r);

/* Two-sided p-value of Student's t with df degrees of freedom (df >= 1). */
double ak_stats_t_pvalue(double t, double df);

#endif
