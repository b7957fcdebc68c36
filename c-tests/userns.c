/*
 * Credentials across user namespaces: a receiver moved into a new user
 * namespace (and a new pid namespace) with a one-line id map, and plain
 * clients from the parent namespace as uid 0, as the mapped user and as an
 * unmapped one. Linux reports every id the receiver's namespace cannot name
 * as the overflow id (65534): the library must report it as unknown on every
 * receive call, never as the user 65534; a peer it can name in no field is
 * still a peer (no ENOTCONN). Needs root (to switch the clients' ids and to
 * write the receiver's map); skips with the reason where user namespaces are
 * unavailable.
 */
#include <fdcred.h>
#include <grp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "harness.h"
#include "plain.h"

#define MAPPED 1234 /* the host id the one-line map names (as 0 inside) */
#define NOBODY 65534
#define OTHER_GROUP 5678 /* a host group the map leaves out */
#define ID_UNKNOWN ((unsigned)-1)

/* One plain client: the identity it connects and sends as. */
struct client {
    uid_t uid;
    gid_t gid;
    gid_t groups[2];
    size_t ngroups;
};

/* What the receiver's calls reported for one client, sent back to the test. */
struct seen {
    pid_t client_pid;
    int peer_rc, peer_errno;
    struct fdcred_cred peer;
    int flags_rc, flags_errno;
    struct fdcred_cred peer_flags;
    long groups_query, groups_rc;
    int groups_errno;
    gid_t groups[16];
    int pidfd_rc, pidfd_errno;
    long recv_cred_rc;
    int recv_cred_errno;
    struct fdcred_cred msg_cred;
    long recvmsg_rc;
    int recvmsg_errno;
    unsigned recvmsg_result;
    struct fdcred_cred msg_cred2;
};

static void need_root(void) {
    if (geteuid() != 0)
        SKIP("needs root to switch clients to other uids and write id maps (running as uid %d)", (int)geteuid());
}

/* An abstract address: no file, no permission check, visible from every
 * user namespace of this network namespace. */
static socklen_t abstract_addr(struct sockaddr_un *addr) {
    static int counter;
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    int n = snprintf(addr->sun_path + 1, sizeof addr->sun_path - 1, "fdcred-userns-%d-%d", (int)getpid(), counter++);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* In the receiver: accept one client, ask every receive call, report. */
static void accept_and_report(int listener, int results) {
    int c = MUST(accept4(listener, NULL, NULL, SOCK_CLOEXEC));
    struct seen s;
    memset(&s, 0, sizeof s);
    errno = 0;
    s.peer_rc = fdcred_peer_cred(c, &s.peer);
    s.peer_errno = errno;
    errno = 0;
    s.flags_rc = fdcred_peer_cred_flags(c, &s.peer_flags, FDCRED_NO_SOCKET_CHECK);
    s.flags_errno = errno;
    s.groups_query = fdcred_peer_groups(c, NULL, 0);
    errno = 0;
    s.groups_rc = fdcred_peer_groups(c, s.groups, 16);
    s.groups_errno = errno;
    errno = 0;
    s.pidfd_rc = fdcred_peer_pidfd(c);
    s.pidfd_errno = errno;
    if (s.pidfd_rc >= 0)
        close(s.pidfd_rc);
    char byte;
    errno = 0;
    s.recv_cred_rc = fdcred_recv_cred(c, &s.msg_cred, &byte, 1);
    s.recv_cred_errno = errno;
    struct iovec iov = {&byte, 1};
    struct fdcred_msg m = {0};
    m.iov = &iov;
    m.iovlen = 1;
    m.cred = &s.msg_cred2;
    errno = 0;
    s.recvmsg_rc = fdcred_recvmsg(c, &m, 0);
    s.recvmsg_errno = errno;
    s.recvmsg_result = m.result;
    CHECK(write(results, &s, sizeof s) == (ssize_t)sizeof s, "reporting to the test");
    close(c); /* the client waits for this */
}

/* A plain client: become `who`, connect, send two one-byte messages (the
 * kernel attaches our credentials: the receiver opted in on the listener),
 * stay until the receiver hangs up (so that its pidfd query finds us). */
static pid_t start_client(const struct sockaddr_un *addr, socklen_t len, const struct client *who) {
    pid_t pid = MUST(fork());
    if (pid == 0) {
        MUST(setgroups(who->ngroups, who->groups));
        MUST(setgid(who->gid));
        MUST(setuid(who->uid));
        int s = MUST(socket(AF_UNIX, SOCK_SEQPACKET, 0));
        MUST(connect(s, (const struct sockaddr *)addr, len));
        CHECK(send(s, "a", 1, MSG_NOSIGNAL) == 1, "client send 1");
        CHECK(send(s, "b", 1, MSG_NOSIGNAL) == 1, "client send 2");
        char byte;
        while (recv(s, &byte, 1, 0) > 0) {
        }
        _exit(0);
    }
    return pid;
}

/* Run one client against the receiver and collect what it saw. */
static void run_client(const struct sockaddr_un *addr, socklen_t len, const struct client *who, int results,
                       struct seen *out) {
    pid_t pid = start_client(addr, len, who);
    CHECK(read(results, out, sizeof *out) == (ssize_t)sizeof *out, "reading the receiver's report for uid %u",
          (unsigned)who->uid);
    out->client_pid = pid;
    wait_peer(pid, "client");
}

static void write_file(const char *path, const char *text) {
    int fd = MUST(open(path, O_WRONLY | O_CLOEXEC));
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "writing \"%s\" to %s", text, path);
    close(fd);
}

