//! OpenBSD: `SCM_RIGHTS` with `MSG_CMSG_CLOEXEC` and `MSG_NOSIGNAL`; the
//! peer's identity from `SO_PEERCRED` (`struct sockpeercred`, whose fields
//! are `uid, gid, pid`: not Linux's `pid, uid, gid` order). There are no
//! per-message credentials: sending or enabling them fails with `EOPNOTSUPP`.
//!
//! The kernel accepts exactly one control message per send, and on a
//! truncated receive it drops every descriptor and fails with `EMSGSIZE`.
//!
//! Type-checked in CI (`scripts/cross-check`); no OpenBSD machine runs the tests.

use core::mem::size_of;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use super::unix::{self, err};
use super::CmsgKind;
use crate::cmsg::Builder;
use crate::cred::{fdcred_cred, CredSource, FDCRED_CRED_GID, FDCRED_CRED_PID, FDCRED_CRED_UID};

#[cfg(fdcred_canary)]
const _: () = {
    let _canary: u8 = "fdcred canary: src/sys/openbsd.rs is compiled for this target";
};

/// The kernel turns each descriptor into a `struct fdpass` (a pointer and
/// flags, 16 bytes on LP64) inside one `MCLBYTES` (2048) cluster:
/// `CMSG_SPACE(16 * n) <= 2048` gives 127. More fails with `E2BIG` there, so
/// the library refuses it first with `EINVAL`.
pub(crate) const MAX_FDS: usize = 127;
/// No per-message credentials on this OS: `fdcred_recv_cred` refuses up
/// front (`EOPNOTSUPP`) instead of consuming a message that cannot have them.
pub(crate) const MSG_CRED: bool = false;
pub(crate) const CLOEXEC_IS_ATOMIC: bool = true;
/// `_ALIGNBYTES + 1` of `<machine/_types.h>`.
pub(crate) const CMSG_ALIGN: usize = if cfg!(target_arch = "x86") { 4 } else { 8 };

pub(crate) const RECV_CONTROL_LEN: usize = 4096;
pub(crate) const SEND_CONTROL_LEN: usize = 1152;
const _: () = assert!(SEND_CONTROL_LEN >= 16 + 4 * MAX_FDS);

pub(crate) fn set_errno(code: i32) {
    // SAFETY: __errno returns this thread's errno slot, always valid.
    unsafe { *libc::__errno() = code };
}

/// `sendmsg` with `MSG_NOSIGNAL`, retried on `EINTR`.
///
/// # Safety
/// `msg` must describe valid buffers (name, iovecs, control) for the call.
pub(crate) unsafe fn sendmsg(sock: BorrowedFd<'_>, msg: &libc::msghdr, nonblocking: bool) -> io::Result<usize> {
    let flags = libc::MSG_NOSIGNAL | if nonblocking { libc::MSG_DONTWAIT } else { 0 };
    // SAFETY: forwarded from the caller.
    unsafe { unix::sendmsg_retry(sock, msg, flags) }
}

/// `recvmsg` with `MSG_CMSG_CLOEXEC` unless `cloexec` is false, retried on `EINTR`.
///
/// # Safety
/// `msg` must describe valid writable buffers for the call.
pub(crate) unsafe fn recvmsg(
    sock: BorrowedFd<'_>,
    msg: &mut libc::msghdr,
    nonblocking: bool,
    cloexec: bool,
) -> io::Result<usize> {
    let flags = if cloexec { libc::MSG_CMSG_CLOEXEC } else { 0 } | if nonblocking { libc::MSG_DONTWAIT } else { 0 };
    // SAFETY: forwarded from the caller.
    unsafe { unix::recvmsg_retry(sock, msg, flags) }
}

/// Nothing to do: `MSG_CMSG_CLOEXEC` already did it atomically.
pub(crate) fn set_cloexec_after_recv(_fd: &OwnedFd) {}

