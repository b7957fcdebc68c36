/*
 * credclient: ask credserver who we are.
 *
 *   credclient [--server-user USER] SOCKPATH [REQUEST]
 *
 * Connects to the SOCK_SEQPACKET socket at SOCKPATH and checks who the
 * server is: the kernel's record of the process that made the listening
 * socket, so a stranger cannot pose as it. Unless that is USER (a name or a
 * numeric uid; default root) it says so and stops before sending anything
 * (exit 4): whoever could put a socket at SOCKPATH (a world-writable
 * directory, a server that died) must not get the request nor be believed.
 * Then it sends REQUEST (default "who am I?") with its credentials attached
 * and prints the answer.
 *
 * Exit status: 0 answered, 3 refused by the server, 4 the server is not
 * USER, 1 on any other error, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fdcred.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static const char *prog = "credclient";

/* USER as a uid: a name, or a number. -1 (with a message) if neither. */
static int server_uid(const char *user, uid_t *uid) {
    struct passwd *pw = getpwnam(user);
    if (pw) {
        *uid = pw->pw_uid;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long v = strtoul(user, &end, 10);
    if (errno != 0 || *end != '\0' || end == user || user[0] == '-' || v >= (uid_t)-1) {
        fprintf(stderr, "%s: no user %s\n", prog, user);
        return -1;
    }
    *uid = (uid_t)v;
    return 0;
}

int main(int argc, char **argv) {
    const char *server_user = "root";
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "--server-user") == 0) {
        server_user = argv[2];
        i = 3;
    }
    if (argc - i != 1 && argc - i != 2) {
        fprintf(stderr, "usage: %s [--server-user USER] SOCKPATH [REQUEST]\n", prog);
        return 2;
    }
    uid_t expected;
    if (server_uid(server_user, &expected) != 0)
        return 2;
    const char *path = argv[i];
    const char *request = argc - i == 2 ? argv[i + 1] : "who am I?";
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (path[0] == '\0' || strlen(path) >= sizeof sun.sun_path) {
        fprintf(stderr, "%s: socket path must be 1 to %zu bytes\n", prog, sizeof sun.sun_path - 1);
        return 2;
    }
    if (request[0] == '\0' || strlen(request) > 200) {
        fprintf(stderr, "%s: the request must be 1 to 200 bytes\n", prog);
        return 2;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);

    int status = 1;
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0) {
        perror("socket(AF_UNIX, SOCK_SEQPACKET)");
        return 1;
    }
    /* A stalled server must not hang us. */
    struct timeval tv = {.tv_sec = 10, .tv_usec = 0};
    if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
        perror("setsockopt(timeouts)");
        goto out;
    }
    int r;
    do
        r = connect(s, (struct sockaddr *)&sun, sizeof sun);
    while (r != 0 && errno == EINTR);
    if (r != 0) {
        fprintf(stderr, "%s: connect %s: %s\n", prog, path, strerror(errno));
        goto out;
    }
    struct fdcred_cred server;
    if (fdcred_peer_cred(s, &server) != 0) {
        perror("fdcred_peer_cred");
        goto out;
    }
    char server_uid_text[16] = "?";
    if (server.known & FDCRED_CRED_UID)
        snprintf(server_uid_text, sizeof server_uid_text, "%u", (unsigned)server.uid);
    printf("%s: I am pid %d uid %u gid %u; the server is pid %d uid %s\n", prog, (int)getpid(), (unsigned)getuid(),
           (unsigned)getgid(), (server.known & FDCRED_CRED_PID) ? (int)server.pid : -1, server_uid_text);
    fflush(stdout);
    /* Unknown counts as a stranger: never believe what the kernel did not
     * vouch for. */
    if (!(server.known & FDCRED_CRED_UID) || server.uid != expected) {
        fprintf(stderr, "%s: NOT TRUSTED: the server at %s is uid %s, not %s (uid %u); sent it nothing\n", prog, path,
                server_uid_text, server_user, (unsigned)expected);
        status = 4;
        goto out;
    }

    /* NULL: attach my own pid and real ids; the kernel checks them. A
     * server that refused us may already have hung up: read its reason. */
    if (fdcred_send_cred(s, NULL, request, strlen(request)) < 0 && errno != EPIPE && errno != ECONNRESET) {
        perror("fdcred_send_cred");
        goto out;
    }
    char answer[512];
    ssize_t n;
    do
        /* A plain recv: any descriptor a server might attach is discarded
         * by the kernel, since we give it no room. */
        n = recv(s, answer, sizeof answer - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        fprintf(stderr, "%s: reading the answer: %s\n", prog,
                errno == EAGAIN ? "no answer within 10 s" : strerror(errno));
        goto out;
    }
    if (n == 0) {
        fprintf(stderr, "%s: the server hung up without answering\n", prog);
        goto out;
    }
    answer[n] = '\0';
    printf("%s: the server says: %s\n", prog, answer);
    status = strncmp(answer, "refused", 7) == 0 ? 3 : 0;

out:
    if (close(s) != 0)
        perror("close");
    return status;
}
