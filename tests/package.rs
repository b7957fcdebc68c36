//! The crate as a user meets it from the registry: `cargo package` makes a
//! tarball that holds what a dependent builds and nothing else (no tests,
//! C harnesses, Python package or build outputs), and a dependent crate with
//! a path dependency on the *unpacked tarball* (not on this tree) builds,
//! with the `tokio` feature, and runs a send and receive of a descriptor
//! with the sender's credentials over a socketpair, std and tokio.
//!
//! Offline: the dependency versions come from this tree's `Cargo.lock` and
//! the local registry cache, as in `tests/build_outputs.rs`.
#![cfg(any(target_os = "linux", target_os = "android"))]

use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh scratch directory for `name` under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("package").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `cargo` with none of the musl run's target settings: the package and
/// its dependent are host builds.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for var in ["RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_ENCODED_RUSTFLAGS"] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(step: &str, cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("step {step}: running {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "step {step}: {cmd:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The files the published crate may hold: what a dependent builds, the
/// README (the registry's front page), and what cargo adds itself.
fn belongs_in_the_package(file: &str) -> bool {
    let cargo_own = ["Cargo.toml", "Cargo.toml.orig", "Cargo.lock", ".cargo_vcs_info.json"];
    cargo_own.contains(&file)
        || file == "build.rs"
        || file == "README.md"
        || (file.starts_with("src/") && file.ends_with(".rs"))
        || DECLARED_TARGETS.contains(&file)
}

/// The targets Cargo.toml declares by name, and what the bench includes:
/// without them the manifest does not parse outside this tree (the Python
/// sdist carries it as written; Cargo.toml says why).
const DECLARED_TARGETS: [&str; 4] = [
    "examples/tokio_handoff.rs",
    "examples/tokio_seqpacket_server.rs",
    "benches/tokio.rs",
    "tests/net_support/alloc.rs",
];

const DEPENDENT_MAIN: &str = r#"use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;

use fdcred::tokio::AsyncUnixSocketExt as _;
use fdcred::UnixSocketExt;

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).expect("usage: dependent FILE");
    let mut file = std::fs::File::options().read(true).write(true).create(true).truncate(true).open(&path)?;
    file.write_all(b"from the packaged crate")?;

    // std: a descriptor and the sender's credentials in one datagram.
    let (a, b) = UnixDatagram::pair()?;
    b.allow_recv_cred()?;
    a.send_with_fds(b"F", &[file.as_fd()])?;
    let mut buf = [0u8; 8];
    let mut fds = Vec::new();
    let info = b.recv_with_fds(&mut buf, &mut fds)?;
    assert!(info.is_complete() && info.bytes == 1 && fds.len() == 1, "{info:?}, {} fds", fds.len());
    let cred = info.cred.expect("the kernel attached credentials");
    assert_eq!(cred.pid(), Some(std::process::id() as libc::pid_t), "{cred:?}");
    let mut received = std::fs::File::from(fds.pop().unwrap());
    let mut text = String::new();
    received.seek(SeekFrom::Start(0))?;
    received.read_to_string(&mut text)?;
    assert_eq!(text, "from the packaged crate");
    let peer = b.peer_credentials()?;
    println!("std: received {text:?} from {cred:?}; peer {peer:?}");

    // tokio: the same over a stream.
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    rt.block_on(async {
        let (a, b) = tokio::net::UnixStream::pair()?;
        b.allow_recv_cred()?;
        a.send_with_fds(b"T", &[file.as_fd()]).await?;
        let mut fds = Vec::new();
        let info = b.recv_with_fds(&mut buf, &mut fds).await?;
        assert!(info.is_complete() && fds.len() == 1, "{info:?}");
        let cred = info.cred.expect("the kernel attached credentials");
        assert_eq!(cred.pid(), Some(std::process::id() as libc::pid_t), "{cred:?}");
        println!("tokio: received 1 fd from {cred:?}");
        Ok::<(), std::io::Error>(())
    })
}
"#;

