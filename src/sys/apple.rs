//! macOS and iOS: `SCM_RIGHTS` without `MSG_CMSG_CLOEXEC` and without a
//! dependable `MSG_NOSIGNAL`; the peer's identity from `LOCAL_PEERCRED`
//! (`struct xucred`, no pid) and `LOCAL_PEERPID`, both at `SOL_LOCAL`. No
//! per-message credentials: sending or enabling them fails with `EOPNOTSUPP`.
//!
//! * **Close-on-exec is not atomic**: received descriptors get `FD_CLOEXEC`
//!   with `fcntl` right after `recvmsg` returns; a `fork`+`exec` in another
//!   thread in between inherits them (`CLOEXEC_IS_ATOMIC` is false).
//! * **SIGPIPE**: before each send the library sets `SO_NOSIGPIPE` on the
//!   socket. It stays set: later plain `write`s on that socket also get
//!   `EPIPE` instead of the signal. On a socket shut down in both directions
//!   the kernel refuses the option (`EINVAL`); the send then fails with
//!   `EPIPE` without being tried, since the kernel would have raised SIGPIPE.
//! * **Truncation**: the kernel installs every descriptor, then cuts the
//!   control data, leaving the last `cmsg_len` unadjusted. The receive buffer
//!   (`RECV_CONTROL_LEN`) is larger than any control data a sender can queue
//!   (`MCLBYTES`), so the library's own receives are not cut; the parser
//!   clamps lengths and closes every descriptor it finds either way.
//! * **Back-pressure**: `sendmsg` with descriptors fails with `EMSGSIZE` when
//!   the peer's receive buffer is full, even on a blocking socket. The
//!   message was not sent; retry once the peer has read.
//! * The kernel accepts one `SCM_RIGHTS` message per send (`EINVAL` for
//!   two); the library never builds more.
//!
//! Type-checked in CI (`scripts/cross-check`); no Apple machine runs the tests.

use core::mem::size_of;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use super::common::{self, err};
use super::ListenerCheck;
use crate::types::fdcred_cred;

// Interface items whose code is the same on other backends (src/sys/common.rs):
// `recvmsg` without `MSG_CMSG_CLOEXEC`, which this OS lacks (close-on-exec
// follows in `set_cloexec_after_recv`);
pub(crate) use super::common::msg_flags::recvmsg;
// socket facts from `SOL_SOCKET` options, and closing unwanted fds without lingering;
pub(crate) use super::common::{close_unwanted, is_listening, socket_type};
// the peer's groups from `LOCAL_PEERCRED`'s `struct xucred`, as on FreeBSD;
pub(crate) use super::common::xucred::peer_groups;
// no per-message credentials (`EOPNOTSUPP`);
pub(crate) use super::common::no_msg_cred::{allow_recv_cred, classify_cmsg, cred_attachment, decode_cred};
// what this OS lacks (`ENOPROTOOPT`): pidfds, security labels, refusing descriptors.
pub(crate) use super::common::lacking::{allow_recv_pidfd, peer_pidfd, peer_security, refuse_fds};

#[cfg(fdcred_canary)]
const _: () = {
    let _canary: u8 = "fdcred canary: src/sys/apple.rs is compiled for this target";
};

/// Linux's value, inside what XNU accepts in one send (control data up to
/// `MCLBYTES`, 2048 bytes, one pointer per descriptor inside the kernel).
pub(crate) const MAX_FDS: usize = 253;
/// No per-message credentials on this OS: `fdcred_recv_cred` refuses up
/// front (`EOPNOTSUPP`) instead of consuming a message that cannot have them.
pub(crate) const MSG_CRED: bool = false;
pub(crate) const CLOEXEC_IS_ATOMIC: bool = false;
/// `__DARWIN_ALIGN32`: 4 on every Darwin target.
pub(crate) const CMSG_ALIGN: usize = 4;

/// Above `MCLBYTES` (2048), the most control data one message can carry, so
/// the kernel never truncates our receives (it would install descriptors
/// that no longer fit, out of our reach).
pub(crate) const RECV_CONTROL_LEN: usize = 4096;
pub(crate) const SEND_CONTROL_LEN: usize = 1152;
const _: () = assert!(SEND_CONTROL_LEN >= 12 + 4 * MAX_FDS);

pub(crate) fn set_errno(code: i32) {
    // SAFETY: __error returns this thread's errno slot, always valid.
    unsafe { *libc::__error() = code };
}

/// Make sure the socket will not raise SIGPIPE (see the module docs).
fn no_sigpipe(sock: BorrowedFd<'_>) -> io::Result<()> {
    match common::setsockopt_int(sock, libc::SOL_SOCKET, libc::SO_NOSIGPIPE, 1) {
        Ok(()) => Ok(()),
        // Shut down both ways: the option cannot be set any more, and a send
        // would raise SIGPIPE unless it already was.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            match common::getsockopt::<libc::c_int>(sock, libc::SOL_SOCKET, libc::SO_NOSIGPIPE) {
                Ok((on, _)) if on != 0 => Ok(()),
                _ => Err(err(libc::EPIPE)),
            }
        }
        Err(e) => Err(e),
    }
}

/// `SO_NOSIGPIPE`, then `sendmsg`, retried on `EINTR` unless `interruptible`.
///
/// # Safety
/// `msg` must describe valid buffers (name, iovecs, control) for the call.
pub(crate) unsafe fn sendmsg(
    sock: BorrowedFd<'_>,
    msg: &libc::msghdr,
    nonblocking: bool,
    interruptible: bool,
) -> io::Result<usize> {
    no_sigpipe(sock)?;
    let flags = if nonblocking { libc::MSG_DONTWAIT } else { 0 };
    // SAFETY: forwarded from the caller.
    unsafe { common::sendmsg_retry(sock, msg, flags, interruptible) }
}

/// `FD_CLOEXEC` with `fcntl`: not atomic (see the module docs).
pub(crate) fn set_cloexec_after_recv(fd: &OwnedFd) {
    common::set_cloexec(fd);
}

pub(crate) fn socket_domain(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    common::domain_by_name(sock)
}

/// `LOCAL_PEERCRED` (effective uid, effective gid in `cr_groups[0]`) and
/// `LOCAL_PEERPID` (the pid; unknown if the kernel refuses it).
pub(crate) fn peer_cred(sock: BorrowedFd<'_>, listener: ListenerCheck) -> io::Result<fdcred_cred> {
    let xu = common::xucred::peer(sock, listener)?;
    let mut cred = common::xucred::effective_ids(&xu);
    if let Ok((pid, len)) = common::getsockopt::<libc::pid_t>(sock, common::SOL_LOCAL, libc::LOCAL_PEERPID) {
        if len == size_of::<libc::pid_t>() {
            common::set_pid(&mut cred, pid);
        }
    }
    Ok(cred)
}
