//! The safe core of sending and receiving messages with descriptors and
//! credentials attached. No heap allocation happens here.

use core::mem::{self, MaybeUninit};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

use crate::cmsg::{self, Buf, Builder, Item};
use crate::sys::{self, MAX_FDS};
use crate::types::{CredSource, Credentials, FDCRED_CRED_DEFINED};

/// What to attach to a message, and how to send it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendOptions<'a> {
    /// Descriptors to pass (at most [`MAX_FDS`](crate::MAX_FDS)); they stay open here.
    pub fds: &'a [BorrowedFd<'a>],
    /// Credentials to attach, if any.
    pub cred: Option<CredSource>,
    /// Destination address (a `sockaddr` as bytes) for an unconnected
    /// datagram socket.
    pub dest: Option<&'a [u8]>,
    /// Fail with `EAGAIN` instead of blocking (`MSG_DONTWAIT`).
    pub nonblocking: bool,
    /// The caller vouches that `sock` is a Unix-domain socket: skip the
    /// `getsockopt` that refuses any other before descriptors or credentials
    /// are sent (one syscall per such message, 10-15% of a one-fd message).
    /// On a TCP or UDP socket the kernel then drops them silently, as it does
    /// for a plain `sendmsg`.
    pub no_socket_check: bool,
    /// Return `EINTR` when a signal interrupts the `sendmsg`, instead of
    /// retrying it (the default). Nothing was sent then, no descriptor
    /// either: for a caller that runs its own signal handling between
    /// attempts (Python's handlers, which may raise) and then sends again.
    pub interruptible: bool,
}

/// How to receive a message.
#[derive(Debug, Clone, Copy)]
pub struct RecvOptions {
    /// Fail with `EAGAIN` instead of blocking (`MSG_DONTWAIT`).
    pub nonblocking: bool,
    /// Give received descriptors close-on-exec (the default).
    pub cloexec: bool,
    /// The most descriptors the caller accepts. A message carrying more has
    /// all of them closed and [`Received::fds_overflowed`] set.
    pub max_fds: usize,
    /// Keep the `SCM_PIDFD` the kernel attached (see
    /// [`allow_recv_pidfd`](crate::allow_recv_pidfd)); otherwise it is closed.
    pub keep_pidfd: bool,
    /// Return `EINTR` when a signal interrupts the `recvmsg`, instead of
    /// retrying it (the default). No message was taken then, so it stays
    /// queued: for a caller that runs its own signal handling between
    /// attempts (Python's handlers, which may raise).
    pub interruptible: bool,
}

impl Default for RecvOptions {
    fn default() -> Self {
        RecvOptions { nonblocking: false, cloexec: true, max_fds: MAX_FDS, keep_pidfd: false, interruptible: false }
    }
}

/// Descriptors received in one message, owned: whatever is not taken out is
/// closed on drop. A fixed array, so receiving never allocates.
pub struct ReceivedFds {
    len: usize,
    slots: [MaybeUninit<OwnedFd>; MAX_FDS],
}

impl ReceivedFds {
    fn new() -> Self {
        ReceivedFds { len: 0, slots: [const { MaybeUninit::uninit() }; MAX_FDS] }
    }

    fn push(&mut self, fd: OwnedFd) -> Result<(), OwnedFd> {
        match self.slots.get_mut(self.len) {
            Some(slot) => {
                slot.write(fd);
                self.len += 1;
                Ok(())
            }
            None => Err(fd),
        }
    }

    /// Close every descriptor held, without waiting: a socket among them
    /// has its `SO_LINGER` turned off first, so that a peer cannot make the
    /// close block (see [`Received`]).
    pub fn clear(&mut self) {
        let len = mem::replace(&mut self.len, 0);
        for slot in &mut self.slots[..len] {
            // SAFETY: slots below the old `len` were initialised by `push`,
            // and `len` is already 0, so none is read twice.
            sys::close_unwanted(unsafe { slot.assume_init_read() });
        }
    }

