//! Passing descriptors: the simple calls and the general message call.

use core::ffi::{c_int, c_uint, c_void};
use std::io::IoSlice;
use std::os::fd::IntoRawFd;

use super::flags::{
    self, FDCRED_KEEP_PIDFD, FDCRED_MSG_CRED, FDCRED_MSG_CTRUNC, FDCRED_MSG_DATA_TRUNC, FDCRED_MSG_FDS_OVERFLOW,
    FDCRED_MSG_PIDFD, FDCRED_NONBLOCK, FDCRED_NO_CLOEXEC, FDCRED_NO_SOCKET_CHECK, FDCRED_SEND_CRED, RECV_FLAGS,
    SEND_FLAGS,
};
use super::{boundary, err, ptr};
use crate::msg::{recv_msg_into, send_msg, Received, RecvOptions, SendOptions};
use crate::simple;
use crate::types::{fdcred_cred, CredSource, Credentials};

/// The most descriptors one message can carry on this OS: 253 (Linux's
/// `SCM_MAX_FD`; the BSDs, macOS and illumos accept as many), 127 on OpenBSD
/// (see below). Sending more fails with `EINVAL`; a message carrying more is
/// received with all of them closed.
#[cfg(not(target_os = "openbsd"))]
pub const FDCRED_MAX_FDS: usize = 253;
/// OpenBSD: the kernel stores each descriptor in flight as a 16-byte
/// `struct fdpass` inside one 2048-byte cluster, so one message carries at
/// most 127. Sending more fails with `EINVAL`.
#[cfg(target_os = "openbsd")]
pub const FDCRED_MAX_FDS: usize = 127;
const _: () = assert!(FDCRED_MAX_FDS == crate::sys::MAX_FDS);

/// A message for `fdcred_sendmsg` and `fdcred_recvmsg`.
///
/// Zero the whole struct (`struct fdcred_msg m = {0};`) and set the fields a
/// call uses; `reserved` must stay zero. Fields marked "out" are written only
/// when the call succeeds.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct fdcred_msg {
    /// Data buffers, as for `sendmsg`/`recvmsg`. May be NULL when `iovlen` is 0.
    pub iov: *mut libc::iovec,
    /// Number of entries in `iov`.
    pub iovlen: usize,
    /// Send: the descriptors to pass (they stay open in the sender).
    /// Receive: an array with room for `nfds` descriptors.
    pub fds: *mut c_int,
    /// Send: how many descriptors (at most `FDCRED_MAX_FDS`).
    /// Receive: in, the capacity of `fds`; out, how many were received.
    pub nfds: usize,
    /// Send: destination address for an unconnected datagram socket, or NULL.
    /// Receive: buffer for the source address, or NULL.
    pub addr: *mut libc::sockaddr,
    /// Send: length of `addr`. Receive: in, its capacity; out, the length
    /// of the source address (larger than the capacity if it was cut).
    pub addrlen: libc::socklen_t,
    /// Receive, out: the sender's pidfd (close-on-exec, owned by the caller)
    /// when `FDCRED_MSG_PIDFD` is set in `result`, else -1.
    pub pidfd: c_int,
    /// Send with `FDCRED_SEND_CRED`: the identity to claim, or NULL for the
    /// sender's own. With `known` 0 the claim is `pid`, `uid` and `gid`
    /// exactly as written (a zero-filled struct claims pid 0 and root, and
    /// fails); with bits in `known`, the fields not marked are the sender's
    /// own. Not read without `FDCRED_SEND_CRED`.
    /// Receive: where to store the credentials the kernel attached, or NULL;
    /// when there were none it is set to "nothing known".
    pub cred: *mut fdcred_cred,
    /// Receive, out: `FDCRED_MSG_*` bits.
    pub result: c_uint,
    /// Zero, or the call fails with `EINVAL`. Room for fields added in later
    /// minor versions (each enabled by a new flag, so an old caller's zeros
    /// keep the old behaviour); refusing non-zero words now means a caller
    /// that forgot to zero the struct learns it today, not when a later
    /// version gives those words a meaning.
    pub reserved: [u32; 7],
}

