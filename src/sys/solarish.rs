//! illumos (and Solaris): `SCM_RIGHTS` with `MSG_NOSIGNAL`, and on illumos
//! `MSG_CMSG_CLOEXEC` (Solaris: `FD_CLOEXEC` with `fcntl` after the receive,
//! not atomic); the peer's identity from `getpeerucred` (`ucred_t`: pid,
//! real and effective ids, groups); per-message credentials after the
//! receiver sets `SO_RECVUCRED`: `SCM_UCRED`, a `ucred_t`, on every message.
//! The sender adds nothing: the kernel attaches its credentials.
//!
//! The kernel leaves the last `cmsg_len` unadjusted when it truncates the
//! control data; the parser clamps it to what was copied.
//!
//! Type-checked in CI (`scripts/cross-check`, x86_64-unknown-illumos); no
//! illumos machine runs the tests.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use super::common::{self, err};
use super::{CmsgKind, ListenerCheck};
use crate::types::{fdcred_cred, FDCRED_CRED_GID, FDCRED_CRED_RGID, FDCRED_CRED_RUID, FDCRED_CRED_UID};

// Interface items whose code is the same on other backends (src/sys/common.rs):
// `MSG_NOSIGNAL` on every send, `MSG_CMSG_CLOEXEC` on every receive on
// illumos (Solaris lacks it: see `set_cloexec_after_recv`);
pub(crate) use super::common::msg_flags::{recvmsg, sendmsg};
// socket facts from `SOL_SOCKET` options, and closing unwanted fds without lingering;
pub(crate) use super::common::{close_unwanted, is_listening, socket_type};
// the kernel attaches credentials for the receiver's `SO_RECVUCRED`;
pub(crate) use super::common::kernel_attaches::cred_attachment;
// what this OS lacks (`ENOPROTOOPT`): pidfds, security labels (Trusted Extensions: not implemented),
// refusing descriptors.
pub(crate) use super::common::lacking::{allow_recv_pidfd, peer_pidfd, peer_security, refuse_fds};

#[cfg(fdcred_canary)]
const _: () = {
    let _canary: u8 = "fdcred canary: src/sys/solarish.rs is compiled for this target";
};

/// Linux's value; sockfs sets no smaller per-message bound.
pub(crate) const MAX_FDS: usize = 253;
/// Whether messages can carry the sender's credentials at all.
pub(crate) const MSG_CRED: bool = true;
pub(crate) const CLOEXEC_IS_ATOMIC: bool = cfg!(target_os = "illumos");
/// `_CMSG_HDR_ALIGNMENT` of `<sys/socket.h>`: 8 on SPARC, 4 elsewhere
/// (payloads are aligned to 4, `_CMSG_DATA_ALIGNMENT`).
pub(crate) const CMSG_ALIGN: usize = if cfg!(target_arch = "sparc64") { 8 } else { 4 };

/// A full `SCM_RIGHTS` array plus an `SCM_UCRED` (a `ucred_t` with its group
/// list and labels), with slack.
pub(crate) const RECV_CONTROL_LEN: usize = 8192;
pub(crate) const SEND_CONTROL_LEN: usize = 1152;
const _: () = assert!(SEND_CONTROL_LEN >= 12 + 4 * MAX_FDS);

/// `SO_RECVUCRED` of `<sys/socket.h>` (the libc crate does not name it).
const SO_RECVUCRED: libc::c_int = 0x0400;

pub(crate) fn set_errno(code: i32) {
    // SAFETY: ___errno returns this thread's errno slot, always valid.
    unsafe { *libc::___errno() = code };
}

/// illumos: nothing (`MSG_CMSG_CLOEXEC` did it). Solaris: `fcntl`, not atomic.
pub(crate) fn set_cloexec_after_recv(fd: &OwnedFd) {
    if !CLOEXEC_IS_ATOMIC {
        common::set_cloexec(fd);
    }
}

pub(crate) fn classify_cmsg(level: libc::c_int, kind: libc::c_int) -> CmsgKind {
    if level != libc::SOL_SOCKET {
        return CmsgKind::Other;
    }
    match kind {
        libc::SCM_RIGHTS => CmsgKind::Rights,
        libc::SCM_UCRED => CmsgKind::Cred,
        _ => CmsgKind::Other,
    }
}

