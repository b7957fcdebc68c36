/*
 * Bad input from the caller, table-driven, over every exported function:
 * every socket argument tried with every kind of wrong descriptor, every
 * descriptor-to-pass tried likewise, and every pointer/count argument with
 * NULL, zero, over-the-limit and SIZE_MAX values. Each row names the errno
 * the function's doc comment in include/fdcred.h promises (or success), and
 * is checked for: that errno, no crash, no descriptor opened or lost (the
 * process's fd count before and after the call), out-parameters untouched on
 * failure. Run plain, under AddressSanitizer + UBSan, and under valgrind.
 *
 * Adding a function: write one wrapper per argument pattern (`static long
 * f(struct ctx *c, int fd)` or `static long f(struct ctx *c)`), then add one
 * SOCK_ROW to sock_rows (what each kind of socket gives), a PASS_ROW to
 * pass_rows if it sends descriptors, and ARG_ROWs for its pointer arguments.
 */
#include <arpa/inet.h>
#include <fdcred.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "harness.h"
#include "plain.h"

/* The kinds of descriptor tried as a socket argument and as an fd to pass. */
enum kind {
    K_NEG,    /* -1 */
    K_NEGBIG, /* INT_MIN */
    K_CLOSED, /* a number that was just closed */
    K_PIPE,   /* a pipe's read end */
    K_FILE,   /* a regular file */
    K_TCP,    /* a connected loopback TCP socket, one byte queued to it */
    K_LISTEN, /* a listening Unix stream socket */
    K_SHUT,   /* a Unix stream socket shut down for writing, its peer too (EOF both ways) */
    K_DGRAM,  /* an unbound, unconnected, non-blocking Unix datagram socket */
    NKINDS
};
static const char *const kind_names[NKINDS] = {"-1",
                                               "INT_MIN",
                                               "a closed fd",
                                               "a pipe",
                                               "a regular file",
                                               "a TCP socket",
                                               "a listening Unix socket",
                                               "a socket shut down for writing",
                                               "an unconnected Unix dgram socket"};

/* Expected outcome: OK (the call succeeds), an errno, or ALT(a, b): either. */
#define OK 0
#define ALT(a, b) ((a) | ((b) << 16))
/* The Linux kernel may lack the mechanism (documented ENOPROTOOPT). */
#define OK_OR_NOPROTO ALT(OK, ENOPROTOOPT)

struct ctx {
    int kind_fd[NKINDS];
    int tcp_listener, tcp_peer;
    int shut_peer;
    char listen_path[108];
    int good, peer;     /* connected Unix stream pair; `peer` has queued "d" for `good` */
    int gdgram, pdgram; /* Unix datagram pair; `pdgram` has queued "e" for `gdgram` */
    int rx;             /* a bound datagram receiver */
    char rx_path[108];
    char file_path[108]; /* a regular file that is no socket */
    int p[2];            /* a pipe, to pass */
};

static const char *current_row = "";

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL: a bad-input row blocked for 10 s: ";
    ssize_t r = write(2, msg, sizeof msg - 1);
    r = write(2, current_row, strlen(current_row));
    r = write(2, "\n", 1);
    (void)r;
    _exit(1);
}

static int counter;

static void setup(struct ctx *c) {
    memset(c, 0, sizeof *c);
    int n = counter++;
    c->kind_fd[K_NEG] = -1;
    c->kind_fd[K_NEGBIG] = INT_MIN;
    /* A number far above the ones in use, so no later open reuses it. */
    int closed = MUST(dup2(0, 900));
    close(closed);
    c->kind_fd[K_CLOSED] = closed;
    MUST(pipe(c->p));
    c->kind_fd[K_PIPE] = MUST(dup(c->p[0]));
    snprintf(c->file_path, sizeof c->file_path, "/tmp/fdcred-bad-file-%d-%d", (int)getpid(), n);
    c->kind_fd[K_FILE] = MUST(open(c->file_path, O_RDWR | O_CREAT | O_TRUNC, 0600));

    c->tcp_listener = MUST(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    MUST(bind(c->tcp_listener, (struct sockaddr *)&sin, sizeof sin));
    MUST(listen(c->tcp_listener, 1));
    socklen_t sl = sizeof sin;
    MUST(getsockname(c->tcp_listener, (struct sockaddr *)&sin, &sl));
    c->kind_fd[K_TCP] = MUST(socket(AF_INET, SOCK_STREAM, 0));
    MUST(connect(c->kind_fd[K_TCP], (struct sockaddr *)&sin, sizeof sin));
    c->tcp_peer = MUST(accept(c->tcp_listener, NULL, NULL));
    MUST(write(c->tcp_peer, "t", 1));

    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(c->listen_path, sizeof c->listen_path, "/tmp/fdcred-bad-l-%d-%d.sock", (int)getpid(), n);
    strcpy(a.sun_path, c->listen_path);
    unlink(a.sun_path);
    c->kind_fd[K_LISTEN] = MUST(socket(AF_UNIX, SOCK_STREAM, 0));
    MUST(bind(c->kind_fd[K_LISTEN], (struct sockaddr *)&a, sizeof a));
    MUST(listen(c->kind_fd[K_LISTEN], 1));

    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(shutdown(sv[0], SHUT_WR));
    MUST(shutdown(sv[1], SHUT_WR));
    c->kind_fd[K_SHUT] = sv[0];
    c->shut_peer = sv[1];

    c->kind_fd[K_DGRAM] = MUST(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0));

    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    c->good = sv[0];
    c->peer = sv[1];
    MUST(write(c->peer, "d", 1));
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    c->gdgram = sv[0];
    c->pdgram = sv[1];
    MUST(write(c->pdgram, "e", 1));

    snprintf(c->rx_path, sizeof c->rx_path, "/tmp/fdcred-bad-rx-%d-%d.sock", (int)getpid(), n);
    strcpy(a.sun_path, c->rx_path);
    unlink(a.sun_path);
    c->rx = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    MUST(bind(c->rx, (struct sockaddr *)&a, sizeof a));
}

