//! c-tests/badinput.c: every exported function with every kind of bad
//! argument (wrong descriptors, NULL with zero and non-zero counts, counts
//! over the limit, SIZE_MAX), each row checked for its documented errno, no
//! crash and no fd opened or lost; plain, under AddressSanitizer + UBSan, and
//! under valgrind memcheck (zero errors, zero leaks).
mod support;
use std::process::Command;
use support::{compile_c, run_c, run_ok, Link};

const SOURCES: &[&str] = &["badinput.c"];

#[test]
fn bad_input_gives_documented_errno_dynamic() {
    run_c("badinput-dyn", SOURCES, Link::Dynamic, &[]);
}

#[test]
fn bad_input_gives_documented_errno_under_asan_and_ubsan() {
    let exe = compile_c(
        "badinput-asan",
        SOURCES,
        Link::Dynamic,
        &["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"],
    );
    let mut cmd = Command::new(exe);
    cmd.env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=99");
    cmd.env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    run_ok(cmd);
}

#[test]
fn bad_input_gives_documented_errno_under_valgrind() {
    if Command::new("valgrind").arg("--version").output().is_err() {
        println!("SKIP: valgrind is not installed (scripts/setup installs it)");
        return;
    }
    let exe = compile_c("badinput-vg", SOURCES, Link::Dynamic, &[]);
    let mut cmd = Command::new("valgrind");
    cmd.args([
        "--quiet",
        "--error-exitcode=97",
        "--leak-check=full",
        "--show-leak-kinds=definite,indirect,possible",
        "--errors-for-leak-kinds=definite,indirect,possible",
        "--trace-children=yes",
    ]);
    cmd.arg(exe);
    run_ok(cmd);
}
