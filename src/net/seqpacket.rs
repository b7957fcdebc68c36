//! `SOCK_SEQPACKET` Unix sockets, which std does not have: connected,
//! reliable, ordered, and with message boundaries (a receive takes one whole
//! record or its truncated front, [`RecvInfo::data_truncated`](super::RecvInfo)).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::UnixSocketExt;

/// A connected `SOCK_SEQPACKET` Unix socket. Sending and receiving go
/// through [`UnixSocketExt`]; the descriptor is close-on-exec.
///
/// ```
/// use fdcred::{UnixSeqpacket, UnixSocketExt};
///
/// let (a, b) = UnixSeqpacket::pair()?;
/// a.send_with_fds(b"hello", &[])?;
/// let mut buf = [0u8; 3];
/// let info = b.recv_with_fds(&mut buf, &mut Vec::new())?;
/// assert_eq!(&buf, b"hel");
/// assert!(info.data_truncated); // the record was 5 bytes: the rest is gone
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct UnixSeqpacket(OwnedFd);

/// A listening `SOCK_SEQPACKET` Unix socket bound to a path.
#[derive(Debug)]
pub struct UnixSeqpacketListener(OwnedFd);

fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// A new `AF_UNIX`/`SOCK_SEQPACKET` socket, close-on-exec (atomically where
/// `SOCK_CLOEXEC` exists).
fn seqpacket_socket() -> io::Result<OwnedFd> {
    #[cfg(not(apple))]
    let ty = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
    #[cfg(apple)]
    let ty = libc::SOCK_SEQPACKET;
    // SAFETY: plain syscall; on success the fd is new and ours alone.
    let fd = unsafe { OwnedFd::from_raw_fd(cvt(libc::socket(libc::AF_UNIX, ty, 0))?) };
    #[cfg(apple)]
    set_cloexec(fd.as_fd())?;
    Ok(fd)
}

#[cfg(apple)]
fn set_cloexec(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we hold; no pointers.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) }).map(drop)
}

/// `path` as a `sockaddr_un` and its length. `EINVAL` when it does not fit
/// (`sun_path` holds 104-108 bytes, NUL included) or holds a NUL.
fn sockaddr(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: sockaddr_un is plain data; all-zero is valid.
    let mut addr: libc::sockaddr_un = unsafe { core::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = core::mem::offset_of!(libc::sockaddr_un, sun_path) + bytes.len() + 1;
    Ok((addr, len as libc::socklen_t))
}

impl UnixSeqpacket {
    /// A connected pair (`socketpair`). Errors: `EMFILE`, `ENFILE`.
    pub fn pair() -> io::Result<(UnixSeqpacket, UnixSeqpacket)> {
        let mut fds = [-1 as RawFd; 2];
        #[cfg(not(apple))]
        let ty = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
        #[cfg(apple)]
        let ty = libc::SOCK_SEQPACKET;
        // SAFETY: `fds` has room for the two descriptors socketpair writes.
        cvt(unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) })?;
        // SAFETY: both are new descriptors owned by nobody else.
        let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        #[cfg(apple)]
        {
            set_cloexec(a.as_fd())?;
            set_cloexec(b.as_fd())?;
        }
        Ok((UnixSeqpacket(a), UnixSeqpacket(b)))
    }

    /// Connect to the listener bound at `path`. Errors: `ENOENT`,
    /// `ECONNREFUSED`, `EACCES`, `EINVAL` (path too long), ...
    pub fn connect(path: impl AsRef<Path>) -> io::Result<UnixSeqpacket> {
        let (addr, len) = sockaddr(path.as_ref())?;
        let fd = seqpacket_socket()?;
        loop {
            // SAFETY: `addr` is a valid sockaddr_un of `len` bytes.
            let rc = unsafe { libc::connect(fd.as_raw_fd(), (&addr as *const libc::sockaddr_un).cast(), len) };
            match cvt(rc) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
                Ok(_) => return Ok(UnixSeqpacket(fd)),
            }
        }
    }

    /// Send one record (no descriptors); returns its length. Errors as
    /// [`UnixSocketExt::send_with_fds`].
    pub fn send(&self, data: &[u8]) -> io::Result<usize> {
        self.send_with_fds(data, &[])
    }

    /// Receive one record into `buf`; returns the bytes written. A longer
    /// record is cut (use [`UnixSocketExt::recv_with_fds`] to learn of it) and
    /// descriptors sent with it are closed.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let received = self.recv_with(&mut [io::IoSliceMut::new(buf)], &crate::msg::RecvOptions::default())?;
        Ok(received.bytes)
    }

    /// Switch `O_NONBLOCK` on or off.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        set_nonblocking(self.as_fd(), nonblocking)
    }

    /// Shut down reading, writing or both (`shutdown(2)`).
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        let how = match how {
            std::net::Shutdown::Read => libc::SHUT_RD,
            std::net::Shutdown::Write => libc::SHUT_WR,
            std::net::Shutdown::Both => libc::SHUT_RDWR,
        };
        // SAFETY: plain syscall on a descriptor we hold.
        cvt(unsafe { libc::shutdown(self.0.as_raw_fd(), how) }).map(drop)
    }
}

