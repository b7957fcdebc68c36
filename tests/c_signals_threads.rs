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
use support::{compile_c, run_ok, Link};

const SOURCES: &[&str] = &["signals_threads.c"];

fn scale() -> String {
    std::env::var("FDCRED_STRESS_SCALE").unwrap_or_else(|_| "10".into())
}

#[test]
fn signals_threads_exec_and_no_heap_allocation() {
    let exe = compile_c("signals-threads-dyn", SOURCES, Link::Dynamic, &[]);
    let mut cmd = support::c_test_command(exe);
    cmd.env("FDCRED_STRESS_SCALE", scale());
    run_ok(cmd);
}

#[test]
#[cfg_attr(target_env = "musl", ignore = "no ASan/UBSan runtime for musl")]
fn signals_threads_under_asan_and_ubsan() {
    // The sanitized run is about memory errors, not volume: 1% of the sizes.
    support::run_c_under_sanitizers("signals-threads-asan", SOURCES, &[("FDCRED_STRESS_SCALE", "1")]);
}
