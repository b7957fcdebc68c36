/*
 * Credentials against plain peers: peers that drop to another identity
 * before connecting or sending, plain sendmsg/recvmsg with SCM_CREDENTIALS,
 * forgeries, and the "enabled too late" trap.
 */
#include <fdcred.h>
#include <grp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "harness.h"
#include "plain.h"

#define NOBODY 65534
#define OTHER_UID 1234
#define OTHER_GID 5678

static void need_root(void) {
    if (geteuid() != 0)
        SKIP("needs root to switch a peer to another uid (running as uid %d)", (int)geteuid());
}

/* In a forked peer: become uid/gid with the given supplementary groups. */
static void become(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups) {
    MUST(setgroups(ngroups, groups));
    MUST(setgid(gid));
    MUST(setuid(uid));
    CHECK(getuid() == uid && geteuid() == uid, "setuid(%u)", (unsigned)uid);
}

/* In a forked peer: become uid and gid 65534 with no other group. */
static void become_nobody(void) {
    gid_t g = NOBODY;
    become(NOBODY, NOBODY, &g, 1);
}

static void sock_path(struct sockaddr_un *addr, const char *tag) {
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    snprintf(addr->sun_path, sizeof addr->sun_path, "/tmp/fdcred-cred-%s-%d.sock", tag, (int)getpid());
    unlink(addr->sun_path);
}

static int listen_on(struct sockaddr_un *addr, int type, int allow_cred_first) {
    int s = MUST(socket(AF_UNIX, type, 0));
    MUST(bind(s, (struct sockaddr *)addr, sizeof *addr));
    MUST(chmod(addr->sun_path, 0777)); /* so an unprivileged peer may connect */
    if (allow_cred_first)
        MUST(fdcred_allow_recv_cred(s));
    MUST(listen(s, 8));
    return s;
}

static int connect_to(const struct sockaddr_un *addr, int type) {
    int s = MUST(socket(AF_UNIX, type, 0));
    MUST(connect(s, (const struct sockaddr *)addr, sizeof *addr));
    return s;
}

static int pidfd_pid(int pidfd) {
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int pid = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Pid: %d", &pid) == 1)
            break;
    fclose(f);
    return pid;
}

/* A peer drops to nobody with two supplementary groups, connects, and waits;
 * the server reads its pid, ids, groups and pidfd. */
static void test_peer_cred_groups_pidfd_of_unprivileged_peer(void) {
    need_root();
    const int types[] = {SOCK_STREAM, SOCK_SEQPACKET};
    for (size_t t = 0; t < 2; t++) {
        struct sockaddr_un addr;
        sock_path(&addr, "peer");
        int srv = listen_on(&addr, types[t], 0);
        int go[2];
        MUST(pipe(go));
        pid_t pid = MUST(fork());
        if (pid == 0) {
            gid_t groups[2] = {NOBODY, 100};
            become(NOBODY, NOBODY, groups, 2);
            int s = connect_to(&addr, types[t]);
            char c;
            CHECK(read(go[0], &c, 1) == 1, "waiting for the server");
            close(s);
            _exit(0);
        }
        int conn = MUST(accept(srv, NULL, NULL));
        struct fdcred_cred who;
        memset(&who, 0x5a, sizeof who);
        MUST(fdcred_peer_cred(conn, &who));
        CHECK(who.pid == pid && who.uid == NOBODY && who.gid == NOBODY, "peer_cred pid %d uid %u gid %u (want %d)",
              (int)who.pid, (unsigned)who.uid, (unsigned)who.gid, (int)pid);
        CHECK((who.known & (FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID)) ==
                  (FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID),
              "known bits 0x%x", who.known);
        CHECK(who.reserved[0] == 0 && who.reserved[9] == 0, "reserved words not zeroed");
        struct fdcred_cred fast;
        MUST(fdcred_peer_cred_flags(conn, &fast, FDCRED_NO_SOCKET_CHECK));
        CHECK(memcmp(&fast, &who, sizeof who) == 0, "peer_cred_flags(NO_SOCKET_CHECK) differs from peer_cred");
        struct ucred plain;
        socklen_t plen = sizeof plain;
        MUST(getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &plain, &plen));
        CHECK(plain.pid == fast.pid && plain.uid == fast.uid && plain.gid == fast.gid, "plain SO_PEERCRED differs");

        ssize_t ng = MUST(fdcred_peer_groups(conn, NULL, 0));
        CHECK(ng == 2, "peer has %zd groups, wanted 2", ng);
        gid_t g[8];
        MUST_FAIL(fdcred_peer_groups(conn, g, 1), ERANGE);
        CHECK(fdcred_peer_groups(conn, g, 8) == 2, "peer_groups count");
        CHECK((g[0] == NOBODY && g[1] == 100) || (g[0] == 100 && g[1] == NOBODY), "groups %u %u", (unsigned)g[0],
              (unsigned)g[1]);

        int pidfd = fdcred_peer_pidfd(conn);
        if (pidfd < 0 && errno == ENOPROTOOPT) {
            printf("note: SO_PEERPIDFD missing (kernel before 6.5): pidfd not checked\n");
        } else {
            CHECK(pidfd >= 0, "peer_pidfd");
            CHECK(is_cloexec(pidfd), "pidfd %d lacks close-on-exec", pidfd);
            CHECK(pidfd_pid(pidfd) == pid, "pidfd names pid %d, peer is %d", pidfd_pid(pidfd), (int)pid);
            CHECK(syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0, "pidfd_send_signal(0)");
            close(pidfd);
        }
        MUST(write(go[1], "g", 1));
        wait_peer(pid, "unprivileged connecting peer");
        close(conn);
        close(srv);
        close(go[0]);
        close(go[1]);
        unlink(addr.sun_path);
    }
}

