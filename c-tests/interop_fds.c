/*
 * Descriptor passing against peers that use plain sendmsg/recvmsg, in both
 * directions, on every Unix socket type, with real descriptors, and on every
 * path that could leak one. Each test runs in its own fork (harness.h), which
 * fails it if the process's open-fd count changed.
 */
#include <arpa/inet.h>
#include <fdcred.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "harness.h"
#include "plain.h"

static const int socket_types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET};
static const char *type_name(int t) {
    return t == SOCK_STREAM ? "SOCK_STREAM" : t == SOCK_DGRAM ? "SOCK_DGRAM" : "SOCK_SEQPACKET";
}

/* A regular file with known contents, unlinked: only descriptors name it. */
static int temp_file(const char *contents) {
    char path[] = "/tmp/fdcred-test-XXXXXX";
    int fd = MUST(mkstemp(path));
    MUST(unlink(path));
    MUST(write(fd, contents, strlen(contents)));
    MUST(lseek(fd, 0, SEEK_SET));
    return fd;
}

/* Library sends through sv[0]; a forked plain peer receives from sv[1] and
 * checks the fds are the parent's open files (it inherited the originals). */
static void test_lib_send_to_plain_peer_on_every_socket_type(void) {
    for (size_t t = 0; t < NTESTS(socket_types); t++) {
        int sv[2], p[2];
        MUST(socketpair(AF_UNIX, socket_types[t], 0, sv));
        MUST(pipe(p));
        int file = temp_file("hello");
        pid_t pid = MUST(fork());
        if (pid == 0) {
            close(sv[0]);
            char buf[16];
            int got[8];
            size_t n = 0;
            int flags = 0;
            ssize_t r = plain_recv(sv[1], buf, sizeof buf, got, 8, &n, CMSG_SPACE(sizeof(int)), &flags);
            CHECK(r == 1 && n == 1, "%s: sendfd gave %zd bytes, %zu fds", type_name(socket_types[t]), r, n);
            CHECK(same_file(got[0], p[1]), "%s: sendfd delivered fd %d not the pipe", type_name(socket_types[t]),
                  got[0]);
            close(got[0]);
            r = plain_recv(sv[1], buf, sizeof buf, got, 8, &n, CMSG_SPACE(sizeof(int) * 8), &flags);
            CHECK(r == 3 && n == 2 && memcmp(buf, "abc", 3) == 0, "%s: send_fds gave %zd bytes %zu fds",
                  type_name(socket_types[t]), r, n);
            CHECK(same_file(got[0], file) && same_file(got[1], p[0]), "%s: send_fds fds are not the files",
                  type_name(socket_types[t]));
            char c[6] = {0};
            CHECK(pread(got[0], c, 5, 0) == 5 && strcmp(c, "hello") == 0, "reading the passed file gave '%s'", c);
            close_all(got, n);
            _exit(0);
        }
        close(sv[1]);
        MUST(fdcred_sendfd(sv[0], p[1]));
        int fds[2] = {file, p[0]};
        CHECK(fdcred_send_fds(sv[0], "abc", 3, fds, 2) == 3, "send_fds on %s", type_name(socket_types[t]));
        wait_peer(pid, "plain receiver");
        close(sv[0]);
        close(p[0]);
        close(p[1]);
        close(file);
    }
}

/* FDCRED_NO_SOCKET_CHECK: the same messages, one syscall fewer, to a plain
 * receiver on every socket type; and on TCP, as documented, the byte goes
 * and the descriptor is dropped (a plain receiver sees no SCM_RIGHTS). */
