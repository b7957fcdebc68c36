//! c-tests/interop_fds.c: descriptor passing against plain sendmsg/recvmsg
//! peers, linked dynamically and statically, and once under
//! AddressSanitizer + UBSan and once under valgrind memcheck.
mod support;
use std::process::Command;
use support::{compile_c, run_c, run_ok, Link};

const SOURCES: &[&str] = &["interop_fds.c"];

#[test]
fn interop_fds_dynamic() {
    run_c("interop-fds-dyn", SOURCES, Link::Dynamic, &[]);
}

#[test]
fn interop_fds_static() {
    run_c("interop-fds-static", SOURCES, Link::Static, &[]);
}

#[test]
#[cfg_attr(target_env = "musl", ignore = "no ASan/UBSan runtime for musl")]
fn interop_fds_under_asan_and_ubsan() {
    if support::sanitizers_unavailable_on_musl() {
        return;
    }
    let exe = compile_c(
        "interop-fds-asan",
        SOURCES,
        Link::Dynamic,
        &["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"],
    );
    let mut cmd = Command::new(exe);
    // Leak checking uses ptrace-like stop-the-world machinery that works
    // here; halt on the first error so a finding fails the test.
    cmd.env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=99");
    cmd.env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    run_ok(cmd);
}

#[test]
fn interop_fds_under_valgrind() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("SKIP: valgrind is not installed (scripts/setup installs it)");
        return;
    }
    let exe = compile_c("interop-fds-vg", SOURCES, Link::Dynamic, &[]);
    let mut cmd = Command::new("valgrind");
    cmd.args([
        "--quiet",
        "--error-exitcode=97",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite",
        "--trace-children=yes",
    ]);
    cmd.args(support::valgrind_target_args());
    cmd.arg(exe);
    run_ok(cmd);
}
