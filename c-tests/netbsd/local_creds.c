/*
 * NetBSD's classic LOCAL_CREDS exchange, written with plain sendmsg/recvmsg
 * as a program of the 1990s would be, against the library, on NetBSD 7.99
 * kernel code (a rumprun unikernel under qemu, one process: scripts/test-netbsd).
 *
 *   1. The classic sender (waits for the receiver's one-byte "go on", then
 *      writes a message with no control data; the kernel attaches the
 *      credentials) to the library's receiver: fdcred_cred_handshake_receiver
 *      then fdcred_recv_cred.
 *   2. The classic receiver (sets LOCAL_CREDS at level 0, sends "go on",
 *      reads SCM_CREDS and struct sockcred) against the library's sender:
 *      fdcred_cred_handshake_sender then fdcred_send_cred.
 *
 * The classic receiver reads struct sockcred at CMSG_DATA(cmsg). The
 * program this replaces read it right after struct cmsghdr (12 bytes in),
 * where CMSG_DATA is 16 on amd64, and printed the pid as the uid: that
 * mistake is checked for below, so it cannot come back unnoticed.
 *
 * Output: "ok NAME" / "FAIL NAME: ..." lines, then
 * "fdcred-netbsd: N passed, N failed" (read by scripts/test-netbsd).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdcred.h"

#include "check.h"

/* The classic sender: wait for "go on", then write. */
static void *classic_sender(void *arg) {
    int sock = *(int *)arg;
    char go;
    static int result;
    result = -1;
    if (read(sock, &go, 1) == 1 && go == FDCRED_CRED_HANDSHAKE_BYTE && write(sock, "hello", 5) == 5)
        result = 0;
    return &result;
}

/* What the classic receiver read. */
struct classic_result {
    int ok;
    ssize_t bytes;
    int level, type;
    size_t cmsg_len;
    struct sockcred at_cmsg_data; /* where the fields are */
    int at_offset_12[3];          /* where the old program looked */
};

/* The classic receiver: opt in with LOCAL_CREDS at level 0, send "go on",
 * read one message and its SCM_CREDS. */
static void classic_receiver(int sock, struct classic_result *r) {
    int on = 1;
    char go = FDCRED_CRED_HANDSHAKE_BYTE;
    memset(r, 0, sizeof *r);
    if (setsockopt(sock, 0, LOCAL_CREDS, &on, sizeof on) != 0 || write(sock, &go, 1) != 1)
        return;
    union {
        char bytes[CMSG_SPACE(SOCKCREDSIZE(NGROUPS_MAX))];
        struct cmsghdr align;
    } control;
    char buf[16];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
    r->bytes = recvmsg(sock, &msg, 0);
    struct cmsghdr *c = r->bytes > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (c == NULL)
        return;
    r->level = c->cmsg_level;
    r->type = c->cmsg_type;
    r->cmsg_len = c->cmsg_len;
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_CREDS || c->cmsg_len < CMSG_LEN(SOCKCREDSIZE(0)))
        return;
    memcpy(&r->at_cmsg_data, CMSG_DATA(c), SOCKCREDSIZE(0));
    memcpy(r->at_offset_12, (char *)c + sizeof(struct cmsghdr), sizeof r->at_offset_12);
    r->ok = 1;
}

static void classic_sender_to_the_library_receiver(int type, const char *kind) {
    char name[128];
    int sv[2];
    pthread_t t;
    if (make_pair(type, kind, sv) != 0)
        return;
    pthread_create(&t, NULL, classic_sender, &sv[0]);
    snprintf(name, sizeof name, "%s: classic sender -> fdcred_cred_handshake_receiver + fdcred_recv_cred", kind);
    int rc = fdcred_cred_handshake_receiver(sv[1]);
    struct fdcred_cred who;
    char buf[16];
    ssize_t n = rc == 0 ? fdcred_recv_cred(sv[1], &who, buf, sizeof buf) : -1;
    void *sent;
    pthread_join(t, &sent);
    CHECK(name,
          rc == 0 && n == 5 && memcmp(buf, "hello", 5) == 0 && *(int *)sent == 0 && who.pid == getpid() &&
              who.uid == geteuid() && who.gid == getegid() && who.ruid == getuid() && who.rgid == getgid(),
          "rc %d n %zd pid %d uid %d gid %d", rc, n, (int)who.pid, (int)who.uid, (int)who.gid);
    close(sv[0]);
    close(sv[1]);
}