static void test_no_socket_check_send_reaches_plain_peer_and_tcp_drops(void) {
    for (size_t t = 0; t < NTESTS(socket_types); t++) {
        int sv[2];
        MUST(socketpair(AF_UNIX, socket_types[t], 0, sv));
        int file = temp_file("nocheck");
        int pair[2];
        MUST(pipe(pair));
        int fds[3] = {file, pair[0], pair[1]};
        struct iovec iov = {"xyz", 3};
        struct fdcred_msg m = {0};
        m.iov = &iov;
        m.iovlen = 1;
        m.fds = fds;
        m.nfds = 3;
        CHECK(fdcred_sendmsg(sv[0], &m, FDCRED_NO_SOCKET_CHECK) == 3, "%s: sendmsg NO_SOCKET_CHECK: %s",
              type_name(socket_types[t]), strerror(errno));
        char buf[8];
        int got[4];
        size_t n = 0;
        int flags = 0;
        ssize_t r = plain_recv(sv[1], buf, sizeof buf, got, 4, &n, CMSG_SPACE(sizeof(int) * 4), &flags);
        CHECK(r == 3 && n == 3 && memcmp(buf, "xyz", 3) == 0, "%s: plain receiver got %zd bytes %zu fds",
              type_name(socket_types[t]), r, n);
        for (int i = 0; i < 3; i++)
            CHECK(same_file(got[i], fds[i]), "%s: fd %d is not what was sent", type_name(socket_types[t]), i);
        close_all(got, n);
        /* with credentials too, where the receiver asked for them */
        MUST(fdcred_allow_recv_cred(sv[1]));
        m.nfds = 1;
        CHECK(fdcred_sendmsg(sv[0], &m, FDCRED_NO_SOCKET_CHECK | FDCRED_SEND_CRED) == 3,
              "%s: sendmsg NO_SOCKET_CHECK|SEND_CRED: %s", type_name(socket_types[t]), strerror(errno));
        struct fdcred_cred who;
        size_t cap = 4;
        int rfds[4];
        struct iovec riov = {buf, sizeof buf};
        struct fdcred_msg rm = {0};
        rm.iov = &riov;
        rm.iovlen = 1;
        rm.fds = rfds;
        rm.nfds = cap;
        rm.cred = &who;
        CHECK(fdcred_recvmsg(sv[1], &rm, 0) == 3 && rm.nfds == 1 && (rm.result & FDCRED_MSG_CRED) &&
                  who.pid == getpid() && who.uid == getuid(),
              "%s: fds and credentials: nfds %zu result 0x%x pid %d", type_name(socket_types[t]), rm.nfds, rm.result,
              (int)who.pid);
        close_all(rfds, rm.nfds);
        close(sv[0]);
        close(sv[1]);
        close(file);
        close_all(pair, 2);
    }

    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int l = MUST(socket(AF_INET, SOCK_STREAM, 0));
    MUST(bind(l, (struct sockaddr *)&a, sizeof a));
    MUST(listen(l, 1));
    MUST(getsockname(l, (struct sockaddr *)&a, &alen));
    int c = MUST(socket(AF_INET, SOCK_STREAM, 0));
    MUST(connect(c, (struct sockaddr *)&a, sizeof a));
    int s = MUST(accept(l, NULL, NULL));
    int file = temp_file("tcp");
    struct iovec iov = {"t", 1};
    struct fdcred_msg m = {0};
    m.iov = &iov;
    m.iovlen = 1;
    m.fds = &file;
    m.nfds = 1;
    MUST_FAIL(fdcred_sendmsg(c, &m, 0), EOPNOTSUPP);
    CHECK(fdcred_sendmsg(c, &m, FDCRED_NO_SOCKET_CHECK) == 1, "TCP with NO_SOCKET_CHECK: %s", strerror(errno));
    char b;
    int got[2];
    size_t n = 9;
    int flags = 0;
    CHECK(plain_recv(s, &b, 1, got, 2, &n, CMSG_SPACE(sizeof(int) * 2), &flags) == 1 && b == 't' && n == 0,
          "TCP receiver got %zu fds", n);
    close(file);
    close(s);
    close(c);
    close(l);
}

/* A forked plain peer sends; the library receives. */
static void test_plain_peer_to_lib_recv_on_every_socket_type(void) {
    for (size_t t = 0; t < NTESTS(socket_types); t++) {
        int sv[2], p[2];
        MUST(socketpair(AF_UNIX, socket_types[t], 0, sv));
        MUST(pipe(p));
        pid_t pid = MUST(fork());
        if (pid == 0) {
            close(sv[1]);
            CHECK(plain_send(sv[0], "x", 1, &p[1], 1, 1) == 1, "plain send of one fd");
            int fds[3] = {p[0], p[1], p[0]};
            CHECK(plain_send(sv[0], "data", 4, fds, 3, 1) == 4, "plain send of three fds");
            _exit(0);
        }
        close(sv[0]);
        int got = MUST(fdcred_recvfd(sv[1]));
        CHECK(same_file(got, p[1]) && is_cloexec(got), "%s: recvfd fd %d wrong file or inheritable",
              type_name(socket_types[t]), got);
        MUST(write(got, "Z", 1));
        char z = 0;
        CHECK(read(p[0], &z, 1) == 1 && z == 'Z', "writing through the received pipe end");
        close(got);
        int fds[4];
        size_t n = 4;
        char buf[8];
        ssize_t r = MUST(fdcred_recv_fds(sv[1], buf, sizeof buf, fds, &n));
        CHECK(r == 4 && n == 3 && memcmp(buf, "data", 4) == 0, "%s: recv_fds gave %zd bytes %zu fds",
              type_name(socket_types[t]), r, n);
        CHECK(same_file(fds[0], p[0]) && same_file(fds[1], p[1]) && same_file(fds[2], p[0]),
              "recv_fds fds out of order");
        for (size_t i = 0; i < n; i++)
            CHECK(is_cloexec(fds[i]), "fd %d lacks close-on-exec", fds[i]);
        close_all(fds, n);
        wait_peer(pid, "plain sender");
        close(sv[1]);
        close(p[0]);
        close(p[1]);
    }
}

static int bind_dgram(struct sockaddr_un *addr, const char *tag) {
    int s = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    snprintf(addr->sun_path, sizeof addr->sun_path, "/tmp/fdcred-%s-%d.sock", tag, (int)getpid());
    unlink(addr->sun_path);
    MUST(bind(s, (struct sockaddr *)addr, sizeof *addr));
    return s;
}

