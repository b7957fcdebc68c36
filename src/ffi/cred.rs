//! Credentials: per-connection queries, per-message send and receive, and
//! the per-socket opt-ins.

use core::ffi::{c_char, c_int, c_uint, c_void};
use std::io::IoSlice;
use std::os::fd::IntoRawFd;

use super::flags::{self, FDCRED_NO_SOCKET_CHECK, PEER_CRED_FLAGS};
use super::{boundary, err, ptr};
use crate::msg::{send_msg, SendOptions};
use crate::types::{fdcred_cred, CredSource, Credentials};
use crate::{handshake, peer, simple};

/// Store the identity of the process at the other end of a connected Unix
/// socket into `*out`, as the kernel recorded it: the pid and the effective
/// uid and gid the peer had when it called `connect` (seen from an accepted
/// socket), `listen` (seen from the connecting socket) or `socketpair`. Later
/// changes of the peer's ids do not show.
///
/// Per OS: Linux `SO_PEERCRED`; FreeBSD and DragonFly `LOCAL_PEERCRED`
/// (the pid only on FreeBSD 13+, unknown otherwise); NetBSD
/// `LOCAL_PEEREID`; OpenBSD `SO_PEERCRED`; macOS `LOCAL_PEERCRED` and
/// `LOCAL_PEERPID`; illumos `getpeerucred` (which also gives the real ids,
/// `FDCRED_CRED_RUID`/`FDCRED_CRED_RGID`). A field the OS does not report is
/// left unknown, never guessed.
///
/// Works on `SOCK_STREAM` and `SOCK_SEQPACKET` connections from `accept`,
/// `connect` or `socketpair`, and on `SOCK_DGRAM` pairs from `socketpair`.
/// The pid is unknown (`known` lacks `FDCRED_CRED_PID`) when the peer is in
/// a pid namespace this process cannot see. Thread-safe.
///
/// User namespaces (Linux): the kernel reports an id this process's user
/// namespace does not map as the overflow id (`/proc/sys/kernel/overflowuid`
/// and `overflowgid`, 65534): host root talking to a server in a rootless
/// container arrives as 65534. The library reports that value as unknown
/// (bit clear, field -1) wherever the namespace leaves any id unmapped, even
/// where it maps 65534 to a real user, whom the kernel's report cannot tell
/// from an unmapped one; in a namespace that maps every id (the initial one)
/// it stays known. A peer that can be named in no field this way (pid and
/// ids all unknown) is still a peer: the call succeeds with `known` 0. The
/// namespace is looked at when an overflow id arrives, never cached, so a
/// process that later moves to another user namespace is judged by the one
/// it is in; no heap is used.
///
/// On a `socketpair` end it names the process that called `socketpair`
/// (Linux records the caller for both ends then), not whoever holds the
/// other end now: after a `fork` and `setuid` in the child, the parent
/// still sees itself (its pid and ids at `socketpair` time). To learn who
/// is writing, use per-message credentials (`fdcred_allow_recv_cred`, then
/// `fdcred_recv_cred`), which the kernel takes at each send.
///
/// Returns 0, or -1 with `errno` (and `*out` untouched):
/// - `ENOTCONN`: no peer the kernel recorded: an unconnected or `connect()`ed
///   `SOCK_DGRAM` socket, a listening socket, a socket not yet connected.
///   Never for a connected socket whose peer this process cannot name.
/// - `EOPNOTSUPP`: not a Unix-domain socket.
/// - `EPROTO`: the kernel answered in a layout this library does not know
///   (an `xucred` of another version or size).
/// - `EINVAL`: `out` is NULL.
/// - `EBADF`, `ENOTSOCK`.
///
/// # Safety
/// `out` must be NULL or point to writable memory for one `struct fdcred_cred`.
#[no_mangle]
pub unsafe extern "C" fn fdcred_peer_cred(sock: c_int, out: *mut fdcred_cred) -> c_int {
    boundary(|| {
        let sock = ptr::fd(sock)?;
        // SAFETY: the caller promises `out` is NULL or writable.
        let out = unsafe { ptr::inout(out) }?;
        *out = peer::peer_cred(sock)?.to_c();
        Ok(0)
    })
}

