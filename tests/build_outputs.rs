//! What `scripts/build-c` (run by the test support, and by `make`) leaves in
//! target/<profile>/ is enough for a C program: the header, an uninstalled
//! fdcred.pc, libfdcred.so with its soname link, libfdcred.a; the shared
//! library exports nothing but fdcred_*. And what a plain `cargo build` of a
//! Rust crate depending on fdcred leaves: no C artifacts, no cbindgen, and
//! nothing written by the build script anywhere (not even in OUT_DIR).
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

/// The header cbindgen makes of the sources now, by `tools/gen-header` (what
/// `.ci/header-check` runs), built in `<target>/tools`.
fn generate_header() -> String {
    let out = scratch("header").join("fdcred.h");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["run", "--quiet", "--manifest-path"])
        .arg(manifest_dir().join("tools/gen-header/Cargo.toml"))
        .arg("--target-dir")
        .arg(profile_dir().parent().unwrap().join("tools"))
        .arg("--")
        .arg(manifest_dir())
        .arg(&out)
        // A host tool: none of the musl run's target settings apply to it.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET");
    let status = cmd.status().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(status.success(), "step generate the header: {cmd:?} failed");
    std::fs::read_to_string(&out).unwrap()
}

#[test]
fn committed_header_is_the_generated_one() {
    if cfg!(target_env = "musl") {
        println!("SKIP: the header is target-independent; the glibc run checks it (cbindgen is a host tool)");
        return;
    }
    let committed = std::fs::read_to_string(manifest_dir().join("include/fdcred.h")).unwrap();
    let generated = generate_header();
    assert!(committed == generated, "include/fdcred.h is stale: run .ci/header-check --update");
    let staged = std::fs::read_to_string(profile_dir().join("include/fdcred.h")).unwrap();
    assert!(staged == committed, "scripts/build-c staged a header other than include/fdcred.h");
}

/// A Rust crate depending on fdcred builds only the rlib: no cdylib or
/// staticlib, no cbindgen, and the build script writes nothing, not into
/// the dependent's target directory nor into its own OUT_DIR.
#[test]
fn rust_dependent_builds_no_c_artifacts_and_build_script_writes_nothing() {
    if cfg!(target_env = "musl") {
        println!("SKIP: checked by the glibc run (a host build of a dependent crate)");
        return;
    }
    let dir = scratch("dependent");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"dependent\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nfdcred = {{ path = {:?} }}\n\n[workspace]\n",
            manifest_dir().display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() {\n    println!(\"{}\", fdcred::CLOEXEC_IS_ATOMIC);\n}\n")
        .unwrap();
    // The same dependency versions as this build, resolved without the network.
    std::fs::copy(manifest_dir().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let target = dir.join("target");
    let _ = std::fs::remove_dir_all(&target);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--offline"]).current_dir(&dir).env("CARGO_TARGET_DIR", &target);
    for var in ["RUSTFLAGS", "CARGO_BUILD_TARGET", "CARGO_ENCODED_RUSTFLAGS"] {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(out.status.success(), "step build a crate depending on fdcred: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "the dependent's build printed:\n{}", String::from_utf8_lossy(&out.stderr));

    let debug = target.join("debug");
    let top: Vec<String> =
        std::fs::read_dir(&debug).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let stray: Vec<&String> =
        top.iter().filter(|n| n.starts_with("libfdcred") || *n == "include" || *n == "pkgconfig").collect();
    assert!(stray.is_empty(), "a dependent's target/debug holds C files of fdcred: {stray:?}");
    let deps: Vec<String> = std::fs::read_dir(debug.join("deps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let c_libs: Vec<&String> =
        deps.iter().filter(|n| n.starts_with("libfdcred") && (n.ends_with(".so") || n.ends_with(".a"))).collect();
    assert!(c_libs.is_empty(), "a dependent built fdcred's C library: {c_libs:?}");
    assert!(deps.iter().any(|n| n.starts_with("libfdcred-") && n.ends_with(".rlib")), "no fdcred rlib in {deps:?}");
    let cbindgen: Vec<&String> = deps.iter().filter(|n| n.contains("cbindgen")).collect();
    assert!(cbindgen.is_empty(), "a dependent compiled cbindgen: {cbindgen:?}");
    for entry in std::fs::read_dir(debug.join("build")).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.file_name().unwrap().to_string_lossy().starts_with("fdcred-") {
            continue;
        }
        if let Ok(files) = std::fs::read_dir(dir.join("out")) {
            let files: Vec<_> = files.map(|e| e.unwrap().file_name()).collect();
            assert!(files.is_empty(), "fdcred's build script wrote into its OUT_DIR: {files:?}");
        }
    }
}
