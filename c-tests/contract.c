/*
 * The documented contract against plain peers: the addresses
 * fdcred_sendto_fds accepts (a path that fills sun_path, Linux abstract
 * "@name" as in $NOTIFY_SOCKET, "./@x" for a path that begins with '@'), the
 * errnos the kernel gives for claims and iovec counts, a UDP socket, and
 * concurrent senders on one SOCK_SEQPACKET/SOCK_DGRAM socket.
 */
#include <fdcred.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "harness.h"
#include "plain.h"

/* A datagram receiver bound to `addr` (`len` bytes, which may leave out the
 * path's NUL). */
static int bound_dgram(const struct sockaddr_un *addr, socklen_t len) {
    int s = MUST(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    MUST(bind(s, (const struct sockaddr *)addr, len));
    return s;
}

/* Receive one datagram with plain recvmsg; it must be `want` with one fd
 * naming the same file as `sent`. */
static void expect_datagram(int receiver, const char *want, int sent, const char *step) {
    char buf[128] = {0};
    int fds[4];
    size_t nfds = 0;
    int flags = 0;
    ssize_t n = plain_recv(receiver, buf, sizeof buf - 1, fds, 4, &nfds, CMSG_SPACE(sizeof(int) * 4), &flags);
    CHECK(n == (ssize_t)strlen(want) && memcmp(buf, want, (size_t)n) == 0, "%s: received %zd bytes \"%s\"", step, n,
          buf);
    CHECK(nfds == 1 && same_file(fds[0], sent), "%s: %zu fds, want fd %d's file", step, nfds, sent);
    close_all(fds, nfds);
}

/* systemd's $NOTIFY_SOCKET is usually abstract ("@/org/freedesktop/..."): a
 * daemon hands its fds to the service manager with one call. */
static void test_sendto_fds_reaches_an_abstract_receiver_named_as_notify_socket_names_it(void) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    int n = snprintf(addr.sun_path + 1, sizeof addr.sun_path - 1, "fdcred-notify-%d", (int)getpid());
    int receiver = bound_dgram(&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n));
    char notify[sizeof addr.sun_path + 1];
    snprintf(notify, sizeof notify, "@%s", addr.sun_path + 1);
    MUST(setenv("NOTIFY_SOCKET", notify, 1));
    int sock = MUST(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    int fd = MUST(open("/dev/null", O_RDONLY | O_CLOEXEC));
    const char *text = "FDSTORE=1\nFDNAME=log";
    ssize_t sent = fdcred_sendto_fds(sock, getenv("NOTIFY_SOCKET"), text, strlen(text), &fd, 1);
    CHECK(sent == (ssize_t)strlen(text), "fdcred_sendto_fds(\"%s\") returned %zd", notify, sent);
    expect_datagram(receiver, text, fd, "abstract receiver");
    /* The longest abstract name: '@' and sun_path less its first byte. */
    char longest[sizeof addr.sun_path + 2];
    memset(longest, 'n', sizeof longest);
    longest[0] = '@';
    longest[sizeof addr.sun_path] = '\0';
    MUST_FAIL(fdcred_sendto_fds(sock, longest, "x", 1, NULL, 0), ECONNREFUSED); /* valid, nobody bound */
    longest[sizeof addr.sun_path] = 'n';
    longest[sizeof addr.sun_path + 1] = '\0';
    MUST_FAIL(fdcred_sendto_fds(sock, longest, "x", 1, NULL, 0), ENAMETOOLONG);
    MUST_FAIL(fdcred_sendto_fds(sock, "@", "x", 1, NULL, 0), EINVAL);
    close(fd);
    close(sock);
    close(receiver);
}

/* A path that fills sun_path (108 bytes on Linux) has no room for a NUL;
 * the kernel accepts it, and so does the library. One byte more does not fit. */