/// Send one descriptor with exactly one data byte (0), the classic way: a
/// peer that reads one byte with `recvmsg` and an `SCM_RIGHTS` buffer gets it.
///
/// `fd` stays open in the caller; the receiver gets a new descriptor for the
/// same open file. Works on connected `SOCK_STREAM`, `SOCK_SEQPACKET` and
/// `SOCK_DGRAM` Unix sockets. Never raises `SIGPIPE`; `EINTR` is retried.
/// Thread-safe (on a shared `SOCK_STREAM` socket, see `fdcred_send_fds`).
///
/// Returns 0, or -1 with `errno`:
/// - `EBADF`: `sock` or `fd` is negative or not open.
/// - `ENOTSOCK`: `sock` is not a socket.
/// - `EOPNOTSUPP`: `sock` is not a Unix-domain socket.
/// - `EPIPE`, `ECONNRESET`, `ENOTCONN`: the peer is gone or there is none.
/// - `EAGAIN`: `sock` is non-blocking and its buffer is full.
/// - `ETOOMANYREFS`, `ENOBUFS`, `ENOMEM`: the kernel's limits on descriptors
///   in flight or memory.
///
/// # Safety
/// None beyond passing integers; any value is handled.
#[no_mangle]
pub unsafe extern "C" fn fdcred_sendfd(sock: c_int, fd: c_int) -> c_int {
    boundary(|| {
        let sock = ptr::fd(sock)?;
        let fd = ptr::fd(fd)?;
        send_msg(sock, &[IoSlice::new(&[0])], &SendOptions { fds: &[fd], ..Default::default() })?;
        Ok(0)
    })
}

/// Receive one descriptor sent with one data byte (by `fdcred_sendfd` or a
/// classic `sendmsg` peer). Reads one byte of data.
///
/// Returns the new descriptor, owned by the caller, with close-on-exec set
/// (atomically with `MSG_CMSG_CLOEXEC`; on macOS with `fcntl` right after
/// the receive, so a concurrent `fork`+`exec` may inherit it); or -1 with
/// `errno`:
/// - `ENOMSG`: the message carried no descriptor (the byte is consumed).
/// - `ECONNRESET`: end of file: the peer closed a stream or seqpacket
///   connection (or sent an empty seqpacket record).
/// - `EMSGSIZE`: the message carried more than one descriptor; or, on a
///   `SOCK_DGRAM` or `SOCK_SEQPACKET` socket, more than one data byte (the
///   record would be cut). The message is consumed and every descriptor it
///   carried was closed.
/// - `EBADMSG`: the kernel truncated the control data (typically this process
///   hit `RLIMIT_NOFILE`); every descriptor that arrived was closed.
/// - `EOPNOTSUPP`: `sock` is not a Unix-domain socket (the byte read is lost).
/// - `EBADF`, `ENOTSOCK`, `EAGAIN` (non-blocking socket, nothing queued),
///   `ENOTCONN`.
///
/// No descriptor is ever left open on failure, and those closed for the
/// caller are closed without waiting (see `fdcred_recvmsg`). `EINTR` is
/// retried. Thread-safe.
///
/// # Safety
/// None beyond passing an integer; any value is handled.
#[no_mangle]
pub unsafe extern "C" fn fdcred_recvfd(sock: c_int) -> c_int {
    boundary(|| Ok(simple::recv_fd(ptr::fd(sock)?)?.into_raw_fd()))
}

