/*
 * The classic greeting handler, written the way programs did it before
 * libfdcred: plain recvmsg of a one-byte payload with room for exactly one
 * SCM_RIGHTS fd. A test peer for examples/portlisten (tests/examples.rs);
 * it does not use the library, and it is strict about the protocol: any
 * datagram that is not one byte with exactly one fd is an error (exit 1).
 *
 *   classic_hellofdpass SOCKPATH STRING
 *
 * Prints "classic_hellofdpass: ready" once bound, then writes STRING to each
 * connection received (or accepted on a received listening socket) and
 * closes it. Runs until killed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void greet(int c, const char *s) {
    size_t done = 0, len = strlen(s);
    while (done < len) {
        ssize_t n = send(c, s + done, len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        done += (size_t)n;
    }
    close(c);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: classic_hellofdpass SOCKPATH STRING\n");
        return 2;
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", argv[1]);
    unlink(argv[1]);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&sun, sizeof sun) != 0) {
        perror("classic_hellofdpass: bind");
        return 1;
    }
    printf("classic_hellofdpass: ready\n");
    fflush(stdout);
    for (;;) {
        char byte[2];
        union {
            char bytes[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } control;
        struct iovec iov = {.iov_base = byte, .iov_len = sizeof byte};
        struct msghdr msg = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
        ssize_t n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("classic_hellofdpass: recvmsg");
            return 1;
        }
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        int fd = -1;
        if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(&fd, CMSG_DATA(c), sizeof fd);
        if (n != 1 || (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || fd < 0 || CMSG_NXTHDR(&msg, c) != NULL) {
            fprintf(stderr, "classic_hellofdpass: PROTOCOL ERROR: %zd bytes, flags %#x, fd %d\n", n,
                    (unsigned)msg.msg_flags, fd);
            return 1;
        }
        int listening = 0;
        socklen_t len = sizeof listening;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) {
            perror("classic_hellofdpass: getsockopt");
            return 1;
        }
        if (!listening) {
            greet(fd, argv[2]);
            continue;
        }
        printf("classic_hellofdpass: accepting on the received listening socket\n");
        fflush(stdout);
        for (;;) {
            int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
            if (conn < 0 && (errno == EINTR || errno == ECONNABORTED))
                continue;
            if (conn < 0) {
                perror("classic_hellofdpass: accept");
                return 1;
            }
            greet(conn, argv[2]);
        }
    }
}
