//! The examples end to end, driven as a user runs them: examples/ built by
//! its Makefile through pkg-config; portlisten (root) binding a port below
//! 1024 and handing connections to hellofdpass running as uid 65534; pending
//! connections batched into one datagram; the handler restarted mid-run and
//! mid-batch; the listener mode; the exec mode starting an unmodified
//! socket-activated daemon (c-tests/activated_greeter.c) as uid 65534 on
//! ports below 1024; credserver serving one uid and refusing another; and
//! both port programs against classic hand-written peers (plain
//! sendmsg/recvmsg, c-tests/classic_*.c); and all four under valgrind,
//! closing every descriptor they open. And the hardening of issue 23, as an
//! operator and an attacker meet it: portlisten's default against a classic
//! handler with concurrent clients; portlisten as nobody once bound, its
//! listener out of the handler's reach; `--exec` started from a pty (no
//! controlling terminal, TIOCSTI refused, clean environment, cwd /, stdin
//! /dev/null); the handler's socket 0600 under umask 000; a stranger's
//! (uid 1234) fds closed unused and reported once; a client that never
//! reads costing the greeter 5 s in all; credserver's 2 s drain;
//! credclient refusing a server that is not root. And what the attacker
//! review of issue 23 found: the daemon's stdout/stderr not the operator's
//! terminal, nor root's session keyring its own; credserver's socket 0666
//! without a chmod, a replacement left alone at exit; portlisten refusing a
//! stranger's socket and a directory others may write (and hellofdpass
//! --exec --user likewise); a passwd-less uid with gid 65534; a stranger's
//! lingering socket closed without waiting.
//! Loopback only; every wait has a deadline.

// The C examples are Linux programs (SO_PASSCRED, keyctl, /proc): this test
// builds and runs only there; other OSes type-check the library, not them.
#![cfg(any(target_os = "linux", target_os = "android"))]
#[path = "examples/common.rs"]
mod common;
mod support;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;
use support::{compile_c, Link};

const GREETING: &str = "hello from an unprivileged handler";

fn examples() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_examples("examples-bin"))
}

/// A classic peer from c-tests/, compiled once per run.
fn classic(name: &str) -> PathBuf {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    let (listener, handler) = BUILT.get_or_init(|| {
        let build = |n: &str| compile_c(n, &[&format!("{n}.c")], Link::Dynamic, &[]);
        (build("classic_portlisten"), build("classic_hellofdpass"))
    });
    match name {
        "classic_portlisten" => listener.clone(),
        "classic_hellofdpass" => handler.clone(),
        _ => unreachable!("no classic peer {name}"),
    }
}

/// A port below 1024 on 127.0.0.1 that is free right now, distinct for each
/// caller in this process.
fn free_low_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 600 + (std::process::id() % 200) as u16;
    for _ in 0..400 {
        let p = 600 + (base - 600 + NEXT.fetch_add(1, Ordering::Relaxed)) % 400;
        if std::net::TcpListener::bind(("127.0.0.1", p)).is_ok() {
            return p;
        }
    }
    panic!("no free port between 600 and 999 on 127.0.0.1");
}

/// Start hellofdpass at `sock`, as uid/gid 65534 when root.
fn start_handler(sb: &Sandbox, sock: &Path, greeting: &str) -> Proc {
    start_handler_with(sb, &[], sock, greeting)
}

/// Start hellofdpass with `options` (e.g. `--log`) at `sock`, as uid/gid
/// 65534 when root.
fn start_handler_with(sb: &Sandbox, options: &[&str], sock: &Path, greeting: &str) -> Proc {
    let mut cmd = sb.command("hellofdpass");
    cmd.args(options).arg(sock).arg(greeting);
    if is_root() {
        as_user(&mut cmd, NOBODY, NOBODY);
    }
    let mut p = Proc::spawn("hellofdpass", &mut cmd);
    p.expect_line("waiting for descriptors", 10);
    p
}

fn start_portlisten(sb: &Sandbox, port: u16, sock: &Path, listener: bool) -> Proc {
    start_portlisten_with(sb, if listener { &["--listener"] } else { &[] }, port, sock)
}

fn start_portlisten_with(sb: &Sandbox, options: &[&str], port: u16, sock: &Path) -> Proc {
    let mut cmd = sb.command("portlisten");
    cmd.args(options).arg(port.to_string()).arg(sock);
    Proc::spawn("portlisten", &mut cmd)
}

fn greeted(port: u16, what: &str) {
    match read_all(connect(port)) {
        Ok(got) => assert_eq!(got, GREETING, "{what}: wrong greeting"),
        Err(e) => panic!("{what}: {e}"),
    }
}

/// The `Name:` line of /proc/<pid>/status, split into its fields.
fn proc_status(pid: i32, field: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = text.lines().find(|l| l.starts_with(&format!("{field}:"))).unwrap_or("");
    line.split_whitespace().skip(1).map(str::to_owned).collect()
}

/// Try, as uid/gid 65534 in a forked child, to bind 127.0.0.1:`port`;
/// returns the errno (0 when it worked).
fn bind_errno_as_nobody(port: u16) -> i32 {
    in_child_as(NOBODY, NOBODY, || {
        // SAFETY: plain system calls on a zeroed sockaddr_in.
        unsafe {
            let s = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            if s < 0 {
                return 199;
            }
            let mut sin: libc::sockaddr_in = std::mem::zeroed();
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = port.to_be();
            sin.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
            let r = libc::bind(s, &sin as *const _ as *const libc::sockaddr, std::mem::size_of_val(&sin) as u32);
            if r == 0 {
                0
            } else {
                errno()
            }
        }
    })
}

#[test]
fn root_portlisten_on_low_port_hands_connections_to_uid_65534_handler() {
    if skip_unless_root("the privilege-separation test") {
        return;
    }
    let sb = sandbox("ex-privsep");
    let sock = sb.run.join("hello.sock");
    let port = free_low_port();
    let handler = start_handler_with(&sb, &["--log"], &sock, GREETING);

    // The handler never had privilege: every uid and gid is 65534, no
    // supplementary group, no capability, and that identity cannot bind the
    // port it is about to serve.
    let pid = handler.pid();
    assert_eq!(proc_status(pid, "Uid"), vec!["65534"; 4], "hellofdpass real/effective/saved/fs uid");
    assert_eq!(proc_status(pid, "Gid"), vec!["65534"; 4], "hellofdpass gids");
    assert!(proc_status(pid, "Groups").is_empty(), "hellofdpass has supplementary groups");
    assert_eq!(proc_status(pid, "CapEff"), vec!["0000000000000000"], "hellofdpass effective capabilities");
    assert_eq!(proc_status(pid, "CapPrm"), vec!["0000000000000000"], "hellofdpass permitted capabilities");
    let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .map(|s| s.trim().parse().unwrap_or(1024))
        .unwrap_or(1024);
    if port < start {
        assert_eq!(bind_errno_as_nobody(port), libc::EACCES, "uid 65534 binding 127.0.0.1:{port}");
    } else {
        println!("note: net.ipv4.ip_unprivileged_port_start is {start}: any uid may bind {port}; not checked");
    }

    let mut pl = start_portlisten(&sb, port, &sock, false);
    assert_eq!(pl.listening_port(), port);
    greeted(port, "first connection");
    let mut handler = handler;
    let line = handler.expect_line("received connection", 10);
    assert!(line.contains("127.0.0.1:"), "handler line {line:?}");
}

#[test]
fn thousand_connections_in_a_row_are_all_greeted() {
    let sb = sandbox("ex-thousand");
    let sock = sb.run.join("hello.sock");
    let _handler = start_handler(&sb, &sock, GREETING);
    let mut pl = start_portlisten(&sb, 0, &sock, false);
    let port = pl.listening_port();
    for i in 0..1000 {
        greeted(port, &format!("connection {i} of 1000"));
    }
}

