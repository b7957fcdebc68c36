/*
 * Shared by the stress programs (hostile.c, signals_threads.c): sizes scaled
 * by FDCRED_STRESS_SCALE (percent of the full sizes: cargo test runs 10,
 * scripts/stress 100), a monotonic clock, and a deadline long enough for the
 * full sizes. Include it before harness.h.
 */
#ifndef FDCRED_TEST_STRESS_H
#define FDCRED_TEST_STRESS_H

#include <stdlib.h>
#include <time.h>

/* The full sizes (scripts/stress) take longer than the default deadline. */
#define TEST_TIMEOUT_SECONDS 600

static inline long scaled(long full) {
    const char *s = getenv("FDCRED_STRESS_SCALE");
    long pct = s ? atol(s) : 100;
    if (pct <= 0 || pct > 100)
        pct = 100;
    long n = full * pct / 100;
    return n < 1 ? 1 : n;
}

static inline double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

#endif
