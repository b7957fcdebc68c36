//! What `cargo build` leaves in target/<profile>/ is enough for a C program:
//! the header, an uninstalled fdcred.pc, libfdcred.so with its soname link,
//! libfdcred.a; and the shared library exports nothing but fdcred_*.
mod support;
use std::path::Path;
use std::process::Command;
use support::{manifest_dir, profile_dir, run_ok, scratch, user_cc};

fn pkg_config(args: &[&str]) -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(args)
        .arg("fdcred")
        .env("PKG_CONFIG_PATH", profile_dir().join("pkgconfig"))
        .output()
        .expect("pkg-config is installed (scripts/setup)");
    assert!(out.status.success(), "pkg-config {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().split_whitespace().map(str::to_owned).collect()
}

fn compile_with_pkg_config(name: &str, static_link: bool) -> std::path::PathBuf {
    let exe = scratch("pkg-config").join(name);
    let mut cmd = user_cc();
    cmd.args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]);
    cmd.arg(manifest_dir().join("c-tests/pkgconfig_user.c")).arg("-o").arg(&exe);
    cmd.args(pkg_config(&["--cflags"]));
    if static_link {
        // A fully static program: `-static` and pkg-config's --static flags,
        // nothing else (glibc warns about NSS functions std references).
        cmd.arg("-static");
        cmd.args(pkg_config(&["--static", "--libs"]));
    } else {
        cmd.args(pkg_config(&["--libs"]));
    }
    let status = cmd.status().unwrap();
    assert!(status.success(), "compiling with pkg-config flags: {cmd:?}");
    exe
}

fn needed_libs(exe: &Path) -> String {
    let out = Command::new("readelf").arg("-d").arg(exe).output().expect("readelf (binutils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn pkg_config_dynamic_build_runs() {
    let exe = compile_with_pkg_config("pc-dynamic", false);
    assert!(needed_libs(&exe).contains("libfdcred.so.0"), "the program must need the soname");
    let mut cmd = Command::new(&exe);
    cmd.env("LD_LIBRARY_PATH", profile_dir());
    let out = run_ok(cmd);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("ok {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn pkg_config_static_build_runs_without_the_shared_library() {
    let exe = compile_with_pkg_config("pc-static", true);
    assert!(!needed_libs(&exe).contains("libfdcred"), "a static link must not need libfdcred.so");
    let out = run_ok(Command::new(&exe));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("ok {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn soname_is_major_version_and_link_exists() {
    let so = profile_dir().join("libfdcred.so");
    let dynamic = needed_libs(&so);
    let want = format!("Library soname: [libfdcred.so.{}]", env!("CARGO_PKG_VERSION_MAJOR"));
    assert!(dynamic.contains(&want), "readelf -d libfdcred.so:\n{dynamic}");
    let link = profile_dir().join(format!("libfdcred.so.{}", env!("CARGO_PKG_VERSION_MAJOR")));
    assert!(link.exists(), "{} should point at libfdcred.so", link.display());
}

#[test]
fn only_fdcred_symbols_are_exported() {
    let out = Command::new("nm")
        .args(["-D", "--defined-only", "--format=posix"])
        .arg(profile_dir().join("libfdcred.so"))
        .output()
        .expect("nm (binutils)");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let symbols: Vec<&str> = text.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(symbols.iter().any(|s| s.starts_with("fdcred_sendfd")), "no fdcred_sendfd in:\n{text}");
    let stray: Vec<&&str> = symbols.iter().filter(|s| !s.starts_with("fdcred_") && !s.starts_with("FDCRED_")).collect();
    assert!(stray.is_empty(), "exported symbols outside fdcred_*: {stray:?}");
}

#[test]
fn committed_header_is_the_generated_one() {
    let committed = std::fs::read_to_string(manifest_dir().join("include/fdcred.h")).unwrap();
    let generated = std::fs::read_to_string(profile_dir().join("include/fdcred.h")).unwrap();
    assert!(committed == generated, "include/fdcred.h is stale: run .ci/header-check --update");
}
