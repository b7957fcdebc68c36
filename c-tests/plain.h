/*
 * Plain sendmsg/recvmsg peers: the way a program that does not use the
 * library passes descriptors. The tests pit the library against these, never
 * against itself.
 */
#ifndef FDCRED_TEST_PLAIN_H
#define FDCRED_TEST_PLAIN_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* musl's sendmsg() copies the control data into a 1024-byte stack buffer
 * (musl 1.2.3) and fails with ENOMEM past it: at most 252 fds, where the
 * kernel takes 253. A plain peer on musl calls the kernel directly, as the
 * library does; every msghdr and cmsghdr here is zeroed first, padding
 * included, which is all musl's wrapper adds. */
#if defined(__linux__) && !defined(__GLIBC__)
#include <sys/syscall.h>
#include <unistd.h>
static inline ssize_t plain_sendmsg(int sock, const struct msghdr *msg, int flags) {
    return syscall(SYS_sendmsg, sock, msg, flags);
}
#else
#define plain_sendmsg sendmsg
#endif

/* Send `len` bytes with `nfds` fds in `ncmsgs` SCM_RIGHTS messages (the fds
 * split evenly), with plain sendmsg. Returns sendmsg's result. */
static inline ssize_t plain_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds, int ncmsgs) {
    union {
        char bytes[CMSG_SPACE(sizeof(int) * 256) * 2];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > 0) {
        msg.msg_control = control.bytes;
        size_t total = 0;
        struct cmsghdr *c = (struct cmsghdr *)control.bytes;
        size_t per = nfds / (size_t)ncmsgs, done = 0;
        for (int i = 0; i < ncmsgs; i++) {
            size_t n = i == ncmsgs - 1 ? nfds - done : per;
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * n);
            memcpy(CMSG_DATA(c), fds + done, sizeof(int) * n);
            done += n;
            total += CMSG_SPACE(sizeof(int) * n);
            c = (struct cmsghdr *)((char *)c + CMSG_SPACE(sizeof(int) * n));
        }
        msg.msg_controllen = total;
    }
    return plain_sendmsg(sock, &msg, MSG_NOSIGNAL);
}

/* Receive into `buf` with a control buffer of exactly `control_len` bytes,
 * storing up to `cap` fds found in SCM_RIGHTS messages. Returns recvmsg's
 * result; *nfds gets the count, *msg_flags the flags. */
static inline ssize_t plain_recv(int sock, void *buf, size_t len, int *fds, size_t cap, size_t *nfds,
                                 size_t control_len, int *msg_flags) {
    union {
        char bytes[CMSG_SPACE(sizeof(int) * 256)];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = control_len};
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    *nfds = 0;
    if (n < 0)
        return n;
    if (msg_flags)
        *msg_flags = msg.msg_flags;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (*nfds < cap)
                fds[(*nfds)++] = fd;
            else
                close(fd);
        }
    }
    return n;
}

/* Send one byte 'c' with an SCM_CREDENTIALS claiming pid/uid/gid, with plain
 * sendmsg. Returns 0, or the errno (EPERM for ids the sender may not claim). */
static inline int plain_send_ucred(int sock, pid_t pid, uid_t uid, gid_t gid) {
    union {
        char bytes[CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = {"c", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.bytes, .msg_controllen = sizeof ctl.bytes};
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_CREDENTIALS;
    h->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred uc = {.pid = pid, .uid = uid, .gid = gid};
    memcpy(CMSG_DATA(h), &uc, sizeof uc);
    return plain_sendmsg(sock, &m, MSG_NOSIGNAL) == 1 ? 0 : errno;
}

#endif
