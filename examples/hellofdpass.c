/*
 * hellofdpass: the unprivileged half of a port listener.
 *
 *   hellofdpass [--log] [COMMON] SOCKPATH STRING
 *   hellofdpass --exec [--user USER] [--fds N] [--fdnames NAME[:NAME...]]
 *               [--keep-stdin] [--keep-tty] [--setenv NAME=VALUE]... [COMMON]
 *               SOCKPATH PROGRAM [ARG...]
 *   hellofdpass --help | --version
 *
 *   COMMON: [--mode MODE] [--allow USER]...
 *
 * Binds SOCKPATH as a SOCK_DGRAM Unix socket (removing a stale one left by a
 * handler that died; refusing if a live handler or a non-socket is there)
 * and receives descriptors from portlisten or any classic sender, as many
 * as a datagram carries (up to FDCRED_MAX_FDS). It needs no privilege: the
 * port was bound by someone else.
 *
 * Who may hand it anything: the socket is created with mode MODE (octal,
 * default 0600: its owner only, whatever the umask), and every datagram
 * carries its sender's credentials (SO_PASSCRED, enabled before the bind,
 * checked per message, so a descriptor passed on to another process does
 * not vouch for it): only root, hellofdpass's own uid and the uids named by
 * --allow (and, in exec mode run as root, the --user) are served. A
 * datagram from anyone else has its descriptors closed unused and is
 * ignored; the first from each such uid is reported on stderr, and the stop
 * line counts them all.
 *
 * Greeter (the first form): each connected socket gets STRING written to it
 * and is closed; a listening socket (portlisten --listener) is kept, and
 * every connection accepted on it gets STRING. A client that does not read
 * gets 5 seconds in all for the whole greeting (not per partial write).
 * Per connection it makes the two calls a greeter needs (send, close) and
 * prints nothing; --log prints one line per connection (its peer address,
 * and its place in the datagram that brought it).
 *
 * Exec (the second form): instead of greeting, wait for N (default 1)
 * listening sockets, then become PROGRAM the way systemd starts a
 * socket-activated service with User=: the sockets as fds 3, 4, ... (in the
 * order they arrived, close-on-exec cleared), every other descriptor above
 * 2 closed, stdin from /dev/null (--keep-stdin: inherited), stdout and
 * stderr from /dev/null too when they are a terminal (--keep-tty:
 * inherited; a terminal open for writing can still be read and its modes
 * changed), in a new session with no controlling terminal (so it cannot
 * type into the operator's terminal with TIOCSTI, nor be signalled
 * through it), working
 * directory /, umask 022, every signal at its default and none blocked,
 * and a clean environment: PATH (systemd's default), HOME,
 * USER, LOGNAME and SHELL from the user's passwd entry, LISTEN_FDS=N,
 * LISTEN_PID=its pid, LISTEN_FDNAMES the given names (default "listener"
 * each), and what --setenv adds; nothing else of the caller's. With
 * --user (a name or a numeric uid; needs root) it drops to that user's
 * uid, gid and supplementary groups (a uid with no passwd entry gets gid
 * 65534, nogroup, and no groups), and SOCKPATH is given to USER (so that
 * portlisten, running as USER once bound, can reach it). So an unmodified
 * daemon that supports socket activation serves a port below 1024 without
 * ever being root:
 *
 *   hellofdpass --exec --user nobody /run/web.sock -- /usr/sbin/daemon ARGS &
 *   portlisten --listener --addr 0.0.0.0 80 /run/web.sock
 *
 * The daemon keeps hellofdpass's pid (LISTEN_PID) unless hellofdpass leads
 * its process group (started by an interactive shell), where a new session
 * cannot be made in place: then the daemon is a child, LISTEN_PID is its
 * pid, and hellofdpass (holding nothing; with --user as USER, not dumpable)
 * waits for it, passes on SIGINT and SIGTERM (not the terminal's SIGHUP: the
 * daemon is detached from it), and exits with its status (128 + the signal
 * that killed it).
 *
 * SIGINT/SIGTERM stop it without losing a connection: it stops taking new
 * datagrams (senders see EPIPE and retry), greets every connection already
 * queued to it, removes SOCKPATH and exits 0 (in exec mode before the exec:
 * exit 0 without running PROGRAM). (Killed with SIGKILL, the connections
 * still queued are closed by the kernel: their clients see end of file,
 * never a hang.)
 *
 * On stdout: one line when ready (and with --log one per connection). On
 * stderr at a stop: how many connections it greeted from how many
 * datagrams, the most descriptors one datagram carried, and how many
 * datagrams from strangers it refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fdcred.h>
#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define MAX_LISTEN_FDS 64
#define MAX_ALLOWED 16
#define MAX_SETENV 32
#define GREET_LIMIT_MS 5000 /* for a whole greeting, per connection */
/* systemd's default PATH for services. */
#define DAEMON_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *prog = "hellofdpass";
static const char *greeting;
static size_t greeting_len;
static int log_each; /* --log */

