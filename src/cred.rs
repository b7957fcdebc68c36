//! Credentials the kernel vouches for: the type both sides of the C boundary
//! share, and the per-connection queries and per-socket opt-ins.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{BorrowedFd, OwnedFd};

use crate::msg::{recv_msg, send_msg, RecvOptions, SendOptions};
use crate::sys;

/// `fdcred_cred.pid` is valid.
pub const FDCRED_CRED_PID: u32 = 1 << 0;
/// `fdcred_cred.uid` is valid.
pub const FDCRED_CRED_UID: u32 = 1 << 1;
/// `fdcred_cred.gid` is valid.
pub const FDCRED_CRED_GID: u32 = 1 << 2;
/// `fdcred_cred.ruid` is valid.
pub const FDCRED_CRED_RUID: u32 = 1 << 3;
/// `fdcred_cred.rgid` is valid.
pub const FDCRED_CRED_RGID: u32 = 1 << 4;

/// The identity of a process, as the kernel reported it.
///
/// Each field is meaningful only when its `FDCRED_CRED_*` bit is set in
/// `known`; an unknown field holds -1 (`(pid_t)-1`, `(uid_t)-1`,
/// `(gid_t)-1`), a value no process can have, so a check such as
/// `cred.uid == 0` can never pass on an unknown field.
///
/// * `uid`/`gid`: the identity the kernel vouches for. From a peer query
///   (`fdcred_peer_cred`) they are the effective ids the peer had when it
///   connected (or called `socketpair`). From a message (`fdcred_recv_cred`)
///   on Linux they are the ids the sender asserted, which the kernel checked
///   to be one of its real, effective or saved ids (any ids for a sender with
///   `CAP_SETUID`/`CAP_SETGID`); by default they are the sender's real ids.
/// * `ruid`/`rgid`: the real ids, on OSes that report them apart from the
///   effective ones (never on Linux).
/// * `pid`: unknown when the peer is in a pid namespace the receiver cannot
///   see, and on OSes that do not report it. A pid can be reused once the
///   process exits: use `fdcred_peer_pidfd` to name a process without that race.
///
/// ABI: the struct is 64 bytes and stays so for the whole major version. New
/// fields take the place of `reserved` words and come with a new `known`
/// bit; the library writes zeros to `reserved` and ignores it on input.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct fdcred_cred {
    /// `FDCRED_CRED_*` bits naming the valid fields.
    pub known: u32,
    /// Process id, or -1.
    pub pid: libc::pid_t,
    /// The user id the kernel vouches for (see above), or `(uid_t)-1`.
    pub uid: libc::uid_t,
    /// The group id the kernel vouches for, or `(gid_t)-1`.
    pub gid: libc::gid_t,
    /// The real user id where the OS reports it separately, or `(uid_t)-1`.
    pub ruid: libc::uid_t,
    /// The real group id where the OS reports it separately, or `(gid_t)-1`.
    pub rgid: libc::gid_t,
    /// Zero; room for fields added in later minor versions.
    pub reserved: [u32; 10],
}

const _: () = assert!(core::mem::size_of::<fdcred_cred>() == 64);

impl fdcred_cred {
    /// A credential with nothing known.
    pub const fn unknown() -> Self {
        fdcred_cred {
            known: 0,
            pid: -1,
            uid: libc::uid_t::MAX,
            gid: libc::gid_t::MAX,
            ruid: libc::uid_t::MAX,
            rgid: libc::gid_t::MAX,
            reserved: [0; 10],
        }
    }

    /// A credential claiming the given pid, uid and gid (for sending).
    pub const fn claim(pid: libc::pid_t, uid: libc::uid_t, gid: libc::gid_t) -> Self {
        let mut c = Self::unknown();
        c.pid = pid;
        c.uid = uid;
        c.gid = gid;
        c.known = FDCRED_CRED_PID | FDCRED_CRED_UID | FDCRED_CRED_GID;
        c
    }

    fn field<T: Copy>(&self, bit: u32, value: T) -> Option<T> {
        (self.known & bit != 0).then_some(value)
    }

    /// The process id, when known.
    pub fn pid(&self) -> Option<libc::pid_t> {
        self.field(FDCRED_CRED_PID, self.pid)
    }

    /// The user id the kernel vouches for, when known.
    pub fn uid(&self) -> Option<libc::uid_t> {
        self.field(FDCRED_CRED_UID, self.uid)
    }