static void teardown(struct ctx *c) {
    for (int k = K_PIPE; k < NKINDS; k++)
        close(c->kind_fd[k]);
    close(c->tcp_listener);
    close(c->tcp_peer);
    close(c->shut_peer);
    close(c->good);
    close(c->peer);
    close(c->gdgram);
    close(c->pdgram);
    close(c->rx);
    close(c->p[0]);
    close(c->p[1]);
    unlink(c->listen_path);
    unlink(c->rx_path);
    unlink(c->file_path);
}

/* Check a call's outcome against the row's expectation; a mismatch is
 * reported and counted, so one run shows every wrong row. */
static int mismatches;
static void expect(const char *row, long rc, int err, int want) {
    int primary = want & 0xffff, alt = want >> 16;
    if (primary == OK && rc >= 0)
        return;
    if (rc == -1 && (err == primary || (alt && err == alt)))
        return;
    mismatches++;
    if (primary == OK)
        fprintf(stderr, "FAIL %s: returned %ld errno %d (%s), wanted success%s%s\n", row, rc, err, strerror(err),
                alt ? " or " : "", alt ? strerror(alt) : "");
    else
        fprintf(stderr, "FAIL %s: returned %ld errno %d (%s), wanted -1 errno %d (%s)%s%s\n", row, rc, err,
                strerror(err), primary, strerror(primary), alt ? " or " : "", alt ? strerror(alt) : "");
}

/* One call in a fresh fixture: the outcome, and no fd opened or closed. */
static void run_row(const char *row, long (*call)(struct ctx *, int), int arg_kind, long (*call0)(struct ctx *),
                    int want) {
    struct ctx c;
    setup(&c);
    current_row = row;
    int before = count_open_fds();
    alarm(10);
    errno = 0;
    long rc = call ? call(&c, c.kind_fd[arg_kind]) : call0(&c);
    int err = errno;
    alarm(0);
    int after = count_open_fds();
    expect(row, rc, err, want);
    CHECK(before == after, "%s: %d fds open before the call, %d after", row, before, after);
    teardown(&c);
}

/* ---- wrappers: one per function and argument pattern ------------------ */
/* Each returns what the call returned (errno intact) and closes whatever a
 * successful call handed out; on failure each checks its out-parameters. */

static void close_fds(const int *fds, size_t n) {
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

#define CANARY 0xa5
static int untouched(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != CANARY)
            return 0;
    return 1;
}

static long peer_cred_on(struct ctx *c, int sock) {
    (void)c;
    struct fdcred_cred out;
    memset(&out, CANARY, sizeof out);
    long rc = fdcred_peer_cred(sock, &out);
    int e = errno;
    CHECK(rc == 0 || untouched(&out, sizeof out), "%s: *out written on failure", current_row);
    errno = e;
    return rc;
}
static long peer_cred_flags_with(int sock, unsigned flags) {
    struct fdcred_cred out;
    memset(&out, CANARY, sizeof out);
    long rc = fdcred_peer_cred_flags(sock, &out, flags);
    int e = errno;
    CHECK(rc == 0 || untouched(&out, sizeof out), "%s: *out written on failure", current_row);
    errno = e;
    return rc;
}
/* The caller vouches for the socket: a listening one then reads as its
 * listener (documented), every other bad kind still fails. */
static long peer_cred_flags_on(struct ctx *c, int sock) {
    (void)c;
    return peer_cred_flags_with(sock, FDCRED_NO_SOCKET_CHECK);
}
static long allow_recv_cred_on(struct ctx *c, int sock) {
    (void)c;
    return fdcred_allow_recv_cred(sock);
}
static long allow_recv_pidfd_on(struct ctx *c, int sock) {
    (void)c;
    return fdcred_allow_recv_pidfd(sock);
}
static long refuse_fds_on(struct ctx *c, int sock) {
    (void)c;
    return fdcred_refuse_fds(sock);
}
static long send_cred_on(struct ctx *c, int sock) {
    (void)c;
    return fdcred_send_cred(sock, NULL, "x", 1);
}

static long recv_cred_with(int sock, void *buf, size_t len, int null_out) {
    struct fdcred_cred out;
    memset(&out, CANARY, sizeof out);
    long rc = fdcred_recv_cred(sock, null_out ? NULL : &out, buf, len);
    int e = errno;
    CHECK(rc >= 0 || untouched(&out, sizeof out), "%s: *out written on failure", current_row);
    errno = e;
    return rc;
}
static long recv_cred_on(struct ctx *c, int sock) {
    (void)c;
    char b;
    return recv_cred_with(sock, &b, 1, 0);
}
static long peer_groups_on(struct ctx *c, int sock) {
    (void)c;
    return fdcred_peer_groups(sock, NULL, 0);
}
static long peer_pidfd_on(struct ctx *c, int sock) {
    (void)c;
    int fd = fdcred_peer_pidfd(sock);
    if (fd >= 0) {
        CHECK(is_cloexec(fd), "%s: pidfd %d without close-on-exec", current_row, fd);
        close(fd);
    }
    return fd;
}
static long peer_security_on(struct ctx *c, int sock) {
    (void)c;
    char label[256];
    return fdcred_peer_security(sock, label, sizeof label);
}
static long sendfd_on(struct ctx *c, int sock) { return fdcred_sendfd(sock, c->p[1]); }
static long recvfd_on(struct ctx *c, int sock) {
    (void)c;
    int fd = fdcred_recvfd(sock);
    if (fd >= 0)
        close(fd);
    return fd;
}
static long send_fds_on(struct ctx *c, int sock) { return fdcred_send_fds(sock, "x", 1, &c->p[1], 1); }

