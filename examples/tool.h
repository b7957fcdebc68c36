/*
 * What portlisten and hellofdpass share as tools: --version, closing what
 * the caller left open, and the switch to an unprivileged user (uid, gid
 * and groups, for good).
 * Included by each program (static functions: no library of its own).
 */
#ifndef FDCRED_EXAMPLES_TOOL_H
#define FDCRED_EXAMPLES_TOOL_H

#include <errno.h>
#include <fcntl.h>
#include <fdcred.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define TOOL_STR2(x) #x
#define TOOL_STR(x) TOOL_STR2(x)
/* The version these programs were built as: the library's, from its header. */
#define TOOL_VERSION                                                                                                   \
    TOOL_STR(FDCRED_VERSION_MAJOR) "." TOOL_STR(FDCRED_VERSION_MINOR) "." TOOL_STR(FDCRED_VERSION_PATCH)

/* "NAME VERSION (libfdcred VERSION)": the second is the library loaded now. */
static void print_version(const char *name) { printf("%s %s (libfdcred %s)\n", name, TOOL_VERSION, fdcred_version()); }

/* The overflow gid (nogroup): for a uid without a passwd entry. */
#define TOOL_NOGROUP ((gid_t)65534)

/* A user to become: resolved at start, so a typo fails before anything is
 * bound. */
struct tool_user {
    uid_t uid;
    gid_t gid;
    char name[64];     /* "" for a numeric uid with no passwd entry */
    gid_t groups[256]; /* its supplementary groups, resolved at start */
    int ngroups;
    char home[256];  /* its passwd entry's directory and shell ("/" and */
    char shell[256]; /* /bin/sh without one) */
};

/*
 * Resolve `spec`, a user name or a numeric uid. A uid with no passwd entry
 * gets gid TOOL_NOGROUP and no groups: not its own number as gid, which
 * may well be a real group (--user 42: gid 42 is shadow on Debian). -1 (with a message) when there
 * is no such user.
 */
static int tool_resolve_user(const char *prog, const char *spec, struct tool_user *u) {
    struct passwd *pw = getpwnam(spec);
    char *end;
    errno = 0;
    unsigned long id = strtoul(spec, &end, 10);
    int numeric = errno == 0 && *end == '\0' && end != spec && spec[0] != '-' && id < (uid_t)-1;
    if (!pw && numeric)
        pw = getpwuid((uid_t)id);
    memset(u, 0, sizeof *u);
    if (pw) {
        if (strlen(pw->pw_name) >= sizeof u->name || strlen(pw->pw_dir) >= sizeof u->home ||
            strlen(pw->pw_shell) >= sizeof u->shell) {
            fprintf(stderr, "%s: user %s: passwd entry too long\n", prog, spec);
            return -1;
        }
        u->uid = pw->pw_uid;
        u->gid = pw->pw_gid;
        strcpy(u->name, pw->pw_name);
        /* Now, not in tool_become (initgroups): group lookups may need
         * descriptors (NSS, nscd) that tool_close_from has closed by then. */
        u->ngroups = (int)(sizeof u->groups / sizeof u->groups[0]);
        if (getgrouplist(u->name, u->gid, u->groups, &u->ngroups) < 0) {
            fprintf(stderr, "%s: user %s: more than %zu groups\n", prog, spec, sizeof u->groups / sizeof u->groups[0]);
            return -1;
        }
        strcpy(u->home, pw->pw_dir[0] ? pw->pw_dir : "/");
        strcpy(u->shell, pw->pw_shell[0] ? pw->pw_shell : "/bin/sh");
    } else if (numeric) {
        u->uid = (uid_t)id;
        u->gid = TOOL_NOGROUP;
        strcpy(u->home, "/");
        strcpy(u->shell, "/bin/sh");
    } else {
        fprintf(stderr, "%s: no user %s\n", prog, spec);
        return -1;
    }
    return 0;
}

/*
 * Become `u` for good: its groups (none for a numeric uid), gid and uid,
 * then check that no id is left behind and root cannot be regained. Also
 * non-dumpable, so that another process of the same user can neither
 * ptrace it nor take its descriptors (pidfd_getfd, /proc/PID/fd), and in a
 * session keyring of its own (not the caller's, with root's keys). 0 on
 * success, -1 with a message.
 */
