//! NetBSD: `SCM_RIGHTS` with `MSG_CMSG_CLOEXEC` and `MSG_NOSIGNAL`; the
//! peer's identity from `LOCAL_PEEREID` at level 0 (`struct unpcbid`: pid,
//! effective uid and gid; `SOL_SOCKET` would give `ENOPROTOOPT`); per-message
//! credentials after the receiver sets `LOCAL_CREDS` (level 0): `SCM_CREDS`
//! `struct sockcred`, of variable size (`SOCKCREDSIZE(ngroups)`).
//!
//! `LOCAL_CREDS` is one-shot on a stream: the kernel attaches credentials to
//! the first message that arrives after the option was set, then clears it.
//! It must be set before the sender writes (on the listening socket, which
//! accepted sockets inherit, or through the handshake pair
//! `fdcred_cred_handshake_receiver`/`fdcred_cred_handshake_sender`).
//!
//! Run on NetBSD 7.99 kernel code (2016) in a rumprun unikernel under qemu by
//! `scripts/test-netbsd` (the unit tests, tests/rust_std.rs,
//! tests/no_alloc_rust.rs, tests/netbsd.rs and the C ABI checks in
//! c-tests/netbsd/), one process; no NetBSD 8+ machine runs them. What that
//! kernel showed: `LOCAL_CREDS` is one-shot on `SOCK_STREAM` and
//! `SOCK_SEQPACKET` and covers every datagram on `SOCK_DGRAM`; `SCM_RIGHTS`
//! and `SCM_CREDS` arrive in one message; a control buffer too small for the
//! `SCM_RIGHTS` array drops the whole array (`MSG_CTRUNC`, nothing
//! installed); at the descriptor limit `recvmsg` fails with `EMSGSIZE` after
//! closing every descriptor of the message (reported as `EBADMSG`, below),
//! and on a stream its data stays queued for the next receive.

use std::io;
use std::os::fd::BorrowedFd;

use super::common;
use super::{CmsgKind, ListenerCheck};
use crate::types::fdcred_cred;

// Interface items whose code is the same on other backends (src/sys/common.rs):
// `MSG_NOSIGNAL` and `MSG_CMSG_CLOEXEC` on every send and receive;
pub(crate) use super::common::msg_flags::{sendmsg, set_cloexec_after_recv};
// socket facts from `SOL_SOCKET` options, and closing unwanted fds without lingering;
pub(crate) use super::common::{close_unwanted, is_listening, socket_type};
// the kernel attaches credentials for the receiver's `LOCAL_CREDS`;
pub(crate) use super::common::kernel_attaches::cred_attachment;
// what this OS lacks (`ENOPROTOOPT`): the peer's groups (`unpcbid` has none), pidfds, security labels,
// refusing descriptors.
pub(crate) use super::common::lacking::{allow_recv_pidfd, peer_groups, peer_pidfd, peer_security, refuse_fds};

#[cfg(fdcred_canary)]
const _: () = {
    let _canary: u8 = "fdcred canary: src/sys/netbsd.rs is compiled for this target";
};

/// Linux's value, well inside what one send may carry here (control data up
/// to `MCLBYTES`, 2048 bytes). Too many descriptors in flight overall gives
/// `EAGAIN` on send.
pub(crate) const MAX_FDS: usize = 253;
/// Whether messages can carry the sender's credentials at all.
pub(crate) const MSG_CRED: bool = true;
pub(crate) const CLOEXEC_IS_ATOMIC: bool = true;
/// `__ALIGNBYTES + 1` of `<machine/types.h>`.
pub(crate) const CMSG_ALIGN: usize = if cfg!(any(target_arch = "x86", target_arch = "aarch64")) {
    4
} else if cfg!(target_arch = "sparc64") {
    16
} else {
    8
};

/// A full `SCM_RIGHTS` array plus an `SCM_CREDS` `sockcred` with up to
/// `NGROUPS_MAX` (16) groups, with slack.
pub(crate) const RECV_CONTROL_LEN: usize = 4096;
pub(crate) const SEND_CONTROL_LEN: usize = 1152;
const _: () = assert!(SEND_CONTROL_LEN >= 16 + 4 * MAX_FDS + 16);

