//! The credentials handshake: the receiver opts in to per-message
//! credentials and then sends one "go on" byte; the sender waits for it, so
//! that its next message is queued after the opt-in. Built on [`send_msg`]
//! and [`recv_msg`].

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::BorrowedFd;

use crate::msg::{recv_msg, send_msg, RecvOptions, SendOptions};
use crate::peer::allow_recv_cred;
use crate::sys;

/// The data byte `fdcred_cred_handshake_receiver` sends as its "go on"
/// (ASCII ACK). A peer that does not use the library sends or expects
/// exactly this one byte.
pub const FDCRED_CRED_HANDSHAKE_BYTE: u8 = 0x06;

/// Receiver's half of the credentials handshake: opt in to per-message
/// credentials ([`allow_recv_cred`]), then send the one-byte "go on"
/// ([`FDCRED_CRED_HANDSHAKE_BYTE`]). Once the peer has read it, every message it
/// sends is queued after the opt-in, so it carries credentials (on NetBSD
/// streams, the first one does).
///
/// Errors: those of [`allow_recv_cred`] (`EOPNOTSUPP` on OpenBSD and macOS,
/// which have no per-message credentials) and of [`send_msg`].
pub fn cred_handshake_receiver(sock: BorrowedFd<'_>) -> io::Result<()> {
    handshake_receiver(sock, false)
}

/// [`cred_handshake_receiver`] returning `EINTR` when a signal interrupts
/// its send (see [`SendOptions::interruptible`]): the byte was not sent, the
/// opt-in was made, and calling it again is harmless.
pub fn cred_handshake_receiver_interruptible(sock: BorrowedFd<'_>) -> io::Result<()> {
    handshake_receiver(sock, true)
}

fn handshake_receiver(sock: BorrowedFd<'_>, interruptible: bool) -> io::Result<()> {
    allow_recv_cred(sock)?;
    let opts = SendOptions { interruptible, ..Default::default() };
    let sent = send_msg(sock, &[IoSlice::new(&[FDCRED_CRED_HANDSHAKE_BYTE])], &opts)?;
    if sent != 1 {
        return Err(io::Error::from_raw_os_error(libc::EIO));
    }
    Ok(())
}

/// Sender's half of the credentials handshake: read the receiver's one-byte
/// "go on", after which messages sent on `sock` carry credentials.
///
/// Errors: `ECONNRESET` (end of file before the byte), `EPROTO` (another
/// byte, more than one byte in a datagram, an empty datagram, or
/// descriptors attached, which are closed), and those of [`recv_msg`]
/// (`EAGAIN` on a non-blocking socket with nothing queued yet).
pub fn cred_handshake_sender(sock: BorrowedFd<'_>) -> io::Result<()> {
    handshake_sender(sock, false)
}

/// [`cred_handshake_sender`] returning `EINTR` when a signal interrupts its
/// wait (see [`RecvOptions::interruptible`]): nothing was read, the "go on"
/// stays queued for the next call.
pub fn cred_handshake_sender_interruptible(sock: BorrowedFd<'_>) -> io::Result<()> {
    handshake_sender(sock, true)
}

fn handshake_sender(sock: BorrowedFd<'_>, interruptible: bool) -> io::Result<()> {
    let mut byte = [0u8; 1];
    let opts = RecvOptions { max_fds: 0, interruptible, ..Default::default() };
    let received = recv_msg(sock, &mut [IoSliceMut::new(&mut byte)], None, &opts)?;
    let proto = || io::Error::from_raw_os_error(libc::EPROTO);
    if received.fds_overflowed || received.control_truncated || received.data_truncated {
        return Err(proto());
    }
    if received.bytes == 0 {
        return match sys::socket_type(sock)? {
            libc::SOCK_DGRAM => Err(proto()),
            _ => Err(io::Error::from_raw_os_error(libc::ECONNRESET)),
        };
    }
    if byte[0] != FDCRED_CRED_HANDSHAKE_BYTE {
        return Err(proto());
    }
    Ok(())
}