/*
 * The scenario every test below runs: a listener (credentials enabled before
 * listen, so accepted connections inherit it) in this process; a receiver
 * child that serves `before` clients in this namespace, then unshares
 * `ns_flags` and serves `after` clients with `map` as its uid and gid map
 * (written from here, the parent namespace). With CLONE_NEWPID the receiver
 * is the child's child, the first process of the new pid namespace.
 * Skips, with the reason, where the kernel refuses the new namespaces.
 */
static void run_scenario(int ns_flags, const char *map, const struct client *before, size_t nbefore,
                         struct seen *seen_before, const struct client *after, size_t nafter, struct seen *seen_after) {
    need_root();
    struct sockaddr_un addr;
    socklen_t len = abstract_addr(&addr);
    int listener = MUST(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    MUST(bind(listener, (struct sockaddr *)&addr, len));
    MUST(fdcred_allow_recv_cred(listener));
    MUST(listen(listener, 8));
    int up[2], down[2], results[2];
    MUST(pipe2(up, O_CLOEXEC));
    MUST(pipe2(down, O_CLOEXEC));
    MUST(pipe2(results, O_CLOEXEC));
    pid_t receiver = MUST(fork());
    if (receiver == 0) {
        close(up[0]);
        close(down[1]);
        close(results[0]);
        for (size_t i = 0; i < nbefore; i++)
            accept_and_report(listener, results[1]);
        int unshare_errno = unshare(ns_flags) == 0 ? 0 : errno;
        CHECK(write(up[1], &unshare_errno, sizeof unshare_errno) == sizeof unshare_errno, "to the test");
        if (unshare_errno != 0)
            _exit(0);
        char go = 0;
        CHECK(read(down[0], &go, 1) == 1 && go == 'm', "waiting for the id maps");
        if (ns_flags & CLONE_NEWPID) {
            pid_t inner = MUST(fork());
            if (inner == 0) {
                CHECK(getpid() == 1, "first process of the new pid namespace is pid %d", (int)getpid());
                for (size_t i = 0; i < nafter; i++)
                    accept_and_report(listener, results[1]);
                _exit(0);
            }
            wait_peer(inner, "receiver in the new pid namespace");
        } else {
            for (size_t i = 0; i < nafter; i++)
                accept_and_report(listener, results[1]);
        }
        _exit(0);
    }
    close(up[1]);
    close(down[0]);
    close(results[1]);
    for (size_t i = 0; i < nbefore; i++)
        run_client(&addr, len, &before[i], results[0], &seen_before[i]);
    int unshare_errno = -1;
    CHECK(read(up[0], &unshare_errno, sizeof unshare_errno) == sizeof unshare_errno, "receiver's unshare");
    if (unshare_errno != 0) {
        wait_peer(receiver, "receiver");
        SKIP("user namespaces unavailable: unshare(%s) failed: %s",
             ns_flags & CLONE_NEWPID ? "CLONE_NEWUSER|CLONE_NEWPID" : "CLONE_NEWUSER", strerror(unshare_errno));
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)receiver);
    write_file(path, map);
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)receiver);
    write_file(path, map);
    CHECK(write(down[1], "m", 1) == 1, "telling the receiver its maps are written");
    for (size_t i = 0; i < nafter; i++)
        run_client(&addr, len, &after[i], results[0], &seen_after[i]);
    wait_peer(receiver, "receiver");
    close(up[0]);
    close(down[1]);
    close(results[0]);
    close(listener);
}