/// `IOV_MAX` of `<sys/syslimits.h>`: `recvmsg` refuses more iovecs with
/// `EMSGSIZE`.
const IOV_MAX: usize = 1024;

/// `recvmsg` (`MSG_CMSG_CLOEXEC` unless told otherwise), with one NetBSD
/// error given the library's name for it. When the receiver cannot take a
/// message's descriptors (it is at `RLIMIT_NOFILE`), NetBSD closes them all
/// and fails with `EMSGSIZE` ("the error that has historically been
/// returned", `unp_externalize`), where Linux delivers the data with
/// `MSG_CTRUNC`; the library's errno for descriptors lost that way is
/// `EBADMSG`, so it is that here too. (On a stream NetBSD keeps the data
/// queued: the next receive returns it without descriptors.) The other
/// `EMSGSIZE` of `recvmsg`, more than `IOV_MAX` iovecs, stays.
///
/// # Safety
/// As `common::msg_flags::recvmsg`: `msg` describes live, writable buffers.
pub(crate) unsafe fn recvmsg(
    sock: BorrowedFd<'_>,
    msg: &mut libc::msghdr,
    nonblocking: bool,
    cloexec: bool,
    interruptible: bool,
) -> io::Result<usize> {
    // SAFETY: forwarded from the caller.
    match unsafe { common::msg_flags::recvmsg(sock, msg, nonblocking, cloexec, interruptible) } {
        Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) && (msg.msg_iovlen as usize) <= IOV_MAX => {
            Err(io::Error::from_raw_os_error(libc::EBADMSG))
        }
        other => other,
    }
}

pub(crate) fn set_errno(code: i32) {
    // SAFETY: __errno returns this thread's errno slot, always valid.
    unsafe { *libc::__errno() = code };
}

pub(crate) fn classify_cmsg(level: libc::c_int, kind: libc::c_int) -> CmsgKind {
    if level != libc::SOL_SOCKET {
        return CmsgKind::Other;
    }
    match kind {
        libc::SCM_RIGHTS => CmsgKind::Rights,
        libc::SCM_CREDS => CmsgKind::Cred,
        _ => CmsgKind::Other,
    }
}

/// `struct sockcred`: pid, real and effective ids, then a variable group
/// list (not reported per message). Only the fixed part is required.
pub(crate) fn decode_cred(_kind: libc::c_int, payload: &[u8]) -> Option<fdcred_cred> {
    let fixed = core::mem::offset_of!(libc::sockcred, sc_groups);
    // SAFETY: sockcred is plain integers.
    let sc: libc::sockcred = unsafe { common::read_head(payload, fixed) }?;
    if sc.sc_ngroups < 0 {
        return None;
    }
    Some(common::with_real_ids(common::cred_from(sc.sc_pid, sc.sc_euid, sc.sc_egid), sc.sc_uid, sc.sc_gid))
}

pub(crate) fn socket_domain(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    common::domain_by_name(sock)
}

/// `LOCAL_PEEREID`: pid, effective uid and gid at connect time.
pub(crate) fn peer_cred(sock: BorrowedFd<'_>, listener: ListenerCheck) -> io::Result<fdcred_cred> {
    let id = common::peer_option::<libc::unpcbid>(sock, common::SOL_LOCAL, libc::LOCAL_PEEREID, |_| true, listener)?;
    Ok(common::cred_from(id.unp_pid, id.unp_euid, id.unp_egid))
}

/// `LOCAL_CREDS` at level 0. On a stream only the first message after this
/// call carries credentials.
pub(crate) fn allow_recv_cred(sock: BorrowedFd<'_>) -> io::Result<()> {
    common::require_unix_socket(sock)?;
    common::setsockopt_int(sock, common::SOL_LOCAL, libc::LOCAL_CREDS, 1)
}