/// `fdcred_peer_cred` with `flags`: 0 (the same call), or
/// `FDCRED_NO_SOCKET_CHECK` for a caller that knows `sock` is connected
/// (it came from `accept`, `connect` or `socketpair`): the library then
/// skips the `getsockopt(SO_ACCEPTCONN)` that refuses a listening socket,
/// which halves the cost of the call on Linux. Given a listening socket
/// anyway, it stores the ids of whoever called `listen` (for a
/// socket-activated daemon: pid 1, uid 0), as `SO_PEERCRED` does. Every other
/// check stays: no recorded peer, or not a Unix socket, still fails.
///
/// Returns 0, or -1 with `errno` (and `*out` untouched): those of
/// `fdcred_peer_cred` (`ENOTCONN` for a listening socket only without
/// `FDCRED_NO_SOCKET_CHECK`), and
/// - `EINVAL`: an unknown flag.
///
/// # Safety
/// `out` must be NULL or point to writable memory for one `struct fdcred_cred`.
#[no_mangle]
pub unsafe extern "C" fn fdcred_peer_cred_flags(sock: c_int, out: *mut fdcred_cred, flags: c_uint) -> c_int {
    boundary(|| {
        let sock = ptr::fd(sock)?;
        // SAFETY: the caller promises `out` is NULL or writable.
        let out = unsafe { ptr::inout(out) }?;
        flags::check(flags, PEER_CRED_FLAGS)?;
        *out = if flags & FDCRED_NO_SOCKET_CHECK != 0 {
            peer::peer_cred_no_socket_check(sock)?
        } else {
            peer::peer_cred(sock)?
        }
        .to_c();
        Ok(0)
    })
}

/// Ask the kernel to attach the sender's credentials to every message `sock`
/// receives from now on. Needed before `fdcred_recv_cred` or
/// `fdcred_recvmsg` can report credentials.
///
/// Per OS: Linux `SO_PASSCRED`; FreeBSD 13+ `LOCAL_CREDS_PERSISTENT`;
/// NetBSD `LOCAL_CREDS`, which on a stream covers only the *first* message
/// that arrives after it; illumos `SO_RECVUCRED`; DragonFly has no such
/// option (nothing is set; a message carries credentials when its sender
/// attached them with `fdcred_send_cred`); OpenBSD and macOS have no
/// per-message credentials (`EOPNOTSUPP`: use `fdcred_peer_cred`).
///
/// Call it before the peer sends: on a listening socket before `accept`
/// (accepted sockets inherit it), on the receiving side of a `socketpair` or
/// bound datagram socket before handing out its address. A message queued
/// earlier carries credentials only if its sender attached them explicitly
/// (`fdcred_send_cred`, `SCM_CREDENTIALS`; the kernel checked them when it
/// was sent); for any other Linux makes up pid 0 and the overflow ids, and
/// the library reports that message as carrying none (never as an identity). The setting is never turned off by the library. Thread-safe.
///
/// To close the race with a peer that may already be writing, use the
/// handshake pair `fdcred_cred_handshake_receiver` /
/// `fdcred_cred_handshake_sender`.
///
/// Returns 0, or -1 with `errno`: `EOPNOTSUPP` (not a Unix-domain socket;
/// OpenBSD and macOS), `ENOPROTOOPT`/`EINVAL` (FreeBSD before 13, or
/// `LOCAL_CREDS` already set by the caller), `EBADF`, `ENOTSOCK`.
///
/// # Safety
/// None beyond passing an integer; any value is handled.
#[no_mangle]
pub unsafe extern "C" fn fdcred_allow_recv_cred(sock: c_int) -> c_int {
    boundary(|| {
        peer::allow_recv_cred(ptr::fd(sock)?)?;
        Ok(0)
    })
}

/// Ask the kernel to attach a pidfd of the sender to every message `sock`
/// receives (Linux 6.5+ `SO_PASSPIDFD`; `ENOPROTOOPT` on every other OS). `fdcred_recvmsg` with
/// `FDCRED_KEEP_PIDFD` hands it out; every other receive closes it.
///
/// Returns 0, or -1 with `errno`: `ENOPROTOOPT` (the kernel lacks it),
/// `EOPNOTSUPP` (not a Unix-domain socket), `EBADF`, `ENOTSOCK`.
///
/// # Safety
/// None beyond passing an integer; any value is handled.
#[no_mangle]
pub unsafe extern "C" fn fdcred_allow_recv_pidfd(sock: c_int) -> c_int {
    boundary(|| {
        peer::allow_recv_pidfd(ptr::fd(sock)?)?;
        Ok(0)
    })
}

