/*
 * The privileged hand-off benchmark: TCP connections per second on
 * 127.0.0.1 through examples/portlisten + examples/hellofdpass against a
 * server that accepts directly, writing the same greeting, in one run, in
 * alternating rounds (the order of the servers rotates every round), with 1
 * and with 4 concurrent clients. The pair is portlisten's default (one
 * connection per datagram). Rows also for the batched pair (--max-batch
 * 253), the listener mode (portlisten --listener, the handler accepts) and
 * the classic pair
 * (c-tests/classic_portlisten + classic_hellofdpass: one fd per datagram,
 * plain sendmsg/recvmsg). Run by scripts/bench; see docs/benchmark.md.
 *
 *   fdcred-handoff-bench --bin DIR [--smoke] [--rounds N] [--ms MILLISECONDS]
 *                        [--only SUBSTRING]
 *
 * DIR holds portlisten, hellofdpass, classic_portlisten, classic_hellofdpass.
 * A client thread connects, reads to end of file, checks the greeting,
 * closes, and again, until the round's time is up (at most 100,000
 * connections a round). Every row gives the median connections/s over the
 * rounds; the median, lowest and highest of the per-round ratios
 * server/direct (the two measured back to back in the same round); "best",
 * the server's best round over direct's best (the least disturbed pair, on
 * a busy machine); and "us/conn", the CPU time its processes ran per
 * connection (/proc/PID/schedstat, median of the rounds). The bars (the
 * pair at or above the classic pair; listener mode at >= 0.97 of direct;
 * the pair against direct is shown, not barred) are printed, not asserted:
 * it exits non-zero only when a server fails or a client gets a wrong
 * greeting.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GREETING "hello from the hand-off benchmark\n"
#define MAX_ROUNDS 256
#define MAX_CLIENTS 4
#define MAX_PER_ROUND 100000L

static char server_log[96]; /* the servers' stderr, shown when something fails */

static void die(const char *fmt, ...) {
    if (server_log[0]) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "cat '%s' >&2", server_log);
        fprintf(stderr, "--- the servers' stderr:\n");
        fflush(stderr);
        if (system(cmd) != 0)
            fprintf(stderr, "(could not show %s)\n", server_log);
    }
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fdcred-handoff-bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

#include "stats.h"

/* ---------- the servers ---------- */

static pid_t children[16];
static int nchildren;
static char tmpdir[64];

static void stop_children(void) {
    for (int i = 0; i < nchildren; i++)
        if (children[i] > 0) {
            kill(children[i], SIGTERM);
            waitpid(children[i], NULL, 0);
        }
    nchildren = 0;
}

static void cleanup(void) {
    stop_children();
    if (tmpdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "fdcred-handoff-bench: could not remove %s\n", tmpdir);
    }
}

/* Start `argv` with its stdout on a pipe and its stderr appended to
 * `server_log`; read until a line contains `needle` (10 s at most) and copy
 * that line into `line`. The pipe stays open, unread: the servers print
 * nothing per connection (hellofdpass without --log), so it never fills. */
static pid_t spawn(char *const argv[], const char *needle, char *line, size_t size, int keep) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(p[1], 1);
        int log = open(server_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log >= 0)
            dup2(log, 2);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(p[1]);
    if (keep)
        children[nchildren++] = pid;
    char buf[4096];
    size_t have = 0;
    double deadline = now() + 10;
    for (;;) {
        buf[have] = '\0';
        char *hit = strstr(buf, needle);
        char *eol = hit ? strchr(hit, '\n') : NULL;
        if (eol) {
            char *start = hit;
            while (start > buf && start[-1] != '\n')
                start--;
            snprintf(line, size, "%.*s", (int)(eol - start), start);
            return pid;
        }
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        int left = (int)((deadline - now()) * 1000);
        if (left <= 0 || poll(&pf, 1, left) <= 0)
            die("%s printed no line containing \"%s\" within 10 s", argv[0], needle);
        ssize_t n = read(p[0], buf + have, sizeof buf - 1 - have);
        if (n <= 0)
            die("%s exited before printing \"%s\"", argv[0], needle);
        have += (size_t)n;
        if (have == sizeof buf - 1)
            die("%s printed too much before \"%s\"", argv[0], needle);
    }
}

