//! OpenBSD: `SCM_RIGHTS` with `MSG_CMSG_CLOEXEC` and `MSG_NOSIGNAL`; the
//! peer's identity from `SO_PEERCRED` (`struct sockpeercred`, whose fields
//! are `uid, gid, pid`: not Linux's `pid, uid, gid` order). There are no
//! per-message credentials: sending or enabling them fails with `EOPNOTSUPP`.
//!
//! The kernel accepts exactly one control message per send, and on a
//! truncated receive it drops every descriptor and fails with `EMSGSIZE`.
//!
//! Type-checked in CI (`scripts/cross-check`); no OpenBSD machine runs the tests.

use std::io;
use std::os::fd::BorrowedFd;

use super::common;
use super::ListenerCheck;
use crate::types::fdcred_cred;

// Interface items whose code is the same on other backends (src/sys/common.rs):
// `MSG_NOSIGNAL` and `MSG_CMSG_CLOEXEC` on every send and receive;
pub(crate) use super::common::msg_flags::{recvmsg, sendmsg, set_cloexec_after_recv};
// socket facts from `SOL_SOCKET` options, and closing unwanted fds without lingering;
pub(crate) use super::common::{close_unwanted, is_listening, socket_type};
// no per-message credentials (`EOPNOTSUPP`);
pub(crate) use super::common::no_msg_cred::{allow_recv_cred, classify_cmsg, cred_attachment, decode_cred};
// what this OS lacks (`ENOPROTOOPT`): the peer's groups (`sockpeercred` has none), pidfds, security
// labels, refusing descriptors.
pub(crate) use super::common::lacking::{allow_recv_pidfd, peer_groups, peer_pidfd, peer_security, refuse_fds};

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

pub(crate) fn socket_domain(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    common::domain_by_option_or_name(sock)
}

/// `SO_PEERCRED`: effective uid and gid, and pid, at connect time.
pub(crate) fn peer_cred(sock: BorrowedFd<'_>, listener: ListenerCheck) -> io::Result<fdcred_cred> {
    let pc = common::peer_option::<libc::sockpeercred>(sock, libc::SOL_SOCKET, libc::SO_PEERCRED, |_| true, listener)?;
    Ok(common::cred_from(pc.pid, pc.uid, pc.gid))
}