    /// How many descriptors are held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The descriptors, in the order they were sent.
    pub fn as_slice(&self) -> &[OwnedFd] {
        // SAFETY: the first `len` slots are initialised; MaybeUninit<T> has
        // T's layout.
        unsafe { core::slice::from_raw_parts(self.slots.as_ptr().cast(), self.len) }
    }

    /// Hand every descriptor over as raw fds written to `out`, which must
    /// have room for all of them; returns how many were written. Ownership
    /// passes to whoever reads `out`.
    ///
    /// Returns `None` when `out` is too small; the descriptors are then
    /// closed (they are dropped with `self`), none is handed out.
    pub fn into_raw_fds(mut self, out: &mut [RawFd]) -> Option<usize> {
        self.take_raw_fds(out)
    }

    /// [`into_raw_fds`](Self::into_raw_fds) in place: moving a
    /// `ReceivedFds` copies its whole array (1 KiB on Linux), which the C
    /// entry points avoid. Leaves `self` empty when it returns `Some`.
    pub(crate) fn take_raw_fds(&mut self, out: &mut [RawFd]) -> Option<usize> {
        let len = self.len;
        let dest = out.get_mut(..len)?;
        self.len = 0;
        for (slot, raw) in self.slots[..len].iter().zip(dest) {
            // SAFETY: slots below the old `len` are initialised; `len` is now
            // 0 so Drop will not close what is handed out here.
            *raw = IntoRawFd::into_raw_fd(unsafe { slot.assume_init_read() });
        }
        Some(len)
    }

    /// Take the descriptors out one by one. Those the iterator does not
    /// yield are closed when it is dropped (as by [`clear`](Self::clear)).
    pub fn drain(&mut self) -> Drain<'_> {
        let len = mem::replace(&mut self.len, 0);
        Drain { slots: &mut self.slots[..len], next: 0 }
    }
}

/// Iterator returned by [`ReceivedFds::drain`].
pub struct Drain<'a> {
    slots: &'a mut [MaybeUninit<OwnedFd>],
    next: usize,
}

impl Iterator for Drain<'_> {
    type Item = OwnedFd;

    fn next(&mut self) -> Option<OwnedFd> {
        let slot = self.slots.get(self.next)?;
        self.next += 1;
        // SAFETY: every slot of `slots` is initialised and read at most once
        // (`next` only grows); the owner's `len` is already 0.
        Some(unsafe { slot.assume_init_read() })
    }
}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        for fd in self.by_ref() {
            sys::close_unwanted(fd);
        }
    }
}

impl Drop for ReceivedFds {
    fn drop(&mut self) {
        self.clear();
    }
}

