//! The std socket API (`UnixSocketExt` on `UnixStream`, `UnixDatagram`,
//! `UnixSeqpacket`) against peers that use plain libc `sendmsg`/`recvmsg`:
//! stream semantics, 253-fd messages, truncation, credentials, no heap
//! allocation, and the open-descriptor count unchanged after each test.
mod net_support;

use std::io::{IoSliceMut, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixDatagram, UnixStream};

use fdcred::{CredSource, RecvOptions, SendOptions, UnixSeqpacket, UnixSeqpacketListener, UnixSocketExt, MAX_FDS};
use net_support::{close_all, open_fds, raw_recv, raw_send, same_file, serial};

#[global_allocator]
static ALLOC: net_support::alloc::Counting = net_support::alloc::Counting;

/// `n` distinct open descriptors to send (the read ends of `n` pipes are
/// dropped at once; the write ends stay open).
fn some_files(n: usize) -> Vec<OwnedFd> {
    (0..n).map(|_| UnixDatagram::unbound().unwrap().into()).collect()
}

fn borrow(fds: &[OwnedFd]) -> Vec<BorrowedFd<'_>> {
    fds.iter().map(AsFd::as_fd).collect()
}

#[test]
fn stream_fds_travel_with_the_first_byte_and_a_receive_stops_before_the_next_senders_fds() {
    let _serial = serial();
    let before = open_fds();
    {
        let (a, b) = UnixStream::pair().unwrap();
        let files = some_files(2);
        assert_eq!(a.send_with_fds(b"ab", &[files[0].as_fd()]).unwrap(), 2);
        assert_eq!(a.send_with_fds(b"cd", &[files[1].as_fd()]).unwrap(), 2);
        let mut buf = [0u8; 16];
        let mut fds = Vec::new();
        let first = b.recv_with_fds(&mut buf, &mut fds).unwrap();
        assert_eq!(&buf[..first.bytes], b"ab", "the first receive took more than the first send's bytes");
        assert_eq!(fds.len(), 1);
        assert!(same_file(fds[0].as_fd(), files[0].as_fd()));
        let second = b.recv_with_fds(&mut buf, &mut fds).unwrap();
        assert_eq!(&buf[..second.bytes], b"cd");
        assert_eq!(fds.len(), 2);
        assert!(same_file(fds[1].as_fd(), files[1].as_fd()));
        assert!(first.is_complete() && second.is_complete());
    }
    assert_eq!(open_fds(), before, "descriptors leaked");
}

#[test]
fn stream_send_all_with_a_full_buffer_sends_the_fds_once_and_every_byte_to_a_slow_libc_reader() {
    let _serial = serial();
    let before = open_fds();
    {
        let (a, b) = UnixStream::pair().unwrap();
        let small: libc::c_int = 4096;
        // SAFETY: setsockopt with a c_int value of the stated size.
        let rc = unsafe {
            libc::setsockopt(
                a.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_SNDBUF,
                (&small as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0);
        let data: Vec<u8> = (0..(1 << 20)).map(|i: u32| (i % 251) as u8).collect();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut fds_seen = Vec::new();
            let mut buf = vec![0u8; 3000];
            loop {
                std::thread::sleep(std::time::Duration::from_micros(50));
                let r = raw_recv(b.as_raw_fd(), &mut buf, 0).expect("recvmsg");
                if r.bytes == 0 {
                    break;
                }
                if !r.fds.is_empty() {
                    fds_seen.push((got.len(), r.fds.len()));
                    close_all(&r.fds);
                }
                got.extend_from_slice(&buf[..r.bytes]);
            }
            (got, fds_seen)
        });
        let files = some_files(3);
        a.send_all_with_fds(&data, &borrow(&files)).unwrap();
        drop(a);
        let (got, fds_seen) = reader.join().unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data, "the bytes arrived changed");
        assert_eq!(fds_seen, vec![(0, 3)], "fds must come once, with the first byte (offset, count)");
    }
    assert_eq!(open_fds(), before, "descriptors leaked");
}