/// Send `len` bytes from `buf` with `nfds` descriptors from `fds` attached,
/// in one `sendmsg`.
///
/// The descriptors stay open in the caller. On a stream socket the
/// descriptors travel with the first byte, at least one byte is required,
/// and a short count is possible as with `send`. `buf` may be NULL when `len`
/// is 0; `fds` may be NULL when `nfds` is 0. Never raises `SIGPIPE`; `EINTR`
/// is retried. Thread-safe, see below for a shared `SOCK_STREAM` socket.
///
/// Several threads sending on one `SOCK_STREAM` socket: a stream has no
/// message boundaries, so their bytes can interleave and a descriptor can
/// arrive beside bytes another thread wrote. That is the kernel's stream
/// semantics, not a library fault: serialize the senders, or use
/// `SOCK_SEQPACKET` or `SOCK_DGRAM`, whose messages keep each descriptor
/// with its own bytes.
///
/// Partial writes (a non-blocking `SOCK_STREAM` whose buffer fills, or a
/// blocking one interrupted after some bytes): a return of `n` < `len` means
/// the first `n` bytes *and all the descriptors* were sent; send the rest
/// (`buf + n`, `len - n`) *without* descriptors, or the peer receives them
/// twice. -1 with `EAGAIN` means nothing was sent, no descriptor either:
/// retry the same call, descriptors included, when the socket is writable.
///
/// Returns the number of bytes sent, or -1 with `errno`:
/// - `EINVAL`: `nfds` > `FDCRED_MAX_FDS`; NULL `buf` or `fds` with a
///   non-zero count; `len` > `SSIZE_MAX`; descriptors with `len` 0 on a
///   `SOCK_STREAM` socket (a stream cannot carry them without a byte).
/// - `EBADF`: `sock` or one of `fds` is negative or not open.
/// - `ENOTSOCK`, `EOPNOTSUPP` (not a Unix-domain socket: TCP and UDP would
///   drop the descriptors silently).
/// - `ENOTCONN`: no peer (an unconnected or listening socket).
/// - `EPIPE`, `ECONNRESET`, `EDESTADDRREQ`, `EAGAIN`, `EMSGSIZE`
///   (datagram too large; on macOS also the peer's receive buffer is full
///   while passing descriptors: back-pressure, nothing was sent, retry after
///   the peer reads), `ETOOMANYREFS`, `ENOBUFS`, `ENOMEM`.
///
/// macOS has no `MSG_NOSIGNAL`: the library sets `SO_NOSIGPIPE` on `sock`
/// before sending, and it stays set (this applies to every send call).
///
/// # Safety
/// `buf` must be readable for `len` bytes and `fds` for `nfds` ints, or be
/// NULL with a zero count.
#[no_mangle]
pub unsafe extern "C" fn fdcred_send_fds(
    sock: c_int,
    buf: *const c_void,
    len: usize,
    fds: *const c_int,
    nfds: usize,
) -> libc::ssize_t {
    boundary(|| {
        let sock = ptr::fd(sock)?;
        // SAFETY: the caller promises `fds` holds `nfds` ints.
        let fds = unsafe { ptr::fds(fds, nfds) }?;
        // SAFETY: the caller promises `buf` holds `len` bytes.
        let data = unsafe { ptr::bytes(buf, len) }?;
        let sent = send_msg(sock, &[IoSlice::new(data)], &SendOptions { fds, ..Default::default() })?;
        Ok(sent as libc::ssize_t)
    })
}

