/*
 * Signals, threads, exec and the heap: a SIGALRM every 100 us (no
 * SA_RESTART) during blocking sends and receives; 8 threads on their own
 * socketpairs and 8 threads sharing one SOCK_DGRAM socket; received fds seen
 * from an exec'd child; malloc calls counted across the send and receive
 * paths by an interposed allocator. Peers are plain sendmsg/recvmsg
 * processes. Every fd is checked by identity (each pipe has its own inode),
 * so a lost, duplicated or misrouted fd fails the test.
 *
 * Sizes scale with FDCRED_STRESS_SCALE (percent of the full sizes, default
 * 100): cargo test runs a short form, scripts/stress the full one.
 */
#include <fdcred.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>

#include "stress.h"
#include "harness.h"
#include "plain.h"

/* A pool of pipes: fd identity is the pipe's inode. */
#define POOL 16
static int pool[POOL][2];
static void make_pool(void) {
    for (int i = 0; i < POOL; i++)
        MUST(pipe(pool[i]));
}
static void free_pool(void) {
    for (int i = 0; i < POOL; i++)
        close_all(pool[i], 2);
}

/* The itimer takes over the harness's alarm(); a watchdog process keeps the
 * deadline: it kills this test's process group if the test hangs. */
static pid_t start_watchdog(int seconds) {
    pid_t pid = MUST(fork());
    if (pid == 0) {
        sleep((unsigned)seconds);
        fprintf(stderr, "FAIL: watchdog: the test still runs after %d s (a call blocked for good?)\n", seconds);
        kill(0, SIGKILL);
        _exit(1);
    }
    return pid;
}
static void stop_watchdog(pid_t pid) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
}

static volatile sig_atomic_t signals;
static void on_alarm(int sig) {
    (void)sig;
    signals++;
}
static void start_sigalrm_every_100us(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = 0; /* no SA_RESTART: every blocking syscall fails with EINTR */
    MUST(sigaction(SIGALRM, &sa, NULL));
    struct itimerval it = {.it_interval = {0, 100}, .it_value = {0, 100}};
    MUST(setitimer(ITIMER_REAL, &it, NULL));
}
static void stop_sigalrm(void) {
    struct itimerval it = {{0, 0}, {0, 0}};
    MUST(setitimer(ITIMER_REAL, &it, NULL));
    signal(SIGALRM, SIG_DFL);
}

/* ---- SIGALRM every 100 us ----------------------------------------------- */

