/*
 * The checks of the programs in c-tests/netbsd/ (run on NetBSD 7.99 kernel
 * code by scripts/test-netbsd): each prints "ok NAME" or
 * "FAIL NAME: what (errno)", and the program ends with report(), whose line
 * "fdcred-netbsd: N passed, N failed" scripts/test-netbsd reads.
 */
#ifndef FDCRED_NETBSD_CHECK_H
#define FDCRED_NETBSD_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static int passed, failed;

#define CHECK(name, cond, ...)                                                                                         \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            passed++;                                                                                                  \
            printf("ok %s\n", name);                                                                                   \
        } else {                                                                                                       \
            failed++;                                                                                                  \
            printf("FAIL %s: ", name);                                                                                 \
            printf(__VA_ARGS__);                                                                                       \
            printf(" (errno %d: %s)\n", errno, strerror(errno));                                                       \
        }                                                                                                              \
    } while (0)

/* A socketpair of `type`; a failure is one failed check named after `kind`. */
static int make_pair(int type, const char *kind, int sv[2]) {
    if (socketpair(AF_UNIX, type, 0, sv) == 0)
        return 0;
    char name[96];
    snprintf(name, sizeof name, "%s: setup", kind);
    CHECK(name, 0, "socketpair");
    return -1;
}

/* The last line, and main's return value. */
static int report(void) {
    printf("fdcred-netbsd: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#endif