/// Restart the handler while connections arrive and with some queued to
/// it: `kill_signal` SIGTERM (graceful: it serves what is queued, nothing
/// may be lost) or SIGKILL (what was queued in the dead handler's socket is
/// closed by the kernel, but nothing may hang); connections accepted while
/// no handler runs wait in portlisten's retry loop for the next one.
fn restart_mid_run(name: &str, kill_signal: i32) {
    let sb = sandbox(name);
    let sock = sb.run.join("hello.sock");
    let mut first = start_handler(&sb, &sock, GREETING);
    let mut pl = start_portlisten(&sb, 0, &sock, false);
    let port = pl.listening_port();

    let mut before = Vec::new();
    for _ in 0..10 {
        before.push(connect(port));
    }
    // Freeze the handler so connections pile up in its socket's queue (and
    // portlisten blocks on the full queue), then stop it with them queued.
    first.signal(libc::SIGSTOP);
    for _ in 0..40 {
        before.push(connect(port));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    first.signal(kill_signal);
    first.signal(libc::SIGCONT);
    let status = first.wait(20);
    if kill_signal == libc::SIGTERM {
        assert!(status.success(), "hellofdpass after SIGTERM: {status}; output:\n{}", first.output());
    }
    // No handler now: portlisten accepts and keeps retrying.
    let mut during = Vec::new();
    for _ in 0..50 {
        during.push(connect(port));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let second = start_handler(&sb, &sock, GREETING);
    let mut after = Vec::new();
    for _ in 0..50 {
        after.push(connect(port));
    }

    let mut lost = 0;
    for (i, s) in before.into_iter().enumerate() {
        match read_all(s) {
            Ok(got) if got == GREETING => {}
            Ok(got) if got.is_empty() && kill_signal == libc::SIGKILL => lost += 1,
            Ok(got) => panic!("connection {i} before the restart: got {got:?}"),
            Err(e) => panic!("connection {i} before the restart: {e}"),
        }
    }
    for (phase, conns) in [("while no handler ran", during), ("after the restart", after)] {
        for (i, s) in conns.into_iter().enumerate() {
            match read_all(s) {
                Ok(got) => assert_eq!(got, GREETING, "connection {i} {phase}"),
                Err(e) => panic!("connection {i} {phase}: {e}"),
            }
        }
    }
    println!("{name}: {lost} of the 50 connections queued to the killed handler were closed unanswered");
    assert!(pl.child.try_wait().unwrap().is_none(), "portlisten died:\n{}", pl.output());
    drop(second);
}

#[test]
fn handler_restarted_with_sigterm_loses_no_connection() {
    restart_mid_run("ex-restart-term", libc::SIGTERM);
}

#[test]
fn handler_killed_with_sigkill_leaves_no_connection_hanging() {
    restart_mid_run("ex-restart-kill", libc::SIGKILL);
}

/// Stop a handler with SIGTERM and return the most descriptors one datagram
/// brought it, from its "at most N fds in one" line.
fn largest_datagram_after_stop(handler: &mut Proc) -> usize {
    handler.signal(libc::SIGTERM);
    let status = handler.wait(20);
    let out = handler.output();
    assert!(status.success(), "{} after SIGTERM: {status}; output:\n{out}", handler.name);
    let at = out.find("at most ").unwrap_or_else(|| panic!("{}: no statistics line; output:\n{out}", handler.name));
    let digits: String = out[at + "at most ".len()..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("{}: no count in the statistics line; output:\n{out}", handler.name))
}

/// `n` connections made while portlisten cannot run (frozen), so that they
/// are all pending when it wakes; a moment for the last handshakes to land
/// in the accept queue.
fn connect_while_frozen(pl: &Proc, port: u16, n: usize) -> Vec<std::net::TcpStream> {
    pl.freeze();
    let conns: Vec<_> = (0..n).map(|_| connect(port)).collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    conns
}

fn all_greeted(conns: Vec<std::net::TcpStream>, what: &str) {
    for (i, s) in conns.into_iter().enumerate() {
        match read_all(s) {
            Ok(got) => assert_eq!(got, GREETING, "{what}: connection {i}"),
            Err(e) => panic!("{what}: connection {i}: {e}"),
        }
    }
}

#[test]
fn with_max_batch_pending_connections_travel_in_one_datagram_and_the_handler_greets_every_fd() {
    let sb = sandbox("ex-batch");
    let sock = sb.run.join("hello.sock");
    let mut handler = start_handler_with(&sb, &["--log"], &sock, GREETING);
    let mut pl = start_portlisten_with(&sb, &["--max-batch", "253"], 0, &sock);
    let port = pl.listening_port();
    greeted(port, "a lone connection");
    handler.expect_line("(1 of 1 in one datagram)", 10);

    let conns = connect_while_frozen(&pl, port, 50);
    pl.signal(libc::SIGCONT);
    all_greeted(conns, "50 connections pending at once");
    // portlisten woke to 50 pending connections: one accept burst, one
    // datagram of 50 descriptors, each greeted by the handler.
    handler.expect_line("(50 of 50 in one datagram)", 10);
    assert_eq!(largest_datagram_after_stop(&mut handler), 50, "output:\n{}", handler.output());
    still_running(&mut pl);
}

#[test]
fn default_portlisten_keeps_a_classic_one_fd_handler_working_under_a_burst() {
    let sb = sandbox("ex-batch-classic");
    let sock = sb.run.join("hello.sock");
    let mut handler = classic_handler(&sock);
    let mut pl = start_portlisten(&sb, 0, &sock, false);
    let port = pl.listening_port();
    let conns = connect_while_frozen(&pl, port, 30);
    pl.signal(libc::SIGCONT);
    // classic_hellofdpass exits on any datagram with more than one fd.
    all_greeted(conns, "30 pending connections passed one per datagram");
    still_running(&mut handler);
    still_running(&mut pl);
}

/// The handler restarted while batches are in flight: the old handler is
/// stopped (SIGTERM) with a multi-fd datagram queued to it and serves all of
/// it; the next batch, accepted while no handler runs, is retried whole
/// until the new handler takes it. Every connection is greeted.
#[test]
fn handler_restarted_mid_batch_loses_no_connection() {
    let sb = sandbox("ex-restart-batch");
    let sock = sb.run.join("hello.sock");
    let mut first = start_handler(&sb, &sock, GREETING);
    let mut pl = start_portlisten_with(&sb, &["--max-batch", "253"], 0, &sock);
    let port = pl.listening_port();

    // A batch of 30 queued to the frozen first handler.
    first.freeze();
    let queued = connect_while_frozen(&pl, port, 30);
    pl.signal(libc::SIGCONT);
    std::thread::sleep(std::time::Duration::from_millis(300));
    // A second batch of 30 waits in portlisten's accept queue.
    let pending = connect_while_frozen(&pl, port, 30);

    // Restart: the first handler serves its queued batch and exits...
    first.signal(libc::SIGTERM);
    first.signal(libc::SIGCONT);
    let largest_first = largest_datagram_after_stop(&mut first);
    // ...portlisten, woken, accepts the second batch with no handler there
    // and retries it whole.
    pl.signal(libc::SIGCONT);
    pl.expect_output("retrying 30 connection(s)", 20);
    let mut second = start_handler(&sb, &sock, GREETING);
    let after: Vec<_> = (0..20).map(|_| connect(port)).collect();

    all_greeted(queued, "a batch queued to the handler that was stopped");
    all_greeted(pending, "a batch accepted while no handler ran");
    all_greeted(after, "after the restart");
    assert!(largest_first > 1, "the first handler never got a multi-fd datagram:\n{}", first.output());
    let largest_second = largest_datagram_after_stop(&mut second);
    assert_eq!(largest_second, 30, "the retried batch did not arrive whole:\n{}", second.output());
    still_running(&mut pl);
}

/// Start `hellofdpass --exec` with `options`, waiting for listening sockets
/// at `sock`, to become c-tests/activated_greeter.
fn start_exec_handler(sb: &Sandbox, options: &[&str], sock: &Path) -> Proc {
    static GREETER: OnceLock<PathBuf> = OnceLock::new();
    let built = GREETER.get_or_init(|| compile_c("activated_greeter", &["activated_greeter.c"], Link::Dynamic, &[]));
    // Into the sandbox, where uid 65534 may execute it.
    let exe = sb.bin.join("activated_greeter");
    std::fs::copy(built, &exe).unwrap_or_else(|e| panic!("copying activated_greeter: {e}"));
    let mut cmd = sb.command("hellofdpass");
    cmd.arg("--exec").args(options).arg(sock).arg("--").arg(&exe);
    let mut p = Proc::spawn("hellofdpass --exec", &mut cmd);
    p.expect_line("waiting for listening sockets", 10);
    p
}

/// The descriptors open in process `pid`.
fn open_fds(pid: i32) -> Vec<i32> {
    let mut fds: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().parse().unwrap())
        .collect();
    fds.sort();
    fds
}

fn activated_answer(port: u16) -> String {
    read_all(connect(port)).unwrap_or_else(|e| panic!("the activated daemon on port {port}: {e}"))
}

#[test]
fn exec_mode_runs_a_socket_activated_daemon_as_uid_65534_on_two_low_ports() {
    if skip_unless_root("the exec-mode test (ports below 1024, the daemon dropped to uid 65534)") {
        return;
    }
    let sb = sandbox("ex-exec");
    let sock = sb.run.join("activate.sock");
    let (web, alt) = (free_low_port(), free_low_port());
    let mut handler = start_exec_handler(&sb, &["--user", "65534", "--fds", "2", "--fdnames", "web:alt"], &sock);
    let pid = handler.pid();
    for port in [web, alt] {
        let mut pl = start_portlisten(&sb, port, &sock, true);
        assert_eq!(pl.listening_port(), port);
        assert!(pl.wait(20).success(), "portlisten --listener {port}:\n{}", pl.output());
    }
    // The same process, now the daemon: LISTEN_PID matched its pid, the two
    // sockets came as fds 3 and 4, in order, with their names.
    let line = handler.expect_line("activated_greeter: pid", 20);
    assert_eq!(
        line,
        format!("activated_greeter: pid {pid} uid 65534 gid 65534, 2 fds: web={web} alt={alt}"),
        "output:\n{}",
        handler.output()
    );
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert!(exe.ends_with("activated_greeter"), "pid {pid} runs {}", exe.display());
    assert_eq!(proc_status(pid, "Uid"), vec!["65534"; 4], "the daemon's uids");
    assert_eq!(proc_status(pid, "Gid"), vec!["65534"; 4], "the daemon's gids");
    assert_eq!(proc_status(pid, "CapEff"), vec!["0000000000000000"], "the daemon's effective capabilities");
    assert_eq!(proc_status(pid, "CapPrm"), vec!["0000000000000000"], "the daemon's permitted capabilities");
    assert_eq!(open_fds(pid), vec![0, 1, 2, 3, 4], "descriptors open in the daemon");
    assert!(!exists(&sock), "hellofdpass left {} behind", sock.display());
    for (name, port) in [("web", web), ("alt", alt)] {
        for _ in 0..5 {
            assert_eq!(activated_answer(port), format!("activated {name} uid 65534 gid 65534 pid {pid}\n"));
        }
    }
    still_running(&mut handler);
}

#[test]
fn exec_mode_without_a_user_switch_hands_the_listener_over_as_fd_3() {
    // The handler runs as this test's user: so does its directory (portlisten
    // refuses a socket in a directory someone else may change).
    let sb = Sandbox::new("ex-exec-plain", examples(), my_uid());
    let sock = sb.run.join("activate.sock");
    let mut handler = start_exec_handler(&sb, &["--setenv", "FDCRED_FOR_THE_DAEMON=yes"], &sock);
    let pid = handler.pid();
    let mut pl = start_portlisten_with(&sb, &["--listener", "--user", &my_uid().to_string()], 0, &sock);
    let port = pl.listening_port();
    assert!(pl.wait(20).success(), "portlisten --listener:\n{}", pl.output());
    let line = handler.expect_line("activated_greeter: pid", 20);
    let uid = my_uid();
    // SAFETY: getgid has no preconditions and cannot fail.
    let gid = unsafe { libc::getgid() };
    assert_eq!(line, format!("activated_greeter: pid {pid} uid {uid} gid {gid}, 1 fds: listener={port}"));
    assert_eq!(open_fds(pid), vec![0, 1, 2, 3], "descriptors open in the daemon");
    let environ = String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/environ")).unwrap()).into_owned();
    assert!(environ.split('\0').any(|kv| kv == "FDCRED_FOR_THE_DAEMON=yes"), "--setenv missing: {environ:?}");
    assert!(activated_answer(port).starts_with("activated listener uid "));
}

/// A numeric --user without a passwd entry gets gid 65534 (nogroup), not
/// its own number (which may be a real group: 42 is shadow on Debian).
#[test]
fn a_uid_without_a_passwd_entry_runs_with_gid_65534_not_its_own_number() {
    if skip_unless_root("the passwd-less uid test (the daemon dropped to uid 4242)") {
        return;
    }
    const NO_PASSWD: u32 = 4242;
    if passwd_of(NO_PASSWD).1 != "/" {
        println!("SKIP: uid {NO_PASSWD} has a passwd entry here");
        return;
    }
    let sb = Sandbox::new("ex-no-passwd", examples(), NO_PASSWD);
    let sock = sb.run.join("activate.sock");
    let handler = start_exec_handler(&sb, &["--user", &NO_PASSWD.to_string()], &sock);
    let mut pl = start_portlisten_with(&sb, &["--listener", "--user", &NO_PASSWD.to_string()], 0, &sock);
    let port = pl.listening_port();
    pl.expect_output(&format!("running as uid {NO_PASSWD} gid 65534"), 10);
    assert!(pl.wait(20).success(), "portlisten --listener:\n{}", pl.output());
    let pid = handler.pid();
    assert_eq!(activated_answer(port), format!("activated listener uid {NO_PASSWD} gid 65534 pid {pid}\n"));
    assert_eq!(proc_status(pid, "Gid"), vec!["65534"; 4], "the daemon's gids");
}

#[test]
fn exec_mode_refuses_an_unknown_user_and_a_wrong_name_count_at_start() {
    let sb = sandbox("ex-exec-args");
    let sock = sb.run.join("activate.sock");
    for (options, says) in [
        (&["--user", "no-such-user-fdcred"][..], "no user no-such-user-fdcred"),
        (&["--fds", "2", "--fdnames", "web"][..], "--fdnames needs 2 name(s)"),
        (&["--fdnames", "a b"][..], "--fdnames needs 1 name(s)"),
    ] {
        let mut cmd = sb.command("hellofdpass");
        cmd.arg("--exec").args(options).arg(&sock).arg("--").arg("/bin/true");
        let mut p = Proc::spawn("hellofdpass --exec", &mut cmd);
        let status = p.wait(20);
        assert_eq!(status.code(), Some(2), "hellofdpass --exec {options:?}: {status}\n{}", p.output());
        assert!(p.output().contains(says), "hellofdpass --exec {options:?} should say {says:?}:\n{}", p.output());
        assert!(!exists(&sock), "hellofdpass --exec {options:?} bound {}", sock.display());
    }
}

#[test]
fn exec_mode_stopped_before_its_sockets_arrive_exits_cleanly_without_exec() {
    // The handler runs as this test's user: so does its directory (portlisten
    // refuses a socket in a directory someone else may change).
    let sb = Sandbox::new("ex-exec-stop", examples(), my_uid());
    let sock = sb.run.join("activate.sock");
    let mut handler = start_exec_handler(&sb, &["--fds", "2"], &sock);
    let mut pl = start_portlisten_with(&sb, &["--listener", "--user", &my_uid().to_string()], 0, &sock);
    pl.listening_port();
    assert!(pl.wait(20).success(), "portlisten --listener:\n{}", pl.output());
    handler.expect_line("listening socket 1 of 2", 10);
    handler.signal(libc::SIGTERM);
    let status = handler.wait(20);
    assert!(status.success(), "hellofdpass --exec after SIGTERM: {status}\n{}", handler.output());
    assert!(!handler.output().contains("activated_greeter"), "it exec'd anyway:\n{}", handler.output());
    assert!(!exists(&sock), "hellofdpass left {} behind", sock.display());
}

#[test]
fn listener_mode_handler_accepts_on_the_passed_listening_socket() {
    if skip_unless_root("the listener-mode test (port below 1024, handler as uid 65534)") {
        return;
    }
    let sb = sandbox("ex-listener");
    let sock = sb.run.join("hello.sock");
    let port = free_low_port();
    let mut handler = start_handler_with(&sb, &["--log"], &sock, GREETING);
    let mut pl = start_portlisten(&sb, port, &sock, true);
    assert_eq!(pl.listening_port(), port);
    let status = pl.wait(20);
    assert!(status.success(), "portlisten --listener: {status}; output:\n{}", pl.output());
    handler.expect_line("received a listening socket", 10);
    // portlisten is gone: uid 65534 alone serves the low port now.
    for i in 0..20 {
        greeted(port, &format!("connection {i} accepted by the handler"));
    }
    handler.expect_line("accepted fd", 10);
}

/// Listener mode waits in accept4 itself (no poll per connection), yet what
/// arrives on its datagram socket (a restarted portlisten's new listener,
/// connections) and a stop still wake it at once, with no connection on
/// the old listener to do it.
#[test]
fn listener_mode_blocked_in_accept_wakes_for_a_new_listener_passed_connections_and_a_stop() {
    let sb = sandbox("ex-listener-wake");
    let sock = sb.run.join("hello.sock");
    let mut handler = start_handler(&sb, &sock, GREETING);
    let mut first = start_portlisten(&sb, 0, &sock, true);
    let old_port = first.listening_port();
    assert!(first.wait(20).success(), "portlisten --listener:\n{}", first.output());
    handler.expect_line("received a listening socket", 10);
    greeted(old_port, "on the first listener");

    // A restarted portlisten hands over a new listener; the handler, blocked
    // in accept4 on the old one, switches at once and closes the old one.
    let mut second = start_portlisten(&sb, 0, &sock, true);
    let new_port = second.listening_port();
    assert!(second.wait(20).success(), "the second portlisten --listener:\n{}", second.output());
    handler.expect_line("received a listening socket", 5);
    greeted(new_port, "on the new listener");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", old_port)).is_ok() {
        assert!(std::time::Instant::now() < deadline, "the old listener on port {old_port} is still open");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    // Connections passed one per datagram are greeted while it waits in
    // accept4 on the new listener (the old one no longer wakes it).
    let mut passer = start_portlisten(&sb, 0, &sock, false);
    let passed_port = passer.listening_port();
    let start = std::time::Instant::now();
    for i in 0..5 {
        greeted(passed_port, &format!("passed connection {i}"));
    }
    assert!(start.elapsed() < std::time::Duration::from_secs(3), "passed connections took {:?}", start.elapsed());
    still_running(&mut passer);
    drop(passer);

    // A stop while it waits in accept4 ends it promptly and cleanly.
    handler.signal(libc::SIGTERM);
    let status = handler.wait(5);
    assert!(status.success(), "hellofdpass after SIGTERM in accept4: {status}\n{}", handler.output());
}

fn credclient(sb: &Sandbox, server: &Path, uid: u32, gid: u32) -> (i32, i32, String) {
    let mut cmd = sb.command("credclient");
    cmd.arg(server);
    as_user(&mut cmd, uid, gid);
    let mut p = Proc::spawn("credclient", &mut cmd);
    let pid = p.pid();
    let status = p.wait(20);
    (status.code().unwrap_or(-1), pid, p.output())
}

#[test]
fn credserver_serves_the_allowed_uid_and_refuses_another() {
    if skip_unless_root("the credential server test (clients as other uids)") {
        return;
    }
    let sb = Sandbox::new("ex-cred", examples(), 0);
    let path = sb.run.join("cred.sock");
    for user in ["65534", "nobody"] {
        let mut cmd = sb.command("credserver");
        cmd.arg(&path).arg(user);
        let mut server = Proc::spawn("credserver", &mut cmd);
        server.expect_line("serving only uid 65534", 10);

        let (code, pid, out) = credclient(&sb, &path, NOBODY, NOBODY);
        assert_eq!(code, 0, "allowed client (uid 65534, server for {user:?}) exit; output:\n{out}");
        let answer = format!("the server says: pid {pid} uid 65534 gid 65534");
        assert!(out.contains(&answer), "allowed client should get {answer:?}; output:\n{out}");

        for (uid, gid) in [(1234, 4321), (0, 0)] {
            let (code, pid, out) = credclient(&sb, &path, uid, gid);
            assert_eq!(code, 3, "client uid {uid} should be refused (exit 3); output:\n{out}");
            assert!(out.contains("refused"), "client uid {uid}: output:\n{out}");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            let logged = format!("REFUSED connection from pid {pid} uid {uid} gid {gid}");
            while !server.output().contains(&logged) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "credserver did not log {logged:?}:\n{}",
                    server.output()
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        server.signal(libc::SIGTERM);
        assert!(server.wait(10).success(), "credserver after SIGTERM:\n{}", server.output());
        assert!(!exists(&path), "credserver left {} behind", path.display());
    }
}

/// credserver's socket is 0666 through the umask at bind (no chmod that
/// would follow a symlink put in its place), and at exit it removes its
/// socket only: not what someone put at the path since.
#[test]
fn credserver_creates_its_socket_0666_and_leaves_a_replacement_alone_at_exit() {
    let sb = Sandbox::new("ex-cred-path", examples(), my_uid());
    let path = sb.run.join("cred.sock");
    let mut cmd = sb.command("credserver");
    cmd.arg(&path).arg("65534");
    let mut server = Proc::spawn("credserver", &mut cmd);
    server.expect_line("serving only uid 65534", 10);
    assert_eq!(mode_of(&path), 0o666, "{}", path.display());
    std::fs::rename(&path, sb.run.join("moved.sock")).unwrap();
    std::fs::write(&path, "not credserver's").unwrap();
    server.signal(libc::SIGTERM);
    assert!(server.wait(10).success(), "credserver after SIGTERM:\n{}", server.output());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "not credserver's",
        "credserver removed a file it did not bind"
    );
}

/// The classic handler at `sock`, as uid/gid 65534 when root (the user
/// portlisten runs as once bound, so it may write the socket).
fn classic_handler(sock: &Path) -> Proc {
    let mut cmd = Command::new(classic("classic_hellofdpass"));
    cmd.arg(sock).arg(GREETING);
    if is_root() {
        as_user(&mut cmd, NOBODY, NOBODY);
    }
    let mut p = Proc::spawn("classic_hellofdpass", &mut cmd);
    p.expect_line("ready", 10);
    p
}

fn still_running(p: &mut Proc) {
    assert!(p.child.try_wait().unwrap().is_none(), "{} exited:\n{}", p.name, p.output());
}

#[test]
fn example_portlisten_feeds_a_classic_recvmsg_handler() {
    let sb = sandbox("ex-classic-h");
    let sock = sb.run.join("hello.sock");
    let mut handler = classic_handler(&sock);
    let mut pl = start_portlisten(&sb, 0, &sock, false);
    let port = pl.listening_port();
    for i in 0..20 {
        greeted(port, &format!("connection {i} through the classic handler"));
    }
    still_running(&mut handler);
}

#[test]
fn example_portlisten_listener_mode_feeds_a_classic_handler() {
    let sb = sandbox("ex-classic-hl");
    let sock = sb.run.join("hello.sock");
    let mut handler = classic_handler(&sock);
    let mut pl = start_portlisten(&sb, 0, &sock, true);
    let port = pl.listening_port();
    assert!(pl.wait(20).success(), "portlisten --listener:\n{}", pl.output());
    handler.expect_line("accepting on the received listening socket", 10);
    for i in 0..20 {
        greeted(port, &format!("connection {i} accepted by the classic handler"));
    }
    still_running(&mut handler);
}

fn classic_portlisten(sock: &Path, listener: bool) -> Proc {
    let mut cmd = Command::new(classic("classic_portlisten"));
    if listener {
        cmd.arg("--listener");
    }
    cmd.arg("0").arg(sock);
    Proc::spawn("classic_portlisten", &mut cmd)
}

#[test]
fn classic_sendmsg_portlisten_feeds_example_hellofdpass() {
    let sb = sandbox("ex-classic-p");
    let sock = sb.run.join("hello.sock");
    let _handler = start_handler(&sb, &sock, GREETING);
    let mut pl = classic_portlisten(&sock, false);
    let port = pl.listening_port();
    for i in 0..20 {
        greeted(port, &format!("connection {i} from the classic listener"));
    }
    still_running(&mut pl);
}

#[test]
fn classic_portlisten_listener_mode_feeds_example_hellofdpass() {
    let sb = sandbox("ex-classic-pl");
    let sock = sb.run.join("hello.sock");
    let mut handler = start_handler(&sb, &sock, GREETING);
    let mut pl = classic_portlisten(&sock, true);
    let port = pl.listening_port();
    assert!(pl.wait(20).success(), "classic_portlisten --listener:\n{}", pl.output());
    handler.expect_line("received a listening socket", 10);
    for i in 0..20 {
        greeted(port, &format!("connection {i} accepted by hellofdpass"));
    }
}

/// portlisten passes nothing to a socket a stranger bound at SOCKPATH (it
/// would get the port), nor to one in a directory others may write: it
/// says why and exits 1.
#[test]
fn portlisten_refuses_a_strangers_socket_and_a_directory_others_may_write() {
    if skip_unless_root("the socket-owner test (a socket owned by uid 1234)") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let sb = sandbox("ex-owner");
    let sock = sb.run.join("hello.sock");
    let _bound = std::os::unix::net::UnixDatagram::bind(&sock).unwrap();
    std::os::unix::fs::chown(&sock, Some(STRANGER), Some(STRANGER)).unwrap();
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let mut pl = start_portlisten_with(&sb, &["--listener"], 0, &sock);
    pl.listening_port();
    assert_eq!(pl.wait(20).code(), Some(1), "portlisten handing its listener to uid {STRANGER}:\n{}", pl.output());
    let want = format!("refusing {}: a socket owned by uid {STRANGER}", sock.display());
    assert!(pl.output().contains(&want), "no {want:?} in:\n{}", pl.output());
    // --handler-user names whom the operator trusts.
    let mut pl = start_portlisten_with(&sb, &["--listener", "--handler-user", &STRANGER.to_string()], 0, &sock);
    pl.listening_port();
    assert!(pl.wait(20).success(), "portlisten --handler-user {STRANGER}:\n{}", pl.output());

    // The handler's own socket, in a directory anyone may write (not sticky).
    let open = sb.dir.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let sock = open.join("hello.sock");
    let mut handler = start_handler(&sb, &sock, GREETING);
    let mut pl = start_portlisten(&sb, 0, &sock, true);
    pl.listening_port();
    assert_eq!(pl.wait(20).code(), Some(1), "portlisten with the socket in a 0777 directory:\n{}", pl.output());
    assert!(pl.output().contains("lets others replace the socket"), "{}", pl.output());
    // Sticky (as /tmp): others cannot replace the handler's socket there.
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let mut pl = start_portlisten(&sb, 0, &sock, true);
    pl.listening_port();
    assert!(pl.wait(20).success(), "portlisten with the socket in a 1777 directory:\n{}", pl.output());
    handler.expect_line("received a listening socket", 10);
}

/// hellofdpass --exec --user, as root, gives its socket to USER after the
/// bind: not in a directory where someone else could swap in another file
/// under that name first.
#[test]
fn exec_mode_as_root_refuses_a_socket_directory_others_may_write() {
    if skip_unless_root("the exec-mode directory test (--user needs root)") {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let sb = sandbox("ex-exec-opendir");
    let open = sb.dir.join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut cmd = sb.command("hellofdpass");
    cmd.args(["--exec", "--user", "65534"]).arg(open.join("activate.sock")).args(["--", "/bin/true"]);
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "hellofdpass --exec --user in a 0777 directory: {err}");
    assert!(err.contains("lets others replace the socket"), "{err}");
    assert!(!open.join("activate.sock").exists(), "hellofdpass bound in a 0777 directory");
}

/// A sandbox whose socket directory the handler (65534 when root) can
/// write in.
fn sandbox(name: &str) -> Sandbox {
    Sandbox::new(name, examples(), if is_root() { NOBODY } else { my_uid() })
}

/// `cmd` under valgrind memcheck, tracking descriptors, logging to `log`.
fn under_valgrind(sb: &Sandbox, program: &str, log: &Path) -> Command {
    let mut cmd = Command::new("valgrind");
    cmd.args(["-q", "--track-fds=yes", "--leak-check=full", "--errors-for-leak-kinds=definite", "--error-exitcode=99"]);
    cmd.args(support::valgrind_target_args());
    cmd.arg(format!("--log-file={}", log.display()));
    cmd.arg(sb.bin.join(program));
    cmd.env("LD_LIBRARY_PATH", &sb.bin);
    cmd
}

/// Every descriptor valgrind saw open at exit was inherited (stdio, the
/// log); anything the program opened itself is a leak.
fn assert_no_fd_left_open(program: &str, log: &Path) {
    let text = std::fs::read_to_string(log).unwrap_or_else(|e| panic!("reading {}: {e}", log.display()));
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.contains("== Open ") {
            let next = lines.get(i + 1).copied().unwrap_or("");
            assert!(next.contains("inherited from parent"), "{program} left a descriptor open at exit:\n{text}");
        }
    }
    assert!(!text.contains("definitely lost"), "{program} leaked memory:\n{text}");
}

