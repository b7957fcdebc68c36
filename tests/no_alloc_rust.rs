//! The safe Rust API's send and receive paths never touch the heap: a
//! counting `#[global_allocator]` (counting only in the test's own thread)
//! must see zero allocations across 10,000 `send_msg`/`recv_msg` calls with
//! descriptors, credentials and a pidfd. The C ABI path is proved the same
//! way by c-tests/signals_threads.c with an interposed malloc. So does the
//! slow branch of a receive that meets the overflow id (65534): it reads
//! /proc/self/uid_map and gid_map (src/sys/linux/idmap.rs).
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;

use fdcred::{
    allow_recv_cred, allow_recv_pidfd, recv_msg, send_msg, CredSource, Credentials, RecvOptions, SendOptions,
};

// The counting allocator tests/rust_std.rs and benches/tokio.rs use too.
#[path = "net_support/alloc.rs"]
mod alloc;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

/// The counter works: a Box in the window is seen (and the count reset).
fn assert_the_counter_sees_a_box() {
    alloc::start();
    drop(std::hint::black_box(Box::new(1u64)));
    assert_eq!(alloc::stop(), 2, "the counting allocator does not see allocations");
}

#[test]
fn send_and_receive_paths_never_allocate() {
    assert_the_counter_sees_a_box();

    let (tx, rx) = UnixDatagram::pair().unwrap();
    allow_recv_cred(rx.as_fd()).unwrap();
    let pidfd = allow_recv_pidfd(rx.as_fd()).is_ok();
    let (a, b) = UnixDatagram::pair().unwrap();
    let fds = [a.as_fd(), b.as_fd()];
    let mut calls = 0u64;
    let mut failures = 0u64;
    let mut fds_received = 0u64;

    alloc::start();
    for i in 0..5_000u32 {
        let data = i.to_ne_bytes();
        let opts = SendOptions { fds: &fds, cred: Some(CredSource::Own), ..Default::default() };
        failures += u64::from(send_msg(tx.as_fd(), &[IoSlice::new(&data)], &opts).map_or(true, |n| n != 4));
        let mut buf = [0u8; 4];
        let ropts = RecvOptions { keep_pidfd: i % 2 == 0, ..Default::default() };
        match recv_msg(rx.as_fd(), &mut [IoSliceMut::new(&mut buf)], None, &ropts) {
            Ok(got) => {
                failures += u64::from(got.bytes != 4 || buf != data || got.fds.len() != 2 || got.cred.is_none());
                failures += u64::from(pidfd && i % 2 == 0 && got.pidfd.is_none());
                fds_received += got.fds.len() as u64;
            }
            Err(_) => failures += 1,
        }
        calls += 2;
    }
    let allocations = alloc::stop();
    assert_eq!(failures, 0, "{failures} of {calls} calls failed");
    assert_eq!(allocations, 0, "{allocations} heap calls during {calls} send/receive calls");
    println!("{calls} send_msg/recv_msg calls, {fds_received} fds received, 0 heap calls");
}

#[test]
fn receiving_the_overflow_id_reads_the_id_maps_without_allocating() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIP: claiming uid 65534 in a message needs root");
        return;
    }
    let map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    let every_id_mapped = map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"];
    assert_the_counter_sees_a_box();

    let (tx, rx) = UnixDatagram::pair().unwrap();
    allow_recv_cred(rx.as_fd()).unwrap();
    // SAFETY: getpid has no preconditions.
    let claim = Credentials::claim(unsafe { libc::getpid() }, 65534, 65534);
    let opts = SendOptions { cred: Some(CredSource::Claim(claim)), ..Default::default() };
    if !cfg!(any(target_os = "linux", target_os = "android")) {
        // Only Linux carries a claimed identity: elsewhere the claim is
        // refused before anything is sent, so there is nothing to receive.
        let refused = send_msg(tx.as_fd(), &[IoSlice::new(b"x")], &opts).unwrap_err();
        assert_eq!(refused.raw_os_error(), Some(libc::EOPNOTSUPP), "a claim: {refused}");
        let nonblocking = RecvOptions { nonblocking: true, ..Default::default() };
        let mut buf = [0u8; 1];
        let nothing = recv_msg(rx.as_fd(), &mut [IoSliceMut::new(&mut buf)], None, &nonblocking).err();
        assert_eq!(nothing.and_then(|e| e.raw_os_error()), Some(libc::EAGAIN), "the refused claim sent something");
        println!("SKIP: the id maps are Linux's; the claim was refused with EOPNOTSUPP, nothing sent");
        return;
    }
    let mut failures = 0u64;
    alloc::start();
    for _ in 0..200 {
        if send_msg(tx.as_fd(), &[IoSlice::new(b"x")], &opts).map_or(true, |n| n != 1) {
            // Nothing to receive: a blocking receive would wait forever.
            failures += 1;
            continue;
        }
        let mut buf = [0u8; 1];
        match recv_msg(rx.as_fd(), &mut [IoSliceMut::new(&mut buf)], None, &RecvOptions::default()) {
            // In the initial namespace every id is mapped: 65534 is real.
            Ok(got) => failures += u64::from(got.cred.and_then(|c| c.uid()) != every_id_mapped.then_some(65534)),
            Err(_) => failures += 1,
        }
    }
    let allocations = alloc::stop();
    assert_eq!(failures, 0, "{failures} of 200 round trips failed or misreported uid 65534");
    assert_eq!(allocations, 0, "{allocations} heap calls while reading the id maps");
}
