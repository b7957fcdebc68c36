//! c-tests/signals_threads.c: a SIGALRM every 100 us during blocking calls,
//! 8 threads on their own socketpairs and 8 sharing one datagram socket,
//! received fds seen from an exec'd child, and malloc counted across the
//! send/receive paths by an interposed allocator; plain, and under
//! AddressSanitizer + UBSan (without the allocator test, which ASan's own
//! allocator replaces).
//!
//! Runs the short form (FDCRED_STRESS_SCALE=10, percent of the full sizes)
//! unless FDCRED_STRESS_SCALE is set; `scripts/stress` runs the full sizes.
mod support;
use std::process::Command;
use support::{compile_c, run_ok, Link};

const SOURCES: &[&str] = &["signals_threads.c"];

fn scale() -> String {
    std::env::var("FDCRED_STRESS_SCALE").unwrap_or_else(|_| "10".into())
}

#[test]
fn signals_threads_exec_and_no_heap_allocation() {
    let exe = compile_c("signals-threads-dyn", SOURCES, Link::Dynamic, &[]);
    let mut cmd = Command::new(exe);
    cmd.env("FDCRED_STRESS_SCALE", scale());
    run_ok(cmd);
}

#[test]
#[cfg_attr(target_env = "musl", ignore = "no ASan/UBSan runtime for musl")]
fn signals_threads_under_asan_and_ubsan() {
    if support::sanitizers_unavailable_on_musl() {
        return;
    }
    let exe = compile_c(
        "signals-threads-asan",
        SOURCES,
        Link::Dynamic,
        &["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"],
    );
    let mut cmd = Command::new(exe);
    cmd.env("FDCRED_STRESS_SCALE", "1");
    cmd.env("ASAN_OPTIONS", "detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=99");
    cmd.env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    run_ok(cmd);
}
