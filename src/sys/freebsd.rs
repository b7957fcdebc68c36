//! FreeBSD and DragonFly: `SCM_RIGHTS` with `MSG_CMSG_CLOEXEC` and
//! `MSG_NOSIGNAL`; the peer's identity from `LOCAL_PEERCRED` (`struct xucred`,
//! level 0); per-message credentials sent as an empty `SCM_CREDS`
//! `struct cmsgcred` that the kernel fills in, and on FreeBSD 13+ received
//! after `LOCAL_CREDS_PERSISTENT` as `SCM_CREDS2` `struct sockcred2`.
//!
//! Where the two differ (`cfg(target_os = "dragonfly")`): DragonFly's
//! `xucred` has no `cr_pid`, and it has no receiver-side option, so a
//! message carries credentials only when its sender attached `SCM_CREDS`.
//!
//! Type-checked in CI (`scripts/cross-check`); no FreeBSD or DragonFly
//! machine runs the tests.

use core::mem::size_of;
use std::io;
use std::os::fd::BorrowedFd;

use super::common::{self, err};
use super::{Attachment, CmsgKind, ListenerCheck};
use crate::types::{fdcred_cred, CredSource, FDCRED_CRED_GID, FDCRED_CRED_RGID, FDCRED_CRED_RUID, FDCRED_CRED_UID};

// Interface items whose code is the same on other backends (src/sys/common.rs):
// `MSG_NOSIGNAL` and `MSG_CMSG_CLOEXEC` on every send and receive;
pub(crate) use super::common::msg_flags::{recvmsg, sendmsg, set_cloexec_after_recv};
// socket facts from `SOL_SOCKET` options, and closing unwanted fds without lingering;
pub(crate) use super::common::{close_unwanted, is_listening, socket_type};
// the peer's groups from `LOCAL_PEERCRED`'s `struct xucred`, as on macOS;
pub(crate) use super::common::xucred::peer_groups;
// what this OS lacks (`ENOPROTOOPT`): pidfds, security labels, refusing descriptors.
pub(crate) use super::common::lacking::{allow_recv_pidfd, peer_pidfd, peer_security, refuse_fds};

#[cfg(fdcred_canary)]
const _: () = {
    let _canary: u8 = "fdcred canary: src/sys/freebsd.rs is compiled for this target";
};

/// Linux's value, which these kernels accept in one message: a send's
/// control data may not exceed `MCLBYTES` (2048), and the kernel stores one
/// pointer per descriptor (`CMSG_SPACE(8 * 253)` fits).
pub(crate) const MAX_FDS: usize = 253;
/// Whether messages can carry the sender's credentials at all.
pub(crate) const MSG_CRED: bool = true;
pub(crate) const CLOEXEC_IS_ATOMIC: bool = true;
/// `_ALIGNBYTES + 1` of `<machine/_align.h>`.
pub(crate) const CMSG_ALIGN: usize =
    if cfg!(any(target_arch = "x86", target_arch = "arm", target_arch = "powerpc")) { 4 } else { 8 };

/// A full `SCM_RIGHTS` array plus an `SCM_CREDS2` whose group list may hold
/// up to `NGROUPS_MAX` (1023) ids, with slack: too small a buffer would
/// truncate the control data and cost the message its descriptors.
pub(crate) const RECV_CONTROL_LEN: usize = 8192;
/// A full `SCM_RIGHTS` array and one `SCM_CREDS` (`struct cmsgcred`).
pub(crate) const SEND_CONTROL_LEN: usize = 1152;
const _: () = assert!(SEND_CONTROL_LEN >= 16 + 4 * MAX_FDS + 4 + 16 + size_of::<libc::cmsgcred>() + 8);
const _: () = assert!(RECV_CONTROL_LEN >= 16 + 4 * MAX_FDS + 32 + 4 * 1024);

pub(crate) fn set_errno(code: i32) {
    // SAFETY: the errno accessor returns this thread's errno slot, always valid.
    unsafe {
        #[cfg(target_os = "freebsd")]
        {
            *libc::__error() = code;
        }
        #[cfg(target_os = "dragonfly")]
        {
            *libc::__errno_location() = code;
        }
    }
}

#[cfg(target_os = "freebsd")]
const SCM_CREDS2: libc::c_int = libc::SCM_CREDS2;
#[cfg(target_os = "dragonfly")]
const SCM_CREDS2: libc::c_int = -1; // none: never matches a real type

pub(crate) fn classify_cmsg(level: libc::c_int, kind: libc::c_int) -> CmsgKind {
    if level != libc::SOL_SOCKET {
        return CmsgKind::Other;
    }
    match kind {
        libc::SCM_RIGHTS => CmsgKind::Rights,
        libc::SCM_CREDS => CmsgKind::Cred,
        k if k == SCM_CREDS2 => CmsgKind::Cred,
        _ => CmsgKind::Other,
    }
}