static void test_sendto_fds_accepts_a_path_that_fills_sun_path(void) {
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/fdcred-contract-%d", (int)getpid());
    MUST(mkdir(dir, 0700));
    /* A zero byte after the struct, for valgrind, which reads sun_path as
     * a string: the kernel is given exactly the struct, no NUL. */
    union {
        struct sockaddr_un un;
        char bytes[sizeof(struct sockaddr_un) + 1];
    } a;
    memset(&a, 0, sizeof a);
    struct sockaddr_un *addr = &a.un;
    addr->sun_family = AF_UNIX;
    char path[sizeof addr->sun_path + 2];
    memset(path, 'p', sizeof path);
    int n = snprintf(path, sizeof path, "%s/", dir);
    path[n] = 'p';
    path[sizeof addr->sun_path] = '\0';
    CHECK(strlen(path) == sizeof addr->sun_path, "path length %zu", strlen(path));
    memcpy(addr->sun_path, path, sizeof addr->sun_path); /* no NUL */
    int receiver = bound_dgram(addr, sizeof *addr);
    int sock = MUST(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    int fd = MUST(open("/dev/null", O_RDONLY | O_CLOEXEC));
    ssize_t sent = fdcred_sendto_fds(sock, path, "full", 4, &fd, 1);
    CHECK(sent == 4, "fdcred_sendto_fds to a %zu-byte path returned %zd", strlen(path), sent);
    expect_datagram(receiver, "full", fd, "108-byte path");
    path[sizeof addr->sun_path] = 'p';
    path[sizeof addr->sun_path + 1] = '\0';
    MUST_FAIL(fdcred_sendto_fds(sock, path, "x", 1, &fd, 1), ENAMETOOLONG);
    path[sizeof addr->sun_path] = '\0';
    MUST(unlink(path));
    MUST(rmdir(dir));
    close(fd);
    close(sock);
    close(receiver);
}

/* "@x" is the abstract name x; the file "@x" is written "./@x". */
static void test_sendto_fds_path_that_begins_with_at_is_written_dot_slash(void) {
    char dir[] = "/tmp/fdcred-at-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    int cwd = MUST(open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    MUST(chdir(dir));
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strcpy(addr.sun_path, "@x");
    int receiver = bound_dgram(&addr, sizeof addr);
    int sock = MUST(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    int fd = MUST(open("/dev/null", O_RDONLY | O_CLOEXEC));
    CHECK(fdcred_sendto_fds(sock, "./@x", "at", 2, &fd, 1) == 2, "fdcred_sendto_fds(\"./@x\")");
    expect_datagram(receiver, "at", fd, "file @x");
    MUST_FAIL(fdcred_sendto_fds(sock, "@x", "at", 2, &fd, 1), ECONNREFUSED); /* abstract x: nobody */
    MUST(unlink("@x"));
    MUST(fchdir(cwd));
    MUST(rmdir(dir));
    close(cwd);
    close(fd);
    close(sock);
    close(receiver);
}

/* A UDP socket is not a Unix one, with or without descriptors. */
static void test_sendto_fds_on_udp_is_eopnotsupp_with_or_without_fds(void) {
    int udp = MUST(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    int fd = MUST(open("/dev/null", O_RDONLY | O_CLOEXEC));
    MUST_FAIL(fdcred_sendto_fds(udp, "/tmp/nowhere.sock", "x", 1, NULL, 0), EOPNOTSUPP);
    MUST_FAIL(fdcred_sendto_fds(udp, "/tmp/nowhere.sock", "x", 1, &fd, 1), EOPNOTSUPP);
    close(fd);
    close(udp);
}

static void expect_nothing_queued(int sock, const char *step) {
    char byte;
    errno = 0;
    CHECK(recv(sock, &byte, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN, "%s: a message arrived", step);
}

/* Claims the kernel refuses before any permission check: uid or gid -1
 * (EINVAL), and, for a sender that may claim any pid, one that does not
 * exist (ESRCH). Nothing is sent; both send calls say the same. */
static void test_claims_of_uid_minus_one_are_einval_and_of_a_missing_pid_esrch(void) {
    if (geteuid() != 0)
        SKIP("needs root to claim another pid (running as uid %d)", (int)geteuid());
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
    MUST(fdcred_allow_recv_cred(sv[1]));
    pid_t gone = MUST(fork());
    if (gone == 0)
        _exit(0);
    wait_peer(gone, "short-lived child");
    struct fdcred_cred bad_uid = {
        .known = FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID, .pid = getpid(), .uid = (uid_t)-1, .gid = 0};
    struct fdcred_cred bad_gid = bad_uid;
    bad_gid.uid = 0;
    bad_gid.gid = (gid_t)-1;
    struct fdcred_cred no_pid = bad_gid;
    no_pid.gid = 0;
    no_pid.pid = gone;
    struct iovec iov = {"c", 1};
    struct fdcred_msg m = {0};
    m.iov = &iov;
    m.iovlen = 1;
    const struct {
        struct fdcred_cred *claim;
        int want;
        const char *what;
    } cases[] = {{&bad_uid, EINVAL, "uid -1"}, {&bad_gid, EINVAL, "gid -1"}, {&no_pid, ESRCH, "a reaped pid"}};
    for (size_t i = 0; i < 3; i++) {
        MUST_FAIL(fdcred_send_cred(sv[0], cases[i].claim, "c", 1), cases[i].want);
        m.cred = cases[i].claim;
        MUST_FAIL(fdcred_sendmsg(sv[0], &m, FDCRED_SEND_CRED), cases[i].want);
        expect_nothing_queued(sv[1], cases[i].what);
    }
    close(sv[0]);
    close(sv[1]);
}

/* In a user namespace that maps only its creator's uid 0, uid 1 names no
 * one: claiming it is EINVAL, not EPERM. */
static void test_claim_of_an_id_unmapped_in_the_callers_namespace_is_einval(void) {
    pid_t pid = MUST(fork());
    if (pid == 0) {
        uid_t uid = geteuid();
        gid_t gid = getegid();
        if (unshare(CLONE_NEWUSER) != 0)
            SKIP("user namespaces unavailable: unshare(CLONE_NEWUSER): %s", strerror(errno));
        char map[64];
        int fd = MUST(open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC));
        CHECK(write(fd, "deny", 4) == 4, "setgroups deny");
        close(fd);
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
        fd = MUST(open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC));
        CHECK(write(fd, map, strlen(map)) == (ssize_t)strlen(map), "uid_map");
        close(fd);
        snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
        fd = MUST(open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC));
        CHECK(write(fd, map, strlen(map)) == (ssize_t)strlen(map), "gid_map");
        close(fd);
        int sv[2];
        MUST(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv));
        struct fdcred_cred claim = {.known = FDCRED_CRED_UID, .uid = 1};
        MUST_FAIL(fdcred_send_cred(sv[0], &claim, "c", 1), EINVAL);
        claim.known = FDCRED_CRED_GID;
        claim.gid = 1;
        MUST_FAIL(fdcred_send_cred(sv[0], &claim, "c", 1), EINVAL);
        expect_nothing_queued(sv[1], "unmapped claim");
        close(sv[0]);
        close(sv[1]);
        _exit(0);
    }
    int status = 0;
    MUST(waitpid(pid, &status, 0));
    if (WIFEXITED(status) && WEXITSTATUS(status) == SKIP_STATUS)
        exit(SKIP_STATUS); /* the child printed why */
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child in the new namespace: status 0x%x", status);
}

