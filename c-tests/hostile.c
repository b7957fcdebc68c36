/*
 * Hostile peers: plain sendmsg programs that flood descriptors, get their
 * messages truncated by the kernel, attach surplus descriptors, forge
 * credentials, or die at every point. The receiver uses the library; each
 * test checks its open-fd count while it runs (not only at the end), and
 * that files reachable only through descriptors in flight are released.
 *
 * Sizes scale with FDCRED_STRESS_SCALE (percent of the full sizes, default
 * 100): cargo test runs a short form, scripts/stress the full one.
 */
#include <arpa/inet.h>
#include <fdcred.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "stress.h"
#include "harness.h"
#include "plain.h"

#define NOBODY 65534

/* A file reachable only through descriptors in flight must be released once
 * they are closed: the pipe's reader sees end of file. Waits at most 10 s. */
static void expect_eof(int rd, const char *step) {
    struct pollfd p = {.fd = rd, .events = POLLIN};
    int r = poll(&p, 1, 10000);
    CHECK(r == 1, "%s: the pipe's write end is still open somewhere (fd leaked or stuck in flight)", step);
    char c;
    ssize_t n = read(rd, &c, 1);
    CHECK(n == 0, "%s: read on the pipe gave %zd, wanted end of file", step, n);
}

/* The receive calls, as a hostile peer meets them. */
enum call { C_RECVFD, C_RECV_FDS, C_RECV_CRED, C_RECVMSG, NCALLS };
static const char *const call_names[NCALLS] = {"fdcred_recvfd", "fdcred_recv_fds (capacity 2)", "fdcred_recv_cred",
                                               "fdcred_recvmsg (nfds 0, data only)"};

/* One receive with the given call; returns bytes (or the fd for recvfd), -1
 * with errno. *overflow is set when recvmsg reported FDS_OVERFLOW/CTRUNC
 * (result bits in *result). Never leaves an fd open. */
static long receive(enum call c, int sock, void *buf, size_t len, unsigned *result) {
    *result = 0;
    switch (c) {
    case C_RECVFD: {
        int fd = fdcred_recvfd(sock);
        if (fd >= 0)
            close(fd);
        return fd;
    }
    case C_RECV_FDS: {
        int fds[2];
        size_t n = 2;
        long r = fdcred_recv_fds(sock, buf, len, fds, &n);
        if (r >= 0)
            close_all(fds, n);
        return r;
    }
    case C_RECV_CRED: {
        struct fdcred_cred who;
        return fdcred_recv_cred(sock, &who, buf, len);
    }
    default: {
        struct iovec iov = {buf, len};
        struct fdcred_msg m = {0};
        m.iov = &iov;
        m.iovlen = 1;
        long r = fdcred_recvmsg(sock, &m, 0);
        if (r >= 0) {
            *result = m.result;
            close_all(m.fds, m.nfds);
            CHECK(m.nfds == 0, "recvmsg with capacity 0 handed out %zu fds", m.nfds);
        }
        return r;
    }
    }
}

/* ---- fd flood ------------------------------------------------------------ */

/* 253 fds on every message; the receiver uses each receive call in turn and
 * counts its open fds after every single message. */
static void test_fd_flood_253_fds_every_message_every_receive_call(void) {
    long n = scaled(10000);
    double t0 = now();
    for (int c = 0; c < NCALLS; c++) {
        int sv[2], p[2];
        MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
        MUST(pipe(p));
        if (c == C_RECV_CRED)
            MUST(fdcred_allow_recv_cred(sv[1]));
        pid_t pid = MUST(fork());
        if (pid == 0) {
            close(sv[1]);
            close(p[0]);
            int fds[FDCRED_MAX_FDS];
            for (int i = 0; i < FDCRED_MAX_FDS; i++)
                fds[i] = p[1];
            for (uint32_t i = 0; i < (uint32_t)n; i++)
                CHECK(plain_send(sv[0], &i, sizeof i, fds, FDCRED_MAX_FDS, 1) == sizeof i, "flood message %u", i);
            _exit(0);
        }
        close(sv[0]);
        close(p[1]); /* from here the write end lives only in the peer and in flight */
        int base = count_open_fds(), highest = base;
        for (uint32_t i = 0; i < (uint32_t)n; i++) {
            uint32_t seq = 0xffffffff;
            unsigned result;
            errno = 0;
            long r = receive(c, sv[1], &seq, sizeof seq, &result);
            if (c == C_RECVMSG) {
                CHECK(r == sizeof seq && seq == i && (result & FDCRED_MSG_FDS_OVERFLOW),
                      "%s, message %u: returned %ld seq %u result 0x%x", call_names[c], i, r, seq, result);
            } else {
                CHECK(r == -1 && errno == EMSGSIZE, "%s, message %u: returned %ld, wanted EMSGSIZE", call_names[c], i,
                      r);
            }
            int open_now = count_open_fds();
            if (open_now > highest)
                highest = open_now;
            CHECK(open_now == base, "%s, after message %u of 253 fds: %d fds open, %d before the flood", call_names[c],
                  i, open_now, base);
        }
        wait_peer(pid, "flooding peer");
        unsigned result;
        char b;
        long r = receive(C_RECVMSG, sv[1], &b, 1, &result);
        CHECK(r == 0, "%s: end of the flood: %ld", call_names[c], r);
        expect_eof(p[0], call_names[c]);
        printf("  %s: %ld messages x 253 fds, open fds stayed at %d (highest seen %d)\n", call_names[c], n, base,
               highest);
        close(sv[1]);
        close(p[0]);
    }
    printf("  fd flood: %ld messages, %ld fds, %.1f s\n", n * NCALLS, n * NCALLS * FDCRED_MAX_FDS, now() - t0);
}

