//! Unix-domain socket addresses from a name as a user writes it: a
//! filesystem path, or on Linux an abstract name written `@name` (the form
//! of systemd's `$NOTIFY_SOCKET`). Built on the stack, so a send to one
//! stays allocation-free.

use std::io::{self, IoSlice};
use std::os::fd::BorrowedFd;

use crate::msg::{send_msg, SendOptions};

/// A `sockaddr_un` and the length to pass with it.
///
/// Names:
/// * a filesystem path of up to `sizeof(sun_path)` bytes (108 on Linux,
///   104 on the BSDs and macOS). A path that fills `sun_path` exactly is
///   passed without a terminating NUL, which the kernels accept.
/// * `@name` (Linux only): the abstract address `name`, up to one byte less
///   than `sun_path` (its first byte is the NUL that marks it abstract).
///   The name cannot hold NUL bytes. Elsewhere a leading `@` is `EINVAL`,
///   so that one string never names different sockets on different OSes.
///
/// A path that really begins with `@` is written with a directory in front:
/// `./@x` for the file `@x` in the current directory.
#[derive(Clone, Copy)]
pub struct UnixAddr {
    addr: libc::sockaddr_un,
    len: usize,
}

impl UnixAddr {
    /// Build the address for `name`.
    ///
    /// Errors: `EINVAL` (empty, a NUL byte inside, `@` alone, or `@` where
    /// the OS has no abstract addresses), `ENAMETOOLONG` (longer than
    /// `sun_path`).
    pub fn new(name: &[u8]) -> io::Result<Self> {
        let err = |code| Err(io::Error::from_raw_os_error(code));
        // SAFETY: sockaddr_un is plain data; all-zero is valid.
        let mut addr: libc::sockaddr_un = unsafe { core::mem::zeroed() };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let capacity = addr.sun_path.len();
        if name.is_empty() || name.contains(&0) {
            return err(libc::EINVAL);
        }
        // The bytes that go into sun_path: the path itself, or a NUL and the
        // abstract name.
        let (start, bytes) = match name.strip_prefix(b"@") {
            Some(_) if !cfg!(linux_like) => return err(libc::EINVAL),
            Some([]) => return err(libc::EINVAL),
            Some(abstract_name) => (1, abstract_name),
            None => (0, name),
        };
        if start + bytes.len() > capacity {
            return err(libc::ENAMETOOLONG);
        }
        for (dst, &src) in addr.sun_path[start..].iter_mut().zip(bytes) {
            *dst = src as libc::c_char;
        }
        let used = start + bytes.len();
        // A path is passed with its NUL when there is room for one; an
        // abstract name is exactly its bytes (a NUL would become part of it).
        let path_len = if start == 0 && used < capacity { used + 1 } else { used };
        let len = core::mem::offset_of!(libc::sockaddr_un, sun_path) + path_len;
        Ok(UnixAddr { addr, len })
    }

    /// The address as the bytes to pass to `sendmsg`/`connect`/`bind` (its
    /// length is the `socklen_t` to pass).
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: `addr` is a live, fully initialised sockaddr_un (zeroed,
        // then written) and `len` never exceeds its size.
        unsafe { core::slice::from_raw_parts((&self.addr as *const libc::sockaddr_un).cast::<u8>(), self.len) }
    }
}

impl core::fmt::Debug for UnixAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UnixAddr").field("bytes", &self.as_bytes()).finish()
    }
}

/// Send `data` and `fds` on the datagram socket `sock` to `dest` in one
/// `sendmsg`. Refuses a socket that is not a Unix one (`EOPNOTSUPP`) also
/// when no descriptor is attached, where a UDP socket would otherwise answer
/// the Unix address with a puzzling `EAFNOSUPPORT`.
///
/// Errors: those of [`send_msg`], and `EOPNOTSUPP`.
pub fn send_to(
    sock: BorrowedFd<'_>,
    dest: &UnixAddr,
    data: &[IoSlice<'_>],
    fds: &[BorrowedFd<'_>],
) -> io::Result<usize> {
    if fds.is_empty() && crate::sys::socket_domain(sock)? != libc::AF_UNIX {
        return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
    }
    let opts = SendOptions { fds, dest: Some(dest.as_bytes()), ..Default::default() };
    send_msg(sock, data, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH_AT: usize = core::mem::offset_of!(libc::sockaddr_un, sun_path);

    fn code(r: io::Result<UnixAddr>) -> Option<i32> {
        r.unwrap_err().raw_os_error()
    }

    #[test]
    fn a_path_keeps_its_nul_unless_it_fills_sun_path() {
        let a = UnixAddr::new(b"/run/x.sock").unwrap();
        assert_eq!(&a.as_bytes()[PATH_AT..], b"/run/x.sock\0");
        let capacity = a.addr.sun_path.len();
        let full = vec![b'p'; capacity];
        let a = UnixAddr::new(&full).unwrap();
        assert_eq!(a.as_bytes().len(), PATH_AT + capacity, "a full sun_path has no NUL");
        assert_eq!(code(UnixAddr::new(&vec![b'p'; capacity + 1])), Some(libc::ENAMETOOLONG));
    }

    #[test]
    fn empty_names_and_inner_nuls_are_einval() {
        assert_eq!(code(UnixAddr::new(b"")), Some(libc::EINVAL));
        assert_eq!(code(UnixAddr::new(b"a\0b")), Some(libc::EINVAL));
        assert_eq!(code(UnixAddr::new(b"@")), Some(libc::EINVAL));
    }

    #[cfg(linux_like)]
    #[test]
    fn at_names_an_abstract_address_and_dot_slash_a_path_that_starts_with_at() {
        let a = UnixAddr::new(b"@sd-notify").unwrap();
        assert_eq!(&a.as_bytes()[PATH_AT..], b"\0sd-notify", "no trailing NUL");
        let a = UnixAddr::new(b"./@x").unwrap();
        assert_eq!(&a.as_bytes()[PATH_AT..], b"./@x\0");
        let capacity = a.addr.sun_path.len();
        let mut longest = vec![b'@'];
        longest.extend(std::iter::repeat_n(b'n', capacity - 1));
        assert_eq!(UnixAddr::new(&longest).unwrap().as_bytes().len(), PATH_AT + capacity);
        longest.push(b'n');
        assert_eq!(code(UnixAddr::new(&longest)), Some(libc::ENAMETOOLONG));
    }
}
