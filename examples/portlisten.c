/*
 * portlisten: the privileged half of a port listener.
 *
 *   portlisten [--listener] [--max-batch N] [--addr ADDR] [--user USER]
 *              [--handler-user USER] PORT SOCKPATH
 *   portlisten --help | --version
 *
 * Binds TCP PORT on ADDR (default 127.0.0.1, the loopback only: --addr
 * 0.0.0.0 for every IPv4 address; a port below 1024 needs root), then hands
 * what it has to an unprivileged handler (hellofdpass) bound at SOCKPATH as
 * a SOCK_DGRAM Unix socket, in datagrams with a one-byte payload:
 *
 *   default     accept connections and pass each one in its own datagram
 *               ('C'), closing our copy once it is sent; the handler writes
 *               to it and closes it. This is the classic protocol (one
 *               descriptor, one data byte): any handler written the classic
 *               way (recvmsg with a CMSG_SPACE(sizeof(int)) buffer) works at
 *               any load.
 *   --max-batch N
 *               accept every connection already waiting (up to N, at most
 *               FDCRED_MAX_FDS) and pass the batch in one datagram, so a
 *               burst costs one message. Only for a handler that takes
 *               several descriptors per datagram (hellofdpass does): a
 *               classic one would use the first and leak the rest, and
 *               their clients would hang.
 *   --listener  pass the listening socket itself once ('L'), close our copy
 *               and exit: from then on the handler accepts (or, with
 *               hellofdpass --exec, a socket-activated daemon does).
 *
 * Run as root, it needs root only to bind: once bound (before it accepts or
 * sends anything) it becomes USER (default nobody: its uid, gid and groups,
 * with no capability left and no way back), and non-dumpable, so that a
 * handler running as the same user can neither trace it nor take the
 * listening socket from it. The handler's socket must be writable by USER:
 * run the handler as USER (hellofdpass's socket is 0600, its owner's), or,
 * for hellofdpass --exec run as root, give it --user USER. --user root
 * keeps root (not recommended).
 *
 * Whoever receives the datagram gets the connections (or the port), and a
 * connected datagram socket has no peer credentials: so before each
 * connect the socket at SOCKPATH must be owned by root, by the user
 * portlisten runs as, or by --handler-user, in a directory owned by one of
 * them that nobody else may write (unless sticky). Otherwise it says why
 * and exits 1, as on any other error that retrying cannot cure (EACCES).
 *
 * While no handler is there (nothing bound at SOCKPATH, or the handler is
 * shutting down) it retries every 100 ms for up to a minute, so restarting
 * the handler loses no connection: a datagram arrives whole or not at all,
 * so a connection the old handler did not take goes to the next one. After
 * a minute without a handler it closes the connection it holds (its client
 * sees end of file), and every connection after it at once, until a handler
 * takes one again: one minute per outage, not per connection. PORT 0
 * lets the kernel choose; the chosen port is printed on stdout:
 *
 *   portlisten: listening on 127.0.0.1:PORT, passing connections to SOCKPATH
 *
 * SIGINT/SIGTERM stop it cleanly. Exit status 0 on a clean stop, 1 on error,
 * 2 on a usage error.
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
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define RETRY_INTERVAL_MS 100
#define RETRY_LIMIT_MS 60000 /* a minute */

static const char *prog = "portlisten";

/*
 * Stop signals. The handler marks the stop and, in the connection mode,
 * shuts the listening socket down, which wakes the accept blocked on it:
 * the common path waits in accept itself, with no poll in front of it, and
 * no signal is missed between a check and a blocking call. (Connections
 * still in the accept queue are reset, as closing the socket at exit
 * would.) Other waits are polls of at most 100 ms, which a signal cuts
 * short (the handler is installed without SA_RESTART).
 */
static volatile sig_atomic_t stopping;
static volatile sig_atomic_t lsock_for_signal = -1;

static void on_stop(int sig) {
    int saved = errno;
    stopping = sig;
    if (lsock_for_signal >= 0)
        shutdown(lsock_for_signal, SHUT_RD);
    errno = saved;
}

