//! Helpers shared by the BSD, macOS and illumos backends: the `EINTR` loops,
//! `getsockopt`/`setsockopt` wrappers, socket facts, and the error rules for
//! peer queries. Nothing here is OS-specific beyond what libc names on every
//! one of those targets, and Linux too: the unit tests below run it here.
#![cfg_attr(linux_like, allow(dead_code))]

use core::mem::{size_of, MaybeUninit};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

pub(super) fn last_error() -> io::Error {
    io::Error::last_os_error()
}

pub(super) fn err(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

/// `sendmsg` with `flags`, retried on `EINTR`.
///
/// # Safety
/// `msg` must describe valid buffers (name, iovecs, control) for the call.
pub(super) unsafe fn sendmsg_retry(sock: BorrowedFd<'_>, msg: &libc::msghdr, flags: libc::c_int) -> io::Result<usize> {
    loop {
        // SAFETY: the caller vouches for every pointer in `msg`.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), msg, flags) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = last_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// `recvmsg` with `flags`, retried on `EINTR`. The kernel writes nothing
/// back to `msg` on failure, so the retry reuses it as it was.
///
/// # Safety
/// `msg` must describe valid writable buffers for the call.
pub(super) unsafe fn recvmsg_retry(
    sock: BorrowedFd<'_>,
    msg: &mut libc::msghdr,
    flags: libc::c_int,
) -> io::Result<usize> {
    loop {
        // SAFETY: the caller vouches for every pointer in `msg`.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), msg, flags) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = last_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
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

pub(super) fn socket_type(sock: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    getsockopt::<libc::c_int>(sock, libc::SOL_SOCKET, libc::SO_TYPE).map(|(v, _)| v)
}

pub(super) fn is_listening(sock: BorrowedFd<'_>) -> io::Result<bool> {
    getsockopt::<libc::c_int>(sock, libc::SOL_SOCKET, libc::SO_ACCEPTCONN).map(|(v, _)| v != 0)
}

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

/// A listening socket reports the ids of whoever called `listen`, which is
/// not a peer: refuse it.
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
        assert_eq!(unsafe { sendmsg_retry(a.as_fd(), &msg, 0) }.unwrap(), 1);
        byte[0] = 0;
        // SAFETY: as above, writable.
        assert_eq!(unsafe { recvmsg_retry(b.as_fd(), &mut msg, libc::MSG_DONTWAIT) }.unwrap(), 1);
        assert_eq!(byte[0], 7);
        // SAFETY: as above.
        let again = unsafe { recvmsg_retry(b.as_fd(), &mut msg, libc::MSG_DONTWAIT) }.unwrap_err();
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
}