/* Counted always (two additions per datagram), printed at a stop. */
static unsigned long greeted, messages, largest_message, refused;

/* Besides root and our own uid, the senders we take descriptors from. */
static uid_t allowed[MAX_ALLOWED + 1];
static size_t nallowed;

/* Exec mode: what to become, and the listening sockets collected so far. */
static struct {
    int on;
    char **argv;
    size_t want;
    const char *names;
    int switch_user;
    struct tool_user user; /* whom the daemon runs as (ourselves without --user) */
    int keep_stdin;
    int keep_tty;
    const char *setenv[MAX_SETENV]; /* NAME=VALUE */
    size_t nsetenv;
    int fds[MAX_LISTEN_FDS];
    size_t have;
} ex;

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

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Close a descriptor someone else chose without waiting on it: a socket
 * whose sender turned SO_LINGER on and left data unsent would make close
 * wait for the linger time it set. Lingering off (the default; not {1, 0},
 * which would reset the connection for whoever else holds it), as the
 * library does for descriptors it closes. Not a socket: the setsockopt
 * fails and changes nothing (a FUSE file's close can still hang: only a
 * trusted sender may write to the socket, see --mode).
 */
static void close_unwanted(int fd) {
    struct linger off = {.l_onoff = 0, .l_linger = 0};
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
    close(fd);
}

/*
 * Write the greeting to a connection and close it. The common case is one
 * non-blocking send that takes the whole greeting (a new connection's send
 * buffer is empty); only a greeting that does not fit waits, and a client
 * that does not read gets GREET_LIMIT_MS for all of it: one deadline, so a
 * client reading a byte now and then cannot stretch it. `how` and the place
 * `k` of `n` in its datagram are for --log.
 */
static void greet(int conn, const char *how, size_t k, size_t n) {
    char peer[128] = "";
    if (log_each)
        describe_peer(conn, peer, sizeof peer);
    size_t done = 0;
    long long deadline = 0; /* from the first write that did not take it all */
    int failure = 0;        /* an errno, or ETIMEDOUT for the deadline */
    while (done < greeting_len) {
        /* MSG_NOSIGNAL: a client that left must not kill us. */
        ssize_t sent = send(conn, greeting + done, greeting_len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent >= 0) {
            done += (size_t)sent;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            failure = errno;
            break;
        }
        long long now = now_ms();
        if (deadline == 0)
            deadline = now + GREET_LIMIT_MS;
        if (now >= deadline) {
            failure = ETIMEDOUT;
            break;
        }
        struct pollfd p = {.fd = conn, .events = POLLOUT};
        if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR) {
            failure = errno;
            break;
        }
    }
    if (failure) {
        if (!log_each)
            describe_peer(conn, peer, sizeof peer);
        fprintf(stderr, "%s: writing to %s (fd %d): %s\n", prog, peer, conn,
                failure == ETIMEDOUT ? "client not reading, 5 s for the whole greeting are up, gave up"
                                     : strerror(failure));
    }
    if (failure) {
        close_unwanted(conn); /* given up on: its sender's linger must not hold us too */
        return;
    }
    if (close(conn) != 0)
        fprintf(stderr, "%s: close(%d): %s\n", prog, conn, strerror(errno));
    greeted++;
    if (log_each) {
        if (n > 0)
            printf("%s: %s fd %d (%zu of %zu in one datagram) from %s, wrote %zu bytes, closed it\n", prog, how, conn,
                   k, n, peer, done);
        else
            printf("%s: %s fd %d from %s, wrote %zu bytes, closed it\n", prog, how, conn, peer, done);
        fflush(stdout);
    }
}

/* 1 if `fd` is a listening socket, 0 if another socket, -1 (closed, with a
 * message) if not a usable socket. */
static int is_listening(int fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0) {
        fprintf(stderr, "%s: received fd %d is not a usable socket (%s); closed it\n", prog, fd, strerror(errno));
        close(fd);
        return -1;
    }
    return listening != 0;
}

/*
 * Listener mode waits in accept4 itself, as a server that binds its own
 * port does: no poll in front of each connection. Two things must still
 * wake it there: a stop signal, and a datagram (a restarted portlisten
 * handing over a new listener, or connections). The datagram socket raises
 * SIGIO (O_ASYNC) once a listener is kept. Both handlers make the listener
 * non-blocking, so a wake-up that lands between the main loop's checks and
 * its accept4 is not lost: that accept4 returns EAGAIN at once (a restarted
 * one too: it reads the file's flags anew), and the loop looks again.
 */
