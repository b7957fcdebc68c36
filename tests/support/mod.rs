//! Shared by the integration tests that drive C programs: compile a C file
//! from `c-tests/` against the library this `cargo test` just built, run it,
//! and report its output.
//!
//! One C test by name: `FDCRED_C_TEST=test_name cargo test --test c_interop_fds`
//! (or any C suite, or all of `cargo test`) passes the name to every
//! harness program ([`c_test_command`]); the program holding that test runs
//! only it, the others run nothing and say so. A comma-separated list names
//! several.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `target/<profile>` (or `target/<triple>/<profile>`): where the library,
/// `include/fdcred.h` and `pkgconfig/fdcred.pc` of this build are. The first
/// call makes sure they are fresh (see [`build_library`]).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_path_buf();
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| build_library(&dir));
    dir
}

/// `cargo test --test X` links the test against the rlib but leaves
/// `libfdcred.so` and `libfdcred.a` as the last `cargo build` made them, so a
/// C test could run against a stale library. Build the library target for
/// the same profile and target first.
fn build_library(profile_dir: &Path) {
    let Some(cargo) = std::env::var_os("CARGO") else {
        return; // not run by cargo: the caller built what it runs
    };
    let profile = profile_dir.file_name().and_then(|n| n.to_str()).expect("profile directory name");
    let parent = profile_dir.parent().expect("profile directory has a parent");
    let mut cmd = Command::new(cargo);
    cmd.arg("build").arg("--quiet").arg("--lib").arg("--manifest-path").arg(manifest_dir().join("Cargo.toml"));
    // Below the target directory sits either the profile (a build without
    // --target) or the target triple holding the profile (`cargo test
    // --target <triple>`, as scripts/test-musl runs it). CACHEDIR.TAG cannot
    // tell them apart: cargo writes one into <triple>/ too, and taking that
    // for the root would build the host's library over the target's.
    let target_dir = if parent.file_name().and_then(|n| n.to_str()) == Some(target_triple().as_str()) {
        cmd.arg("--target").arg(target_triple());
        parent.parent().expect("target directory").to_path_buf()
    } else {
        parent.to_path_buf()
    };
    cmd.env("CARGO_TARGET_DIR", target_dir);
    if profile == "release" {
        cmd.arg("--release");
    } else if profile != "debug" {
        cmd.arg("--profile").arg(profile);
    }
    let status = cmd.status().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(status.success(), "building the library for the C tests failed: {cmd:?}");
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

/// The C compiler for this test's target (musl-gcc for a musl build), as the
/// `cc` crate finds it.
pub fn c_compiler() -> cc::Tool {
    cc::Build::new()
        .cargo_metadata(false)
        .cargo_warnings(false)
        .opt_level(1)
        .debug(true)
        .host(&target_triple())
        .target(&target_triple())
        .get_compiler()
}

/// [`compile_c`] for sources anywhere (absolute paths).
pub fn compile_c_paths(name: &str, sources: &[PathBuf], link: Link, extra: &[&str]) -> PathBuf {
    let lib_dir = profile_dir();
    let out = scratch("c-bin").join(name);
    let mut cmd = c_compiler().to_command();
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

/// The target this test binary (and so the library under test) was built for.
pub fn target_triple() -> String {
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

/// The C compiler a user of this build's library would call by hand (with
/// pkg-config flags): `cc` for glibc, Debian's `musl-gcc` wrapper for musl
/// (scripts/test-musl).
pub fn user_cc() -> Command {
    let name = if cfg!(target_env = "musl") {
        let var = format!("CC_{}", target_triple().replace('-', "_"));
        std::env::var(var).unwrap_or_else(|_| "musl-gcc".to_owned())
    } else {
        "cc".to_owned()
    };
    Command::new(name)
}

/// On musl, print why the sanitizer variants SKIP and return true: GCC's
/// ASan and UBSan runtimes (libasan, libubsan) are built against glibc, and
/// musl-gcc has none to link. Pair it with
/// `#[cfg_attr(target_env = "musl", ignore = "...")]` so that `cargo test`
/// lists the test as ignored with the reason; this covers `--include-ignored`.
pub fn sanitizers_unavailable_on_musl() -> bool {
    if cfg!(target_env = "musl") {
        println!("SKIP: AddressSanitizer + UBSan on musl: GCC's libasan/libubsan runtimes exist for glibc only");
        return true;
    }
    false
}

/// Extra valgrind options for this target. valgrind replaces `malloc` in
/// the objects whose soname it knows (glibc's `libc.so.6`); Debian's musl
/// `libc.so` has no soname, and a musl program that plainly leaks `malloc`
/// blocks passes memcheck without this option. `somalloc=NONE` names the
/// objects without a soname, musl's libc among them.
pub fn valgrind_target_args() -> &'static [&'static str] {
    if cfg!(target_env = "musl") {
        &["--soname-synonyms=somalloc=NONE"]
    } else {
        &[]
    }
}

/// The test names `FDCRED_C_TEST` selects (comma-separated), if it is set.
pub fn selected_c_tests() -> Vec<String> {
    std::env::var("FDCRED_C_TEST")
        .map(|v| v.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A command running the C harness program `exe` (c-tests/harness.h), with
/// the tests `FDCRED_C_TEST` names as arguments: the harness then runs only
/// those.
pub fn c_test_command(exe: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(exe);
    cmd.args(selected_c_tests());
    cmd
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
    let selected = selected_c_tests();
    if !selected.is_empty() && stdout.contains("0 passed, 0 failed, 0 skipped") {
        println!("FDCRED_C_TEST={}: no such test in {:?}; nothing ran", selected.join(","), cmd.get_program());
    }
    out
}

/// Compile and run one C test program, passing `args` (and the tests
/// `FDCRED_C_TEST` selects).
pub fn run_c(name: &str, sources: &[&str], link: Link, args: &[&str]) -> Output {
    let exe = compile_c(name, sources, link, &[]);
    let mut cmd = c_test_command(exe);
    cmd.args(args);
    run_ok(cmd)
}

/// Compile `c-tests/<sources>` with AddressSanitizer + UBSan and run it with
/// leak checking, stopping at the first finding; `env` is passed to it.
/// On musl, prints why it skips (pair the test with
/// `#[cfg_attr(target_env = "musl", ignore = "no ASan/UBSan runtime for musl")]`).
pub fn run_c_under_sanitizers(name: &str, sources: &[&str], env: &[(&str, &str)]) {
    if sanitizers_unavailable_on_musl() {
        return;
    }
    let exe = compile_c(
        name,
        sources,
        Link::Dynamic,
        &["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"],
    );
    let mut cmd = c_test_command(exe);
    cmd.envs(env.iter().copied());
    cmd.env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=99");
    cmd.env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    run_ok(cmd);
}

/// Compile `c-tests/<sources>` and run it, forked peers included, under
/// valgrind memcheck: any error or any lost block (definite, indirect or
/// possible) fails. Prints why it skips when valgrind is missing.
pub fn run_c_under_valgrind(name: &str, sources: &[&str], env: &[(&str, &str)]) {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("SKIP: valgrind is not installed (scripts/setup installs it)");
        return;
    }
    let exe = compile_c(name, sources, Link::Dynamic, &[]);
    let mut cmd = Command::new("valgrind");
    cmd.args([
        "--quiet",
        "--error-exitcode=97",
        "--leak-check=full",
        "--show-leak-kinds=definite,indirect,possible",
        "--errors-for-leak-kinds=definite,indirect,possible",
        "--trace-children=yes",
    ]);
    cmd.args(valgrind_target_args());
    cmd.envs(env.iter().copied());
    cmd.arg(exe);
    cmd.args(selected_c_tests());
    run_ok(cmd);
}
