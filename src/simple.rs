//! The simple receives (`fdcred_recvfd`, `fdcred_recv_fds`,
//! `fdcred_recv_cred`): one [`recv_msg`](crate::msg::recv_msg) whose
//! descriptors arrive complete or not at all, with the errno rules those
//! calls document, so that the C-ABI layer only converts arguments.

use std::io::{self, IoSliceMut};
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};

use crate::msg::{recv_msg_into, Received, RecvOptions};
use crate::sys;
use crate::types::Credentials;

fn err(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

/// The simple calls' policy: a message whose descriptors are incomplete is a
/// failure (the core has already closed them), and so is a datagram or
/// seqpacket record longer than `buf` (`EMSGSIZE`; its descriptors are
/// closed with `received`): these calls have no way to say "cut", and the
/// first bytes of a record must not pass for the record. Receives into `received`
/// (fresh from `Received::new`) in place, so that nothing copies its
/// descriptor array.
#[inline(always)]
fn recv_complete(sock: BorrowedFd<'_>, buf: &mut [u8], max_fds: usize, received: &mut Received) -> io::Result<()> {
    let opts = RecvOptions { max_fds, ..Default::default() };
    recv_msg_into(sock, &mut [IoSliceMut::new(buf)], None, &opts, received)?;
    if received.control_truncated {
        return Err(err(libc::EBADMSG));
    }
    if received.fds_overflowed || received.data_truncated {
        return Err(err(libc::EMSGSIZE));
    }
    Ok(())
}

/// The simple receives refuse a read of no bytes on a stream: it returns 0,
/// which they document as end of file, while the peer may still be there
/// (and the kernel hands over the next message's descriptors with it).
fn refuse_empty_stream_read(sock: BorrowedFd<'_>, len: usize) -> io::Result<()> {
    if len == 0 && sys::socket_type(sock)? == libc::SOCK_STREAM {
        return Err(err(libc::EINVAL));
    }
    Ok(())
}

/// The errno for a message that lacked what the caller asked for: end of
/// file on a connection (`ECONNRESET`), or a message without it (`ENOMSG`).
fn missing(sock: BorrowedFd<'_>, bytes: usize) -> io::Error {
    if bytes != 0 {
        return err(libc::ENOMSG);
    }
    match sys::socket_type(sock) {
        Ok(libc::SOCK_DGRAM) => err(libc::ENOMSG),
        Ok(_) => err(libc::ECONNRESET),
        Err(e) => e,
    }
}

/// `fdcred_recvfd`: one byte and exactly one descriptor.
#[inline(always)]
pub(crate) fn recv_fd(sock: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut received = Received::new();
    recv_complete(sock, &mut byte, 1, &mut received)?;
    let fd = received.fds.drain().next();
    fd.ok_or_else(|| missing(sock, received.bytes))
}

/// `fdcred_recv_fds`: data into `buf` and at most `out.len()` descriptors
/// into `out`, handed over as raw fds. Returns the bytes and descriptors
/// received; on failure `out` holds nothing the caller owns.
#[inline(always)]
pub(crate) fn recv_fds(sock: BorrowedFd<'_>, buf: &mut [u8], out: &mut [RawFd]) -> io::Result<(usize, usize)> {
    refuse_empty_stream_read(sock, buf.len())?;
    let mut received = Received::new();
    recv_complete(sock, buf, out.len(), &mut received)?;
    let count = received.fds.take_raw_fds(out).ok_or_else(|| err(libc::EMSGSIZE))?;
    Ok((received.bytes, count))
}

/// `fdcred_recv_cred`: data into `buf` and the credentials the kernel
/// attached; a message with descriptors fails (they are closed).
#[inline(always)]
pub(crate) fn recv_cred(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Credentials)> {
    if !sys::MSG_CRED {
        // OpenBSD, macOS: no message can carry credentials; do not
        // consume one. The socket checks still come first.
        sys::socket_domain(sock)?;
        return Err(err(libc::EOPNOTSUPP));
    }
    refuse_empty_stream_read(sock, buf.len())?;
    let mut received = Received::new();
    recv_complete(sock, buf, 0, &mut received)?;
    match received.cred {
        Some(cred) => Ok((received.bytes, cred)),
        None => Err(missing(sock, received.bytes)),
    }
}
