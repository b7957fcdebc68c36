/* Timing and medians shared by the benchmark programs in bench/. */
#ifndef FDCRED_BENCH_STATS_H
#define FDCRED_BENCH_STATS_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of `v[0..n)`, which it sorts in place. */
static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The options every program here takes (scripts/bench passes them to all):
 * --smoke, --rounds N, --ms MILLISECONDS, --only SUBSTRING. 1 when
 * argv[*i] was one of them (and *i now at its value), else 0. */
static int common_option(int argc, char **argv, int *i, int *smoke, int *rounds, double *ms, const char **only) {
    const char *a = argv[*i];
    int has_value = *i + 1 < argc;
    if (!strcmp(a, "--smoke"))
        *smoke = 1;
    else if (!strcmp(a, "--rounds") && has_value)
        *rounds = atoi(argv[++*i]);
    else if (!strcmp(a, "--ms") && has_value)
        *ms = atof(argv[++*i]);
    else if (!strcmp(a, "--only") && has_value)
        *only = argv[++*i];
    else
        return 0;
    return 1;
}

#endif
