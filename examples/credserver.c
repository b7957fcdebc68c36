/*
 * credserver: a server that knows who is talking to it, because the kernel
 * says so.
 *
 *   credserver SOCKPATH USER
 *
 * Listens on SOCKPATH (a SOCK_SEQPACKET Unix socket, mode 0666 so any user
 * can reach it) and serves only USER (a user name or a numeric uid). The
 * identity is never taken from the client's words: the connection's peer
 * credentials (recorded by the kernel at connect) decide whether the
 * connection is served at all, and the credentials the kernel attaches to
 * each request decide whether that request is. Every request is answered
 * with the requester's pid/uid/gid:
 *
 *   pid 1234 uid 65534 gid 65534
 *
 * Anyone else gets "refused: ..." and the connection is closed; each refusal
 * is logged on stderr. So does a client whose uid the kernel cannot vouch
 * for ("uid ?"): run in a user namespace (a rootless container), the server
 * sees host users that namespace does not map as unknown, never as the
 * overflow uid 65534, so serving 65534 does not serve host root. Clients are
 * served one at a time, each for at most 10 seconds of silence; a refused
 * one is read from (so that it gets the refusal, not a reset) for 2 seconds
 * in all. SIGINT/SIGTERM stop it (exit 0).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fdcred.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_LIMIT_MS 2000 /* after a refusal, in all */

static const char *prog = "credserver";
static uid_t allowed_uid;
static char allowed_name[64];

/* "pid 12 uid 0 gid 0", with "?" for what the kernel did not vouch for. */
static void format_cred(const struct fdcred_cred *c, char *out, size_t size) {
    char pid[16] = "?", uid[16] = "?", gid[16] = "?";
    if (c->known & FDCRED_CRED_PID)
        snprintf(pid, sizeof pid, "%d", (int)c->pid);
    if (c->known & FDCRED_CRED_UID)
        snprintf(uid, sizeof uid, "%u", (unsigned)c->uid);
    if (c->known & FDCRED_CRED_GID)
        snprintf(gid, sizeof gid, "%u", (unsigned)c->gid);
    snprintf(out, size, "pid %s uid %s gid %s", pid, uid, gid);
}

static int is_allowed(const struct fdcred_cred *c) { return (c->known & FDCRED_CRED_UID) && c->uid == allowed_uid; }