/// Receive up to `len` bytes into `buf` and the descriptors attached to them.
///
/// `*nfds` is, on entry, the capacity of `fds` (0 to accept none) and, on
/// success, how many descriptors were stored there; they are owned by the
/// caller and close-on-exec. A `SOCK_DGRAM` or `SOCK_SEQPACKET` record
/// longer than `len` is never returned cut: the call fails with `EMSGSIZE`
/// (use `fdcred_recvmsg` to take the first bytes and be told,
/// `FDCRED_MSG_DATA_TRUNC`); on a stream the rest stays queued. `buf` may be
/// NULL when `len` is 0; `fds` may be NULL when `*nfds` is 0. Descriptors
/// closed for the caller are closed without waiting (see `fdcred_recvmsg`).
/// `EINTR` is retried. Thread-safe.
///
/// Returns the number of bytes received (0 at end of file, with `*nfds` 0),
/// or -1 with `errno`; on failure no descriptor is left open and `*nfds` is
/// untouched:
/// - `EMSGSIZE`: the message carried more descriptors than `*nfds`; or it is
///   a `SOCK_DGRAM`/`SOCK_SEQPACKET` record longer than `len`. It is
///   consumed and every descriptor it carried was closed.
/// - `EBADMSG`: the kernel truncated the control data (typically this process
///   hit `RLIMIT_NOFILE`); every descriptor that arrived was closed.
/// - `EINVAL`: `nfds` is NULL; NULL `buf` or `fds` with a non-zero count;
///   `len` > `SSIZE_MAX`; `len` 0 on a `SOCK_STREAM` socket (a read of no
///   bytes there returns 0, which cannot be told from end of file).
/// - `EOPNOTSUPP`: `sock` is not a Unix-domain socket (the bytes read are lost).
/// - `EBADF`, `ENOTSOCK`, `EAGAIN`, `ENOTCONN`, `ECONNRESET`.
///
/// # Safety
/// `buf` must be writable for `len` bytes, `nfds` must point to a `size_t`,
/// and `fds` must be writable for `*nfds` ints (or be NULL with 0).
#[no_mangle]
pub unsafe extern "C" fn fdcred_recv_fds(
    sock: c_int,
    buf: *mut c_void,
    len: usize,
    fds: *mut c_int,
    nfds: *mut usize,
) -> libc::ssize_t {
    boundary(|| {
        let sock = ptr::fd(sock)?;
        // SAFETY: the caller promises `nfds` points to a size_t.
        let nfds = unsafe { ptr::inout(nfds) }?;
        let capacity = (*nfds).min(FDCRED_MAX_FDS);
        // SAFETY: the caller promises room for `*nfds` >= `capacity` ints.
        let out = unsafe { ptr::slice_mut(fds, capacity) }?;
        // SAFETY: the caller promises `buf` is writable for `len` bytes.
        let data = unsafe { ptr::bytes_mut(buf, len) }?;
        let (bytes, count) = simple::recv_fds(sock, data, out)?;
        *nfds = count;
        Ok(bytes as libc::ssize_t)
    })
}

/// Send `len` bytes and `nfds` descriptors on an unconnected `SOCK_DGRAM`
/// Unix socket to the socket named `path`.
///
/// `path` is a filesystem path of up to `sizeof(sun_path)` bytes (108 on
/// Linux, 104 on the BSDs and macOS; one that fills `sun_path` exactly is
/// passed without a NUL, which the kernels accept), or on Linux `@name`, the
/// abstract address `name` (up to 107 bytes), the form systemd's
/// `$NOTIFY_SOCKET` takes: `fdcred_sendto_fds(sock, getenv("NOTIFY_SOCKET"),
/// "FDSTORE=1", 9, fds, n)` hands descriptors to the service manager in one
/// call. A path that really begins with `@` is written with a directory in
/// front, `./@x`. On other OSes a leading `@` is `EINVAL`, so the same string
/// never names different sockets on different systems.
///
/// Same descriptors, ownership and thread-safety rules as `fdcred_send_fds`.
///
/// Returns the number of bytes sent, or -1 with `errno`: those of
/// `fdcred_send_fds`, and
/// - `EINVAL`: `path` is NULL, empty, or `@` alone; a leading `@` on an OS
///   without abstract addresses (any but Linux).
/// - `ENAMETOOLONG`: `path` does not fit in `sun_path`.
/// - `EOPNOTSUPP`: `sock` is not a Unix-domain socket, also with no
///   descriptors (the library checks it, where a UDP socket would answer
///   the Unix address with an address-family error).
/// - `ENOENT`, `ECONNREFUSED`: nothing is bound at `path` (no receiver yet;
///   `ECONNREFUSED` for an abstract name).
/// - `EACCES`: no write permission on the socket file.
/// - `EISCONN`: `sock` is a connected stream or seqpacket socket (a
///   connected datagram socket sends to `path` all the same).
/// - `EPROTOTYPE`: the socket bound at `path` is not a datagram socket.
///
/// # Safety
/// `path` must be NULL or a NUL-terminated string; `buf` and `fds` as for
/// `fdcred_send_fds`.
#[no_mangle]
pub unsafe extern "C" fn fdcred_sendto_fds(
    sock: c_int,
    path: *const libc::c_char,
    buf: *const c_void,
    len: usize,
    fds: *const c_int,
    nfds: usize,
) -> libc::ssize_t {
    boundary(|| {
        let sock = ptr::fd(sock)?;
        // SAFETY: the caller promises `path` is NULL or NUL-terminated.
        let path = unsafe { ptr::c_str(path) }?.to_bytes();
        // SAFETY: the caller promises `fds` holds `nfds` ints.
        let fds = unsafe { ptr::fds(fds, nfds) }?;
        // SAFETY: the caller promises `buf` holds `len` bytes.
        let data = unsafe { ptr::bytes(buf, len) }?;
        let dest = crate::addr::UnixAddr::new(path)?;
        Ok(crate::addr::send_to(sock, &dest, &[IoSlice::new(data)], fds)? as libc::ssize_t)
    })
}