static int port_of(const char *line) {
    const char *at = strstr(line, "127.0.0.1:");
    if (!at)
        die("no port in \"%s\"", line);
    return atoi(at + strlen("127.0.0.1:"));
}

/* The baseline: one process accepting and greeting, as a server that binds
 * its own port does. */
static int start_direct(void) {
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(l, SOMAXCONN) != 0 ||
        getsockname(l, (struct sockaddr *)&sin, &len) != 0)
        die("direct server: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        for (;;) {
            int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
            if (c < 0) {
                if (errno == EINTR || errno == ECONNABORTED)
                    continue;
                perror("direct server: accept");
                _exit(1);
            }
            if (send(c, GREETING, sizeof GREETING - 1, MSG_NOSIGNAL) < 0)
                perror("direct server: send");
            close(c);
        }
    }
    close(l);
    children[nchildren++] = pid;
    return ntohs(sin.sin_port);
}

/* A handler and a port listener; `listener`: pass the listening socket;
 * `batch`: portlisten --max-batch 253 (several connections per datagram). */
static int start_pair(const char *bin, int classic, int listener, int batch, const char *sockname) {
    char handler[512], portl[512], sock[256], line[512], uid[16];
    snprintf(handler, sizeof handler, "%s/%shellofdpass", bin, classic ? "classic_" : "");
    snprintf(portl, sizeof portl, "%s/%sportlisten", bin, classic ? "classic_" : "");
    snprintf(sock, sizeof sock, "%s/%s", tmpdir, sockname);
    char *hargv[] = {handler, sock, GREETING, NULL};
    spawn(hargv, classic ? "ready" : "waiting for descriptors", line, sizeof line, 1);
    /* The handler runs as we do: portlisten (as root it would become nobody
     * once bound) runs as we do too, so that it may write the handler's
     * 0600 socket. Dropping is a one-time cost before the first accept. */
    snprintf(uid, sizeof uid, "%u", (unsigned)getuid());
    char *largv[8];
    int a = 0;
    largv[a++] = portl;
    if (!classic) {
        largv[a++] = "--user";
        largv[a++] = uid;
    }
    if (listener)
        largv[a++] = "--listener";
    if (batch) {
        largv[a++] = "--max-batch";
        largv[a++] = "253";
    }
    largv[a++] = "0";
    largv[a++] = sock;
    largv[a] = NULL;
    pid_t pl = spawn(largv, "listening on 127.0.0.1:", line, sizeof line, !listener);
    int port = port_of(line);
    if (listener) {
        int status;
        if (waitpid(pl, &status, 0) != pl || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            die("%s --listener did not hand over and exit 0", portl);
    }
    return port;
}

/* ---------- the clients ---------- */

struct client {
    pthread_t thread;
    int port;
    double until;
    long max;
    long done;
};

static pthread_barrier_t start_line;

static void *client(void *arg) {
    struct client *c = arg;
    struct sockaddr_in sin = {
        .sin_family = AF_INET, .sin_port = htons((uint16_t)c->port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {.tv_sec = 10};
    char buf[256];
    pthread_barrier_wait(&start_line);
    c->done = 0;
    while (c->done < c->max && now() < c->until) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0)
            die("client socket: %s", strerror(errno));
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (connect(s, (struct sockaddr *)&sin, sizeof sin) != 0)
            die("connect to 127.0.0.1:%d: %s", c->port, strerror(errno));
        size_t got = 0;
        for (;;) {
            ssize_t n = recv(s, buf + got, sizeof buf - got, 0);
            if (n == 0)
                break;
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                die("reading from 127.0.0.1:%d after %zu bytes: %s", c->port, got,
                    errno == EAGAIN ? "no end of file within 10 s" : strerror(errno));
            }
            got += (size_t)n;
            if (got == sizeof buf)
                break;
        }
        if (got != sizeof GREETING - 1 || memcmp(buf, GREETING, got) != 0)
            die("127.0.0.1:%d answered %zu bytes, not the greeting", c->port, got);
        close(s);
        c->done++;
    }
    return NULL;
}