static void test_sigalrm_every_100us_blocking_calls_no_failure_no_lost_fd(void) {
    long total = scaled(100000), half = total / 2;
    make_pool();
    pid_t dog = start_watchdog(300);
    double t0 = now();

    /* Phase A: the library sends (three calls in turn), a plain peer checks. */
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    int small = 4096;
    MUST(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small)); /* so sends block */
    pid_t pid = MUST(fork());
    if (pid == 0) {
        close(sv[0]);
        for (uint32_t i = 0; i < (uint32_t)half; i++) {
            uint32_t seq = 0;
            int got[2];
            size_t n;
            int fl;
            ssize_t r = plain_recv(sv[1], &seq, sizeof seq, got, 2, &n, CMSG_SPACE(sizeof(int) * 2), &fl);
            if (i % 3 == 0)
                CHECK(r == 1 && (seq & 0xff) == 0, "message %u (sendfd): %zd bytes", i, r);
            else
                CHECK(r == 4 && seq == i, "message %u: %zd bytes, seq %u (lost or duplicated)", i, r, seq);
            CHECK(n == 1 && same_file(got[0], pool[i % POOL][0]), "message %u: %zu fds, or not pipe %u", i, n,
                  i % POOL);
            close(got[0]);
        }
        uint32_t extra;
        size_t n;
        int fl, got[2];
        CHECK(plain_recv(sv[1], &extra, sizeof extra, got, 2, &n, CMSG_SPACE(sizeof(int) * 2), &fl) == 0,
              "a message more than was sent");
        _exit(0);
    }
    close(sv[1]);
    start_sigalrm_every_100us();
    for (uint32_t i = 0; i < (uint32_t)half; i++) {
        int fd = pool[i % POOL][0];
        long r;
        if (i % 3 == 0) {
            r = fdcred_sendfd(sv[0], fd);
        } else if (i % 3 == 1) {
            r = fdcred_send_fds(sv[0], &i, sizeof i, &fd, 1);
        } else {
            struct iovec iov = {&i, sizeof i};
            struct fdcred_msg m = {0};
            m.iov = &iov;
            m.iovlen = 1;
            m.fds = &fd;
            m.nfds = 1;
            r = fdcred_sendmsg(sv[0], &m, 0);
        }
        CHECK(r >= 0, "send %u failed under SIGALRM (errno %d)", i, errno);
    }
    stop_sigalrm();
    long signals_a = signals;
    close(sv[0]);
    wait_peer(pid, "plain receiver under SIGALRM");

    /* Phase B: a plain peer sends, the library receives (three calls in turn). */
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    pid = MUST(fork());
    if (pid == 0) {
        close(sv[1]);
        for (uint32_t i = 0; i < (uint32_t)half; i++) {
            size_t len = i % 3 == 0 ? 1 : sizeof i;
            CHECK(plain_send(sv[0], &i, len, &pool[i % POOL][1], 1, 1) == (ssize_t)len, "plain send %u", i);
        }
        _exit(0);
    }
    close(sv[0]);
    signals = 0;
    int before = count_open_fds();
    start_sigalrm_every_100us();
    for (uint32_t i = 0; i < (uint32_t)half; i++) {
        uint32_t seq = 0xffffffff;
        int fd = -1, fds[2];
        if (i % 3 == 0) {
            fd = fdcred_recvfd(sv[1]);
            CHECK(fd >= 0, "recvfd %u failed under SIGALRM", i);
        } else if (i % 3 == 1) {
            size_t n = 2;
            long r = fdcred_recv_fds(sv[1], &seq, sizeof seq, fds, &n);
            CHECK(r == 4 && seq == i && n == 1, "recv_fds %u: %ld bytes, seq %u, %zu fds", i, r, seq, n);
            fd = fds[0];
        } else {
            struct iovec iov = {&seq, sizeof seq};
            struct fdcred_msg m = {0};
            m.iov = &iov;
            m.iovlen = 1;
            m.fds = fds;
            m.nfds = 2;
            long r = fdcred_recvmsg(sv[1], &m, 0);
            CHECK(r == 4 && seq == i && m.nfds == 1 && m.result == 0, "recvmsg %u: %ld, seq %u, %zu fds, 0x%x", i, r,
                  seq, m.nfds, m.result);
            fd = fds[0];
        }
        CHECK(same_file(fd, pool[i % POOL][1]) && is_cloexec(fd), "message %u: fd %d is not pipe %u", i, fd, i % POOL);
        close(fd);
    }
    stop_sigalrm();
    long signals_b = signals;
    size_t n = 2;
    int fds[2];
    char b;
    CHECK(fdcred_recv_fds(sv[1], &b, 1, fds, &n) == 0 && n == 0, "a message more than was sent");
    CHECK(count_open_fds() == before, "%d fds left open", count_open_fds() - before);
    wait_peer(pid, "plain sender under SIGALRM");
    close(sv[1]);
    stop_watchdog(dog);
    free_pool();
    CHECK(signals_a > 0 && signals_b > 0, "no SIGALRM arrived (%ld, %ld): the run proved nothing", signals_a,
          signals_b);
    printf("  %ld blocking calls (%ld sends, %ld receives, %ld fds), %ld SIGALRMs, none failed, none lost, %.1f s\n",
           2 * half, half, half, 2 * half, signals_a + signals_b, now() - t0);
}

/* ---- 8 threads, each with its own socketpair ----------------------------- */

#define NTHREADS 8
#define WINDOW 4
static int tsock[NTHREADS][2];
static int tpool[NTHREADS][WINDOW][2];
static long per_thread;

