//! The Rust API benchmark (scenario 6 of scripts/bench): one descriptor per
//! 1-byte message over a `UnixStream` pair, the library's socket methods
//! against a hand-written loop doing the same work, in alternating rounds in
//! one process (which side goes first alternates too), so a busy machine
//! slows both alike.
//!
//! * tokio (current-thread runtime): `AsyncUnixSocketExt::send_with_fds` +
//!   `recv_with` (and `recv_with_fds` into a reused `Vec`) on
//!   `tokio::net::UnixStream`, against `AsyncFd` + `try_io` around
//!   `libc::sendmsg`/`recvmsg` with `MSG_NOSIGNAL`, `MSG_CMSG_CLOEXEC`, the
//!   control data checked, every fd received owned and closed.
//! * std (blocking): `UnixSocketExt::send_with_fds` + `recv_with` against the
//!   same libc calls.
//! * credentials (tokio, `recv_with`): the receiver has `SO_PASSCRED` on, so
//!   every message also carries the sender's `SCM_CREDENTIALS`; the library
//!   side reads the uid from `Received::cred` (a `Credentials`), the baseline
//!   from the `struct ucred` it finds in the control data. It shows what the
//!   credentials path costs over the same kernel work, the Rust
//!   `Credentials` type included.
//!
//! A counting global allocator reports the heap calls per message made during
//! each side's timed loops. On the tokio rows the library's side shows a few
//! per million messages: tokio's own, not the library's. `UnixStream::async_io`
//! takes part in tokio's cooperative budget (the task yields after 128
//! operations) and the first yield of each `block_on` grows the scheduler's
//! defer list; a bare `AsyncFd` as the baseline uses it does not yield. Nothing about speed is asserted; the program fails
//! only when a call fails or delivers something wrong.
//!
//! ```text
//! cargo bench --features tokio --bench tokio -- [--smoke] [--rounds N] [--ms M] [--only TEXT]
//! ```
//!
//! Run by `cargo test` (no `--bench` argument) it does one tiny round of
//! each row, as a test that it still works.

use std::future::Future;
use std::io::{self, IoSliceMut};
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream as StdStream;
use std::time::Instant;

use fdcred::tokio::AsyncUnixSocketExt;
use fdcred::{RecvOptions, UnixSocketExt};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::net::UnixStream;

#[path = "../tests/net_support/alloc.rs"]
mod alloc;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// Heap calls made while `f` runs on this thread.
fn counting<R>(f: impl FnOnce() -> R) -> (R, u64) {
    alloc::start();
    let r = f();
    (r, alloc::stop())
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("fdcred tokio bench: {what}: {e}");
    std::process::exit(1);
}

// ---- the hand-written baseline ------------------------------------------

/// Control buffer for one fd, aligned for cmsghdr.
#[repr(C, align(8))]
struct Control([u8; 64]);

/// `sendmsg` of `data` with one `SCM_RIGHTS` fd, `MSG_NOSIGNAL`, `EINTR`
/// retried.
fn base_send(sock: RawFd, data: &[u8], fd: RawFd) -> io::Result<usize> {
    let mut control = Control([0; 64]);
    let mut iov = libc::iovec { iov_base: data.as_ptr() as *mut _, iov_len: data.len() };
    // SAFETY: zeroed msghdr is valid; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE/CMSG_LEN are pure; the buffer holds CMSG_SPACE(4).
    unsafe {
        msg.msg_controllen = libc::CMSG_SPACE(4) as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(4) as _;
        libc::CMSG_DATA(cmsg).cast::<RawFd>().write_unaligned(fd);
    }
    loop {
        // SAFETY: `msg` describes live buffers.
        let n = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// What the baseline received: data bytes, the first fd, the sender's uid
/// from `SCM_CREDENTIALS` when one came.
type BaseGot = (usize, Option<OwnedFd>, Option<libc::uid_t>);

/// `recvmsg` with `MSG_CMSG_CLOEXEC`, `EINTR` retried; every fd owned; a
/// truncated message's fds closed and reported as an error. With `cred`, the
/// control buffer also has room for an `SCM_CREDENTIALS` and its uid is read.
fn base_recv(sock: RawFd, buf: &mut [u8], cred: bool) -> io::Result<BaseGot> {
    let mut control = Control([0; 64]);
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: zeroed msghdr is valid; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    // SAFETY: pure computation.
    msg.msg_controllen =
        unsafe { libc::CMSG_SPACE(4) + if cred { libc::CMSG_SPACE(mem::size_of::<libc::ucred>() as u32) } else { 0 } }
            as _;
    let n = loop {
        // SAFETY: `msg` describes live buffers.
        let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    };
    let mut first = None;
    let mut uid = None;
    // SAFETY: walking what the kernel wrote with libc's macros.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let count = ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                for i in 0..count {
                    let fd = OwnedFd::from_raw_fd(libc::CMSG_DATA(cmsg).cast::<RawFd>().add(i).read_unaligned());
                    if first.is_none() {
                        first = Some(fd); // surplus fds are dropped: closed
                    }
                }
            } else if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_CREDENTIALS {
                uid = Some(libc::CMSG_DATA(cmsg).cast::<libc::ucred>().read_unaligned().uid);
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(io::Error::other("control data truncated"));
    }
    Ok((n, first, uid))
}

