/*
 * portlisten: the privileged half of a port listener.
 *
 *   portlisten [--listener] [--addr ADDR] PORT SOCKPATH
 *
 * Binds TCP PORT on ADDR (default 127.0.0.1; a port below 1024 needs root),
 * then hands what it has to an unprivileged handler (hellofdpass) bound at
 * SOCKPATH as a SOCK_DGRAM Unix socket, one descriptor per datagram with a
 * one-byte payload:
 *
 *   default     accept each connection and pass it ('C'), closing our copy
 *               once it is sent; the handler writes to it and closes it.
 *   --listener  pass the listening socket itself once ('L'), close our copy
 *               and exit: from then on the handler accepts.
 *
 * While no handler is there (nothing bound at SOCKPATH, or the handler is
 * shutting down) it retries every 100 ms for up to a minute, so restarting
 * the handler loses no connection; after a minute it drops that connection.
 * PORT 0 lets the kernel choose; the chosen port is printed on stdout:
 *
 *   portlisten: listening on 127.0.0.1:PORT, passing connections to SOCKPATH
 *
 * SIGINT/SIGTERM stop it cleanly. Exit status 0 on a clean stop, 1 on error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fdcred.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define RETRY_INTERVAL_MS 100
#define RETRY_LIMIT 600 /* 600 x 100 ms: a minute */

static const char *prog = "portlisten";
static int stopping; /* a stop signal has been read */

static void usage(void) {
    fprintf(stderr, "usage: %s [--listener] [--addr ADDR] PORT SOCKPATH\n", prog);
    exit(2);
}