static volatile sig_atomic_t listener_for_signal = -1;
static volatile sig_atomic_t datagram_waiting;

static int set_nonblocking(int fd, int on) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    if ((fl & O_NONBLOCK) == (on ? O_NONBLOCK : 0))
        return 0;
    return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static void wake_listener(void) {
    if (listener_for_signal >= 0)
        set_nonblocking(listener_for_signal, 1); /* fcntl: async-signal-safe */
}

static void on_datagram(int sig) {
    int saved = errno;
    (void)sig;
    datagram_waiting = 1;
    wake_listener();
    errno = saved;
}

/* From the first kept listener on, a datagram raises SIGIO. */
static int arm_datagram_signal(int dgram) {
    struct sigaction sa = {.sa_handler = on_datagram, .sa_flags = SA_RESTART};
    sigfillset(&sa.sa_mask);
    sigset_t io;
    sigemptyset(&io);
    sigaddset(&io, SIGIO); /* a blocked SIGIO (inherited) would never wake us */
    int fl;
    if (sigaction(SIGIO, &sa, NULL) != 0 || sigprocmask(SIG_UNBLOCK, &io, NULL) != 0 ||
        fcntl(dgram, F_SETOWN, getpid()) != 0 || (fl = fcntl(dgram, F_GETFL)) < 0 ||
        fcntl(dgram, F_SETFL, fl | O_ASYNC) != 0) {
        perror("SIGIO on the datagram socket");
        return -1;
    }
    return 0;
}

/* Greeter: keep a received listening socket and accept on it from now on. */
static void keep_listener(int fd, int *lsock) {
    /* Blocking: the main loop waits in accept4 (see above). portlisten
     * --listener has handed over and exited; nobody else uses this open
     * file, so its flags are ours to change. */
    if (set_nonblocking(fd, 0) != 0) {
        fprintf(stderr, "%s: fcntl(O_NONBLOCK) on fd %d: %s; closed it\n", prog, fd, strerror(errno));
        close(fd);
        return;
    }
    if (*lsock >= 0) {
        listener_for_signal = -1; /* before the close: the number may be reused */
        close(*lsock);
    }
    *lsock = fd;
    listener_for_signal = fd;
    printf("%s: received a listening socket (fd %d), accepting on it\n", prog, fd);
    fflush(stdout);
}

/*
 * Accept one connection on the listening socket and greet it: 1 when it
 * greeted one, 0 when there was none to take (EAGAIN: non-blocking, as a
 * handler leaves it and as the stop's drain sets it; EINTR), -1 on another
 * error (EMFILE and friends: the connection stays queued), reported.
 */