static long recv_fds_with(int sock, void *buf, size_t len, int *fds, size_t *nfds) {
    size_t before = nfds ? *nfds : 0;
    long rc = fdcred_recv_fds(sock, buf, len, fds, nfds);
    int e = errno;
    if (rc >= 0)
        close_fds(fds, *nfds);
    else
        CHECK(!nfds || *nfds == before, "%s: *nfds changed from %zu to %zu on failure", current_row, before, *nfds);
    errno = e;
    return rc;
}
static long recv_fds_on(struct ctx *c, int sock) {
    (void)c;
    char b;
    int fds[1];
    size_t n = 1;
    return recv_fds_with(sock, &b, 1, fds, &n);
}
static long sendto_fds_on(struct ctx *c, int sock) { return fdcred_sendto_fds(sock, c->rx_path, "x", 1, &c->p[1], 1); }

static struct fdcred_msg msg_of(struct iovec *iov, size_t iovlen, int *fds, size_t nfds, struct sockaddr *addr,
                                socklen_t addrlen) {
    struct fdcred_msg m = {0};
    m.iov = iov;
    m.iovlen = iovlen;
    m.fds = fds;
    m.nfds = nfds;
    m.addr = addr;
    m.addrlen = addrlen;
    return m;
}

static long sendmsg_with(int sock, struct iovec *iov, size_t iovlen, int *fds, size_t nfds, struct sockaddr *addr,
                         socklen_t addrlen, unsigned flags) {
    struct fdcred_msg m = msg_of(iov, iovlen, fds, nfds, addr, addrlen);
    struct fdcred_msg copy = m;
    long rc = fdcred_sendmsg(sock, &m, flags);
    int e = errno;
    CHECK(memcmp(&m, &copy, sizeof m) == 0, "%s: sendmsg modified *msg", current_row);
    errno = e;
    return rc;
}
static long sendmsg_on(struct ctx *c, int sock) {
    struct iovec iov = {"x", 1};
    return sendmsg_with(sock, &iov, 1, &c->p[1], 1, NULL, 0, 0);
}

/* recvmsg with a pristine *msg: unchanged on failure, fds closed on success. */
static long recvmsg_with(int sock, struct fdcred_msg *m, unsigned flags) {
    struct fdcred_msg copy = *m;
    long rc = fdcred_recvmsg(sock, m, flags);
    int e = errno;
    if (rc >= 0) {
        close_fds(m->fds, m->nfds);
        if (m->result & FDCRED_MSG_PIDFD)
            close(m->pidfd);
    } else {
        CHECK(memcmp(m, &copy, sizeof copy) == 0, "%s: *msg written on failure", current_row);
    }
    errno = e;
    return rc;
}
static long recvmsg_on(struct ctx *c, int sock) {
    (void)c;
    char b;
    int fds[1];
    struct iovec iov = {&b, 1};
    struct fdcred_msg m = {0};
    m.iov = &iov;
    m.iovlen = 1;
    m.fds = fds;
    m.nfds = 1;
    return recvmsg_with(sock, &m, 0);
}

static long cred_handshake_receiver_on(struct ctx *c, int sock) {
    (void)c;
    return fdcred_cred_handshake_receiver(sock);
}
static long cred_handshake_sender_on(struct ctx *c, int sock) {
    (void)c;
    return fdcred_cred_handshake_sender(sock);
}

/* ---- what every kind of socket argument must give ---------------------- */

/* clang-format would take the leading #fn of this braced row for a directive */
/* clang-format off */
#define SOCK_ROW(fn, ...) {#fn, fn##_on, {__VA_ARGS__}}
/* clang-format on */
struct sock_row {
    const char *fn;
    long (*call)(struct ctx *, int);
    int want[NKINDS];
};

/* Columns: -1, INT_MIN, closed, pipe, file, TCP, listening, shut down, unconnected dgram. */
static const struct sock_row sock_rows[] = {
    SOCK_ROW(peer_cred, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ENOTCONN, OK, ENOTCONN),
    SOCK_ROW(peer_cred_flags, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, OK, OK, ENOTCONN),
    SOCK_ROW(allow_recv_cred, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, OK, OK, OK),
    SOCK_ROW(allow_recv_pidfd, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, OK_OR_NOPROTO, OK_OR_NOPROTO,
             OK_OR_NOPROTO),
    SOCK_ROW(refuse_fds, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, OK_OR_NOPROTO, OK_OR_NOPROTO,
             OK_OR_NOPROTO),
    SOCK_ROW(send_cred, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ENOTCONN, EPIPE, ENOTCONN),
    SOCK_ROW(recv_cred, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ENOTCONN, ECONNRESET, EAGAIN),
    SOCK_ROW(peer_groups, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ENOTCONN, OK, ENOTCONN),
    SOCK_ROW(peer_pidfd, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ALT(ENOTCONN, ENOPROTOOPT), OK_OR_NOPROTO,
             ALT(ENOTCONN, ENOPROTOOPT)),
    /* Without an LSM that labels sockets every socket gives ENOPROTOOPT. */
    SOCK_ROW(peer_security, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, ALT(EOPNOTSUPP, ENOPROTOOPT),
             ALT(ENOTCONN, ENOPROTOOPT), OK_OR_NOPROTO, ALT(ENOTCONN, ENOPROTOOPT)),
    SOCK_ROW(sendfd, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ENOTCONN, EPIPE, ENOTCONN),
    SOCK_ROW(recvfd, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ENOTCONN, ECONNRESET, EAGAIN),
    SOCK_ROW(send_fds, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ENOTCONN, EPIPE, ENOTCONN),
    SOCK_ROW(recv_fds, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ENOTCONN, OK, EAGAIN),
    /* A listening stream socket given an address: the kernel's EOPNOTSUPP;
     * a connected one: EISCONN; the unconnected dgram socket is the right use. */
    SOCK_ROW(sendto_fds, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, EOPNOTSUPP, EISCONN, OK),
    SOCK_ROW(sendmsg, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ENOTCONN, EPIPE, ENOTCONN),
    SOCK_ROW(recvmsg, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ENOTCONN, OK, EAGAIN),
    SOCK_ROW(cred_handshake_receiver, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ENOTCONN, EPIPE, ENOTCONN),
    SOCK_ROW(cred_handshake_sender, EBADF, EBADF, EBADF, ENOTSOCK, ENOTSOCK, EOPNOTSUPP, ENOTCONN, ECONNRESET, EAGAIN),
};