/* More iovecs than IOV_MAX: EMSGSIZE from both general calls, before
 * anything is sent or consumed. */
static void test_more_than_iov_max_iovecs_is_emsgsize_and_consumes_nothing(void) {
    long max = sysconf(_SC_IOV_MAX);
    CHECK(max > 0 && max < 65536, "IOV_MAX %ld", max);
    size_t n = (size_t)max + 1;
    struct iovec *iov = calloc(n, sizeof *iov);
    char *bytes = calloc(n, 1);
    CHECK(iov && bytes, "calloc");
    for (size_t i = 0; i < n; i++)
        iov[i] = (struct iovec){bytes + i, 1};
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv));
    struct fdcred_msg m = {0};
    m.iov = iov;
    m.iovlen = n;
    MUST_FAIL(fdcred_sendmsg(sv[0], &m, 0), EMSGSIZE);
    expect_nothing_queued(sv[1], "sendmsg with IOV_MAX + 1 iovecs");
    int fd = MUST(open("/dev/null", O_RDONLY | O_CLOEXEC));
    CHECK(plain_send(sv[0], "q", 1, &fd, 1, 1) == 1, "plain send");
    int got[2] = {-1, -1};
    m.fds = got;
    m.nfds = 2;
    MUST_FAIL(fdcred_recvmsg(sv[1], &m, 0), EMSGSIZE);
    m.iovlen = (size_t)max;
    CHECK(fdcred_recvmsg(sv[1], &m, 0) == 1 && m.nfds == 1 && same_file(got[0], fd),
          "the message is still queued after EMSGSIZE");
    close(got[0]);
    close(fd);
    close(sv[0]);
    close(sv[1]);
    free(iov);
    free(bytes);
}