    /// The group id the kernel vouches for, when known.
    pub fn gid(&self) -> Option<libc::gid_t> {
        self.field(FDCRED_CRED_GID, self.gid)
    }

    /// The real user id, when the OS reports it separately.
    pub fn ruid(&self) -> Option<libc::uid_t> {
        self.field(FDCRED_CRED_RUID, self.ruid)
    }

    /// The real group id, when the OS reports it separately.
    pub fn rgid(&self) -> Option<libc::gid_t> {
        self.field(FDCRED_CRED_RGID, self.rgid)
    }
}

impl Default for fdcred_cred {
    fn default() -> Self {
        Self::unknown()
    }
}

/// Which identity a sent message claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredSource {
    /// The sender's own pid, real uid and real gid.
    Own,
    /// The fields marked known in the credential; the rest are the sender's
    /// own. The kernel refuses (`EPERM`) ids the sender may not claim.
    Claim(fdcred_cred),
}

/// The identity of the process at the other end of a connected Unix socket,
/// recorded by the kernel at `connect`/`accept`/`socketpair` time.
///
/// Errors: `ENOTCONN` (no connected peer: an unconnected or `connect()`ed
/// datagram socket, a listening socket), `EOPNOTSUPP` (not a Unix socket),
/// `EBADF`, `ENOTSOCK`.
#[inline(always)]
pub fn peer_cred(sock: BorrowedFd<'_>) -> io::Result<fdcred_cred> {
    sys::peer_cred(sock, sys::ListenerCheck::Refuse)
}

/// [`peer_cred`] for a caller that vouches `sock` is connected (it came from
/// `accept`, `connect` or `socketpair`): skips the `getsockopt` that refuses
/// a listening socket, which would otherwise report whoever called `listen`
/// as its peer. Half the cost of [`peer_cred`] on Linux. Every other check
/// stays: a socket with no peer recorded, or not a Unix one, still fails.
#[inline(always)]
pub fn peer_cred_no_socket_check(sock: BorrowedFd<'_>) -> io::Result<fdcred_cred> {
    sys::peer_cred(sock, sys::ListenerCheck::Skip)
}

/// The supplementary groups of the peer. With an empty `groups`, returns how
/// many there are; otherwise fills `groups` and returns the count, or
/// `ERANGE` when it is too small.
pub fn peer_groups(sock: BorrowedFd<'_>, groups: &mut [libc::gid_t]) -> io::Result<usize> {
    sys::peer_groups(sock, groups)
}

/// A pidfd naming the peer process (close-on-exec), immune to pid reuse.
/// `ENOPROTOOPT` where the kernel lacks `SO_PEERPIDFD` (Linux before 6.5).
pub fn peer_pidfd(sock: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    sys::peer_pidfd(sock)
}

/// The peer's security label (LSM context) as bytes. With an empty `label`,
/// returns its length; `ERANGE` when `label` is too small; `ENOPROTOOPT`
/// when no LSM provides labels.
pub fn peer_security(sock: BorrowedFd<'_>, label: &mut [u8]) -> io::Result<usize> {
    sys::peer_security(sock, label)
}

/// Ask the kernel to attach the sender's credentials to every message this
/// socket receives from now on. On a listening socket it covers the
/// connections it accepts; enable it before the peer sends.
pub fn allow_recv_cred(sock: BorrowedFd<'_>) -> io::Result<()> {
    sys::allow_recv_cred(sock)
}

/// Ask the kernel to attach a pidfd of the sender to every message this
/// socket receives (`SO_PASSPIDFD`, Linux 6.5+; `ENOPROTOOPT` before).
pub fn allow_recv_pidfd(sock: BorrowedFd<'_>) -> io::Result<()> {
    sys::allow_recv_pidfd(sock)
}

/// Make the kernel refuse descriptors sent to this socket
/// (`SO_PASSRIGHTS=0`, Linux 6.16+; `ENOPROTOOPT` before).
pub fn refuse_fds(sock: BorrowedFd<'_>) -> io::Result<()> {
    sys::refuse_fds(sock)
}

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
    sys::allow_recv_cred(sock)?;
    let sent = send_msg(sock, &[IoSlice::new(&[FDCRED_CRED_HANDSHAKE_BYTE])], &SendOptions::default())?;
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
    let mut byte = [0u8; 1];
    let opts = RecvOptions { max_fds: 0, ..Default::default() };
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
