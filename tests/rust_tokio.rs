//! The tokio socket API (`fdcred::tokio::AsyncUnixSocketExt` on tokio's
//! `UnixStream`, `UnixDatagram` and the seqpacket type): libc peers, many
//! tasks on one socket, cancellation storms, a full buffer with a slow
//! reader, 253-fd messages; each test checks the process's open-descriptor
//! count after its runtime is gone.
#![cfg(feature = "tokio")]
mod net_support;

use std::collections::BTreeSet;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use fdcred::tokio::{AsyncUnixSocketExt, UnixSeqpacket, UnixSeqpacketListener};
use fdcred::{CredSource, SendOptions, MAX_FDS};
use net_support::{close_all, open_fds, raw_recv, raw_send, same_file, serial, Rng};
use tokio::net::{UnixDatagram, UnixStream};

fn some_files(n: usize) -> Vec<OwnedFd> {
    (0..n).map(|_| std::os::unix::net::UnixDatagram::unbound().unwrap().into()).collect()
}

fn borrow(fds: &[OwnedFd]) -> Vec<BorrowedFd<'_>> {
    fds.iter().map(AsFd::as_fd).collect()
}

/// Run `test` on a fresh runtime and check that, once the runtime is
/// dropped, the process holds exactly the descriptors it held before.
fn with_fd_count<F: std::future::Future<Output = ()>>(multi_thread: bool, test: impl FnOnce() -> F) {
    let _serial = serial();
    // The first runtime in a process opens tokio's process-wide signal
    // socketpair (the dev-dependency enables `process`, hence `signal`),
    // which stays open for good: let that happen before counting.
    static GLOBALS: std::sync::Once = std::sync::Once::new();
    GLOBALS.call_once(|| drop(tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()));
    let before = open_fds();
    {
        let rt = if multi_thread {
            tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build()
        } else {
            tokio::runtime::Builder::new_current_thread().enable_all().build()
        }
        .unwrap();
        rt.block_on(test());
    }
    assert_eq!(open_fds(), before, "descriptors leaked (open before vs after): {}", fd_list());
}

/// What each open descriptor is, for a failure message.
fn fd_list() -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let target = std::fs::read_link(entry.path()).map(|p| p.display().to_string()).unwrap_or_default();
        out += &format!("{}->{target} ", entry.file_name().to_string_lossy());
    }
    out
}

#[test]
fn tokio_round_trips_with_libc_peers_on_every_socket_type_including_max_fds() {
    with_fd_count(false, || async {
        let files = some_files(MAX_FDS);
        let raw: Vec<_> = files.iter().map(AsRawFd::as_raw_fd).collect();
        let (s1, s2) = std::os::unix::net::UnixStream::pair().unwrap();
        let (d1, d2) = std::os::unix::net::UnixDatagram::pair().unwrap();
        s1.set_nonblocking(true).unwrap();
        d1.set_nonblocking(true).unwrap();
        let stream = UnixStream::from_std(s1).unwrap();
        let dgram = UnixDatagram::from_std(d1).unwrap();
        let (q1, q2) = fdcred::UnixSeqpacket::pair().unwrap();
        let seq = UnixSeqpacket::from_std(q1).unwrap();
        for (kind, peer) in [("stream", s2.as_fd()), ("datagram", d2.as_fd()), ("seqpacket", q2.as_fd())] {
            let fds = borrow(&files);
            let sent = match kind {
                "stream" => stream.send_with_fds(b"m", &fds).await,
                "datagram" => dgram.send_with_fds(b"m", &fds).await,
                _ => seq.send_with_fds(b"m", &fds).await,
            };
            assert_eq!(sent.unwrap(), 1, "{kind}");
            let mut buf = [0u8; 4];
            let got = raw_recv(peer.as_raw_fd(), &mut buf, 0).unwrap();
            assert_eq!((got.bytes, got.fds.len(), got.flags & libc::MSG_CTRUNC), (1, MAX_FDS, 0), "{kind}");
            close_all(&got.fds);

            assert_eq!(raw_send(peer.as_raw_fd(), b"z", &raw).unwrap(), 1, "{kind}");
            let mut fds = Vec::new();
            let info = match kind {
                "stream" => stream.recv_with_fds(&mut buf, &mut fds).await,
                "datagram" => dgram.recv_with_fds(&mut buf, &mut fds).await,
                _ => seq.recv_with_fds(&mut buf, &mut fds).await,
            }
            .unwrap();
            assert!(info.is_complete() && info.bytes == 1 && fds.len() == MAX_FDS, "{kind}: {info:?}");
            assert!(same_file(fds[7].as_fd(), files[7].as_fd()), "{kind}");
        }
    });
}