#define THREADS 8
#define PER_THREAD 200

struct sender {
    int sock;
    int t;
    int pipe[2];
};

static void *send_loop(void *arg) {
    struct sender *s = arg;
    for (int seq = 0; seq < PER_THREAD; seq++) {
        int msg[2] = {s->t, seq};
        ssize_t n = fdcred_send_fds(s->sock, msg, sizeof msg, &s->pipe[0], 1);
        if (n != (ssize_t)sizeof msg) {
            fprintf(stderr, "thread %d message %d: fdcred_send_fds returned %zd: %s\n", s->t, seq, n, strerror(errno));
            exit(1);
        }
    }
    return NULL;
}

/* Eight threads sending on one SOCK_SEQPACKET (and SOCK_DGRAM) socket: every
 * message arrives whole, its fd beside its own bytes, in each thread's
 * order. (A SOCK_STREAM socket does not promise this: see the header.) */
static void test_eight_threads_sharing_a_seqpacket_socket_keep_each_fd_with_its_bytes(void) {
    const int types[] = {SOCK_SEQPACKET, SOCK_DGRAM};
    for (size_t k = 0; k < 2; k++) {
        int sv[2];
        MUST(socketpair(AF_UNIX, types[k] | SOCK_CLOEXEC, 0, sv));
        struct sender senders[THREADS];
        pthread_t threads[THREADS];
        int next_seq[THREADS] = {0};
        for (int t = 0; t < THREADS; t++) {
            senders[t].sock = sv[0];
            senders[t].t = t;
            MUST(pipe2(senders[t].pipe, O_CLOEXEC));
        }
        for (int t = 0; t < THREADS; t++)
            CHECK(pthread_create(&threads[t], NULL, send_loop, &senders[t]) == 0, "pthread_create %d", t);
        for (int i = 0; i < THREADS * PER_THREAD; i++) {
            int msg[3] = {-1, -1, -1};
            int fd = -1;
            size_t nfds = 1;
            ssize_t n = fdcred_recv_fds(sv[1], msg, sizeof msg, &fd, &nfds);
            CHECK(n == 2 * (ssize_t)sizeof(int) && nfds == 1, "%s message %d: %zd bytes, %zu fds",
                  k == 0 ? "seqpacket" : "dgram", i, n, nfds);
            int t = msg[0];
            CHECK(t >= 0 && t < THREADS && msg[1] == next_seq[t], "message %d: thread %d seq %d", i, t, msg[1]);
            CHECK(same_file(fd, senders[t].pipe[0]), "message %d from thread %d carries another thread's fd", i, t);
            next_seq[t]++;
            close(fd);
        }
        for (int t = 0; t < THREADS; t++) {
            CHECK(pthread_join(threads[t], NULL) == 0, "pthread_join %d", t);
            close(senders[t].pipe[0]);
            close(senders[t].pipe[1]);
        }
        close(sv[0]);
        close(sv[1]);
    }
}

static const struct test tests[] = {
    TEST(test_sendto_fds_reaches_an_abstract_receiver_named_as_notify_socket_names_it),
    TEST(test_sendto_fds_accepts_a_path_that_fills_sun_path),
    TEST(test_sendto_fds_path_that_begins_with_at_is_written_dot_slash),
    TEST(test_sendto_fds_on_udp_is_eopnotsupp_with_or_without_fds),
    TEST(test_claims_of_uid_minus_one_are_einval_and_of_a_missing_pid_esrch),
    TEST(test_claim_of_an_id_unmapped_in_the_callers_namespace_is_einval),
    TEST(test_more_than_iov_max_iovecs_is_emsgsize_and_consumes_nothing),
    TEST(test_eight_threads_sharing_a_seqpacket_socket_keep_each_fd_with_its_bytes),
};

int main(int argc, char **argv) { return run_tests(tests, NTESTS(tests), argc, argv); }
