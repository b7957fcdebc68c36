//! Linux: `SCM_RIGHTS` with `MSG_CMSG_CLOEXEC`, `SCM_CREDENTIALS` after
//! `SO_PASSCRED`, `SCM_PIDFD` after `SO_PASSPIDFD` (6.5+), and the peer
//! queries `SO_PEERCRED`, `SO_PEERGROUPS`, `SO_PEERPIDFD` (6.5+), `SO_PEERSEC`.

use core::mem::size_of;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::common::{
    getsockopt, last_error, refuse_listening, require_unix_socket, retry_eintr_unless, setsockopt_int,
};
use super::{Attachment, CmsgKind, ListenerCheck};
use crate::types::{fdcred_cred, CredSource, Credentials, FDCRED_CRED_GID, FDCRED_CRED_PID, FDCRED_CRED_UID};

use self::idmap::{is_stand_in, IdKind};

/// `SCM_MAX_FD` in `include/net/scm.h`.
pub(crate) const MAX_FDS: usize = 253;
/// Whether messages can carry the sender's credentials at all.
pub(crate) const MSG_CRED: bool = true;
pub(crate) const CLOEXEC_IS_ATOMIC: bool = true;
/// `CMSG_ALIGN` of glibc and musl: the size of `size_t`.
pub(crate) const CMSG_ALIGN: usize = size_of::<usize>();

// Interface items whose code is the same on other backends (src/sys/common.rs):
// `MSG_CMSG_CLOEXEC` on every receive (the send differs: see `sendmsg`);
pub(crate) use super::common::msg_flags::{recvmsg, set_cloexec_after_recv};
// socket facts from `SOL_SOCKET` options, and closing unwanted fds without lingering.
pub(crate) use super::common::{close_unwanted, is_listening, socket_type};

mod idmap;

#[cfg(fdcred_canary)]
const _: () = {
    let _canary: u8 = "fdcred canary: src/sys/linux.rs is compiled for this target";
};

/// Room for a full `SCM_RIGHTS` array, one `SCM_CREDENTIALS`, one
/// `SCM_PIDFD`, and slack for what other socket options may add (an
/// `SCM_SECURITY` label, timestamps) so that these do not truncate the fds.
pub(crate) const RECV_CONTROL_LEN: usize = 4096;
/// Room for a full `SCM_RIGHTS` array and one `SCM_CREDENTIALS`.
pub(crate) const SEND_CONTROL_LEN: usize = 1152;

// Newer than what the libc crate names on every target; the values are the
// generic ones from include/uapi/asm-generic/socket.h.
const SCM_PIDFD: libc::c_int = 0x04;
const SO_PASSRIGHTS: libc::c_int = 83;
#[cfg(any(
    target_arch = "mips",
    target_arch = "mips64",
    target_arch = "sparc64",
    target_arch = "powerpc",
    target_arch = "powerpc64"
))]
compile_error!("check SO_PASSRIGHTS / SO_PASSPIDFD for this architecture's asm/socket.h");

const _: () = assert!(SEND_CONTROL_LEN >= 16 + 4 * MAX_FDS + 4 + 16 + 16);

pub(crate) fn set_errno(code: i32) {
    // SAFETY: __errno_location returns this thread's errno slot, always valid.
    unsafe { *libc::__errno_location() = code };
}

/// `sendmsg` with `MSG_NOSIGNAL`, retried on `EINTR` unless `interruptible`.
///
/// # Safety
/// `msg` must describe valid buffers (name, iovecs, control) for the call.
#[inline(always)]
pub(crate) unsafe fn sendmsg(
    sock: BorrowedFd<'_>,
    msg: &libc::msghdr,
    nonblocking: bool,
    interruptible: bool,
) -> io::Result<usize> {
    let flags = libc::MSG_NOSIGNAL | if nonblocking { libc::MSG_DONTWAIT } else { 0 };
    // SAFETY: the caller vouches for every pointer in `msg`.
    retry_eintr_unless(interruptible, || unsafe { raw_sendmsg(sock.as_raw_fd(), msg, flags) })
}

#[cfg(not(target_env = "musl"))]
use libc::sendmsg as raw_sendmsg;

