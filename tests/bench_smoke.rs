//! The benchmark's smoke run (what scripts/test runs) shows that each
//! scenario ran, and nothing a newcomer could take for a verdict: no ratios,
//! no targets met or missed, no issue numbers.
mod support;
use std::process::Command;
use support::{c_compiler, manifest_dir, profile_dir, run_ok, scratch};

#[test]
fn bench_smoke_run_says_what_ran_and_judges_nothing() {
    if cfg!(target_env = "musl") {
        println!("SKIP: bench.c counts allocations through glibc's __libc_malloc; it is a glibc program");
        return;
    }
    // Built as scripts/bench builds it (bench.c defines _GNU_SOURCE itself).
    let lib = profile_dir();
    let exe = scratch("bench").join("fdcred-bench");
    let mut cc = c_compiler().to_command();
    cc.args(["-O1", "-std=c11", "-Wall", "-Wextra", "-Werror"])
        .arg("-I")
        .arg(lib.join("include"))
        .arg(manifest_dir().join("bench/bench.c"))
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lfdcred", "-o"])
        .arg(&exe);
    assert!(cc.status().expect("running the C compiler").success(), "step compile bench/bench.c: {cc:?}");
    let mut cmd = Command::new(exe);
    cmd.args(["--smoke", "--only", "1 fd/msg SOCK_STREAM"]);
    let out = run_ok(cmd);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.starts_with("ran: 1 fd/msg SOCK_STREAM")),
        "no \"ran:\" line for the scenario:\n{text}"
    );
    for word in ["issue", "MISSED", "bar", "ratio", "meets", "below"] {
        assert!(!text.contains(word), "the smoke run prints {word:?}:\n{text}");
    }
}