impl core::fmt::Debug for ReceivedFds {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// What one receive delivered.
///
/// Every descriptor the library closes for the caller (beyond
/// [`RecvOptions::max_fds`], of a truncated message, left in [`fds`](Self::fds)
/// when it is dropped) is closed without waiting: a socket has `SO_LINGER`
/// turned off first (`l_onoff` 0, which keeps its queued data and resets no
/// connection), so a peer that sends a lingering TCP socket with unsendable
/// data cannot block the receiver for its linger time. Other kinds of
/// descriptor get a plain `close`, which can still wait where the file's
/// owner decides: a file on a FUSE or network filesystem flushes to its
/// server; and those the kernel itself drops from a truncated message are
/// closed by the kernel. Against peers that may send such things, refuse
/// descriptors altogether ([`refuse_fds`](crate::refuse_fds)).
#[derive(Debug)]
pub struct Received {
    /// Data bytes written into the buffers.
    pub bytes: usize,
    /// The datagram was longer than the buffers (`MSG_TRUNC`); the rest is lost.
    pub data_truncated: bool,
    /// The kernel truncated the control data (`MSG_CTRUNC`): typically the
    /// receiver hit `RLIMIT_NOFILE` or an LSM refused a descriptor. Every
    /// descriptor of the message has been closed; `fds` is empty.
    pub control_truncated: bool,
    /// The message carried more descriptors than
    /// [`RecvOptions::max_fds`]; every one has been closed; `fds` is empty.
    pub fds_overflowed: bool,
    /// The descriptors, complete, or empty when either flag above is set.
    pub fds: ReceivedFds,
    /// Credentials the kernel attached, when at least one field is known
    /// (ids the receiver's user namespace does not map are unknown; see
    /// [`Credentials`]).
    pub cred: Option<Credentials>,
    /// The sender's pidfd, when the kernel attached one and
    /// [`RecvOptions::keep_pidfd`] asked for it.
    pub pidfd: Option<OwnedFd>,
    /// Length of the source address written into the address buffer.
    pub addr_len: usize,
}

/// Own a descriptor found in `SCM_RIGHTS`, keeping it when there is room.
/// Called once per descriptor (253 times for a full message), so it is kept
/// small enough to inline into the parser's loop.
#[inline(always)]
fn take_fd(received: &mut Received, raw: RawFd, max_fds: usize, cloexec: bool) {
    // SAFETY: the kernel installed `raw` in our table for this message;
    // nothing else refers to it. Owning it here is what makes every path
    // below close it.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    if cloexec {
        sys::set_cloexec_after_recv(&fd);
    }
    let unwanted = if received.fds.len() >= max_fds { Some(fd) } else { received.fds.push(fd).err() };
    if let Some(fd) = unwanted {
        received.fds_overflowed = true;
        sys::close_unwanted(fd);
    }
}

/// Every item that is not a descriptor of `SCM_RIGHTS` (at most a few per
/// message), kept out of line so that [`take_fd`]'s loop stays tight.
#[inline(never)]
fn take_other(received: &mut Received, item: Item, opts: &RecvOptions) {
    match item {
        Item::Fd(raw) => take_fd(received, raw, opts.max_fds.min(MAX_FDS), opts.cloexec),
        Item::PidFd(raw) => {
            // SAFETY: a fresh descriptor the kernel installed for us alone;
            // owning it here closes it unless it is kept.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            if opts.keep_pidfd && received.pidfd.is_none() {
                received.pidfd = Some(fd);
            }
        }
        Item::Cred(cred) => {
            if received.cred.is_none() && cred.known != 0 {
                received.cred = Some(Credentials(cred));
            }
        }
        Item::Other | Item::Malformed => {}
    }
}