/* Wait up to `ms` for a stop signal; 1 if one came (or poll failed). */
static int stop_requested(int sigfd, int ms) {
    if (stopping)
        return 1;
    struct pollfd p = {.fd = sigfd, .events = POLLIN};
    int r = poll(&p, 1, ms);
    if (r < 0 && errno == EINTR)
        return 0;
    if (r == 0)
        return 0;
    struct signalfd_siginfo si;
    if (r > 0 && read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        fprintf(stderr, "%s: got signal %u, stopping\n", prog, si.ssi_signo);
    else
        perror("waiting for signals");
    stopping = 1;
    return 1;
}

/*
 * Pass `fd` with the one-byte payload `tag` to the handler at `path`.
 * 0 when sent; -1 when it gave up (no handler for a minute, a stop signal,
 * or an error that retrying cannot cure), with a message printed.
 */
static int pass_fd(int dgram, const char *path, int fd, char tag, int sigfd) {
    for (int attempt = 0;; attempt++) {
        if (fdcred_sendto_fds(dgram, path, &tag, 1, &fd, 1) == 1)
            return 0;
        int e = errno;
        switch (e) {
        case ENOENT:       /* no handler has bound the path yet */
        case ECONNREFUSED: /* a stale socket: the handler died */
        case EPIPE:        /* the handler is shutting down */
        case EAGAIN:
        case ENOBUFS:
        case ENOMEM:
            break;
        default:
            fprintf(stderr, "%s: passing fd %d to %s: %s\n", prog, fd, path, strerror(e));
            return -1;
        }
        if (attempt == 0)
            fprintf(stderr, "%s: no handler at %s (%s), retrying every %d ms for up to a minute\n", prog,
                    path, strerror(e), RETRY_INTERVAL_MS);
        if (attempt + 1 >= RETRY_LIMIT) {
            fprintf(stderr, "%s: still no handler at %s after a minute: giving up on fd %d\n", prog, path, fd);
            return -1;
        }
        if (stop_requested(sigfd, RETRY_INTERVAL_MS))
            return -1;
    }
}

int main(int argc, char **argv) {
    int listener_mode = 0;
    const char *addr = "127.0.0.1";
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "--listener") == 0)
            listener_mode = 1;
        else if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc)
            addr = argv[++i];
        else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else
            usage();
    }
    if (argc - i != 2)
        usage();
    char *end;
    errno = 0;
    long port = strtol(argv[i], &end, 10);
    if (errno != 0 || *end != '\0' || end == argv[i] || port < 0 || port > 65535) {
        fprintf(stderr, "%s: bad port '%s'\n", prog, argv[i]);
        return 2;
    }
    const char *path = argv[i + 1];

    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        fprintf(stderr, "%s: bad IPv4 address '%s'\n", prog, addr);
        return 2;
    }

    /* Stop signals arrive through a descriptor, so no call is interrupted
     * and none is missed between a check and a blocking call. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &stop, NULL) != 0) {
        perror("sigprocmask");
        return 1;
    }
    int sigfd = signalfd(-1, &stop, SFD_CLOEXEC);
    if (sigfd < 0) {
        perror("signalfd");
        return 1;
    }

    int status = 1;
    int lsock = -1, dgram = -1;
    lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lsock < 0) {
        perror("socket(AF_INET)");
        goto out;
    }
    int one = 1;
    if (setsockopt(lsock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        perror("setsockopt(SO_REUSEADDR)");
        goto out;
    }
    if (bind(lsock, (struct sockaddr *)&sin, sizeof sin) != 0) {
        fprintf(stderr, "%s: bind %s:%ld: %s\n", prog, addr, port, strerror(errno));
        goto out;
    }
    if (listen(lsock, 128) != 0) {
        perror("listen");
        goto out;
    }
    socklen_t slen = sizeof sin;
    if (getsockname(lsock, (struct sockaddr *)&sin, &slen) != 0) {
        perror("getsockname");
        goto out;
    }
    /* Unconnected: each datagram names the path, so a restarted handler
     * (a new socket at the same path) is found again. */
    dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (dgram < 0) {
        perror("socket(AF_UNIX, SOCK_DGRAM)");
        goto out;
    }
    printf("%s: listening on %s:%u, passing %s to %s\n", prog, addr, (unsigned)ntohs(sin.sin_port),
           listener_mode ? "the listening socket" : "connections", path);
    if (fflush(stdout) != 0) {
        perror("stdout");
        goto out;
    }

    if (listener_mode) {
        if (pass_fd(dgram, path, lsock, 'L', sigfd) != 0)
            goto out;
        printf("%s: passed the listening socket (fd %d); the handler accepts from now on\n", prog, lsock);
        fflush(stdout);
        status = 0;
        goto out;
    }

    for (;;) {
        struct pollfd p[2] = {{.fd = lsock, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            goto out;
        }
        if (p[1].revents) {
            (void)stop_requested(sigfd, 0);
            status = 0;
            goto out;
        }
        if (!p[0].revents)
            continue;
        int conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0) {
            switch (errno) {
            case EINTR:
            case EAGAIN:
            case ECONNABORTED: /* the client gave up before we got to it */
            case EPROTO:
            case ENETDOWN:
            case ENOPROTOOPT:
            case EHOSTDOWN:
            case ENONET:
            case EHOSTUNREACH:
            case EOPNOTSUPP:
            case ENETUNREACH:
                continue;
            case EMFILE: /* out of descriptors or memory: back off, retry */
            case ENFILE:
            case ENOBUFS:
            case ENOMEM:
                fprintf(stderr, "%s: accept: %s; retrying\n", prog, strerror(errno));
                if (stop_requested(sigfd, RETRY_INTERVAL_MS)) {
                    status = 0;
                    goto out;
                }
                continue;
            default:
                perror("accept");
                goto out;
            }
        }
        int sent = pass_fd(dgram, path, conn, 'C', sigfd);
        /* Sent: the handler has its own copy. Not sent: closing ours tells
         * the client (end of file) rather than leaving it hanging. */
        if (close(conn) != 0)
            fprintf(stderr, "%s: close(%d): %s\n", prog, conn, strerror(errno));
        if (sent != 0 && stopping) {
            status = 0;
            goto out;
        }
    }

out:
    if (lsock >= 0)
        close(lsock);
    if (dgram >= 0)
        close(dgram);
    close(sigfd);
    return status;
}