static int accept_one(int lsock) {
    for (;;) {
        int conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
        if (conn >= 0) {
            greet(conn, "accepted", 0, 0);
            return 1;
        }
        if (errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (errno == EAGAIN || errno == EINTR)
            return 0;
        fprintf(stderr, "%s: accept on fd %d: %s\n", prog, lsock, strerror(errno));
        return -1;
    }
}

/* Exec mode: collect a listening socket; anything else is not for us. */
static void collect_listener(int fd) {
    int l = is_listening(fd);
    if (l < 0)
        return;
    if (!l || ex.have >= ex.want) {
        fprintf(stderr, "%s: exec mode takes %zu listening socket(s) (portlisten --listener); closed fd %d (%s)\n",
                prog, ex.want, fd, l ? "one too many" : "a connection");
        close_unwanted(fd);
        return;
    }
    ex.fds[ex.have++] = fd;
    printf("%s: received listening socket %zu of %zu (fd %d)\n", prog, ex.have, ex.want, fd);
    fflush(stdout);
}

/*
 * The `n` descriptors of one datagram, all ours now. The tag says what they
 * are: 'C' connections (greeted without another look), anything else is
 * examined one by one.
 */
static void take_fds(char tag, const int *fds, size_t n, int *lsock) {
    messages++;
    if (n > largest_message)
        largest_message = n;
    for (size_t k = 0; k < n; k++) {
        if (ex.on) {
            collect_listener(fds[k]);
        } else if (tag == 'C') {
            greet(fds[k], "received connection", k + 1, n);
        } else {
            int l = is_listening(fds[k]);
            if (l > 0)
                keep_listener(fds[k], lsock);
            else if (l == 0)
                greet(fds[k], "received connection", k + 1, n);
        }
    }
}

/*
 * Stop signals. The handler marks the stop and shuts the socket for
 * reading, which wakes a receive blocked on it (and makes poll report it
 * readable): the queue is then served to its end, after which a receive
 * returns 0 at once. So the common path waits in the receive itself, with
 * no poll in front of it, and no signal is missed between a check and a
 * blocking call.
 */
static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t dgram_for_signal = -1;

static void on_stop(int sig) {
    int saved = errno;
    stop_signal = sig;
    if (dgram_for_signal >= 0)
        shutdown(dgram_for_signal, SHUT_RD);
    wake_listener();
    errno = saved;
}

/* May `uid` ((uid_t)-1: the kernel did not say) hand us descriptors? */
static int sender_allowed(uid_t uid) {
    static uid_t me = (uid_t)-1; /* ours never changes before the exec */
    if (uid == (uid_t)-1)
        return 0;
    if (me == (uid_t)-1)
        me = getuid();
    if (uid == 0 || uid == me)
        return 1;
    for (size_t i = 0; i < nallowed; i++)
        if (allowed[i] == uid)
            return 1;
    return 0;
}

/*
 * A datagram from a stranger: close its descriptors unused, count it, and
 * say so the first time each uid does it (a stranger who can write the
 * socket must not be able to fill the log either).
 */
static void refuse(uid_t uid, int pid, const int *fds, size_t n) {
    static uid_t reported[32];
    static size_t nreported;
    for (size_t k = 0; k < n; k++)
        close_unwanted(fds[k]);
    refused++;
    for (size_t i = 0; i < nreported; i++)
        if (reported[i] == uid)
            return;
    if (nreported == sizeof reported / sizeof reported[0])
        return;
    reported[nreported++] = uid;
    char who[16] = "?";
    if (uid != (uid_t)-1)
        snprintf(who, sizeof who, "%u", (unsigned)uid);
    fprintf(stderr,
            "%s: REFUSED a datagram with %zu fd(s) from uid %s (pid %d): only root, uid %u and --allow are served; "
            "closed its fds (reported once per uid)\n",
            prog, n, who, pid, (unsigned)getuid());
}

/*
 * Receive one datagram (`flags` 0: wait for it; FDCRED_NONBLOCK: only if
 * one is queued) and take every descriptor in it. Returns 1 when something
 * was read, 0 when nothing is left (empty queue, or the end after a stop),
 * -1 on an error that stops the handler.
 */
static int receive_one(int dgram, unsigned flags, int *lsock) {
    static int fds[FDCRED_MAX_FDS];
    char tag[8];
    struct iovec iov = {.iov_base = tag, .iov_len = sizeof tag};
    struct fdcred_cred cred;
    struct fdcred_msg m = {.iov = &iov, .iovlen = 1, .fds = fds, .nfds = FDCRED_MAX_FDS, .cred = &cred};
    ssize_t n = fdcred_recvmsg(dgram, &m, flags);
    if (n < 0) {
        if (errno == EAGAIN)
            return 0;
        perror("fdcred_recvmsg");
        return -1;
    }
    /* The end of the queue after a stop reads as an empty datagram without
     * credentials; a real one always has them (SO_PASSCRED before bind),
     * so a stranger's empty datagram cannot end the drain early. */
    int end_of_queue = n == 0 && m.nfds == 0 && stop_signal && !(m.result & FDCRED_MSG_CRED);
    if (!end_of_queue) {
        /* Not the end of the queue after a stop: whose datagram is it? */
        uid_t uid = (m.result & FDCRED_MSG_CRED) && (cred.known & FDCRED_CRED_UID) ? cred.uid : (uid_t)-1;
        if (!sender_allowed(uid)) {
            refuse(uid, (cred.known & FDCRED_CRED_PID) ? (int)cred.pid : -1, fds, m.nfds);
            return 1;
        }
    }
    if (m.result & FDCRED_MSG_CTRUNC)
        fprintf(stderr, "%s: a datagram's fds were truncated by the kernel (out of descriptors?); all were closed\n",
                prog);
    else if (m.result & FDCRED_MSG_FDS_OVERFLOW)
        fprintf(stderr, "%s: a datagram carried more than %d fds; all were closed\n", prog, FDCRED_MAX_FDS);
    else if (m.nfds > 0)
        take_fds(n > 0 ? tag[0] : '\0', fds, m.nfds, lsock);
    else if (end_of_queue)
        return 0; /* after shutdown(SHUT_RD) */
    else
        fprintf(stderr, "%s: ignored a %zd-byte datagram without a descriptor\n", prog, n);
    return 1;
}

/* Receive every datagram queued now. 0 when the queue is empty (or exec
 * mode has all its sockets), -1 on an error that stops the handler. */
static int receive_all(int dgram, int *lsock) {
    int r;
    while (!(ex.on && ex.have == ex.want) && (r = receive_one(dgram, FDCRED_NONBLOCK, lsock)) != 0)
        if (r < 0)
            return -1;
    return 0;
}

static int valid_names(const char *names, size_t want) {
    size_t count = 1, len = 0;
    for (const char *c = names;; c++) {
        if (*c == ':' || *c == '\0') {
            if (len == 0 || len > 255)
                return 0;
            if (*c == '\0')
                break;
            count++;
            len = 0;
        } else if (*c < 0x21 || *c > 0x7e) {
            return 0;
        } else {
            len++;
        }
    }
    return count == want;
}

/* Remove `path` only if it is still the socket we bound (not a successor's). */
static void remove_if_ours(const char *path, const struct stat *mine) {
    struct stat now;
    if (lstat(path, &now) == 0 && now.st_dev == mine->st_dev && now.st_ino == mine->st_ino && unlink(path) != 0)
        fprintf(stderr, "%s: removing %s: %s\n", prog, path, strerror(errno));
}

/*
 * Exec mode, when the daemon had to be a child: hold nothing (descriptors
 * from `lowest` up closed: the listening sockets are the daemon's alone),
 * pass SIGINT and SIGTERM on to it, and exit as it does. Runs as the
 * daemon's user already, non-dumpable, so the daemon cannot take over this
 * process (which keeps the operator's terminal).
 */
static volatile sig_atomic_t daemon_pid;

static void relay_signal(int sig) {
    int saved = errno;
    if (daemon_pid > 0)
        kill((pid_t)daemon_pid, sig);
    errno = saved;
}

static void wait_for_daemon(pid_t child, int lowest) {
    tool_close_from(lowest);
    for (int fd = 3; fd < lowest; fd++)
        close(fd);
    daemon_pid = child;
    struct sigaction sa = {.sa_handler = relay_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (stop_signal) /* came between the fork and the handlers: pass it on */
        kill(child, (int)stop_signal);
    printf("%s: the daemon runs as pid %d in its own session; waiting for it\n", prog, (int)child);
    fflush(stdout);
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR)
            _exit(1);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/*
 * Become the socket-activated program. Called with every listening socket
 * collected, SOCKPATH already removed and our own sockets closed. Returns
 * only on failure (the caller exits 1).
 */
static void exec_activated(void) {
    size_t n = ex.have;
    int first = 3;
    /* Out of the way first (above 3 + n), so that moving them into 3, 4, ...
     * overwrites none still to be moved. */
    for (size_t i = 0; i < n; i++) {
        int high = fcntl(ex.fds[i], F_DUPFD_CLOEXEC, first + (int)n);
        if (high < 0) {
            perror("fcntl(F_DUPFD_CLOEXEC)");
            return;
        }
        close(ex.fds[i]);
        ex.fds[i] = high;
    }
    for (size_t i = 0; i < n; i++) {
        /* dup2 leaves the new descriptor without close-on-exec. */
        if (dup2(ex.fds[i], first + (int)i) < 0) {
            perror("dup2");
            return;
        }
        close(ex.fds[i]);
    }
    /* Nothing else of ours, or inherited, leaks into the daemon. */
    tool_close_from(first + (int)n);
    /* Nor the operator's terminal as its input. */
    if (!ex.keep_stdin) {
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || (null != 0 && (dup2(null, 0) < 0 || close(null) != 0))) {
            perror("stdin from /dev/null");
            return;
        }
    }
    if (ex.switch_user && tool_become(prog, &ex.user) != 0)
        return;
    /* A new session: no controlling terminal, so the daemon cannot type
     * into the operator's (TIOCSTI needs it to be the caller's controlling
     * terminal), open /dev/tty, or get its signals. */
    if (setsid() < 0) {
        if (errno != EPERM) {
            perror("setsid");
            return;
        }
        /* We lead our process group (an interactive shell's job): only a
         * child can make a new session. */
        pid_t child = fork();
        if (child < 0) {
            perror("fork");
            return;
        }
        if (child > 0)
            wait_for_daemon(child, first + (int)n);
        if (setsid() < 0) {
            perror("setsid");
            return;
        }
    }
    if (chdir("/") != 0) {
        perror("chdir /");
        return;
    }

    char count[16], pid[16];
    snprintf(count, sizeof count, "%zu", n);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    /* The default names, "listener:listener:...": up to 64 x 9 bytes. */
    char names[MAX_LISTEN_FDS * 9];
    if (!ex.names) {
        names[0] = '\0';
        for (size_t i = 0; i < n; i++)
            strcat(names, i ? ":listener" : "listener");
    }
    /* A clean environment, as systemd gives a service with User=: nothing
     * of the caller's (root's HOME, PATH, ...). */
    const char *user = ex.user.name;
    char uid[16];
    snprintf(uid, sizeof uid, "%u", (unsigned)ex.user.uid);
    if (clearenv() != 0 || setenv("PATH", DAEMON_PATH, 1) != 0 || setenv("HOME", ex.user.home, 1) != 0 ||
        setenv("USER", user[0] ? user : uid, 1) != 0 || setenv("LOGNAME", user[0] ? user : uid, 1) != 0 ||
        setenv("SHELL", ex.user.shell, 1) != 0 || setenv("LISTEN_FDS", count, 1) != 0 ||
        setenv("LISTEN_PID", pid, 1) != 0 || setenv("LISTEN_FDNAMES", ex.names ? ex.names : names, 1) != 0) {
        perror("setenv");
        return;
    }
    for (size_t i = 0; i < ex.nsetenv; i++)
        if (putenv((char *)ex.setenv[i]) != 0) {
            perror("putenv");
            return;
        }
    /* What exec would pass on from the operator's shell: signals ignored
     * (nohup's SIGHUP, a SIGPIPE) or blocked, and a umask (000 makes every
     * file the daemon creates writable by all). Reset as systemd does. */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL); /* EINVAL for the numbers that are no signal */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    umask(022);
    /* After the reset: a stop signal from now on ends us (its default),
     * one before it was marked. */
    if (stop_signal) {
        fprintf(stderr, "%s: got signal %d before the exec; not running %s\n", prog, (int)stop_signal, ex.argv[0]);
        return;
    }
    fflush(NULL);
    /* Nor the operator's terminal as its stdout and stderr: not being its
     * controlling terminal stops job control, not read(1, ...), which would
     * race the shell for the operator's keystrokes, nor tcsetattr or a
     * flush of its input. A write-only /dev/null, not the terminal reopened
     * write-only: the terminal ioctls work on any open mode. A copy of our
     * stderr, closed by the exec, says why an exec failed. */
    int err = fcntl(2, F_DUPFD_CLOEXEC, first + (int)n);
    if (!ex.keep_tty && (isatty(1) || isatty(2))) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        for (int fd = 1; fd <= 2 && null >= 0; fd++)
            if (isatty(fd) && dup2(null, fd) < 0)
                null = -1;
        if (null < 0) {
            dprintf(err, "%s: stdout and stderr to /dev/null: %s\n", prog, strerror(errno));
            return;
        }
        close(null);
    }
    execvp(ex.argv[0], ex.argv);
    dprintf(err, "%s: exec %s: %s\n", prog, ex.argv[0], strerror(errno));
}

