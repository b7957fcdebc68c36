/*
 * hellofdpass: the unprivileged half of a port listener.
 *
 *   hellofdpass SOCKPATH STRING
 *
 * Binds SOCKPATH as a SOCK_DGRAM Unix socket (removing a stale one left by a
 * handler that died; refusing if a live handler or a non-socket is there)
 * and receives descriptors, one per datagram, from portlisten or any
 * classic sender. A connected socket gets STRING written to it and is
 * closed; a listening socket (portlisten --listener) is kept, and every
 * connection accepted on it gets STRING. It needs no privilege: the port was
 * bound by someone else.
 *
 * SIGINT/SIGTERM stop it without losing a connection: it stops taking new
 * datagrams (senders see EPIPE and retry), greets every connection already
 * queued to it, removes SOCKPATH and exits 0. (Killed with SIGKILL, the
 * connections still queued are closed by the kernel: their clients see end
 * of file, never a hang.)
 *
 * On stdout: one line when ready, then one line per connection greeted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static const char *prog = "hellofdpass";
static const char *greeting;
static size_t greeting_len;
static unsigned long greeted;

/* "127.0.0.1:40000" for a TCP peer, else a short description. */
static void describe_peer(int fd, char *out, size_t size) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN];
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(out, size, "unknown peer (%s)", strerror(errno));
    } else if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        snprintf(out, size, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        snprintf(out, size, "[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
    } else {
        snprintf(out, size, "a peer of family %d", (int)ss.ss_family);
    }
}

/* Write the greeting to a connection and close it. Never blocks for long:
 * a client that does not read gets 5 seconds. */
static void greet(int conn, const char *how) {
    char peer[128];
    describe_peer(conn, peer, sizeof peer);
    struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
    if (setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        fprintf(stderr, "%s: setsockopt(SO_SNDTIMEO) on fd %d: %s\n", prog, conn, strerror(errno));
    size_t done = 0;
    while (done < greeting_len) {
        /* MSG_NOSIGNAL: a client that already left must not kill us with SIGPIPE. */
        ssize_t n = send(conn, greeting + done, greeting_len - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: writing to %s (fd %d): %s\n", prog, peer, conn,
                    errno == EAGAIN ? "client not reading for 5 s, gave up" : strerror(errno));
            break;
        }
        done += (size_t)n;
    }
    if (close(conn) != 0)
        fprintf(stderr, "%s: close(%d): %s\n", prog, conn, strerror(errno));
    if (done == greeting_len) {
        greeted++;
        printf("%s: %s fd %d from %s, wrote %zu bytes, closed it\n", prog, how, conn, peer, done);
        fflush(stdout);
    }
}

/* Accept every connection waiting on the (non-blocking) listening socket. */
static void accept_all(int lsock) {
    for (;;) {
        int conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
        if (conn >= 0) {
            greet(conn, "accepted");
            continue;
        }
        switch (errno) {
        case EINTR:
        case ECONNABORTED:
        case EPROTO:
            continue;
        case EAGAIN:
            return;
        default: /* EMFILE and friends: poll will bring us back */
            fprintf(stderr, "%s: accept on fd %d: %s\n", prog, lsock, strerror(errno));
            return;
        }
    }
}

/* A descriptor arrived: greet a connection, keep a listening socket. */
static void take_fd(int fd, int *lsock) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) {
        fprintf(stderr, "%s: received fd %d is not a usable socket (%s); closed it\n", prog, fd, strerror(errno));
        close(fd);
        return;
    }
    if (!listening) {
        greet(fd, "received connection");
        return;
    }
    /* portlisten --listener has handed over and exited; nobody else uses
     * this open file, so making it non-blocking bothers no one. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        fprintf(stderr, "%s: fcntl(O_NONBLOCK) on fd %d: %s; closed it\n", prog, fd, strerror(errno));
        close(fd);
        return;
    }
    if (*lsock >= 0)
        close(*lsock);
    *lsock = fd;
    printf("%s: received a listening socket (fd %d), accepting on it\n", prog, fd);
    fflush(stdout);
}

/*
 * Receive every datagram queued on the non-blocking socket. Returns 0 when
 * the queue is empty, -1 on an error that stops the handler.
 */