/* ---- what every kind of descriptor to pass must give ------------------- */

static long pass_sendfd(struct ctx *c, int fd) { return fdcred_sendfd(c->good, fd); }
static long pass_send_fds(struct ctx *c, int fd) {
    int fds[3] = {c->p[0], fd, c->p[1]}; /* the bad one in the middle */
    return fdcred_send_fds(c->good, "x", 1, fds, 3);
}
static long pass_sendto_fds(struct ctx *c, int fd) {
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    long rc = fdcred_sendto_fds(s, c->rx_path, "x", 1, &fd, 1);
    int e = errno;
    close(s);
    errno = e;
    return rc;
}
static long pass_sendmsg(struct ctx *c, int fd) {
    struct iovec iov = {"x", 1};
    return sendmsg_with(c->gdgram, &iov, 1, &fd, 1, NULL, 0, 0);
}

/* clang-format would take the leading #fn of this braced row for a directive */
/* clang-format off */
#define PASS_ROW(fn) {#fn, pass_##fn, {EBADF, EBADF, EBADF, OK, OK, OK, OK, OK, OK}}
/* clang-format on */
static const struct sock_row pass_rows[] = {
    PASS_ROW(sendfd),
    PASS_ROW(send_fds),
    PASS_ROW(sendto_fds),
    PASS_ROW(sendmsg),
};

/* ---- pointer and count arguments --------------------------------------- */

struct arg_row {
    const char *what;
    long (*call)(struct ctx *);
    int want;
};
/* One function per row: its name is the row's name. */
#define ROWFN(name) static long name(struct ctx *c)

static int many[FDCRED_MAX_FDS + 1];
static int fds253[FDCRED_MAX_FDS];
#define SSIZE_MAX_PLUS_1 ((size_t)SSIZE_MAX + 1)

ROWFN(peer_cred_null_out) { return fdcred_peer_cred(c->good, NULL); }
ROWFN(peer_cred_flags_null_out) { return fdcred_peer_cred_flags(c->good, NULL, FDCRED_NO_SOCKET_CHECK); }
ROWFN(peer_cred_flags_unknown_flag) { return peer_cred_flags_with(c->good, FDCRED_NONBLOCK); }
ROWFN(peer_cred_flags_all_flag_bits) { return peer_cred_flags_with(c->good, UINT_MAX); }
ROWFN(peer_cred_flags_zero) { return peer_cred_flags_with(c->good, 0); }
ROWFN(peer_cred_flags_zero_refuses_a_listener) { return peer_cred_flags_with(c->kind_fd[K_LISTEN], 0); }
ROWFN(send_cred_null_buf_len1) { return fdcred_send_cred(c->good, NULL, NULL, 1); }
ROWFN(send_cred_null_buf_len0_stream) { return fdcred_send_cred(c->good, NULL, NULL, 0); }
ROWFN(send_cred_null_buf_len0_dgram) { return fdcred_send_cred(c->gdgram, NULL, NULL, 0); }
ROWFN(send_cred_len_size_max) { return fdcred_send_cred(c->good, NULL, "x", SIZE_MAX); }
ROWFN(send_cred_len_ssize_max_plus_1) { return fdcred_send_cred(c->good, NULL, "x", SSIZE_MAX_PLUS_1); }
/* A zero-filled claim states pid 0, uid 0, gid 0 as written (`known` 0 does
 * not mean "my own"): pid 0 names no process (ESRCH for root, EPERM for
 * anyone else). */