/// Make the kernel refuse descriptors sent to `sock` (Linux 6.16+
/// `SO_PASSRIGHTS` off; `ENOPROTOOPT` on every other OS): a peer's `sendmsg` with `SCM_RIGHTS` then fails
/// with `EPERM` on its side, so no descriptor can flood this process, and
/// none has to be closed by it (closing a descriptor a peer chose can wait:
/// see `fdcred_recvmsg`).
///
/// Returns 0, or -1 with `errno`: `ENOPROTOOPT` (the kernel lacks it),
/// `EOPNOTSUPP` (not a Unix-domain socket), `EBADF`, `ENOTSOCK`.
///
/// # Safety
/// None beyond passing an integer; any value is handled.
#[no_mangle]
pub unsafe extern "C" fn fdcred_refuse_fds(sock: c_int) -> c_int {
    boundary(|| {
        peer::refuse_fds(ptr::fd(sock)?)?;
        Ok(0)
    })
}

/// Send `len` bytes from `buf` with credentials attached: the caller's own
/// pid, real uid and real gid when `cred` is NULL; otherwise the identity
/// `*cred` states, and nothing else in its place:
/// - `known` 0: exactly `pid`, `uid` and `gid` as written. A zero-filled
///   struct therefore claims pid 0, uid 0 and gid 0 and fails (`EPERM`;
///   `ESRCH` for root); a root daemon that sets `uid = 65534` and forgets
///   `known` sends uid 65534, not root.
/// - bits in `known`: the marked fields; the others are the caller's own
///   (`FDCRED_CRED_RUID`/`RGID` change nothing: Linux carries one uid and
///   one gid). A bit that no `FDCRED_CRED_*` constant defines: `EINVAL`.
///
/// The same holds for `msg->cred` in `fdcred_sendmsg` and for
/// `CredSource::Claim` in the Rust API.
///
/// Linux: the kernel checks the claim: without `CAP_SETUID`/`CAP_SETGID`/
/// `CAP_SYS_ADMIN` a process may claim only its own pid and its real,
/// effective or saved ids, else `EPERM` and nothing is sent. Other OSes have
/// no way to state an identity: `cred` must be NULL (else `EOPNOTSUPP`);
/// FreeBSD and DragonFly attach an `SCM_CREDS` the kernel fills in; NetBSD
/// and illumos send the data alone, and the kernel attaches the sender's
/// credentials for a receiver that opted in; OpenBSD and macOS have none
/// (`EOPNOTSUPP`). On a stream at least one byte is required, and a short
/// count is possible as for `fdcred_send_fds` (the credentials went with the
/// first byte). Never raises `SIGPIPE`; `EINTR` is retried. Thread-safe.
///
/// Returns the number of bytes sent, or -1 with `errno`:
/// - `EPERM`: an identity the caller may not claim (Linux).
/// - `EINVAL`: (Linux) a claimed uid or gid of -1, or one the caller's user
///   namespace does not map; the kernel checks this before any permission.
/// - `ESRCH`: (Linux) a claimed pid that names no process, from a sender
///   allowed to claim other pids (`CAP_SYS_ADMIN`); pid 0 from a zero-filled
///   `cred` sent by a privileged process.
/// - `EINVAL`: NULL `buf` with `len` > 0; `len` > `SSIZE_MAX`; `len` 0 on a
///   stream socket; a bit in `cred->known` that no `FDCRED_CRED_*` constant
///   defines (checked before anything is sent, on every OS).
/// - `EOPNOTSUPP`: not a Unix-domain socket; a non-NULL `cred` on any OS
///   but Linux; OpenBSD and macOS.
/// - `ENOTCONN`: no peer (an unconnected or listening socket).
/// - `EBADF`, `ENOTSOCK`, `EPIPE`, `ECONNRESET`, `EAGAIN`.
///
/// # Safety
/// `cred` must be NULL or point to a valid `struct fdcred_cred`; `buf` must
/// be readable for `len` bytes (or NULL with 0).
#[no_mangle]
pub unsafe extern "C" fn fdcred_send_cred(
    sock: c_int,
    cred: *const fdcred_cred,
    buf: *const c_void,
    len: usize,
) -> libc::ssize_t {
    boundary(|| {
        let sock = ptr::fd(sock)?;
        // SAFETY: the caller promises `cred` is NULL or valid.
        let source = match unsafe { ptr::optional(cred) } {
            Some(&c) => CredSource::Claim(Credentials::from_c(c)),
            None => CredSource::Own,
        };
        // SAFETY: the caller promises `buf` holds `len` bytes.
        let data = unsafe { ptr::bytes(buf, len) }?;
        let opts = SendOptions { cred: Some(source), ..Default::default() };
        Ok(send_msg(sock, &[IoSlice::new(data)], &opts)? as libc::ssize_t)
    })
}