/// Send a message: data from `msg->iov`, `msg->nfds` descriptors from
/// `msg->fds`, credentials when `flags` has `FDCRED_SEND_CRED`, to
/// `msg->addr` when it is not NULL.
///
/// `flags`: `FDCRED_NONBLOCK`, `FDCRED_SEND_CRED`, `FDCRED_NO_SOCKET_CHECK`
/// (skip the check that `sock` is a Unix-domain socket, for a caller that
/// knows it is; see the flag). The descriptors stay open in the caller;
/// `*msg` is not modified. Never raises `SIGPIPE`; `EINTR` is retried.
/// Thread-safe (on a shared `SOCK_STREAM` socket, see `fdcred_send_fds`).
///
/// Credentials (Linux `SCM_CREDENTIALS`): `msg->cred` NULL sends the
/// caller's own; otherwise its fields as `fdcred_send_cred` reads them (with
/// `known` 0, `pid`, `uid` and `gid` exactly as written). The kernel checks
/// them; a sender without `CAP_SETUID`/`CAP_SETGID`/`CAP_SYS_ADMIN` may
/// claim only its own pid and its real, effective or saved ids, else `EPERM`
/// and nothing is sent.
///
/// Partial writes on a stream: as for `fdcred_send_fds` (the descriptors and
/// credentials went with the first byte; send the rest without them;
/// `EAGAIN` sent nothing).
///
/// Returns the number of bytes sent, or -1 with `errno`: those of
/// `fdcred_send_fds` (`EOPNOTSUPP` for a socket that is not a Unix one only
/// without `FDCRED_NO_SOCKET_CHECK`), and
/// - `EINVAL`: `msg` is NULL; an unknown flag; a non-zero `reserved` word;
///   a NULL `iov`, `fds` or `addr` with a non-zero count or length; an `iov` entry with a NULL base and a
///   non-zero length; `iov` lengths adding up to more than `SSIZE_MAX`;
///   (Linux) claimed credentials with a uid or gid of -1 or one the
///   caller's user namespace does not map; with `FDCRED_SEND_CRED`, a bit in
///   `msg->cred->known` that no `FDCRED_CRED_*` constant defines.
/// - `EPERM`: credentials the sender may not claim.
/// - `ESRCH`: (Linux) a claimed pid that names no process, from a sender
///   allowed to claim other pids (pid 0 from a zero-filled `msg->cred`, sent
///   by a privileged process).
/// - `EMSGSIZE`: more than `IOV_MAX` entries in `iov` (nothing is sent); a
///   datagram too large.
///
/// # Safety
/// `msg` must be NULL or point to a valid `struct fdcred_msg` whose pointers
/// are valid for the counts and lengths beside them.
#[no_mangle]
pub unsafe extern "C" fn fdcred_sendmsg(sock: c_int, msg: *const fdcred_msg, flags: c_uint) -> libc::ssize_t {
    boundary(|| {
        let sock = ptr::fd(sock)?;
        // SAFETY: the caller promises `msg` is NULL or valid.
        let msg = unsafe { ptr::input(msg) }?;
        flags::check(flags, SEND_FLAGS)?;
        if msg.reserved != [0; 7] {
            return Err(err(libc::EINVAL));
        }
        // SAFETY: the caller promises `iov` holds `iovlen` iovecs, each
        // readable for its length.
        let data = unsafe { ptr::io_slices(msg.iov, msg.iovlen) }?;
        // SAFETY: the caller promises `fds` holds `nfds` ints.
        let fds = unsafe { ptr::fds(msg.fds, msg.nfds) }?;
        // SAFETY: the caller promises `addr` holds `addrlen` bytes (or is NULL with 0).
        let dest = unsafe { ptr::addr(msg.addr, msg.addrlen) }?;
        let cred = if flags & FDCRED_SEND_CRED == 0 {
            None
        } else {
            // SAFETY: the caller promises `cred` is NULL or valid.
            match unsafe { ptr::optional(msg.cred) } {
                Some(&c) => Some(CredSource::Claim(Credentials::from_c(c))),
                None => Some(CredSource::Own),
            }
        };
        let opts = SendOptions {
            fds,
            cred,
            dest,
            nonblocking: flags & FDCRED_NONBLOCK != 0,
            no_socket_check: flags & FDCRED_NO_SOCKET_CHECK != 0,
            interruptible: false, // the C ABI retries EINTR
        };
        Ok(send_msg(sock, data, &opts)? as libc::ssize_t)
    })
}