#[test]
fn packaged_crate_holds_only_what_a_dependent_builds_and_a_dependent_sends_and_receives() {
    if cfg!(target_env = "musl") {
        println!("SKIP: checked by the glibc run (a host build of the package and a dependent)");
        return;
    }
    let work = scratch("work");
    let target = work.join("target");

    // 1. Package this tree. --allow-dirty: the test runs on a work tree too
    // (CI's clean clone does not need it); --no-verify: step 3 builds the
    // unpacked crate, as a dependent does, instead of cargo's own check.
    run(
        "cargo package",
        cargo()
            .args(["package", "--quiet", "--offline", "--allow-dirty", "--no-verify", "-p", "fdcred"])
            .current_dir(manifest_dir())
            .env("CARGO_TARGET_DIR", &target),
    );
    let version = env!("CARGO_PKG_VERSION");
    let tarball = target.join("package").join(format!("fdcred-{version}.crate"));
    assert!(tarball.is_file(), "step cargo package: no {}", tarball.display());

    // 2. Its contents: every file a dependent needs, nothing else.
    let listing = run("list the tarball", Command::new("tar").arg("tzf").arg(&tarball));
    let prefix = format!("fdcred-{version}/");
    let files: Vec<&str> = listing
        .lines()
        .map(|l| l.strip_prefix(&prefix).unwrap_or_else(|| panic!("{l} outside {prefix}")))
        .filter(|f| !f.is_empty() && !f.ends_with('/'))
        .collect();
    let stray: Vec<&&str> = files.iter().filter(|f| !belongs_in_the_package(f)).collect();
    assert!(stray.is_empty(), "the package holds files a dependent does not build: {stray:?}");
    for needed in ["Cargo.toml", "build.rs", "README.md", "src/lib.rs", "src/net/tokio.rs", "src/sys/linux/idmap.rs"] {
        assert!(files.contains(&needed), "the package lacks {needed}: {files:?}");
    }
    let mut tracked_sources = Vec::new();
    collect_rs(&manifest_dir().join("src"), &manifest_dir(), &mut tracked_sources);
    for source in &tracked_sources {
        assert!(files.contains(&source.as_str()), "the package lacks {source}");
    }
    let unpacked = work.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    run("unpack the tarball", Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(&unpacked));
    let crate_dir = unpacked.join(format!("fdcred-{version}"));
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    assert!(!manifest.contains("[workspace]"), "the published manifest names a workspace:\n{manifest}");
    assert!(manifest.contains("[package.metadata.docs.rs]"), "no docs.rs metadata:\n{manifest}");

    // 3. A dependent of the unpacked crate, with the tokio feature.
    let dependent = work.join("dependent");
    std::fs::create_dir_all(dependent.join("src")).unwrap();
    std::fs::write(
        dependent.join("Cargo.toml"),
        format!(
            "[package]\nname = \"dependent\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nfdcred = {{ path = {:?}, features = [\"tokio\"] }}\nlibc = \"0.2\"\n\
             tokio = {{ version = \"1\", features = [\"rt\", \"net\"] }}\n\n[workspace]\n",
            crate_dir.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(dependent.join("src/main.rs"), DEPENDENT_MAIN).unwrap();
    // The same dependency versions as this build, resolved without the network.
    std::fs::copy(manifest_dir().join("Cargo.lock"), dependent.join("Cargo.lock")).unwrap();
    run(
        "build the dependent",
        cargo().args(["build", "--quiet", "--offline"]).current_dir(&dependent).env("CARGO_TARGET_DIR", &target),
    );

    // 4. Run it: a send and receive of a descriptor and credentials.
    let exe = target.join("debug/dependent");
    let out = run("run the dependent", Command::new(&exe).arg(work.join("payload")));
    assert!(out.contains("std: received \"from the packaged crate\" from Credentials { pid: "), "{out}");
    assert!(out.contains("tokio: received 1 fd from Credentials { pid: "), "{out}");
    print!("{out}");
}

/// Every `.rs` file under `dir`, relative to `root`.
fn collect_rs(dir: &Path, root: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}