/// Receive up to `len` bytes into `buf` and the sender's credentials into
/// `*out`, as the kernel attached them (after `fdcred_allow_recv_cred`).
///
/// Fields the kernel could not vouch for are marked unknown in `out->known`:
/// a pid from another pid namespace, and an id this process's user
/// namespace does not map, which Linux reports as the overflow id 65534
/// (see `fdcred_peer_cred`). A message that carries no credentials,
/// including one queued before `fdcred_allow_recv_cred` for which Linux
/// synthesizes pid 0 and the overflow ids, fails with `ENOMSG`: it is never
/// reported as an identity. So does a message whose sender can be named in
/// no field (another pid namespace, ids unmapped here), which the kernel
/// reports with the same values. Descriptors attached to the message are
/// closed without waiting (see `fdcred_recvmsg`), and the call fails; a
/// pidfd is closed too. A `SOCK_DGRAM` or `SOCK_SEQPACKET` record longer
/// than `len` fails with `EMSGSIZE`, never returned cut. `EINTR` is retried.
/// Thread-safe.
///
/// Returns the number of bytes received, or -1 with `errno` (and `*out`
/// untouched):
/// - `ENOMSG`: no credentials with the message, or none this process can
///   name (the data is consumed).
/// - `ECONNRESET`: end of file on a stream or seqpacket connection.
/// - `EMSGSIZE`: the message carried descriptors; or it is a
///   `SOCK_DGRAM`/`SOCK_SEQPACKET` record longer than `len`. It is consumed;
///   every descriptor it carried was closed.
/// - `EBADMSG`: the kernel truncated the control data; all descriptors closed.
/// - `EINVAL`: `out` is NULL; NULL `buf` with `len` > 0; `len` >
///   `SSIZE_MAX`; `len` 0 on a `SOCK_STREAM` socket (a read of no bytes
///   there cannot be told from end of file).
/// - `EOPNOTSUPP`: not a Unix-domain socket; OpenBSD and macOS, which have
///   no per-message credentials (nothing is read: use `fdcred_peer_cred`).
/// - `ENOTCONN`: no peer (an unconnected or listening socket).
/// - `EBADF`, `ENOTSOCK`, `EAGAIN`.
///
/// # Safety
/// `out` must be NULL or writable for one `struct fdcred_cred`; `buf` must
/// be writable for `len` bytes (or NULL with 0).
#[no_mangle]
pub unsafe extern "C" fn fdcred_recv_cred(
    sock: c_int,
    out: *mut fdcred_cred,
    buf: *mut c_void,
    len: usize,
) -> libc::ssize_t {
    boundary(|| {
        let sock = ptr::fd(sock)?;
        // SAFETY: the caller promises `out` is NULL or writable.
        let out = unsafe { ptr::inout(out) }?;
        // SAFETY: the caller promises `buf` is writable for `len` bytes.
        let data = unsafe { ptr::bytes_mut(buf, len) }?;
        let (bytes, cred) = simple::recv_cred(sock, data)?;
        *out = cred.to_c();
        Ok(bytes as libc::ssize_t)
    })
}