struct Base(AsyncFd<OwnedFd>);

impl Base {
    fn new(fd: OwnedFd) -> Base {
        // SAFETY: an owned descriptor, open and the same for the AsyncFd's life.
        Base(unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE | Interest::WRITABLE) }.unwrap())
    }

    async fn send(&self, data: &[u8], fd: BorrowedFd<'_>) -> io::Result<usize> {
        loop {
            let mut guard = self.0.writable().await?;
            if let Ok(r) = guard.try_io(|inner| base_send(inner.as_raw_fd(), data, fd.as_raw_fd())) {
                return r;
            }
        }
    }

    async fn recv(&self, buf: &mut [u8], cred: bool) -> io::Result<BaseGot> {
        loop {
            let mut guard = self.0.readable().await?;
            if let Ok(r) = guard.try_io(|inner| base_recv(inner.as_raw_fd(), buf, cred)) {
                return r;
            }
        }
    }
}

// ---- the rows ------------------------------------------------------------

/// Messages sent before they are read back: a batch, so that receives also
/// meet an empty socket and wait on readiness at the end of each batch.
const BATCH: u64 = 16;

#[derive(Clone, Copy, PartialEq)]
enum Row {
    TokioRecvWith,
    TokioRecvVec,
    Std,
    TokioCred,
}

impl Row {
    fn name(self) -> &'static str {
        match self {
            Row::TokioRecvWith => "tokio UnixStream, 1 fd/msg, recv_with",
            Row::TokioRecvVec => "tokio UnixStream, 1 fd/msg, recv_with_fds (Vec)",
            Row::Std => "std UnixStream, 1 fd/msg, recv_with",
            Row::TokioCred => "tokio UnixStream, 1 fd + credentials/msg, recv_with",
        }
    }
}

struct Sockets {
    lib: (UnixStream, UnixStream),
    base: (Base, Base),
    std_lib: (StdStream, StdStream),
    std_base: (StdStream, StdStream),
    /// Pairs whose receiving end (`.1`) has `SO_PASSCRED` on.
    cred_lib: (UnixStream, UnixStream),
    cred_base: (Base, Base),
    payload: OwnedFd,
    uid: libc::uid_t,
}

fn check(n: usize, fd: bool, what: &str) {
    if n != 1 || !fd {
        fail(what, format_args!("got {n} bytes, fd {fd}"));
    }
}

/// `iters` messages with the library; returns the heap calls made.
async fn lib_round(row: Row, s: &Sockets, iters: u64) -> u64 {
    let fd = [s.payload.as_fd()];
    let mut buf = [0u8; 1];
    let mut fds = Vec::with_capacity(4);
    let opts = RecvOptions::default();
    let mut heap = 0;
    let mut done = 0;
    while done < iters {
        let batch = BATCH.min(iters - done);
        alloc::start();
        for _ in 0..batch {
            match row {
                Row::Std => {
                    check(s.std_lib.0.send_with_fds(b"x", &fd).unwrap_or_else(|e| fail("send", e)), true, "send")
                }
                Row::TokioCred => {
                    let sent = s.cred_lib.0.send_with_fds(b"x", &fd).await;
                    check(sent.unwrap_or_else(|e| fail("send", e)), true, "send")
                }
                _ => check(s.lib.0.send_with_fds(b"x", &fd).await.unwrap_or_else(|e| fail("send", e)), true, "send"),
            }
        }
        for _ in 0..batch {
            match row {
                Row::TokioRecvWith => {
                    let got = s.lib.1.recv_with(&mut [IoSliceMut::new(&mut buf)], &opts).await;
                    let mut got = got.unwrap_or_else(|e| fail("recv_with", e));
                    check(got.bytes, got.fds.len() == 1, "recv_with");
                    // Taken out and closed as the baseline closes it: a
                    // Received dropped with its fds still inside treats them
                    // as unwanted (SO_LINGER off first, one more syscall each).
                    got.fds.drain().for_each(drop);
                }
                Row::TokioRecvVec => {
                    let info = s.lib.1.recv_with_fds(&mut buf, &mut fds).await.unwrap_or_else(|e| fail("recv", e));
                    check(info.bytes, fds.len() == 1, "recv_with_fds");
                    fds.clear();
                }
                Row::Std => {
                    let got = s.std_lib.1.recv_with(&mut [IoSliceMut::new(&mut buf)], &opts);
                    let mut got = got.unwrap_or_else(|e| fail("recv_with", e));
                    check(got.bytes, got.fds.len() == 1, "recv_with");
                    // Taken out and closed as the baseline closes it: a
                    // Received dropped with its fds still inside treats them
                    // as unwanted (SO_LINGER off first, one more syscall each).
                    got.fds.drain().for_each(drop);
                }
                Row::TokioCred => {
                    let got = s.cred_lib.1.recv_with(&mut [IoSliceMut::new(&mut buf)], &opts).await;
                    let mut got = got.unwrap_or_else(|e| fail("recv_with", e));
                    check(got.bytes, got.fds.len() == 1, "recv_with");
                    let uid = got.cred.and_then(|c| c.uid());
                    if uid != Some(s.uid) {
                        fail("recv_with credentials", format_args!("uid {uid:?}, expected {}", s.uid));
                    }
                    got.fds.drain().for_each(drop);
                }
            }
        }
        heap += alloc::stop();
        done += batch;
    }
    heap
}