static void test_peer_cred_on_socketpair_is_the_creator(void) {
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    struct fdcred_cred who;
    MUST(fdcred_peer_cred(sv[1], &who));
    CHECK(who.pid == getpid() && who.uid == geteuid() && who.gid == getegid(), "socketpair peer pid %d uid %u",
          (int)who.pid, (unsigned)who.uid);
    close(sv[0]);
    close(sv[1]);
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    MUST(fdcred_peer_cred(sv[0], &who));
    CHECK(who.pid == getpid(), "dgram socketpair peer pid %d", (int)who.pid);
    close(sv[0]);
    close(sv[1]);
}

static void test_peer_cred_refuses_sockets_without_a_peer(void) {
    struct fdcred_cred who, pristine;
    memset(&pristine, 0x77, sizeof pristine);
    who = pristine;
    int d = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    MUST_FAIL(fdcred_peer_cred(d, &who), ENOTCONN);
    MUST_FAIL(fdcred_peer_cred_flags(d, &who, FDCRED_NO_SOCKET_CHECK), ENOTCONN);
    CHECK(memcmp(&who, &pristine, sizeof who) == 0, "out written on failure");
    struct sockaddr_un addr;
    sock_path(&addr, "dg");
    int b = MUST(socket(AF_UNIX, SOCK_DGRAM, 0));
    MUST(bind(b, (struct sockaddr *)&addr, sizeof addr));
    MUST(connect(d, (struct sockaddr *)&addr, sizeof addr));
    MUST_FAIL(fdcred_peer_cred(d, &who), ENOTCONN);
    close(b);
    close(d);
    unlink(addr.sun_path);
    int l = listen_on(&addr, SOCK_STREAM, 0);
    MUST_FAIL(fdcred_peer_cred(l, &who), ENOTCONN);
    MUST_FAIL(fdcred_peer_cred_flags(l, &who, 0), ENOTCONN);
    /* The caller who vouches wrongly reads the listener, as SO_PEERCRED does:
     * this process. That is what the default check is for. */
    MUST(fdcred_peer_cred_flags(l, &who, FDCRED_NO_SOCKET_CHECK));
    CHECK(who.pid == getpid(), "listener read as pid %d", (int)who.pid);
    who = pristine;
    MUST_FAIL(fdcred_peer_groups(l, NULL, 0), ENOTCONN);
    errno = 0;
    int pf = fdcred_peer_pidfd(l);
    CHECK(pf == -1 && (errno == ENOTCONN || errno == ENOPROTOOPT), "peer_pidfd on a listener gave %d", pf);
    close(l);
    unlink(addr.sun_path);
    int tcp = MUST(socket(AF_INET, SOCK_STREAM, 0));
    MUST_FAIL(fdcred_peer_cred(tcp, &who), EOPNOTSUPP);
    MUST_FAIL(fdcred_peer_cred_flags(tcp, &who, FDCRED_NO_SOCKET_CHECK), EOPNOTSUPP);
    MUST_FAIL(fdcred_allow_recv_cred(tcp), EOPNOTSUPP);
    close(tcp);
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    MUST_FAIL(fdcred_peer_cred(sv[0], NULL), EINVAL);
    MUST_FAIL(fdcred_peer_cred(-1, &who), EBADF);
    int p[2];
    MUST(pipe(p));
    MUST_FAIL(fdcred_peer_cred(p[0], &who), ENOTSOCK);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

/* One byte and the SCM_CREDENTIALS beside it, with a plain recvmsg(flags).
 * Returns the byte, or -1 when the receive fails or carries no credentials. */
static int plain_recv_cred_flags(int sock, struct ucred *out, int flags) {
    unsigned char c;
    union {
        char bytes[CMSG_SPACE(sizeof(struct ucred)) + 64];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {&c, 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.bytes, .msg_controllen = sizeof ctl.bytes};
    if (recvmsg(sock, &m, flags) < 0)
        return -1;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_CREDENTIALS) {
            memcpy(out, CMSG_DATA(h), sizeof *out);
            return c;
        }
    return -1;
}

static int plain_recv_cred(int sock, struct ucred *out) { return plain_recv_cred_flags(sock, out, 0) < 0 ? -1 : 0; }

/* Plain SCM_CREDENTIALS in, library out; library in, plain out. */
static void test_scm_credentials_interop_both_ways(void) {
    need_root();
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(fdcred_allow_recv_cred(sv[1]));
    int one = 1;
    MUST(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    pid_t pid = MUST(fork());
    if (pid == 0) {
        become_nobody();
        int err = plain_send_ucred(sv[0], getpid(), NOBODY, NOBODY);
        CHECK(err == 0, "plain SCM_CREDENTIALS send of own ids");
        CHECK(fdcred_send_cred(sv[0], NULL, "n", 1) == 1, "send_cred with own ids");
        _exit(0);
    }
    struct fdcred_cred who;
    char buf[4];
    /* one byte at a time: the stream may join the two sends (same ids) */
    CHECK(fdcred_recv_cred(sv[1], &who, buf, 1) == 1, "recv_cred of a plain sender");
    CHECK(who.pid == pid && who.uid == NOBODY && who.gid == NOBODY && (who.known & FDCRED_CRED_PID),
          "plain sender seen as pid %d uid %u gid %u", (int)who.pid, (unsigned)who.uid, (unsigned)who.gid);
    CHECK(fdcred_recv_cred(sv[1], &who, buf, 1) == 1 && who.uid == NOBODY && who.pid == pid,
          "library sender seen as uid %u", (unsigned)who.uid);
    wait_peer(pid, "unprivileged sender");

    /* root claims another identity with the library; a plain receiver sees it */
    struct fdcred_cred claim = {0};
    claim.known = FDCRED_CRED_UID | FDCRED_CRED_GID;
    claim.uid = OTHER_UID;
    claim.gid = OTHER_GID;
    CHECK(fdcred_send_cred(sv[1], &claim, "r", 1) == 1, "root claiming uid %d", OTHER_UID);
    struct ucred uc;
    MUST(plain_recv_cred(sv[0], &uc));
    CHECK(uc.uid == OTHER_UID && uc.gid == OTHER_GID && uc.pid == getpid(), "plain receiver saw uid %u gid %u pid %d",
          (unsigned)uc.uid, (unsigned)uc.gid, (int)uc.pid);
    int v = 0;
    socklen_t vl = sizeof v;
    MUST(getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &vl));
    CHECK(v == 1, "SO_PASSCRED turned off behind the caller's back");
    close(sv[0]);
    close(sv[1]);
}

/* An unprivileged sender cannot claim root, another gid or another pid. */
static void test_forged_credentials_are_refused_and_never_seen(void) {
    need_root();
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    MUST(fdcred_allow_recv_cred(sv[1]));
    pid_t pid = MUST(fork());
    if (pid == 0) {
        become_nobody();
        struct fdcred_cred forged = {0};
        forged.known = FDCRED_CRED_UID;
        forged.uid = 0;
        MUST_FAIL(fdcred_send_cred(sv[0], &forged, "f", 1), EPERM);
        forged.known = FDCRED_CRED_GID;
        forged.gid = 0;
        MUST_FAIL(fdcred_send_cred(sv[0], &forged, "f", 1), EPERM);
        forged.known = FDCRED_CRED_PID;
        forged.pid = 1;
        MUST_FAIL(fdcred_send_cred(sv[0], &forged, "f", 1), EPERM);
        struct fdcred_msg m = {0};
        struct iovec iov = {"f", 1};
        m.iov = &iov;
        m.iovlen = 1;
        forged.known = FDCRED_CRED_UID;
        forged.uid = 0;
        m.cred = &forged;
        MUST_FAIL(fdcred_sendmsg(sv[0], &m, FDCRED_SEND_CRED), EPERM);
        int err = plain_send_ucred(sv[0], getpid(), 0, 0);
        CHECK(err == EPERM, "plain forged send gave errno %d", err);
        CHECK(fdcred_send_cred(sv[0], NULL, "h", 1) == 1, "honest send");
        _exit(0);
    }
    wait_peer(pid, "forging sender");
    struct fdcred_cred who;
    char c;
    CHECK(fdcred_recv_cred(sv[1], &who, &c, 1) == 1 && c == 'h', "only the honest message arrives ('%c')", c);
    CHECK(who.uid == NOBODY && who.gid == NOBODY && who.pid == pid, "honest sender seen as uid %u", (unsigned)who.uid);
    close(sv[0]);
    close(sv[1]);
}

/* Messages queued before the opt-in carry made-up ids: never an identity. */
static void test_credentials_enabled_too_late_are_not_an_identity(void) {
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    MUST(send(sv[0], "a", 1, 0));
    MUST(send(sv[0], "b", 1, 0));
    MUST(fdcred_allow_recv_cred(sv[1]));
    struct fdcred_cred who, pristine;
    memset(&pristine, 0x33, sizeof pristine);
    who = pristine;
    char c;
    MUST_FAIL(fdcred_recv_cred(sv[1], &who, &c, 1), ENOMSG);
    CHECK(memcmp(&who, &pristine, sizeof who) == 0, "out written on failure");
    struct iovec iov = {&c, 1};
    struct fdcred_msg m = {0};
    m.iov = &iov;
    m.iovlen = 1;
    m.cred = &who;
    CHECK(fdcred_recvmsg(sv[1], &m, 0) == 1, "general receive of an early message");
    CHECK(!(m.result & FDCRED_MSG_CRED) && who.known == 0 && who.uid == (uid_t)-1,
          "early message reported credentials: result 0x%x known 0x%x uid %u", m.result, who.known, (unsigned)who.uid);
    /* after the opt-in the same socket reports real ones */
    MUST(send(sv[0], "c", 1, 0));
    CHECK(fdcred_recv_cred(sv[1], &who, &c, 1) == 1 && who.pid == getpid() && who.uid == getuid(),
          "message after the opt-in");
    close(sv[0]);
    close(sv[1]);
}

/* The race-free order: opt in on the listener, accepted sockets inherit. */
static void test_allow_on_listener_covers_accepted_connections(void) {
    struct sockaddr_un addr;
    sock_path(&addr, "lst");
    int srv = listen_on(&addr, SOCK_STREAM, 1);
    pid_t pid = MUST(fork());
    if (pid == 0) {
        int s = connect_to(&addr, SOCK_STREAM);
        MUST(write(s, "now", 3)); /* sends at once, before the server accepts */
        close(s);
        _exit(0);
    }
    wait_peer(pid, "eager client");
    int conn = MUST(accept(srv, NULL, NULL));
    struct fdcred_cred who;
    char buf[8];
    CHECK(fdcred_recv_cred(conn, &who, buf, sizeof buf) == 3, "first message of an accepted connection");
    CHECK(who.pid == pid && who.uid == getuid(), "client seen as pid %d uid %u", (int)who.pid, (unsigned)who.uid);
    MUST_FAIL(fdcred_recv_cred(conn, &who, buf, sizeof buf), ECONNRESET);
    close(conn);
    close(srv);
    unlink(addr.sun_path);
}

static void test_recv_cred_without_credentials_or_with_fds_fails_cleanly(void) {
    int sv[2], p[2];
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    MUST(pipe(p));
    struct fdcred_cred who;
    char c;
    MUST(send(sv[0], "x", 1, 0)); /* no opt-in: no credentials */
    MUST_FAIL(fdcred_recv_cred(sv[1], &who, &c, 1), ENOMSG);
    MUST(fdcred_allow_recv_cred(sv[1]));
    int before = count_open_fds();
    MUST(plain_send(sv[0], "y", 1, p, 2, 1));
    MUST_FAIL(fdcred_recv_cred(sv[1], &who, &c, 1), EMSGSIZE);
    CHECK(count_open_fds() == before, "fds with a credentials message left open");
    MUST_FAIL(fdcred_recv_cred(sv[1], NULL, &c, 1), EINVAL);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    MUST_FAIL(fdcred_recv_cred(sv[1], &who, &c, 1), ECONNRESET);
    close(sv[1]);
}

/* Fds and credentials in one message, both ways with plain peers. */
static void test_fds_and_credentials_in_one_message(void) {
    int sv[2], p[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(pipe(p));
    MUST(fdcred_allow_recv_cred(sv[1]));
    struct iovec iov = {"m", 1};
    struct fdcred_msg m = {0};
    m.iov = &iov;
    m.iovlen = 1;
    m.fds = p;
    m.nfds = 2;
    CHECK(fdcred_sendmsg(sv[0], &m, FDCRED_SEND_CRED) == 1, "sendmsg with fds and credentials");
    char c;
    int fds[4];
    struct fdcred_cred who;
    struct iovec riov = {&c, 1};
    struct fdcred_msg r = {0};
    r.iov = &riov;
    r.iovlen = 1;
    r.fds = fds;
    r.nfds = 4;
    r.cred = &who;
    CHECK(fdcred_recvmsg(sv[1], &r, 0) == 1, "recvmsg of fds and credentials");
    CHECK(r.nfds == 2 && same_file(fds[0], p[0]) && same_file(fds[1], p[1]), "fds with credentials: %zu", r.nfds);
    CHECK((r.result & FDCRED_MSG_CRED) && who.pid == getpid() && who.uid == getuid(), "credentials with fds");
    close(fds[0]);
    close(fds[1]);

    /* a plain sender with both cmsgs in one control buffer */
    union {
        char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec piov = {"p", 1};
    struct msghdr pm = {
        .msg_iov = &piov, .msg_iovlen = 1, .msg_control = ctl.bytes, .msg_controllen = sizeof ctl.bytes};
    struct cmsghdr *h = CMSG_FIRSTHDR(&pm);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_CREDENTIALS;
    h->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred uc = {getpid(), getuid(), getgid()};
    memcpy(CMSG_DATA(h), &uc, sizeof uc);
    h = CMSG_NXTHDR(&pm, h);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &p[0], sizeof(int));
    MUST(sendmsg(sv[0], &pm, 0));
    r.nfds = 4;
    CHECK(fdcred_recvmsg(sv[1], &r, 0) == 1 && r.nfds == 1 && (r.result & FDCRED_MSG_CRED), "plain fds+cred");
    CHECK(same_file(fds[0], p[0]) && who.pid == getpid(), "plain fds+cred contents");
    close(fds[0]);
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

static void test_scm_pidfd_kept_only_when_asked(void) {
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    if (fdcred_allow_recv_pidfd(sv[1]) < 0 && errno == ENOPROTOOPT)
        SKIP("SO_PASSPIDFD needs Linux 6.5 (this kernel lacks it)");
    pid_t pid = MUST(fork());
    if (pid == 0) {
        MUST(send(sv[0], "1", 1, 0));
        MUST(send(sv[0], "2", 1, 0));
        MUST(send(sv[0], "3", 1, 0));
        char c;
        CHECK(read(sv[0], &c, 1) == 1, "waiting to be released"); /* stay alive */
        _exit(0);
    }
    char c;
    struct iovec iov = {&c, 1};
    struct fdcred_msg m = {0};
    m.iov = &iov;
    m.iovlen = 1;
    CHECK(fdcred_recvmsg(sv[1], &m, FDCRED_KEEP_PIDFD) == 1, "recvmsg with KEEP_PIDFD");
    CHECK((m.result & FDCRED_MSG_PIDFD) && m.pidfd >= 0, "no pidfd: result 0x%x", m.result);
    CHECK(pidfd_pid(m.pidfd) == pid && is_cloexec(m.pidfd), "pidfd %d names pid %d, want %d", m.pidfd,
          pidfd_pid(m.pidfd), (int)pid);
    close(m.pidfd);
    int before = count_open_fds();
    CHECK(fdcred_recvmsg(sv[1], &m, 0) == 1 && m.pidfd == -1 && !(m.result & FDCRED_MSG_PIDFD),
          "pidfd handed out without asking");
    /* SO_PASSPIDFD makes the kernel record the sender at send time, so even a
     * message queued before SO_PASSCRED carries its real identity. */
    struct fdcred_cred who;
    MUST(fdcred_allow_recv_cred(sv[1]));
    CHECK(fdcred_recv_cred(sv[1], &who, &c, 1) == 1, "credentials recorded under SO_PASSPIDFD");
    CHECK((who.known & FDCRED_CRED_PID) && who.pid == pid && who.uid == getuid(), "sender seen as pid %d uid %u",
          (int)who.pid, (unsigned)who.uid);
    CHECK(count_open_fds() == before, "unrequested pidfds left open");
    MUST(write(sv[1], "x", 1));
    wait_peer(pid, "pidfd sender");
    close(sv[0]);
    close(sv[1]);
}

static void test_peer_security_label_or_documented_absence(void) {
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    char label[256];
    ssize_t n = fdcred_peer_security(sv[0], label, sizeof label);
    if (n < 0 && errno == ENOPROTOOPT) {
        close(sv[0]);
        close(sv[1]);
        SKIP("no LSM labels sockets on this kernel (SO_PEERSEC gives ENOPROTOOPT)");
    }
    CHECK(n >= 0 && label[n] == 0 && strlen(label) == (size_t)n, "label of %zd bytes", n);
    MUST_FAIL(fdcred_peer_security(sv[0], NULL, 5), EINVAL);
    close(sv[0]);
    close(sv[1]);
}

static void test_refuse_fds_makes_the_kernel_reject_them(void) {
    int sv[2], p[2];
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    if (fdcred_refuse_fds(sv[1]) < 0 && errno == ENOPROTOOPT) {
        close(sv[0]);
        close(sv[1]);
        SKIP("SO_PASSRIGHTS needs Linux 6.16 (this kernel lacks it)");
    }
    MUST(pipe(p));
    errno = 0;
    ssize_t r = plain_send(sv[0], "x", 1, p, 1, 1);
    CHECK(r < 0, "a plain send of fds to a refusing socket succeeded");
    int fd;
    size_t n = 1;
    char c;
    MUST(send(sv[0], "y", 1, 0));
    CHECK(fdcred_recv_fds(sv[1], &c, 1, &fd, &n) == 1 && n == 0 && c == 'y', "what arrived after the refusal");
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

/* The "update server": privileged, SOCK_SEQPACKET, serves one uid only. */
static void test_seqpacket_server_accepts_one_uid_refuses_another(void) {
    need_root();
    struct sockaddr_un addr;
    sock_path(&addr, "upd");
    int srv = listen_on(&addr, SOCK_SEQPACKET, 0);
    const uid_t uids[2] = {NOBODY, OTHER_UID};
    for (int i = 0; i < 2; i++) {
        pid_t pid = MUST(fork());
        if (pid == 0) {
            gid_t g = NOBODY;
            become(uids[i], NOBODY, &g, 1);
            int s = connect_to(&addr, SOCK_SEQPACKET);
            MUST(write(s, "update", 6));
            char reply[32] = {0};
            CHECK(read(s, reply, sizeof reply - 1) > 0, "reading the verdict");
            CHECK(strcmp(reply, uids[i] == NOBODY ? "accepted" : "refused") == 0, "uid %u got '%s'", (unsigned)uids[i],
                  reply);
            close(s);
            _exit(0);
        }
        int conn = MUST(accept(srv, NULL, NULL));
        struct fdcred_cred who;
        MUST(fdcred_peer_cred(conn, &who));
        char req[16];
        MUST(read(conn, req, sizeof req));
        const char *verdict = (who.known & FDCRED_CRED_UID) && who.uid == NOBODY ? "accepted" : "refused";
        MUST(write(conn, verdict, strlen(verdict)));
        close(conn);
        wait_peer(pid, "update client");
    }
    close(srv);
    unlink(addr.sun_path);
}

/* ---- identity claims mean exactly what the caller wrote ----------------- */

enum claim_call { BY_SEND_CRED, BY_SENDMSG };
static const char *const claim_call_names[] = {"fdcred_send_cred", "fdcred_sendmsg(FDCRED_SEND_CRED)"};

/* Send one byte `c` claiming *cred with one of the two calls that take a claim. */
static long send_claim(enum claim_call how, int sock, const struct fdcred_cred *cred, char c) {
    static char byte;
    byte = c;
    if (how == BY_SEND_CRED)
        return fdcred_send_cred(sock, cred, &byte, 1);
    struct iovec iov = {&byte, 1};
    struct fdcred_msg m = {0};
    m.iov = &iov;
    m.iovlen = 1;
    m.cred = (struct fdcred_cred *)cred;
    return fdcred_sendmsg(sock, &m, FDCRED_SEND_CRED);
}

/* A datagram pair whose receiving end sv[1] has plain SO_PASSCRED on. */
static void passcred_dgram_pair(int sv[2]) {
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    int one = 1;
    MUST(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
}

/* Nothing more is queued on `sock`: every refused claim stayed unsent. */
static void expect_nothing_queued(int sock, const char *what) {
    char extra;
    CHECK(recv(sock, &extra, 1, MSG_DONTWAIT) == -1 && errno == EAGAIN, "%s was delivered", what);
}

/* A plain receiver: one byte and the SCM_CREDENTIALS beside it; the test
 * fails if either is missing. Non-blocking: the message must be queued. */
static char plain_recv_claim(int sock, struct ucred *out, const char *step) {
    int c = plain_recv_cred_flags(sock, out, MSG_DONTWAIT);
    CHECK(c >= 0, "%s: no message with SCM_CREDENTIALS queued", step);
    return (char)c;
}

/* The case: `struct fdcred_cred c = {0}; c.pid = getpid();` leaves
 * uid and gid 0 and `known` 0. From uid 65534 that claims root: EPERM from
 * the kernel, through both calls, and the plain receiver gets nothing but
 * the honest message sent after. */
static void test_zero_filled_claim_from_nobody_is_refused_not_replaced(void) {
    need_root();
    int sv[2];
    passcred_dgram_pair(sv);
    pid_t pid = MUST(fork());
    if (pid == 0) {
        become_nobody();
        for (int how = 0; how < 2; how++) {
            struct fdcred_cred c = {0};
            c.pid = getpid();
            MUST_FAIL(send_claim(how, sv[0], &c, 'f'), EPERM);
            struct fdcred_cred all_zero = {0}; /* pid 0 too */
            MUST_FAIL(send_claim(how, sv[0], &all_zero, 'z'), EPERM);
            c.uid = NOBODY; /* gid still 0: a claim of gid 0 */
            MUST_FAIL(send_claim(how, sv[0], &c, 'g'), EPERM);
        }
        CHECK(fdcred_send_cred(sv[0], NULL, "h", 1) == 1, "honest send");
        _exit(0);
    }
    wait_peer(pid, "nobody claiming root by a zero fill");
    struct ucred uc;
    char c = plain_recv_claim(sv[1], &uc, "the honest message");
    CHECK(c == 'h', "the first message queued is '%c', wanted only the honest 'h'", c);
    CHECK(uc.pid == pid && uc.uid == NOBODY && uc.gid == NOBODY, "honest sender seen as pid %d uid %u gid %u",
          (int)uc.pid, (unsigned)uc.uid, (unsigned)uc.gid);
    expect_nothing_queued(sv[1], "a refused claim");
    close_all(sv, 2);
}

/* Root writes uid and gid 65534: with `known` 0 (all three fields as
 * written) and with the uid and gid bits (pid its own), through both calls.
 * A plain receiver sees 65534 every time, never root. A zero-filled claim
 * from root claims pid 0, which names no process: ESRCH, nothing sent. */
static void test_root_claiming_nobody_is_seen_as_nobody_both_ways(void) {
    need_root();
    int sv[2];
    passcred_dgram_pair(sv);
    for (int how = 0; how < 2; how++)
        for (int marked = 0; marked < 2; marked++) {
            char step[128];
            snprintf(step, sizeof step, "%s with known %s", claim_call_names[how],
                     marked ? "UID|GID" : "0 (pid, uid, gid as written)");
            struct fdcred_cred c = {0};
            c.pid = getpid();
            c.uid = NOBODY;
            c.gid = NOBODY;
            c.known = marked ? FDCRED_CRED_UID | FDCRED_CRED_GID : 0;
            if (marked)
                c.pid = 0; /* unmarked: the caller's own, whatever is written */
            CHECK(send_claim(how, sv[0], &c, 'r') == 1, "%s", step);
            struct ucred uc;
            CHECK(plain_recv_claim(sv[1], &uc, step) == 'r', "%s: data byte", step);
            CHECK(uc.uid == NOBODY && uc.gid == NOBODY && uc.pid == getpid(),
                  "%s: plain receiver saw pid %d uid %u gid %u", step, (int)uc.pid, (unsigned)uc.uid, (unsigned)uc.gid);
        }
    for (int how = 0; how < 2; how++) {
        struct fdcred_cred zero = {0};
        MUST_FAIL(send_claim(how, sv[0], &zero, 'z'), ESRCH);
    }
    expect_nothing_queued(sv[1], "a refused claim");
    close_all(sv, 2);
}

/* With bits in `known`, the unmarked fields are the caller's own, whatever
 * they hold: root marks one field at a time; nobody marks its own uid and
 * leaves gid 0 unmarked (not a claim of gid 0: it succeeds). */
static void test_partial_claims_fill_unmarked_fields_with_the_callers_own(void) {
    need_root();
    int sv[2];
    passcred_dgram_pair(sv);
    const struct {
        unsigned known;
        uid_t uid;
        gid_t gid;
        uid_t want_uid;
        gid_t want_gid;
    } rows[] = {
        {FDCRED_CRED_UID, NOBODY, 0, NOBODY, getgid()},
        {FDCRED_CRED_GID, 0, NOBODY, getuid(), NOBODY},
        {FDCRED_CRED_PID, NOBODY, NOBODY, getuid(), getgid()},
        {FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID, OTHER_UID, OTHER_GID, OTHER_UID, OTHER_GID},
    };
    for (int how = 0; how < 2; how++)
        for (size_t i = 0; i < NTESTS(rows); i++) {
            char step[128];
            snprintf(step, sizeof step, "%s, known 0x%x", claim_call_names[how], rows[i].known);
            struct fdcred_cred c = {0};
            c.known = rows[i].known;
            c.pid = getpid();
            c.uid = rows[i].uid;
            c.gid = rows[i].gid;
            CHECK(send_claim(how, sv[0], &c, 'p') == 1, "%s", step);
            struct ucred uc;
            CHECK(plain_recv_claim(sv[1], &uc, step) == 'p', "%s: data byte", step);
            CHECK(uc.pid == getpid() && uc.uid == rows[i].want_uid && uc.gid == rows[i].want_gid,
                  "%s: plain receiver saw pid %d uid %u gid %u, wanted uid %u gid %u", step, (int)uc.pid,
                  (unsigned)uc.uid, (unsigned)uc.gid, (unsigned)rows[i].want_uid, (unsigned)rows[i].want_gid);
        }
    pid_t pid = MUST(fork());
    if (pid == 0) {
        become_nobody();
        for (int how = 0; how < 2; how++) {
            struct fdcred_cred c = {0};
            c.known = FDCRED_CRED_UID;
            c.uid = NOBODY;
            CHECK(send_claim(how, sv[0], &c, 'n') == 1, "nobody marking its own uid, gid 0 unmarked (%s)",
                  claim_call_names[how]);
        }
        _exit(0);
    }
    wait_peer(pid, "nobody with a partial claim");
    for (int how = 0; how < 2; how++) {
        struct ucred uc;
        CHECK(plain_recv_claim(sv[1], &uc, "nobody's partial claim") == 'n', "data byte");
        CHECK(uc.pid == pid && uc.uid == NOBODY && uc.gid == NOBODY,
              "nobody's partial claim seen as pid %d uid %u gid %u", (int)uc.pid, (unsigned)uc.uid, (unsigned)uc.gid);
    }
    close_all(sv, 2);
}

/* A claim with a `known` bit this version does not define is refused
 * (EINVAL) before anything is sent, by both calls; so is one with a defined
 * bit beside it. */
static void test_undefined_known_bits_in_a_claim_are_einval(void) {
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    const unsigned bad[] = {1u << 20, 1u << 5, 1u << 31, FDCRED_CRED_UID | (1u << 20)};
    for (int how = 0; how < 2; how++)
        for (size_t i = 0; i < NTESTS(bad); i++) {
            struct fdcred_cred c = {0};
            c.known = bad[i];
            c.pid = getpid();
            c.uid = getuid();
            c.gid = getgid();
            errno = 0;
            long r = send_claim(how, sv[0], &c, 'u');
            CHECK(r == -1 && errno == EINVAL, "%s with known 0x%x: %ld, wanted EINVAL", claim_call_names[how], bad[i],
                  r);
        }
    expect_nothing_queued(sv[1], "a refused claim");
    close_all(sv, 2);
}

/* fdcred_peer_cred on a socketpair end names whoever created the pair (the
 * kernel records it then), not the process that holds the other end now. */
static void test_peer_cred_on_socketpair_names_the_creator_not_the_holder(void) {
    need_root();
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    pid_t pid = MUST(fork());
    if (pid == 0) {
        close(sv[1]);
        become_nobody();
        MUST(write(sv[0], "x", 1));
        char c;
        CHECK(read(sv[0], &c, 1) == 0, "waiting for the parent to finish");
        _exit(0);
    }
    close(sv[0]);
    char c;
    MUST(read(sv[1], &c, 1)); /* the child has dropped to nobody */
    struct fdcred_cred who;
    MUST(fdcred_peer_cred(sv[1], &who));
    CHECK(who.pid == getpid() && who.uid == geteuid() && who.gid == getegid(),
          "peer of a socketpair held by nobody (pid %d) reported as pid %d uid %u gid %u, wanted the creator", (int)pid,
          (int)who.pid, (unsigned)who.uid, (unsigned)who.gid);
    close(sv[1]);
    wait_peer(pid, "holder of the other end");
}

static const struct test tests[] = {
    TEST(test_peer_cred_groups_pidfd_of_unprivileged_peer),
    TEST(test_peer_cred_on_socketpair_is_the_creator),
    TEST(test_peer_cred_refuses_sockets_without_a_peer),
    TEST(test_scm_credentials_interop_both_ways),
    TEST(test_forged_credentials_are_refused_and_never_seen),
    TEST(test_credentials_enabled_too_late_are_not_an_identity),
    TEST(test_allow_on_listener_covers_accepted_connections),
    TEST(test_recv_cred_without_credentials_or_with_fds_fails_cleanly),
    TEST(test_fds_and_credentials_in_one_message),
    TEST(test_scm_pidfd_kept_only_when_asked),
    TEST(test_peer_security_label_or_documented_absence),
    TEST(test_refuse_fds_makes_the_kernel_reject_them),
    TEST(test_seqpacket_server_accepts_one_uid_refuses_another),
    TEST(test_zero_filled_claim_from_nobody_is_refused_not_replaced),
    TEST(test_root_claiming_nobody_is_seen_as_nobody_both_ways),
    TEST(test_partial_claims_fill_unmarked_fields_with_the_callers_own),
    TEST(test_undefined_known_bits_in_a_claim_are_einval),
    TEST(test_peer_cred_on_socketpair_names_the_creator_not_the_holder),
};

int main(int argc, char **argv) { return run_tests(tests, NTESTS(tests), argc, argv); }