struct tag {
    uint32_t thread, seq;
};

static void *own_pair_thread(void *arg) {
    uint32_t t = (uint32_t)(uintptr_t)arg;
    int s = tsock[t][0];
    for (uint32_t i = 0; i < (uint32_t)per_thread + WINDOW; i++) {
        if (i < (uint32_t)per_thread) {
            struct tag tg = {t, i};
            int fd = tpool[t][i % WINDOW][0];
            if (i % 2)
                CHECK(fdcred_send_fds(s, &tg, sizeof tg, &fd, 1) == sizeof tg, "thread %u send %u", t, i);
            else {
                struct iovec iov = {&tg, sizeof tg};
                struct fdcred_msg m = {0};
                m.iov = &iov;
                m.iovlen = 1;
                m.fds = &fd;
                m.nfds = 1;
                CHECK(fdcred_sendmsg(s, &m, 0) == sizeof tg, "thread %u sendmsg %u", t, i);
            }
        }
        if (i >= WINDOW) {
            uint32_t want = i - WINDOW;
            struct tag tg = {0xffff, 0xffff};
            int fds[2];
            size_t n = 2;
            if (want % 2)
                CHECK(fdcred_recv_fds(s, &tg, sizeof tg, fds, &n) == sizeof tg, "thread %u recv %u", t, want);
            else {
                struct iovec iov = {&tg, sizeof tg};
                struct fdcred_msg m = {0};
                m.iov = &iov;
                m.iovlen = 1;
                m.fds = fds;
                m.nfds = 2;
                CHECK(fdcred_recvmsg(s, &m, 0) == sizeof tg, "thread %u recvmsg %u", t, want);
                n = m.nfds;
            }
            CHECK(tg.thread == t && tg.seq == want && n == 1,
                  "thread %u got message %u of thread %u (%zu fds), wanted %u", t, tg.seq, tg.thread, n, want);
            CHECK(same_file(fds[0], tpool[t][want % WINDOW][0]), "thread %u message %u: fd of another pipe", t, want);
            close(fds[0]);
        }
    }
    return NULL;
}

/* A plain echo peer serving all 8 sockets: each message back with its fd. */
static void plain_echo(int nsocks, int (*socks)[2]) {
    struct pollfd p[NTHREADS];
    int open_socks = nsocks;
    for (int i = 0; i < nsocks; i++)
        p[i] = (struct pollfd){.fd = socks[i][1], .events = POLLIN};
    while (open_socks > 0) {
        MUST(poll(p, (nfds_t)nsocks, -1));
        for (int i = 0; i < nsocks; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP)))
                continue;
            char buf[64];
            int fds[4];
            size_t n;
            int fl;
            ssize_t r = plain_recv(p[i].fd, buf, sizeof buf, fds, 4, &n, CMSG_SPACE(sizeof(int) * 4), &fl);
            if (r <= 0) {
                p[i].fd = -1;
                open_socks--;
                continue;
            }
            CHECK(plain_send(p[i].fd, buf, (size_t)r, fds, n, 1) == r, "echo");
            close_all(fds, n);
        }
    }
}

static void test_8_threads_own_socketpairs_every_fd_once_at_the_right_place(void) {
    long total = scaled(100000);
    per_thread = total / NTHREADS;
    pid_t dog = start_watchdog(300);
    double t0 = now();
    for (int t = 0; t < NTHREADS; t++) {
        MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, tsock[t]));
        for (int w = 0; w < WINDOW; w++)
            MUST(pipe(tpool[t][w]));
    }
    int before = count_open_fds();
    pid_t pid = MUST(fork());
    if (pid == 0) {
        for (int t = 0; t < NTHREADS; t++)
            close(tsock[t][0]);
        plain_echo(NTHREADS, tsock);
        _exit(0);
    }
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++)
        CHECK(pthread_create(&th[t], NULL, own_pair_thread, (void *)(uintptr_t)t) == 0, "pthread_create");
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    CHECK(count_open_fds() == before, "%d fds left open", count_open_fds() - before);
    for (int t = 0; t < NTHREADS; t++) {
        close_all(tsock[t], 2);
        for (int w = 0; w < WINDOW; w++)
            close_all(tpool[t][w], 2);
    }
    wait_peer(pid, "plain echo peer");
    stop_watchdog(dog);
    printf("  %d threads x %ld round trips = %ld messages each way, every fd once at its thread, %.1f s\n", NTHREADS,
           per_thread, per_thread * NTHREADS, now() - t0);
}