/// `iters` messages with the baseline; returns the heap calls made (the
/// runtime's own, if any: the baseline makes none).
async fn base_round(row: Row, s: &Sockets, iters: u64) -> u64 {
    let fd = s.payload.as_fd();
    let mut buf = [0u8; 1];
    let mut done = 0;
    let mut heap = 0;
    while done < iters {
        let batch = BATCH.min(iters - done);
        alloc::start();
        for _ in 0..batch {
            let n = match row {
                Row::Std => base_send(s.std_base.0.as_raw_fd(), b"x", fd.as_raw_fd()),
                Row::TokioCred => s.cred_base.0.send(b"x", fd).await,
                _ => s.base.0.send(b"x", fd).await,
            };
            check(n.unwrap_or_else(|e| fail("baseline send", e)), true, "baseline send");
        }
        for _ in 0..batch {
            let got = match row {
                Row::Std => base_recv(s.std_base.1.as_raw_fd(), &mut buf, false),
                Row::TokioCred => s.cred_base.1.recv(&mut buf, true).await,
                _ => s.base.1.recv(&mut buf, false).await,
            };
            let (n, fd, uid) = got.unwrap_or_else(|e| fail("baseline recv", e));
            check(n, fd.is_some(), "baseline recv");
            if row == Row::TokioCred && uid != Some(s.uid) {
                fail("baseline credentials", format_args!("uid {uid:?}, expected {}", s.uid));
            }
        }
        heap += alloc::stop();
        done += batch;
    }
    heap
}