/// musl's `sendmsg` copies the control data into a fixed stack buffer to
/// zero the padding of its `cmsghdr`s, and fails with `ENOMEM` past it (1024
/// bytes in musl 1.2.3: at most 252 fds; later versions fit 255 fds but not
/// 253 fds with credentials). Every header the library builds has its padding
/// zeroed already (`mem::zeroed` for `msghdr`, `cmsg::Builder::push` for each
/// `cmsghdr`), which is all the kernel needs, so go to the kernel directly.
///
/// # Safety
/// As `sendmsg(2)`: `msg` must describe valid buffers, padding zeroed.
#[cfg(target_env = "musl")]
unsafe fn raw_sendmsg(fd: libc::c_int, msg: *const libc::msghdr, flags: libc::c_int) -> libc::ssize_t {
    // SAFETY: the caller vouches for `msg`; SYS_sendmsg takes (fd, msg, flags).
    unsafe { libc::syscall(libc::SYS_sendmsg, fd, msg, flags) as libc::ssize_t }
}

pub(crate) fn classify_cmsg(level: libc::c_int, kind: libc::c_int) -> CmsgKind {
    if level != libc::SOL_SOCKET {
        return CmsgKind::Other;
    }
    match kind {
        libc::SCM_RIGHTS => CmsgKind::Rights,
        libc::SCM_CREDENTIALS => CmsgKind::Cred,
        SCM_PIDFD => CmsgKind::PidFd,
        _ => CmsgKind::Other,
    }
}

pub(crate) fn decode_cred(_kind: libc::c_int, payload: &[u8]) -> Option<fdcred_cred> {
    if payload.len() < size_of::<libc::ucred>() {
        return None;
    }
    // SAFETY: at least sizeof(ucred) bytes are present; read_unaligned makes
    // no alignment demand; ucred is plain integers.
    let uc: libc::ucred = unsafe { core::ptr::read_unaligned(payload.as_ptr().cast()) };
    Some(from_kernel_ucred(uc))
}

/// Turn what the kernel reported into a credential, marking as unknown what
/// it synthesized:
/// * pid 0: not visible from this pid namespace, or no process recorded;
/// * uid/gid -1: no credentials recorded at all (`SO_PEERCRED` on a socket
///   without a peer);
/// * the overflow uid/gid together with pid 0: `SCM_CREDENTIALS` for a
///   message queued before `SO_PASSCRED` was enabled;
/// * the overflow uid/gid where this user namespace leaves ids unmapped: the
///   kernel's stand-in for an id it cannot name here (see `idmap`).
#[inline(always)]
fn from_kernel_ucred(uc: libc::ucred) -> fdcred_cred {
    let mut cred = fdcred_cred::unknown();
    if uc.pid > 0 {
        cred.pid = uc.pid;
        cred.known |= FDCRED_CRED_PID;
    }
    let synthesized = uc.pid == 0;
    let (overflow_uid, overflow_gid) = idmap::overflow_ids();
    // Only the overflow id can be a stand-in: any other id is decided by two
    // comparisons, on the path every peer query and credential takes.
    let named = |id: u32, overflow: u32, kind: IdKind| {
        id != u32::MAX && (id != overflow || (!synthesized && !is_stand_in(id, kind)))
    };
    if named(uc.uid, overflow_uid, IdKind::Uid) {
        cred.uid = uc.uid;
        cred.known |= FDCRED_CRED_UID;
    }
    if named(uc.gid, overflow_gid, IdKind::Gid) {
        cred.gid = uc.gid;
        cred.known |= FDCRED_CRED_GID;
    }
    cred
}