ROWFN(send_cred_zero_filled_claims_pid_0) {
    struct fdcred_cred cr = {0};
    return fdcred_send_cred(c->good, &cr, "x", 1);
}
ROWFN(send_cred_own_ids_with_known_0) {
    struct fdcred_cred cr = {0};
    cr.pid = getpid();
    cr.uid = getuid();
    cr.gid = getgid();
    return fdcred_send_cred(c->good, &cr, "x", 1);
}
/* Undefined `known` bits: refused before anything is sent. */
static long send_cred_known(struct ctx *c, unsigned known) {
    struct fdcred_cred cr = {0};
    cr.known = known;
    cr.pid = getpid();
    cr.uid = getuid();
    cr.gid = getgid();
    return fdcred_send_cred(c->good, &cr, "x", 1);
}
ROWFN(send_cred_known_bit_20) { return send_cred_known(c, 1u << 20); }
ROWFN(send_cred_known_all_bits) { return send_cred_known(c, UINT_MAX); }
ROWFN(send_cred_known_uid_and_bit_31) { return send_cred_known(c, FDCRED_CRED_UID | (1u << 31)); }
ROWFN(recv_cred_null_out) {
    char b;
    MUST(fdcred_allow_recv_cred(c->good));
    return recv_cred_with(c->good, &b, 1, 1);
}
ROWFN(recv_cred_null_buf_len1) { return recv_cred_with(c->good, NULL, 1, 0); }
ROWFN(recv_cred_len_size_max) {
    char b;
    return recv_cred_with(c->good, &b, SIZE_MAX, 0);
}
ROWFN(recv_cred_len0_stream) { return recv_cred_with(c->good, NULL, 0, 0); }
ROWFN(recv_cred_no_opt_in) {
    char b;
    return recv_cred_with(c->gdgram, &b, 1, 0);
}
ROWFN(peer_groups_null_size5) { return fdcred_peer_groups(c->good, NULL, 5); }
ROWFN(peer_groups_size_max) {
    gid_t g[4];
    return fdcred_peer_groups(c->good, g, SIZE_MAX);
}
ROWFN(peer_groups_null_size0) { return fdcred_peer_groups(c->good, NULL, 0); }
ROWFN(peer_security_null_size5) { return fdcred_peer_security(c->good, NULL, 5); }
ROWFN(peer_security_size_max) {
    char b[4];
    return fdcred_peer_security(c->good, b, SIZE_MAX);
}
ROWFN(sendfd_to_itself) { return fdcred_sendfd(c->good, c->good); }
ROWFN(send_fds_null_buf_len1) { return fdcred_send_fds(c->good, NULL, 1, c->p, 1); }
ROWFN(send_fds_null_fds_n1) { return fdcred_send_fds(c->good, "x", 1, NULL, 1); }
ROWFN(send_fds_null_fds_n0) { return fdcred_send_fds(c->good, "x", 1, NULL, 0); }
ROWFN(send_fds_nothing_at_all) { return fdcred_send_fds(c->gdgram, NULL, 0, NULL, 0); }
ROWFN(send_fds_254) { return fdcred_send_fds(c->good, "x", 1, many, FDCRED_MAX_FDS + 1); }
ROWFN(send_fds_253) { return fdcred_send_fds(c->good, "x", 1, many, FDCRED_MAX_FDS); }
ROWFN(send_fds_nfds_size_max) { return fdcred_send_fds(c->good, "x", 1, many, SIZE_MAX); }
ROWFN(send_fds_len_size_max) { return fdcred_send_fds(c->good, "x", SIZE_MAX, c->p, 1); }
ROWFN(send_fds_len_ssize_max_plus_1) { return fdcred_send_fds(c->good, "x", SSIZE_MAX_PLUS_1, c->p, 1); }
ROWFN(send_fds_len0_stream) { return fdcred_send_fds(c->good, "", 0, c->p, 1); }
ROWFN(send_fds_len0_dgram) { return fdcred_send_fds(c->gdgram, NULL, 0, c->p, 1); }
ROWFN(recv_fds_null_nfds) {
    char b;
    int fd;
    return recv_fds_with(c->good, &b, 1, &fd, NULL);
}
ROWFN(recv_fds_null_buf_len1) {
    int fd;
    size_t n = 1;
    return recv_fds_with(c->good, NULL, 1, &fd, &n);
}
ROWFN(recv_fds_null_fds_n2) {
    char b;
    size_t n = 2;
    return recv_fds_with(c->good, &b, 1, NULL, &n);
}
ROWFN(recv_fds_null_fds_n0) {
    char b;
    size_t n = 0;
    return recv_fds_with(c->good, &b, 1, NULL, &n);
}
ROWFN(recv_fds_capacity_size_max) {
    char b;
    size_t n = SIZE_MAX; /* more than the limit: clamped to FDCRED_MAX_FDS */
    return recv_fds_with(c->good, &b, 1, fds253, &n);
}
ROWFN(recv_fds_len_size_max) {
    char b;
    int fd;
    size_t n = 1;
    return recv_fds_with(c->good, &b, SIZE_MAX, &fd, &n);
}
ROWFN(recv_fds_len0_stream) {
    int fd;
    size_t n = 1;
    return recv_fds_with(c->good, NULL, 0, &fd, &n);
}
/* No room for the queued 1-byte record: it would be cut, which recv_fds
 * cannot report but as a failure (the record is consumed). */
ROWFN(recv_fds_len0_dgram_cuts_a_1_byte_record) {
    int fd;
    size_t n = 1;
    return recv_fds_with(c->gdgram, NULL, 0, &fd, &n);
}
ROWFN(recv_fds_len0_dgram_empty_record) {
    int fd;
    size_t n = 1;
    char e;
    MUST(read(c->gdgram, &e, 1));
    MUST(send(c->pdgram, "", 0, 0));
    return recv_fds_with(c->gdgram, NULL, 0, &fd, &n);
}
static long sendto_path(struct ctx *c, const char *path, const void *buf, size_t len, const int *fds, size_t n) {
    int s = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    long rc = fdcred_sendto_fds(s, path, buf, len, fds, n);
    int e = errno;
    close(s);
    errno = e;
    (void)c;
    return rc;
}
static char long_path[300];
ROWFN(sendto_null_path) { return sendto_path(c, NULL, "x", 1, c->p, 1); }
ROWFN(sendto_empty_path) { return sendto_path(c, "", "x", 1, c->p, 1); }
ROWFN(sendto_long_path) { return sendto_path(c, long_path, "x", 1, c->p, 1); }
ROWFN(sendto_nothing_bound) { return sendto_path(c, "/tmp/fdcred-bad-nothing-here.sock", "x", 1, c->p, 1); }
ROWFN(sendto_regular_file_path) { return sendto_path(c, c->file_path, "x", 1, c->p, 1); }
ROWFN(sendto_listening_stream_path) { return sendto_path(c, c->listen_path, "x", 1, c->p, 1); }
ROWFN(sendto_null_buf_len1) { return sendto_path(c, c->rx_path, NULL, 1, c->p, 1); }
ROWFN(sendto_null_fds_n1) { return sendto_path(c, c->rx_path, "x", 1, NULL, 1); }
ROWFN(sendto_254) { return sendto_path(c, c->rx_path, "x", 1, many, FDCRED_MAX_FDS + 1); }
ROWFN(sendto_nfds_size_max) { return sendto_path(c, c->rx_path, "x", 1, many, SIZE_MAX); }
ROWFN(sendto_len_size_max) { return sendto_path(c, c->rx_path, "x", SIZE_MAX, c->p, 1); }
ROWFN(sendto_from_connected_dgram_goes_to_path) { return fdcred_sendto_fds(c->gdgram, c->rx_path, "x", 1, c->p, 1); }