/* `nclients` clients against `port` for `ms`; connections per second, and
 * how many in `*count`. */
static double measure(int port, int nclients, double ms, long max_total, long *count) {
    struct client cl[MAX_CLIENTS];
    pthread_barrier_init(&start_line, NULL, (unsigned)nclients + 1);
    for (int i = 0; i < nclients; i++) {
        cl[i] = (struct client){.port = port, .max = max_total / nclients};
        if (pthread_create(&cl[i].thread, NULL, client, &cl[i]) != 0)
            die("pthread_create");
    }
    double t0 = now();
    for (int i = 0; i < nclients; i++)
        cl[i].until = t0 + ms / 1000.0;
    pthread_barrier_wait(&start_line);
    t0 = now();
    long total = 0;
    for (int i = 0; i < nclients; i++) {
        pthread_join(cl[i].thread, NULL);
        total += cl[i].done;
    }
    double t = now() - t0;
    pthread_barrier_destroy(&start_line);
    *count = total;
    return (double)total / t;
}

/* CPU time (ns) the processes children[first .. first + n) have run, from
 * /proc/PID/schedstat: a cost per connection that a loaded machine blurs
 * far less than connections/s. */
static double cpu_ns(int first, int n) {
    double total = 0;
    for (int i = first; i < first + n; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/schedstat", (int)children[i]);
        FILE *f = fopen(path, "r");
        unsigned long long ns = 0;
        if (!f || fscanf(f, "%llu", &ns) != 1)
            die("reading %s", path);
        fclose(f);
        total += (double)ns;
    }
    return total;
}

/* ---------- driver ---------- */

enum { DIRECT, PAIR, BATCHED, LISTENER, CLASSIC, NSERVERS };
static const char *const names[NSERVERS] = {
    "direct: one server accepts and greets",    "pair: portlisten + hellofdpass (default)",
    "batched pair: portlisten --max-batch 253", "listener mode: hellofdpass accepts",
    "classic pair: 1 fd per datagram",
};