#[test]
fn max_fds_round_trip_on_every_socket_type_both_ways_against_libc_peers_and_one_more_is_einval() {
    let _serial = serial();
    let before = open_fds();
    {
        let files = some_files(MAX_FDS);
        let raw: Vec<_> = files.iter().map(AsRawFd::as_raw_fd).collect();
        let fds = borrow(&files);
        let too_many = some_files(MAX_FDS + 1);
        let (s1, s2) = UnixStream::pair().unwrap();
        let (d1, d2) = UnixDatagram::pair().unwrap();
        let (q1, q2) = UnixSeqpacket::pair().unwrap();
        type Send<'a> = &'a dyn Fn(&[u8], &[BorrowedFd]) -> std::io::Result<usize>;
        let pairs: [(Send, BorrowedFd, &str); 3] = [
            (&|d, f| s1.send_with_fds(d, f), s2.as_fd(), "stream"),
            (&|d, f| d1.send_with_fds(d, f), d2.as_fd(), "datagram"),
            (&|d, f| q1.send_with_fds(d, f), q2.as_fd(), "seqpacket"),
        ];
        for (send, peer, kind) in pairs {
            // library -> libc
            assert_eq!(send(b"m", &fds).unwrap(), 1, "{kind}: send of {MAX_FDS} fds");
            let mut buf = [0u8; 4];
            let got = raw_recv(peer.as_raw_fd(), &mut buf, 0).unwrap();
            assert_eq!((got.bytes, got.fds.len(), got.flags & libc::MSG_CTRUNC), (1, MAX_FDS, 0), "{kind}");
            close_all(&got.fds);
            // one more is refused before anything is sent
            let err = send(b"m", &borrow(&too_many)).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{kind}: {} fds", MAX_FDS + 1);
            assert_eq!(
                raw_recv(peer.as_raw_fd(), &mut buf, libc::MSG_DONTWAIT).err(),
                Some(libc::EAGAIN),
                "{kind}: the refused send sent something"
            );
        }
        // libc -> library, on each receiving end
        let receivers: [(&dyn UnixSocketExtDyn, BorrowedFd); 3] =
            [(&s1, s2.as_fd()), (&d1, d2.as_fd()), (&q1, q2.as_fd())];
        for (receiver, sender) in receivers {
            assert_eq!(raw_send(sender.as_raw_fd(), b"z", &raw).unwrap(), 1);
            let mut buf = [0u8; 4];
            let mut got = Vec::new();
            let info = receiver.recv(&mut buf, &mut got);
            assert!(info.is_complete() && info.bytes == 1 && got.len() == MAX_FDS);
            assert!(same_file(got[MAX_FDS - 1].as_fd(), files[MAX_FDS - 1].as_fd()));
        }
    }
    assert_eq!(open_fds(), before, "descriptors leaked");
}