fn timed<F: Future>(rt: &tokio::runtime::Runtime, fut: F) -> (F::Output, f64) {
    let t0 = Instant::now();
    let out = rt.block_on(fut);
    (out, t0.elapsed().as_secs_f64())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn usage() -> ! {
    eprintln!("usage: tokio bench [--smoke] [--rounds N] [--ms MILLISECONDS] [--only SUBSTRING]");
    std::process::exit(2);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut rounds, mut ms, mut smoke, mut only, mut bench) = (41usize, 15.0f64, false, None::<String>, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => bench = true, // cargo bench passes it; cargo test does not
            "--smoke" => smoke = true,
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "--ms" => ms = args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| usage()),
            "--only" => only = Some(args.next().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }
    if smoke || !bench {
        (rounds, ms) = (2, 5.0);
    }
    if !bench {
        rounds = 1;
        ms = 1.0;
    }
    if rounds == 0 || ms <= 0.0 {
        usage();
    }
    let rows: Vec<Row> = [Row::TokioRecvWith, Row::TokioRecvVec, Row::Std, Row::TokioCred]
        .into_iter()
        .filter(|r| only.as_deref().map_or(true, |o| r.name().contains(o) || "rust tokio".contains(o)))
        .collect();
    if rows.is_empty() {
        println!("scenario 6 (Rust std/tokio) skipped: --only matches none of its rows");
        return;
    }

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let sockets = rt.block_on(async {
        let pair = |what| StdStream::pair().unwrap_or_else(|e| fail(what, e));
        let (a, b) = pair("socketpair");
        let base = (Base::new(a.into()), Base::new(b.into()));
        let lib = UnixStream::pair().unwrap_or_else(|e| fail("tokio pair", e));
        let cred_lib = UnixStream::pair().unwrap_or_else(|e| fail("tokio pair", e));
        let (a, b) = pair("socketpair");
        let cred_base = (Base::new(a.into()), Base::new(b.into()));
        for receiver in [cred_lib.1.as_fd(), cred_base.1 .0.as_fd()] {
            fdcred::allow_recv_cred(receiver).unwrap_or_else(|e| fail("SO_PASSCRED", e));
        }
        Sockets {
            lib,
            base,
            std_lib: pair("socketpair"),
            std_base: pair("socketpair"),
            cred_lib,
            cred_base,
            payload: std::fs::File::open("/dev/null").unwrap_or_else(|e| fail("/dev/null", e)).into(),
            // SAFETY: getuid cannot fail.
            uid: unsafe { libc::getuid() },
        }
    });

    println!(
        "scenario 6: Rust API (std, tokio) vs hand-written AsyncFd + libc sendmsg/recvmsg: {rounds} rounds of ~{ms:.0} ms per side, \
         alternating, current-thread runtime{}",
        if smoke || !bench { " (smoke run: numbers mean nothing)" } else { "" }
    );
    // A smoke run shows that each row ran, and nothing that reads as a verdict.
    let judged = bench && !smoke;
    if judged {
        println!("ratio = library/baseline throughput, median of the per-round ratios (> 1: library faster);");
        println!("best = the library's fastest round over the baseline's fastest (the least disturbed pair)");
        println!("allocs/msg: heap calls per message during the timed loops, the library's and the baseline's");
        println!("target (docs/benchmark.md): ratio >= 0.97 on the first row; 0 allocations per message\n");
        println!(
            "{:<50} {:>12} {:>12} {:>7} {:>7} {:>7} {:>7} {:>11} {:>11} target",
            "scenario", "lib msg/s", "base msg/s", "ratio", "min", "max", "best", "allocs/msg", "base allocs"
        );
    }
    for row in rows {
        // Calibrate on the baseline: iterations for about `ms`.
        let mut iters = 64u64;
        loop {
            let (_, t) = timed(&rt, base_round(row, &sockets, iters));
            if t * 1000.0 >= ms / 4.0 || iters > 1 << 24 {
                iters = ((iters as f64) * ms / 1000.0 / t.max(1e-9)).max(16.0) as u64;
                break;
            }
            iters *= 4;
        }
        let (mut lib_rate, mut base_rate, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
        let (mut heap, mut base_heap, mut msgs) = (0u64, 0u64, 0u64);
        for round in 0..rounds {
            let mut lib_t = 0.0;
            let mut base_t = 0.0;
            for side in [round % 2, 1 - round % 2] {
                if side == 0 {
                    let (h, t) = timed(&rt, lib_round(row, &sockets, iters));
                    heap += h;
                    msgs += iters;
                    lib_t = t;
                } else {
                    let (h, t) = timed(&rt, base_round(row, &sockets, iters));
                    base_heap += h;
                    base_t = t;
                }
            }
            lib_rate.push(iters as f64 / lib_t);
            base_rate.push(iters as f64 / base_t);
            ratio.push(base_t / lib_t);
        }
        if !judged {
            println!("ran: {}", row.name());
            continue;
        }
        let (lo, hi) = ratio.iter().fold((f64::MAX, 0.0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        let m = median(&mut ratio);
        let fastest = |v: &[f64]| v.iter().fold(0.0f64, |a, &b| a.max(b));
        let best = fastest(&lib_rate) / fastest(&base_rate);
        let bar = if row == Row::TokioRecvWith {
            if m >= 0.97 {
                "meets 0.97"
            } else {
                "below 0.97"
            }
        } else {
            ""
        };
        println!(
            "{:<50} {:>12.0} {:>12.0} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>11.4} {:>11.4} {bar}",
            row.name(),
            median(&mut lib_rate),
            median(&mut base_rate),
            m,
            lo,
            hi,
            best,
            heap as f64 / msgs as f64,
            base_heap as f64 / msgs as f64
        );
    }
    let (_, heap) = counting(|| {
        let fd = [sockets.payload.as_fd()];
        let mut buf = [0u8; 1];
        for _ in 0..1000 {
            sockets.std_lib.0.send_with_fds(b"x", &fd).unwrap_or_else(|e| fail("send", e));
            let got = sockets.std_lib.1.recv_with(&mut [IoSliceMut::new(&mut buf)], &RecvOptions::default());
            check(got.unwrap_or_else(|e| fail("recv", e)).bytes, true, "recv");
        }
    });
    if judged {
        println!("\nheap allocations on the std path (send_with_fds + recv_with): {heap} in 1000 messages");
    } else {
        println!("ran: heap allocations on the std path ({heap} in 1000 messages)");
    }
}