/// Whether a message with this much data can carry ancillary data on `sock`:
/// a stream drops control data sent with no byte, so refuse that up front.
/// Sending descriptors through a socket that is not a Unix one would drop
/// them silently (TCP and UDP ignore `SCM_RIGHTS`), so refuse that too,
/// unless the caller vouched for the socket (`check_domain` false).
///
/// The whole send and receive paths are inlined into each C entry point, down
/// to the libc call: profiling found that each Rust frame still open across
/// the syscall cost a few nanoseconds on its return (the return-address
/// predictor does not survive the kernel here), together 5-10% of the
/// cheapest calls.
#[inline(always)]
fn check_ancillary_target(sock: BorrowedFd<'_>, data_len: usize, check_domain: bool) -> io::Result<()> {
    if check_domain && sys::socket_domain(sock)? != libc::AF_UNIX {
        return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
    }
    if data_len == 0 && sys::socket_type(sock)? == libc::SOCK_STREAM {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    Ok(())
}

/// Send `data` with the descriptors and credentials in `opts` in one
/// `sendmsg`. Returns the number of data bytes sent; on a stream socket a
/// short count is possible (as with `send`; non-blocking, when the buffer
/// fills part-way), and the ancillary data went with the first byte: send
/// the rest *without* it, or the peer gets the descriptors twice. An error
/// (`EAGAIN` included) means nothing was sent, no descriptor either.
///
/// Errors: `EINVAL` (more than [`MAX_FDS`](crate::MAX_FDS) descriptors; descriptors or
/// credentials with no data byte on a stream; a [`CredSource::Claim`] with
/// a `known` bit no `FDCRED_CRED_*` constant defines), `EOPNOTSUPP` (descriptors or
/// credentials on a socket that is not a Unix one, unless
/// [`SendOptions::no_socket_check`]), and whatever `sendmsg`
/// reports: `EBADF`, `ENOTSOCK`, `EPIPE` (never a `SIGPIPE`), `EAGAIN`,
/// `EPERM` (credentials the sender may not claim), `ESRCH` (a claimed pid
/// that names no process), `ETOOMANYREFS`, ...; `EINTR` is retried unless
/// [`SendOptions::interruptible`].
#[inline(always)]
pub fn send_msg(sock: BorrowedFd<'_>, data: &[IoSlice<'_>], opts: &SendOptions<'_>) -> io::Result<usize> {
    if opts.fds.len() > MAX_FDS {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    if let Some(CredSource::Claim(claim)) = opts.cred {
        if claim.0.known & !FDCRED_CRED_DEFINED != 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
    }
    let mut control = Buf::<{ sys::SEND_CONTROL_LEN }>::new();
    let mut builder = Builder::new(&mut control);
    if !opts.fds.is_empty() || opts.cred.is_some() {
        check_ancillary_target(sock, data.iter().map(|s| s.len()).sum(), !opts.no_socket_check)?;
    }
    if !opts.fds.is_empty() {
        // SAFETY: BorrowedFd is repr(transparent) over RawFd.
        let raw: &[RawFd] = unsafe { core::slice::from_raw_parts(opts.fds.as_ptr().cast(), opts.fds.len()) };
        builder.push_fds(raw).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
    }
    if let Some(source) = opts.cred {
        if let Some(cred) = sys::cred_attachment(source)? {
            builder
                .push(cred.level, cred.kind, cred.payload())
                .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOBUFS))?;
        }
    }
    // SAFETY: msghdr is plain data (pointers and integers; padding on musl);
    // all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    if let Some(dest) = opts.dest {
        msg.msg_name = dest.as_ptr() as *mut libc::c_void;
        msg.msg_namelen = dest.len() as libc::socklen_t;
    }
    // IoSlice is guaranteed ABI-compatible with iovec on Unix.
    msg.msg_iov = data.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = data.len() as _;
    msg.msg_controllen = builder.len() as _;
    msg.msg_control = builder.control_ptr();
    // SAFETY: every pointer in `msg` refers to a live buffer of the stated
    // length for the duration of the call (dest, data, control).
    unsafe { sys::sendmsg(sock, &msg, opts.nonblocking, opts.interruptible) }
}