/* ---- truncation by the kernel ------------------------------------------- */

/* Lower RLIMIT_NOFILE and fill the table so that exactly `room` more fds fit.
 * Returns the number of fillers (in fillers[]). */
static int fillers[1024];
static int leave_room(int room, struct rlimit *old) {
    MUST(getrlimit(RLIMIT_NOFILE, old));
    int highest = 0;
    for (int fd = 0; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            highest = fd;
    struct rlimit low = {.rlim_cur = (rlim_t)highest + 1 + 300, .rlim_max = old->rlim_max};
    MUST(setrlimit(RLIMIT_NOFILE, &low));
    int n = 0, f;
    while (n < 1024 && (f = open("/dev/null", O_RDONLY)) >= 0)
        fillers[n++] = f;
    CHECK(errno == EMFILE && n >= room, "filling the table: %d fillers", n);
    for (int i = 0; i < room; i++)
        close(fillers[--n]);
    return n;
}

static void test_kernel_truncation_at_every_cut_point_closes_every_fd(void) {
    const int rooms[] = {0, 1, 2, 5, 64, 200, 252};
    int cases = 0;
    for (size_t ri = 0; ri < NTESTS(rooms); ri++) {
        for (int c = 0; c < NCALLS; c++) {
            int sv[2], p[2];
            MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
            MUST(pipe(p));
            MUST(fdcred_allow_recv_cred(sv[1]));
            /* recvfd and recv_cred would refuse more than one / any fd anyway;
             * send them as many as fit plus one, so only the kernel's cut is at stake */
            int fds[FDCRED_MAX_FDS];
            for (int i = 0; i < FDCRED_MAX_FDS; i++)
                fds[i] = p[1];
            MUST(plain_send(sv[0], "T", 1, fds, FDCRED_MAX_FDS, 1));
            MUST(plain_send(sv[0], "M", 1, NULL, 0, 1)); /* the marker after it */
            close(p[1]);
            int before = count_open_fds();
            struct rlimit old;
            int nfill = leave_room(rooms[ri], &old);
            alarm(10); /* never blocks, never spins: a hang is killed and fails */
            char b = 0;
            unsigned result;
            errno = 0;
            long r = receive(c, sv[1], &b, 1, &result);
            int err = errno;
            alarm(0);
            close_all(fillers, (size_t)nfill);
            MUST(setrlimit(RLIMIT_NOFILE, &old));
            if (c == C_RECVMSG)
                CHECK(r == 1 && b == 'T' && (result & FDCRED_MSG_CTRUNC), "%s with room for %d: %ld result 0x%x",
                      call_names[c], rooms[ri], r, result);
            else
                CHECK(r == -1 && err == EBADMSG, "%s with room for %d: returned %ld errno %d (%s), wanted EBADMSG",
                      call_names[c], rooms[ri], r, err, strerror(err));
            CHECK(count_open_fds() == before, "%s with room for %d: %d fds left open", call_names[c], rooms[ri],
                  count_open_fds() - before);
            /* exactly one message consumed: the marker is next, and nothing after it */
            struct fdcred_msg m = {0};
            struct iovec iov = {&b, 1};
            m.iov = &iov;
            m.iovlen = 1;
            CHECK(fdcred_recvmsg(sv[1], &m, FDCRED_NONBLOCK) == 1 && b == 'M', "the marker after the cut message");
            MUST_FAIL(fdcred_recvmsg(sv[1], &m, FDCRED_NONBLOCK), EAGAIN);
            expect_eof(p[0], "after a truncated message");
            close_all(sv, 2);
            close(p[0]);
            cases++;
        }
    }
    printf("  %d truncated messages of 253 fds, cut after 0..252 fds, all closed\n", cases);
}

/* Capacity below the count, every pairing around the edges: all closed. */
static void test_small_capacity_closes_all_fds_of_the_message(void) {
    const size_t counts[] = {1, 2, 3, 8, 252, 253};
    const size_t caps[] = {0, 1, 2, 3, 7, 8, 9, 251, 252, 253, 1000};
    int cases = 0;
    for (size_t ci = 0; ci < NTESTS(counts); ci++)
        for (size_t ki = 0; ki < NTESTS(caps); ki++) {
            size_t cap = caps[ki];
            int sv[2], p[2];
            MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
            MUST(pipe(p));
            int fds[FDCRED_MAX_FDS];
            for (int i = 0; i < FDCRED_MAX_FDS; i++)
                fds[i] = p[1];
            MUST(plain_send(sv[0], "c", 1, fds, counts[ci], 1));
            close(p[1]);
            int before = count_open_fds();
            int got[FDCRED_MAX_FDS];
            size_t n = cap;
            char b;
            errno = 0;
            long r = fdcred_recv_fds(sv[1], &b, 1, got, &n);
            if (counts[ci] > cap) {
                CHECK(r == -1 && errno == EMSGSIZE && n == cap, "%zu fds, capacity %zu: %ld, nfds %zu", counts[ci], cap,
                      r, n);
                CHECK(count_open_fds() == before, "%zu fds over capacity %zu left fds open", counts[ci], cap);
            } else {
                CHECK(r == 1 && n == counts[ci], "%zu fds, capacity %zu: %ld, nfds %zu", counts[ci], cap, r, n);
                for (size_t i = 0; i < n; i++)
                    CHECK(same_file(got[i], p[0]), "fd %zu is not the pipe sent", i);
                close_all(got, n);
            }
            expect_eof(p[0], "after a message over capacity");
            close_all(sv, 2);
            close(p[0]);
            cases++;
        }
    printf("  %d count/capacity pairs\n", cases);
}

/* ---- surplus ------------------------------------------------------------ */

/* Two fds where one is asked (the CMSG_SPACE trap), and 2..5 SCM_RIGHTS
 * cmsgs in one message, at every receive call: all surplus closed, and the
 * files they held released. */
static void test_surplus_fds_and_several_scm_rights_cmsgs_all_closed(void) {
    int cases = 0;
    for (int ncmsgs = 1; ncmsgs <= 5; ncmsgs++)
        for (int c = 0; c < NCALLS; c++) {
            int sv[2], p[2];
            MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
            MUST(pipe(p));
            if (c == C_RECV_CRED)
                MUST(fdcred_allow_recv_cred(sv[1]));
            int fds[16];
            for (int i = 0; i < 16; i++)
                fds[i] = p[1];
            /* recvfd asks one: send two per cmsg; recv_fds asks two: three per cmsg */
            size_t nfds = (size_t)ncmsgs * (c == C_RECV_FDS ? 3 : 2);
            if (ncmsgs == 1 && c == C_RECVFD)
                nfds = 2;
            MUST(plain_send(sv[0], "s", 1, fds, nfds, ncmsgs));
            close(p[1]);
            int before = count_open_fds();
            char b;
            unsigned result;
            errno = 0;
            long r = receive(c, sv[1], &b, 1, &result);
            if (c == C_RECVMSG)
                CHECK(r == 1 && (result & FDCRED_MSG_FDS_OVERFLOW), "%s, %zu fds in %d cmsgs: %ld result 0x%x",
                      call_names[c], nfds, ncmsgs, r, result);
            else
                CHECK(r == -1 && errno == EMSGSIZE, "%s, %zu fds in %d cmsgs: %ld, wanted EMSGSIZE", call_names[c],
                      nfds, ncmsgs, r);
            CHECK(count_open_fds() == before, "%s: %d surplus fds left open", call_names[c], count_open_fds() - before);
            expect_eof(p[0], call_names[c]);
            close_all(sv, 2);
            close(p[0]);
            cases++;
        }
    /* Enough capacity: fds of several cmsgs arrive whole and in order. */
    int sv[2], p[2], q[2];
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    MUST(pipe(p));
    MUST(pipe(q));
    int fds[6] = {p[0], q[0], p[1], q[1], p[0], q[1]};
    MUST(plain_send(sv[0], "o", 1, fds, 6, 3));
    int got[8];
    size_t n = 8;
    char b;
    CHECK(fdcred_recv_fds(sv[1], &b, 1, got, &n) == 1 && n == 6, "three cmsgs of two fds gave %zu", n);
    for (int i = 0; i < 6; i++)
        CHECK(same_file(got[i], fds[i]), "fd %d of three cmsgs is not the file sent there", i);
    close_all(got, n);
    close_all(sv, 2);
    close_all(p, 2);
    close_all(q, 2);
    printf("  %d surplus messages, all closed\n", cases);
}

/* ---- credentials -------------------------------------------------------- */

static void need_root(void) {
    if (geteuid() != 0)
        SKIP("needs root to switch a peer to uid %d (running as uid %d)", NOBODY, (int)geteuid());
}

static void become_nobody(void) {
    gid_t g = NOBODY;
    MUST(setgroups(1, &g));
    MUST(setgid(NOBODY));
    MUST(setuid(NOBODY));
}

/* An unprivileged plain peer tries every forgery on every socket type; the
 * kernel refuses each with EPERM, and every message the receiver gets (with
 * recv_cred and recvmsg) shows the peer's own ids, never a forged one. */
static void test_forged_credentials_from_nobody_never_seen_as_valid(void) {
    need_root();
    const int types[] = {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM};
    int refused = 0;
    for (size_t t = 0; t < 3; t++) {
        int sv[2], go[2];
        MUST(socketpair(AF_UNIX, types[t], 0, sv));
        MUST(fdcred_allow_recv_cred(sv[1]));
        MUST(pipe(go));
        pid_t me = getpid();
        pid_t pid = MUST(fork());
        if (pid == 0) {
            close(sv[1]);
            become_nobody();
            const struct ucred forged[] = {
                {getpid(), 0, NOBODY},    {getpid(), NOBODY, 0},    {1, NOBODY, NOBODY}, {me, NOBODY, NOBODY},
                {getpid(), 1234, NOBODY}, {getpid(), NOBODY, 1234}, {0, NOBODY, NOBODY}, {getpid(), (uid_t)-1, NOBODY},
            };
            for (size_t i = 0; i < NTESTS(forged); i++) {
                int e = plain_send_ucred(sv[0], forged[i].pid, forged[i].uid, forged[i].gid);
                CHECK(e == EPERM || e == EINVAL, "forgery %zu (pid %d uid %u gid %u) gave errno %d", i,
                      (int)forged[i].pid, (unsigned)forged[i].uid, (unsigned)forged[i].gid, e);
                /* one honest message after each attempt, so the receiver sees the order */
                CHECK(plain_send_ucred(sv[0], getpid(), NOBODY, NOBODY) == 0, "honest message %zu", i);
            }
            _exit(0);
        }
        close(go[0]);
        close(go[1]);
        wait_peer(pid, "forging peer");
        close(sv[0]);
        for (int i = 0; i < 8; i++) {
            struct fdcred_cred who;
            char b;
            memset(&who, 0, sizeof who);
            if (i % 2 == 0) {
                CHECK(fdcred_recv_cred(sv[1], &who, &b, 1) == 1, "message %d", i);
            } else {
                struct iovec iov = {&b, 1};
                struct fdcred_msg m = {0};
                m.iov = &iov;
                m.iovlen = 1;
                m.cred = &who;
                CHECK(fdcred_recvmsg(sv[1], &m, 0) == 1 && (m.result & FDCRED_MSG_CRED), "message %d", i);
            }
            CHECK(who.uid == NOBODY && who.gid == NOBODY && who.pid == pid &&
                      (who.known & (FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID)) ==
                          (FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID),
                  "message %d seen as pid %d uid %u gid %u known 0x%x", i, (int)who.pid, (unsigned)who.uid,
                  (unsigned)who.gid, who.known);
            refused++;
        }
        char b;
        struct iovec iov = {&b, 1};
        struct fdcred_msg m = {0};
        m.iov = &iov;
        m.iovlen = 1;
        if (types[t] == SOCK_DGRAM)
            MUST_FAIL(fdcred_recvmsg(sv[1], &m, FDCRED_NONBLOCK), EAGAIN);
        else
            CHECK(fdcred_recvmsg(sv[1], &m, 0) == 0, "end of file after the honest messages");
        close(sv[1]);
    }
    printf("  %d forgeries refused by the kernel, %d honest messages seen as the peer's own ids\n", refused, refused);
}

/* Sent before the opt-in: without an explicit SCM_CREDENTIALS the kernel
 * makes up pid 0 and the overflow ids, never reported as an identity. An
 * explicit one was checked by the kernel at send time and is the sender's
 * real identity (proved here with a plain receiver too); a forged explicit
 * one never leaves the sender. */
static void test_credentials_sent_before_opt_in_never_a_made_up_identity(void) {
    need_root();
    const int types[] = {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM};
    for (size_t t = 0; t < 3; t++) {
        int sv[2];
        MUST(socketpair(AF_UNIX, types[t], 0, sv));
        pid_t pid = MUST(fork());
        if (pid == 0) {
            close(sv[1]);
            become_nobody();
            MUST(write(sv[0], "i", 1)); /* implicit: no credentials attached */
            CHECK(plain_send_ucred(sv[0], getpid(), 0, 0) == EPERM, "a forged early message was sent");
            CHECK(plain_send_ucred(sv[0], getpid(), NOBODY, NOBODY) == 0, "explicit honest early message");
            MUST(write(sv[0], "j", 1));
            _exit(0);
        }
        wait_peer(pid, "early sender");
        close(sv[0]);
        MUST(fdcred_allow_recv_cred(sv[1])); /* too late for all four */
        struct fdcred_cred who, pristine;
        memset(&pristine, 0x3c, sizeof pristine);
        who = pristine;
        char b;
        MUST_FAIL(fdcred_recv_cred(sv[1], &who, &b, 1), ENOMSG);
        CHECK(memcmp(&who, &pristine, sizeof who) == 0 && b == 'i', "implicit early message: out written");
        CHECK(fdcred_recv_cred(sv[1], &who, &b, 1) == 1 && who.pid == pid && who.uid == NOBODY,
              "explicit early message seen as pid %d uid %u", (int)who.pid, (unsigned)who.uid);
        struct iovec iov = {&b, 1};
        struct fdcred_msg m = {0};
        m.iov = &iov;
        m.iovlen = 1;
        m.cred = &who;
        CHECK(fdcred_recvmsg(sv[1], &m, 0) == 1 && b == 'j', "last early message");
        CHECK(!(m.result & FDCRED_MSG_CRED) && who.known == 0 && who.uid == (uid_t)-1 && who.pid == -1,
              "implicit early message reported as known 0x%x pid %d uid %u", who.known, (int)who.pid,
              (unsigned)who.uid);
        close(sv[1]);
    }
}

/* ---- the peer dies ------------------------------------------------------ */

/* Before sending anything: every call reports end of file. */
static void test_peer_dies_before_sending_every_call_sees_eof(void) {
    const int types[] = {SOCK_STREAM, SOCK_SEQPACKET};
    for (size_t t = 0; t < 2; t++)
        for (int c = 0; c < NCALLS; c++) {
            int sv[2];
            MUST(socketpair(AF_UNIX, types[t], 0, sv));
            pid_t pid = MUST(fork());
            if (pid == 0)
                _exit(0);
            close(sv[0]);
            wait_peer(pid, "peer that exits at once");
            char b;
            unsigned result;
            errno = 0;
            alarm(10);
            long r = receive(c, sv[1], &b, 1, &result);
            alarm(0);
            if (c == C_RECVFD || c == C_RECV_CRED)
                CHECK(r == -1 && errno == ECONNRESET, "%s after the peer died: %ld errno %d", call_names[c], r, errno);
            else
                CHECK(r == 0, "%s after the peer died: %ld errno %d", call_names[c], r, errno);
            close(sv[1]);
        }
}

/* Mid-stream: a peer writes a record header and part of its body, with fds
 * on the first byte, and is killed. The receiver gets the bytes that were
 * written (the fds with the first), then end of file; nothing leaks. */
static void test_peer_killed_mid_stream_after_partial_write(void) {
    int sv[2], p[2], ready[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(pipe(p));
    MUST(pipe(ready));
    pid_t pid = MUST(fork());
    if (pid == 0) {
        close(sv[1]);
        close(p[0]);
        uint32_t header = 1000; /* announces 1000 bytes, writes 10 */
        int fds[3] = {p[1], p[1], p[1]};
        MUST(plain_send(sv[0], &header, sizeof header, fds, 3, 1));
        MUST(write(sv[0], "0123456789", 10));
        close(p[1]);
        MUST(write(ready[1], "r", 1));
        pause();
        _exit(0);
    }
    close(sv[0]);
    close(p[1]);
    char r;
    CHECK(read(ready[0], &r, 1) == 1, "waiting for the partial write");
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    int before = count_open_fds();
    uint32_t header = 0;
    int fds[4];
    size_t n = 4;
    CHECK(fdcred_recv_fds(sv[1], &header, sizeof header, fds, &n) == 4 && header == 1000 && n == 3,
          "header of the partial record: %u, %zu fds", header, n);
    close_all(fds, n);
    char body[1000];
    size_t got = 0;
    long k;
    while ((k = fdcred_recv_fds(sv[1], body + got, sizeof body - got, fds, &n)) > 0) {
        CHECK(n == 0, "fds on a later byte");
        got += (size_t)k;
        n = 4;
    }
    CHECK(k == 0 && got == 10 && memcmp(body, "0123456789", 10) == 0, "rest of the record: %zu bytes then %ld", got, k);
    MUST_FAIL(fdcred_recvfd(sv[1]), ECONNRESET);
    CHECK(count_open_fds() == before, "partial record left fds open");
    expect_eof(p[0], "after the partial record");
    close(sv[1]);
    close_all(p, 2);
    close_all(ready, 2);
}

/* With fds in flight: a peer fills the socket with messages carrying the
 * write end of a pipe (its own copy closed, so only the messages hold it)
 * until it blocks, and is killed there. The receiver then drains with each
 * call, or closes without reading: its fd count stays put and the pipe's
 * reader sees end of file, so no in-flight fd outlives its message. */
static void test_peer_killed_with_fds_in_flight_none_leaked(void) {
    const int types[] = {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM};
    int cases = 0;
    long messages = 0;
    for (size_t t = 0; t < 3; t++)
        for (int c = 0; c <= NCALLS; c++) { /* NCALLS: close without reading */
            int sv[2], p[2], ready[2];
            MUST(socketpair(AF_UNIX, types[t], 0, sv));
            MUST(pipe(p));
            MUST(pipe(ready));
            if (c == C_RECV_CRED)
                MUST(fdcred_allow_recv_cred(sv[1]));
            pid_t pid = MUST(fork());
            if (pid == 0) {
                close(sv[1]);
                close(p[0]);
                int fds[4] = {p[1], p[1], p[1], p[1]};
                int nb = 1;
                /* fill without blocking, then tell, then block on one more */
                MUST(fcntl(sv[0], F_SETFL, O_NONBLOCK));
                while (plain_send(sv[0], "f", 1, fds, c == C_RECVFD ? 1 : 4, 1) == 1)
                    nb++;
                CHECK(errno == EAGAIN, "filling the socket");
                MUST(fcntl(sv[0], F_SETFL, 0));
                close(p[1]); /* the message now blocked holds its own reference */
                CHECK(write(ready[1], &nb, sizeof nb) == sizeof nb, "report");
                pause();
                _exit(0);
            }
            close(sv[0]);
            close(p[1]);
            int nb = 0;
            CHECK(read(ready[0], &nb, sizeof nb) == sizeof nb, "waiting for the peer to fill the socket");
            kill(pid, SIGKILL);
            int status;
            waitpid(pid, &status, 0);
            int before = count_open_fds();
            long got = 0;
            if (c < NCALLS) {
                if (types[t] == SOCK_DGRAM) /* no end of file on datagrams: stop at EAGAIN */
                    MUST(fcntl(sv[1], F_SETFL, O_NONBLOCK));
                for (;;) {
                    char b;
                    unsigned result;
                    errno = 0;
                    long r = receive(c, sv[1], &b, 1, &result);
                    if (r == 0 || (r == -1 && (errno == ECONNRESET || errno == EAGAIN)))
                        break;
                    CHECK(r >= 0 || errno == EMSGSIZE, "%s draining a dead peer: %ld errno %d", call_names[c], r,
                          errno);
                    got++;
                    CHECK(count_open_fds() == before, "%s: fds open grew while draining a dead peer", call_names[c]);
                }
                CHECK(got >= 1, "nothing was in flight");
                messages += got;
            }
            close(sv[1]);
            CHECK(count_open_fds() == before - 1, "fds left open after a dead peer's messages");
            expect_eof(p[0], c < NCALLS ? call_names[c] : "closing the socket without reading");
            close(p[0]);
            close_all(ready, 2);
            cases++;
        }
    printf("  %d dead peers (3 socket types x 4 calls + closing unread), %ld in-flight messages drained\n", cases,
           messages);
}

/* ---- closing unwanted fds never blocks ---------------------------------- */

/* A loopback TCP connection: returns the client end, *server the accepted
 * one. With `bufsize` > 0 both ends get that small a buffer (the server's
 * receive, the client's send). */
static int tcp_connection(int *server, int bufsize) {
    int l = MUST(socket(AF_INET, SOCK_STREAM, 0));
    if (bufsize > 0)
        MUST(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    MUST(bind(l, (struct sockaddr *)&sin, sizeof sin));
    MUST(listen(l, 1));
    socklen_t sl = sizeof sin;
    MUST(getsockname(l, (struct sockaddr *)&sin, &sl));
    int c = MUST(socket(AF_INET, SOCK_STREAM, 0));
    if (bufsize > 0)
        MUST(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize));
    MUST(connect(c, (struct sockaddr *)&sin, sizeof sin));
    *server = MUST(accept(l, NULL, NULL));
    close(l);
    return c;
}

/* A loopback TCP connection whose client end has data queued that can never
 * be sent (the accepting end, *server, never reads and its window is full)
 * and SO_LINGER {1, secs}: the last close of the client end waits up to
 * `secs` for that data to leave. Returns the client end. */
static int lingering_tcp_socket(int secs, int *server) {
    int c = tcp_connection(server, 4096);
    static char junk[4096];
    long queued = 0;
    ssize_t n;
    while ((n = send(c, junk, sizeof junk, MSG_DONTWAIT | MSG_NOSIGNAL)) > 0)
        queued += n;
    CHECK(n == -1 && errno == EAGAIN && queued > 0, "filling the TCP connection: %ld bytes queued", queued);
    struct linger lg = {.l_onoff = 1, .l_linger = secs};
    MUST(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    return c;
}

#define LINGER_SECONDS 10
/* A close the library makes on the caller's behalf must return long before
 * the peer's linger time; generous for a loaded machine. */
#define CLOSE_BOUND_SECONDS 2.0

/* The premise: closing such a socket plainly does block (1 s linger here). */
static void check_lingering_close_blocks(void) {
    int server;
    int c = lingering_tcp_socket(1, &server);
    double t0 = now();
    close(c);
    double took = now() - t0;
    close(server);
    CHECK(took >= 0.5, "a plain close of a lingering TCP socket took %.3f s: the peer below proves nothing", took);
}

/* A hostile peer sends, to a receive that does not want it, a TCP socket
 * with SO_LINGER {1, 10} and unsendable data, and closes its own copy: the
 * library's close is then the last one. Every receive call (surplus fds,
 * fds where none is expected, fds of a kernel-truncated message, the
 * handshake's byte with an fd) must return well under the linger time, with
 * the socket closed. */
static void test_unwanted_lingering_socket_never_blocks_any_receive(void) {
    check_lingering_close_blocks();
    enum { TRUNCATED = NCALLS, HANDSHAKE, NCASES };
    for (int c = 0; c < NCASES; c++) {
        const char *what = c < NCALLS       ? call_names[c]
                           : c == TRUNCATED ? "fdcred_recv_fds (kernel-truncated message)"
                                            : "fdcred_cred_handshake_sender";
        int sv[2], p[2], server;
        MUST(socketpair(AF_UNIX, c == HANDSHAKE ? SOCK_STREAM : SOCK_SEQPACKET, 0, sv));
        MUST(pipe(p));
        if (c == C_RECV_CRED)
            MUST(fdcred_allow_recv_cred(sv[1]));
        int lingering = lingering_tcp_socket(LINGER_SECONDS, &server);
        /* recvfd wants 1 fd, recv_fds 2: one more; recv_cred, recvmsg
         * (capacity 0) and the handshake want none; the truncated message
         * has room for the lingering socket only */
        int fds[3] = {p[1], p[1], p[1]};
        size_t nfds = c == C_RECVFD ? 2 : c == C_RECV_FDS ? 3 : c == TRUNCATED ? 2 : 1;
        if (c == TRUNCATED)
            fds[0] = lingering; /* installed; the pipe after it is cut */
        else
            fds[nfds - 1] = lingering;
        char byte = c == HANDSHAKE ? FDCRED_CRED_HANDSHAKE_BYTE : 'L';
        MUST(plain_send(sv[0], &byte, 1, fds, nfds, 1));
        close(lingering);
        close(p[1]);
        int before = count_open_fds();
        struct rlimit old;
        int nfill = c == TRUNCATED ? leave_room(1, &old) : 0;
        char b = 0;
        unsigned result = 0;
        double t0 = now();
        errno = 0;
        long r;
        if (c == TRUNCATED) {
            int got[2];
            size_t n = 2;
            r = fdcred_recv_fds(sv[1], &b, 1, got, &n);
        } else if (c == HANDSHAKE) {
            r = fdcred_cred_handshake_sender(sv[1]);
        } else {
            r = receive(c, sv[1], &b, 1, &result);
        }
        int err = errno;
        double took = now() - t0;
        if (c == TRUNCATED) {
            close_all(fillers, (size_t)nfill);
            MUST(setrlimit(RLIMIT_NOFILE, &old));
        }
        CHECK(took < CLOSE_BOUND_SECONDS, "%s took %.3f s with a lingering socket to close (linger %d s)", what, took,
              LINGER_SECONDS);
        if (c == C_RECVMSG)
            CHECK(r == 1 && (result & FDCRED_MSG_FDS_OVERFLOW), "%s: %ld result 0x%x", what, r, result);
        else
            CHECK(r == -1 && err == (c == TRUNCATED   ? EBADMSG
                                     : c == HANDSHAKE ? EPROTO
                                                      : EMSGSIZE),
                  "%s: returned %ld errno %d (%s)", what, r, err, strerror(err));
        CHECK(count_open_fds() == before, "%s: %d fds left open", what, count_open_fds() - before);
        expect_eof(p[0], what);
        close(server);
        close_all(sv, 2);
        close(p[0]);
    }
}

/* The library cannot know whether its copy is the socket's last reference.
 * Whoever still shares the socket keeps a working connection: its data
 * arrives in full and it ends with an orderly end of file, no reset. (What
 * is shared is the socket's setting: lingering is off after the library
 * closed its copy.) */
static void test_discarding_a_shared_socket_keeps_the_owners_connection(void) {
    int server;
    int c = tcp_connection(&server, 0);
    struct linger lg = {.l_onoff = 1, .l_linger = 30};
    MUST(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    MUST(send(c, "before ", 7, MSG_NOSIGNAL));
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    MUST(plain_send(sv[0], "s", 1, &c, 1, 1));
    char b;
    size_t none = 0;
    MUST_FAIL(fdcred_recv_fds(sv[1], &b, 1, NULL, &none), EMSGSIZE);
    MUST(send(c, "after", 5, MSG_NOSIGNAL));
    socklen_t ll = sizeof lg;
    MUST(getsockopt(c, SOL_SOCKET, SO_LINGER, &lg, &ll));
    CHECK(lg.l_onoff == 0, "lingering still on (%d) after the library closed its copy", lg.l_onoff);
    close(c);
    char got[32] = {0};
    size_t have = 0;
    ssize_t n;
    while ((n = read(server, got + have, sizeof got - 1 - have)) > 0)
        have += (size_t)n;
    CHECK(n == 0, "the owner's connection ended with %zd (errno %d), wanted end of file", n, errno);
    CHECK(strcmp(got, "before after") == 0, "the server read '%s'", got);
    close(server);
    close_all(sv, 2);
}

static const struct test tests[] = {
    TEST(test_fd_flood_253_fds_every_message_every_receive_call),
    TEST(test_kernel_truncation_at_every_cut_point_closes_every_fd),
    TEST(test_small_capacity_closes_all_fds_of_the_message),
    TEST(test_surplus_fds_and_several_scm_rights_cmsgs_all_closed),
    TEST(test_forged_credentials_from_nobody_never_seen_as_valid),
    TEST(test_credentials_sent_before_opt_in_never_a_made_up_identity),
    TEST(test_peer_dies_before_sending_every_call_sees_eof),
    TEST(test_peer_killed_mid_stream_after_partial_write),
    TEST(test_peer_killed_with_fds_in_flight_none_leaked),
    TEST(test_unwanted_lingering_socket_never_blocks_any_receive),
    TEST(test_discarding_a_shared_socket_keeps_the_owners_connection),
};

int main(int argc, char **argv) { return run_tests(tests, NTESTS(tests), argc, argv); }