struct library_sender {
    int sock;
    int rc;
    ssize_t sent;
};

static void *library_sender(void *arg) {
    struct library_sender *s = arg;
    s->rc = fdcred_cred_handshake_sender(s->sock);
    s->sent = s->rc == 0 ? fdcred_send_cred(s->sock, NULL, "hello", 5) : -1;
    return NULL;
}

static void library_sender_to_the_classic_receiver(int type, const char *kind) {
    char name[128];
    int sv[2];
    pthread_t t;
    if (make_pair(type, kind, sv) != 0)
        return;
    struct library_sender s = {.sock = sv[0]};
    pthread_create(&t, NULL, library_sender, &s);
    struct classic_result r;
    classic_receiver(sv[1], &r);
    pthread_join(t, NULL);
    snprintf(name, sizeof name, "%s: fdcred_cred_handshake_sender + fdcred_send_cred -> classic receiver", kind);
    CHECK(name, s.rc == 0 && s.sent == 5 && r.ok && r.bytes == 5, "rc %d sent %zd ok %d bytes %zd level %d type %d",
          s.rc, s.sent, r.ok, r.bytes, r.level, r.type);
    snprintf(name, sizeof name, "%s: struct sockcred at CMSG_DATA: pid, real and effective ids", kind);
    CHECK(name,
          r.ok && r.at_cmsg_data.sc_pid == getpid() && r.at_cmsg_data.sc_uid == getuid() &&
              r.at_cmsg_data.sc_euid == geteuid() && r.at_cmsg_data.sc_gid == getgid() &&
              r.at_cmsg_data.sc_egid == getegid() && r.at_cmsg_data.sc_ngroups >= 0 &&
              r.cmsg_len == CMSG_LEN(SOCKCREDSIZE(r.at_cmsg_data.sc_ngroups)),
          "pid %d uid %d euid %d ngroups %d cmsg_len %zu", (int)r.at_cmsg_data.sc_pid, (int)r.at_cmsg_data.sc_uid,
          (int)r.at_cmsg_data.sc_euid, r.at_cmsg_data.sc_ngroups, r.cmsg_len);
    /* The old program's offset: on amd64 CMSG_DATA is 16, not 12, and the
     * four bytes at 12 are padding, so it saw sc_pid in the uid's place. */
    snprintf(name, sizeof name, "%s: CMSG_DATA is %zu bytes in, not sizeof(struct cmsghdr) = %zu", kind,
             (size_t)CMSG_LEN(0), sizeof(struct cmsghdr));
    CHECK(name, CMSG_LEN(0) == 16 && sizeof(struct cmsghdr) == 12 && r.at_offset_12[1] == r.at_cmsg_data.sc_pid,
          "offset 12 holds %d %d %d", r.at_offset_12[0], r.at_offset_12[1], r.at_offset_12[2]);
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    printf("NetBSD LOCAL_CREDS, the classic way, against libfdcred %s on NetBSD 7.99 kernel code (rumprun)\n",
           fdcred_version());
    const struct {
        int type;
        const char *name;
    } kinds[] = {{SOCK_STREAM, "stream"}, {SOCK_DGRAM, "dgram"}, {SOCK_SEQPACKET, "seqpacket"}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        classic_sender_to_the_library_receiver(kinds[i].type, kinds[i].name);
        library_sender_to_the_classic_receiver(kinds[i].type, kinds[i].name);
    }
    return report();
}