/// The supplementary group ids of the peer of a connected Unix socket, as
/// recorded when it connected: Linux `SO_PEERGROUPS`; FreeBSD, DragonFly
/// and macOS the `xucred` of `LOCAL_PEERCRED` (at most 15 groups: the kernel
/// cuts the list); illumos `getpeerucred`. NetBSD and OpenBSD report none
/// (`ENOPROTOOPT`).
///
/// With `size` 0 (`groups` may be NULL), returns how many there are and
/// writes nothing, as `getgroups(0, NULL)` does; otherwise stores up to
/// `size` ids in `groups` and returns the count. Thread-safe.
///
/// A group this process's user namespace does not map (Linux reports it as
/// the overflow gid 65534; see `fdcred_peer_cred`) is no membership it can
/// name: it is left out of the list, so the count stored can be smaller than
/// the one a `size` 0 query returned (the kernel's count).
///
/// Returns the count, or -1 with `errno`:
/// - `ERANGE`: `size` is too small (ask with 0 first).
/// - `ENOTCONN`: no peer the kernel recorded (see `fdcred_peer_cred`).
/// - `EINVAL`: NULL `groups` with `size` > 0; a `size` no array can have
///   (more than `SSIZE_MAX` bytes).
/// - `ENOPROTOOPT`: the kernel lacks `SO_PEERGROUPS` (Linux before 4.13);
///   NetBSD, OpenBSD.
/// - `EOPNOTSUPP`, `EBADF`, `ENOTSOCK`.
///
/// # Safety
/// `groups` must be writable for `size` ids, or be NULL with `size` 0.
#[no_mangle]
pub unsafe extern "C" fn fdcred_peer_groups(sock: c_int, groups: *mut libc::gid_t, size: usize) -> libc::ssize_t {
    boundary(|| {
        let sock = ptr::fd(sock)?;
        // SAFETY: the caller promises room for `size` ids.
        let groups = unsafe { ptr::slice_mut(groups, size) }?;
        Ok(peer::peer_groups(sock, groups)? as libc::ssize_t)
    })
}

/// A pidfd referring to the peer process of a connected Unix socket (Linux
/// 6.5+ `SO_PEERPIDFD`): unlike a pid it cannot come to name another process
/// after the peer exits. Use it with `pidfd_send_signal`, `poll` (readable
/// when the process exits) or `pidfd_getfd`.
///
/// On a `socketpair` end it names the process that created the pair, as
/// `fdcred_peer_cred` does: often the caller itself (after a `fork`, the
/// parent), so signalling "the peer" through it can signal yourself. The
/// per-message credentials (`fdcred_recv_cred`, `fdcred_allow_recv_pidfd`)
/// name whoever sent each message.
///
/// Returns the new descriptor, owned by the caller, close-on-exec; or -1
/// with `errno`: `ENOPROTOOPT` (the kernel lacks it; every OS but Linux), `ENOTCONN` (no
/// recorded peer), `EOPNOTSUPP`, `EBADF`, `ENOTSOCK`, `EMFILE`. Thread-safe.
///
/// # Safety
/// None beyond passing an integer; any value is handled.
#[no_mangle]
pub unsafe extern "C" fn fdcred_peer_pidfd(sock: c_int) -> c_int {
    boundary(|| Ok(peer::peer_pidfd(ptr::fd(sock)?)?.into_raw_fd()))
}

/// The security label (LSM context, e.g. an SELinux or AppArmor context) of
/// the peer of a connected Unix socket (Linux `SO_PEERSEC`), as a
/// NUL-terminated string in `buf`.
///
/// With `size` 0 (`buf` may be NULL), returns an upper bound of the label's
/// length; pass at least that plus one. Otherwise returns the length written
/// (without the NUL). Thread-safe.
///
/// Returns the length, or -1 with `errno`:
/// - `ENOPROTOOPT`: no LSM that labels sockets is active; every OS but Linux.
/// - `ERANGE`: `buf` too small for the label and its NUL.
/// - `EINVAL`: NULL `buf` with `size` > 0; `size` > `SSIZE_MAX`.
/// - `ENOTCONN`, `EOPNOTSUPP`, `EBADF`, `ENOTSOCK`.
///
/// # Safety
/// `buf` must be writable for `size` bytes, or be NULL with `size` 0.
#[no_mangle]
pub unsafe extern "C" fn fdcred_peer_security(sock: c_int, buf: *mut c_char, size: usize) -> libc::ssize_t {
    boundary(|| {
        let sock = ptr::fd(sock)?;
        // SAFETY: the caller promises `buf` is writable for `size` bytes.
        let buf = unsafe { ptr::chars_mut(buf, size) }?;
        if buf.is_empty() {
            return Ok(peer::peer_security(sock, buf)? as libc::ssize_t);
        }
        let mut len = peer::peer_security(sock, buf)?;
        while len > 0 && buf[len - 1] == 0 {
            len -= 1;
        }
        let Some(terminator) = buf.get_mut(len) else {
            return Err(err(libc::ERANGE));
        };
        *terminator = 0;
        Ok(len as libc::ssize_t)
    })
}