static const char usage_text[] =
    "usage: portlisten [--listener] [--max-batch N] [--addr ADDR] [--user USER] [--handler-user USER]\n"
    "                  PORT SOCKPATH\n"
    "       portlisten --help | --version\n"
    "\n"
    "Bind TCP PORT on ADDR (default 127.0.0.1) and pass what it accepts to the\n"
    "handler bound at SOCKPATH (a SOCK_DGRAM Unix socket, e.g. hellofdpass).\n"
    "\n"
    "  (default)       one connection per datagram (the classic protocol)\n"
    "  --max-batch N   up to N waiting connections per datagram (1 to 253);\n"
    "                  only for a handler that takes several fds per datagram\n"
    "  --listener      pass the listening socket once and exit\n"
    "  --addr ADDR     the IPv4 address to bind (0.0.0.0: all of them)\n"
    "  --user USER     as root, become USER once bound (default nobody)\n"
    "  --handler-user USER\n"
    "                  the handler's socket may be USER's too (not only root's or ours)\n"
    "\n"
    "See portlisten(8).\n";

static void usage(void) {
    fputs(usage_text, stderr);
    exit(2);
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait up to `ms` for a stop signal; 1 if one came. */
static int stop_requested(int ms) {
    if (!stopping && ms > 0)
        poll(NULL, 0, ms);
    return stopping != 0;
}

/* Besides root and ourselves (USER once bound), whose socket we may pass
 * to: --handler-user ((uid_t)-1: none). */
static uid_t handler_uid = (uid_t)-1;

/*
 * Before each connect: is the socket at `path` one a trusted user bound, in
 * a directory where nobody else can put another in its place? A connected
 * datagram socket has no peer credentials to ask afterwards, and whoever
 * receives the datagram gets the connections (or the listening socket).
 * 0 if so; -1 with errno ENOENT when nothing is there yet, or EPERM with a
 * message.
 */
static int handler_socket_trusted(const char *path) {
    uid_t trusted[2] = {geteuid(), handler_uid};
    size_t ntrusted = handler_uid == (uid_t)-1 ? 1 : 2;
    if (tool_dir_trusted(prog, path, trusted, ntrusted) != 0)
        return -1;
    struct stat s;
    if (lstat(path, &s) != 0) {
        int e = errno;
        if (e != ENOENT)
            fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(e));
        errno = e;
        return -1;
    }
    if (S_ISSOCK(s.st_mode) && tool_owner_in(s.st_uid, trusted, ntrusted))
        return 0;
    fprintf(stderr, "%s: refusing %s: %s owned by uid %u, not root, uid %u or --handler-user\n", prog, path,
            S_ISSOCK(s.st_mode) ? "a socket" : "not a socket,", (unsigned)s.st_uid, (unsigned)geteuid());
    errno = EPERM;
    return -1;
}

/*
 * Pass the `n` descriptors in `fds`, in one datagram with the one-byte
 * payload `tag`, to the handler at `to`. 0 when sent; -1 when it gave up (no
 * handler for a minute, a stop signal), -2 on what retrying cannot cure (a
 * socket or directory not to be trusted, EACCES, ...: portlisten exits 1),
 * with a message printed. The datagram is sent whole or not at all,
 * so every retry carries the whole batch.
 *
 * `dgram` is connected to the handler once and again whenever the handler
 * went away: a datagram naming the path would look the path up in the
 * filesystem on every send (a tenth of portlisten's time, measured).
 */
static int pass_fds(int dgram, const struct sockaddr_un *to, const char *path, int *fds, size_t n, char tag) {
    static int connected;
    /* When the handler stopped taking datagrams (0: it takes them): one
     * minute per outage, not per connection, or with one connection per
     * datagram a long outage would hold each client queued behind the
     * others for a minute more. */
    static long long outage_since;
    static int told_giving_up;
    struct iovec iov = {.iov_base = &tag, .iov_len = 1};
    /* FDCRED_NO_SOCKET_CHECK: `dgram` is the AF_UNIX socket main() made,
     * so the library's per-call family check would only cost a syscall. */
    struct fdcred_msg msg = {.iov = &iov, .iovlen = 1, .fds = fds, .nfds = n};
    for (int attempt = 0;; attempt++) {
        if (!connected && handler_socket_trusted(path) != 0 && errno != ENOENT)
            return -2;
        if (!connected && connect(dgram, (const struct sockaddr *)to, sizeof *to) == 0)
            connected = 1;
        if (connected && fdcred_sendmsg(dgram, &msg, FDCRED_NO_SOCKET_CHECK) == 1) {
            if (outage_since && told_giving_up)
                fprintf(stderr, "%s: a handler at %s takes connections again\n", prog, path);
            outage_since = 0;
            told_giving_up = 0;
            return 0;
        }
        int e = errno;
        int wait_ms = RETRY_INTERVAL_MS;
        switch (e) {
        case EAGAIN: /* the handler's queue stayed full for SO_SNDTIMEO */
            wait_ms = 0;
            break;
        case ENOENT:       /* no handler has bound the path yet */
        case ECONNREFUSED: /* a stale socket, or the handler we were connected to died */
        case EPIPE:        /* the handler is shutting down */
        case ENOTCONN:
        case EDESTADDRREQ:
            connected = 0; /* connect again, maybe to its successor */
            break;
        case ENOBUFS:
        case ENOMEM:
        case ETOOMANYREFS: /* descriptors in flight to a busy handler count
                            * against our RLIMIT_NOFILE: it drains them */
            break;
        default:
            fprintf(stderr, "%s: passing %zu fd(s) to %s: %s%s\n", prog, n, path, strerror(e),
                    e == EACCES ? " (the handler's socket must be writable by the user portlisten runs as: see --user)"
                                : "");
            return -2;
        }
        if (attempt == 0 && outage_since == 0) {
            outage_since = now_ms();
            if (e != EAGAIN)
                fprintf(stderr,
                        "%s: no handler at %s (%s), retrying %zu connection(s) every %d ms for up to a minute\n", prog,
                        path, strerror(e), n, RETRY_INTERVAL_MS);
        }
        if (now_ms() >= outage_since + RETRY_LIMIT_MS) {
            if (!told_giving_up)
                fprintf(stderr,
                        "%s: still no handler at %s after a minute (%s): closing connections unserved until one "
                        "is back\n",
                        prog, path, strerror(e));
            told_giving_up = 1;
            return -1;
        }
        if (stop_requested(wait_ms))
            return -1;
    }
}

