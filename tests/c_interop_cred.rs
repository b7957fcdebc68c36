//! c-tests/interop_cred.c: credentials against plain peers that switch to
//! other identities, forgeries, the "enabled too late" trap, pidfds; also
//! under AddressSanitizer + UBSan.
mod support;
use std::process::Command;
use support::{compile_c, run_c, run_ok, Link};

const SOURCES: &[&str] = &["interop_cred.c"];

#[test]
fn interop_cred_dynamic() {
    run_c("interop-cred-dyn", SOURCES, Link::Dynamic, &[]);
}

#[test]
#[cfg_attr(target_env = "musl", ignore = "no ASan/UBSan runtime for musl")]
fn interop_cred_under_asan_and_ubsan() {
    if support::sanitizers_unavailable_on_musl() {
        return;
    }
    let exe = compile_c(
        "interop-cred-asan",
        SOURCES,
        Link::Dynamic,
        &["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"],
    );
    let mut cmd = Command::new(exe);
    cmd.env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:exitcode=99");
    cmd.env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    run_ok(cmd);
}
