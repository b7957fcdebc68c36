/*
 * The C ABI on NetBSD kernel code: libfdcred.a (the staticlib, built for
 * x86_64-unknown-netbsd) linked by the rumprun C compiler into this program,
 * which scripts/test-netbsd bakes into a unikernel image and boots under
 * qemu. What runs is NetBSD 7.99 (2016) in one process (pid 2, uid 0).
 *
 * fdcred_recvfd and fdcred_recv_cred are checked against a peer that uses
 * plain sendmsg/recvmsg with the CMSG_* macros (never the library), and
 * fdcred_sendfd against a plain recvmsg. Each check prints "ok NAME" or
 * "FAIL NAME: what, errno"; the last line is
 * "fdcred-netbsd: N passed, N failed", which scripts/test-netbsd reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdcred.h"

#include "check.h"

/* Open descriptors, counted with fcntl (the unikernel has no /proc). */
static int open_fds(void) {
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) != -1)
            n++;
    return n;
}

static int same_file(int a, int b) {
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The plain peer: one byte and `nfds` descriptors in one SCM_RIGHTS. */
static ssize_t plain_send_fds(int sock, const int *fds, int nfds) {
    union {
        char bytes[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {.iov_base = "F", .iov_len = 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > 0) {
        msg.msg_control = control.bytes;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

/* The plain peer receiving: one descriptor, or -1. */
static int plain_recv_fd(int sock) {
    union {
        char bytes[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static const struct {
    int type;
    const char *name;
} kinds[] = {{SOCK_STREAM, "stream"}, {SOCK_DGRAM, "dgram"}, {SOCK_SEQPACKET, "seqpacket"}};

static void recvfd_from_a_plain_sender(int type, const char *kind) {
    char name[96];
    int sv[2], p[2];
    if (socketpair(AF_UNIX, type, 0, sv) != 0 || pipe(p) != 0) {
        snprintf(name, sizeof name, "%s: setup", kind);
        CHECK(name, 0, "socketpair/pipe");
        return;
    }
    int before = open_fds();

    snprintf(name, sizeof name, "%s: fdcred_recvfd takes the fd a plain sendmsg sent, close-on-exec", kind);
    CHECK(name, plain_send_fds(sv[0], &p[1], 1) == 1, "plain sendmsg");
    int got = fdcred_recvfd(sv[1]);
    CHECK(name, got >= 0 && same_file(got, p[1]) && (fcntl(got, F_GETFD) & FD_CLOEXEC), "fd %d", got);
    if (got >= 0)
        close(got);

    snprintf(name, sizeof name, "%s: fdcred_recvfd refuses two fds with EMSGSIZE and closes both", kind);
    int two[2] = {p[0], p[1]};
    plain_send_fds(sv[0], two, 2);
    errno = 0;
    got = fdcred_recvfd(sv[1]);
    CHECK(name, got == -1 && errno == EMSGSIZE && open_fds() == before, "got %d, %d fds open, %d before", got,
          open_fds(), before);

    snprintf(name, sizeof name, "%s: fdcred_recvfd of a message without fds is ENOMSG", kind);
    plain_send_fds(sv[0], NULL, 0);
    errno = 0;
    got = fdcred_recvfd(sv[1]);
    CHECK(name, got == -1 && errno == ENOMSG, "got %d", got);

    /* At RLIMIT_NOFILE NetBSD closes the fd and fails the receive with
     * EMSGSIZE; the library reports descriptors lost that way as EBADMSG. */
    snprintf(name, sizeof name, "%s: fdcred_recvfd at the fd limit is EBADMSG and leaves nothing open", kind);
    struct rlimit saved, full;
    getrlimit(RLIMIT_NOFILE, &saved);
    full = saved;
    full.rlim_cur = (rlim_t)(sv[1] > p[1] ? sv[1] : p[1]) + 1; /* no free slot below it */
    plain_send_fds(sv[0], &p[1], 1);
    int at_limit_open = open_fds();
    setrlimit(RLIMIT_NOFILE, &full);
    errno = 0;
    got = fdcred_recvfd(sv[1]);
    int at_limit_errno = errno;
    setrlimit(RLIMIT_NOFILE, &saved);
    errno = at_limit_errno;
    CHECK(name, got == -1 && errno == EBADMSG && open_fds() == at_limit_open, "got %d, %d fds open, %d before", got,
          open_fds(), at_limit_open);
    if (got >= 0)
        close(got);
    if (type == SOCK_STREAM) /* the data byte stays queued there */
        fdcred_recvfd(sv[1]);

    snprintf(name, sizeof name, "%s: fdcred_sendfd reaches a plain recvmsg", kind);
    CHECK(name, fdcred_sendfd(sv[1], p[0]) == 0, "fdcred_sendfd");
    got = plain_recv_fd(sv[0]);
    CHECK(name, got >= 0 && same_file(got, p[0]), "plain recvmsg got %d", got);
    if (got >= 0)
        close(got);
    CHECK(name, open_fds() == before, "%d fds open, %d before", open_fds(), before);
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

static void recv_cred_from_a_plain_sender(int type, const char *kind) {
    char name[96];
    int sv[2];
    if (make_pair(type, kind, sv) != 0)
        return;
    snprintf(name, sizeof name, "%s: fdcred_recv_cred after fdcred_allow_recv_cred, plain write", kind);
    CHECK(name, fdcred_allow_recv_cred(sv[1]) == 0, "fdcred_allow_recv_cred");
    CHECK(name, plain_send_fds(sv[0], NULL, 0) == 1, "plain sendmsg");
    struct fdcred_cred who;
    memset(&who, 0xa5, sizeof who);
    char buf[4];
    ssize_t n = fdcred_recv_cred(sv[1], &who, buf, sizeof buf);
    unsigned all = FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID | FDCRED_CRED_RUID | FDCRED_CRED_RGID;
    CHECK(name,
          n == 1 && buf[0] == 'F' && who.known == all && who.pid == getpid() && who.uid == geteuid() &&
              who.gid == getegid() && who.ruid == getuid() && who.rgid == getgid(),
          "n %zd known %#x pid %d uid %d gid %d ruid %d rgid %d", n, who.known, (int)who.pid, (int)who.uid,
          (int)who.gid, (int)who.ruid, (int)who.rgid);

    /* A stream or seqpacket connection got its one message with
     * credentials; a datagram socket gets them on every datagram. */
    snprintf(name, sizeof name, "%s: a second plain write %s", kind,
             type == SOCK_DGRAM ? "carries credentials again" : "has none: ENOMSG");
    plain_send_fds(sv[0], NULL, 0);
    errno = 0;
    n = fdcred_recv_cred(sv[1], &who, buf, sizeof buf);
    if (type == SOCK_DGRAM)
        CHECK(name, n == 1 && who.uid == geteuid(), "n %zd", n);
    else
        CHECK(name, n == -1 && errno == ENOMSG, "n %zd", n);

    snprintf(name, sizeof name, "%s: fdcred_peer_cred is LOCAL_PEEREID: pid, euid, egid", kind);
    struct fdcred_cred peer;
    int rc = fdcred_peer_cred(sv[1], &peer);
    if (type == SOCK_DGRAM)
        /* A datagram socketpair has no connection record to read. */
        CHECK(name, (rc == 0 && peer.uid == geteuid()) || (rc == -1 && errno == ENOTCONN), "rc %d", rc);
    else
        CHECK(name, rc == 0 && peer.pid == getpid() && peer.uid == geteuid() && peer.gid == getegid(),
              "rc %d pid %d uid %d gid %d", rc, (int)peer.pid, (int)peer.uid, (int)peer.gid);
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    printf("fdcred C ABI on NetBSD %s kernel code (rumprun unikernel), library %s\n", "7.99", fdcred_version());
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        recvfd_from_a_plain_sender(kinds[i].type, kinds[i].name);
        recv_cred_from_a_plain_sender(kinds[i].type, kinds[i].name);
    }
    return report();
}