static void test_sendto_fds_on_unconnected_dgram_reaches_plain_receiver(void) {
    struct sockaddr_un addr;
    int rx = bind_dgram(&addr, "sendto");
    int tx = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    int file = temp_file("dgram");
    pid_t pid = MUST(fork());
    if (pid == 0) {
        char buf[8];
        int got[4];
        size_t n;
        int flags;
        ssize_t r = plain_recv(rx, buf, sizeof buf, got, 4, &n, CMSG_SPACE(sizeof(int) * 4), &flags);
        CHECK(r == 1 && n == 1 && same_file(got[0], file), "plain receiver got %zd bytes, %zu fds", r, n);
        close(got[0]);
        _exit(0);
    }
    CHECK(fdcred_sendto_fds(tx, addr.sun_path, "!", 1, &file, 1) == 1, "sendto_fds to %s", addr.sun_path);
    wait_peer(pid, "plain dgram receiver");
    MUST_FAIL(fdcred_sendto_fds(tx, NULL, "!", 1, &file, 1), EINVAL);
    MUST_FAIL(fdcred_sendto_fds(tx, "", "!", 1, &file, 1), EINVAL);
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    MUST_FAIL(fdcred_sendto_fds(tx, longpath, "!", 1, &file, 1), ENAMETOOLONG);
    MUST_FAIL(fdcred_sendto_fds(tx, "/tmp/fdcred-nobody-listens.sock", "!", 1, &file, 1), ENOENT);
    unlink(addr.sun_path);
    close(rx);
    close(tx);
    close(file);
}

/* The general call: iovecs, fds and addresses both ways, with result bits. */
static void test_general_call_iov_fds_and_addresses_both_ways(void) {
    struct sockaddr_un rx_addr, tx_addr;
    int rx = bind_dgram(&rx_addr, "gen-rx");
    int tx = bind_dgram(&tx_addr, "gen-tx");
    int p[2];
    MUST(pipe(p));
    /* library -> plain: two iovecs, two fds, to an address */
    char a[] = "he", b[] = "llo";
    struct iovec iov[2] = {{a, 2}, {b, 3}};
    struct fdcred_msg m = {0};
    m.iov = iov;
    m.iovlen = 2;
    m.fds = p;
    m.nfds = 2;
    m.addr = (struct sockaddr *)&rx_addr;
    m.addrlen = sizeof rx_addr;
    CHECK(fdcred_sendmsg(tx, &m, 0) == 5, "sendmsg with two iovecs");
    char buf[16];
    int got[4];
    size_t n;
    int flags;
    ssize_t r = plain_recv(rx, buf, sizeof buf, got, 4, &n, CMSG_SPACE(sizeof(int) * 4), &flags);
    CHECK(r == 5 && memcmp(buf, "hello", 5) == 0 && n == 2, "plain side got %zd bytes %zu fds", r, n);
    CHECK(same_file(got[0], p[0]) && same_file(got[1], p[1]), "general send delivered the wrong files");
    close_all(got, n);

    /* plain -> library, with the source address reported */
    struct iovec siov = {"world", 5};
    union {
        char bytes[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr pm = {.msg_name = &rx_addr,
                        .msg_namelen = sizeof rx_addr,
                        .msg_iov = &siov,
                        .msg_iovlen = 1,
                        .msg_control = ctl.bytes,
                        .msg_controllen = sizeof ctl.bytes};
    struct cmsghdr *c = CMSG_FIRSTHDR(&pm);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[1], sizeof(int));
    MUST(sendmsg(tx, &pm, 0));
    char r1[2], r2[8];
    struct iovec riov[2] = {{r1, 2}, {r2, 8}};
    struct sockaddr_un from;
    int rfds[2] = {-1, -1};
    struct fdcred_msg rm = {0};
    rm.iov = riov;
    rm.iovlen = 2;
    rm.fds = rfds;
    rm.nfds = 2;
    rm.addr = (struct sockaddr *)&from;
    rm.addrlen = sizeof from;
    r = MUST(fdcred_recvmsg(rx, &rm, 0));
    CHECK(r == 5 && memcmp(r1, "wo", 2) == 0 && memcmp(r2, "rld", 3) == 0, "recvmsg scatter gave %zd", r);
    CHECK(rm.nfds == 1 && same_file(rfds[0], p[1]) && is_cloexec(rfds[0]), "recvmsg fds: %zu", rm.nfds);
    CHECK(rm.result == 0, "result bits 0x%x on a complete message", rm.result);
    CHECK(rm.pidfd == -1, "pidfd %d without asking", rm.pidfd);
    CHECK(strcmp(from.sun_path, tx_addr.sun_path) == 0, "source address '%s'", from.sun_path);
    close(rfds[0]);

    /* a datagram longer than the buffers is reported as cut */
    MUST(sendto(tx, "0123456789", 10, 0, (struct sockaddr *)&rx_addr, sizeof rx_addr));
    char small[4];
    struct iovec siov2 = {small, sizeof small};
    struct fdcred_msg tm = {0};
    tm.iov = &siov2;
    tm.iovlen = 1;
    CHECK(fdcred_recvmsg(rx, &tm, 0) == 4 && (tm.result & FDCRED_MSG_DATA_TRUNC), "truncation bit 0x%x", tm.result);
    unlink(rx_addr.sun_path);
    unlink(tx_addr.sun_path);
    close(rx);
    close(tx);
    close(p[0]);
    close(p[1]);
}

/* TCP descriptors: a listening socket and an accepted connection, passed and used. */
static void test_tcp_listener_and_connection_pass_and_work(void) {
    int lst = MUST(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    MUST(bind(lst, (struct sockaddr *)&sin, sizeof sin));
    MUST(listen(lst, 4));
    socklen_t sl = sizeof sin;
    MUST(getsockname(lst, (struct sockaddr *)&sin, &sl));
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));

    /* the listener travels to a plain peer that accepts on it */
    pid_t pid = MUST(fork());
    if (pid == 0) {
        close(sv[0]);
        int got[1];
        size_t n;
        char c;
        int flags;
        CHECK(plain_recv(sv[1], &c, 1, got, 1, &n, CMSG_SPACE(sizeof(int)), &flags) == 1 && n == 1,
              "receiving the listener");
        int conn = MUST(accept(got[0], NULL, NULL));
        MUST(write(conn, "hi", 2));
        close(conn);
        close(got[0]);
        /* then an accepted connection comes back from the library */
        int fds[1];
        n = 1;
        char b;
        CHECK(plain_recv(sv[1], &b, 1, fds, 1, &n, CMSG_SPACE(sizeof(int)), &flags) == 1 && n == 1,
              "receiving the connection");
        MUST(write(fds[0], "via-passed-fd", 13));
        close(fds[0]);
        _exit(0);
    }
    close(sv[1]);
    MUST(fdcred_sendfd(sv[0], lst));
    int cli = MUST(socket(AF_INET, SOCK_STREAM, 0));
    MUST(connect(cli, (struct sockaddr *)&sin, sizeof sin));
    char buf[32] = {0};
    CHECK(read(cli, buf, sizeof buf) == 2 && memcmp(buf, "hi", 2) == 0, "greeting through the passed listener");
    close(cli);
    cli = MUST(socket(AF_INET, SOCK_STREAM, 0));
    MUST(connect(cli, (struct sockaddr *)&sin, sizeof sin));
    int acc = MUST(accept(lst, NULL, NULL));
    MUST(fdcred_sendfd(sv[0], acc));
    close(acc);
    memset(buf, 0, sizeof buf);
    ssize_t got = 0, r;
    while ((r = read(cli, buf + got, sizeof buf - 1 - got)) > 0)
        got += r;
    CHECK(got == 13 && strcmp(buf, "via-passed-fd") == 0, "data over the passed connection: '%s'", buf);
    wait_peer(pid, "plain peer using TCP fds");
    close(cli);
    close(lst);
    close(sv[0]);
}

