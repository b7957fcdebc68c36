//! Per-connection identity (the peer queries) and the per-socket opt-ins,
//! over the selected backend.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use crate::sys;
use crate::types::Credentials;

/// The identity of the process at the other end of a connected Unix socket,
/// recorded by the kernel at `connect`/`accept`/`socketpair` time (on a
/// `socketpair` end: the process that created the pair).
///
/// Fields it cannot vouch for are unknown: a pid in a pid namespace this
/// process cannot see, and on Linux an id its user namespace does not map,
/// which the kernel reports as the overflow id 65534 (see [`Credentials`]).
/// A connected peer that can be named in no field is still a peer: the
/// credentials come back with nothing known ([`Credentials::is_unknown`]).
///
/// Errors: `ENOTCONN` (no connected peer: an unconnected or `connect()`ed
/// datagram socket, a listening socket; never a connected socket whose peer
/// cannot be named), `EOPNOTSUPP` (not a Unix socket), `EBADF`, `ENOTSOCK`.
#[inline(always)]
pub fn peer_cred(sock: BorrowedFd<'_>) -> io::Result<Credentials> {
    sys::peer_cred(sock, sys::ListenerCheck::Refuse).map(Credentials)
}

/// [`peer_cred`] for a caller that vouches `sock` is connected (it came from
/// `accept`, `connect` or `socketpair`): skips the `getsockopt` that refuses
/// a listening socket, which would otherwise report whoever called `listen`
/// as its peer. Half the cost of [`peer_cred`] on Linux. Every other check
/// stays: a socket with no peer recorded, or not a Unix one, still fails.
#[inline(always)]
pub fn peer_cred_no_socket_check(sock: BorrowedFd<'_>) -> io::Result<Credentials> {
    sys::peer_cred(sock, sys::ListenerCheck::Skip).map(Credentials)
}

/// The supplementary groups of the peer. With an empty `groups`, returns how
/// many there are; otherwise fills `groups` and returns the count, or
/// `ERANGE` when it is too small. On Linux a group this process's user
/// namespace does not map (reported as the overflow gid) is left out, so the
/// count filled can be below the size query's.
pub fn peer_groups(sock: BorrowedFd<'_>, groups: &mut [libc::gid_t]) -> io::Result<usize> {
    sys::peer_groups(sock, groups)
}

/// A pidfd naming the peer process (close-on-exec), immune to pid reuse.
/// `ENOPROTOOPT` where the kernel lacks `SO_PEERPIDFD` (Linux before 6.5).
///
/// On a `socketpair` end it names the process that created the pair, as
/// [`peer_cred`] does: often the caller itself, so signalling "the peer"
/// through it can signal yourself. Per-message credentials name each sender.
pub fn peer_pidfd(sock: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    sys::peer_pidfd(sock)
}

/// The peer's security label (LSM context) as bytes. With an empty `label`,
/// returns its length; `ERANGE` when `label` is too small; `ENOPROTOOPT`
/// when no LSM provides labels.
pub fn peer_security(sock: BorrowedFd<'_>, label: &mut [u8]) -> io::Result<usize> {
    sys::peer_security(sock, label)
}

/// Ask the kernel to attach the sender's credentials to every message this
/// socket receives from now on. On a listening socket it covers the
/// connections it accepts; enable it before the peer sends.
pub fn allow_recv_cred(sock: BorrowedFd<'_>) -> io::Result<()> {
    sys::allow_recv_cred(sock)
}

/// Ask the kernel to attach a pidfd of the sender to every message this
/// socket receives (`SO_PASSPIDFD`, Linux 6.5+; `ENOPROTOOPT` before).
pub fn allow_recv_pidfd(sock: BorrowedFd<'_>) -> io::Result<()> {
    sys::allow_recv_pidfd(sock)
}

/// Make the kernel refuse descriptors sent to this socket
/// (`SO_PASSRIGHTS=0`, Linux 6.16+; `ENOPROTOOPT` before).
pub fn refuse_fds(sock: BorrowedFd<'_>) -> io::Result<()> {
    sys::refuse_fds(sock)
}
