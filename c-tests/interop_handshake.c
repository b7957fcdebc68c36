/*
 * The credentials handshake pair against plain peers: the library's
 * receiver half against a sender that reads the "go on" byte with plain
 * read() and writes with plain write(), and the library's sender half
 * against a receiver that sets SO_PASSCRED and sends the byte with plain
 * send(). Also what each half reports for the wrong byte, end of file,
 * descriptors attached to the byte, and bad sockets.
 */
#include <fdcred.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "harness.h"
#include "plain.h"

#define NOBODY 65534

static void set_nonblocking(int fd, int on) {
    int flags = MUST(fcntl(fd, F_GETFL));
    MUST(fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK));
}

/* Plain sender: wait for the go-on byte with read(), then write `msg`. */
static void plain_sender_after_go_on(int s, const char *msg) {
    unsigned char go = 0;
    CHECK(read(s, &go, 1) == 1, "plain sender: reading the go-on byte");
    CHECK(go == FDCRED_CRED_HANDSHAKE_BYTE, "plain sender: go-on byte 0x%02x, wanted 0x%02x", go,
          FDCRED_CRED_HANDSHAKE_BYTE);
    CHECK(write(s, msg, strlen(msg)) == (ssize_t)strlen(msg), "plain sender: writing the message");
}

/* The receiver half on the accepted end of a connection from a peer that
 * dropped to nobody: its one message carries the peer's pid and ids. */
static void test_receiver_half_gets_credentials_of_unprivileged_plain_sender(void) {
    if (geteuid() != 0)
        SKIP("needs root to switch the peer to uid %d (running as uid %d)", NOBODY, (int)geteuid());
    const int types[] = {SOCK_STREAM, SOCK_SEQPACKET};
    for (size_t t = 0; t < 2; t++) {
        struct sockaddr_un addr;
        memset(&addr, 0, sizeof addr);
        addr.sun_family = AF_UNIX;
        snprintf(addr.sun_path, sizeof addr.sun_path, "/tmp/fdcred-handshake-%d-%zu.sock", (int)getpid(), t);
        unlink(addr.sun_path);
        int srv = MUST(socket(AF_UNIX, types[t], 0));
        MUST(bind(srv, (struct sockaddr *)&addr, sizeof addr));
        MUST(chmod(addr.sun_path, 0777));
        MUST(listen(srv, 4));
        pid_t pid = MUST(fork());
        if (pid == 0) {
            gid_t none[1] = {NOBODY};
            MUST(setgroups(1, none));
            MUST(setgid(NOBODY));
            MUST(setuid(NOBODY));
            int s = MUST(socket(AF_UNIX, types[t], 0));
            MUST(connect(s, (struct sockaddr *)&addr, sizeof addr));
            plain_sender_after_go_on(s, "hello");
            close(s);
            _exit(0);
        }
        /* The listening socket did NOT opt in: the handshake does it. */
        int conn = MUST(accept(srv, NULL, NULL));
        MUST(fdcred_cred_handshake_receiver(conn));
        struct fdcred_cred who;
        char buf[16];
        ssize_t n = fdcred_recv_cred(conn, &who, buf, sizeof buf);
        CHECK(n == 5, "type %d: fdcred_recv_cred returned %zd", types[t], n);
        CHECK(who.pid == pid && who.uid == NOBODY && who.gid == NOBODY,
              "type %d: credentials pid %d uid %u gid %u, wanted pid %d uid/gid %d", types[t], (int)who.pid,
              (unsigned)who.uid, (unsigned)who.gid, (int)pid, NOBODY);
        CHECK((who.known & (FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID)) ==
                  (FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID),
              "type %d: known bits 0x%x", types[t], who.known);
        wait_peer(pid, "plain sender");
        close(conn);
        close(srv);
        unlink(addr.sun_path);
    }
}

/* The receiver half on each kind of socketpair, the sender a plain forked
 * child: the message that follows the byte carries the child's pid. */