static void test_no_cloexec_opt_out_gives_inheritable_fds(void) {
    int sv[2], p[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(pipe(p));
    MUST(plain_send(sv[0], "a", 1, p, 2, 1));
    MUST(plain_send(sv[0], "b", 1, p, 2, 1));
    int fds[2];
    char c;
    struct iovec iov = {&c, 1};
    struct fdcred_msg m = {0};
    m.iov = &iov;
    m.iovlen = 1;
    m.fds = fds;
    m.nfds = 2;
    MUST(fdcred_recvmsg(sv[1], &m, FDCRED_NO_CLOEXEC));
    CHECK(m.nfds == 2 && !is_cloexec(fds[0]) && !is_cloexec(fds[1]), "FDCRED_NO_CLOEXEC fds still close-on-exec");
    close_all(fds, 2);
    m.nfds = 2;
    MUST(fdcred_recvmsg(sv[1], &m, 0));
    CHECK(m.nfds == 2 && is_cloexec(fds[0]) && is_cloexec(fds[1]), "default receive without close-on-exec");
    close_all(fds, 2);
    close_all(sv, 2);
    close_all(p, 2);
}

static void test_sendfd_sends_exactly_one_byte(void) {
    int sv[2], p[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(pipe(p));
    MUST(fdcred_sendfd(sv[0], p[0]));
    char buf[16];
    int got[2];
    size_t n;
    int flags;
    CHECK(plain_recv(sv[1], buf, sizeof buf, got, 2, &n, CMSG_SPACE(sizeof(int)), &flags) == 1 && n == 1,
          "a 16-byte read after sendfd");
    close(got[0]);
    MUST_FAIL(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT), EAGAIN);
    close_all(sv, 2);
    close_all(p, 2);
}

/* Every path that must close fds: more than the capacity, none expected, the
 * CMSG_SPACE rounding trap, several SCM_RIGHTS messages. */
static void test_surplus_fds_are_all_closed_and_reported(void) {
    int sv[2], p[2];
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    MUST(pipe(p));
    int five[5] = {p[0], p[1], p[0], p[1], p[0]};
    int before = count_open_fds();
    int fds[4];
    size_t n;
    char buf[8];

    MUST(plain_send(sv[0], "x", 1, five, 5, 1));
    n = 2;
    MUST_FAIL(fdcred_recv_fds(sv[1], buf, sizeof buf, fds, &n), EMSGSIZE);
    CHECK(n == 2, "*nfds written on failure: %zu", n);
    CHECK(count_open_fds() == before, "over capacity left %d fds open", count_open_fds() - before);

    MUST(plain_send(sv[0], "x", 1, five, 5, 1));
    n = 0;
    MUST_FAIL(fdcred_recv_fds(sv[1], buf, sizeof buf, NULL, &n), EMSGSIZE);
    CHECK(count_open_fds() == before, "receive expecting none left fds open");

    MUST(plain_send(sv[0], "x", 1, five, 2, 1)); /* two where one is asked */
    MUST_FAIL(fdcred_recvfd(sv[1]), EMSGSIZE);
    CHECK(count_open_fds() == before, "recvfd with two fds left fds open");

    MUST(plain_send(sv[0], "x", 1, five, 4, 2)); /* two SCM_RIGHTS messages */
    n = 3;
    MUST_FAIL(fdcred_recv_fds(sv[1], buf, sizeof buf, fds, &n), EMSGSIZE);
    MUST(plain_send(sv[0], "x", 1, five, 4, 2));
    n = 4;
    MUST(fdcred_recv_fds(sv[1], buf, sizeof buf, fds, &n));
    CHECK(n == 4, "two SCM_RIGHTS messages of two fds gave %zu", n);
    close_all(fds, n);

    MUST(plain_send(sv[0], "yy", 2, five, 5, 1));
    struct iovec iov = {buf, sizeof buf};
    struct fdcred_msg m = {0};
    m.iov = &iov;
    m.iovlen = 1;
    m.fds = fds;
    m.nfds = 2;
    CHECK(fdcred_recvmsg(sv[1], &m, 0) == 2, "general call keeps the data of an overflowing message");
    CHECK(m.nfds == 0 && (m.result & FDCRED_MSG_FDS_OVERFLOW), "overflow: nfds %zu result 0x%x", m.nfds, m.result);
    CHECK(count_open_fds() == before, "general call overflow left fds open");
    close_all(sv, 2);
    close_all(p, 2);
}

/* The kernel cuts the fd array part-way when the receiver hits
 * RLIMIT_NOFILE; every fd of that message must still be closed. */
static void test_kernel_truncation_at_rlimit_closes_every_fd(void) {
    int sv[2], p[2];
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    MUST(pipe(p));
    int eight[8];
    for (int i = 0; i < 8; i++)
        eight[i] = p[i % 2];
    MUST(plain_send(sv[0], "a", 1, eight, 8, 1));
    MUST(plain_send(sv[0], "b", 1, eight, 8, 1));
    int before = count_open_fds();
    /* Fill the descriptor table up to a lowered limit, then free three
     * slots: the kernel can install three of the eight fds and must cut. */
    struct rlimit old, low;
    MUST(getrlimit(RLIMIT_NOFILE, &old));
    int highest = 0;
    for (int fd = 0; fd < 65536; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            highest = fd;
    low.rlim_cur = (rlim_t)highest + 16;
    low.rlim_max = old.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &low) != 0 && errno == EINVAL && getenv("LD_PRELOAD") &&
        strstr(getenv("LD_PRELOAD"), "valgrind"))
        SKIP("valgrind keeps its own descriptors at the top of the table and refuses this limit");
    MUST(setrlimit(RLIMIT_NOFILE, &low));
    static int fillers[70000];
    int nfill = 0, f;
    while (nfill < 70000 && (f = open("/dev/null", O_RDONLY)) >= 0)
        fillers[nfill++] = f;
    CHECK(errno == EMFILE && nfill >= 3, "filling the table: %d fillers", nfill);
    for (int i = 0; i < 3; i++)
        close(fillers[--nfill]);
    int fds[8];
    size_t n = 8;
    char c;
    MUST_FAIL(fdcred_recv_fds(sv[1], &c, 1, fds, &n), EBADMSG);
    struct iovec iov = {&c, 1};
    struct fdcred_msg m = {0};
    m.iov = &iov;
    m.iovlen = 1;
    m.fds = fds;
    m.nfds = 8;
    CHECK(fdcred_recvmsg(sv[1], &m, 0) == 1, "general call under the limit");
    CHECK(m.nfds == 0 && (m.result & FDCRED_MSG_CTRUNC), "truncated: nfds %zu result 0x%x", m.nfds, m.result);
    close_all(fillers, (size_t)nfill);
    MUST(setrlimit(RLIMIT_NOFILE, &old));
    CHECK(count_open_fds() == before, "truncated messages left %d fds open", count_open_fds() - before);
    close_all(sv, 2);
    close_all(p, 2);
}