/* ---- 8 threads sharing one SOCK_DGRAM socket ----------------------------- */

static int dsock[2];
static unsigned char *seen;
static long dgram_total;
static const uint32_t STOP = 0xffffffff;

static void *shared_sender(void *arg) {
    uint32_t t = (uint32_t)(uintptr_t)arg;
    for (uint32_t g = t; g < (uint32_t)dgram_total; g += NTHREADS)
        CHECK(fdcred_send_fds(dsock[0], &g, sizeof g, &pool[g % POOL][0], 1) == sizeof g, "thread %u send %u", t, g);
    return NULL;
}

static void *shared_receiver(void *arg) {
    (void)arg;
    for (;;) {
        uint32_t g = 0;
        int fds[2];
        struct iovec iov = {&g, sizeof g};
        struct fdcred_msg m = {0};
        m.iov = &iov;
        m.iovlen = 1;
        m.fds = fds;
        m.nfds = 2;
        CHECK(fdcred_recvmsg(dsock[0], &m, 0) == sizeof g, "shared recvmsg");
        if (g == STOP) {
            CHECK(m.nfds == 0, "stop message with fds");
            return NULL;
        }
        CHECK(g < (uint32_t)dgram_total && m.nfds == 1, "message %u with %zu fds", g, m.nfds);
        CHECK(same_file(fds[0], pool[g % POOL][1]), "message %u: fd of another pipe", g);
        close(fds[0]);
        CHECK(__atomic_exchange_n(&seen[g], 1, __ATOMIC_SEQ_CST) == 0, "message %u arrived twice", g);
    }
}

static void test_8_threads_share_one_dgram_socket_every_fd_exactly_once(void) {
    long total = scaled(100000);
    dgram_total = total / 2;
    make_pool();
    seen = calloc((size_t)dgram_total, 1);
    CHECK(seen != NULL, "calloc");
    pid_t dog = start_watchdog(300);
    double t0 = now();
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, dsock));
    int before = count_open_fds();

    /* Phase 1: 8 library threads send on the shared socket; a plain peer checks. */
    pid_t pid = MUST(fork());
    if (pid == 0) {
        close(dsock[0]);
        for (long k = 0; k < dgram_total; k++) {
            uint32_t g;
            int got[2];
            size_t n;
            int fl;
            CHECK(plain_recv(dsock[1], &g, sizeof g, got, 2, &n, CMSG_SPACE(sizeof(int) * 2), &fl) == sizeof g,
                  "plain receive %ld", k);
            CHECK(g < (uint32_t)dgram_total && n == 1 && same_file(got[0], pool[g % POOL][0]),
                  "message %u: %zu fds or the wrong pipe", g, n);
            CHECK(seen[g] == 0, "message %u arrived twice", g);
            seen[g] = 1;
            close(got[0]);
        }
        for (long g = 0; g < dgram_total; g++)
            CHECK(seen[g], "message %ld never arrived", g);
        _exit(0);
    }
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++)
        CHECK(pthread_create(&th[t], NULL, shared_sender, (void *)(uintptr_t)t) == 0, "pthread_create");
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    wait_peer(pid, "plain receiver of 8 sending threads");

    /* Phase 2: a plain peer sends; 8 library threads receive from the shared socket. */
    pid = MUST(fork());
    if (pid == 0) {
        close(dsock[0]);
        for (uint32_t g = 0; g < (uint32_t)dgram_total; g++)
            CHECK(plain_send(dsock[1], &g, sizeof g, &pool[g % POOL][1], 1, 1) == sizeof g, "plain send %u", g);
        for (int t = 0; t < NTHREADS; t++)
            CHECK(plain_send(dsock[1], &STOP, sizeof STOP, NULL, 0, 1) == sizeof STOP, "stop");
        _exit(0);
    }
    for (int t = 0; t < NTHREADS; t++)
        CHECK(pthread_create(&th[t], NULL, shared_receiver, NULL) == 0, "pthread_create");
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    wait_peer(pid, "plain sender to 8 receiving threads");
    for (long g = 0; g < dgram_total; g++)
        CHECK(seen[g], "message %ld never arrived", g);
    CHECK(count_open_fds() == before, "%d fds left open", count_open_fds() - before);
    close_all(dsock, 2);
    free(seen);
    free_pool();
    stop_watchdog(dog);
    printf("  %d threads on one SOCK_DGRAM socketpair: %ld messages sent, %ld received, each fd exactly once, %.1f s\n",
           NTHREADS, dgram_total, dgram_total, now() - t0);
}

