/*
 * A socket-activated daemon that knows nothing of libfdcred: it takes its
 * listening sockets the way systemd's sd_listen_fds_with_names() does, and
 * greets every connection with who it is. A test peer for
 * `hellofdpass --exec` (tests/examples.rs).
 *
 *   activated_greeter
 *
 * The protocol, checked as sd_listen_fds checks it: LISTEN_PID must be this
 * process's pid (else the variables were meant for another process and
 * there are no sockets), LISTEN_FDS counts the descriptors from 3 up, each
 * of which is set close-on-exec, LISTEN_FDNAMES holds as many
 * ':'-separated names; the three variables are then removed from the
 * environment. Every descriptor must be a listening stream socket
 * (sd_is_socket).
 *
 * Prints one line, "activated_greeter: pid P uid U gid G, N fds: NAME=PORT
 * ...", then, for each of its stdin, stdout and stderr that is a terminal,
 * what an attacker in the daemon would try first: "activated_greeter:
 * TIOCSTI on fd N: WORKED" or ": refused (ERROR)", the same for opening
 * /dev/tty, and "the operator's key: FOUND" or "not found (ERROR)" for
 * a search of its session keyring, then accepts on all of them and writes "activated NAME uid U gid G
 * pid P\n" to each connection. Exits 1 (saying why) on any protocol error;
 * runs until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FIRST_FD 3
#define MAX_FDS 16

static int fail(const char *what) {
    fprintf(stderr, "activated_greeter: PROTOCOL ERROR: %s\n", what);
    return 1;
}

int main(void) {
    const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS"), *names_s = getenv("LISTEN_FDNAMES");
    if (!pid_s || !fds_s)
        return fail("LISTEN_PID or LISTEN_FDS not set");
    char *end;
    errno = 0;
    long pid = strtol(pid_s, &end, 10);
    if (errno || *end || pid <= 0)
        return fail("LISTEN_PID is not a pid");
    if (pid != (long)getpid()) {
        fprintf(stderr, "activated_greeter: LISTEN_PID %ld is not my pid %d\n", pid, (int)getpid());
        return 1;
    }
    long n = strtol(fds_s, &end, 10);
    if (errno || *end || n < 1 || n > MAX_FDS)
        return fail("LISTEN_FDS is not a count from 1 to 16");

    char names[MAX_FDS][256];
    char *copy = strdup(names_s ? names_s : "");
    if (!copy)
        return fail("out of memory");
    long got = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
        if (got == n || strlen(tok) >= sizeof names[0])
            return fail("LISTEN_FDNAMES has more names than LISTEN_FDS, or one too long");
        strcpy(names[got++], tok);
    }
    free(copy);
    if (got != n)
        return fail("LISTEN_FDNAMES does not name every descriptor");

    struct pollfd p[MAX_FDS];
    int port[MAX_FDS];
    for (int i = 0; i < n; i++) {
        int fd = FIRST_FD + i;
        int flags = fcntl(fd, F_GETFD);
        if (flags < 0)
            return fail("a descriptor in LISTEN_FDS is not open");
        if (flags & FD_CLOEXEC)
            return fail("a passed descriptor was close-on-exec (it could not have survived the exec)");
        /* What sd_listen_fds does: ours now, not our children's. */
        if (fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0)
            return fail("cannot set close-on-exec");
        int type = 0, listening = 0;
        socklen_t len = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
            return fail("a passed descriptor is not a stream socket");
        len = sizeof listening;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
            return fail("a passed descriptor is not listening");
        struct sockaddr_in sin;
        len = sizeof sin;
        if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0 || sin.sin_family != AF_INET)
            return fail("a passed descriptor is not an IPv4 socket");
        port[i] = ntohs(sin.sin_port);
        p[i] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");

    printf("activated_greeter: pid %d uid %u gid %u, %ld fds:", (int)getpid(), (unsigned)getuid(), (unsigned)getgid(),
           n);
    for (int i = 0; i < n; i++)
        printf(" %s=%d", names[i], port[i]);
    printf("\n");
    /* Type into the terminal (the su/runuser escape): an injected space is
     * harmless if it did work. */
    for (int fd = 0; fd <= 2; fd++) {
        if (!isatty(fd))
            continue;
        char c = ' ';
        int r = ioctl(fd, TIOCSTI, &c);
        printf("activated_greeter: TIOCSTI on fd %d: %s%s%s\n", fd, r == 0 ? "WORKED" : "refused (",
               r == 0 ? "" : strerror(errno), r == 0 ? "" : ")");
    }
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    printf("activated_greeter: open /dev/tty: %s%s%s\n", tty >= 0 ? "WORKED" : "refused (",
           tty >= 0 ? "" : strerror(errno), tty >= 0 ? "" : ")");
    if (tty >= 0)
        close(tty);
    /* The operator's session keyring, kept through setuid and exec, would
     * let it find and read root's keys (the test puts one there). */
    long key = syscall(SYS_keyctl, 10 /* KEYCTL_SEARCH */, -3 /* KEY_SPEC_SESSION_KEYRING */, "user",
                       "fdcred-operator-key", 0L);
    printf("activated_greeter: the operator's key: %s%s%s\n", key >= 0 ? "FOUND" : "not found (",
           key >= 0 ? "" : strerror(errno), key >= 0 ? "" : ")");
    fflush(stdout);

    for (;;) {
        if (poll(p, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("activated_greeter: poll");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            if (!p[i].revents)
                continue;
            int c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
            if (c < 0) {
                if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
                    continue;
                perror("activated_greeter: accept");
                return 1;
            }
            char line[384];
            int len = snprintf(line, sizeof line, "activated %s uid %u gid %u pid %d\n", names[i], (unsigned)getuid(),
                               (unsigned)getgid(), (int)getpid());
            if (send(c, line, (size_t)len, MSG_NOSIGNAL) != len)
                perror("activated_greeter: send");
            close(c);
        }
    }
}