static struct iovec iov_x = {"x", 1};
ROWFN(sendmsg_null_msg) { return fdcred_sendmsg(c->good, NULL, 0); }
ROWFN(sendmsg_unknown_flag) { return sendmsg_with(c->good, &iov_x, 1, NULL, 0, NULL, 0, 0x100); }
ROWFN(sendmsg_recv_flag) { return sendmsg_with(c->good, &iov_x, 1, NULL, 0, NULL, 0, FDCRED_NO_CLOEXEC); }
ROWFN(sendmsg_all_flag_bits) { return sendmsg_with(c->good, &iov_x, 1, NULL, 0, NULL, 0, UINT_MAX); }
ROWFN(sendmsg_null_iov_n1) { return sendmsg_with(c->good, NULL, 1, NULL, 0, NULL, 0, 0); }
ROWFN(sendmsg_iovlen_size_max) { return sendmsg_with(c->good, &iov_x, SIZE_MAX, NULL, 0, NULL, 0, 0); }
ROWFN(sendmsg_iov_entry_null_base) {
    struct iovec iov[2] = {{"x", 1}, {NULL, 5}};
    return sendmsg_with(c->good, iov, 2, NULL, 0, NULL, 0, 0);
}
ROWFN(sendmsg_iov_entry_null_base_len0) {
    struct iovec iov[2] = {{"x", 1}, {NULL, 0}};
    return sendmsg_with(c->good, iov, 2, NULL, 0, NULL, 0, 0);
}
ROWFN(sendmsg_iov_entry_len_size_max) {
    struct iovec iov = {"x", SIZE_MAX};
    return sendmsg_with(c->good, &iov, 1, NULL, 0, NULL, 0, 0);
}
ROWFN(sendmsg_iov_lengths_add_past_ssize_max) {
    static char big[2];
    struct iovec iov[2] = {{big, SSIZE_MAX}, {big, SSIZE_MAX}};
    return sendmsg_with(c->good, iov, 2, c->p, 1, NULL, 0, 0);
}
ROWFN(sendmsg_null_fds_n1) { return sendmsg_with(c->good, &iov_x, 1, NULL, 1, NULL, 0, 0); }
ROWFN(sendmsg_254) { return sendmsg_with(c->good, &iov_x, 1, many, FDCRED_MAX_FDS + 1, NULL, 0, 0); }
ROWFN(sendmsg_nfds_size_max) { return sendmsg_with(c->good, &iov_x, 1, many, SIZE_MAX, NULL, 0, 0); }
ROWFN(sendmsg_negative_fd) {
    int fds[2] = {c->p[0], -7};
    return sendmsg_with(c->good, &iov_x, 1, fds, 2, NULL, 0, 0);
}
ROWFN(sendmsg_null_addr_len5) { return sendmsg_with(c->good, &iov_x, 1, NULL, 0, NULL, 5, 0); }
ROWFN(sendmsg_fds_len0_stream) { return sendmsg_with(c->good, NULL, 0, c->p, 1, NULL, 0, 0); }
ROWFN(sendmsg_cred_len0_stream) { return sendmsg_with(c->good, NULL, 0, NULL, 0, NULL, 0, FDCRED_SEND_CRED); }
static long sendmsg_cred_known(struct ctx *c, unsigned known, unsigned flags) {
    struct fdcred_cred cr = {0};
    cr.known = known;
    cr.pid = getpid();
    cr.uid = getuid();
    cr.gid = getgid();
    struct fdcred_msg m = msg_of(&iov_x, 1, NULL, 0, NULL, 0);
    m.cred = &cr;
    return fdcred_sendmsg(c->good, &m, flags);
}
ROWFN(sendmsg_cred_known_bit_20) { return sendmsg_cred_known(c, 1u << 20, FDCRED_SEND_CRED); }
ROWFN(sendmsg_cred_known_uid_and_bit_31) {
    return sendmsg_cred_known(c, FDCRED_CRED_UID | (1u << 31), FDCRED_SEND_CRED);
}
/* Without FDCRED_SEND_CRED the send takes no claim: msg->cred is not read. */
ROWFN(sendmsg_known_bit_20_without_send_cred) { return sendmsg_cred_known(c, 1u << 20, 0); }
/* FDCRED_NO_SOCKET_CHECK skips only the family check: a stream still needs a byte. */
ROWFN(sendmsg_no_socket_check_fds_len0_stream) {
    return sendmsg_with(c->good, NULL, 0, c->p, 1, NULL, 0, FDCRED_NO_SOCKET_CHECK);
}
/* ... and, as documented, TCP then takes the byte and drops the descriptor,
 * as a plain sendmsg does (without the flag: EOPNOTSUPP, in sock_rows). */
ROWFN(sendmsg_no_socket_check_tcp_drops_the_fds) {
    return sendmsg_with(c->kind_fd[K_TCP], &iov_x, 1, c->p, 1, NULL, 0, FDCRED_NO_SOCKET_CHECK) == 1 ? 0 : -1;
}