#[test]
fn tokio_stream_send_all_fills_the_buffer_and_a_slow_reader_gets_the_fds_once_with_the_first_byte() {
    with_fd_count(false, || async {
        let (a, b) = UnixStream::pair().unwrap();
        let data: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 253) as u8).collect();
        let b = b.into_std().unwrap();
        b.set_nonblocking(false).unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut fds_seen = Vec::new();
            let mut buf = vec![0u8; 4096];
            loop {
                std::thread::sleep(Duration::from_micros(100));
                let r = raw_recv(b.as_raw_fd(), &mut buf, 0).expect("recvmsg");
                if r.bytes == 0 {
                    return (got, fds_seen);
                }
                if !r.fds.is_empty() {
                    fds_seen.push((got.len(), r.bytes, r.fds.len()));
                    close_all(&r.fds);
                }
                got.extend_from_slice(&buf[..r.bytes]);
            }
        });
        let files = some_files(5);
        // First a short write: the buffer holds far less than 1 MiB.
        let first = a.send_with_fds(&data, &borrow(&files)).await.unwrap();
        assert!(first < data.len(), "expected a short write, sent {first}");
        a.send_all_with_fds(&data[first..], &[]).await.unwrap();
        // Then send_all with fds, which must itself cope with short writes.
        a.send_all_with_fds(&data, &borrow(&files)).await.unwrap();
        drop(a);
        let (got, fds_seen) = tokio::task::spawn_blocking(move || reader.join().unwrap()).await.unwrap();
        assert_eq!(got.len(), 2 * data.len());
        assert!(got[..data.len()] == data[..] && got[data.len()..] == data[..], "bytes changed");
        // Each batch came with the read holding the first byte of its send
        // (a read may begin with earlier bytes that carried none).
        assert_eq!(fds_seen.len(), 2, "fds came {} times: {fds_seen:?}", fds_seen.len());
        for ((offset, bytes, count), first_byte) in fds_seen.into_iter().zip([0, data.len()]) {
            assert_eq!(count, 5);
            assert!(
                (offset..offset + bytes).contains(&first_byte),
                "fds of the send starting at byte {first_byte} came with bytes {offset}..{}",
                offset + bytes
            );
        }
    });
}

#[test]
fn many_tasks_send_and_receive_on_one_datagram_socket_and_one_stream() {
    with_fd_count(true, || async {
        const TASKS: u32 = 8;
        const EACH: u32 = 300;
        let files = Arc::new(some_files(2));
        // Datagram: 8 senders on one socket, 8 receivers on the other.
        let (tx, rx) = UnixDatagram::pair().unwrap();
        // Stream: fixed 4-byte records, one fd each.
        let (stx, srx) = UnixStream::pair().unwrap();
        let (tx, rx, stx, srx) = (Arc::new(tx), Arc::new(rx), Arc::new(stx), Arc::new(srx));
        let mut senders = Vec::new();
        for t in 0..TASKS {
            let (tx, stx, files) = (tx.clone(), stx.clone(), files.clone());
            senders.push(tokio::spawn(async move {
                for i in 0..EACH {
                    let id = (t * EACH + i).to_ne_bytes();
                    let fds = [files[0].as_fd(), files[1].as_fd()];
                    assert_eq!(tx.send_with_fds(&id, &fds).await.unwrap(), 4);
                    stx.send_all_with_fds(&id, &fds[..1]).await.unwrap();
                }
            }));
        }
        let mut receivers = Vec::new();
        for _ in 0..TASKS {
            let (rx, srx) = (rx.clone(), srx.clone());
            receivers.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                let mut sids = Vec::new();
                for _ in 0..EACH {
                    let mut buf = [0u8; 8];
                    let mut fds = Vec::new();
                    let info = rx.recv_with_fds(&mut buf, &mut fds).await.unwrap();
                    assert!(info.is_complete() && info.bytes == 4 && fds.len() == 2, "{info:?} {}", fds.len());
                    ids.push(u32::from_ne_bytes(buf[..4].try_into().unwrap()));
                    let mut sbuf = [0u8; 4];
                    fds.clear();
                    let info = srx.recv_with_fds(&mut sbuf, &mut fds).await.unwrap();
                    // Each 4-byte record went in one sendmsg with its fd; a
                    // receive stops at the next record's fd.
                    assert!(info.bytes == 4 && fds.len() == 1, "stream record: {info:?} {}", fds.len());
                    sids.push(u32::from_ne_bytes(sbuf));
                }
                (ids, sids)
            }));
        }
        for s in senders {
            s.await.unwrap();
        }
        let (mut all, mut sall) = (BTreeSet::new(), BTreeSet::new());
        for r in receivers {
            let (ids, sids) = r.await.unwrap();
            all.extend(ids);
            sall.extend(sids);
        }
        let expected: BTreeSet<u32> = (0..TASKS * EACH).collect();
        assert_eq!(all, expected, "datagram: every message exactly once");
        assert_eq!(sall, expected, "stream: every record exactly once");
    });
}