/// Decode `SCM_CREDS` (`struct cmsgcred`, filled by the kernel for a sender
/// that attached it) or `SCM_CREDS2` (`struct sockcred2`, FreeBSD 13+, added
/// by the kernel after `LOCAL_CREDS_PERSISTENT`).
///
/// `SCM_CREDS` is also the type of the one-shot `LOCAL_CREDS`'s
/// `struct sockcred`; the library never sets `LOCAL_CREDS` (it uses the
/// persistent option, which the kernel makes exclusive with it), and a caller
/// must not set it either: the two layouts cannot be told apart.
pub(crate) fn decode_cred(kind: libc::c_int, payload: &[u8]) -> Option<fdcred_cred> {
    if kind == SCM_CREDS2 {
        return decode_sockcred2(payload);
    }
    // SAFETY: cmsgcred is plain integers.
    let cc: libc::cmsgcred = unsafe { common::read_head(payload, size_of::<libc::cmsgcred>()) }?;
    let ngroups = usize::try_from(cc.cmcred_ngroups).ok().filter(|&n| n <= libc::CMGROUP_MAX)?;
    let mut cred = fdcred_cred::unknown();
    common::set_pid(&mut cred, cc.cmcred_pid);
    cred.uid = cc.cmcred_euid;
    cred.ruid = cc.cmcred_uid;
    cred.rgid = cc.cmcred_gid;
    cred.known |= FDCRED_CRED_UID | FDCRED_CRED_RUID | FDCRED_CRED_RGID;
    // The effective gid is the first entry of the group list.
    if ngroups > 0 {
        cred.gid = cc.cmcred_groups[0];
        cred.known |= FDCRED_CRED_GID;
    }
    Some(cred)
}

#[cfg(target_os = "freebsd")]
fn decode_sockcred2(payload: &[u8]) -> Option<fdcred_cred> {
    // The fixed part, up to the variable group list.
    let fixed = core::mem::offset_of!(libc::sockcred2, sc_groups);
    // SAFETY: sockcred2 is plain integers.
    let sc: libc::sockcred2 = unsafe { common::read_head(payload, fixed) }?;
    if sc.sc_version != 0 || sc.sc_ngroups < 0 {
        return None; // a layout this code does not know
    }
    Some(common::with_real_ids(common::cred_from(sc.sc_pid, sc.sc_euid, sc.sc_egid), sc.sc_uid, sc.sc_gid))
}

#[cfg(target_os = "dragonfly")]
fn decode_sockcred2(_payload: &[u8]) -> Option<fdcred_cred> {
    None
}

/// An empty `SCM_CREDS` `struct cmsgcred`: the kernel overwrites it with the
/// sender's pid, real and effective uid, real gid and groups. There is no
/// way to state another identity, so a claim fails with `EOPNOTSUPP`.
pub(crate) fn cred_attachment(source: CredSource) -> io::Result<Option<Attachment>> {
    if source != CredSource::Own {
        return Err(err(libc::EOPNOTSUPP));
    }
    let empty = [0u8; size_of::<libc::cmsgcred>()];
    Ok(Some(Attachment::new(libc::SOL_SOCKET, libc::SCM_CREDS, empty)))
}

#[cfg(target_os = "freebsd")]
pub(crate) fn socket_domain(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    common::domain_by_option_or_name(sock)
}

#[cfg(target_os = "dragonfly")]
pub(crate) fn socket_domain(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    common::domain_by_name(sock)
}

/// The peer's effective uid, effective gid (`cr_groups[0]`) and, on FreeBSD
/// 13+, pid (`cr_pid`; 0 before, reported unknown).
pub(crate) fn peer_cred(sock: BorrowedFd<'_>, listener: ListenerCheck) -> io::Result<fdcred_cred> {
    let xu = common::xucred::peer(sock, listener)?;
    #[cfg_attr(target_os = "dragonfly", allow(unused_mut))] // no pid to add there
    let mut cred = common::xucred::effective_ids(&xu);
    #[cfg(target_os = "freebsd")]
    {
        // SAFETY: the union is plain integers/pointer-sized padding written
        // by the kernel (zero before FreeBSD 13); any bits are a valid pid_t.
        let pid = unsafe { xu.cr_pid__c_anonymous_union.cr_pid };
        common::set_pid(&mut cred, pid);
    }
    Ok(cred)
}

/// FreeBSD: `LOCAL_CREDS_PERSISTENT` (13+; `ENOPROTOOPT` or `EINVAL` on an
/// older kernel, `EINVAL` when the caller set `LOCAL_CREDS`), so every
/// message received carries `SCM_CREDS2`. Accepted sockets inherit it from
/// the listening one.
#[cfg(target_os = "freebsd")]
pub(crate) fn allow_recv_cred(sock: BorrowedFd<'_>) -> io::Result<()> {
    common::require_unix_socket(sock)?;
    common::setsockopt_int(sock, common::SOL_LOCAL, libc::LOCAL_CREDS_PERSISTENT, 1)
}

/// DragonFly has no receiver-side option: a message carries credentials
/// when its sender attached `SCM_CREDS` (`fdcred_send_cred`), whatever the
/// receiver did. Nothing to enable, so this only checks the socket.
#[cfg(target_os = "dragonfly")]
pub(crate) fn allow_recv_cred(sock: BorrowedFd<'_>) -> io::Result<()> {
    common::require_unix_socket(sock)
}
