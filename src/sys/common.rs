//! Helpers shared by every backend, Linux's included (it uses the `EINTR`
//! loop, the receive flags and the socket facts; the BSD, macOS and illumos
//! backends use the rest): the one `EINTR` loop ([`retry_eintr_unless`]),
//! `getsockopt`/`setsockopt` wrappers, socket facts, the error rules for peer
//! queries, credential building; then, in small modules named after the fact
//! they share (`msg_flags`, `lacking`, `no_msg_cred`, `kernel_attaches`,
//! `xucred`), the interface items (src/sys/mod.rs) whose code is the same on
//! several OSes. A backend re-exports the ones that fit it by name
//! (`pub(crate) use super::common::lacking::{...}`), so its file still lists
//! what its OS has and lacks; whatever differs stays in the backend.
//!
//! The socket checks call the selected backend's own `socket_domain`
//! (`super::socket_domain`), which is per-OS. Apart from the cfg-gated
//! modules, nothing here is OS-specific beyond what libc names on every one
//! of those targets, and Linux too: the unit tests below run it here.
// Linux's backend uses only a few of these: the rest is unused in a Linux
// library build, but compiled, and run by the unit tests below (Linux is the
// only OS that runs). Items compiled on Linux only for those tests say so
// with `cfg(test)`.
#![cfg_attr(all(linux_like, not(test)), allow(dead_code))]

use core::mem::{size_of, MaybeUninit};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use crate::types::{
    fdcred_cred, FDCRED_CRED_GID, FDCRED_CRED_PID, FDCRED_CRED_RGID, FDCRED_CRED_RUID, FDCRED_CRED_UID,
};

pub(super) fn last_error() -> io::Error {
    io::Error::last_os_error()
}