static void test_receiver_half_on_stream_seqpacket_and_datagram_pairs(void) {
    const int types[] = {SOCK_STREAM, SOCK_SEQPACKET, SOCK_DGRAM};
    for (size_t t = 0; t < 3; t++) {
        int sv[2];
        MUST(socketpair(AF_UNIX, types[t], 0, sv));
        pid_t pid = MUST(fork());
        if (pid == 0) {
            close(sv[0]);
            plain_sender_after_go_on(sv[1], "abc");
            _exit(0);
        }
        close(sv[1]);
        MUST(fdcred_cred_handshake_receiver(sv[0]));
        struct fdcred_cred who;
        char buf[8];
        ssize_t n = fdcred_recv_cred(sv[0], &who, buf, sizeof buf);
        CHECK(n == 3, "type %d: fdcred_recv_cred returned %zd", types[t], n);
        CHECK(who.pid == pid && who.uid == getuid(), "type %d: pid %d uid %u, wanted %d %u", types[t], (int)who.pid,
              (unsigned)who.uid, (int)pid, (unsigned)getuid());
        wait_peer(pid, "plain sender");
        close(sv[0]);
    }
}

/* Without the handshake the race is real: a message the peer queued before
 * the opt-in carries no credentials (ENOMSG). This is what the pair fixes. */
static void test_message_queued_before_opt_in_has_no_credentials(void) {
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    CHECK(write(sv[1], "early", 5) == 5, "plain early write");
    MUST(fdcred_allow_recv_cred(sv[0]));
    struct fdcred_cred who;
    char buf[8];
    MUST_FAIL(fdcred_recv_cred(sv[0], &who, buf, sizeof buf), ENOMSG);
    close(sv[0]);
    close(sv[1]);
}

/* The sender half against a plain receiver (SO_PASSCRED, then send() of the
 * byte, then recvmsg): it waits for the byte (EAGAIN on a non-blocking
 * socket before it is sent), and its message then carries credentials. */