/// `SCM_CREDENTIALS` with a `struct ucred`. A claim with `known` 0 is its
/// three fields as written (never silently the sender's own: the kernel
/// checks what the caller wrote); in a claim with bits, the fields not
/// marked are the sender's own pid, real uid and real gid (the kernel's own
/// default).
#[inline(always)]
pub(crate) fn cred_attachment(source: CredSource) -> io::Result<Option<Attachment>> {
    // SAFETY: these calls cannot fail and touch no memory of ours.
    let (own_pid, own_uid, own_gid) = unsafe { (libc::getpid(), libc::getuid(), libc::getgid()) };
    let uc = match source {
        CredSource::Own => libc::ucred { pid: own_pid, uid: own_uid, gid: own_gid },
        CredSource::Claim(Credentials(c)) if c.known == 0 => libc::ucred { pid: c.pid, uid: c.uid, gid: c.gid },
        CredSource::Claim(Credentials(c)) => libc::ucred {
            pid: if c.known & FDCRED_CRED_PID != 0 { c.pid } else { own_pid },
            uid: if c.known & FDCRED_CRED_UID != 0 { c.uid } else { own_uid },
            gid: if c.known & FDCRED_CRED_GID != 0 { c.gid } else { own_gid },
        },
    };
    // struct ucred is { pid_t pid; uid_t uid; gid_t gid; }: three 4-byte
    // integers, no padding, written field by field in native byte order.
    const _: () = assert!(size_of::<libc::ucred>() == 12);
    let mut bytes = [0u8; 12];
    bytes[0..4].copy_from_slice(&uc.pid.to_ne_bytes());
    bytes[4..8].copy_from_slice(&uc.uid.to_ne_bytes());
    bytes[8..12].copy_from_slice(&uc.gid.to_ne_bytes());
    Ok(Some(Attachment::new(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, bytes)))
}

#[inline(always)]
pub(crate) fn socket_domain(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    getsockopt::<libc::c_int>(sock, libc::SOL_SOCKET, libc::SO_DOMAIN).map(|(v, _)| v)
}

/// After a peer query that came back empty: `EOPNOTSUPP` for a socket that
/// is not a Unix one, `ENOTCONN` for a Unix socket with no recorded peer.
fn no_peer(sock: BorrowedFd<'_>) -> io::Error {
    match require_unix_socket(sock) {
        Err(e) => e,
        Ok(()) => io::Error::from_raw_os_error(libc::ENOTCONN),
    }
}

#[inline(always)]
pub(crate) fn peer_cred(sock: BorrowedFd<'_>, listener: ListenerCheck) -> io::Result<fdcred_cred> {
    let (uc, len) = getsockopt::<libc::ucred>(sock, libc::SOL_SOCKET, libc::SO_PEERCRED)?;
    if len < size_of::<libc::ucred>() {
        return Err(io::Error::from_raw_os_error(libc::EPROTO));
    }
    // No peer recorded: the kernel reports uid and gid -1. A peer this
    // process can name in no field (another pid namespace, ids unmapped in
    // this user namespace) is still a peer: `known` says what is known.
    if uc.uid == libc::uid_t::MAX && uc.gid == libc::gid_t::MAX {
        return Err(no_peer(sock));
    }
    let cred = from_kernel_ucred(uc);
    if listener == ListenerCheck::Refuse {
        refuse_listening(sock)?;
    }
    Ok(cred)
}

pub(crate) fn peer_groups(sock: BorrowedFd<'_>, groups: &mut [libc::gid_t]) -> io::Result<usize> {
    let mut len = core::mem::size_of_val(groups) as libc::socklen_t;
    let ptr = if groups.is_empty() { core::ptr::null_mut() } else { groups.as_mut_ptr() };
    // SAFETY: `ptr` is writable for `len` bytes (or NULL with len 0).
    let rc = unsafe { libc::getsockopt(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_PEERGROUPS, ptr.cast(), &mut len) };
    let count = len as usize / size_of::<libc::gid_t>();
    if rc < 0 {
        let err = last_error();
        return match err.raw_os_error() {
            // A size query: the kernel reported what it needs.
            Some(libc::ERANGE) if groups.is_empty() => {
                refuse_listening(sock)?;
                Ok(count)
            }
            Some(libc::ENODATA) => Err(no_peer(sock)),
            _ => Err(err),
        };
    }
    refuse_listening(sock)?;
    let filled = count.min(groups.len());
    Ok(drop_stand_in_groups(&mut groups[..filled]))
}