pub(super) fn err(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

/// Run `call` (a syscall returning a count, or -1 with `errno`) until it
/// does not fail with `EINTR`: the one retry loop of every backend. With
/// `interruptible` an `EINTR` is returned instead, for a caller that runs
/// its own signal handling between attempts (`SendOptions::interruptible`,
/// `RecvOptions::interruptible`). Inlined so that the send and receive
/// paths stay one frame down to the syscall.
#[inline(always)]
pub(super) fn retry_eintr_unless(interruptible: bool, mut call: impl FnMut() -> libc::ssize_t) -> io::Result<usize> {
    loop {
        let n = call();
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = last_error();
        if interruptible || e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// `sendmsg` with `flags`, retried on `EINTR` unless `interruptible`.
///
/// # Safety
/// `msg` must describe valid buffers (name, iovecs, control) for the call.
#[inline(always)]
pub(super) unsafe fn sendmsg_retry(
    sock: BorrowedFd<'_>,
    msg: &libc::msghdr,
    flags: libc::c_int,
    interruptible: bool,
) -> io::Result<usize> {
    // SAFETY: the caller vouches for every pointer in `msg`.
    retry_eintr_unless(interruptible, || unsafe { libc::sendmsg(sock.as_raw_fd(), msg, flags) })
}

/// `recvmsg` with `flags`, retried on `EINTR` unless `interruptible`. The
/// kernel writes nothing back to `msg` on failure, so the retry reuses it as
/// it was.
///
/// # Safety
/// `msg` must describe valid writable buffers for the call.
#[inline(always)]
pub(super) unsafe fn recvmsg_retry(
    sock: BorrowedFd<'_>,
    msg: &mut libc::msghdr,
    flags: libc::c_int,
    interruptible: bool,
) -> io::Result<usize> {
    // SAFETY: the caller vouches for every pointer in `msg`.
    retry_eintr_unless(interruptible, || unsafe { libc::recvmsg(sock.as_raw_fd(), &mut *msg, flags) })
}

/// `FD_CLOEXEC` with `fcntl`, for the OSes without `MSG_CMSG_CLOEXEC`. Not
/// atomic: a `fork`+`exec` in another thread between the `recvmsg` and this
/// call inherits the descriptor. A failure (the descriptor is ours and open,
/// so there is none in practice) leaves the flag unset; nothing to report it
/// through without losing the descriptor, so it is ignored.
#[allow(dead_code)]
pub(super) fn set_cloexec(fd: &OwnedFd) {
    // SAFETY: `fd` is an open descriptor we own; F_SETFD takes an int.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
}

/// `getsockopt` into a `T`; returns the value and the length the kernel
/// wrote. `T` must be plain integers (valid for any bytes).
#[inline(always)]
pub(super) fn getsockopt<T>(sock: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int) -> io::Result<(T, usize)> {
    let mut value = MaybeUninit::<T>::zeroed();
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is writable for `len` bytes; the kernel writes at most that.
    let rc = unsafe { libc::getsockopt(sock.as_raw_fd(), level, name, value.as_mut_ptr().cast(), &mut len) };
    if rc < 0 {
        return Err(last_error());
    }
    // SAFETY: zero-initialised then (partly) written by the kernel; every T
    // used with this helper is plain integers, valid for any bytes.
    Ok((unsafe { value.assume_init() }, len as usize))
}

#[allow(dead_code)] // OpenBSD has no option to set
pub(super) fn setsockopt_int(
    sock: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` is a readable int for the length passed.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(last_error())
    } else {
        Ok(())
    }
}

/// The address family of `sock`, from `getsockname` (`SO_DOMAIN` is missing
/// on macOS, NetBSD, DragonFly and FreeBSD before 12.2). An unbound Unix
/// socket (a `socketpair` end) reports the family `AF_UNIX` with an empty
/// path on each of these kernels.
#[allow(dead_code)] // illumos has SO_DOMAIN
pub(super) fn domain_by_name(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    // SAFETY: sockaddr_storage is plain data; all-zero is valid.
    let mut addr: libc::sockaddr_storage = unsafe { core::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `addr` is writable for `len` bytes.
    let rc =
        unsafe { libc::getsockname(sock.as_raw_fd(), (&mut addr as *mut libc::sockaddr_storage).cast(), &mut len) };
    if rc < 0 {
        return Err(last_error());
    }
    Ok(libc::c_int::from(addr.ss_family))
}

/// `SO_DOMAIN`, or the name's family where the kernel lacks the option
/// (`ENOPROTOOPT`; `SO_DOMAIN` arrived in FreeBSD 12.2).
#[cfg(any(target_os = "freebsd", target_os = "openbsd", all(test, linux_like)))]
pub(super) fn domain_by_option_or_name(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    match getsockopt::<libc::c_int>(sock, libc::SOL_SOCKET, libc::SO_DOMAIN) {
        Ok((domain, _)) => Ok(domain),
        Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => domain_by_name(sock),
        Err(e) => Err(e),
    }
}

/// The interface's `socket_type`: `SO_TYPE`, the same on every backend here.
pub(crate) fn socket_type(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    getsockopt::<libc::c_int>(sock, libc::SOL_SOCKET, libc::SO_TYPE).map(|(v, _)| v)
}

/// The interface's `is_listening`: `SO_ACCEPTCONN`, the same on every backend here.
#[inline(always)]
pub(crate) fn is_listening(sock: BorrowedFd<'_>) -> io::Result<bool> {
    getsockopt::<libc::c_int>(sock, libc::SOL_SOCKET, libc::SO_ACCEPTCONN).map(|(v, _)| v != 0)
}

/// The interface's `close_unwanted`: close a descriptor the library closes
/// on the caller's behalf (surplus, unexpected, of a truncated message)
/// without waiting, whatever the peer who sent it set up.
///
/// A socket with `SO_LINGER` on and data it cannot send makes its last
/// `close` wait up to the linger time, which the sender chose. Lingering is
/// turned off first (`l_onoff` 0, the default: `close` returns at once and
/// the kernel still delivers the queued data). Not `{1, 0}`: that would make
/// the socket's last close reset the connection, and this descriptor may not
/// be the last one: whoever else holds the socket would lose its data. What
/// the others share is only the setting: their last close no longer lingers.
/// On anything that is not a socket the call fails (`ENOTSOCK`) and changes
/// nothing; the `close` is then the plain one. No allocation, one syscall.
/// A sender that keeps another reference could turn lingering back on
/// between the two calls and drop its reference in that window; only
/// refusing descriptors (`refuse_fds`) closes that door.
pub(crate) fn close_unwanted(fd: OwnedFd) {
    let off = libc::linger { l_onoff: 0, l_linger: 0 };
    // SAFETY: `fd` is open and ours; `off` is a readable linger of the length
    // passed. A failure (not a socket) leaves nothing to undo.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&off as *const libc::linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    drop(fd);
}

/// The level of the `LOCAL_*` options: 0 (`SOL_LOCAL` where it is named),
/// not `SOL_SOCKET`.
#[cfg(any(freebsdlike, target_os = "netbsd", apple))]
pub(super) const SOL_LOCAL: libc::c_int = 0;
#[cfg(apple)]
const _: () = assert!(libc::SOL_LOCAL == SOL_LOCAL);

/// `EOPNOTSUPP` unless `domain` (the socket's family) is `AF_UNIX`. The
/// `LOCAL_*` options live at level 0, which on an IPv4 socket is
/// `IPPROTO_IP`: asking an Internet socket would read an IP option as an
/// identity, so every level-0 call checks the family first.
pub(super) fn require_unix(domain: libc::c_int) -> io::Result<()> {
    if domain != libc::AF_UNIX {
        return Err(err(libc::EOPNOTSUPP));
    }
    Ok(())
}

/// A peer-identity socket option read as a whole `T` (plain integers), with
/// the checks every such query needs: a Unix socket (`EOPNOTSUPP`), no peer
/// (`ENOTCONN`, see [`peer_query_error`]), the full length and a layout
/// `valid` accepts (`EPROTO`), not a listening socket (`ENOTCONN`).
#[allow(dead_code)] // illumos asks getpeerucred instead
pub(super) fn peer_option<T>(
    sock: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    valid: impl FnOnce(&T) -> bool,
    listener: super::ListenerCheck,
) -> io::Result<T> {
    require_unix_socket(sock)?;
    let (value, len) = getsockopt::<T>(sock, level, name).map_err(peer_query_error)?;
    if len != size_of::<T>() || !valid(&value) {
        return Err(err(libc::EPROTO));
    }
    if listener == super::ListenerCheck::Refuse {
        refuse_listening(sock)?;
    }
    Ok(value)
}

/// `EOPNOTSUPP` unless `sock` is a Unix socket, by the selected backend's
/// `socket_domain` (so a bad descriptor gives `EBADF`/`ENOTSOCK` first).
pub(super) fn require_unix_socket(sock: BorrowedFd<'_>) -> io::Result<()> {
    require_unix(super::socket_domain(sock)?)
}

/// A listening socket reports the ids of whoever called `listen`, which is
/// not a peer: refuse it.
#[inline(always)]
pub(super) fn refuse_listening(sock: BorrowedFd<'_>) -> io::Result<()> {
    if is_listening(sock)? {
        return Err(err(libc::ENOTCONN));
    }
    Ok(())
}

/// The BSDs answer a peer query on a Unix socket without a peer with
/// `ENOTCONN` (streams) or `EINVAL` (datagrams); report both as `ENOTCONN`.
pub(super) fn peer_query_error(e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::EINVAL) => err(libc::ENOTCONN),
        _ => e,
    }
}

/// Mark `pid` known when it is positive: these kernels report 0 where they
/// recorded none, which must read as unknown, never as a pid.
pub(super) fn set_pid(cred: &mut fdcred_cred, pid: libc::pid_t) {
    if pid > 0 {
        cred.pid = pid;
        cred.known |= FDCRED_CRED_PID;
    }
}

/// A credential with the pid (as [`set_pid`]) and the effective uid and gid,
/// the shape of every peer query and credential message here.
#[allow(dead_code)] // not on macOS, illumos, DragonFly
pub(super) fn cred_from(pid: libc::pid_t, uid: libc::uid_t, gid: libc::gid_t) -> fdcred_cred {
    let mut cred = fdcred_cred::unknown();
    set_pid(&mut cred, pid);
    cred.uid = uid;
    cred.gid = gid;
    cred.known |= FDCRED_CRED_UID | FDCRED_CRED_GID;
    cred
}

/// `cred` with the real uid and gid too.
#[allow(dead_code)] // only the OSes whose messages carry real ids
pub(super) fn with_real_ids(mut cred: fdcred_cred, ruid: libc::uid_t, rgid: libc::gid_t) -> fdcred_cred {
    cred.ruid = ruid;
    cred.rgid = rgid;
    cred.known |= FDCRED_CRED_RUID | FDCRED_CRED_RGID;
    cred
}

/// The first `fixed` bytes of `payload` as a `T` whose remaining bytes are
/// zero: the fixed part of a kernel struct that ends in a variable list (or,
/// with `fixed == size_of::<T>()`, a whole one), read without any alignment
/// demand. `None` when fewer than `fixed` bytes arrived.
///
/// # Safety
/// `T` must be plain integers (valid for any bytes, zero included).
#[allow(dead_code)] // only the OSes that decode credential messages
pub(super) unsafe fn read_head<T>(payload: &[u8], fixed: usize) -> Option<T> {
    let head = payload.get(..fixed)?;
    if fixed > size_of::<T>() {
        return None;
    }
    let mut value = MaybeUninit::<T>::zeroed();
    // SAFETY: `value` is writable for size_of::<T>() >= `fixed` bytes, `head`
    // readable for `fixed`; byte copies make no alignment demand; distinct.
    unsafe { core::ptr::copy_nonoverlapping(head.as_ptr(), value.as_mut_ptr().cast::<u8>(), fixed) };
    // SAFETY: zeroed, then partly overwritten; the caller promises that T is
    // valid for any bytes.
    Some(unsafe { value.assume_init() })
}

/// `peer_groups`' contract over a list the OS handed over whole: with an
/// empty `out`, the count; otherwise the ids and the count, or `ERANGE`.
#[allow(dead_code)] // NetBSD and OpenBSD report no groups
pub(super) fn copy_groups(groups: &[libc::gid_t], out: &mut [libc::gid_t]) -> io::Result<usize> {
    if out.is_empty() {
        return Ok(groups.len());
    }
    let dest = out.get_mut(..groups.len()).ok_or_else(|| err(libc::ERANGE))?;
    dest.copy_from_slice(groups);
    Ok(groups.len())
}

/// `sendmsg` with `MSG_NOSIGNAL` (every OS but macOS, whose backend sets
/// `SO_NOSIGPIPE` instead), and `recvmsg` with `MSG_CMSG_CLOEXEC` where the
/// OS has it (every OS but macOS and Solaris, whose backends set
/// `FD_CLOEXEC` after the receive in `set_cloexec_after_recv`).
pub(super) mod msg_flags {
    use std::io;
    use std::os::fd::BorrowedFd;

    /// `MSG_CMSG_CLOEXEC`, or 0 where the OS lacks it; checked against the
    /// backend's own `CLOEXEC_IS_ATOMIC`.
    #[cfg(not(any(apple, target_os = "solaris")))]
    const CMSG_CLOEXEC: libc::c_int = libc::MSG_CMSG_CLOEXEC;
    #[cfg(any(apple, target_os = "solaris"))]
    const CMSG_CLOEXEC: libc::c_int = 0;
    const _: () = assert!((CMSG_CLOEXEC != 0) == crate::sys::CLOEXEC_IS_ATOMIC);

    /// `sendmsg` with `MSG_NOSIGNAL`, retried on `EINTR` unless `interruptible`.
    ///
    /// # Safety
    /// `msg` must describe valid buffers (name, iovecs, control) for the call.
    #[cfg(not(apple))]
    pub(crate) unsafe fn sendmsg(
        sock: BorrowedFd<'_>,
        msg: &libc::msghdr,
        nonblocking: bool,
        interruptible: bool,
    ) -> io::Result<usize> {
        let flags = libc::MSG_NOSIGNAL | if nonblocking { libc::MSG_DONTWAIT } else { 0 };
        // SAFETY: forwarded from the caller.
        unsafe { super::sendmsg_retry(sock, msg, flags, interruptible) }
    }

    /// `recvmsg` with `MSG_CMSG_CLOEXEC` (where the OS has it) unless
    /// `cloexec` is false, retried on `EINTR` unless `interruptible`.
    ///
    /// # Safety
    /// `msg` must describe valid writable buffers for the call.
    #[inline(always)]
    pub(crate) unsafe fn recvmsg(
        sock: BorrowedFd<'_>,
        msg: &mut libc::msghdr,
        nonblocking: bool,
        cloexec: bool,
        interruptible: bool,
    ) -> io::Result<usize> {
        let flags = if cloexec { CMSG_CLOEXEC } else { 0 } | if nonblocking { libc::MSG_DONTWAIT } else { 0 };
        // SAFETY: forwarded from the caller.
        unsafe { super::recvmsg_retry(sock, msg, flags, interruptible) }
    }

    /// Nothing to do: `MSG_CMSG_CLOEXEC` already did it atomically.
    #[cfg(any(freebsdlike, target_os = "netbsd", target_os = "openbsd", linux_like))]
    pub(crate) fn set_cloexec_after_recv(_fd: &std::os::fd::OwnedFd) {}
}

/// Mechanisms an OS lacks, each `ENOPROTOOPT` after the socket checks (so a
/// bad descriptor still gives `EBADF`/`ENOTSOCK`, a non-Unix socket
/// `EOPNOTSUPP`). Never a made-up value.
pub(super) mod lacking {
    use super::{err, require_unix_socket};
    use std::io;
    use std::os::fd::{BorrowedFd, OwnedFd};

    /// No supplementary groups in the peer's credentials: `ENOPROTOOPT`.
    #[cfg(any(target_os = "netbsd", target_os = "openbsd", all(test, linux_like)))]
    pub(crate) fn peer_groups(sock: BorrowedFd<'_>, _groups: &mut [libc::gid_t]) -> io::Result<usize> {
        require_unix_socket(sock)?;
        Err(err(libc::ENOPROTOOPT))
    }

    /// No pidfd exists for a socket peer: `ENOPROTOOPT`.
    pub(crate) fn peer_pidfd(sock: BorrowedFd<'_>) -> io::Result<OwnedFd> {
        require_unix_socket(sock)?;
        Err(err(libc::ENOPROTOOPT))
    }

    /// No socket security labels: `ENOPROTOOPT`.
    pub(crate) fn peer_security(sock: BorrowedFd<'_>, _label: &mut [u8]) -> io::Result<usize> {
        require_unix_socket(sock)?;
        Err(err(libc::ENOPROTOOPT))
    }

    /// No per-message pidfd: `ENOPROTOOPT`.
    pub(crate) fn allow_recv_pidfd(sock: BorrowedFd<'_>) -> io::Result<()> {
        require_unix_socket(sock)?;
        Err(err(libc::ENOPROTOOPT))
    }

    /// No way to refuse descriptors: `ENOPROTOOPT`.
    pub(crate) fn refuse_fds(sock: BorrowedFd<'_>) -> io::Result<()> {
        require_unix_socket(sock)?;
        Err(err(libc::ENOPROTOOPT))
    }
}

/// The OSes without per-message credentials (OpenBSD, macOS): only
/// `SCM_RIGHTS` is recognised, and sending or enabling credentials fails
/// with `EOPNOTSUPP` (`fdcred_peer_cred` is the way to learn the peer).
#[cfg(any(target_os = "openbsd", apple, all(test, linux_like)))]
pub(super) mod no_msg_cred {
    use super::{err, require_unix_socket};
    use crate::sys::{Attachment, CmsgKind};
    use crate::types::{fdcred_cred, CredSource};
    use std::io;
    use std::os::fd::BorrowedFd;

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
    pub(crate) fn cred_attachment(_source: CredSource) -> io::Result<Option<Attachment>> {
        Err(err(libc::EOPNOTSUPP))
    }

    /// No per-message credentials: `EOPNOTSUPP` (use `fdcred_peer_cred`).
    pub(crate) fn allow_recv_cred(sock: BorrowedFd<'_>) -> io::Result<()> {
        require_unix_socket(sock)?;
        Err(err(libc::EOPNOTSUPP))
    }
}

/// The OSes where the receiver's option makes the kernel attach the
/// sender's credentials (NetBSD `LOCAL_CREDS`, illumos `SO_RECVUCRED`).
#[cfg(any(target_os = "netbsd", solarish, all(test, linux_like)))]
pub(super) mod kernel_attaches {
    use super::err;
    use crate::sys::Attachment;
    use crate::types::CredSource;
    use std::io;

    /// The sender adds nothing: the kernel attaches its own credentials. No
    /// other identity can be stated: a claim fails with `EOPNOTSUPP`.
    pub(crate) fn cred_attachment(source: CredSource) -> io::Result<Option<Attachment>> {
        if source != CredSource::Own {
            return Err(err(libc::EOPNOTSUPP));
        }
        Ok(None)
    }
}

/// `LOCAL_PEERCRED`'s `struct xucred` (FreeBSD, DragonFly, macOS): the
/// effective uid, the groups with the effective gid first, and (FreeBSD 13+
/// only, so left to the backend) the pid.
#[cfg(any(freebsdlike, apple))]
pub(super) mod xucred {
    use super::{copy_groups, peer_option, SOL_LOCAL};
    use crate::sys::ListenerCheck;
    use crate::types::{fdcred_cred, FDCRED_CRED_GID, FDCRED_CRED_UID};
    use std::io;
    use std::os::fd::BorrowedFd;

    /// `LOCAL_PEERCRED`, checked: a Unix socket, the full struct, the version
    /// this code knows, a sane group count, not a listening socket.
    pub(in crate::sys) fn peer(sock: BorrowedFd<'_>, listener: ListenerCheck) -> io::Result<libc::xucred> {
        let valid = |xu: &libc::xucred| xu.cr_version == libc::XUCRED_VERSION && (0..=16).contains(&xu.cr_ngroups);
        peer_option::<libc::xucred>(sock, SOL_LOCAL, libc::LOCAL_PEERCRED, valid, listener)
    }

    /// The effective uid, and the effective gid (`cr_groups[0]`) when the
    /// list is not empty.
    pub(in crate::sys) fn effective_ids(xu: &libc::xucred) -> fdcred_cred {
        let mut cred = fdcred_cred::unknown();
        cred.uid = xu.cr_uid;
        cred.known |= FDCRED_CRED_UID;
        if xu.cr_ngroups > 0 {
            cred.gid = xu.cr_groups[0];
            cred.known |= FDCRED_CRED_GID;
        }
        cred
    }

    /// The supplementary groups: `cr_groups[1..cr_ngroups]` (entry 0 is the
    /// effective gid). The kernel reports at most 16 entries (`XU_NGROUPS`),
    /// so a peer in more than 15 supplementary groups shows only the first 15.
    pub(crate) fn peer_groups(sock: BorrowedFd<'_>, groups: &mut [libc::gid_t]) -> io::Result<usize> {
        let xu = peer(sock, ListenerCheck::Refuse)?;
        let n = xu.cr_ngroups as usize;
        let supplementary = if n > 1 { &xu.cr_groups[1..n] } else { &[][..] };
        copy_groups(supplementary, groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsFd, FromRawFd};

    fn pair(kind: libc::c_int) -> (OwnedFd, OwnedFd) {
        let mut sv = [-1; 2];
        // SAFETY: `sv` has room for the two descriptors socketpair writes.
        let rc = unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, sv.as_mut_ptr()) };
        assert_eq!(rc, 0, "socketpair: {}", last_error());
        // SAFETY: both were just created and are owned here alone.
        unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) }
    }

    #[test]
    fn domain_by_name_is_af_unix_for_an_unbound_socketpair_end_and_af_inet_for_tcp() {
        let (a, _b) = pair(libc::SOCK_STREAM);
        assert_eq!(domain_by_name(a.as_fd()).unwrap(), libc::AF_UNIX);
        // SAFETY: plain socket creation.
        let tcp = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
        assert!(tcp >= 0, "socket(AF_INET): {}", last_error());
        // SAFETY: just created, owned here alone.
        let tcp = unsafe { OwnedFd::from_raw_fd(tcp) };
        assert_eq!(domain_by_name(tcp.as_fd()).unwrap(), libc::AF_INET);
        assert_eq!(require_unix(libc::AF_INET).unwrap_err().raw_os_error(), Some(libc::EOPNOTSUPP));
        assert!(require_unix(libc::AF_UNIX).is_ok());
    }

    #[test]
    fn domain_by_name_of_a_pipe_is_enotsock() {
        let mut p = [-1; 2];
        // SAFETY: `p` has room for the two descriptors pipe writes.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        // SAFETY: both were just created and are owned here alone.
        let (r, _w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
        assert_eq!(domain_by_name(r.as_fd()).unwrap_err().raw_os_error(), Some(libc::ENOTSOCK));
    }

    #[test]
    fn socket_type_and_listening_of_a_socketpair() {
        let (a, _b) = pair(libc::SOCK_SEQPACKET);
        assert_eq!(socket_type(a.as_fd()).unwrap(), libc::SOCK_SEQPACKET);
        assert!(!is_listening(a.as_fd()).unwrap());
        assert!(refuse_listening(a.as_fd()).is_ok());
    }

    #[test]
    fn copy_groups_answers_a_size_query_fills_and_refuses_too_small() {
        let groups = [10, 20, 30];
        assert_eq!(copy_groups(&groups, &mut []).unwrap(), 3);
        let mut out = [0; 4];
        assert_eq!(copy_groups(&groups, &mut out).unwrap(), 3);
        assert_eq!(out, [10, 20, 30, 0]);
        let mut small = [0; 2];
        assert_eq!(copy_groups(&groups, &mut small).unwrap_err().raw_os_error(), Some(libc::ERANGE));
        assert_eq!(small, [0, 0], "nothing written on ERANGE");
        assert_eq!(copy_groups(&[], &mut out).unwrap(), 0);
    }

    #[test]
    fn peer_query_error_reports_einval_as_enotconn_and_keeps_the_rest() {
        assert_eq!(peer_query_error(err(libc::EINVAL)).raw_os_error(), Some(libc::ENOTCONN));
        assert_eq!(peer_query_error(err(libc::EBADF)).raw_os_error(), Some(libc::EBADF));
    }

    #[test]
    fn cred_helpers_mark_known_only_what_they_set_and_a_zero_pid_unknown() {
        let c = cred_from(42, 1000, 100);
        assert_eq!((c.pid, c.uid, c.gid), (42, 1000, 100));
        assert_eq!(c.known, FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID);
        let c = with_real_ids(cred_from(0, 1000, 100), 7, 8);
        assert_eq!((c.ruid, c.rgid), (7, 8));
        assert_eq!(
            c.known,
            FDCRED_CRED_UID | FDCRED_CRED_GID | FDCRED_CRED_RUID | FDCRED_CRED_RGID,
            "pid 0 is unknown"
        );
        assert_eq!(c.pid, fdcred_cred::unknown().pid);
        let mut c = fdcred_cred::unknown();
        set_pid(&mut c, -1);
        assert_eq!(c.known, 0, "a negative pid is unknown");
    }

    #[test]
    fn read_head_zero_fills_past_the_fixed_part_and_refuses_short_payloads() {
        #[derive(Debug, PartialEq)]
        #[repr(C)]
        struct Head {
            a: u32,
            b: u32,
            list: [u32; 2],
        }
        // One byte in, so the head starts unaligned; a list entry follows it.
        let mut bytes = [0u8; 13];
        bytes[1..5].copy_from_slice(&5u32.to_ne_bytes());
        bytes[5..9].copy_from_slice(&6u32.to_ne_bytes());
        bytes[9..].copy_from_slice(&7u32.to_ne_bytes());
        let payload = &bytes[1..];
        // SAFETY: Head is plain integers.
        let h: Head = unsafe { read_head(payload, 8) }.unwrap();
        assert_eq!(h, Head { a: 5, b: 6, list: [0, 0] }, "only the fixed 8 bytes are read");
        // SAFETY: as above.
        assert!(unsafe { read_head::<Head>(&payload[..7], 8) }.is_none(), "7 bytes for an 8-byte head");
        // SAFETY: as above.
        assert!(unsafe { read_head::<Head>(&[0; 32], 20) }.is_none(), "a head longer than the struct");
    }

    #[test]
    fn close_unwanted_turns_lingering_off_on_the_shared_socket_and_closes_any_fd() {
        let (a, _b) = pair(libc::SOCK_STREAM);
        let on = libc::linger { l_onoff: 1, l_linger: 30 };
        // SAFETY: `a` is open; `on` is a readable linger of the length passed.
        let rc = unsafe {
            libc::setsockopt(
                a.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&on as *const libc::linger).cast(),
                size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "SO_LINGER on: {}", last_error());
        close_unwanted(a.try_clone().unwrap());
        let (lg, _) = getsockopt::<libc::linger>(a.as_fd(), libc::SOL_SOCKET, libc::SO_LINGER).unwrap();
        assert_eq!(lg.l_onoff, 0, "lingering still on after closing a copy");
        // Not a socket: the setsockopt fails, the close still happens (the
        // reader sees end of file).
        let mut p = [-1; 2];
        // SAFETY: `p` has room for the two descriptors pipe writes.
        assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
        // SAFETY: both were just created and are owned here alone.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
        close_unwanted(w);
        let mut byte = [0u8; 1];
        // SAFETY: `byte` is writable for one byte.
        let n = unsafe { libc::read(r.as_raw_fd(), byte.as_mut_ptr().cast(), 1) };
        assert_eq!(n, 0, "the pipe's write end is closed");
    }

    #[test]
    fn set_cloexec_sets_fd_cloexec() {
        let (a, _b) = pair(libc::SOCK_STREAM);
        // SAFETY: `a` is open; F_GETFD/F_SETFD take and return ints.
        let flags = |fd: &OwnedFd| unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
        // SAFETY: as above.
        unsafe { libc::fcntl(a.as_raw_fd(), libc::F_SETFD, 0) };
        assert_eq!(flags(&a) & libc::FD_CLOEXEC, 0);
        set_cloexec(&a);
        assert_ne!(flags(&a) & libc::FD_CLOEXEC, 0);
    }

    #[test]
    fn sendmsg_and_recvmsg_retry_carry_a_byte_and_report_eagain() {
        let (a, b) = pair(libc::SOCK_DGRAM);
        let mut byte = [7u8];
        let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
        // SAFETY: msghdr is plain data; all-zero is a valid empty header.
        let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        // SAFETY: `msg` points at `iov`, which points at `byte`; all live.
        assert_eq!(unsafe { sendmsg_retry(a.as_fd(), &msg, 0, false) }.unwrap(), 1);
        byte[0] = 0;
        // SAFETY: as above, writable.
        assert_eq!(unsafe { recvmsg_retry(b.as_fd(), &mut msg, libc::MSG_DONTWAIT, false) }.unwrap(), 1);
        assert_eq!(byte[0], 7);
        // SAFETY: as above.
        let again = unsafe { recvmsg_retry(b.as_fd(), &mut msg, libc::MSG_DONTWAIT, false) }.unwrap_err();
        assert_eq!(again.raw_os_error(), Some(libc::EAGAIN));
    }

    #[test]
    fn getsockopt_and_setsockopt_int_round_trip() {
        let (a, _b) = pair(libc::SOCK_STREAM);
        setsockopt_int(a.as_fd(), libc::SOL_SOCKET, libc::SO_SNDBUF, 65536).unwrap();
        let (v, len) = getsockopt::<libc::c_int>(a.as_fd(), libc::SOL_SOCKET, libc::SO_SNDBUF).unwrap();
        assert_eq!(len, size_of::<libc::c_int>());
        assert!(v >= 65536, "SO_SNDBUF {v}");
    }

    // The shared interface items: only Linux builds every module of them
    // (each other OS builds the ones its backend uses), and only Linux runs.
    #[cfg(linux_like)]
    mod interface_items {
        use super::*;

        fn tcp_socket() -> OwnedFd {
            // SAFETY: plain socket creation.
            let tcp = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
            assert!(tcp >= 0, "socket(AF_INET): {}", last_error());
            // SAFETY: just created, owned here alone.
            unsafe { OwnedFd::from_raw_fd(tcp) }
        }

        /// The errno of each `lacking` item on `sock`, in the order peer_groups,
        /// peer_pidfd, peer_security, allow_recv_pidfd, refuse_fds.
        fn lacking_errnos(sock: BorrowedFd<'_>) -> [Option<i32>; 5] {
            let code = |r: io::Result<()>| r.unwrap_err().raw_os_error();
            [
                code(lacking::peer_groups(sock, &mut [0; 4]).map(drop)),
                code(lacking::peer_pidfd(sock).map(drop)),
                code(lacking::peer_security(sock, &mut [0; 16]).map(drop)),
                code(lacking::allow_recv_pidfd(sock)),
                code(lacking::refuse_fds(sock)),
            ]
        }

        #[test]
        fn lacking_items_are_enoprotoopt_on_unix_eopnotsupp_on_tcp_enotsock_on_a_pipe() {
            let (a, _b) = pair(libc::SOCK_STREAM);
            assert_eq!(lacking_errnos(a.as_fd()), [Some(libc::ENOPROTOOPT); 5], "socketpair end");
            assert_eq!(lacking_errnos(tcp_socket().as_fd()), [Some(libc::EOPNOTSUPP); 5], "TCP socket");
            let mut p = [-1; 2];
            // SAFETY: `p` has room for the two descriptors pipe writes.
            assert_eq!(unsafe { libc::pipe(p.as_mut_ptr()) }, 0);
            // SAFETY: both were just created and are owned here alone.
            let (r, _w) = unsafe { (OwnedFd::from_raw_fd(p[0]), OwnedFd::from_raw_fd(p[1])) };
            assert_eq!(lacking_errnos(r.as_fd()), [Some(libc::ENOTSOCK); 5], "pipe");
        }

        #[test]
        fn no_msg_cred_knows_only_scm_rights_and_refuses_credentials_with_eopnotsupp() {
            use crate::sys::CmsgKind;
            use crate::types::{CredSource, Credentials};
            assert_eq!(no_msg_cred::classify_cmsg(libc::SOL_SOCKET, libc::SCM_RIGHTS), CmsgKind::Rights);
            assert_eq!(no_msg_cred::classify_cmsg(libc::SOL_SOCKET, libc::SCM_CREDENTIALS), CmsgKind::Other);
            assert_eq!(no_msg_cred::classify_cmsg(libc::IPPROTO_IP, libc::SCM_RIGHTS), CmsgKind::Other);
            assert!(no_msg_cred::decode_cred(libc::SCM_RIGHTS, &[0; 64]).is_none());
            for source in [CredSource::Own, CredSource::Claim(Credentials::unknown())] {
                let e = no_msg_cred::cred_attachment(source).unwrap_err();
                assert_eq!(e.raw_os_error(), Some(libc::EOPNOTSUPP), "cred_attachment({source:?})");
            }
            let (a, _b) = pair(libc::SOCK_STREAM);
            assert_eq!(no_msg_cred::allow_recv_cred(a.as_fd()).unwrap_err().raw_os_error(), Some(libc::EOPNOTSUPP));
            let tcp = tcp_socket();
            assert_eq!(no_msg_cred::allow_recv_cred(tcp.as_fd()).unwrap_err().raw_os_error(), Some(libc::EOPNOTSUPP));
        }

        #[test]
        fn peer_option_reads_a_whole_struct_and_refuses_tcp_a_bad_layout_and_a_listener() {
            let (a, _b) = pair(libc::SOCK_STREAM);
            let read_with = |sock, valid: fn(&libc::ucred) -> bool, listener| {
                peer_option::<libc::ucred>(sock, libc::SOL_SOCKET, libc::SO_PEERCRED, valid, listener)
            };
            let read = |sock, valid| read_with(sock, valid, crate::sys::ListenerCheck::Refuse);
            // SAFETY: getpid has no preconditions.
            assert_eq!(read(a.as_fd(), |_| true).unwrap().pid, unsafe { libc::getpid() });
            let code = |r: io::Result<libc::ucred>| r.unwrap_err().raw_os_error();
            assert_eq!(code(read(a.as_fd(), |_| false)), Some(libc::EPROTO), "layout refused");
            let tcp = tcp_socket();
            assert_eq!(code(read(tcp.as_fd(), |_| true)), Some(libc::EOPNOTSUPP), "TCP socket");
            // SAFETY: plain socket creation.
            let l = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0) };
            assert!(l >= 0, "socket(AF_UNIX): {}", last_error());
            // SAFETY: just created, owned here alone.
            let l = unsafe { OwnedFd::from_raw_fd(l) };
            // Linux autobinds (an abstract name) a bind given only the family.
            // SAFETY: sockaddr_un is plain data; all-zero is valid.
            let mut addr: libc::sockaddr_un = unsafe { core::mem::zeroed() };
            addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
            let len = size_of::<libc::sa_family_t>() as libc::socklen_t;
            // SAFETY: `addr` is readable for at least `len` bytes.
            let rc = unsafe { libc::bind(l.as_raw_fd(), (&addr as *const libc::sockaddr_un).cast(), len) };
            assert_eq!(rc, 0, "bind (autobind): {}", last_error());
            // SAFETY: a bound Unix stream socket.
            assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 1) }, 0, "listen: {}", last_error());
            assert_eq!(code(read(l.as_fd(), |_| true)), Some(libc::ENOTCONN), "listening socket");
            // Skipping the check (the caller vouched) reads what the kernel
            // recorded at listen(): this process. Hence the check by default.
            let skipped = read_with(l.as_fd(), |_| true, crate::sys::ListenerCheck::Skip).unwrap();
            // SAFETY: getpid has no preconditions.
            assert_eq!(skipped.pid, unsafe { libc::getpid() });
            assert_eq!(code(read_with(tcp.as_fd(), |_| true, crate::sys::ListenerCheck::Skip)), Some(libc::EOPNOTSUPP));
        }

        #[test]
        fn kernel_attaches_cred_attachment_adds_nothing_for_own_and_refuses_a_claim() {
            use crate::types::{CredSource, Credentials};
            assert!(kernel_attaches::cred_attachment(CredSource::Own).unwrap().is_none());
            let claim = CredSource::Claim(Credentials::unknown());
            let e = kernel_attaches::cred_attachment(claim).unwrap_err();
            assert_eq!(e.raw_os_error(), Some(libc::EOPNOTSUPP));
        }

        #[test]
        fn msg_flags_carry_a_byte_and_domain_by_option_or_name_is_af_unix() {
            let (a, b) = pair(libc::SOCK_DGRAM);
            assert_eq!(domain_by_option_or_name(a.as_fd()).unwrap(), libc::AF_UNIX);
            assert_eq!(domain_by_option_or_name(tcp_socket().as_fd()).unwrap(), libc::AF_INET);
            let mut byte = [9u8];
            let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
            // SAFETY: msghdr is plain data; all-zero is a valid empty header.
            let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            // SAFETY: `msg` points at `iov`, which points at `byte`; all live.
            assert_eq!(unsafe { msg_flags::sendmsg(a.as_fd(), &msg, true, false) }.unwrap(), 1);
            byte[0] = 0;
            // SAFETY: as above, writable.
            assert_eq!(unsafe { msg_flags::recvmsg(b.as_fd(), &mut msg, true, true, false) }.unwrap(), 1);
            assert_eq!(byte[0], 9);
            // SAFETY: as above.
            let again = unsafe { msg_flags::recvmsg(b.as_fd(), &mut msg, true, true, false) }.unwrap_err();
            assert_eq!(again.raw_os_error(), Some(libc::EAGAIN), "nonblocking receive on an empty socket");
        }
    }
}