/// Receiver's half of the credentials handshake, for a connected Unix
/// socket: opt in to per-message credentials (as `fdcred_allow_recv_cred`),
/// then send one data byte, `FDCRED_CRED_HANDSHAKE_BYTE`, the "go on".
///
/// Why: the kernel attaches credentials only to messages queued *after* the
/// receiver opted in (Linux makes up pid 0 and the overflow ids for earlier
/// ones; NetBSD's `LOCAL_CREDS` covers only the first message after it). A
/// sender that waits for the "go on" (`fdcred_cred_handshake_sender`, or a
/// plain read of that byte) is sure its next message carries credentials.
/// Then receive with `fdcred_recv_cred`. Works on streams, seqpacket and
/// connected datagram pairs. Never raises `SIGPIPE`; `EINTR` is retried.
/// Thread-safe.
///
/// Returns 0, or -1 with `errno`:
/// - `EOPNOTSUPP`: not a Unix-domain socket; OpenBSD and macOS (no
///   per-message credentials: use `fdcred_peer_cred`). Nothing is sent.
/// - `ENOPROTOOPT`, `EINVAL`: the opt-in failed (see
///   `fdcred_allow_recv_cred`). Nothing is sent.
/// - `EPIPE`, `ECONNRESET`, `ENOTCONN`, `EAGAIN` (non-blocking socket with a
///   full buffer: the opt-in is done, call again), `EBADF`, `ENOTSOCK`.
///
/// # Safety
/// None beyond passing an integer; any value is handled.
#[no_mangle]
pub unsafe extern "C" fn fdcred_cred_handshake_receiver(sock: c_int) -> c_int {
    boundary(|| {
        handshake::cred_handshake_receiver(ptr::fd(sock)?)?;
        Ok(0)
    })
}

/// Sender's half of the credentials handshake: wait for (read) the one-byte
/// "go on" that `fdcred_cred_handshake_receiver` (or a plain peer) sends on
/// `sock`. After it returns 0, send with `fdcred_send_cred`: the receiver has
/// opted in, so the message carries credentials.
///
/// Blocks until the byte arrives unless `sock` is non-blocking (then
/// `EAGAIN`). Descriptors attached to the byte are closed, without waiting
/// (see `fdcred_recvmsg`). `EINTR` is retried. Thread-safe.
///
/// Returns 0, or -1 with `errno`:
/// - `ECONNRESET`: end of file before the byte (the receiver gave up).
/// - `EPROTO`: a byte other than `FDCRED_CRED_HANDSHAKE_BYTE`, a datagram
///   longer than one byte or empty, or descriptors attached (all closed).
///   The data read is consumed.
/// - `EBADMSG`: (NetBSD) descriptors attached to the byte could not be
///   installed (the caller is at `RLIMIT_NOFILE`); the kernel closed them.
/// - `EAGAIN`: non-blocking socket, the byte has not arrived yet.
/// - `EOPNOTSUPP`: not a Unix-domain socket.
/// - `EBADF`, `ENOTSOCK`, `ENOTCONN`.
///
/// # Safety
/// None beyond passing an integer; any value is handled.
#[no_mangle]
pub unsafe extern "C" fn fdcred_cred_handshake_sender(sock: c_int) -> c_int {
    boundary(|| {
        handshake::cred_handshake_sender(ptr::fd(sock)?)?;
        Ok(0)
    })
}
