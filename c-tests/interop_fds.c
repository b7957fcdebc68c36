/*
 * Descriptor passing against peers that use plain sendmsg/recvmsg, in both
 * directions, on every Unix socket type, with real descriptors, and on every
 * path that could leak one. Each test runs in its own fork (harness.h), which
 * fails it if the process's open-fd count changed.
 */
#include <arpa/inet.h>
#include <fdcred.h>
#include <netinet/in.h>
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
            CHECK(same_file(got[0], p[1]), "%s: sendfd delivered fd %d not the pipe", type_name(socket_types[t]), got[0]);
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
    struct msghdr pm = {.msg_name = &rx_addr, .msg_namelen = sizeof rx_addr, .msg_iov = &siov, .msg_iovlen = 1,
                        .msg_control = ctl.bytes, .msg_controllen = sizeof ctl.bytes};
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
    CHECK(fdcred_recvmsg(rx, &tm, 0) == 4 && (tm.result & FDCRED_MSG_DATA_TRUNC), "truncation bit 0x%x",
          tm.result);
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
};

int main(int argc, char **argv) { return run_tests(tests, NTESTS(tests), argc, argv); }