/* 1 if a connection is waiting on `lsock` right now. Asking poll costs a
 * fraction of a failed accept4, which allocates a whole socket (an inode
 * and a file) before it finds the queue empty: measured here at 8-16 us
 * against under 1 us, on every batch. */
static int pending(int lsock) {
    struct pollfd p = {.fd = lsock, .events = POLLIN};
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/*
 * Wait for a connection on `lsock` (blocking), then accept every other one
 * pending now, up to `max` in all, into `batch` (with `max` 1, the default,
 * nothing is asked after the one accept). A connection in the accept
 * queue stays there until accepted (even one reset by its client), so an
 * accept after `pending` does not block. Returns how many (0 after a stop
 * signal); -1 on an error that stops portlisten.
 */
static int accept_batch(int lsock, int *batch, size_t max) {
    size_t n = 0;
    while (n < max) {
        if (stopping)
            return (int)n;
        int conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
        if (conn >= 0) {
            batch[n++] = conn;
            if (n == max || !pending(lsock))
                return (int)n;
            continue;
        }
        if (stopping) /* EINVAL or EINTR: the handler shut the socket */
            return (int)n;
        switch (errno) {
        case EAGAIN:
            return (int)n;
        case EINTR:
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
        case EMFILE: /* out of descriptors or memory: pass what we have, */
        case ENFILE: /* or back off and retry */
        case ENOBUFS:
        case ENOMEM:
            if (n > 0)
                return (int)n;
            fprintf(stderr, "%s: accept: %s; retrying\n", prog, strerror(errno));
            (void)stop_requested(RETRY_INTERVAL_MS);
            return 0;
        default:
            perror("accept");
            for (size_t i = 0; i < n; i++)
                close(batch[i]);
            return -1;
        }
    }
    return (int)n;
}

int main(int argc, char **argv) {
    int listener_mode = 0;
    size_t max_batch = 1; /* the classic protocol, unless asked */
    const char *addr = "127.0.0.1";
    const char *user = "nobody";
    int user_given = 0;
    int i = 1;
    if (tool_start(prog) != 0)
        return 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            print_version(prog);
            return 0;
        } else if (strcmp(argv[i], "--listener") == 0)
            listener_mode = 1;
        else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
            user = argv[++i];
            user_given = 1;
        } else if (strcmp(argv[i], "--handler-user") == 0 && i + 1 < argc) {
            struct tool_user h;
            if (tool_resolve_user(prog, argv[++i], &h) != 0)
                return 2;
            handler_uid = h.uid;
        } else if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc)
            addr = argv[++i];
        else if (strcmp(argv[i], "--max-batch") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || v < 1 || v > FDCRED_MAX_FDS) {
                fprintf(stderr, "%s: --max-batch takes 1 to %d\n", prog, FDCRED_MAX_FDS);
                return 2;
            }
            max_batch = (size_t)v;
        } else if (strcmp(argv[i], "--") == 0) {
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
    struct sockaddr_un to = {.sun_family = AF_UNIX};
    if (path[0] == '\0' || strlen(path) >= sizeof to.sun_path) {
        fprintf(stderr, "%s: socket path must be 1 to %zu bytes\n", prog, sizeof to.sun_path - 1);
        return 2;
    }
    memcpy(to.sun_path, path, strlen(path) + 1);

    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    /* As root: whom to become once bound, resolved before anything is.
     * Not root, there is nothing to drop: an explicit --user must be us. */
    struct tool_user become = {0};
    if ((geteuid() == 0 || user_given) && tool_resolve_user(prog, user, &become) != 0)
        return 2;
    int drop = geteuid() == 0 && become.uid != 0;
    if (geteuid() != 0 && user_given && become.uid != geteuid()) {
        fprintf(stderr, "%s: --user %s needs root (we are uid %u)\n", prog, user, (unsigned)geteuid());
        return 2;
    }
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        fprintf(stderr, "%s: bad IPv4 address '%s'\n", prog, addr);
        return 2;
    }

    /* Descriptors queued to the handler count against our RLIMIT_NOFILE
     * (ETOOMANYREFS past it): all the room we may have. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &nofile);
    }

    /* Nothing the caller had open (a root shell's files) stays with us once
     * we run as USER. */
    tool_close_from(3);

    if (tool_catch_stop_signals(on_stop) != 0) /* no SA_RESTART: see on_stop */
        return 1;

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
    /* Room for full batches while the handler is busy or restarting. */
    if (listen(lsock, SOMAXCONN) != 0) {
        perror("listen");
        goto out;
    }
    socklen_t slen = sizeof sin;
    if (getsockname(lsock, (struct sockaddr *)&sin, &slen) != 0) {
        perror("getsockname");
        goto out;
    }
    /* Connected to the handler in pass_fds, and again to a restarted one
     * (a new socket at the same path). */
    dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (dgram < 0) {
        perror("socket(AF_UNIX, SOCK_DGRAM)");
        goto out;
    }
    /* A send to a handler whose queue is full blocks at most this long
     * before the retry loop looks for a stop signal. */
    struct timeval tv = {.tv_sec = 0, .tv_usec = RETRY_INTERVAL_MS * 1000};
    if (setsockopt(dgram, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        perror("setsockopt(SO_SNDTIMEO)");
        goto out;
    }
    /* Bound: root is needed for nothing else (accept and sendmsg need no
     * privilege, and the handler's socket is USER's to write). */
    if (drop) {
        if (tool_become(prog, &become) != 0)
            goto out;
        /* Nothing of root's working directory kept open either (a
         * relative SOCKPATH is looked up from it: then it stays). */
        if (path[0] == '/' && chdir("/") != 0) {
            perror("chdir /");
            goto out;
        }
        printf("%s: running as uid %u gid %u (%s) from now on\n", prog, (unsigned)become.uid, (unsigned)become.gid,
               become.name[0] ? become.name : "no passwd entry");
    }
    printf("%s: listening on %s:%u, passing %s to %s\n", prog, addr, (unsigned)ntohs(sin.sin_port),
           listener_mode ? "the listening socket" : "connections", path);
    if (fflush(stdout) != 0) {
        perror("stdout");
        goto out;
    }

    if (listener_mode) {
        /* No shutdown from the signal handler here: once passed, the
         * listening socket is the handler's too. */
        if (pass_fds(dgram, &to, path, &lsock, 1, 'L') != 0) {
            status = stopping ? 0 : 1;
            goto out;
        }
        printf("%s: passed the listening socket (fd %d); the handler accepts from now on\n", prog, lsock);
        fflush(stdout);
        status = 0;
        goto out;
    }

    lsock_for_signal = lsock;
    static int batch[FDCRED_MAX_FDS];
    while (!stopping) {
        int n = accept_batch(lsock, batch, max_batch);
        if (n < 0)
            goto out;
        if (n == 0)
            continue;
        /* Sent: the handler has its own copies. Not sent (after a minute
         * without a handler, or a stop): closing ours tells the clients (end
         * of file) rather than leaving them hanging. */
        int passed = pass_fds(dgram, &to, path, batch, (size_t)n, 'C');
        for (int k = 0; k < n; k++)
            if (close(batch[k]) != 0)
                fprintf(stderr, "%s: close(%d): %s\n", prog, batch[k], strerror(errno));
        if (passed == -2)
            goto out;
    }
    fprintf(stderr, "%s: got signal %d, stopping\n", prog, (int)stopping);
    status = 0;

out:
    lsock_for_signal = -1; /* before the close: the number may be reused */
    if (lsock >= 0)
        close(lsock);
    if (dgram >= 0)
        close(dgram);
    return status;
}