static void usage(void) {
    fprintf(stderr,
            "usage: fdcred-handoff-bench --bin DIR [--smoke] [--rounds N] [--ms MILLISECONDS] [--only SUBSTRING]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *bin = NULL, *only = NULL;
    int rounds = 15, smoke = 0;
    double ms = 300;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--bin") && i + 1 < argc)
            bin = argv[++i];
        else if (!common_option(argc, argv, &i, &smoke, &rounds, &ms, &only))
            usage();
    }
    if (!bin)
        usage();
    if (smoke) {
        rounds = 1;
        ms = 30;
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || ms <= 0)
        usage();
    int wanted[NSERVERS], any = 0;
    for (int s = 0; s < NSERVERS; s++) {
        /* The direct server is every ratio's baseline: always measured. */
        wanted[s] = s == DIRECT || !only || strstr(names[s], only) || strstr("hand-off", only);
        any |= s != DIRECT && wanted[s];
    }
    if (!any) {
        printf("hand-off benchmark: no row matches --only \"%s\"; skipped\n", only);
        return 0;
    }

    signal(SIGPIPE, SIG_IGN);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fdcred-handoff-bench.XXXXXX");
    if (!mkdtemp(tmpdir))
        die("mkdtemp: %s", strerror(errno));
    atexit(cleanup);
    snprintf(server_log, sizeof server_log, "%s/servers.log", tmpdir);

    /* Each server's processes are children[first[s] .. first[s] + nprocs[s]). */
    int port[NSERVERS], first[NSERVERS] = {0}, nprocs[NSERVERS] = {0};
    static const char *const sockname[NSERVERS] = {NULL, "pair.sock", "batched.sock", "listener.sock", "classic.sock"};
    for (int s = 0; s < NSERVERS; s++) {
        if (!wanted[s])
            continue;
        first[s] = nchildren;
        port[s] =
            s == DIRECT ? start_direct() : start_pair(bin, s == CLASSIC, s == LISTENER, s == BATCHED, sockname[s]);
        nprocs[s] = nchildren - first[s];
    }

    printf("hand-off: TCP connections/s on 127.0.0.1, greeting of %zu bytes, %d round(s) of ~%.0f ms per server, "
           "servers in rotating order%s\n",
           sizeof GREETING - 1, rounds, ms, smoke ? " (smoke run: numbers mean nothing)" : "");
    static const int concurrency[] = {1, 4};
    long max_total = (long)(ms * 100) < MAX_PER_ROUND ? (long)(ms * 100) : MAX_PER_ROUND;
    for (int ci = 0; ci < 2; ci++) {
        int nc = concurrency[ci];
        static double rate[NSERVERS][MAX_ROUNDS], ratio[NSERVERS][MAX_ROUNDS], vs_classic[MAX_ROUNDS];
        static double cpu[NSERVERS][MAX_ROUNDS];
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < NSERVERS; k++) {
                int s = (k + r) % NSERVERS;
                if (!wanted[s])
                    continue;
                long count;
                double before = cpu_ns(first[s], nprocs[s]);
                rate[s][r] = measure(port[s], nc, ms, max_total, &count);
                cpu[s][r] = (cpu_ns(first[s], nprocs[s]) - before) / 1e3 / (double)(count ? count : 1);
            }
            for (int s = 0; s < NSERVERS; s++)
                ratio[s][r] = rate[s][r] / rate[DIRECT][r];
            vs_classic[r] = wanted[CLASSIC] && wanted[PAIR] ? rate[PAIR][r] / rate[CLASSIC][r] : 0;
        }
        double best[NSERVERS] = {0};
        for (int s = 0; s < NSERVERS; s++)
            for (int r = 0; r < rounds; r++)
                best[s] = rate[s][r] > best[s] ? rate[s][r] : best[s];
        printf("\n%d client%-38s %10s %8s %7s %7s %7s %8s\n", nc, nc > 1 ? "s" : "", "conn/s", "/direct", "min", "max",
               "best", "us/conn");
        for (int s = 0; s < NSERVERS; s++) {
            if (!wanted[s])
                continue;
            double lo = ratio[s][0], hi = ratio[s][0];
            for (int r = 1; r < rounds; r++) {
                lo = ratio[s][r] < lo ? ratio[s][r] : lo;
                hi = ratio[s][r] > hi ? ratio[s][r] : hi;
            }
            printf("  %-44s %10.0f %8.3f %7.3f %7.3f %7.3f %8.1f\n", names[s], median(rate[s], rounds),
                   median(ratio[s], rounds), lo, hi, best[s] / best[DIRECT], median(cpu[s], rounds));
        }
        if (wanted[CLASSIC] && wanted[PAIR]) {
            double m = median(vs_classic, rounds);
            printf("  %-44s %10s %8.3f %7s %7s %7.3f (pair/classic)\n", "pair / classic pair", "", m, "", "",
                   best[PAIR] / best[CLASSIC]);
            if (!smoke)
                printf("  bar: the pair at or above the classic pair: %s\n", m >= 1.0 ? "ok" : "MISSED");
        }
        if (wanted[LISTENER] && !smoke)
            printf("  bar: listener mode >= 0.97 of direct: %s\n",
                   median(ratio[LISTENER], rounds) >= 0.97 ? "ok" : "MISSED");
        fflush(stdout);
    }
    stop_children();
    return 0;
}