/* ---- received fds and exec ---------------------------------------------- */

/* Run in the exec'd child: argv = "--exec-check" then "fd:o" (must be open)
 * or "fd:c" (must be closed) pairs. */
static int exec_check(int argc, char **argv) {
    int bad = 0;
    for (int i = 2; i < argc; i++) {
        int fd = atoi(argv[i]);
        char want = strchr(argv[i], ':')[1];
        int open_ = fcntl(fd, F_GETFD) >= 0;
        if (open_ != (want == 'o')) {
            fprintf(stderr, "FAIL exec'd child: fd %d is %s, wanted %s\n", fd, open_ ? "open" : "closed",
                    want == 'o' ? "inherited" : "closed by exec");
            bad = 1;
        }
    }
    return bad;
}

static void test_received_fds_not_inherited_by_exec_unless_opted_out(void) {
    int sv[2], p[2];
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    MUST(pipe(p));
    int pidfd_ok = fdcred_allow_recv_pidfd(sv[1]) == 0;
    for (int i = 0; i < 6; i++)
        MUST(plain_send(sv[0], "x", 1, p, i == 0 ? 1 : 2, 1));
    int got[16], ng = 0;
    char want[16];
    got[ng] = MUST(fdcred_recvfd(sv[1]));
    want[ng++] = 'c';
    size_t n = 2;
    char b;
    MUST(fdcred_recv_fds(sv[1], &b, 1, got + ng, &n));
    want[ng++] = 'c';
    want[ng++] = 'c';
    for (int k = 0; k < 3; k++) {
        unsigned flags = k == 0 ? 0 : k == 1 ? FDCRED_NO_CLOEXEC : FDCRED_KEEP_PIDFD;
        struct iovec iov = {&b, 1};
        struct fdcred_msg m = {0};
        m.iov = &iov;
        m.iovlen = 1;
        m.fds = got + ng;
        m.nfds = 2;
        MUST(fdcred_recvmsg(sv[1], &m, flags));
        CHECK(m.nfds == 2, "recvmsg gave %zu fds", m.nfds);
        want[ng++] = flags == FDCRED_NO_CLOEXEC ? 'o' : 'c';
        want[ng++] = flags == FDCRED_NO_CLOEXEC ? 'o' : 'c';
        if (m.result & FDCRED_MSG_PIDFD) {
            got[ng] = m.pidfd;
            want[ng++] = 'c';
        }
    }
    CHECK(!pidfd_ok || ng == 10, "no pidfd kept with FDCRED_KEEP_PIDFD (%d fds)", ng);
    char args[16][16];
    char *argv[20];
    int a = 0;
    argv[a++] = "signals_threads";
    argv[a++] = "--exec-check";
    for (int i = 0; i < ng; i++) {
        snprintf(args[i], sizeof args[i], "%d:%c", got[i], want[i]);
        argv[a++] = args[i];
    }
    argv[a] = NULL;
    pid_t pid = MUST(fork());
    if (pid == 0) {
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    wait_peer(pid, "exec'd child checking which fds it inherited");
    printf("  %d received fds checked from an exec'd child (%s pidfd)\n", ng, pidfd_ok ? "with a" : "without");
    close_all(got, (size_t)ng);
    close_all(sv, 2);
    close_all(p, 2);
}

/* ---- no heap allocation ------------------------------------------------- */

#ifndef __SANITIZE_ADDRESS__
/* Interposed allocator: the library's calls to malloc & co. land here. */
#ifdef __GLIBC__
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
#define backing_malloc __libc_malloc
#define backing_calloc __libc_calloc
#define backing_realloc __libc_realloc
#define backing_memalign __libc_memalign
#define backing_free __libc_free
#else
/* musl lets a program replace malloc & co. (and malloc_usable_size) but has
 * no backing_malloc to forward to. This short-lived test process is served
 * from a static arena that never frees: zeroed memory (BSS, never reused), a
 * size word before each block for realloc. */
#include <stdint.h>
static _Alignas(64) unsigned char arena[128u << 20];
static size_t arena_top;
static void *backing_memalign(size_t al, size_t n) {
    if (al < 16)
        al = 16;
    if ((al & (al - 1)) || n > sizeof arena) {
        errno = EINVAL;
        return NULL;
    }
    size_t need = (n + al + 16 + 15) & ~(size_t)15;
    size_t start = __atomic_fetch_add(&arena_top, need, __ATOMIC_RELAXED);
    if (start > sizeof arena - need) {
        errno = ENOMEM;
        return NULL;
    }
    uintptr_t p = ((uintptr_t)(arena + start + 16) + al - 1) & ~(uintptr_t)(al - 1);
    ((size_t *)p)[-1] = n;
    return (void *)p;
}
static void *backing_malloc(size_t n) { return backing_memalign(16, n); }
static void *backing_calloc(size_t a, size_t b) {
    if (b && a > SIZE_MAX / b) {
        errno = ENOMEM;
        return NULL;
    }
    return backing_malloc(a * b);
}
static void *backing_realloc(void *old, size_t n) {
    void *p = backing_malloc(n);
    if (p && old) {
        size_t was = ((size_t *)old)[-1];
        memcpy(p, old, was < n ? was : n);
    }
    return p;
}
static void backing_free(void *p) { (void)p; }
size_t malloc_usable_size(void *p) { return p ? ((size_t *)p)[-1] : 0; }
#endif
static volatile int counting;
static long heap_calls;
#define COUNT()                                                                                                        \
    do {                                                                                                               \
        if (counting)                                                                                                  \
            __atomic_add_fetch(&heap_calls, 1, __ATOMIC_RELAXED);                                                      \
    } while (0)
void *malloc(size_t n) {
    COUNT();
    return backing_malloc(n);
}
void *calloc(size_t a, size_t b) {
    COUNT();
    return backing_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    COUNT();
    return backing_realloc(p, n);
}
void free(void *p) {
    if (p)
        COUNT();
    backing_free(p);
}
void *aligned_alloc(size_t al, size_t n) {
    COUNT();
    return backing_memalign(al, n);
}
void *memalign(size_t al, size_t n) {
    COUNT();
    return backing_memalign(al, n);
}
int posix_memalign(void **out, size_t al, size_t n) {
    COUNT();
    void *p = backing_memalign(al, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

static void test_no_heap_allocation_on_send_and_receive_paths(void) {
    /* the interposer must see allocations at all, or the zero proves nothing */
    void *(*volatile alloc)(size_t) = malloc; /* called through a pointer: never optimized out */
    void (*volatile release)(void *) = free;
    counting = 1;
    release(alloc(16));
    counting = 0;
    CHECK(heap_calls == 2, "the interposed allocator saw %ld calls for one malloc+free", heap_calls);
    /* and calls made inside a shared library (opendir in libc) reach it too */
    heap_calls = 0;
    counting = 1;
    count_open_fds();
    counting = 0;
    CHECK(heap_calls > 0, "the interposed allocator does not see allocations made inside shared libraries");
    heap_calls = 0;

    int sv[2], dg[2], p[2];
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, dg));
    MUST(pipe(p));
    MUST(fdcred_allow_recv_cred(sv[1]));
    int pidfd_ok = fdcred_allow_recv_pidfd(sv[1]) == 0;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "/tmp/fdcred-noalloc-%d.sock", (int)getpid());
    unlink(a.sun_path);
    int rx = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    MUST(bind(rx, (struct sockaddr *)&a, sizeof a));
    int tx = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    int before = count_open_fds();

    long calls = 0, failures = 0;
    counting = 1; /* from here no printf, no opendir: only the library and close() */
    for (int round = 0; round < 1000; round++) {
        /* 10 calls per round */
        char b = 0;
        int fd = -1, fds[4];
        size_t n = 4;
        failures += fdcred_sendfd(sv[0], p[0]) != 0;
        fd = fdcred_recvfd(sv[1]);
        failures += fd < 0;
        close(fd);
        failures += fdcred_send_fds(sv[0], "ab", 2, p, 2) != 2;
        char ab[2]; /* the whole record: a cut one is EMSGSIZE */
        failures += fdcred_recv_fds(sv[1], ab, 2, fds, &n) != 2 || n != 2;
        close_all(fds, n);
        struct fdcred_cred who;
        failures += fdcred_send_cred(sv[0], NULL, "c", 1) != 1;
        failures += fdcred_recv_cred(sv[1], &who, &b, 1) != 1;
        struct iovec iov = {&b, 1};
        struct fdcred_msg m = {0};
        m.iov = &iov;
        m.iovlen = 1;
        m.fds = p;
        m.nfds = 2;
        failures += fdcred_sendmsg(sv[0], &m, FDCRED_SEND_CRED) != 1;
        struct fdcred_msg r = {0};
        r.iov = &iov;
        r.iovlen = 1;
        r.fds = fds;
        r.nfds = 4;
        r.cred = &who;
        failures += fdcred_recvmsg(sv[1], &r, FDCRED_KEEP_PIDFD) != 1 || r.nfds != 2 || !(r.result & FDCRED_MSG_CRED);
        close_all(fds, r.nfds);
        if (r.result & FDCRED_MSG_PIDFD)
            close(r.pidfd);
        failures += fdcred_sendto_fds(tx, a.sun_path, "d", 1, p, 1) != 1;
        r.nfds = 4;
        failures += fdcred_recvmsg(rx, &r, 0) != 1 || r.nfds != 1;
        close_all(fds, r.nfds);
        calls += 10;
    }
    counting = 0;
    long allocations = heap_calls;
    CHECK(failures == 0, "%ld of %ld calls failed", failures, calls);
    CHECK(count_open_fds() == before, "%d fds left open", count_open_fds() - before);
    CHECK(allocations == 0, "%ld malloc/calloc/realloc/free calls during %ld send/receive calls", allocations, calls);
    printf("  %ld send/receive calls (every one; %s), 0 heap calls\n", calls,
           pidfd_ok ? "with credentials and a pidfd" : "with credentials");
    close_all(sv, 2);
    close_all(dg, 2);
    close_all(p, 2);
    close(rx);
    close(tx);
    unlink(a.sun_path);
}
#endif

static const struct test tests[] = {
    TEST(test_sigalrm_every_100us_blocking_calls_no_failure_no_lost_fd),
    TEST(test_8_threads_own_socketpairs_every_fd_once_at_the_right_place),
    TEST(test_8_threads_share_one_dgram_socket_every_fd_exactly_once),
    TEST(test_received_fds_not_inherited_by_exec_unless_opted_out),
#ifndef __SANITIZE_ADDRESS__
    TEST(test_no_heap_allocation_on_send_and_receive_paths),
#endif
};

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--exec-check") == 0)
        return exec_check(argc, argv);
    return run_tests(tests, NTESTS(tests), argc, argv);
}