/* Every receive call reported the pid (when `pid_known`), the uid and gid
 * given (ID_UNKNOWN: the known bit clear and the field -1), and exactly
 * `ngroups` groups from `groups`; no call failed with ENOTCONN. */
static void expect(const struct seen *s, const char *who, int pid_known, unsigned uid, unsigned gid,
                   const gid_t *groups, long ngroups) {
    const struct fdcred_cred *peers[] = {&s->peer, &s->peer_flags};
    CHECK(s->peer_rc == 0, "%s: fdcred_peer_cred failed: errno %d (%s)", who, s->peer_errno, strerror(s->peer_errno));
    CHECK(s->flags_rc == 0, "%s: fdcred_peer_cred_flags failed: errno %d", who, s->flags_errno);
    int any_known = pid_known || uid != ID_UNKNOWN || gid != ID_UNKNOWN;
    CHECK(s->recv_cred_rc == (any_known ? 1 : -1), "%s: fdcred_recv_cred returned %ld errno %d", who, s->recv_cred_rc,
          s->recv_cred_errno);
    if (!any_known)
        CHECK(s->recv_cred_errno == ENOMSG, "%s: a message naming no one is ENOMSG, got errno %d", who,
              s->recv_cred_errno);
    CHECK(s->recvmsg_rc == 1, "%s: fdcred_recvmsg returned %ld errno %d", who, s->recvmsg_rc, s->recvmsg_errno);
    CHECK(!!(s->recvmsg_result & FDCRED_MSG_CRED) == any_known, "%s: fdcred_recvmsg result 0x%x", who,
          s->recvmsg_result);
    const struct fdcred_cred *all[] = {peers[0], peers[1], &s->msg_cred, &s->msg_cred2};
    const char *names[] = {"fdcred_peer_cred", "fdcred_peer_cred_flags", "fdcred_recv_cred", "fdcred_recvmsg"};
    for (size_t i = 0; i < 4; i++) {
        const struct fdcred_cred *c = all[i];
        if (i == 2 && !any_known)
            continue; /* ENOMSG: nothing written */
        if (pid_known)
            CHECK((c->known & FDCRED_CRED_PID) && c->pid == s->client_pid, "%s: %s pid %d known 0x%x, want %d", who,
                  names[i], (int)c->pid, c->known, (int)s->client_pid);
        else
            CHECK(!(c->known & FDCRED_CRED_PID) && c->pid == -1, "%s: %s pid %d known 0x%x, want unknown", who,
                  names[i], (int)c->pid, c->known);
        if (uid == ID_UNKNOWN)
            CHECK(!(c->known & FDCRED_CRED_UID) && c->uid == (uid_t)-1,
                  "%s: %s reports uid %u known 0x%x: the overflow id is nobody's identity", who, names[i],
                  (unsigned)c->uid, c->known);
        else
            CHECK((c->known & FDCRED_CRED_UID) && c->uid == uid, "%s: %s uid %u known 0x%x, want %u", who, names[i],
                  (unsigned)c->uid, c->known, uid);
        if (gid == ID_UNKNOWN)
            CHECK(!(c->known & FDCRED_CRED_GID) && c->gid == (gid_t)-1, "%s: %s reports gid %u known 0x%x", who,
                  names[i], (unsigned)c->gid, c->known);
        else
            CHECK((c->known & FDCRED_CRED_GID) && c->gid == gid, "%s: %s gid %u known 0x%x, want %u", who, names[i],
                  (unsigned)c->gid, c->known, gid);
    }
    if (s->groups_rc < 0 && s->groups_errno == ENOPROTOOPT) {
        printf("note: %s: SO_PEERGROUPS missing (Linux < 4.13): groups not checked\n", who);
    } else {
        CHECK(s->groups_rc == ngroups, "%s: fdcred_peer_groups returned %ld (errno %d), want %ld", who, s->groups_rc,
              s->groups_errno, ngroups);
        CHECK(s->groups_query >= ngroups, "%s: the size query %ld is below the count %ld", who, s->groups_query,
              ngroups);
        for (long i = 0; i < ngroups; i++)
            CHECK(s->groups[i] == groups[i], "%s: group %ld is %u, want %u", who, i, (unsigned)s->groups[i],
                  (unsigned)groups[i]);
    }
    CHECK(s->pidfd_rc >= 0 || s->pidfd_errno == ENOPROTOOPT, "%s: fdcred_peer_pidfd failed: errno %d (%s)", who,
          s->pidfd_errno, strerror(s->pidfd_errno));
}

