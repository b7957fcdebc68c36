/*
 * The classic port listener, written the way programs did it before
 * libfdcred: plain sendmsg with a one-byte payload and one SCM_RIGHTS fd per
 * datagram, to an unconnected SOCK_DGRAM socket. A test peer for
 * examples/hellofdpass (tests/examples.rs); it does not use the library.
 *
 *   classic_portlisten [--listener] PORT SOCKPATH
 *
 * Binds 127.0.0.1:PORT (0: any free port), prints
 * "classic_portlisten: listening on 127.0.0.1:PORT", then passes each
 * accepted connection (or the listening socket once, and exits), retrying
 * every 100 ms for up to a minute while nothing is bound at SOCKPATH.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int pass(int dgram, const struct sockaddr_un *to, int fd, char tag) {
    for (int attempt = 0; attempt < 600; attempt++) {
        union {
            char bytes[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } control;
        memset(&control, 0, sizeof control);
        struct iovec iov = {.iov_base = &tag, .iov_len = 1};
        struct msghdr msg = {.msg_name = (void *)to,
                             .msg_namelen = sizeof *to,
                             .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.bytes,
                             .msg_controllen = sizeof control.bytes};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
        if (sendmsg(dgram, &msg, MSG_NOSIGNAL) == 1)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != ENOENT && errno != ECONNREFUSED && errno != EPIPE && errno != EAGAIN) {
            perror("classic_portlisten: sendmsg");
            return -1;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "classic_portlisten: no handler for a minute\n");
    return -1;
}

int main(int argc, char **argv) {
    int listener = argc > 1 && strcmp(argv[1], "--listener") == 0;
    if (argc != 3 + listener) {
        fprintf(stderr, "usage: classic_portlisten [--listener] PORT SOCKPATH\n");
        return 2;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)atoi(argv[1 + listener])),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_un to = {.sun_family = AF_UNIX};
    snprintf(to.sun_path, sizeof to.sun_path, "%s", argv[2 + listener]);
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof sin;
    if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(l, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(l, 128) != 0 ||
        getsockname(l, (struct sockaddr *)&sin, &len) != 0) {
        perror("classic_portlisten: listening socket");
        return 1;
    }
    int dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (dgram < 0) {
        perror("classic_portlisten: socket");
        return 1;
    }
    printf("classic_portlisten: listening on 127.0.0.1:%u\n", (unsigned)ntohs(sin.sin_port));
    fflush(stdout);
    if (listener)
        return pass(dgram, &to, l, 'L') == 0 ? 0 : 1;
    for (;;) {
        int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("classic_portlisten: accept");
            return 1;
        }
        int r = pass(dgram, &to, c, 'C');
        close(c);
        if (r != 0)
            return 1;
    }
}