static int receive_all(int dgram, int *lsock) {
    for (;;) {
        char byte[8];
        int fd = -1;
        size_t nfds = 1;
        ssize_t n = fdcred_recv_fds(dgram, byte, sizeof byte, &fd, &nfds);
        if (n < 0) {
            switch (errno) {
            case EAGAIN:
                return 0;
            case EMSGSIZE:
                fprintf(stderr, "%s: a datagram carried more than one fd; all were closed\n", prog);
                continue;
            case EBADMSG:
                fprintf(stderr, "%s: a datagram's fds were truncated by the kernel; all were closed\n", prog);
                continue;
            default:
                perror("fdcred_recv_fds");
                return -1;
            }
        }
        if (nfds == 0) {
            if (n == 0)
                return 0; /* nothing more after shutdown(SHUT_RD) */
            fprintf(stderr, "%s: ignored a %zd-byte datagram without a descriptor\n", prog, n);
            continue;
        }
        take_fd(fd, lsock);
    }
}

/*
 * Make `path` free for bind: remove a stale socket (nobody listening), but
 * refuse to remove anything else or to take over from a live handler.
 */
static int clear_stale(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : (perror(path), -1);
    if (!S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "%s: %s exists and is not a socket; not removing it\n", prog, path);
        return -1;
    }
    int probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (probe < 0) {
        perror("socket");
        return -1;
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int r = connect(probe, (struct sockaddr *)&sun, sizeof sun);
    int e = errno;
    close(probe);
    if (r == 0) {
        fprintf(stderr, "%s: another handler is running on %s\n", prog, path);
        return -1;
    }
    if (e != ECONNREFUSED) {
        fprintf(stderr, "%s: probing %s: %s\n", prog, path, strerror(e));
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        fprintf(stderr, "%s: removing stale %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    fprintf(stderr, "%s: removed stale socket %s\n", prog, path);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOCKPATH STRING\n", prog);
        return 2;
    }
    const char *path = argv[1];
    greeting = argv[2];
    greeting_len = strlen(greeting);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (path[0] == '\0' || strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "%s: socket path must be 1 to %zu bytes\n", prog, sizeof sun.sun_path - 1);
        return 2;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);

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

    int status = 1, lsock = -1, bound = 0;
    struct stat mine;
    int dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (dgram < 0) {
        perror("socket(AF_UNIX, SOCK_DGRAM)");
        goto out;
    }
    if (clear_stale(path) != 0)
        goto out;
    if (bind(dgram, (struct sockaddr *)&sun, sizeof sun) != 0) {
        fprintf(stderr, "%s: bind %s: %s\n", prog, path, strerror(errno));
        goto out;
    }
    if (stat(path, &mine) != 0) {
        perror(path);
        goto out;
    }
    bound = 1;
    printf("%s: uid %u gid %u pid %d, waiting for descriptors on %s\n", prog, (unsigned)getuid(),
           (unsigned)getgid(), (int)getpid(), path);
    if (fflush(stdout) != 0)
        goto out;

    for (;;) {
        struct pollfd p[3] = {{.fd = dgram, .events = POLLIN},
                              {.fd = sigfd, .events = POLLIN},
                              {.fd = lsock, .events = POLLIN}};
        if (poll(p, lsock >= 0 ? 3 : 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            goto out;
        }
        if (p[1].revents) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
                fprintf(stderr, "%s: got signal %u, finishing what is queued\n", prog, si.ssi_signo);
            break;
        }
        if (p[0].revents && receive_all(dgram, &lsock) != 0)
            goto out;
        if (lsock >= 0 && p[2].revents)
            accept_all(lsock);
    }

    /* Graceful stop: after SHUT_RD the kernel refuses new datagrams (the
     * sender gets EPIPE and retries for the next handler); what is already
     * queued is still ours to serve. */
    if (shutdown(dgram, SHUT_RD) != 0)
        perror("shutdown(SHUT_RD)");
    status = receive_all(dgram, &lsock) == 0 ? 0 : 1;
    if (lsock >= 0)
        accept_all(lsock);
    fprintf(stderr, "%s: stopped after greeting %lu connections\n", prog, greeted);

out:
    if (bound) {
        /* Remove the path only if it is still ours (not a successor's). */
        struct stat now;
        if (stat(path, &now) == 0 && now.st_dev == mine.st_dev && now.st_ino == mine.st_ino && unlink(path) != 0)
            fprintf(stderr, "%s: removing %s: %s\n", prog, path, strerror(errno));
    }
    if (lsock >= 0)
        close(lsock);
    if (dgram >= 0)
        close(dgram);
    close(sigfd);
    return status;
}