/// The identity in a `ucred_t`, through libc's accessors (which return -1
/// for what the credential does not hold).
///
/// # Safety
/// `uc` must point to a complete `ucred_t`.
unsafe fn from_ucred(uc: *const libc::ucred_t) -> fdcred_cred {
    // SAFETY: the caller promises a complete ucred_t; the accessors only read it.
    let (pid, euid, ruid, egid, rgid) = unsafe {
        (
            libc::ucred_getpid(uc),
            libc::ucred_geteuid(uc),
            libc::ucred_getruid(uc),
            libc::ucred_getegid(uc),
            libc::ucred_getrgid(uc),
        )
    };
    let mut cred = fdcred_cred::unknown();
    common::set_pid(&mut cred, pid);
    if euid != libc::uid_t::MAX {
        cred.uid = euid;
        cred.known |= FDCRED_CRED_UID;
    }
    if egid != libc::gid_t::MAX {
        cred.gid = egid;
        cred.known |= FDCRED_CRED_GID;
    }
    if ruid != libc::uid_t::MAX {
        cred.ruid = ruid;
        cred.known |= FDCRED_CRED_RUID;
    }
    if rgid != libc::gid_t::MAX {
        cred.rgid = rgid;
        cred.known |= FDCRED_CRED_RGID;
    }
    cred
}

/// An `SCM_UCRED` payload: a `ucred_t` whose first word is its own size.
/// It is copied into an aligned buffer before libc's accessors read it, and
/// refused when it claims more bytes than arrived.
pub(crate) fn decode_cred(_kind: libc::c_int, payload: &[u8]) -> Option<fdcred_cred> {
    #[repr(C, align(8))]
    struct Aligned([u8; 4096]);
    let size = u32::from_ne_bytes(payload.get(..4)?.try_into().ok()?) as usize;
    // SAFETY: ucred_size only returns a size the C library computed.
    let largest = unsafe { libc::ucred_size() };
    // At least the fixed header (size, offsets, pid, zone, project, label
    // offset: 8 words); the accessors follow its offsets inside the copy.
    if size < 32 || size > payload.len() || size > 4096 || size > largest {
        return None;
    }
    let mut copy = Aligned([0; 4096]);
    copy.0[..size].copy_from_slice(&payload[..size]);
    // SAFETY: `copy` holds the complete ucred_t the kernel wrote (its own
    // size field says how long it is, and all of that is present), aligned.
    Some(unsafe { from_ucred(copy.0.as_ptr().cast()) })
}

pub(crate) fn socket_domain(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    common::getsockopt::<libc::c_int>(sock, libc::SOL_SOCKET, libc::SO_DOMAIN).map(|(v, _)| v)
}

/// `getpeerucred`, handed to `f`, then freed.
fn with_peer_ucred<T>(
    sock: BorrowedFd<'_>,
    listener: ListenerCheck,
    f: impl FnOnce(*const libc::ucred_t) -> io::Result<T>,
) -> io::Result<T> {
    use std::os::fd::AsRawFd;
    common::require_unix_socket(sock)?;
    let mut uc: *mut libc::ucred_t = core::ptr::null_mut();
    // SAFETY: `uc` is NULL, so getpeerucred allocates one ucred_t and stores it.
    if unsafe { libc::getpeerucred(sock.as_raw_fd(), &mut uc) } < 0 {
        return Err(common::peer_query_error(common::last_error()));
    }
    if uc.is_null() {
        return Err(err(libc::EPROTO));
    }
    let checked = if listener == ListenerCheck::Refuse { common::refuse_listening(sock) } else { Ok(()) };
    let result = checked.and_then(|()| f(uc));
    // SAFETY: `uc` came from getpeerucred and is freed once, here.
    unsafe { libc::ucred_free(uc) };
    result
}

/// `getpeerucred`: pid, effective and real ids.
pub(crate) fn peer_cred(sock: BorrowedFd<'_>, listener: ListenerCheck) -> io::Result<fdcred_cred> {
    // SAFETY: `uc` is the complete ucred_t getpeerucred returned.
    with_peer_ucred(sock, listener, |uc| Ok(unsafe { from_ucred(uc) }))
}

/// `ucred_getgroups` of the peer's `ucred_t`.
pub(crate) fn peer_groups(sock: BorrowedFd<'_>, groups: &mut [libc::gid_t]) -> io::Result<usize> {
    with_peer_ucred(sock, ListenerCheck::Refuse, |uc| {
        let mut list: *const libc::gid_t = core::ptr::null();
        // SAFETY: `uc` is a complete ucred_t; `list` receives a pointer into it.
        let n = unsafe { libc::ucred_getgroups(uc, &mut list) };
        if n < 0 || (n > 0 && list.is_null()) {
            return Err(err(libc::ENOPROTOOPT));
        }
        let all = if n == 0 {
            &[][..]
        } else {
            // SAFETY: ucred_getgroups reported `n` ids at `list`, inside `uc`,
            // which lives until with_peer_ucred frees it after this closure.
            unsafe { core::slice::from_raw_parts(list, n as usize) }
        };
        common::copy_groups(all, groups)
    })
}

/// `SO_RECVUCRED`: every message received from now on carries `SCM_UCRED`.
pub(crate) fn allow_recv_cred(sock: BorrowedFd<'_>) -> io::Result<()> {
    common::require_unix_socket(sock)?;
    common::setsockopt_int(sock, libc::SOL_SOCKET, SO_RECVUCRED, 1)
}