/// Receive one message into `bufs`, taking ownership of every descriptor
/// and reading the credentials and pidfd the kernel attached.
///
/// A message whose descriptors are incomplete (control data truncated by the
/// kernel, or more descriptors than `opts.max_fds`) comes back with *no*
/// descriptors and a flag saying why, so it cannot be mistaken for a complete
/// one. `addr`, if given, receives the source address.
///
/// Errors: `EOPNOTSUPP` (not a Unix-domain socket; found after the read when
/// the message carried no control data, and the bytes read are discarded),
/// `ENOTCONN` (a listening socket, for which Linux says `EINVAL`), and
/// whatever `recvmsg` reports (`EAGAIN`, `EBADF`,
/// `ENOTSOCK`, ...); `EINTR` is retried unless [`RecvOptions::interruptible`].
pub fn recv_msg(
    sock: BorrowedFd<'_>,
    bufs: &mut [IoSliceMut<'_>],
    addr: Option<&mut [u8]>,
    opts: &RecvOptions,
) -> io::Result<Received> {
    let mut received = Received::new();
    recv_msg_into(sock, bufs, addr, opts, &mut received)?;
    Ok(received)
}

impl Received {
    /// Nothing received yet: the state [`recv_msg_into`] starts from.
    pub(crate) fn new() -> Self {
        Received {
            bytes: 0,
            data_truncated: false,
            control_truncated: false,
            fds_overflowed: false,
            fds: ReceivedFds::new(),
            cred: None,
            pidfd: None,
            addr_len: 0,
        }
    }
}

/// [`recv_msg`] writing into `received` (fresh from [`Received::new`]) in
/// place. `Received` holds a full descriptor array, so each move of it copies
/// about 1 KiB: the C entry points receive through this to copy nothing. On
/// failure `received` holds no descriptor.
#[inline(always)]
pub(crate) fn recv_msg_into(
    sock: BorrowedFd<'_>,
    bufs: &mut [IoSliceMut<'_>],
    addr: Option<&mut [u8]>,
    opts: &RecvOptions,
    received: &mut Received,
) -> io::Result<()> {
    let result = recv_msg_in_place(sock, bufs, addr, opts, received);
    if result.is_err() {
        received.fds.clear();
        received.pidfd = None;
        received.cred = None;
    }
    result
}

#[inline(always)]
fn recv_msg_in_place(
    sock: BorrowedFd<'_>,
    bufs: &mut [IoSliceMut<'_>],
    addr: Option<&mut [u8]>,
    opts: &RecvOptions,
    received: &mut Received,
) -> io::Result<()> {
    debug_assert!(received.fds.is_empty() && received.pidfd.is_none());
    let mut control = Buf::<{ sys::RECV_CONTROL_LEN }>::new();
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    if let Some(addr) = addr {
        msg.msg_name = addr.as_mut_ptr().cast();
        msg.msg_namelen = addr.len() as libc::socklen_t;
    }
    // IoSliceMut is guaranteed ABI-compatible with iovec on Unix.
    msg.msg_iov = bufs.as_mut_ptr().cast();
    msg.msg_iovlen = bufs.len() as _;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = control.capacity() as _;
    // SAFETY: every pointer in `msg` refers to a live writable buffer of the
    // stated length for the duration of the call.
    let bytes = match unsafe { sys::recvmsg(sock, &mut msg, opts.nonblocking, opts.cloexec, opts.interruptible) } {
        Ok(bytes) => bytes,
        // Linux reads a listening stream socket as "invalid argument"; the
        // caller's arguments were fine, the socket has no peer.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) && sys::is_listening(sock).unwrap_or(false) => {
            return Err(io::Error::from_raw_os_error(libc::ENOTCONN));
        }
        Err(e) => return Err(e),
    };

    let control_len = (msg.msg_controllen as usize).min(control.capacity());
    if control_len == 0 && sys::socket_domain(sock)? != libc::AF_UNIX {
        // Checked only here, off the path of messages that carry control
        // data, because the check costs a syscall; the bytes read are lost,
        // which is what reading a TCP socket as a Unix one deserves.
        return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
    }
    // SAFETY: the kernel wrote the first msg_controllen bytes (clamped to the
    // buffer, for kernels that report more than they copied).
    let control_bytes = unsafe { control.initialised(control_len) };
    received.bytes = bytes;
    received.data_truncated = msg.msg_flags & libc::MSG_TRUNC != 0;
    received.control_truncated = msg.msg_flags & libc::MSG_CTRUNC != 0;
    received.addr_len = msg.msg_namelen as usize;
    let max_fds = opts.max_fds.min(MAX_FDS);
    cmsg::parse(control_bytes, |item| match item {
        Item::Fd(raw) => take_fd(received, raw, max_fds, opts.cloexec),
        other => take_other(received, other, opts),
    });
    if received.control_truncated || received.fds_overflowed {
        received.fds.clear();
    }
    if received.cred.is_some() && bytes == 0 && !received.data_truncated && sys::socket_type(sock)? == libc::SOCK_STREAM
    {
        // A stream read of zero bytes is end of file: no sender stands behind
        // it, yet Linux attaches a zeroed SCM_CREDENTIALS (uid 0!) to it.
        received.cred = None;
    }
    Ok(())
}