pub(crate) fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we hold; no pointers.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let flags = if nonblocking { flags | libc::O_NONBLOCK } else { flags & !libc::O_NONBLOCK };
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) }).map(drop)
}

impl UnixSeqpacketListener {
    /// Bind to `path` (which must not exist) and listen. Errors:
    /// `EADDRINUSE`, `EACCES`, `EINVAL` (path too long), ...
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixSeqpacketListener> {
        let (addr, len) = sockaddr(path.as_ref())?;
        let fd = seqpacket_socket()?;
        // SAFETY: `addr` is a valid sockaddr_un of `len` bytes.
        cvt(unsafe { libc::bind(fd.as_raw_fd(), (&addr as *const libc::sockaddr_un).cast(), len) })?;
        // SAFETY: plain syscall on a descriptor we hold.
        cvt(unsafe { libc::listen(fd.as_raw_fd(), 128) })?;
        Ok(UnixSeqpacketListener(fd))
    }

    /// Accept one connection (close-on-exec). Errors: `EAGAIN`/`WouldBlock`
    /// when non-blocking with none pending, `EMFILE`, ...; `EINTR` retried.
    pub fn accept(&self) -> io::Result<UnixSeqpacket> {
        loop {
            #[cfg(not(apple))]
            // SAFETY: NULL address and length are allowed: we do not want the
            // peer's address.
            let rc = unsafe {
                libc::accept4(self.0.as_raw_fd(), core::ptr::null_mut(), core::ptr::null_mut(), libc::SOCK_CLOEXEC)
            };
            #[cfg(apple)]
            // SAFETY: as above.
            let rc = unsafe { libc::accept(self.0.as_raw_fd(), core::ptr::null_mut(), core::ptr::null_mut()) };
            match cvt(rc) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
                Ok(raw) => {
                    // SAFETY: accept returned a new descriptor, ours alone.
                    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
                    #[cfg(apple)]
                    set_cloexec(fd.as_fd())?;
                    return Ok(UnixSeqpacket(fd));
                }
            }
        }
    }

    /// Switch `O_NONBLOCK` on or off.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        set_nonblocking(self.as_fd(), nonblocking)
    }
}

macro_rules! fd_wrapper {
    ($ty:ident) => {
        impl AsFd for $ty {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.0.as_fd()
            }
        }
        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.0.as_raw_fd()
            }
        }
        impl IntoRawFd for $ty {
            fn into_raw_fd(self) -> RawFd {
                self.0.into_raw_fd()
            }
        }
        impl From<$ty> for OwnedFd {
            fn from(sock: $ty) -> OwnedFd {
                sock.0
            }
        }
        /// The caller vouches that the descriptor is a Unix socket of this kind.
        impl From<OwnedFd> for $ty {
            fn from(fd: OwnedFd) -> $ty {
                $ty(fd)
            }
        }
        impl FromRawFd for $ty {
            /// # Safety
            /// `fd` is an open Unix socket of this kind that nothing else owns.
            unsafe fn from_raw_fd(fd: RawFd) -> $ty {
                // SAFETY: the caller's guarantee, passed on.
                $ty(unsafe { OwnedFd::from_raw_fd(fd) })
            }
        }
    };
}
fd_wrapper!(UnixSeqpacket);
fd_wrapper!(UnixSeqpacketListener);