static const struct client host_root = {0, 0, {OTHER_GROUP}, 1};
static const struct client mapped_user = {MAPPED, MAPPED, {MAPPED, OTHER_GROUP}, 2};
static const struct client unmapped_nobody = {NOBODY, NOBODY, {NOBODY}, 1};

/* The receiver maps only host 1234 (as 0): host root and host nobody both
 * arrive as 65534, which the library reports as unknown; the mapped user is
 * uid 0 inside. Supplementary groups the map leaves out are dropped. */
static void test_unmapped_ids_are_unknown_on_every_receive_call(void) {
    const struct client clients[] = {host_root, mapped_user, unmapped_nobody};
    struct seen seen[3];
    run_scenario(CLONE_NEWUSER, "0 1234 1\n", NULL, 0, NULL, clients, 3, seen);
    const gid_t zero[] = {0};
    expect(&seen[0], "host root", 1, ID_UNKNOWN, ID_UNKNOWN, NULL, 0);
    expect(&seen[1], "mapped user 1234", 1, 0, 0, zero, 1);
    expect(&seen[2], "host nobody", 1, ID_UNKNOWN, ID_UNKNOWN, NULL, 0);
}

/* The receiver in a new user and pid namespace: no client's pid is visible.
 * A connected socket is never "not connected": every peer query succeeds and
 * reports what is known, even nothing at all (host root). */
static void test_receiver_in_new_user_and_pid_namespace_reports_what_is_known(void) {
    const struct client clients[] = {mapped_user, host_root};
    struct seen seen[2];
    run_scenario(CLONE_NEWUSER | CLONE_NEWPID, "0 1234 1\n", NULL, 0, NULL, clients, 2, seen);
    const gid_t zero[] = {0};
    expect(&seen[0], "mapped user 1234", 0, 0, 0, zero, 1);
    expect(&seen[1], "host root", 0, ID_UNKNOWN, ID_UNKNOWN, NULL, 0);
    CHECK(seen[1].peer.known == 0, "host root seen from the new namespaces: known 0x%x", seen[1].peer.known);
}

/* A namespace that maps 65534 to a real user but leaves other ids unmapped:
 * the kernel reports that user and host root with the same number, so
 * neither is believed (believing it would give host root that user's
 * rights). */
static void test_mapped_overflow_id_is_unknown_while_other_ids_are_unmapped(void) {
    const struct client clients[] = {unmapped_nobody, host_root};
    struct seen seen[2];
    run_scenario(CLONE_NEWUSER, "65534 65534 1\n", NULL, 0, NULL, clients, 2, seen);
    expect(&seen[0], "nobody, mapped as itself", 1, ID_UNKNOWN, ID_UNKNOWN, NULL, 0);
    expect(&seen[1], "host root", 1, ID_UNKNOWN, ID_UNKNOWN, NULL, 0);
}

/* The map is read when an overflow id arrives, not cached: the same
 * receiver believes uid 65534 in the initial namespace (where every id is
 * mapped), then, after unshare(CLONE_NEWUSER), no longer. */
static void test_receiver_that_unshares_after_a_first_receive_is_judged_by_its_new_map(void) {
    const struct client clients[] = {unmapped_nobody};
    struct seen first[1], second[1];
    run_scenario(CLONE_NEWUSER, "0 1234 1\n", clients, 1, first, clients, 1, second);
    const gid_t nobody[] = {NOBODY};
    expect(&first[0], "nobody, initial namespace", 1, NOBODY, NOBODY, nobody, 1);
    expect(&second[0], "nobody, after unshare", 1, ID_UNKNOWN, ID_UNKNOWN, NULL, 0);
}

static const struct test tests[] = {
    TEST(test_unmapped_ids_are_unknown_on_every_receive_call),
    TEST(test_receiver_in_new_user_and_pid_namespace_reports_what_is_known),
    TEST(test_mapped_overflow_id_is_unknown_while_other_ids_are_unmapped),
    TEST(test_receiver_that_unshares_after_a_first_receive_is_judged_by_its_new_map),
};

int main(int argc, char **argv) { return run_tests(tests, NTESTS(tests), argc, argv); }