static const char usage_text[] =
    "usage: hellofdpass [--log] [--mode MODE] [--allow USER]... SOCKPATH STRING\n"
    "       hellofdpass --exec [--user USER] [--fds N] [--fdnames NAME[:NAME...]] [--keep-stdin]\n"
    "                   [--keep-tty] [--setenv NAME=VALUE]... [--mode MODE] [--allow USER]... SOCKPATH PROGRAM "
    "[ARG...]\n"
    "       hellofdpass --help | --version\n"
    "\n"
    "Receive descriptors (from portlisten) on the SOCK_DGRAM Unix socket SOCKPATH and\n"
    "greet each connection with STRING, or (--exec) run PROGRAM socket-activated.\n"
    "\n"
    "  --log           one line per connection\n"
    "  --mode MODE     SOCKPATH's mode, octal (default 0600, whatever the umask)\n"
    "  --allow USER    also take descriptors from USER (root and our own uid always)\n"
    "  --exec          wait for the listening socket(s), then exec PROGRAM with them\n"
    "  --user USER     (--exec, as root) run PROGRAM as USER; SOCKPATH is USER's\n"
    "  --fds N         (--exec) how many listening sockets (default 1)\n"
    "  --fdnames A:B   (--exec) LISTEN_FDNAMES (default listener)\n"
    "  --keep-stdin    (--exec) keep stdin (default /dev/null)\n"
    "  --keep-tty      (--exec) keep stdout and stderr when a terminal (default /dev/null)\n"
    "  --setenv N=V    (--exec) add to PROGRAM's clean environment\n"
    "\n"
    "See hellofdpass(1).\n";