static int tool_become(const char *prog, const struct tool_user *u) {
    if (setgroups((size_t)u->ngroups, u->groups) != 0 || setgid(u->gid) != 0 || setuid(u->uid) != 0) {
        fprintf(stderr, "%s: switching to uid %u gid %u: %s\n", prog, (unsigned)u->uid, (unsigned)u->gid,
                strerror(errno));
        return -1;
    }
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0 || ru != u->uid || eu != u->uid ||
        su != u->uid || rg != u->gid || eg != u->gid || sg != u->gid || (u->uid != 0 && setuid(0) == 0)) {
        fprintf(stderr, "%s: could not drop privileges for good\n", prog);
        return -1;
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        fprintf(stderr, "%s: prctl(PR_SET_DUMPABLE): %s\n", prog, strerror(errno));
        return -1;
    }
    /* setuid and exec keep the session keyring, and whoever possesses it
     * may search and read the keys root put there: join a new, empty one
     * (1: KEYCTL_JOIN_SESSION_KEYRING; ENOSYS: a kernel without keys). */
    if (syscall(SYS_keyctl, 1, NULL) < 0 && errno != ENOSYS) {
        fprintf(stderr, "%s: keyctl(KEYCTL_JOIN_SESSION_KEYRING): %s\n", prog, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * First thing in main: refuse a setuid or setgid install (these programs
 * drop root themselves, and are not written for an untrusted caller
 * holding a real id), and make sure descriptors 0, 1 and 2 are open (on
 * /dev/null), so that no socket or file we open becomes someone's stdout.
 * 0, or -1 with a message.
 */
static int tool_start(const char *prog) {
    if (getuid() != geteuid() || getgid() != getegid()) {
        fprintf(stderr, "%s: installed setuid or setgid: refusing to run (start it as root instead)\n", prog);
        return -1;
    }
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF && open("/dev/null", O_RDWR) != fd)
            return -1; /* nowhere to say so */
    return 0;
}

/*
 * SIGINT and SIGTERM to `handler`, without SA_RESTART (a blocking call
 * returns EINTR), every signal blocked while it runs; and unblocked, in
 * case the caller started us with them blocked. 0, or -1 with a message.
 */
static int tool_catch_stop_signals(void (*handler)(int)) {
    struct sigaction sa = {.sa_handler = handler};
    sigfillset(&sa.sa_mask);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigprocmask(SIG_UNBLOCK, &stop, NULL) != 0) {
        perror("sigaction");
        return -1;
    }
    return 0;
}

/* Is `uid` root or one of the `n` in `owners`? */
static int tool_owner_in(uid_t uid, const uid_t *owners, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (owners[i] == uid)
            return 1;
    return uid == 0;
}

/*
 * Can nobody but root and `owners` replace what is at `path` (a socket)?
 * Its directory must be theirs and writable by no one else, unless sticky:
 * there others may add names but not remove or rename another's entry.
 * (Only the last directory: the ones above must be as safe.) 0 if so; -1
 * with errno ENOENT (no directory, no message) or with a message and errno
 * (from lstat, or EPERM) if not.
 */
static int tool_dir_trusted(const char *prog, const char *path, const uid_t *owners, size_t n) {
    char dir[108]; /* sun_path's size: every caller checked the length */
    const char *slash = strrchr(path, '/');
    if (!slash)
        strcpy(dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    struct stat d;
    if (lstat(dir, &d) != 0) {
        int e = errno;
        if (e != ENOENT) /* not there (yet): the caller decides */
            fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(e));
        errno = e;
        return -1;
    }
    if (!tool_owner_in(d.st_uid, owners, n) || ((d.st_mode & (S_IWGRP | S_IWOTH)) && !(d.st_mode & S_ISVTX))) {
        fprintf(stderr,
                "%s: refusing %s: its directory %s (owner uid %u, mode %04o) lets others replace the socket; put it in "
                "a directory only root or uid %u may write\n",
                prog, path, dir, (unsigned)d.st_uid, (unsigned)(d.st_mode & 07777), (unsigned)owners[0]);
        errno = EPERM;
        return -1;
    }
    return 0;
}

/* Close every descriptor from `lowest` up. */
static void tool_close_from(int lowest) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowest, ~0U, 0U) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 1 << 20)
        max = 1 << 20;
    for (long fd = lowest; fd < max; fd++)
        close((int)fd);
}

#endif