/// Messages carry a sequence number and `seq % 3 + 1` fds. Both the sending
/// and the receiving futures race a timer in `select!` and are dropped when
/// it wins; a dropped send is retried with the same message. The receiver
/// must see every sequence number once, in order, each with its own fds.
async fn cancellation_storm<S, R>(send: S, recv: R, messages: u32)
where
    S: AsyncUnixSocketExt + Send + 'static,
    R: AsyncUnixSocketExt + Send + 'static,
{
    let files = Arc::new(some_files(3));
    let sender_files = files.clone();
    let sender = tokio::spawn(async move {
        let mut rng = Rng::seeded();
        let (mut cancelled, mut seq) = (0u32, 0u32);
        while seq < messages {
            let data = seq.to_ne_bytes();
            let n = (seq % 3 + 1) as usize;
            let fds = borrow(&sender_files[..n]);
            let timer = random_timer(&mut rng);
            tokio::select! {
                r = send.send_with_fds(&data, &fds) => {
                    assert_eq!(r.unwrap(), 4);
                    seq += 1;
                }
                _ = timer => cancelled += 1,
            }
            if rng.below(64) == 0 {
                // Let the receiver find the socket empty and wait.
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
        cancelled
    });
    let mut rng = Rng(Rng::seeded().0 ^ 0x9e37_79b9_7f4a_7c15);
    let (mut cancelled, mut expected) = (0u32, 0u32);
    while expected < messages {
        let mut buf = [0u8; 4];
        let mut fds = Vec::new();
        if rng.below(64) == 0 {
            // Let the sender fill the socket buffer and wait for room.
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        let timer = random_timer(&mut rng);
        tokio::select! {
            r = recv.recv_with_fds(&mut buf, &mut fds) => {
                let info = r.unwrap();
                assert!(info.is_complete() && info.bytes == 4, "{info:?}");
                let seq = u32::from_ne_bytes(buf);
                assert_eq!(seq, expected, "a message was lost, repeated or split");
                let n = (seq % 3 + 1) as usize;
                assert_eq!(fds.len(), n, "message {seq}: wrong fd count");
                for (got, sent) in fds.iter().zip(&files[..n]) {
                    assert!(same_file(got.as_fd(), sent.as_fd()), "message {seq}: another message's fd");
                }
                expected += 1;
            }
            _ = timer => {
                cancelled += 1;
                assert!(fds.is_empty(), "a cancelled receive took fds");
            }
        }
    }
    let sender_cancelled = sender.await.unwrap();
    println!("{messages} messages, {sender_cancelled} sends and {cancelled} receives cancelled");
    assert!(cancelled > 0 && sender_cancelled > 0, "the timer never won on one side: the storm tested nothing there");
}

/// The racing "timer": a real sleep of up to 300 us, or a few scheduler
/// yields (so it also wins between two polls of the same readiness).
/// `select!` polls its branches in random order, so either side may win.
fn random_timer(rng: &mut Rng) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    let n = rng.below(4);
    if rng.below(2) == 0 {
        Box::pin(tokio::time::sleep(Duration::from_micros(rng.below(300))))
    } else {
        Box::pin(async move {
            for _ in 0..n {
                tokio::task::yield_now().await;
            }
        })
    }
}

#[test]
fn cancellation_storm_on_a_datagram_pair_loses_and_leaks_nothing() {
    with_fd_count(true, || async {
        let (a, b) = UnixDatagram::pair().unwrap();
        cancellation_storm(a, b, 3000).await;
    });
}

#[test]
fn cancellation_storm_on_a_stream_pair_loses_and_leaks_nothing() {
    with_fd_count(true, || async {
        let (a, b) = UnixStream::pair().unwrap();
        cancellation_storm(a, b, 3000).await;
    });
}

#[test]
fn cancellation_storm_on_a_seqpacket_pair_loses_and_leaks_nothing() {
    with_fd_count(false, || async {
        let (a, b) = UnixSeqpacket::pair().unwrap();
        cancellation_storm(a, b, 3000).await;
    });
}

#[test]
fn a_dropped_receive_leaves_the_whole_message_queued() {
    with_fd_count(false, || async {
        let (a, b) = UnixSeqpacket::pair().unwrap();
        let files = some_files(4);
        let mut buf = [0u8; 8];
        let mut fds = Vec::new();
        {
            // Polled once (nothing queued yet), then dropped.
            let pending = b.recv_with_fds(&mut buf, &mut fds);
            tokio::pin!(pending);
            assert!(futures_poll_once(pending.as_mut()).await.is_none());
        }
        a.send_with_fds(b"whole", &borrow(&files)).await.unwrap();
        let info = b.recv_with_fds(&mut buf, &mut fds).await.unwrap();
        assert_eq!((&buf[..info.bytes], fds.len()), (&b"whole"[..], 4));
    });
}

/// Poll `fut` once: `Some(output)` if it finished.
async fn futures_poll_once<F: std::future::Future + Unpin>(mut fut: F) -> Option<F::Output> {
    std::future::poll_fn(|cx| match std::pin::Pin::new(&mut fut).poll(cx) {
        std::task::Poll::Ready(v) => std::task::Poll::Ready(Some(v)),
        std::task::Poll::Pending => std::task::Poll::Ready(None),
    })
    .await
}

#[test]
fn seqpacket_listener_accepts_and_tokio_sockets_report_peer_and_per_message_credentials() {
    with_fd_count(false, || async {
        let dir = std::env::temp_dir().join(format!("fdcred-rust-tokio-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sock");
        let listener = UnixSeqpacketListener::bind(&path).unwrap();
        let (accepted, client) = tokio::join!(listener.accept(), async { UnixSeqpacket::connect(&path) });
        let (server, client) = (accepted.unwrap(), client.unwrap());
        // SAFETY: getpid/geteuid/getuid cannot fail.
        let (pid, euid, uid) = unsafe { (libc::getpid(), libc::geteuid(), libc::getuid()) };
        let cred = server.peer_credentials().unwrap();
        assert_eq!((cred.pid(), cred.uid()), (Some(pid), Some(euid)));
        let (s1, _s2) = UnixStream::pair().unwrap();
        assert_eq!(s1.peer_credentials().unwrap().uid(), Some(euid));

        server.allow_recv_cred().unwrap();
        let opts = SendOptions { cred: Some(CredSource::Own), ..Default::default() };
        client.send_with(&[std::io::IoSlice::new(b"c")], &opts).await.unwrap();
        let mut buf = [0u8; 4];
        let info = server.recv_with_fds(&mut buf, &mut Vec::new()).await.unwrap();
        assert_eq!(info.cred.and_then(|c| c.uid()), Some(uid));
        drop((listener, server, client));
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn a_dropped_send_all_sent_a_prefix_with_the_fds_once_and_nothing_after() {
    with_fd_count(false, || async {
        let (a, b) = UnixStream::pair().unwrap();
        let data = vec![7u8; 1 << 22];
        let files = some_files(3);
        let fds = borrow(&files);
        // Nobody reads yet: the buffer fills, send_all waits for room, and
        // the timer wins. The future is dropped mid-way.
        tokio::select! {
            r = a.send_all_with_fds(&data, &fds) => panic!("4 MiB fitted in the socket buffer: {r:?}"),
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        drop(a);
        let b = b.into_std().unwrap();
        b.set_nonblocking(false).unwrap();
        let (mut total, mut batches) = (0, Vec::new());
        let mut buf = vec![0u8; 65536];
        loop {
            let r = raw_recv(b.as_raw_fd(), &mut buf, 0).expect("recvmsg");
            if r.bytes == 0 {
                break;
            }
            if !r.fds.is_empty() {
                batches.push((total, r.fds.len()));
                close_all(&r.fds);
            }
            total += r.bytes;
        }
        assert!(total > 0 && total < data.len(), "sent {total} of {} bytes", data.len());
        assert_eq!(batches, vec![(0, 3)], "the fds must have gone once, with the first byte");
    });
}