/// Receive a message: data into `msg->iov`, descriptors into `msg->fds` (up
/// to the capacity in `msg->nfds`), the source address into `msg->addr`,
/// credentials into `*msg->cred`, the sender's pidfd into `msg->pidfd`, and
/// what happened into `msg->result` (`FDCRED_MSG_*` bits).
///
/// `flags`: `FDCRED_NONBLOCK`, `FDCRED_NO_CLOEXEC`, `FDCRED_KEEP_PIDFD`.
///
/// A message whose descriptors did not all arrive is never passed off as
/// complete: with `FDCRED_MSG_CTRUNC` (kernel truncation) or
/// `FDCRED_MSG_FDS_OVERFLOW` (more than the capacity) in `result`, every
/// descriptor it carried has been closed and `msg->nfds` is 0; the data is
/// still returned. Received descriptors (and the pidfd) are owned by the
/// caller and close-on-exec unless `FDCRED_NO_CLOEXEC`. Credentials the
/// kernel synthesized (sent before `fdcred_allow_recv_cred`) are reported as
/// unknown, as are ids this process's user namespace does not map (Linux
/// reports them as the overflow id 65534; see `fdcred_peer_cred`); with
/// nothing left known, `FDCRED_MSG_CRED` stays clear. `EINTR` is retried.
/// Thread-safe.
///
/// Descriptors closed for the caller (by this and every receive call:
/// surplus, unexpected, of a truncated message) never make the call wait: a
/// socket among them has `SO_LINGER` turned off (`l_onoff` 0) before the
/// `close`, so a peer cannot send a TCP socket set to linger with data it
/// cannot deliver and block the receiver for the linger time. `l_onoff` 0,
/// not an abortive `{1, 0}`: the sender may still share that socket, and its
/// connection keeps its data and ends normally (what it shares is the
/// setting: its own last close no longer lingers). The limits: a sender that
/// keeps the socket could turn lingering back on between the library's
/// `setsockopt` and `close` and drop its own copy in that window; other
/// kinds of descriptor get a plain `close`, which can wait where the file's
/// owner decides (a file on a FUSE or network filesystem flushes to its
/// server); and the descriptors the kernel itself drops from a truncated
/// message (those past `RLIMIT_NOFILE`) are closed by the kernel as the
/// call returns, beyond the library's reach. Facing peers that may do any
/// of this, refuse descriptors altogether with `fdcred_refuse_fds`.
///
/// Returns the number of bytes received (0 at end of file on a stream; with
/// buffers of 0 bytes in all, a stream read returns 0 while the peer is
/// still there, taking only the next message's descriptors), or
/// -1 with `errno`; on failure nothing in `*msg` is written and no descriptor
/// is left open:
/// - `EINVAL`: `msg` is NULL; an unknown flag; a non-zero `reserved` word;
///   a NULL `iov`, `fds` or `addr` with a non-zero count or capacity; an `iov` entry with a NULL base and
///   a non-zero length; `iov` lengths adding up to more than `SSIZE_MAX`.
/// - `EMSGSIZE`: more than `IOV_MAX` entries in `iov` (nothing is consumed).
/// - `EBADMSG`: (NetBSD) the caller is at `RLIMIT_NOFILE`: the kernel could
///   not install the message's descriptors and closed them all; on a stream
///   the message's data stays queued for the next receive.
/// - `EOPNOTSUPP`: `sock` is not a Unix-domain socket (the bytes read are lost).
/// - `ENOTCONN`: no peer (an unconnected or listening socket).
/// - `EBADF`, `ENOTSOCK`, `EAGAIN`, `ECONNRESET`.
///
/// # Safety
/// `msg` must be NULL or point to a valid `struct fdcred_msg` whose pointers
/// are NULL or valid for writing the counts and capacities beside them.
#[no_mangle]
pub unsafe extern "C" fn fdcred_recvmsg(sock: c_int, msg: *mut fdcred_msg, flags: c_uint) -> libc::ssize_t {
    boundary(|| {
        let sock = ptr::fd(sock)?;
        // SAFETY: the caller promises `msg` is NULL or valid.
        let msg = unsafe { ptr::inout(msg) }?;
        flags::check(flags, RECV_FLAGS)?;
        if msg.reserved != [0; 7] {
            return Err(err(libc::EINVAL));
        }
        // SAFETY: the caller promises `iov` holds `iovlen` iovecs, each
        // writable for its length.
        let bufs = unsafe { ptr::io_slices_mut(msg.iov, msg.iovlen) }?;
        let capacity = msg.nfds.min(FDCRED_MAX_FDS);
        // SAFETY: the caller promises room for `nfds` >= `capacity` ints.
        let out = unsafe { ptr::slice_mut(msg.fds, capacity) }?;
        // SAFETY: the caller promises `addr` is writable for `addrlen` bytes (or NULL with 0).
        let addr = unsafe { ptr::addr_mut(msg.addr, msg.addrlen) }?;
        // SAFETY: the caller promises `cred` is NULL or writable.
        let cred_out = unsafe { ptr::optional_mut(msg.cred) };
        let opts = RecvOptions {
            nonblocking: flags & FDCRED_NONBLOCK != 0,
            cloexec: flags & FDCRED_NO_CLOEXEC == 0,
            max_fds: capacity,
            keep_pidfd: flags & FDCRED_KEEP_PIDFD != 0,
            interruptible: false, // the C ABI retries EINTR
        };
        let has_addr = addr.is_some();
        let mut received = Received::new();
        recv_msg_into(sock, bufs, addr, &opts, &mut received)?;
        let mut result = 0;
        if received.data_truncated {
            result |= FDCRED_MSG_DATA_TRUNC;
        }
        if received.control_truncated {
            result |= FDCRED_MSG_CTRUNC;
        }
        if received.fds_overflowed {
            result |= FDCRED_MSG_FDS_OVERFLOW;
        }
        if received.cred.is_some() {
            result |= FDCRED_MSG_CRED;
        }
        let bytes = received.bytes;
        let cred = received.cred;
        let addr_len = received.addr_len;
        let pidfd = received.pidfd.take();
        let count = received.fds.take_raw_fds(out).ok_or_else(|| err(libc::EMSGSIZE))?;
        // Nothing below can fail: the descriptors are the caller's from here.
        msg.nfds = count;
        if has_addr {
            msg.addrlen = addr_len as libc::socklen_t;
        }
        if let Some(cred_out) = cred_out {
            *cred_out = cred.map_or_else(fdcred_cred::unknown, Credentials::to_c);
        }
        msg.pidfd = match pidfd {
            Some(fd) => {
                result |= FDCRED_MSG_PIDFD;
                fd.into_raw_fd()
            }
            None => -1,
        };
        msg.result = result;
        Ok(bytes as libc::ssize_t)
    })
}