#[test]
fn examples_close_every_descriptor_under_valgrind() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("SKIP: valgrind is not installed (scripts/setup installs it)");
        return;
    }
    // The handler runs as this test's user: so does its directory (portlisten
    // refuses a socket in a directory someone else may change).
    let sb = Sandbox::new("ex-valgrind", examples(), my_uid());
    let sock = sb.run.join("hello.sock");
    let logs: Vec<PathBuf> = ["hellofdpass", "portlisten", "credserver", "credclient"]
        .iter()
        .map(|p| sb.dir.join(format!("{p}.vg")))
        .collect();

    let mut cmd = under_valgrind(&sb, "hellofdpass", &logs[0]);
    cmd.arg(&sock).arg(GREETING);
    let mut handler = Proc::spawn("hellofdpass under valgrind", &mut cmd);
    handler.expect_line("waiting for descriptors", 60);
    let mut cmd = under_valgrind(&sb, "portlisten", &logs[1]);
    // The handler runs as this test's user: so does portlisten once bound.
    cmd.args(["--user", &my_uid().to_string()]).arg("0").arg(&sock);
    let mut pl = Proc::spawn("portlisten under valgrind", &mut cmd);
    let port = pl.listening_port_within(60);
    for i in 0..10 {
        greeted(port, &format!("connection {i} under valgrind"));
    }
    let path = sb.run.join("cred.sock");
    let mut cmd = under_valgrind(&sb, "credserver", &logs[2]);
    cmd.arg(&path).arg(my_uid().to_string());
    let mut server = Proc::spawn("credserver under valgrind", &mut cmd);
    server.expect_line("serving only", 60);
    let mut cmd = under_valgrind(&sb, "credclient", &logs[3]);
    cmd.arg("--server-user").arg(my_uid().to_string()).arg(&path);
    let mut client = Proc::spawn("credclient under valgrind", &mut cmd);
    let status = client.wait(60);
    assert!(status.success(), "credclient under valgrind: {status}\n{}", client.output());

    for (p, log) in [&mut handler, &mut pl, &mut server].into_iter().zip(&logs) {
        p.signal(libc::SIGTERM);
        let status = p.wait(60);
        let valgrind = std::fs::read_to_string(log).unwrap_or_default();
        assert!(status.success(), "{} after SIGTERM: {status}\n{}\nvalgrind log:\n{valgrind}", p.name, p.output());
    }
    for (p, log) in ["hellofdpass", "portlisten", "credserver", "credclient"].iter().zip(&logs) {
        assert_no_fd_left_open(p, log);
    }
}