static void reply(int conn, const char *text) {
    /* One record; MSG_NOSIGNAL: a client that left must not kill us. */
    if (send(conn, text, strlen(text), MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
        fprintf(stderr, "%s: replying on fd %d: %s\n", prog, conn, strerror(errno));
}

/*
 * After a refusal: say we are done writing, then read and drop whatever the
 * client still sends until it hangs up, for at most 2 s in all (one
 * deadline: a client that keeps talking cannot stretch it). Closing a Unix
 * socket with unread data would reset the connection, and the client would
 * get ECONNRESET instead of reading the refusal queued for it.
 */
static void hang_up_gently(int conn) {
    if (shutdown(conn, SHUT_WR) != 0)
        return;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left_ms = DRAIN_LIMIT_MS - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left_ms <= 0)
            return;
        struct pollfd p = {.fd = conn, .events = POLLIN};
        int r = poll(&p, 1, (int)left_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return;
        char drop[256];
        /* fdcred_recv_fds with no room: any descriptors sent are closed. */
        size_t nfds = 0;
        ssize_t n = fdcred_recv_fds(conn, drop, sizeof drop, NULL, &nfds);
        if (n == 0 || (n < 0 && errno != EMSGSIZE && errno != EBADMSG && errno != EAGAIN))
            return;
    }
}

static void refuse(int conn, const struct fdcred_cred *c, const char *what) {
    char who[96], msg[256];
    format_cred(c, who, sizeof who);
    fprintf(stderr, "%s: REFUSED %s from %s: only uid %u (%s) is served\n", prog, what, who, (unsigned)allowed_uid,
            allowed_name);
    snprintf(msg, sizeof msg, "refused: you are %s; this server serves only uid %u (%s)", who, (unsigned)allowed_uid,
             allowed_name);
    reply(conn, msg);
    hang_up_gently(conn);
}

/* Serve one connection until the client closes, misbehaves or stalls. */
static void serve(int conn) {
    struct fdcred_cred peer;
    if (fdcred_peer_cred(conn, &peer) != 0) {
        fprintf(stderr, "%s: fdcred_peer_cred: %s\n", prog, strerror(errno));
        return;
    }
    if (!is_allowed(&peer)) {
        refuse(conn, &peer, "connection");
        return;
    }
    struct timeval tv = {.tv_sec = 10, .tv_usec = 0};
    if (setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        fprintf(stderr, "%s: setsockopt(timeouts): %s\n", prog, strerror(errno));
        return;
    }
    for (;;) {
        char req[256];
        struct fdcred_cred c;
        ssize_t n = fdcred_recv_cred(conn, &c, req, sizeof req - 1);
        if (n < 0) {
            switch (errno) {
            case ECONNRESET: /* the client hung up: done */
                return;
            case ENOMSG:
                fprintf(stderr, "%s: REFUSED a request without credentials\n", prog);
                reply(conn, "refused: the request carried no credentials");
                hang_up_gently(conn);
                return;
            case EAGAIN:
                fprintf(stderr, "%s: client silent for 10 s, closing\n", prog);
                return;
            default:
                fprintf(stderr, "%s: fdcred_recv_cred: %s\n", prog, strerror(errno));
                return;
            }
        }
        /* Per request: whoever wrote this message, not whoever connected
         * (a connection can be handed to another process). */
        if (!is_allowed(&c)) {
            refuse(conn, &c, "request");
            return;
        }
        for (ssize_t i = 0; i < n; i++)
            if (!isprint((unsigned char)req[i]))
                req[i] = '.';
        req[n] = '\0';
        char who[96];
        format_cred(&c, who, sizeof who);
        fprintf(stderr, "%s: answered %s (request \"%s\")\n", prog, who, req);
        reply(conn, who);
    }
}

/* Remove a stale socket at `path` (nobody listening); refuse anything else. */
static int clear_stale(const char *path, const struct sockaddr_un *sun) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : (perror(path), -1);
    if (!S_ISSOCK(st.st_mode)) {
        fprintf(stderr, "%s: %s exists and is not a socket; not removing it\n", prog, path);
        return -1;
    }
    int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (probe < 0) {
        perror("socket");
        return -1;
    }
    int r = connect(probe, (const struct sockaddr *)sun, sizeof *sun);
    int e = errno;
    close(probe);
    if (r == 0) {
        fprintf(stderr, "%s: another server is running on %s\n", prog, path);
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
    return 0;
}

static int resolve_user(const char *user) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(user, &end, 10);
    if (user[0] != '\0' && *end == '\0' && errno == 0 && isdigit((unsigned char)user[0]) && v < (uid_t)-1) {
        allowed_uid = (uid_t)v;
        struct passwd *pw = getpwuid(allowed_uid);
        snprintf(allowed_name, sizeof allowed_name, "%s", pw ? pw->pw_name : "no such user name");
        return 0;
    }
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        fprintf(stderr, "%s: unknown user '%s'%s%s\n", prog, user, errno ? ": " : "", errno ? strerror(errno) : "");
        return -1;
    }
    allowed_uid = pw->pw_uid;
    snprintf(allowed_name, sizeof allowed_name, "%s", pw->pw_name);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOCKPATH USER\n", prog);
        return 2;
    }
    const char *path = argv[1];
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (path[0] == '\0' || strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "%s: socket path must be 1 to %zu bytes\n", prog, sizeof sun.sun_path - 1);
        return 2;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if (resolve_user(argv[2]) != 0)
        return 2;

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

    int status = 1, bound = 0;
    struct stat mine, now;
    int srv = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (srv < 0) {
        perror("socket(AF_UNIX, SOCK_SEQPACKET)");
        goto out;
    }
    if (clear_stale(path, &sun) != 0)
        goto out;
    /* Everyone may connect: the server decides, not the file mode. 0666
     * through the umask at bind, never a chmod after it: chmod follows a
     * symlink, which whoever may write the directory could put in the
     * socket's place (as root: any file made 0666). */
    mode_t saved_umask = umask(0111);
    int bound_ok = bind(srv, (struct sockaddr *)&sun, sizeof sun) == 0;
    int bind_errno = errno;
    umask(saved_umask);
    if (!bound_ok) {
        fprintf(stderr, "%s: bind %s: %s\n", prog, path, strerror(bind_errno));
        goto out;
    }
    /* What we bound, so that at exit we remove it and nothing put there
     * since. */
    if (lstat(path, &mine) != 0) {
        perror(path);
        goto out;
    }
    bound = 1;
    /* Before listen: accepted connections inherit it, so no request can
     * arrive before credentials are attached (the "enabled too late" race). */
    if (fdcred_allow_recv_cred(srv) != 0) {
        perror("fdcred_allow_recv_cred");
        goto out;
    }
    /* Requests carry no descriptors: where the kernel can (Linux 6.16+),
     * a client's attempt to send one fails on its side, so none reaches
     * us to be closed. Accepted sockets are told again below. */
    if (fdcred_refuse_fds(srv) != 0 && errno != ENOPROTOOPT) {
        perror("fdcred_refuse_fds");
        goto out;
    }
    if (listen(srv, 16) != 0) {
        perror("listen");
        goto out;
    }
    printf("%s: listening on %s, serving only uid %u (%s)\n", prog, path, (unsigned)allowed_uid, allowed_name);
    if (fflush(stdout) != 0)
        goto out;

    for (;;) {
        struct pollfd p[2] = {{.fd = srv, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("poll");
            goto out;
        }
        if (p[1].revents) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
                fprintf(stderr, "%s: got signal %u, stopping\n", prog, si.ssi_signo);
            status = 0;
            goto out;
        }
        if (!p[0].revents)
            continue;
        int conn = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                fprintf(stderr, "%s: accept: %s; retrying\n", prog, strerror(errno));
                poll(NULL, 0, 100);
                continue;
            }
            perror("accept");
            goto out;
        }
        if (fdcred_refuse_fds(conn) != 0 && errno != ENOPROTOOPT)
            fprintf(stderr, "%s: fdcred_refuse_fds: %s\n", prog, strerror(errno));
        serve(conn);
        if (close(conn) != 0)
            fprintf(stderr, "%s: close(%d): %s\n", prog, conn, strerror(errno));
    }

out:
    if (bound && lstat(path, &now) == 0 && now.st_dev == mine.st_dev && now.st_ino == mine.st_ino &&
        unlink(path) != 0 && errno != ENOENT)
        fprintf(stderr, "%s: removing %s: %s\n", prog, path, strerror(errno));
    if (srv >= 0)
        close(srv);
    close(sigfd);
    return status;
}