/// An unmapped group is no membership this process can name: remove every
/// stand-in (see `idmap`) from the first `groups.len()` entries, keeping
/// the order of the rest; returns how many remain.
fn drop_stand_in_groups(groups: &mut [libc::gid_t]) -> usize {
    let mut kept = 0;
    for i in 0..groups.len() {
        if !is_stand_in(groups[i], IdKind::Gid) {
            groups[kept] = groups[i];
            kept += 1;
        }
    }
    kept
}

pub(crate) fn peer_pidfd(sock: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let fd = match getsockopt::<libc::c_int>(sock, libc::SOL_SOCKET, libc::SO_PEERPIDFD) {
        Ok((fd, _)) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENODATA) => return Err(no_peer(sock)),
        Err(e) => return Err(e),
    };
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EPROTO));
    }
    // SAFETY: the kernel just installed `fd` (close-on-exec) for us alone.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    refuse_listening(sock)?;
    Ok(fd)
}

pub(crate) fn peer_security(sock: BorrowedFd<'_>, label: &mut [u8]) -> io::Result<usize> {
    let mut len = label.len() as libc::socklen_t;
    let ptr = if label.is_empty() { core::ptr::null_mut() } else { label.as_mut_ptr() };
    // SAFETY: `ptr` is writable for `len` bytes (or NULL with len 0).
    let rc = unsafe { libc::getsockopt(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_PEERSEC, ptr.cast(), &mut len) };
    if rc < 0 {
        let err = last_error();
        return match err.raw_os_error() {
            Some(libc::ERANGE) if label.is_empty() => Ok(len as usize),
            _ => Err(err),
        };
    }
    Ok(len as usize)
}

pub(crate) fn allow_recv_cred(sock: BorrowedFd<'_>) -> io::Result<()> {
    require_unix_socket(sock)?;
    setsockopt_int(sock, libc::SOL_SOCKET, libc::SO_PASSCRED, 1)
}

pub(crate) fn allow_recv_pidfd(sock: BorrowedFd<'_>) -> io::Result<()> {
    require_unix_socket(sock)?;
    setsockopt_int(sock, libc::SOL_SOCKET, libc::SO_PASSPIDFD, 1)
}

pub(crate) fn refuse_fds(sock: BorrowedFd<'_>) -> io::Result<()> {
    require_unix_socket(sock)?;
    setsockopt_int(sock, libc::SOL_SOCKET, SO_PASSRIGHTS, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::FDCRED_CRED_RUID;

    /// The `struct ucred` a send with `source` attaches, as (pid, uid, gid).
    fn claimed(source: CredSource) -> (i32, u32, u32) {
        let a = cred_attachment(source).unwrap().expect("Linux attaches SCM_CREDENTIALS");
        assert_eq!((a.level, a.kind), (libc::SOL_SOCKET, libc::SCM_CREDENTIALS));
        let p = a.payload();
        let word = |i: usize| u32::from_ne_bytes(p[i * 4..i * 4 + 4].try_into().unwrap());
        (word(0) as i32, word(1), word(2))
    }

    #[test]
    fn a_claim_with_known_0_is_sent_as_written_and_bits_take_the_rest_from_the_sender() {
        // SAFETY: these calls cannot fail and touch no memory of ours.
        let own = unsafe { (libc::getpid(), libc::getuid(), libc::getgid()) };
        let mut c = fdcred_cred { known: 0, pid: 0, uid: 0, gid: 0, ruid: 9, rgid: 9, reserved: [0; 10] };
        assert_eq!(claimed(CredSource::Claim(Credentials(c))), (0, 0, 0), "a zero fill claims pid 0 and root");
        c.uid = 65534;
        c.gid = 65534;
        assert_eq!(claimed(CredSource::Claim(Credentials(c))), (0, 65534, 65534), "known 0: every field as written");
        c.known = FDCRED_CRED_UID;
        assert_eq!(claimed(CredSource::Claim(Credentials(c))), (own.0, 65534, own.2), "only uid marked");
        c.known = FDCRED_CRED_RUID;
        assert_eq!(claimed(CredSource::Claim(Credentials(c))), own, "a bit Linux cannot carry: all the sender's own");
        assert_eq!(claimed(CredSource::Own), own);
    }
}