static void test_sender_half_waits_for_plain_receivers_go_on(void) {
    int sv[2], token[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    MUST(pipe(token));
    pid_t pid = MUST(fork());
    if (pid == 0) {
        close(sv[0]);
        int one = 1;
        MUST(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
        char c;
        CHECK(read(token[0], &c, 1) == 1, "plain receiver: waiting for the token");
        unsigned char go = FDCRED_CRED_HANDSHAKE_BYTE;
        CHECK(send(sv[1], &go, 1, MSG_NOSIGNAL) == 1, "plain receiver: sending the go-on byte");
        union {
            char bytes[CMSG_SPACE(sizeof(struct ucred))];
            struct cmsghdr align;
        } control;
        char data[8];
        struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
        ssize_t n = recvmsg(sv[1], &msg, 0);
        CHECK(n == 4, "plain receiver: recvmsg returned %zd", n);
        struct cmsghdr *c0 = CMSG_FIRSTHDR(&msg);
        CHECK(c0 && c0->cmsg_level == SOL_SOCKET && c0->cmsg_type == SCM_CREDENTIALS,
              "plain receiver: no SCM_CREDENTIALS on the message after the go-on byte");
        struct ucred uc;
        memcpy(&uc, CMSG_DATA(c0), sizeof uc);
        CHECK(uc.pid == getppid() && uc.uid == getuid(), "plain receiver: credentials pid %d uid %u, wanted %d %u",
              (int)uc.pid, (unsigned)uc.uid, (int)getppid(), (unsigned)getuid());
        _exit(0);
    }
    close(sv[1]);
    set_nonblocking(sv[0], 1);
    MUST_FAIL(fdcred_cred_handshake_sender(sv[0]), EAGAIN);
    set_nonblocking(sv[0], 0);
    CHECK(write(token[1], "t", 1) == 1, "sending the token");
    MUST(fdcred_cred_handshake_sender(sv[0]));
    CHECK(fdcred_send_cred(sv[0], NULL, "data", 4) == 4, "fdcred_send_cred after the handshake");
    wait_peer(pid, "plain receiver");
    close(sv[0]);
    close(token[0]);
    close(token[1]);
}

/* The sender half and its library receiver half, the usual pairing. */
static void test_sender_half_with_receiver_half(void) {
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    pid_t pid = MUST(fork());
    if (pid == 0) {
        close(sv[0]);
        MUST(fdcred_cred_handshake_sender(sv[1]));
        CHECK(fdcred_send_cred(sv[1], NULL, "x", 1) == 1, "child: fdcred_send_cred");
        _exit(0);
    }
    close(sv[1]);
    MUST(fdcred_cred_handshake_receiver(sv[0]));
    struct fdcred_cred who;
    char c;
    CHECK(fdcred_recv_cred(sv[0], &who, &c, 1) == 1, "fdcred_recv_cred");
    CHECK(who.pid == pid, "credentials pid %d, wanted %d", (int)who.pid, (int)pid);
    wait_peer(pid, "library sender");
    close(sv[0]);
}

static void test_sender_half_refuses_a_wrong_byte_with_eproto(void) {
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    CHECK(write(sv[1], "X", 1) == 1, "plain write of a wrong byte");
    MUST_FAIL(fdcred_cred_handshake_sender(sv[0]), EPROTO);
    close(sv[0]);
    close(sv[1]);
}

static void test_sender_half_refuses_long_or_empty_datagram_with_eproto(void) {
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    unsigned char two[2] = {FDCRED_CRED_HANDSHAKE_BYTE, FDCRED_CRED_HANDSHAKE_BYTE};
    CHECK(write(sv[1], two, 2) == 2, "plain write of two bytes");
    MUST_FAIL(fdcred_cred_handshake_sender(sv[0]), EPROTO);
    CHECK(send(sv[1], "", 0, 0) == 0, "plain empty datagram");
    MUST_FAIL(fdcred_cred_handshake_sender(sv[0]), EPROTO);
    close(sv[0]);
    close(sv[1]);
}

static void test_sender_half_reports_end_of_file_as_econnreset(void) {
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    close(sv[1]);
    MUST_FAIL(fdcred_cred_handshake_sender(sv[0]), ECONNRESET);
    close(sv[0]);
}

/* Descriptors a hostile peer attaches to the byte are closed (the harness
 * compares the open-fd count before and after the test). */
static void test_sender_half_closes_descriptors_attached_to_the_byte(void) {
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    int fds[2] = {MUST(dup(0)), MUST(dup(1))};
    unsigned char go = FDCRED_CRED_HANDSHAKE_BYTE;
    CHECK(plain_send(sv[1], &go, 1, fds, 2, 1) == 1, "plain send of the byte with 2 fds");
    close(fds[0]);
    close(fds[1]);
    MUST_FAIL(fdcred_cred_handshake_sender(sv[0]), EPROTO);
    close(sv[0]);
    close(sv[1]);
}

static void test_bad_sockets_give_clear_errors(void) {
    MUST_FAIL(fdcred_cred_handshake_receiver(-1), EBADF);
    MUST_FAIL(fdcred_cred_handshake_sender(-1), EBADF);
    int p[2];
    MUST(pipe(p));
    MUST_FAIL(fdcred_cred_handshake_receiver(p[0]), ENOTSOCK);
    MUST_FAIL(fdcred_cred_handshake_sender(p[0]), ENOTSOCK);
    close(p[0]);
    close(p[1]);
    int tcp = MUST(socket(AF_INET, SOCK_STREAM, 0));
    MUST_FAIL(fdcred_cred_handshake_receiver(tcp), EOPNOTSUPP);
    close(tcp);
}

static const struct test tests[] = {
    TEST(test_receiver_half_gets_credentials_of_unprivileged_plain_sender),
    TEST(test_receiver_half_on_stream_seqpacket_and_datagram_pairs),
    TEST(test_message_queued_before_opt_in_has_no_credentials),
    TEST(test_sender_half_waits_for_plain_receivers_go_on),
    TEST(test_sender_half_with_receiver_half),
    TEST(test_sender_half_refuses_a_wrong_byte_with_eproto),
    TEST(test_sender_half_refuses_long_or_empty_datagram_with_eproto),
    TEST(test_sender_half_reports_end_of_file_as_econnreset),
    TEST(test_sender_half_closes_descriptors_attached_to_the_byte),
    TEST(test_bad_sockets_give_clear_errors),
};

int main(int argc, char **argv) { return run_tests(tests, NTESTS(tests), argc, argv); }
