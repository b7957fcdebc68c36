//! Shared by the integration tests that drive C programs: compile a C file
//! from `c-tests/` against the library this `cargo test` just built, run it,
//! and report its output.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `target/<profile>` (or `target/<triple>/<profile>`): where the library,
/// `include/fdcred.h` and `pkgconfig/fdcred.pc` of this build are.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf()
}

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory for this test binary.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// How to link a C program against the library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// `libfdcred.so`, found at run time through an rpath.
    Dynamic,
    /// `libfdcred.a` and its native dependencies.
    Static,
}

/// Compile `c-tests/<sources>` into an executable named `name` with the
/// strict flags, plus `extra` flags (sanitizers, defines).
pub fn compile_c(name: &str, sources: &[&str], link: Link, extra: &[&str]) -> PathBuf {
    let paths: Vec<PathBuf> = sources.iter().map(|src| manifest_dir().join("c-tests").join(src)).collect();
    compile_c_paths(name, &paths, link, extra)
}

/// [`compile_c`] for sources anywhere (absolute paths).
pub fn compile_c_paths(name: &str, sources: &[PathBuf], link: Link, extra: &[&str]) -> PathBuf {
    let lib_dir = profile_dir();
    let out = scratch("c-bin").join(name);
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .cargo_warnings(false)
        .opt_level(1)
        .debug(true)
        .host(&target_triple())
        .target(&target_triple())
        .get_compiler();
    let mut cmd = compiler.to_command();
    cmd.args(["-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-pthread"]);
    cmd.arg("-I").arg(lib_dir.join("include"));
    cmd.arg("-I").arg(manifest_dir().join("c-tests"));
    cmd.args(extra);
    cmd.args(sources);
    cmd.arg("-o").arg(&out);
    match link {
        Link::Dynamic => {
            cmd.arg(format!("-L{}", lib_dir.display()));
            cmd.arg(format!("-Wl,-rpath,{}", lib_dir.display()));
            cmd.arg("-lfdcred");
        }
        Link::Static => {
            cmd.arg(lib_dir.join("libfdcred.a"));
            cmd.args(["-lpthread", "-ldl", "-lm", "-lrt", "-lutil"]);
        }
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("running the C compiler for {name}: {e}"));
    assert!(status.success(), "compiling {sources:?} failed: {cmd:?}");
    out
}

fn target_triple() -> String {
    // The test binary is built for the same target as the library.
    option_env!("FDCRED_TEST_TARGET").map(str::to_owned).unwrap_or_else(|| {
        let arch = std::env::consts::ARCH;
        if cfg!(target_env = "musl") {
            format!("{arch}-unknown-linux-musl")
        } else {
            format!("{arch}-unknown-linux-gnu")
        }
    })
}

/// Run a compiled test program and fail (showing its output) unless it
/// exits 0.
pub fn run_ok(mut cmd: Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(out.status.success(), "{cmd:?} failed with {}", out.status);
    out
}

/// Compile and run one C test program, passing `args`.
pub fn run_c(name: &str, sources: &[&str], link: Link, args: &[&str]) -> Output {
    let exe = compile_c(name, sources, link, &[]);
    let mut cmd = Command::new(exe);
    cmd.args(args);
    run_ok(cmd)
}
