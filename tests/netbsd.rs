//! NetBSD's credential and descriptor passing, as the library sees it, run by
//! scripts/test-netbsd on NetBSD 7.99 kernel code (a rumprun unikernel under
//! qemu: one process, pid 2, uid 0). Each test pits the library against a
//! peer that uses plain `sendmsg`/`recvmsg`/`getsockopt` (tests/net_support)
//! or checks what the kernel itself does, which the backend relies on:
//!
//! * `LOCAL_CREDS` set before the first write: one message with credentials
//!   on `SOCK_STREAM`/`SOCK_SEQPACKET`, every datagram on `SOCK_DGRAM`; an
//!   opt-in after the write is seen as no credentials, never made up;
//! * the handshake pair re-arms the one-shot option on a connected socket;
//! * `LOCAL_PEEREID` (level 0): pid, effective uid and gid;
//! * real and effective ids told apart after `setreuid`/`setregid`;
//! * descriptors and credentials in one message;
//! * `MSG_CTRUNC`, surplus descriptors, 253 descriptors, close-on-exec on
//!   every received descriptor, with the open-descriptor count unchanged;
//! * the documented errors: `ENOPROTOOPT` for groups, pidfds, labels and
//!   refusing descriptors, `EOPNOTSUPP` for a claimed identity.
#![cfg(target_os = "netbsd")]

mod net_support;

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixDatagram, UnixStream};

use fdcred::{
    allow_recv_cred, cred_handshake_receiver, cred_handshake_sender, peer_cred, recv_msg, send_msg, CredSource,
    Credentials, Received, RecvOptions, SendOptions, UnixSeqpacket, MAX_FDS,
};
use net_support::{close_all, open_fds, raw_recv, raw_send, same_file, serial};

