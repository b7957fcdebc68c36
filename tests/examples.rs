//! The examples end to end, driven as a user runs them: examples/ built by
//! its Makefile through pkg-config; portlisten (root) binding a port below
//! 1024 and handing connections to hellofdpass running as uid 65534; pending
//! connections batched into one datagram; the handler restarted mid-run and
//! mid-batch; the listener mode; the exec mode starting an unmodified
//! socket-activated daemon (c-tests/activated_greeter.c) as uid 65534 on
//! ports below 1024; credserver serving one uid and refusing another; and
//! both port programs against classic hand-written peers (plain
//! sendmsg/recvmsg, c-tests/classic_*.c); and all four under valgrind,
//! closing every descriptor they open.
//! Loopback only; every wait has a deadline.
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
    // SAFETY: fork in a multi-threaded process: the child calls only
    // async-signal-safe system calls (setgroups, setgid, setuid, socket,
    // bind, _exit) and touches no lock or allocation.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(NOBODY) != 0 || libc::setuid(NOBODY) != 0 {
                libc::_exit(200);
            }
            let s = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
            if s < 0 {
                libc::_exit(201);
            }
            let mut sin: libc::sockaddr_in = std::mem::zeroed();
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = port.to_be();
            sin.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
            let r = libc::bind(s, &sin as *const _ as *const libc::sockaddr, std::mem::size_of_val(&sin) as u32);
            libc::_exit(if r == 0 { 0 } else { std::io::Error::last_os_error().raw_os_error().unwrap_or(202) });
        }
        let mut status = 0;
        assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        assert!(libc::WIFEXITED(status), "bind probe died: status {status:#x}");
        let code = libc::WEXITSTATUS(status);
        assert!(code < 200, "bind probe could not switch to uid {NOBODY} or make a socket (exit {code})");
        code
    }
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
    let sb = sandbox("ex-exec-plain");
    let sock = sb.run.join("activate.sock");
    let mut handler = start_exec_handler(&sb, &[], &sock);
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
    assert!(activated_answer(port).starts_with("activated listener uid "));
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
    let sb = sandbox("ex-exec-stop");
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
    let sb = sandbox("ex-valgrind");
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