// ---------- issue 23: the hand-off programs as an operator and an attacker meet them ----------

/// Run `f` in a forked child as `uid`:`gid` (no groups) and return what it
/// returns (0 to 199), e.g. an errno.
fn in_child_as(uid: u32, gid: u32, f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork in a multi-threaded process: the child calls only
    // async-signal-safe system calls (setgroups, setgid, setuid, what `f`
    // does, which the callers keep to plain system calls on data prepared
    // before the fork) and _exit.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                libc::_exit(200);
            }
            libc::_exit(f().clamp(0, 199));
        }
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        assert!(libc::WIFEXITED(status), "child as uid {uid} died: status {status:#x}");
        let code = libc::WEXITSTATUS(status);
        assert!(code < 200, "child could not switch to uid {uid}");
        code
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The uid a stranger runs as: neither root, nor 65534, nor this test.
const STRANGER: u32 = 1234;

#[test]
fn root_portlisten_runs_as_nobody_once_bound_and_its_listener_cannot_be_taken() {
    if skip_unless_root("the privilege-drop test (port below 1024, uid 65534)") {
        return;
    }
    let sb = sandbox("ex-drop");
    let sock = sb.run.join("hello.sock");
    let port = free_low_port();
    let _handler = start_handler(&sb, &sock, GREETING);
    // Started with a descriptor of root's left open (as fd 9): it must not
    // keep it once it runs as nobody.
    let mut cmd = sb.command("portlisten");
    cmd.arg(port.to_string()).arg(&sock);
    // SAFETY: dup2 is async-signal-safe; the new fd 9 is not close-on-exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            if libc::dup2(2, 9) != 9 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut pl = Proc::spawn("portlisten", &mut cmd);
    pl.expect_line("running as uid 65534 gid 65534 (nobody) from now on", 10);
    assert_eq!(pl.listening_port(), port, "the low port, bound as root before the drop");
    let pid = pl.pid();
    assert_eq!(proc_status(pid, "Uid"), vec!["65534"; 4], "portlisten's uids once bound");
    assert_eq!(proc_status(pid, "Gid"), vec!["65534"; 4], "portlisten's gids once bound");
    for caps in ["CapEff", "CapPrm", "CapInh", "CapAmb"] {
        assert_eq!(proc_status(pid, caps), vec!["0000000000000000"], "portlisten's {caps}");
    }
    assert_eq!(open_fds(pid), vec![0, 1, 2, 3, 4], "portlisten's descriptors: stdio, the listener, the handler's");
    // It still reaches the handler's 0600 socket (the handler is 65534 too).
    for i in 0..20 {
        greeted(port, &format!("connection {i} after the drop"));
    }
    // The handler's user cannot take the listening socket out of it: the
    // process is not dumpable, so its fd directory is closed to uid 65534
    // (and ptrace and pidfd_getfd are refused by the same check).
    let fd_dir = std::ffi::CString::new(format!("/proc/{pid}/fd")).unwrap();
    let e = in_child_as(NOBODY, NOBODY, || {
        // SAFETY: a C string made before the fork; open and close only.
        let fd = unsafe { libc::open(fd_dir.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
        if fd >= 0 {
            // SAFETY: our own descriptor.
            unsafe { libc::close(fd) };
            0
        } else {
            errno()
        }
    });
    assert_eq!(e, libc::EACCES, "uid 65534 opening /proc/{pid}/fd of portlisten (0 = it could)");
    still_running(&mut pl);
}

#[test]
fn portlisten_default_serves_a_classic_one_fd_handler_with_concurrent_clients() {
    let sb = sandbox("ex-classic-concurrent");
    let sock = sb.run.join("hello.sock");
    let mut handler = classic_handler(&sock);
    let mut pl = start_portlisten(&sb, 0, &sock, false);
    let port = pl.listening_port();
    // 8 clients at once, 25 connections each, all in flight together: with
    // batching by default the classic handler leaked the second fd of every
    // two-fd datagram and those clients hung.
    let clients: Vec<_> = (0..8)
        .map(|c| {
            std::thread::spawn(move || {
                for i in 0..25 {
                    match read_all(connect(port)) {
                        Ok(got) => assert_eq!(got, GREETING, "client {c}, connection {i}"),
                        Err(e) => panic!("client {c}, connection {i}: {e}"),
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.join().expect("a client thread failed");
    }
    still_running(&mut handler);
    still_running(&mut pl);
}

/// Start hellofdpass (as 65534 when root) under umask 000 with `options`.
fn start_handler_under_umask_0(sb: &Sandbox, options: &[&str], sock: &Path) -> Proc {
    let mut cmd = sb.command("hellofdpass");
    cmd.args(options).arg(sock).arg(GREETING);
    if is_root() {
        as_user(&mut cmd, NOBODY, NOBODY);
    }
    // SAFETY: umask is async-signal-safe and cannot fail.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let mut p = Proc::spawn("hellofdpass under umask 000", &mut cmd);
    p.expect_line("waiting for descriptors", 10);
    p
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display())).permissions().mode()
        & 0o7777
}

#[test]
fn hellofdpass_under_umask_000_creates_its_socket_0600_unless_told() {
    let sb = sandbox("ex-umask");
    let sock = sb.run.join("hello.sock");
    let mut handler = start_handler_under_umask_0(&sb, &[], &sock);
    assert_eq!(mode_of(&sock), 0o600, "{} under umask 000", sock.display());
    if is_root() {
        // Nobody else may even connect.
        let path = std::ffi::CString::new(sock.as_os_str().as_encoded_bytes()).unwrap();
        let e = in_child_as(STRANGER, STRANGER, || connect_dgram_errno(&path));
        assert_eq!(e, libc::EACCES, "uid {STRANGER} connecting to the handler's socket (0 = it could)");
    }
    let mut pl = start_portlisten(&sb, 0, &sock, false);
    greeted(pl.listening_port(), "through the 0600 socket");
    handler.signal(libc::SIGTERM);
    assert!(handler.wait(20).success(), "{}", handler.output());

    let sock2 = sb.run.join("shared.sock");
    let _shared = start_handler_under_umask_0(&sb, &["--mode", "0660"], &sock2);
    assert_eq!(mode_of(&sock2), 0o660, "{} with --mode 0660 under umask 000", sock2.display());
}

/// connect(2) a datagram socket to `path`: 0 or the errno. For a forked
/// child: system calls only.
fn connect_dgram_errno(path: &std::ffi::CStr) -> i32 {
    // SAFETY: plain system calls on a zeroed sockaddr_un filled from a C
    // string shorter than sun_path (the callers' sandbox paths are short).
    unsafe {
        let s = libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM, 0);
        let mut sun: libc::sockaddr_un = std::mem::zeroed();
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let bytes = path.to_bytes();
        for (i, b) in bytes.iter().enumerate() {
            sun.sun_path[i] = *b as libc::c_char;
        }
        let r = libc::connect(s, &sun as *const _ as *const libc::sockaddr, std::mem::size_of_val(&sun) as u32);
        let e = if r == 0 { 0 } else { errno() };
        libc::close(s);
        e
    }
}

/// A stranger (python3 as another uid) handing hellofdpass descriptors:
/// `conn` sends one end of a socketpair twice, tagged as a connection, and
/// reports whether it was greeted ("stranger: got b'...'") or closed unused
/// ("stranger: got b''"); `listen` sends a listening socket of its own.
const STRANGER_PY: &str = r#"
import socket, sys
mode, path = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(path)  # send_fds ignores its address argument (cpython gh-127840)
if mode == "empty":
    s.send(b"")
    print("stranger: sent an empty datagram", flush=True)
elif mode == "linger":
    # A TCP socket with unsent data and SO_LINGER on for 5 s: the last
    # close of it waits, unless lingering is turned off first.
    import struct
    srv = socket.create_server(("127.0.0.1", 0))
    c = socket.create_connection(srv.getsockname())
    peer, _ = srv.accept()  # never reads
    c.setblocking(False)
    try:
        while True:
            c.send(b"x" * 65536)
    except BlockingIOError:
        pass
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 5))
    socket.send_fds(s, [b"C"], [c.fileno()])
    c.close()  # the handler's close is the last (the test stopped it)
    print("stranger: sent a lingering socket", flush=True)
    import time
    time.sleep(10)  # the peer stays, not reading (its close would reset c)
elif mode == "conn":
    a, b = socket.socketpair()
    for _ in range(2):
        socket.send_fds(s, [b"C"], [a.fileno()])
    a.close()
    b.settimeout(10)
    print("stranger: got %r" % b.recv(100), flush=True)
else:
    l = socket.create_server(("127.0.0.1", 0))
    socket.send_fds(s, [b"L"], [l.fileno()])
    print("stranger: sent a listener on port %d" % l.getsockname()[1], flush=True)
    l.close()
"#;

fn stranger(mode: &str, sock: &Path, uid: u32) -> String {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(STRANGER_PY).arg(mode).arg(sock);
    as_user(&mut cmd, uid, uid);
    let mut p = Proc::spawn("python3 stranger", &mut cmd);
    let status = p.wait(30);
    assert!(status.success(), "the stranger (python3 as uid {uid}) failed: {status}\n{}", p.output());
    p.output()
}

fn python3_sends_fds() -> bool {
    let ok = Command::new("python3").args(["-c", "import socket; socket.send_fds"]).output();
    if !matches!(&ok, Ok(o) if o.status.success()) {
        println!("SKIP: python3 with socket.send_fds (3.9+) is needed for the stranger");
        return false;
    }
    true
}

/// A stranger's socket with SO_LINGER on and unsent data costs the
/// handler no wait: lingering is turned off before the refused fd is
/// closed (it would otherwise block for the 5 s the stranger chose).
#[test]
fn hellofdpass_closes_a_strangers_lingering_socket_without_waiting() {
    if skip_unless_root("the stranger test (a second uid)") || !python3_sends_fds() {
        return;
    }
    let sb = sandbox("ex-linger");
    let sock = sb.run.join("hello.sock");
    let handler = start_handler_with(&sb, &["--mode", "0666"], &sock, GREETING);
    let mut pl = start_portlisten(&sb, 0, &sock, false);
    let port = pl.listening_port();
    greeted(port, "before the stranger");
    // Stopped while the stranger sends and closes its copy: the handler's
    // close is then the last one, the one that lingers.
    handler.signal(libc::SIGSTOP);
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(STRANGER_PY).arg("linger").arg(&sock);
    as_user(&mut cmd, STRANGER, STRANGER);
    let mut stranger = Proc::spawn("python3 stranger", &mut cmd);
    stranger.expect_line("stranger: sent a lingering socket", 20);
    handler.signal(libc::SIGCONT);
    let start = std::time::Instant::now();
    greeted(port, "right after the stranger's lingering socket");
    let took = start.elapsed();
    assert!(took < std::time::Duration::from_millis(2500), "the handler waited {took:?} on a stranger's linger");
    // Printed on stderr before the greeting, but read by another thread.
    handler.expect_output("REFUSED a datagram with 1 fd(s)", 10);
    still_running(&mut pl);
}

/// Started with stdout closed, hellofdpass puts /dev/null there first: its
/// socket never becomes fd 1, where its own printf would write into it.
#[test]
fn hellofdpass_started_with_stdout_closed_opens_dev_null_there() {
    use std::os::unix::process::CommandExt;
    let sb = sandbox("ex-closed-stdout");
    let sock = sb.run.join("hello.sock");
    let mut cmd = sb.command("hellofdpass");
    cmd.arg(&sock).arg(GREETING).stdin(std::process::Stdio::null());
    // SAFETY: close is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(1);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as i32;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !exists(&sock) {
        assert!(std::time::Instant::now() < deadline, "hellofdpass did not bind {} in 10 s", sock.display());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let fd1 = std::fs::read_link(format!("/proc/{pid}/fd/1"));
    // SAFETY: kill on our own unreaped child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(fd1.unwrap(), Path::new("/dev/null"), "hellofdpass's fd 1");
    assert!(status.success(), "hellofdpass after SIGTERM: {status}");
}

/// At a stop the handler serves its queue to the end; a stranger's empty
/// datagram in it is not the end (that one carries no credentials).
#[test]
fn a_strangers_empty_datagram_does_not_end_the_drain_at_a_stop() {
    if skip_unless_root("the stranger test (a second uid)") || !python3_sends_fds() {
        return;
    }
    let sb = sandbox("ex-empty");
    let sock = sb.run.join("hello.sock");
    let mut handler = start_handler_with(&sb, &["--mode", "0666"], &sock, GREETING);
    let mut pl = start_portlisten(&sb, 0, &sock, false);
    let port = pl.listening_port();
    greeted(port, "before the stop");
    // Queued while the handler is stopped: a connection, the stranger's
    // empty datagram, another connection.
    handler.signal(libc::SIGSTOP);
    let settle = || std::thread::sleep(std::time::Duration::from_millis(300));
    let first = connect(port);
    settle();
    stranger("empty", &sock, STRANGER);
    let second = connect(port);
    settle();
    handler.signal(libc::SIGTERM);
    handler.signal(libc::SIGCONT);
    assert_eq!(read_all(first).unwrap(), GREETING, "the connection queued before the stranger's datagram");
    assert_eq!(read_all(second).unwrap(), GREETING, "the connection queued after the stranger's empty datagram");
    assert!(handler.wait(20).success(), "{}", handler.output());
}

#[test]
fn hellofdpass_closes_a_strangers_fds_reports_once_and_serves_on() {
    if skip_unless_root("the stranger test (a second uid)") || !python3_sends_fds() {
        return;
    }
    let sb = sandbox("ex-stranger");
    let sock = sb.run.join("hello.sock");
    // --mode 0666: the operator let everyone write the socket (as a umask
    // 000 once did); the per-message credentials still decide.
    let mut handler = start_handler_with(&sb, &["--mode", "0666"], &sock, GREETING);
    for round in 0..2 {
        let out = stranger("conn", &sock, STRANGER);
        assert!(out.contains("stranger: got b''"), "round {round}: the stranger's fd was not closed unused:\n{out}");
    }
    let mut pl = start_portlisten(&sb, 0, &sock, false);
    greeted(pl.listening_port(), "portlisten's connection after the stranger");
    handler.signal(libc::SIGTERM);
    assert!(handler.wait(20).success(), "{}", handler.output());
    let out = handler.output();
    let reports = out.matches(&format!("REFUSED a datagram with 1 fd(s) from uid {STRANGER}")).count();
    assert_eq!(reports, 1, "the stranger's four datagrams must be reported exactly once:\n{out}");
    assert!(out.contains("refused 4 datagrams from strangers"), "the stop line must count them:\n{out}");

    // Named with --allow, the same uid is served.
    let mut handler = start_handler_with(&sb, &["--mode", "0666", "--allow", &STRANGER.to_string()], &sock, GREETING);
    let out = stranger("conn", &sock, STRANGER);
    // (Both copies are greeted: the greeting once or twice, as they land.)
    assert!(out.contains(&format!("stranger: got b'{GREETING}")), "an --allow uid must be served:\n{out}");
    handler.signal(libc::SIGTERM);
    assert!(handler.wait(20).success(), "{}", handler.output());
}

#[test]
fn exec_mode_ignores_a_strangers_listener_and_activates_on_the_real_one() {
    if skip_unless_root("the exec-mode stranger test (a second uid)") || !python3_sends_fds() {
        return;
    }
    let sb = sandbox("ex-exec-stranger");
    let sock = sb.run.join("activate.sock");
    let mut handler = start_exec_handler(&sb, &["--user", "65534", "--mode", "0666"], &sock);
    assert_eq!(mode_of(&sock), 0o666);
    let out = stranger("listen", &sock, STRANGER);
    assert!(out.contains("sent a listener"), "{out}");
    handler.expect_output(&format!("REFUSED a datagram with 1 fd(s) from uid {STRANGER}"), 10);
    let mut pl = start_portlisten(&sb, 0, &sock, true);
    let port = pl.listening_port();
    assert!(pl.wait(20).success(), "portlisten --listener:\n{}", pl.output());
    let line = handler.expect_line("activated_greeter: pid", 20);
    assert!(line.ends_with(&format!("1 fds: listener={port}")), "activated on the wrong socket: {line}");
    assert_eq!(activated_answer(port), format!("activated listener uid 65534 gid 65534 pid {}\n", handler.pid()));
}

/// Kills the processes it names if dropped while a failed assertion
/// unwinds: a hellofdpass or daemon that is not our child (or never
/// reached the end of the test) must not outlive a failing test.
struct KillIfPanicking(Vec<i32>);

impl Drop for KillIfPanicking {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for &pid in &self.0 {
                // SAFETY: kill has no memory-safety preconditions; the pids
                // are still running (the test failed before they ended).
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

/// The passwd entry of `uid`: (name, home, shell), or what hellofdpass
/// uses for a uid without one.
fn passwd_of(uid: u32) -> (String, String, String) {
    let text = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    for line in text.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() >= 7 && f[2] == uid.to_string() {
            return (f[0].into(), f[5].into(), f[6].into());
        }
    }
    (uid.to_string(), "/".into(), "/bin/sh".into())
}

/// hellofdpass --exec started the way an operator starts it: from a shell
/// in a terminal, which makes it a process-group (here session) leader with
/// that terminal as its controlling tty, stdin, stdout and stderr, in some
/// directory, with root's environment, under `nohup` (SIGHUP ignored), with
/// a signal blocked and umask 000.
#[test]
fn exec_mode_from_a_pty_gives_the_daemon_no_terminal_a_clean_environment_and_cwd_root() {
    if skip_unless_root("the terminal test (the daemon as uid 65534)") {
        return;
    }
    exec_from_a_pty(false);
}

/// The same with --keep-tty: the daemon writes to the operator's terminal,
/// and (what an attacker in it tries) can neither type into it nor open
/// /dev/tty, nor find a key in root's session keyring.
#[test]
fn exec_mode_from_a_pty_with_keep_tty_refuses_tiocsti_dev_tty_and_roots_session_keyring() {
    if skip_unless_root("the terminal test (the daemon as uid 65534)") {
        return;
    }
    exec_from_a_pty(true);
}

const OPERATOR_KEY: &std::ffi::CStr = c"fdcred-operator-key";

/// Can this process (root, in a forked child) join a session keyring and
/// add a key to it? 0 if so, else the errno (seccomp may refuse keyctl).
fn session_keyring_errno() -> i32 {
    // SAFETY: keyctl and add_key with a NULL name, and valid C strings and
    // a payload of the length given.
    in_child_as(0, 0, || unsafe {
        if libc::syscall(libc::SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, std::ptr::null::<libc::c_char>()) < 0
            || libc::syscall(libc::SYS_add_key, c"user".as_ptr(), OPERATOR_KEY.as_ptr(), c"root".as_ptr(), 4usize, -3)
                < 0
        {
            return errno();
        }
        0
    })
}

fn exec_from_a_pty(keep_tty: bool) {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let sb = sandbox(if keep_tty { "ex-pty-keep" } else { "ex-pty" });
    let sock = sb.run.join("activate.sock");
    static GREETER: OnceLock<PathBuf> = OnceLock::new();
    let built = GREETER.get_or_init(|| compile_c("activated_greeter", &["activated_greeter.c"], Link::Dynamic, &[]));
    let exe = sb.bin.join("activated_greeter");
    std::fs::copy(built, &exe).unwrap();

    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty with NULL name, termios and winsize writes only the two ints
    // (null_mut: the BSDs declare the last two *mut, Linux *const).
    let r = unsafe {
        libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut())
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned here only.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = sb.command("hellofdpass");
    cmd.args(["--exec", "--user", "65534"]).args(if keep_tty { &["--keep-tty"][..] } else { &[] });
    cmd.arg(&sock).arg("--").arg(&exe);
    cmd.current_dir(&sb.dir).env("HOME", "/root").env("FDCRED_OPERATOR_SECRET", "root-only");
    // Root's session keyring, with a key in it, as after a login.
    let keyring = session_keyring_errno();
    if keyring != 0 {
        println!("SKIP (session keyring part): keyctl: {}", std::io::Error::from_raw_os_error(keyring));
    }
    cmd.stdin(slave.try_clone().unwrap()).stdout(slave.try_clone().unwrap()).stderr(slave.try_clone().unwrap());
    // SAFETY: setsid and ioctl are async-signal-safe; errors are reported
    // through last_os_error, which does not allocate.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if keyring == 0 {
                libc::syscall(libc::SYS_keyctl, 1, std::ptr::null::<libc::c_char>());
                libc::syscall(libc::SYS_add_key, c"user".as_ptr(), OPERATOR_KEY.as_ptr(), c"root".as_ptr(), 4usize, -3);
            }
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            libc::umask(0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("starting hellofdpass --exec on a pty");
    let mut on_failure = KillIfPanicking(vec![child.id() as i32]);
    drop(cmd);
    drop(slave);
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let t = text.clone();
    let mut master_file = std::fs::File::from(master);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = master_file.read(&mut buf) {
            if n == 0 {
                break;
            }
            t.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let wait_for = |needle: &str| -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let now = text.lock().unwrap().clone();
            if let Some(at) = now.find(needle) {
                return now[at..].lines().next().unwrap_or("").to_owned();
            }
            assert!(std::time::Instant::now() < deadline, "no {needle:?} on the terminal within 20 s:\n{now}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    wait_for("waiting for listening sockets");
    let mut pl = start_portlisten(&sb, 0, &sock, true);
    let port = pl.listening_port();
    assert!(pl.wait(20).success(), "portlisten --listener:\n{}", pl.output());
    // A session leader cannot make a new session: the daemon is its child.
    let line = wait_for("the daemon runs as pid ");
    let daemon: i32 = line["the daemon runs as pid ".len()..].split(' ').next().unwrap().parse().unwrap();
    on_failure.0.push(daemon);
    let hellofdpass = child.id() as i32;
    assert_ne!(daemon, hellofdpass);
    // Answering: past its exec.
    assert_eq!(activated_answer(port), format!("activated listener uid 65534 gid 65534 pid {daemon}\n"));
    // The daemon's stdout and stderr: the terminal only with --keep-tty,
    // else /dev/null, write-only (a terminal open for writing can be read).
    for fd in [1, 2] {
        let target = std::fs::read_link(format!("/proc/{daemon}/fd/{fd}")).unwrap();
        let info = std::fs::read_to_string(format!("/proc/{daemon}/fdinfo/{fd}")).unwrap();
        let flags = info.lines().find_map(|l| l.strip_prefix("flags:")).unwrap().trim();
        let flags = u32::from_str_radix(flags, 8).unwrap();
        if keep_tty {
            assert!(target.starts_with("/dev/pts"), "daemon fd {fd} with --keep-tty: {}", target.display());
        } else {
            assert_eq!(target, Path::new("/dev/null"), "daemon fd {fd} (not the operator's terminal)");
            assert_eq!(flags & libc::O_ACCMODE as u32, libc::O_WRONLY as u32, "daemon fd {fd} flags {flags:o}");
        }
    }
    if keep_tty {
        let line = wait_for("activated_greeter: pid ");
        assert!(line.contains(&format!("activated_greeter: pid {daemon} ")), "{line}");
        wait_for("the operator's key:");
    }
    let all = text.lock().unwrap().clone();
    assert!(keep_tty || !all.contains("activated_greeter:"), "the daemon wrote to the terminal:\n{all}");

    // No controlling terminal, in a session of its own.
    let stat = std::fs::read_to_string(format!("/proc/{daemon}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
    assert_eq!(fields[3], daemon.to_string(), "the daemon's session id (it must lead a new session): {stat}");
    assert_eq!(fields[4], "0", "the daemon's controlling terminal (tty_nr) must be none: {stat}");
    // What an attacker in the daemon tries: typing into root's terminal.
    let legacy = std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti").unwrap_or_else(|_| "absent".into());
    println!("dev.tty.legacy_tiocsti: {}", legacy.trim());
    assert!(!all.contains("WORKED"), "the daemon could use the operator's terminal:\n{all}");
    if keep_tty {
        assert!(all.contains("TIOCSTI on fd 1: refused"), "no TIOCSTI attempt on stdout (the pty):\n{all}");
        assert!(all.contains("open /dev/tty: refused"), "{all}");
        if keyring == 0 {
            assert!(all.contains("the operator's key: not found"), "root's session keyring reached the daemon:\n{all}");
        }
    }
    // stdin is /dev/null, the working directory /, the environment clean.
    assert_eq!(std::fs::read_link(format!("/proc/{daemon}/fd/0")).unwrap(), Path::new("/dev/null"));
    assert_eq!(std::fs::read_link(format!("/proc/{daemon}/cwd")).unwrap(), Path::new("/"));
    let environ = std::fs::read(format!("/proc/{daemon}/environ")).unwrap();
    let env: std::collections::BTreeMap<String, String> = String::from_utf8_lossy(&environ)
        .split('\0')
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let (name, home, shell) = passwd_of(NOBODY);
    let want: std::collections::BTreeMap<String, String> = [
        ("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned()),
        ("HOME", home),
        ("USER", name.clone()),
        ("LOGNAME", name),
        ("SHELL", shell),
        ("LISTEN_FDS", "1".into()),
        ("LISTEN_PID", daemon.to_string()),
        ("LISTEN_FDNAMES", "listener".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(env, want, "the daemon's environment");
    assert_eq!(proc_status(daemon, "Uid"), vec!["65534"; 4]);
    // Nothing of the shell's signal state or umask either.
    assert_eq!(proc_status(daemon, "Umask"), vec!["0022"], "the daemon's umask");
    // (Checked for SIGHUP: glibc keeps signals 32 and 33 to itself, so
    // hellofdpass cannot reset them, and this test may inherit them ignored.)
    let ignored = u64::from_str_radix(&proc_status(daemon, "SigIgn").concat(), 16).unwrap();
    assert_eq!(ignored & (1 << (libc::SIGHUP - 1)), 0, "the daemon ignores SIGHUP (SigIgn {ignored:#x})");
    assert_eq!(proc_status(daemon, "SigBlk"), vec!["0000000000000000"], "signals the daemon blocks");
    assert_eq!(activated_answer(port), format!("activated listener uid 65534 gid 65534 pid {daemon}\n"));

    // SIGTERM to the hellofdpass the operator started reaches the daemon.
    // SAFETY: kill on our own unreaped child.
    assert_eq!(unsafe { libc::kill(hellofdpass, libc::SIGTERM) }, 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "hellofdpass still waiting 20 s after SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "hellofdpass exits as its daemon did (killed by SIGTERM)");
}

#[test]
fn a_client_that_never_reads_costs_the_greeter_5_seconds_in_all() {
    use std::os::fd::FromRawFd;
    let sb = sandbox("ex-trickle");
    let sock = sb.run.join("hello.sock");
    // Far more than the socket buffers hold, so the greeter must wait.
    let big = "x".repeat(130_000); // an argument holds at most 128 KiB
    let handler = start_handler(&sb, &sock, &big);
    let mut pl = start_portlisten(&sb, 0, &sock, false);
    let port = pl.listening_port();
    // A client with a small receive buffer and a small segment size (so
    // that the greeter's send buffer, sized from the segment size, stays
    // below the greeting: about 100 KB on loopback) that never reads. (A
    // client reading a little now and then makes Linux grow the send buffer
    // by about 100 KB at each read, so a greeting that fits in an argument
    // is then taken whole: not a case the test can make.)
    // SAFETY: plain socket calls on a new descriptor, then owned by TcpStream.
    let slow = unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(s >= 0);
        let size: libc::c_int = 4096;
        libc::setsockopt(s, libc::SOL_SOCKET, libc::SO_RCVBUF, &size as *const _ as *const libc::c_void, 4);
        let mss: libc::c_int = 536;
        libc::setsockopt(s, libc::IPPROTO_TCP, libc::TCP_MAXSEG, &mss as *const _ as *const libc::c_void, 4);
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_port = port.to_be();
        sin.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
        let r = libc::connect(s, &sin as *const _ as *const libc::sockaddr, std::mem::size_of_val(&sin) as u32);
        assert_eq!(r, 0, "connect: {}", std::io::Error::last_os_error());
        std::net::TcpStream::from_raw_fd(s)
    };
    let started = std::time::Instant::now();
    handler.expect_output("gave up", 30);
    let took = started.elapsed();
    println!("the greeter gave up after {took:?}");
    assert!(
        took < std::time::Duration::from_secs(9),
        "the greeter gave up on the client only after {took:?} (one 5 s deadline)"
    );
    // And it is free for the next client.
    let quick = read_all(connect(port)).map(|g| g.len());
    assert_eq!(quick, Ok(big.len()), "the next client after the one that never read");
    drop(slow);
    still_running(&mut pl);
}

/// A refused client (python3 as uid 1234) that keeps sending a message
/// every 200 ms: how long until credserver hangs up on it.
const CHATTY_PY: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
t0 = time.monotonic()
try:
    while time.monotonic() - t0 < 30:
        s.send(b"x" * 100)
        time.sleep(0.2)
    print("chatty: still connected after 30 s", flush=True)
except OSError as e:
    print("chatty: hung up on after %.1f s (%s)" % (time.monotonic() - t0, e), flush=True)
"#;

#[test]
fn credserver_hangs_up_on_a_chatty_refused_client_within_its_2_second_drain() {
    if skip_unless_root("the credserver drain test (a client as another uid)") || !python3_sends_fds() {
        return;
    }
    let sb = Sandbox::new("ex-drain", examples(), 0);
    let path = sb.run.join("cred.sock");
    let mut cmd = sb.command("credserver");
    cmd.arg(&path).arg("65534");
    let mut server = Proc::spawn("credserver", &mut cmd);
    server.expect_line("serving only uid 65534", 10);
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(CHATTY_PY).arg(&path);
    as_user(&mut cmd, STRANGER, STRANGER);
    let mut chatty = Proc::spawn("chatty refused client", &mut cmd);
    let line = chatty.expect_line("chatty:", 40);
    let secs: f64 = line
        .split("after ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the chatty client stayed connected: {line}\n{}", server.output()));
    assert!(secs < 4.0, "credserver drained a refused client for {secs} s (one 2 s deadline): {line}");
    server.expect_output(&format!("REFUSED connection from pid {} uid {STRANGER}", chatty.pid()), 10);
}

#[test]
fn credclient_refuses_a_server_that_is_not_root_unless_told_its_uid() {
    if skip_unless_root("the credclient server-check test (a server as another uid)") {
        return;
    }
    let sb = sandbox("ex-cred-stranger");
    let path = sb.run.join("cred.sock");
    // Someone who is not root put a credential server where the client looks.
    let mut cmd = sb.command("credserver");
    cmd.arg(&path).arg("65534");
    as_user(&mut cmd, NOBODY, NOBODY);
    let mut server = Proc::spawn("credserver as uid 65534", &mut cmd);
    server.expect_line("serving only uid 65534", 10);
    let mut cmd = sb.command("credclient");
    cmd.arg(&path);
    as_user(&mut cmd, NOBODY, NOBODY);
    let mut client = Proc::spawn("credclient", &mut cmd);
    let status = client.wait(20);
    let out = client.output();
    assert_eq!(status.code(), Some(4), "credclient against a uid-65534 server must fail (exit 4):\n{out}");
    assert!(out.contains("NOT TRUSTED: the server at"), "{out}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!server.output().contains("answered"), "the client sent its request anyway:\n{}", server.output());
    // Told whom to expect, it talks to it.
    let mut cmd = sb.command("credclient");
    cmd.args(["--server-user", "65534"]).arg(&path);
    as_user(&mut cmd, NOBODY, NOBODY);
    let mut client = Proc::spawn("credclient --server-user 65534", &mut cmd);
    let status = client.wait(20);
    assert!(status.success(), "credclient --server-user 65534: {status}\n{}", client.output());
    assert!(client.output().contains("the server says: pid"), "{}", client.output());
}
