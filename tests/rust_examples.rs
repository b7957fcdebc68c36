//! The Rust tokio examples run end to end, as a user runs them: each
//! `demo`, and each half of tokio_handoff against a peer that uses plain
//! libc `sendmsg`/`recvmsg` instead of its other half. The handler runs as
//! uid 65534 when the test runs as root. Every wait has a deadline.
#![cfg(feature = "tokio")]
mod net_support;

use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use net_support::{close_all, raw_recv, raw_send};

const NOBODY: u32 = 65534;

/// target/<profile>/examples/<name>. `cargo test --test rust_examples`
/// alone does not build examples, so build them first (a no-op after a
/// plain `cargo test --features tokio`): never run a stale one.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(|d| d.parent()).unwrap();
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let Some(cargo) = std::env::var_os("CARGO") else { return };
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "--features", "tokio", "--example", "tokio_handoff"])
            .args(["--example", "tokio_seqpacket_server", "--manifest-path"])
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", profile.parent().unwrap());
        match profile.file_name().and_then(|n| n.to_str()) {
            Some("debug") => {}
            Some("release") => drop(cmd.arg("--release")),
            other => panic!("unexpected profile directory {other:?}"),
        }
        assert!(cmd.status().unwrap().success(), "building the examples failed: {cmd:?}");
    });
    let path = profile.join("examples").join(name);
    assert!(path.exists(), "{} not built", path.display());
    path
}

fn is_root() -> bool {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() == 0 }
}

/// Run to completion within 60 s; its stdout.
fn run(cmd: &mut Command) -> String {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut out = String::new();
            let mut err = String::new();
            child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            assert!(status.success(), "{cmd:?} failed ({status}):\n{out}\n{err}");
            return out;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{cmd:?} ran over 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A long-running example, killed on drop; its stdout lines arrive on a
/// channel.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Running {
    fn spawn(cmd: &mut Command) -> Running {
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Running { child, lines }
    }

    fn expect_line(&self, containing: &str) -> String {
        let line = self.lines.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|e| panic!("no line ({e})"));
        assert!(line.contains(containing), "expected {containing:?}, got {line:?}");
        line
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fdcred-rust-examples-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    dir
}

fn read_all(mut conn: std::net::TcpStream) -> String {
    conn.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut got = String::new();
    conn.read_to_string(&mut got).unwrap();
    got
}

#[test]
fn tokio_handoff_demo_greets_three_clients_from_an_unprivileged_handler() {
    let out = run(Command::new(example("tokio_handoff")).arg("demo"));
    if is_root() {
        assert!(out.contains("handler (uid 65534)"), "{out}");
    }
    assert_eq!(out.matches("got: hello from an unprivileged tokio handler").count(), 3, "{out}");
}

#[test]
fn tokio_seqpacket_server_demo_serves_its_uid_and_refuses_another() {
    let out = run(Command::new(example("tokio_seqpacket_server")).arg("demo"));
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    assert!(out.contains(&format!(" uid {uid} gid {gid}")), "{out}");
    if is_root() {
        assert!(out.contains("client as uid 65534: refused: uid 65534 is not served here"), "{out}");
    } else {
        println!("the refusal half skipped: switching to uid 65534 needs root");
    }
}

#[test]
fn tokio_handoff_handler_takes_connections_from_a_plain_sendmsg_listener() {
    let dir = scratch("handle");
    let sock = dir.join("h.sock");
    let mut cmd = Command::new(example("tokio_handoff"));
    cmd.arg("handle").arg(&sock).arg("hi from rust\n");
    if is_root() {
        cmd.uid(NOBODY).gid(NOBODY).arg("--from-uid").arg("0");
    }
    let handler = Running::spawn(&mut cmd);
    handler.expect_line("waiting for descriptors");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let tx = UnixDatagram::unbound().unwrap();
    tx.connect(&sock).unwrap();
    for _ in 0..3 {
        let client = std::thread::spawn(move || read_all(std::net::TcpStream::connect(addr).unwrap()));
        let (conn, _) = listener.accept().unwrap();
        assert_eq!(raw_send(tx.as_raw_fd(), b"C", &[conn.as_raw_fd()]), Ok(1));
        drop(conn);
        assert_eq!(client.join().unwrap(), "hi from rust\n");
    }
    drop(handler);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tokio_handoff_listener_passes_each_connection_to_a_plain_recvmsg_handler() {
    let dir = scratch("listen");
    let sock = dir.join("h.sock");
    let rx = UnixDatagram::bind(&sock).unwrap();
    let listener = Running::spawn(Command::new(example("tokio_handoff")).arg("listen").arg("0").arg(&sock));
    let line = listener.expect_line("listening on 127.0.0.1:");
    let addr = line.split_whitespace().nth(3).unwrap().trim_end_matches(',').to_owned();
    for i in 0..3 {
        let client = std::net::TcpStream::connect(&addr).unwrap();
        let mut byte = [0u8; 1];
        let got = raw_recv(rx.as_raw_fd(), &mut byte, 0).unwrap();
        assert_eq!((got.bytes, byte[0], got.fds.len()), (1, b'C', 1), "connection {i}");
        let msg = format!("served {i}");
        // SAFETY: a descriptor we own; write a short reply and close it.
        let n = unsafe { libc::write(got.fds[0], msg.as_ptr().cast(), msg.len()) };
        assert_eq!(n, msg.len() as isize);
        close_all(&got.fds);
        assert_eq!(read_all(client), msg);
    }
    drop(listener);
    std::fs::remove_dir_all(&dir).unwrap();
}
