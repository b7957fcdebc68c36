//! The Python ctypes module (python/fdcred.py) and its tests
//! (python/test_fdcred.py, stdlib unittest), run against the library this
//! `cargo test` just built, with the C examples built for the Python <-> C
//! tests. A deadline kills a hung run.
#[path = "examples/common.rs"]
mod common;
mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{manifest_dir, profile_dir};

const DEADLINE: Duration = Duration::from_secs(300);

#[test]
fn python_module_unittests_pass_against_the_fresh_library() {
    if cfg!(target_env = "musl") {
        println!("SKIP: python3 is a glibc program and cannot load the musl build of libfdcred.so");
        return;
    }
    let library = profile_dir().join("libfdcred.so");
    assert!(library.exists(), "{} was not built", library.display());
    let examples = common::build_examples("py-examples-bin");

    let mut cmd = Command::new("python3");
    cmd.args(["-m", "unittest", "discover", "-v", "-s"]).arg(manifest_dir().join("python"));
    cmd.arg("-t").arg(manifest_dir().join("python"));
    cmd.current_dir(manifest_dir().join("python"));
    cmd.env("FDCRED_LIBRARY", &library);
    cmd.env("FDCRED_EXAMPLES_DIR", &examples);
    cmd.env("PYTHONDONTWRITEBYTECODE", "1");
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting python3 (scripts/setup installs it): {e}"));

    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            let err = err_reader.join().unwrap_or_default();
            panic!("python3 -m unittest still running after {DEADLINE:?}; killed. stderr so far:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = out_reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    print!("{out}");
    eprint!("{err}");
    assert!(status.success(), "python3 -m unittest failed ({status}); see its report above");
    assert!(err.contains("Ran ") && err.lines().any(|l| l.starts_with("OK")), "no unittest summary in:\n{err}");
    let ran: usize = err
        .lines()
        .find_map(|l| l.strip_prefix("Ran ").and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    assert!(ran >= 18, "only {ran} Python tests ran (discovery broken?)");
}