static void test_recvfd_tells_no_fd_from_end_of_file(void) {
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(write(sv[0], "q", 1));
    MUST_FAIL(fdcred_recvfd(sv[1]), ENOMSG);
    close(sv[0]);
    MUST_FAIL(fdcred_recvfd(sv[1]), ECONNRESET);
    size_t n = 1;
    int fd;
    char c;
    CHECK(fdcred_recv_fds(sv[1], &c, 1, &fd, &n) == 0 && n == 0, "recv_fds at end of file returns 0");
    close(sv[1]);

    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    MUST(send(sv[0], "", 0, 0));
    MUST_FAIL(fdcred_recvfd(sv[1]), ENOMSG);
    close_all(sv, 2);

    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    close(sv[0]);
    MUST_FAIL(fdcred_recvfd(sv[1]), ECONNRESET);
    close(sv[1]);
}

static void test_bad_arguments_get_clear_errnos(void) {
    int sv[2], p[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(pipe(p));
    int closed = MUST(dup(p[0]));
    close(closed);
    int many[FDCRED_MAX_FDS + 1];
    for (int i = 0; i <= FDCRED_MAX_FDS; i++)
        many[i] = p[0];
    size_t n = 1;
    int fd;
    char c;

    MUST_FAIL(fdcred_sendfd(-1, p[0]), EBADF);
    MUST_FAIL(fdcred_sendfd(sv[0], -5), EBADF);
    MUST_FAIL(fdcred_sendfd(sv[0], closed), EBADF);
    MUST_FAIL(fdcred_sendfd(closed, p[0]), EBADF);
    MUST_FAIL(fdcred_sendfd(p[1], p[0]), ENOTSOCK);
    MUST_FAIL(fdcred_recvfd(p[0]), ENOTSOCK);
    MUST_FAIL(fdcred_recvfd(-1), EBADF);
    MUST_FAIL(fdcred_send_fds(sv[0], NULL, 1, p, 1), EINVAL);
    MUST_FAIL(fdcred_send_fds(sv[0], "x", 1, NULL, 1), EINVAL);
    MUST_FAIL(fdcred_send_fds(sv[0], "x", 1, many, FDCRED_MAX_FDS + 1), EINVAL);
    MUST_FAIL(fdcred_send_fds(sv[0], "x", SIZE_MAX, p, 1), EINVAL);
    MUST_FAIL(fdcred_send_fds(sv[0], "", 0, p, 1), EINVAL); /* a stream needs a byte */
    MUST_FAIL(fdcred_recv_fds(sv[1], &c, 1, &fd, NULL), EINVAL);
    MUST_FAIL(fdcred_recv_fds(sv[1], NULL, 1, &fd, &n), EINVAL);
    n = 2;
    MUST_FAIL(fdcred_recv_fds(sv[1], &c, 1, NULL, &n), EINVAL);
    MUST_FAIL(fdcred_sendmsg(sv[0], NULL, 0), EINVAL);
    MUST_FAIL(fdcred_recvmsg(sv[1], NULL, 0), EINVAL);
    struct fdcred_msg m = {0};
    MUST_FAIL(fdcred_sendmsg(sv[0], &m, 0x100), EINVAL);
    MUST_FAIL(fdcred_recvmsg(sv[1], &m, FDCRED_SEND_CRED), EINVAL);
    m.iovlen = 1;
    MUST_FAIL(fdcred_sendmsg(sv[0], &m, 0), EINVAL);
    MUST_FAIL(fdcred_recvmsg(sv[1], &m, FDCRED_NONBLOCK), EINVAL);
    m.iovlen = 0;
    MUST_FAIL(fdcred_recvmsg(sv[1], &m, FDCRED_NONBLOCK), EAGAIN);

    /* a TCP socket would drop SCM_RIGHTS silently: refused up front */
    int tcp = MUST(socket(AF_INET, SOCK_STREAM, 0));
    MUST_FAIL(fdcred_sendfd(tcp, p[0]), EOPNOTSUPP);
    MUST_FAIL(fdcred_send_fds(tcp, "x", 1, p, 1), EOPNOTSUPP);
    close(tcp);

    /* a dead peer: EPIPE, and no SIGPIPE (the default action would kill us) */
    signal(SIGPIPE, SIG_DFL);
    close(sv[1]);
    MUST_FAIL(fdcred_sendfd(sv[0], p[0]), EPIPE);
    MUST_FAIL(fdcred_send_fds(sv[0], "x", 1, p, 1), EPIPE);
    close(sv[0]);
    close_all(p, 2);
}

/* ---- records longer than the buffer ------------------------------------- */

/* Whether the pipe's write end is closed everywhere (its reader sees EOF). */
static int write_end_released(int rd) {
    struct pollfd pf = {.fd = rd, .events = POLLIN};
    char c;
    return poll(&pf, 1, 5000) == 1 && read(rd, &c, 1) == 0;
}

/* A plain sender puts a 1,000-byte record (with fds, or credentials) on a
 * SOCK_SEQPACKET or SOCK_DGRAM socket; each simple receive, given 10 bytes
 * (1 for recvfd), fails with EMSGSIZE instead of returning the first bytes
 * as if they were the record: the record is consumed, its fds closed, the
 * out-parameters untouched, and the next record arrives whole. A record
 * that fits exactly is no failure; fdcred_recvmsg reports the cut
 * (FDCRED_MSG_DATA_TRUNC) and returns the fds; a stream keeps the rest. */
static void test_simple_receives_refuse_a_record_longer_than_the_buffer(void) {
    static char big[1000];
    memset(big, 'B', sizeof big);
    const int types[] = {SOCK_SEQPACKET, SOCK_DGRAM};
    for (size_t t = 0; t < NTESTS(types); t++) {
        const char *tn = type_name(types[t]);
        for (int call = 0; call < 3; call++) {
            int sv[2], p[2];
            MUST(socketpair(AF_UNIX, types[t], 0, sv));
            MUST(pipe(p));
            if (call == 2)
                MUST(fdcred_allow_recv_cred(sv[1]));
            int fds[2] = {p[1], p[1]};
            MUST(plain_send(sv[0], big, sizeof big, fds, call == 0 ? 1 : call == 1 ? 2 : 0, 1));
            MUST(plain_send(sv[0], "next", 4, NULL, 0, 1));
            close(p[1]);
            int before = count_open_fds();
            char buf[10] = {0};
            int got[2] = {-7, -7};
            size_t n = 2;
            struct fdcred_cred who;
            memset(&who, 0x5a, sizeof who);
            const char *name = call == 0 ? "fdcred_recvfd" : call == 1 ? "fdcred_recv_fds" : "fdcred_recv_cred";
            errno = 0;
            long r = call == 0   ? fdcred_recvfd(sv[1])
                     : call == 1 ? fdcred_recv_fds(sv[1], buf, sizeof buf, got, &n)
                                 : fdcred_recv_cred(sv[1], &who, buf, sizeof buf);
            CHECK(r == -1 && errno == EMSGSIZE, "%s, %s: a 1000-byte record into %s gave %ld, wanted EMSGSIZE", tn,
                  name, call == 0 ? "1 byte" : "10 bytes", r);
            CHECK(n == 2 && got[0] == -7 && who.known == 0x5a5a5a5a, "%s, %s: out-parameters written on failure", tn,
                  name);
            CHECK(count_open_fds() == before, "%s, %s: fds of the cut record left open", tn, name);
            CHECK(write_end_released(p[0]), "%s, %s: an fd of the cut record is still open", tn, name);
            CHECK(recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) == 4 && memcmp(buf, "next", 4) == 0,
                  "%s, %s: the record after the cut one", tn, name);
            close_all(sv, 2);
            close(p[0]);
        }
        /* exactly the buffer's size: no cut, no failure */
        int sv[2], p[2];
        MUST(socketpair(AF_UNIX, types[t], 0, sv));
        MUST(pipe(p));
        MUST(plain_send(sv[0], big, 10, &p[1], 1, 1));
        char buf[10];
        int got[2];
        size_t n = 2;
        CHECK(fdcred_recv_fds(sv[1], buf, sizeof buf, got, &n) == 10 && n == 1, "%s: a 10-byte record into 10 bytes",
              tn);
        close_all(got, n);
        /* fdcred_recvmsg reports the cut and hands the fds over */
        MUST(plain_send(sv[0], big, sizeof big, &p[1], 1, 1));
        struct iovec iov = {buf, sizeof buf};
        struct fdcred_msg m = {0};
        m.iov = &iov;
        m.iovlen = 1;
        m.fds = got;
        m.nfds = 2;
        CHECK(fdcred_recvmsg(sv[1], &m, 0) == 10 && (m.result & FDCRED_MSG_DATA_TRUNC) && m.nfds == 1,
              "%s: recvmsg of a cut record: result 0x%x nfds %zu", tn, m.result, m.nfds);
        close_all(got, m.nfds);
        close_all(sv, 2);
        close_all(p, 2);
    }
    /* a stream loses nothing: the rest stays queued */
    int sv[2], p[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(pipe(p));
    MUST(plain_send(sv[0], big, sizeof big, &p[1], 1, 1));
    char buf[1000];
    int got[2];
    size_t n = 2;
    CHECK(fdcred_recv_fds(sv[1], buf, 10, got, &n) == 10 && n == 1, "stream: the first 10 bytes with the fd");
    close_all(got, n);
    n = 2;
    CHECK(fdcred_recv_fds(sv[1], buf, sizeof buf, got, &n) == 990 && n == 0, "stream: the other 990 bytes");
    close_all(sv, 2);
    close_all(p, 2);
}

/* ---- the non-blocking partial-write contract ---------------------------- */

/* Fill a non-blocking stream until EAGAIN with the pattern (byte i of the
 * stream is (char)(i * 7 + i / 251)). Returns the new stream offset. */
static char pattern_at(long i) { return (char)(i * 7 + i / 251); }
static long fill_pattern(char *buf, long from, size_t len) {
    for (size_t i = 0; i < len; i++)
        buf[i] = pattern_at(from + (long)i);
    return from + (long)len;
}

/* The plain receiver: read what is queued (non-blocking), check every byte
 * against the pattern at its offset, and count fds (closing each after
 * checking it is the pipe sent). Records the offset range of the read that
 * carried fds. */
struct stream_check {
    long offset;
    size_t fds_seen;
    long fd_read_start, fd_read_end;
};
static void drain_and_check(int sock, struct stream_check *sc, int want_file, long max) {
    /* Returns at EAGAIN, at `max` bytes, or at end of file (0 bytes read:
     * the caller's offset check tells a premature one). */
    static char buf[8192];
    for (;;) {
        size_t want = sizeof buf;
        if (max >= 0 && (long)want > max)
            want = (size_t)max;
        if (want == 0)
            return;
        int fds[8];
        size_t n = 0;
        int flags = 0;
        ssize_t r = plain_recv(sock, buf, want, fds, 8, &n, CMSG_SPACE(sizeof(int) * 8), &flags);
        if ((r < 0 && errno == EAGAIN) || r == 0)
            return;
        CHECK(r > 0, "plain receiver at stream offset %ld: %zd", sc->offset, r);
        CHECK(!(flags & MSG_CTRUNC), "plain receiver: control data cut");
        for (ssize_t i = 0; i < r; i++)
            CHECK(buf[i] == pattern_at(sc->offset + i), "stream byte %ld is wrong (lost or sent twice?)",
                  sc->offset + (long)i);
        if (n > 0) {
            sc->fd_read_start = sc->offset;
            sc->fd_read_end = sc->offset + r;
        }
        for (size_t i = 0; i < n; i++) {
            CHECK(same_file(fds[i], want_file), "received fd %d is not the pipe sent", fds[i]);
            close(fds[i]);
        }
        sc->fds_seen += n;
        sc->offset += r;
        if (max >= 0)
            max -= r;
    }
}

/* A non-blocking SOCK_STREAM with a small send buffer, filled to EAGAIN.
 * The contract, as the header states it: a send with fds that gets EAGAIN
 * sent nothing and no fd (the caller retries with the fds); a send that
 * writes part of its data sent the fds with the first byte (the caller
 * sends the rest *without* them). Following it, the plain receiver gets
 * every byte of 64 KiB exactly once and each fd exactly once, attached at
 * the first byte of the 64 KiB. Once with an O_NONBLOCK socket and
 * fdcred_send_fds, once with a blocking socket and FDCRED_NONBLOCK. */
static void test_nonblocking_partial_write_sends_fds_once_and_every_byte_once(void) {
    for (int variant = 0; variant < 2; variant++) {
        const char *vn = variant == 0 ? "O_NONBLOCK + fdcred_send_fds" : "fdcred_sendmsg(FDCRED_NONBLOCK)";
        int sv[2], p[2];
        MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
        MUST(pipe(p));
        int sndbuf = 16384;
        MUST(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf));
        if (variant == 0)
            MUST(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK));
        MUST(fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK)); /* the receiver reads what is queued */
        struct stream_check sc = {0, 0, -1, -1};
        static char chunk[65536];
        long sent = 0; /* stream offset of the next byte to send */
        /* fill the buffer with plain sends until EAGAIN */
        for (;;) {
            fill_pattern(chunk, sent, 1024);
            ssize_t r = send(sv[0], chunk, 1024, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (r < 0) {
                CHECK(errno == EAGAIN, "filling: send");
                break;
            }
            sent += r;
        }
        int fds[3] = {p[1], p[1], p[1]};
        const long start = sent, total = 65536;
        fill_pattern(chunk, start, (size_t)total);
        long r;
        struct iovec iov;
        struct fdcred_msg m = {0};
#define SEND_WITH_FDS(off)                                                                                             \
    (variant == 0 ? fdcred_send_fds(sv[0], chunk + (off), (size_t)(total - (off)), fds, 3)                             \
                  : (iov.iov_base = chunk + (off), iov.iov_len = (size_t)(total - (off)), m.iov = &iov, m.iovlen = 1,  \
                     m.fds = fds, m.nfds = 3, fdcred_sendmsg(sv[0], &m, FDCRED_NONBLOCK)))
        /* buffer full: EAGAIN, and nothing of it went out (checked below:
         * the fds arrive once, the bytes once) */
        errno = 0;
        r = SEND_WITH_FDS(0);
        CHECK(r == -1 && errno == EAGAIN, "%s: a send with fds into a full buffer gave %ld", vn, r);
        /* the receiver makes a little room: the retry writes part */
        drain_and_check(sv[1], &sc, p[0], 4096);
        r = SEND_WITH_FDS(0);
        CHECK(r > 0 && r < total, "%s: the retry wrote %ld of %ld bytes: no partial write to test", vn, r, total);
        long done = r;
        int rounds = 0;
        while (done < total) {
            drain_and_check(sv[1], &sc, p[0], -1);
            /* the rest goes without fds: they travelled with the first byte */
            ssize_t w = variant == 0 ? fdcred_send_fds(sv[0], chunk + done, (size_t)(total - done), NULL, 0)
                                     : (iov.iov_base = chunk + done, iov.iov_len = (size_t)(total - done), m.nfds = 0,
                                        m.fds = NULL, fdcred_sendmsg(sv[0], &m, FDCRED_NONBLOCK));
            if (w < 0) {
                CHECK(errno == EAGAIN, "%s: sending the rest at %ld", vn, done);
                continue;
            }
            done += w;
            rounds++;
        }
#undef SEND_WITH_FDS
        sent = start + total;
        close(sv[0]);
        struct pollfd pf = {.fd = sv[1], .events = POLLIN};
        while (sc.offset < sent) {
            long at = sc.offset;
            CHECK(poll(&pf, 1, 5000) == 1, "%s: waiting for the rest at %ld of %ld", vn, sc.offset, sent);
            drain_and_check(sv[1], &sc, p[0], -1);
            CHECK(sc.offset > at, "%s: end of file at %ld of %ld bytes", vn, sc.offset, sent);
        }
        char c;
        CHECK(read(sv[1], &c, 1) == 0, "%s: bytes past the end of what was sent", vn);
        CHECK(sc.fds_seen == 3, "%s: %zu fds arrived, 3 were sent once", vn, sc.fds_seen);
        CHECK(sc.fd_read_start <= start && start < sc.fd_read_end,
              "%s: the fds came with bytes %ld..%ld, not with byte %ld (the first of the send)", vn, sc.fd_read_start,
              sc.fd_read_end, start);
        printf("  %s: %ld bytes filled, then 64 KiB: %ld with the fds, the rest in %d sends\n", vn, start, r, rounds);
        close(sv[1]);
        close_all(p, 2);
    }
}

static const struct test tests[] = {
    TEST(test_lib_send_to_plain_peer_on_every_socket_type),
    TEST(test_plain_peer_to_lib_recv_on_every_socket_type),
    TEST(test_no_socket_check_send_reaches_plain_peer_and_tcp_drops),
    TEST(test_sendto_fds_on_unconnected_dgram_reaches_plain_receiver),
    TEST(test_general_call_iov_fds_and_addresses_both_ways),
    TEST(test_tcp_listener_and_connection_pass_and_work),
    TEST(test_no_cloexec_opt_out_gives_inheritable_fds),
    TEST(test_sendfd_sends_exactly_one_byte),
    TEST(test_surplus_fds_are_all_closed_and_reported),
    TEST(test_kernel_truncation_at_rlimit_closes_every_fd),
    TEST(test_recvfd_tells_no_fd_from_end_of_file),
    TEST(test_bad_arguments_get_clear_errnos),
    TEST(test_simple_receives_refuse_a_record_longer_than_the_buffer),
    TEST(test_nonblocking_partial_write_sends_fds_once_and_every_byte_once),
};

int main(int argc, char **argv) { return run_tests(tests, NTESTS(tests), argc, argv); }