static long recvmsg_fields(int sock, struct iovec *iov, size_t iovlen, int *fds, size_t nfds, struct sockaddr *addr,
                           socklen_t addrlen, unsigned flags) {
    struct fdcred_msg m = msg_of(iov, iovlen, fds, nfds, addr, addrlen);
    return recvmsg_with(sock, &m, flags);
}
static char rbuf[8];
static struct iovec iov_r = {rbuf, sizeof rbuf};
static int rfds[2];
ROWFN(recvmsg_null_msg) { return fdcred_recvmsg(c->good, NULL, 0); }
ROWFN(sendmsg_reserved_nonzero) {
    struct fdcred_msg m = {0};
    m.iov = &iov_x;
    m.iovlen = 1;
    m.reserved[6] = 1;
    return fdcred_sendmsg(c->good, &m, 0);
}
ROWFN(recvmsg_reserved_nonzero) {
    struct fdcred_msg m = {0};
    m.iov = &iov_r;
    m.iovlen = 1;
    m.reserved[0] = 1;
    return recvmsg_with(c->good, &m, 0);
}
ROWFN(recvmsg_send_flag) { return recvmsg_fields(c->good, &iov_r, 1, rfds, 2, NULL, 0, FDCRED_SEND_CRED); }
ROWFN(recvmsg_all_flag_bits) { return recvmsg_fields(c->good, &iov_r, 1, rfds, 2, NULL, 0, UINT_MAX); }
ROWFN(recvmsg_null_iov_n1) { return recvmsg_fields(c->good, NULL, 1, rfds, 2, NULL, 0, 0); }
ROWFN(recvmsg_iovlen_size_max) { return recvmsg_fields(c->good, &iov_r, SIZE_MAX, rfds, 2, NULL, 0, 0); }
ROWFN(recvmsg_iov_entry_null_base) {
    struct iovec iov[2] = {{rbuf, 0}, {NULL, 5}};
    return recvmsg_fields(c->good, iov, 2, rfds, 2, NULL, 0, 0);
}
ROWFN(recvmsg_iov_lengths_add_past_ssize_max) {
    struct iovec iov[2] = {{rbuf, SSIZE_MAX}, {rbuf, SSIZE_MAX}};
    return recvmsg_fields(c->good, iov, 2, rfds, 2, NULL, 0, 0);
}
ROWFN(recvmsg_null_fds_n1) { return recvmsg_fields(c->good, &iov_r, 1, NULL, 1, NULL, 0, 0); }
ROWFN(recvmsg_null_fds_n0) { return recvmsg_fields(c->good, &iov_r, 1, NULL, 0, NULL, 0, 0); }
ROWFN(recvmsg_capacity_size_max) { return recvmsg_fields(c->good, &iov_r, 1, fds253, SIZE_MAX, NULL, 0, 0); }
ROWFN(recvmsg_null_addr_len5) { return recvmsg_fields(c->good, &iov_r, 1, rfds, 2, NULL, 5, 0); }
ROWFN(recvmsg_len0_stream_takes_only_fds) { return recvmsg_fields(c->good, NULL, 0, rfds, 2, NULL, 0, 0); }
ROWFN(recvmsg_len0_dgram) { return recvmsg_fields(c->gdgram, NULL, 0, rfds, 2, NULL, 0, 0); }
ROWFN(recvmsg_nonblock_nothing_queued) {
    char b;
    MUST(read(c->good, &b, 1));
    return recvmsg_fields(c->good, &iov_r, 1, rfds, 2, NULL, 0, FDCRED_NONBLOCK);
}

/* clang-format would take the leading #fn of this braced row for a directive */
/* clang-format off */
#define ROW(want, fn) {#fn, fn, want}
/* clang-format on */
static const struct arg_row arg_rows[] = {
    ROW(EINVAL, peer_cred_null_out),
    ROW(EINVAL, peer_cred_flags_null_out),
    ROW(EINVAL, peer_cred_flags_unknown_flag),
    ROW(EINVAL, peer_cred_flags_all_flag_bits),
    ROW(OK, peer_cred_flags_zero),
    ROW(ENOTCONN, peer_cred_flags_zero_refuses_a_listener),
    ROW(EINVAL, send_cred_null_buf_len1),
    ROW(EINVAL, send_cred_null_buf_len0_stream),
    ROW(OK, send_cred_null_buf_len0_dgram),
    ROW(EINVAL, send_cred_len_size_max),
    ROW(EINVAL, send_cred_len_ssize_max_plus_1),
    ROW(ALT(ESRCH, EPERM), send_cred_zero_filled_claims_pid_0),
    ROW(OK, send_cred_own_ids_with_known_0),
    ROW(EINVAL, send_cred_known_bit_20),
    ROW(EINVAL, send_cred_known_all_bits),
    ROW(EINVAL, send_cred_known_uid_and_bit_31),
    ROW(EINVAL, recv_cred_null_out),
    ROW(EINVAL, recv_cred_null_buf_len1),
    ROW(EINVAL, recv_cred_len_size_max),
    ROW(EINVAL, recv_cred_len0_stream),
    ROW(ENOMSG, recv_cred_no_opt_in),
    ROW(EINVAL, peer_groups_null_size5),
    ROW(EINVAL, peer_groups_size_max),
    ROW(OK, peer_groups_null_size0),
    ROW(EINVAL, peer_security_null_size5),
    ROW(ALT(EINVAL, ENOPROTOOPT), peer_security_size_max),
    ROW(OK, sendfd_to_itself),
    ROW(EINVAL, send_fds_null_buf_len1),
    ROW(EINVAL, send_fds_null_fds_n1),
    ROW(OK, send_fds_null_fds_n0),
    ROW(OK, send_fds_nothing_at_all),
    ROW(EINVAL, send_fds_254),
    ROW(OK, send_fds_253),
    ROW(EINVAL, send_fds_nfds_size_max),
    ROW(EINVAL, send_fds_len_size_max),
    ROW(EINVAL, send_fds_len_ssize_max_plus_1),
    ROW(EINVAL, send_fds_len0_stream),
    ROW(OK, send_fds_len0_dgram),
    ROW(EINVAL, recv_fds_null_nfds),
    ROW(EINVAL, recv_fds_null_buf_len1),
    ROW(EINVAL, recv_fds_null_fds_n2),
    ROW(OK, recv_fds_null_fds_n0),
    ROW(OK, recv_fds_capacity_size_max),
    ROW(EINVAL, recv_fds_len_size_max),
    ROW(EINVAL, recv_fds_len0_stream),
    ROW(EMSGSIZE, recv_fds_len0_dgram_cuts_a_1_byte_record),
    ROW(OK, recv_fds_len0_dgram_empty_record),
    ROW(EINVAL, sendto_null_path),
    ROW(EINVAL, sendto_empty_path),
    ROW(ENAMETOOLONG, sendto_long_path),
    ROW(ENOENT, sendto_nothing_bound),
    ROW(ECONNREFUSED, sendto_regular_file_path),
    ROW(EPROTOTYPE, sendto_listening_stream_path),
    ROW(EINVAL, sendto_null_buf_len1),
    ROW(EINVAL, sendto_null_fds_n1),
    ROW(EINVAL, sendto_254),
    ROW(EINVAL, sendto_nfds_size_max),
    ROW(EINVAL, sendto_len_size_max),
    ROW(OK, sendto_from_connected_dgram_goes_to_path),
    ROW(EINVAL, sendmsg_null_msg),
    ROW(EINVAL, sendmsg_unknown_flag),
    ROW(EINVAL, sendmsg_recv_flag),
    ROW(EINVAL, sendmsg_all_flag_bits),
    ROW(EINVAL, sendmsg_null_iov_n1),
    ROW(EINVAL, sendmsg_iovlen_size_max),
    ROW(EINVAL, sendmsg_iov_entry_null_base),
    ROW(OK, sendmsg_iov_entry_null_base_len0),
    ROW(EINVAL, sendmsg_iov_entry_len_size_max),
    ROW(EINVAL, sendmsg_iov_lengths_add_past_ssize_max),
    ROW(EINVAL, sendmsg_null_fds_n1),
    ROW(EINVAL, sendmsg_254),
    ROW(EINVAL, sendmsg_nfds_size_max),
    ROW(EBADF, sendmsg_negative_fd),
    ROW(EINVAL, sendmsg_null_addr_len5),
    ROW(EINVAL, sendmsg_fds_len0_stream),
    ROW(EINVAL, sendmsg_cred_len0_stream),
    ROW(EINVAL, sendmsg_cred_known_bit_20),
    ROW(EINVAL, sendmsg_cred_known_uid_and_bit_31),
    ROW(OK, sendmsg_known_bit_20_without_send_cred),
    ROW(EINVAL, sendmsg_no_socket_check_fds_len0_stream),
    ROW(OK, sendmsg_no_socket_check_tcp_drops_the_fds),
    ROW(EINVAL, recvmsg_null_msg),
    ROW(EINVAL, sendmsg_reserved_nonzero),
    ROW(EINVAL, recvmsg_reserved_nonzero),
    ROW(EINVAL, recvmsg_send_flag),
    ROW(EINVAL, recvmsg_all_flag_bits),
    ROW(EINVAL, recvmsg_null_iov_n1),
    ROW(EINVAL, recvmsg_iovlen_size_max),
    ROW(EINVAL, recvmsg_iov_entry_null_base),
    ROW(EINVAL, recvmsg_iov_lengths_add_past_ssize_max),
    ROW(EINVAL, recvmsg_null_fds_n1),
    ROW(OK, recvmsg_null_fds_n0),
    ROW(OK, recvmsg_capacity_size_max),
    ROW(EINVAL, recvmsg_null_addr_len5),
    ROW(OK, recvmsg_len0_stream_takes_only_fds),
    ROW(OK, recvmsg_len0_dgram),
    ROW(EAGAIN, recvmsg_nonblock_nothing_queued),
};