/// `recv_with_fds` through a trait object, for the loop above.
trait UnixSocketExtDyn {
    fn recv(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> fdcred::RecvInfo;
}

impl<T: UnixSocketExt> UnixSocketExtDyn for T {
    fn recv(&self, buf: &mut [u8], fds: &mut Vec<OwnedFd>) -> fdcred::RecvInfo {
        self.recv_with_fds(buf, fds).unwrap()
    }
}

#[test]
fn more_fds_than_accepted_or_a_cut_record_are_reported_and_leave_nothing_open() {
    let _serial = serial();
    let before = open_fds();
    {
        let (a, b) = UnixSeqpacket::pair().unwrap();
        let files = some_files(3);
        let raw: Vec<_> = files.iter().map(AsRawFd::as_raw_fd).collect();
        raw_send(a.as_raw_fd(), b"hello", &raw).unwrap();
        let mut buf = [0u8; 8];
        let opts = RecvOptions { max_fds: 1, ..Default::default() };
        let got = b.recv_with(&mut [IoSliceMut::new(&mut buf)], &opts).unwrap();
        assert!(got.fds_overflowed && got.fds.is_empty() && got.bytes == 5);

        raw_send(a.as_raw_fd(), b"hello world", &raw).unwrap();
        let mut fds = Vec::new();
        let info = b.recv_with_fds(&mut buf, &mut fds).unwrap();
        assert!(info.data_truncated && !info.is_complete(), "a cut record must say so");
        assert_eq!(fds.len(), 3, "the fds of a record cut short in its data still arrive");
    }
    assert_eq!(open_fds(), before, "descriptors leaked");
}

#[test]
fn seqpacket_listener_peer_credentials_groups_pidfd_and_per_message_credentials() {
    let _serial = serial();
    let before = open_fds();
    {
        let dir = std::env::temp_dir().join(format!("fdcred-rust-std-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sock");
        let listener = UnixSeqpacketListener::bind(&path).unwrap();
        let client = UnixSeqpacket::connect(&path).unwrap();
        let server = listener.accept().unwrap();
        for (end, name) in [(&client, "client"), (&server, "server")] {
            let cred = end.peer_credentials().unwrap();
            // SAFETY: getpid/geteuid/getegid cannot fail.
            let (pid, uid, gid) = unsafe { (libc::getpid(), libc::geteuid(), libc::getegid()) };
            assert_eq!((cred.pid(), cred.uid(), cred.gid()), (Some(pid), Some(uid), Some(gid)), "{name}");
        }
        match server.peer_groups(&mut []) {
            Ok(count) => {
                let mut groups = vec![0; count];
                assert_eq!(server.peer_groups(&mut groups).unwrap(), count);
            }
            // NetBSD and OpenBSD record no groups for a peer.
            Err(e)
                if cfg!(any(target_os = "netbsd", target_os = "openbsd"))
                    && e.raw_os_error() == Some(libc::ENOPROTOOPT) =>
            {
                println!("peer_groups skipped: this OS reports no peer groups ({e})")
            }
            Err(e) => panic!("peer_groups: {e}"),
        }
        match server.peer_pidfd() {
            Ok(pidfd) => drop(pidfd),
            Err(e) if e.raw_os_error() == Some(libc::ENOPROTOOPT) => {
                println!("peer_pidfd skipped: SO_PEERPIDFD needs Linux 6.5 ({e})")
            }
            Err(e) => panic!("peer_pidfd: {e}"),
        }

        server.allow_recv_cred().unwrap();
        let opts = SendOptions { cred: Some(CredSource::Own), ..Default::default() };
        client.send_with(&[std::io::IoSlice::new(b"c")], &opts).unwrap();
        let mut buf = [0u8; 4];
        let info = server.recv_with_fds(&mut buf, &mut Vec::new()).unwrap();
        // SAFETY: getuid cannot fail.
        assert_eq!(info.cred.and_then(|c| c.uid()), Some(unsafe { libc::getuid() }));

        let mut std_stream = UnixStream::pair().unwrap();
        std_stream.0.send_with_fds(b"p", &[]).unwrap();
        let mut one = [0u8; 1];
        std_stream.1.read_exact(&mut one).unwrap();
        drop((listener, client, server, std_stream));
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert_eq!(open_fds(), before, "descriptors leaked");
}

#[test]
fn std_send_with_fds_and_allocation_free_receive_make_no_heap_calls() {
    let _serial = serial();
    let (a, b) = UnixDatagram::pair().unwrap();
    let files = some_files(1);
    let fds = [files[0].as_fd()];
    let mut buf = [0u8; 1];
    let mut failures = 0;
    net_support::alloc::start();
    for _ in 0..5_000 {
        failures += usize::from(a.send_with_fds(b"x", &fds).map_or(true, |n| n != 1));
        match b.recv_with(&mut [IoSliceMut::new(&mut buf)], &RecvOptions::default()) {
            Ok(got) => failures += usize::from(got.fds.len() != 1),
            Err(_) => failures += 1,
        }
    }
    let heap = net_support::alloc::stop();
    assert_eq!(failures, 0);
    assert_eq!(heap, 0, "heap calls on the std send/receive path");
}