pub(crate) fn classify_cmsg(level: libc::c_int, kind: libc::c_int) -> CmsgKind {
    if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
        CmsgKind::Rights
    } else {
        CmsgKind::Other
    }
}

/// Never called: no control message is classified as credentials here.
pub(crate) fn decode_cred(_kind: libc::c_int, _payload: &[u8]) -> Option<fdcred_cred> {
    None
}

/// No per-message credentials: `EOPNOTSUPP`.
pub(crate) fn push_cred<const N: usize>(_builder: &mut Builder<'_, N>, _source: CredSource) -> io::Result<()> {
    Err(err(libc::EOPNOTSUPP))
}

pub(crate) fn socket_domain(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    match unix::getsockopt::<libc::c_int>(sock, libc::SOL_SOCKET, libc::SO_DOMAIN) {
        Ok((domain, _)) => Ok(domain),
        Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => unix::domain_by_name(sock),
        Err(e) => Err(e),
    }
}

pub(crate) fn socket_type(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    unix::socket_type(sock)
}

#[allow(dead_code)] // in the interface; the core does not need it on this OS
pub(crate) fn is_listening(sock: BorrowedFd<'_>) -> io::Result<bool> {
    unix::is_listening(sock)
}

/// `SO_PEERCRED`: effective uid and gid, and pid, at connect time.
pub(crate) fn peer_cred(sock: BorrowedFd<'_>) -> io::Result<fdcred_cred> {
    unix::require_unix(socket_domain(sock)?)?;
    let (pc, len) = unix::getsockopt::<libc::sockpeercred>(sock, libc::SOL_SOCKET, libc::SO_PEERCRED)
        .map_err(unix::peer_query_error)?;
    if len != size_of::<libc::sockpeercred>() {
        return Err(err(libc::EPROTO));
    }
    unix::refuse_listening(sock)?;
    let mut cred = fdcred_cred::unknown();
    if pc.pid > 0 {
        cred.pid = pc.pid;
        cred.known |= FDCRED_CRED_PID;
    }
    cred.uid = pc.uid;
    cred.gid = pc.gid;
    cred.known |= FDCRED_CRED_UID | FDCRED_CRED_GID;
    Ok(cred)
}

/// `sockpeercred` carries no groups: `ENOPROTOOPT`.
pub(crate) fn peer_groups(sock: BorrowedFd<'_>, _groups: &mut [libc::gid_t]) -> io::Result<usize> {
    unix::require_unix(socket_domain(sock)?)?;
    Err(err(libc::ENOPROTOOPT))
}

/// No pidfd: `ENOPROTOOPT`.
pub(crate) fn peer_pidfd(sock: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    unix::require_unix(socket_domain(sock)?)?;
    Err(err(libc::ENOPROTOOPT))
}

/// No socket security labels: `ENOPROTOOPT`.
pub(crate) fn peer_security(sock: BorrowedFd<'_>, _label: &mut [u8]) -> io::Result<usize> {
    unix::require_unix(socket_domain(sock)?)?;
    Err(err(libc::ENOPROTOOPT))
}

/// No per-message credentials: `EOPNOTSUPP` (use `fdcred_peer_cred`).
pub(crate) fn allow_recv_cred(sock: BorrowedFd<'_>) -> io::Result<()> {
    unix::require_unix(socket_domain(sock)?)?;
    Err(err(libc::EOPNOTSUPP))
}

/// No per-message pidfd: `ENOPROTOOPT`.
pub(crate) fn allow_recv_pidfd(sock: BorrowedFd<'_>) -> io::Result<()> {
    unix::require_unix(socket_domain(sock)?)?;
    Err(err(libc::ENOPROTOOPT))
}

/// No way to refuse descriptors: `ENOPROTOOPT`.
pub(crate) fn refuse_fds(sock: BorrowedFd<'_>) -> io::Result<()> {
    unix::require_unix(socket_domain(sock)?)?;
    Err(err(libc::ENOPROTOOPT))
}