static void usage(void) {
    fputs(usage_text, stderr);
    exit(2);
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
    const char *user = NULL;
    mode_t mode = 0600;
    int i = 1, exec_only = 0;
    ex.want = 1;
    if (tool_start(prog) != 0)
        return 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            print_version(prog);
            return 0;
        } else if (strcmp(argv[i], "--log") == 0)
            log_each = 1;
        else if (strcmp(argv[i], "--keep-stdin") == 0)
            ex.keep_stdin = exec_only = 1;
        else if (strcmp(argv[i], "--keep-tty") == 0)
            ex.keep_tty = exec_only = 1;
        else if (strcmp(argv[i], "--setenv") == 0 && i + 1 < argc) {
            const char *eq = strchr(argv[++i], '=');
            if (!eq || eq == argv[i] || ex.nsetenv == MAX_SETENV) {
                fprintf(stderr, "%s: --setenv takes NAME=VALUE, at most %d times\n", prog, MAX_SETENV);
                return 2;
            }
            ex.setenv[ex.nsetenv++] = argv[i];
            exec_only = 1;
        } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            long v = strtol(argv[++i], &end, 8);
            if (errno != 0 || *end != '\0' || end == argv[i] || v < 0 || v > 0777) {
                fprintf(stderr, "%s: --mode takes an octal mode, 0 to 0777\n", prog);
                return 2;
            }
            mode = (mode_t)v;
        } else if (strcmp(argv[i], "--allow") == 0 && i + 1 < argc) {
            struct tool_user u;
            if (tool_resolve_user(prog, argv[++i], &u) != 0)
                return 2;
            if (nallowed == MAX_ALLOWED) {
                fprintf(stderr, "%s: at most %d --allow\n", prog, MAX_ALLOWED);
                return 2;
            }
            allowed[nallowed++] = u.uid;
        } else if (strcmp(argv[i], "--exec") == 0)
            ex.on = 1;
        else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
            user = argv[++i];
        else if (strcmp(argv[i], "--fdnames") == 0 && i + 1 < argc)
            ex.names = argv[++i];
        else if (strcmp(argv[i], "--fds") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (errno != 0 || *end != '\0' || v < 1 || v > MAX_LISTEN_FDS) {
                fprintf(stderr, "%s: --fds takes 1 to %d\n", prog, MAX_LISTEN_FDS);
                return 2;
            }
            ex.want = (size_t)v;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else
            usage();
    }
    if (ex.on ? argc - i < 2 : argc - i != 2)
        usage();
    if (!ex.on && (user || ex.names || exec_only))
        usage();
    const char *path = argv[i];
    if (ex.on) {
        if (i + 1 < argc && strcmp(argv[i + 1], "--") == 0)
            i++;
        if (i + 1 >= argc)
            usage();
        ex.argv = &argv[i + 1];
        if (ex.names && !valid_names(ex.names, ex.want)) {
            fprintf(stderr, "%s: --fdnames needs %zu name(s) separated by ':', each 1 to 255 printable characters\n",
                    prog, ex.want);
            return 2;
        }
        if (user) {
            if (tool_resolve_user(prog, user, &ex.user) != 0)
                return 2;
            ex.switch_user = 1;
            /* The daemon's user may hand it its sockets: once the daemon
             * runs, that user controls it anyway. */
            allowed[nallowed++] = ex.user.uid;
        } else {
            char me[16];
            snprintf(me, sizeof me, "%u", (unsigned)getuid());
            if (tool_resolve_user(prog, me, &ex.user) != 0)
                return 2;
        }
        if (ex.switch_user && geteuid() != 0) {
            fprintf(stderr, "%s: --user needs root\n", prog);
            return 2;
        }
        /* A relative PROGRAM path means from here, not from / where the
         * daemon starts. */
        if (strchr(ex.argv[0], '/') && ex.argv[0][0] != '/') {
            char *abs = realpath(ex.argv[0], NULL);
            if (!abs) {
                fprintf(stderr, "%s: %s: %s\n", prog, ex.argv[0], strerror(errno));
                return 2;
            }
            ex.argv[0] = abs;
        }
    } else {
        greeting = argv[i + 1];
        greeting_len = strlen(greeting);
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (path[0] == '\0' || strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "%s: socket path must be 1 to %zu bytes\n", prog, sizeof sun.sun_path - 1);
        return 2;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);

    /* Nothing the caller had open (a root shell's files) stays with us. */
    tool_close_from(3);

    if (tool_catch_stop_signals(on_stop) != 0) /* no SA_RESTART: poll returns EINTR */
        return 1;

    int status = 1, lsock = -1, bound = 0;
    struct stat mine;
    int dgram = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (dgram < 0) {
        perror("socket(AF_UNIX, SOCK_DGRAM)");
        goto out;
    }
    dgram_for_signal = dgram;
    if (stop_signal) /* it came before the handler could shut the socket */
        shutdown(dgram, SHUT_RD);
    /* Before the bind, so that no datagram ever arrives without its
     * sender's credentials (they would be made up: see PITFALLS). */
    if (fdcred_allow_recv_cred(dgram) != 0) {
        perror("fdcred_allow_recv_cred");
        goto out;
    }
    /* As root for --user: the socket is chowned to USER after the bind,
     * and nobody else may swap something else in under that name first
     * (lchown follows no symlink, but would chown a hard link). */
    if (ex.switch_user && tool_dir_trusted(prog, path, &ex.user.uid, 1) != 0) {
        if (errno == ENOENT)
            fprintf(stderr, "%s: bind %s: its directory does not exist\n", prog, path);
        goto out;
    }
    if (clear_stale(path) != 0)
        goto out;
    /* The mode from the start, whatever the caller's umask: never a moment
     * when others may write. */
    mode_t saved_umask = umask(0777 & ~mode);
    int bound_ok = bind(dgram, (struct sockaddr *)&sun, sizeof sun) == 0;
    int bind_errno = errno;
    umask(saved_umask);
    if (!bound_ok) {
        fprintf(stderr, "%s: bind %s: %s\n", prog, path, strerror(bind_errno));
        goto out;
    }
    if (lstat(path, &mine) != 0) {
        perror(path);
        goto out;
    }
    bound = 1;
    /* Exec mode as root: the socket is the daemon user's, whom portlisten
     * runs as once bound. lchown: never through a symlink put there. */
    if (ex.switch_user && lchown(path, ex.user.uid, ex.user.gid) != 0) {
        fprintf(stderr, "%s: chown %s: %s\n", prog, path, strerror(errno));
        goto out;
    }
    printf("%s: uid %u gid %u pid %d, waiting for %s on %s\n", prog, (unsigned)getuid(), (unsigned)getgid(),
           (int)getpid(), ex.on ? "listening sockets to exec with" : "descriptors", path);
    if (fflush(stdout) != 0) {
        perror("stdout");
        goto out;
    }

    int armed = 0, woken = 1;
    while (!stop_signal && !(ex.on && ex.have == ex.want)) {
        if (lsock < 0) {
            /* Only the socket to wait on: wait in the receive itself. */
            if (receive_one(dgram, 0, &lsock) < 0)
                goto out;
            continue;
        }
        if (!armed) {
            if (arm_datagram_signal(dgram) != 0)
                goto out;
            armed = 1;
        }
        if (woken || datagram_waiting) {
            /* Woken (or just given the listener): take what is queued,
             * block the listener again, then look at the flags once more
             * before waiting in accept4: a handler that ran in between
             * either set a flag seen there or left the listener
             * non-blocking. */
            datagram_waiting = 0;
            if (receive_all(dgram, &lsock) != 0)
                goto out;
            set_nonblocking(lsock, 0);
            woken = 0;
            continue;
        }
        int accepted = accept_one(lsock);
        if (accepted < 0)
            poll(NULL, 0, 100); /* a pause, not a spin */
        woken = accepted == 0;
    }

    if (!stop_signal) {
        /* Exec mode, every listening socket here: leave no path behind for a
         * sender to wait on, and become the program. */
        remove_if_ours(path, &mine);
        bound = 0;
        dgram_for_signal = -1; /* before the close: the number may be reused */
        close(dgram);
        exec_activated();
        return stop_signal ? 0 : 1; /* stopped just before the exec, or it failed */
    }
    fprintf(stderr, "%s: got signal %d, finishing what is queued\n", prog, (int)stop_signal);

    /* Graceful stop: after SHUT_RD the kernel refuses new datagrams (the
     * sender gets EPIPE and retries for the next handler); what is already
     * queued is still ours to serve. */
    if (shutdown(dgram, SHUT_RD) != 0)
        perror("shutdown(SHUT_RD)");
    status = receive_all(dgram, &lsock) == 0 ? 0 : 1;
    if (lsock >= 0) {
        set_nonblocking(lsock, 1); /* take what waits, then stop */
        while (accept_one(lsock) > 0)
            ;
    }
    fprintf(stderr,
            "%s: stopped after greeting %lu connections from %lu datagrams (at most %lu fds in one); "
            "refused %lu datagrams from strangers\n",
            prog, greeted, messages, largest_message, refused);

out:
    if (bound)
        remove_if_ours(path, &mine);
    listener_for_signal = -1;
    if (lsock >= 0)
        close(lsock);
    for (size_t k = 0; k < ex.have; k++)
        close(ex.fds[k]);
    dgram_for_signal = -1;
    if (dgram >= 0)
        close(dgram);
    return status;
}