/// A connected pair of each socket type, as owned descriptors.
fn pairs() -> [(OwnedFd, OwnedFd, &'static str); 3] {
    let (s1, s2) = UnixStream::pair().unwrap();
    let (d1, d2) = UnixDatagram::pair().unwrap();
    let (q1, q2) = UnixSeqpacket::pair().unwrap();
    [(s1.into(), s2.into(), "stream"), (d1.into(), d2.into(), "datagram"), (q1.into(), q2.into(), "seqpacket")]
}

fn is_dgram(kind: &str) -> bool {
    kind == "datagram"
}

/// `n` distinct open descriptors to send.
fn some_files(n: usize) -> Vec<OwnedFd> {
    (0..n).map(|_| UnixDatagram::unbound().unwrap().into()).collect()
}

/// `test` on a pair of each socket type, with `n` open descriptors to send
/// (borrowed and raw); the open-descriptor count must be the same after.
fn on_every_pair_with_files(n: usize, mut test: impl FnMut(&[BorrowedFd<'_>], &[RawFd], &OwnedFd, &OwnedFd, &str)) {
    let _serial = serial();
    let before = open_fds();
    {
        let files = some_files(n);
        let fds: Vec<_> = files.iter().map(AsFd::as_fd).collect();
        let raw_fds: Vec<RawFd> = files.iter().map(AsRawFd::as_raw_fd).collect();
        for (a, b, kind) in pairs() {
            test(&fds, &raw_fds, &a, &b, kind);
        }
    }
    assert_eq!(open_fds(), before, "descriptors leaked");
}

fn send(sock: &OwnedFd, data: &[u8], fds: &[BorrowedFd<'_>], cred: Option<CredSource>) -> io::Result<usize> {
    let opts = SendOptions { fds, cred, ..Default::default() };
    send_msg(sock.as_fd(), &[IoSlice::new(data)], &opts)
}

fn recv_with(sock: &OwnedFd, buf: &mut [u8], opts: &RecvOptions) -> io::Result<Received> {
    recv_msg(sock.as_fd(), &mut [IoSliceMut::new(buf)], None, opts)
}

fn recv(sock: &OwnedFd, buf: &mut [u8]) -> Received {
    recv_with(sock, buf, &RecvOptions::default()).expect("recv_msg")
}

/// pid, effective uid and gid, real uid and gid.
type Ids = (libc::pid_t, libc::uid_t, libc::gid_t, libc::uid_t, libc::gid_t);
/// The same, each `None` where unknown.
type KnownIds =
    (Option<libc::pid_t>, Option<libc::uid_t>, Option<libc::gid_t>, Option<libc::uid_t>, Option<libc::gid_t>);

/// This process's ids as the kernel attaches them to a message.
fn own_ids() -> Ids {
    // SAFETY: the id getters cannot fail.
    unsafe { (libc::getpid(), libc::geteuid(), libc::getegid(), libc::getuid(), libc::getgid()) }
}

fn ids_of(c: &Credentials) -> KnownIds {
    (c.pid(), c.uid(), c.gid(), c.real_uid(), c.real_gid())
}

fn all_known(ids: Ids) -> KnownIds {
    (Some(ids.0), Some(ids.1), Some(ids.2), Some(ids.3), Some(ids.4))
}

fn is_cloexec(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
    assert!(flags >= 0, "fcntl(F_GETFD) on fd {}: {}", fd.as_raw_fd(), io::Error::last_os_error());
    flags & libc::FD_CLOEXEC != 0
}

#[test]
fn local_creds_set_before_the_first_write_is_one_shot_on_stream_and_seqpacket_and_per_datagram() {
    let _serial = serial();
    let before = open_fds();
    for (a, b, kind) in pairs() {
        allow_recv_cred(b.as_fd()).unwrap();
        let mut buf = [0u8; 8];
        for round in 0..3 {
            // A plain write: the kernel attaches the credentials itself.
            assert_eq!(raw_send(a.as_raw_fd(), b"m", &[]), Ok(1), "{kind}: plain send {round}");
            let got = recv(&b, &mut buf);
            assert_eq!(got.bytes, 1, "{kind}: message {round}");
            match (round, is_dgram(kind)) {
                (0, _) | (_, true) => {
                    let cred = got.cred.unwrap_or_else(|| panic!("{kind}: message {round} has no credentials"));
                    assert_eq!(ids_of(&cred), all_known(own_ids()), "{kind}: message {round}");
                }
                _ => assert!(got.cred.is_none(), "{kind}: message {round} has credentials: the option is not one-shot"),
            }
        }
        // The library's own send (credentials: the sender's own) behaves the same.
        allow_recv_cred(b.as_fd()).unwrap();
        assert_eq!(send(&a, b"o", &[], Some(CredSource::Own)).unwrap(), 1);
        assert!(recv(&b, &mut buf).cred.is_some(), "{kind}: re-armed option, library sender");
    }
    assert_eq!(open_fds(), before, "descriptors leaked");
}

#[test]
fn an_opt_in_after_the_write_is_reported_as_no_credentials_and_the_next_message_has_them() {
    let _serial = serial();
    for (a, b, kind) in pairs() {
        assert_eq!(raw_send(a.as_raw_fd(), b"a", &[]), Ok(1));
        allow_recv_cred(b.as_fd()).unwrap();
        let mut buf = [0u8; 8];
        let late = recv(&b, &mut buf);
        assert_eq!((late.bytes, buf[0]), (1, b'a'), "{kind}");
        assert!(
            late.cred.is_none(),
            "{kind}: credentials reported for a message queued before the opt-in: {:?}",
            late.cred
        );
        assert_eq!(raw_send(a.as_raw_fd(), b"b", &[]), Ok(1));
        let next = recv(&b, &mut buf);
        assert_eq!(
            next.cred.map(|c| ids_of(&c)),
            Some(all_known(own_ids())),
            "{kind}: the first message after the opt-in"
        );
    }
}

#[test]
fn the_handshake_pair_re_arms_the_one_shot_option_on_a_connected_stream_and_seqpacket() {
    let _serial = serial();
    for (a, b, kind) in pairs() {
        if is_dgram(kind) {
            continue;
        }
        // The one-shot option is used up by a first message...
        allow_recv_cred(b.as_fd()).unwrap();
        assert_eq!(raw_send(a.as_raw_fd(), b"1", &[]), Ok(1));
        let mut buf = [0u8; 8];
        assert!(recv(&b, &mut buf).cred.is_some(), "{kind}: first message");
        // ...and each handshake arms it again for the next one.
        for round in 0..2 {
            let sender = std::thread::scope(|s| {
                let t = s.spawn(|| {
                    cred_handshake_sender(a.as_fd())?;
                    send(&a, b"after", &[], Some(CredSource::Own))
                });
                cred_handshake_receiver(b.as_fd()).unwrap();
                let got = recv(&b, &mut buf);
                assert_eq!(&buf[..got.bytes], b"after", "{kind}: round {round}");
                assert_eq!(got.cred.map(|c| ids_of(&c)), Some(all_known(own_ids())), "{kind}: round {round}");
                t.join().unwrap()
            });
            assert_eq!(sender.unwrap(), 5, "{kind}: round {round}");
        }
    }
}

#[test]
fn local_peereid_at_level_0_gives_pid_euid_egid_as_libc_reads_it() {
    let _serial = serial();
    let (a, b) = UnixStream::pair().unwrap();
    let cred = peer_cred(b.as_fd()).unwrap();
    let (pid, uid, gid, _, _) = own_ids();
    assert_eq!((cred.pid(), cred.uid(), cred.gid()), (Some(pid), Some(uid), Some(gid)));
    assert_eq!((cred.real_uid(), cred.real_gid()), (None, None), "LOCAL_PEEREID has no real ids");
    // The same option read with libc alone; at SOL_SOCKET it does not exist.
    let raw = |level| {
        // SAFETY: unpcbid is plain integers; all-zero is valid.
        let mut id: libc::unpcbid = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::unpcbid>() as libc::socklen_t;
        // SAFETY: `id` is writable for `len` bytes.
        let rc = unsafe {
            libc::getsockopt(
                a.as_raw_fd(),
                level,
                libc::LOCAL_PEEREID,
                (&mut id as *mut libc::unpcbid).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            Ok((id.unp_pid, id.unp_euid, id.unp_egid))
        } else {
            Err(io::Error::last_os_error().raw_os_error())
        }
    };
    assert_eq!(raw(0), Ok((pid, uid, gid)));
    assert_eq!(raw(libc::SOL_SOCKET), Err(Some(libc::ENOPROTOOPT)));
}

/// Restores the process's ids when dropped, so a failing assertion cannot
/// leave the rest of the tests running under other ids.
struct RestoreIds;

impl Drop for RestoreIds {
    fn drop(&mut self) {
        // SAFETY: plain id calls; the saved uid stayed 0, so this succeeds.
        let rc = unsafe { (libc::setreuid(u32::MAX, 0), libc::setregid(0, 0)) };
        assert_eq!(rc, (0, 0), "restoring uid/gid 0: {}", io::Error::last_os_error());
    }
}

#[test]
fn real_and_effective_ids_are_told_apart_after_setreuid_and_setregid() {
    let _serial = serial();
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIP: changing ids needs root (the unikernel runs as uid 0)");
        return;
    }
    let (a, b) = UnixDatagram::pair().unwrap();
    let b = OwnedFd::from(b);
    allow_recv_cred(b.as_fd()).unwrap();
    let restore = RestoreIds;
    // Real gid 1001, effective 1002; effective uid 1004 with the real (and
    // so the saved) uid left 0, so that the ids can be restored.
    // SAFETY: plain id calls, checked below.
    let rc = unsafe { (libc::setregid(1001, 1002), libc::setreuid(u32::MAX, 1004)) };
    assert_eq!(rc, (0, 0), "setregid/setreuid: {}", io::Error::last_os_error());
    let (_, euid, egid, ruid, rgid) = own_ids();
    assert_eq!((euid, egid, ruid, rgid), (1004, 1002, 0, 1001), "the ids did not change");
    assert_eq!(raw_send(a.as_raw_fd(), b"x", &[]), Ok(1));
    // A socket connected now records the new effective ids.
    let (c, d) = UnixStream::pair().unwrap();
    drop(restore);
    let mut buf = [0u8; 4];
    let cred = recv(&b, &mut buf).cred.expect("no credentials");
    // SAFETY: getpid cannot fail.
    let pid = unsafe { libc::getpid() };
    assert_eq!(ids_of(&cred), (Some(pid), Some(1004), Some(1002), Some(0), Some(1001)), "(pid, uid, gid, ruid, rgid)");
    let peer = peer_cred(d.as_fd()).unwrap();
    assert_eq!((peer.uid(), peer.gid()), (Some(1004), Some(1002)), "LOCAL_PEEREID of a pair made under the new ids");
    drop(c);
}

#[test]
fn fds_and_credentials_arrive_in_one_message_both_ways() {
    on_every_pair_with_files(2, |fds, _, a, b, kind| {
        // library -> library
        allow_recv_cred(b.as_fd()).unwrap();
        assert_eq!(send(a, b"f", fds, Some(CredSource::Own)).unwrap(), 1, "{kind}");
        let mut buf = [0u8; 4];
        let got = recv(b, &mut buf);
        assert_eq!(got.fds.len(), 2, "{kind}");
        assert!(same_file(got.fds.as_slice()[1].as_fd(), fds[1]), "{kind}");
        assert_eq!(got.cred.map(|c| ids_of(&c)), Some(all_known(own_ids())), "{kind}");
        // library -> plain receiver: both control messages in the one message
        allow_recv_cred(b.as_fd()).unwrap();
        assert_eq!(send(a, b"g", fds, Some(CredSource::Own)).unwrap(), 1, "{kind}");
        let raw = raw_recv(b.as_raw_fd(), &mut buf, 0).unwrap();
        assert_eq!((raw.bytes, raw.fds.len(), raw.flags & libc::MSG_CTRUNC), (1, 2, 0), "{kind}");
        close_all(&raw.fds);
        let types = cmsg_types(b, a, fds);
        assert_eq!(types, vec![(libc::SOL_SOCKET, libc::SCM_RIGHTS), (libc::SOL_SOCKET, libc::SCM_CREDS)], "{kind}");
    });
}

/// The (level, type) of each control message of one message `a` sends with
/// `fds` to `b`, with the credentials armed, read with libc's macros.
fn cmsg_types(b: &OwnedFd, a: &OwnedFd, fds: &[BorrowedFd<'_>]) -> Vec<(i32, i32)> {
    allow_recv_cred(b.as_fd()).unwrap();
    assert_eq!(send(a, b"h", fds, None).unwrap(), 1);
    let mut control = [0u64; 64];
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
    // SAFETY: zeroed msghdr is valid; the pointers below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` describes live buffers.
    assert_eq!(unsafe { libc::recvmsg(b.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) }, 1);
    let mut types = Vec::new();
    // SAFETY: walking the control data the kernel wrote, with libc's macros.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            types.push(((*c).cmsg_level, (*c).cmsg_type));
            if (*c).cmsg_type == libc::SCM_RIGHTS {
                let n = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                for i in 0..n {
                    drop(OwnedFd::from_raw_fd(libc::CMSG_DATA(c).cast::<RawFd>().add(i).read_unaligned()));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    types
}

#[test]
fn a_control_buffer_cut_short_sets_msg_ctrunc_and_the_library_leaves_no_fd_open() {
    on_every_pair_with_files(6, |_, raw_fds, a, b, kind| {
        // What NetBSD keeps: a plain receiver with room for 2 of 6 fds.
        assert_eq!(raw_send(a.as_raw_fd(), b"t", raw_fds), Ok(1));
        let open_before = open_fds();
        // SAFETY: CMSG_SPACE is a pure computation.
        let room = unsafe { libc::CMSG_SPACE(8) } as usize;
        let mut control = [0u64; 8];
        assert!(room < std::mem::size_of_val(&control));
        let mut byte = [0u8; 1];
        let mut iov = libc::iovec { iov_base: byte.as_mut_ptr().cast(), iov_len: 1 };
        // SAFETY: zeroed msghdr is valid; the pointers below outlive the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = room as _;
        // SAFETY: `msg` describes live buffers.
        let n = unsafe { libc::recvmsg(b.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        assert_eq!(n, 1, "{kind}: recvmsg: {}", io::Error::last_os_error());
        assert_ne!(msg.msg_flags & libc::MSG_CTRUNC, 0, "{kind}: no MSG_CTRUNC with room for 2 of 6 fds");
        let mut kept = Vec::new();
        // SAFETY: walking what the kernel wrote, with libc's macros (they
        // stay inside msg_controllen).
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            if !c.is_null() && (*c).cmsg_type == libc::SCM_RIGHTS {
                let len = ((*c).cmsg_len as usize).min(room);
                let n = (len - libc::CMSG_LEN(0) as usize) / 4;
                kept.extend((0..n).map(|i| libc::CMSG_DATA(c).cast::<RawFd>().add(i).read_unaligned()));
            }
        }
        let installed = open_fds() - open_before;
        println!(
            "{kind}: NetBSD 7.99 with room for 2 of 6 fds: MSG_CTRUNC, {} fds in the control data, {installed} new fds open",
            kept.len()
        );
        assert_eq!(installed, kept.len(), "{kind}: the kernel left fds open that the control data does not name");
        close_all(&kept);

        // The library: a receiver at its descriptor limit gets a message
        // it cannot take whole; it hands out nothing, says the message
        // is incomplete (or fails), and nothing stays open.
        assert_eq!(raw_send(a.as_raw_fd(), b"u", raw_fds), Ok(1));
        let limited = open_fds();
        let mut buf = [0u8; 4];
        // NetBSD fails the receive (EMSGSIZE, which the library reports
        // as EBADMSG: descriptors lost); never a message that looks whole.
        let at_limit = with_fd_limit(limited + 3, || recv_with(b, &mut buf, &RecvOptions::default()));
        match at_limit {
            Ok(got) => panic!("{kind}: a receive at the fd limit succeeded: {got:?}"),
            Err(e) => {
                println!("{kind}: the library at the fd limit: {e}");
                assert_eq!(e.raw_os_error(), Some(libc::EBADMSG), "{kind}: at the fd limit: {e}");
            }
        }
        assert_eq!(open_fds(), limited, "{kind}: fds left open by a receive at the limit");
        // The socket still works: a next message arrives with its fd
        // (after what NetBSD left of the first: it may keep its data
        // byte when it failed the receive).
        assert_eq!(raw_send(a.as_raw_fd(), b"v", &raw_fds[..1]), Ok(1));
        let (mut bytes, mut fds) = (Vec::new(), 0);
        loop {
            match recv_with(b, &mut buf, &RecvOptions { nonblocking: true, ..Default::default() }) {
                Ok(got) => {
                    bytes.extend_from_slice(&buf[..got.bytes]);
                    fds += got.fds.len();
                }
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => break,
                Err(e) => panic!("{kind}: receive after the limit: {e}"),
            }
        }
        println!("{kind}: then {:?} with {fds} fd(s)", String::from_utf8_lossy(&bytes));
        assert!(bytes.ends_with(b"v") && fds == 1, "{kind}: the message after: {bytes:?}, {fds} fds");
        assert_eq!(open_fds(), limited, "{kind}");
    });
}

/// Runs `f` with the soft `RLIMIT_NOFILE` at `limit`, then restores it.
fn with_fd_limit<T>(limit: usize, f: impl FnOnce() -> T) -> T {
    // SAFETY: getrlimit/setrlimit with a rlimit struct we own.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    let saved = lim;
    lim.rlim_cur = limit as libc::rlim_t;
    // SAFETY: as above.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    let out = f();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &saved) }, 0);
    out
}

#[test]
fn surplus_fds_are_all_closed_and_reported_on_every_socket_type() {
    on_every_pair_with_files(5, |_, raw_fds, a, b, kind| {
        for max_fds in [0, 1, 4] {
            assert_eq!(raw_send(a.as_raw_fd(), b"s", raw_fds), Ok(1));
            let counted = open_fds();
            let got = recv_with(b, &mut [0u8; 4], &RecvOptions { max_fds, ..Default::default() }).unwrap();
            assert!(got.fds_overflowed && got.fds.is_empty(), "{kind}: 5 fds, max_fds {max_fds}: {got:?}");
            assert_eq!(open_fds(), counted, "{kind}: surplus fds left open (max_fds {max_fds})");
        }
    });
}

#[test]
fn max_fds_253_arrive_each_close_on_exec_on_every_socket_type_and_254_are_refused() {
    on_every_pair_with_files(MAX_FDS, |fds, raw_fds, a, b, kind| {
        // libc -> library, close-on-exec (the default) on each one
        assert_eq!(raw_send(a.as_raw_fd(), b"m", raw_fds), Ok(1), "{kind}");
        let got = recv(b, &mut [0u8; 4]);
        assert!(got.fds.len() == MAX_FDS && !got.control_truncated && !got.fds_overflowed, "{kind}: {got:?}");
        for (i, fd) in got.fds.as_slice().iter().enumerate() {
            assert!(is_cloexec(fd.as_fd()), "{kind}: received fd {} (#{i}) without FD_CLOEXEC", fd.as_raw_fd());
        }
        assert!(same_file(got.fds.as_slice()[MAX_FDS - 1].as_fd(), fds[MAX_FDS - 1]), "{kind}");
        drop(got);
        // ...and without, when asked
        assert_eq!(raw_send(a.as_raw_fd(), b"m", &raw_fds[..3]), Ok(1), "{kind}");
        let opts = RecvOptions { cloexec: false, ..Default::default() };
        let got = recv_with(b, &mut [0u8; 4], &opts).unwrap();
        assert_eq!(got.fds.len(), 3, "{kind}");
        assert!(got.fds.as_slice().iter().all(|fd| !is_cloexec(fd.as_fd())), "{kind}: FD_CLOEXEC set when not asked");
        drop(got);
        // library -> libc
        assert_eq!(send(a, b"m", fds, None).unwrap(), 1, "{kind}");
        let raw = raw_recv(b.as_raw_fd(), &mut [0u8; 4], 0).unwrap();
        assert_eq!((raw.fds.len(), raw.flags & libc::MSG_CTRUNC), (MAX_FDS, 0), "{kind}");
        close_all(&raw.fds);
        // one more is refused before anything is sent
        let more = some_files(1);
        let mut too_many = fds.to_vec();
        too_many.push(more[0].as_fd());
        let err = send(a, b"m", &too_many, None).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{kind}: {} fds", MAX_FDS + 1);
        let nothing = recv_with(b, &mut [0u8; 4], &RecvOptions { nonblocking: true, ..Default::default() });
        assert_eq!(nothing.err().and_then(|e| e.raw_os_error()), Some(libc::EAGAIN), "{kind}: the refused send sent");
    });
}

#[test]
fn what_netbsd_lacks_is_enoprotoopt_and_a_claimed_identity_is_eopnotsupp_with_nothing_sent() {
    let _serial = serial();
    for (a, b, kind) in pairs() {
        let e = |r: io::Result<()>| r.unwrap_err().raw_os_error();
        assert_eq!(e(fdcred::peer_groups(b.as_fd(), &mut [0; 8]).map(drop)), Some(libc::ENOPROTOOPT), "{kind}: groups");
        assert_eq!(e(fdcred::peer_pidfd(b.as_fd()).map(drop)), Some(libc::ENOPROTOOPT), "{kind}: pidfd");
        assert_eq!(e(fdcred::peer_security(b.as_fd(), &mut [0; 64]).map(drop)), Some(libc::ENOPROTOOPT), "{kind}");
        assert_eq!(e(fdcred::allow_recv_pidfd(b.as_fd())), Some(libc::ENOPROTOOPT), "{kind}: allow_recv_pidfd");
        assert_eq!(e(fdcred::refuse_fds(b.as_fd())), Some(libc::ENOPROTOOPT), "{kind}: refuse_fds");

        allow_recv_cred(b.as_fd()).unwrap();
        let (pid, uid, gid, _, _) = own_ids();
        for claim in [Credentials::claim(pid, uid, gid), Credentials::unknown()] {
            let err = send(&a, b"c", &[], Some(CredSource::Claim(claim))).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EOPNOTSUPP), "{kind}: a claim: {err}");
        }
        let nothing = recv_with(&b, &mut [0u8; 4], &RecvOptions { nonblocking: true, ..Default::default() });
        assert_eq!(
            nothing.err().and_then(|e| e.raw_os_error()),
            Some(libc::EAGAIN),
            "{kind}: a refused claim sent data"
        );
    }
}

/// The harness itself: a panic unwinds in the unikernel (the unwind tables
/// scripts/netbsd/eh-frame-register.c registers are found), so a failing
/// assertion is reported as one failed test instead of aborting the image.
#[test]
fn a_panic_unwinds_and_is_caught() {
    let caught = std::panic::catch_unwind(|| panic!("deliberate"));
    assert!(caught.is_err());
}

#[test]
#[should_panic(expected = "deliberate")]
fn a_should_panic_test_passes_by_panicking() {
    panic!("deliberate");
}