/* ---- the tests ---------------------------------------------------------- */

static void init_globals(void) {
    signal(SIGALRM, on_alarm);
    for (size_t i = 0; i < NTESTS(many); i++)
        many[i] = 0;
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = 0;
}

static void run_sock_table(const struct sock_row *rows, size_t n, const char *arg) {
    init_globals();
    int ran = 0;
    for (size_t r = 0; r < n; r++)
        for (int k = 0; k < NKINDS; k++) {
            char name[200];
            snprintf(name, sizeof name, "fdcred_%s with %s as the %s", rows[r].fn, kind_names[k], arg);
            run_row(name, rows[r].call, k, NULL, rows[r].want[k]);
            ran++;
        }
    printf("  %d rows\n", ran);
    CHECK(mismatches == 0, "%d of %d rows gave another outcome than documented", mismatches, ran);
}

static void test_every_function_with_every_kind_of_socket_argument(void) {
    run_sock_table(sock_rows, NTESTS(sock_rows), "socket");
}

static void test_every_sending_function_with_every_kind_of_fd_to_pass(void) {
    run_sock_table(pass_rows, NTESTS(pass_rows), "fd to pass");
}

static void test_pointer_and_count_arguments_null_zero_over_limit_size_max(void) {
    init_globals();
    for (size_t r = 0; r < NTESTS(arg_rows); r++) {
        char name[200];
        snprintf(name, sizeof name, "%s", arg_rows[r].what);
        run_row(name, NULL, 0, arg_rows[r].call, arg_rows[r].want);
    }
    printf("  %zu rows\n", NTESTS(arg_rows));
    CHECK(mismatches == 0, "%d of %zu rows gave another outcome than documented", mismatches, NTESTS(arg_rows));
}

static void test_version_never_fails_and_leaves_errno_alone(void) {
    errno = 1234;
    const char *v = fdcred_version();
    CHECK(v != NULL && errno == 1234, "fdcred_version: %p, errno %d", (const void *)v, errno);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", FDCRED_VERSION_MAJOR, FDCRED_VERSION_MINOR, FDCRED_VERSION_PATCH);
    CHECK(strcmp(v, want) == 0, "fdcred_version '%s', header says '%s'", v, want);
}

static const struct test tests[] = {
    TEST(test_every_function_with_every_kind_of_socket_argument),
    TEST(test_every_sending_function_with_every_kind_of_fd_to_pass),
    TEST(test_pointer_and_count_arguments_null_zero_over_limit_size_max),
    TEST(test_version_never_fails_and_leaves_errno_alone),
};

int main(int argc, char **argv) { return run_tests(tests, NTESTS(tests), argc, argv); }
