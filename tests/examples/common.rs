//! Used by tests/examples.rs: build examples/ with its
//! own Makefile (pkg-config against this build), run programs as another
//! user, and watch their output with a deadline on every wait.
#![allow(dead_code)]

use crate::support::{c_compiler, manifest_dir, profile_dir, scratch};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The unprivileged identity handlers and clients switch to.
pub const NOBODY: u32 = 65534;

pub fn my_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

pub fn is_root() -> bool {
    my_uid() == 0
}

/// Print why a test that needs root does nothing, and tell the caller.
pub fn skip_unless_root(what: &str) -> bool {
    if is_root() {
        return false;
    }
    println!("SKIP: {what} needs root (to bind a port below 1024 and to switch to uid {NOBODY})");
    true
}

/// Build the four examples with `make -C examples` into a scratch directory
/// named `name`, exactly as a user would (pkg-config finds this build's
/// fdcred.pc), with the C compiler for this test's target.
pub fn build_examples(name: &str) -> PathBuf {
    let out = scratch(name);
    let cc = c_compiler();
    let mut cmd = Command::new("make");
    cmd.arg("-s").arg("-C").arg(manifest_dir().join("examples"));
    cmd.arg(format!("O={}", out.display()));
    cmd.arg(format!("CC={}", cc.path().display()));
    cmd.env("PKG_CONFIG_PATH", profile_dir().join("pkgconfig"));
    // Always relink: the library may have changed since the last run.
    for p in ["portlisten", "hellofdpass", "credserver", "credclient"] {
        let _ = std::fs::remove_file(out.join(p));
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("running {cmd:?}: {e} (make is installed by scripts/setup)"));
    assert!(status.success(), "building the examples failed: {cmd:?}");
    out
}

/// A private directory under the system's temporary directory (reachable
/// by uid 65534 even when the clone lives under a 0700 home), holding a copy
/// of the examples and the library in `bin/` and a `run/` directory owned by
/// `run_owner` for sockets. Removed when dropped.
pub struct Sandbox {
    pub dir: PathBuf,
    pub bin: PathBuf,
    pub run: PathBuf,
}

impl Sandbox {
    pub fn new(name: &str, examples: &Path, run_owner: u32) -> Sandbox {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("fdcred-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (bin, run) = (dir.join("bin"), dir.join("run"));
        for d in [&dir, &bin, &run] {
            std::fs::create_dir(d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::os::unix::fs::chown(&run, Some(run_owner), Some(run_owner))
            .unwrap_or_else(|e| panic!("chown {}: {e}", run.display()));
        for p in ["portlisten", "hellofdpass", "credserver", "credclient"] {
            std::fs::copy(examples.join(p), bin.join(p)).unwrap_or_else(|e| panic!("copying {p}: {e}"));
        }
        // Under its soname, which is what the examples ask the loader for.
        let so = format!("libfdcred.so.{}", env!("CARGO_PKG_VERSION_MAJOR"));
        std::fs::copy(profile_dir().join("libfdcred.so"), bin.join(so)).expect("copying libfdcred.so");
        Sandbox { dir, bin, run }
    }

    /// A command for one of the examples, run against the copied library.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.env("LD_LIBRARY_PATH", &self.bin);
        cmd
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Make `cmd` run as `uid`:`gid` with no supplementary groups, switched
/// in the child before exec (it never holds privilege while it runs).
pub fn as_user(cmd: &mut Command, uid: u32, gid: u32) -> &mut Command {
    // SAFETY: the closure runs between fork and exec and calls only
    // async-signal-safe functions (setgroups, setgid, setuid), allocating
    // nothing; errno is read through std's last_os_error, which does not
    // allocate either.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// A running program whose stdout lines arrive on a channel and whose whole
/// output is kept for failure messages; killed when dropped.
pub struct Proc {
    pub name: String,
    pub child: Child,
    lines: Receiver<String>,
    output: Arc<Mutex<String>>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command) -> Proc {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting {name} ({cmd:?}): {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (o1, o2) = (output.clone(), output.clone());
        let r1 = thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                o1.lock().unwrap().push_str(&format!("[stdout] {line}\n"));
                let _ = tx.send(line);
            }
        });
        let r2 = thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                o2.lock().unwrap().push_str(&format!("[stderr] {line}\n"));
            }
        });
        Proc { name: name.to_owned(), child, lines, output, readers: vec![r1, r2] }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Wait (at most `secs`) for a stdout line containing `needle`.
    pub fn expect_line(&mut self, needle: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => continue,
                Err(_) => {
                    let status = self.child.try_wait().ok().flatten();
                    panic!(
                        "{}: no line containing {needle:?} within {secs} s (exit status so far: {status:?}); output:\n{}",
                        self.name,
                        self.output()
                    );
                }
            }
        }
    }

    /// Wait (at most `secs`) for `needle` anywhere in its output, stderr
    /// included.
    pub fn expect_output(&self, needle: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.output().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{}: nothing containing {needle:?} within {secs} s; output:\n{}",
                self.name,
                self.output()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The TCP port in its "listening on 127.0.0.1:PORT" line.
    pub fn listening_port(&mut self) -> u16 {
        self.listening_port_within(10)
    }

    pub fn listening_port_within(&mut self, secs: u64) -> u16 {
        let line = self.expect_line("listening on 127.0.0.1:", secs);
        let rest = &line[line.find("127.0.0.1:").unwrap() + "127.0.0.1:".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().unwrap_or_else(|_| panic!("{}: no port in {line:?}", self.name))
    }

    /// Wait (at most `secs`) for it to exit.
    pub fn wait(&mut self, secs: u64) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{}: still running after {secs} s; output:\n{}", self.name, self.output());
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGSTOP it and wait (at most 10 s) until the kernel shows it stopped,
    /// so that whatever the caller does next happens while it cannot run.
    pub fn freeze(&self) {
        self.signal(libc::SIGSTOP);
        let stat = format!("/proc/{}/stat", self.pid());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&stat).unwrap_or_default();
            // The state follows the parenthesised command name.
            if text.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('T')) {
                return;
            }
            assert!(Instant::now() < deadline, "{}: not stopped 10 s after SIGSTOP ({stat}: {text:?})", self.name);
            thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid, which we have not reaped
        // yet (so it cannot have been reused).
        let r = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(r, 0, "{}: kill({}, {sig}): {}", self.name, self.pid(), std::io::Error::last_os_error());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connect to 127.0.0.1:`port` with a deadline.
pub fn connect(port: u16) -> std::net::TcpStream {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Read a connection to its end; `Err` describes a hang or an error.
pub fn read_all(mut s: std::net::TcpStream) -> Result<String, String> {
    let mut got = Vec::new();
    match s.read_to_end(&mut got) {
        Ok(_) => Ok(String::from_utf8_lossy(&got).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
            Err(format!("no end of file within 20 s (left hanging), got {:?} so far", String::from_utf8_lossy(&got)))
        }
        Err(e) => Err(format!("read error {e} after {:?}", String::from_utf8_lossy(&got))),
    }
}

pub fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}
