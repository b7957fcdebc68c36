/*
 * A small test harness for the C tests: each test runs in its own forked
 * process (so a crash or a leak is charged to the test that caused it), the
 * process's open-fd count is compared before and after, and the run ends with
 * the line "N passed, N failed, N skipped".
 *
 *   static void test_something(void) { CHECK(x == 1, "x is %d", x); }
 *   static const struct test tests[] = { TEST(test_something), ... };
 *   int main(int argc, char **argv) { return run_tests(tests, NTESTS(tests), argc, argv); }
 *
 * A test that cannot run here calls SKIP("why") (exit status 77).
 * Run one test by naming it: ./prog test_something
 */
#ifndef FDCRED_TEST_HARNESS_H
#define FDCRED_TEST_HARNESS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct test {
    const char *name;
    void (*fn)(void);
};

#define TEST(fn)                                                                                                       \
    { #fn, fn }
#define NTESTS(a) (sizeof(a) / sizeof((a)[0]))
#define SKIP_STATUS 77
#ifndef TEST_TIMEOUT_SECONDS
#define TEST_TIMEOUT_SECONDS 120
#endif

/* Fail the current test: where, what, and errno at that moment. */
#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            int check_errno_ = errno;                                                                                  \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                            \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fprintf(stderr, " (errno %d: %s)\n", check_errno_, strerror(check_errno_));                                \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

/* A call that must succeed (return >= 0). */
#define MUST(call)                                                                                                     \
    ({                                                                                                                 \
        long must_rc_ = (long)(call);                                                                                  \
        CHECK(must_rc_ >= 0, "%s returned %ld", #call, must_rc_);                                                      \
        must_rc_;                                                                                                      \
    })

/* A call that must fail with -1 and the given errno. */
#define MUST_FAIL(call, want_errno)                                                                                    \
    do {                                                                                                               \
        errno = 0;                                                                                                     \
        long fail_rc_ = (long)(call);                                                                                  \
        int fail_errno_ = errno;                                                                                       \
        CHECK(fail_rc_ == -1 && fail_errno_ == (want_errno), "%s returned %ld errno %d (%s), wanted -1 errno %d (%s)", \
              #call, fail_rc_, fail_errno_, strerror(fail_errno_), (want_errno), strerror(want_errno));                \
    } while (0)

#define SKIP(...)                                                                                                      \
    do {                                                                                                               \
        fprintf(stderr, "SKIP: ");                                                                                     \
        fprintf(stderr, __VA_ARGS__);                                                                                  \
        fprintf(stderr, "\n");                                                                                         \
        exit(SKIP_STATUS);                                                                                             \
    } while (0)

/* Number of open descriptors of this process. */
static inline int count_open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* Whether two descriptors refer to the same file (device and inode). */
static inline int same_file(int a, int b) {
    struct stat sa, sb;
    if (fstat(a, &sa) != 0 || fstat(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static inline int is_cloexec(int fd) {
    int flags = fcntl(fd, F_GETFD);
    return flags >= 0 && (flags & FD_CLOEXEC);
}

static inline void close_all(const int *fds, size_t n) {
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

/* Wait for a forked peer and fail the test unless it exited 0. */
static inline void wait_peer(pid_t pid, const char *what) {
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid for %s", what);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "peer %s ended with status 0x%x", what, status);
}

static inline int run_tests(const struct test *tests, size_t n, int argc, char **argv) {
    int passed = 0, failed = 0, skipped = 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    for (size_t i = 0; i < n; i++) {
        if (argc > 1) {
            int wanted = 0;
            for (int a = 1; a < argc; a++)
                if (strcmp(argv[a], tests[i].name) == 0)
                    wanted = 1;
            if (!wanted)
                continue;
        }
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 2;
        }
        if (pid == 0) {
            /* Its own process group, so the peers it forks can be killed with
             * it; and a deadline, so a deadlock fails instead of hanging. */
            setpgid(0, 0);
            alarm(TEST_TIMEOUT_SECONDS);
            int before = count_open_fds();
            tests[i].fn();
            int after = count_open_fds();
            CHECK(before == after, "%s: %d fds open before, %d after (leak)", tests[i].name, before, after);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        kill(-pid, SIGKILL); /* peers a failed test left blocked */
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            printf("ok - %s\n", tests[i].name);
            passed++;
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_STATUS) {
            printf("skip - %s\n", tests[i].name);
            skipped++;
        } else {
            if (WIFSIGNALED(status))
                printf("not ok - %s (killed by signal %d)\n", tests[i].name, WTERMSIG(status));
            else
                printf("not ok - %s (exit %d)\n", tests[i].name, WEXITSTATUS(status));
            failed++;
        }
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}

#endif
