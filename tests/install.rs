//! `make install` into a temporary DESTDIR gives a packager and a C programmer
//! what they expect: a versioned, stripped shared library with its soname
//! links and its debug info in a separate file gdb finds, the stripped static
//! library, the header, a relocated fdcred.pc and the man pages; a C
//! program builds from nothing but `pkg-config` (dynamic and fully static),
//! Python loads the installed library through `ctypes.util.find_library`, the
//! hand-off tools (portlisten in sbin, hellofdpass in bin, their man pages)
//! answer --version and --help against the installed library, and
//! `make uninstall` removes every file install put there.
mod support;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{manifest_dir, profile_dir, run_ok, scratch};

const PREFIX: &str = "/usr/local";

fn make(target: &str, destdir: &Path) {
    let profile = profile_dir();
    let profile_name = profile.file_name().unwrap().to_str().unwrap().to_owned();
    let target_dir = profile.parent().unwrap().to_path_buf();
    let mut cmd = Command::new("make");
    cmd.current_dir(manifest_dir())
        .args(["-s", "--no-print-directory", target])
        .arg(format!("DESTDIR={}", destdir.display()))
        .arg(format!("PREFIX={PREFIX}"))
        .arg(format!("PROFILE={profile_name}"))
        .arg(format!("CARGO_TARGET_DIR={}", target_dir.display()));
    let out = cmd.output().unwrap_or_else(|e| panic!("starting make (scripts/setup installs it): {e}"));
    assert!(
        out.status.success(),
        "step `make {target}` failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file and symlink below `root`, relative to it.
fn files_below(root: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                walk(root, &path, out);
            } else {
                out.insert(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

fn pkg_config(dest: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new("pkg-config")
        .args(args)
        .arg("fdcred")
        // Only the staged fdcred.pc, never one installed on this machine.
        .env("PKG_CONFIG_LIBDIR", dest.join("usr/local/lib/pkgconfig"))
        .env_remove("PKG_CONFIG_PATH")
        .env("PKG_CONFIG_SYSROOT_DIR", dest)
        .output()
        .expect("pkg-config is installed (scripts/setup)");
    assert!(out.status.success(), "step pkg-config {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().split_whitespace().map(str::to_owned).collect()
}

fn compile_with_pkg_config(dest: &Path, name: &str, static_link: bool) -> PathBuf {
    let exe = scratch("install-bin").join(name);
    let mut cmd = Command::new("cc");
    cmd.args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]);
    cmd.arg(manifest_dir().join("c-tests/pkgconfig_user.c")).arg("-o").arg(&exe);
    cmd.args(pkg_config(dest, &["--cflags"]));
    if static_link {
        cmd.arg("-static");
        cmd.args(pkg_config(dest, &["--static", "--libs"]));
    } else {
        cmd.args(pkg_config(dest, &["--libs"]));
    }
    let status = cmd.status().unwrap();
    assert!(status.success(), "step compile {name} with the installed fdcred.pc: {cmd:?}");
    exe
}

fn readelf(args: &[&str], file: &Path) -> String {
    let out = Command::new("readelf").args(args).arg(file).output().expect("readelf (binutils)");
    assert!(out.status.success(), "readelf {args:?} {}", file.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn install_to_destdir_serves_pkg_config_static_and_ctypes_then_uninstall_leaves_nothing() {
    if cfg!(target_env = "musl") {
        println!("SKIP: the Makefile links the versioned shared library with the host's glibc cc; not for musl");
        return;
    }
    let version = env!("CARGO_PKG_VERSION");
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    let dest = scratch("install").join("destdir");
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::create_dir_all(&dest).unwrap();

    make("install", &dest);

    // Exactly the promised files, under the prefix.
    let mut want: BTreeSet<String> = [
        format!("usr/local/lib/libfdcred.so.{version}"),
        format!("usr/local/lib/libfdcred.so.{major}"),
        format!("usr/local/lib/.debug/libfdcred.so.{version}.debug"),
        "usr/local/lib/libfdcred.so".into(),
        "usr/local/lib/libfdcred.a".into(),
        "usr/local/include/fdcred.h".into(),
        "usr/local/lib/pkgconfig/fdcred.pc".into(),
        "usr/local/sbin/portlisten".into(),
        "usr/local/bin/hellofdpass".into(),
        "usr/local/share/man/man8/portlisten.8".into(),
        "usr/local/share/man/man1/hellofdpass.1".into(),
    ]
    .into();
    for page in std::fs::read_dir(manifest_dir().join("man/man3")).unwrap() {
        let name = page.unwrap().file_name().into_string().unwrap();
        want.insert(format!("usr/local/share/man/man3/{name}"));
    }
    assert!(want.iter().any(|f| f.ends_with("fdcred_sendfd.3")), "no man page for fdcred_sendfd in man/man3");
    let got = files_below(&dest);
    assert_eq!(got, want, "step install: the installed files differ from the promised list");

    let lib = dest.join("usr/local/lib");
    for link in [format!("libfdcred.so.{major}"), "libfdcred.so".into()] {
        let target = std::fs::read_link(lib.join(&link)).unwrap_or_else(|e| panic!("{link} is not a symlink: {e}"));
        assert_eq!(target, Path::new(&format!("libfdcred.so.{version}")), "{link} points at the wrong file");
    }
    let so = lib.join(format!("libfdcred.so.{version}"));
    let dynamic = readelf(&["-d", "-W"], &so);
    assert!(
        dynamic.contains(&format!("Library soname: [libfdcred.so.{major}]")),
        "soname of {}:\n{dynamic}",
        so.display()
    );
    // Every exported symbol carries a FDCRED_ version node; nothing else is exported.
    let syms = readelf(&["--dyn-syms", "-W"], &so);
    let exported: Vec<&str> = syms
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let defined = f.len() >= 8 && f[0].trim_end_matches(':').parse::<u32>().is_ok() && f[6] != "UND";
            if defined && f[4] != "LOCAL" {
                Some(f[7])
            } else {
                None
            }
        })
        // Skip the version definitions themselves (a bare `FDCRED_0.1`).
        .filter(|name| !name.starts_with("FDCRED_") || name.contains('@'))
        .collect();
    assert!(exported.iter().any(|s| s.starts_with("fdcred_sendfd@@FDCRED_")), "no versioned fdcred_sendfd:\n{syms}");
    let bad: Vec<&&str> = exported.iter().filter(|s| !(s.starts_with("fdcred_") && s.contains("@@FDCRED_"))).collect();
    assert!(bad.is_empty(), "the installed library exports unversioned or foreign symbols: {bad:?}");

    // Stripped objects; the shared library's debug info apart, linked by name.
    // (.debug_gdb_scripts is not debug info: an allocated section naming gdb's
    // pretty-printers, which strip rightly keeps.)
    let has_debug_info = |sections: &str| sections.contains(".debug_info") || sections.contains(".debug_line");
    let sections = readelf(&["-S", "-W"], &so);
    assert!(!has_debug_info(&sections), "the installed shared library carries debug info:\n{sections}");
    let debuglink = readelf(&["--string-dump=.gnu_debuglink"], &so);
    assert!(
        debuglink.contains(&format!("libfdcred.so.{version}.debug")),
        "the installed shared library does not name its debug file:\n{debuglink}"
    );
    let debug_file = lib.join(format!(".debug/libfdcred.so.{version}.debug"));
    assert!(readelf(&["-S", "-W"], &debug_file).contains(".debug_line"), "{} has no debug info", debug_file.display());
    let archive = readelf(&["-S", "-W"], &lib.join("libfdcred.a"));
    assert!(!has_debug_info(&archive), "the installed static library carries debug info");

    let pc = std::fs::read_to_string(lib.join("pkgconfig/fdcred.pc")).unwrap();
    assert!(!pc.contains("example.invalid"), "fdcred.pc carries a placeholder URL:\n{pc}");
    assert!(pc.lines().any(|l| l == format!("prefix={PREFIX}")), "fdcred.pc has the wrong prefix:\n{pc}");
    assert!(pc.lines().any(|l| l.starts_with("Libs.private:")), "fdcred.pc lacks Libs.private:\n{pc}");
    assert_eq!(
        std::fs::read(dest.join("usr/local/include/fdcred.h")).unwrap(),
        std::fs::read(profile_dir().join("include/fdcred.h")).unwrap(),
        "the installed header is not the one the build generated"
    );

    // A C program from nothing but pkg-config, against the installed shared library.
    let exe = compile_with_pkg_config(&dest, "installed-dynamic", false);
    let needs = readelf(&["-d", "-V", "-W"], &exe);
    assert!(needs.contains(&format!("[libfdcred.so.{major}]")), "the program must need the soname:\n{needs}");
    assert!(needs.contains("FDCRED_"), "the program must bind to versioned symbols:\n{needs}");
    let mut cmd = Command::new(&exe);
    cmd.env("LD_LIBRARY_PATH", &lib);
    let out = run_ok(cmd);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("ok {version}"), "step run installed-dynamic");

    // Fully static, from `pkg-config --static`.
    let exe = compile_with_pkg_config(&dest, "installed-static", true);
    assert!(!readelf(&["-d"], &exe).contains("libfdcred"), "a static program must not need libfdcred.so");
    let out = run_ok(Command::new(&exe));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("ok {version}"), "step run installed-static");

    // Python: ctypes.util.find_library through LD_LIBRARY_PATH, then CDLL.
    let script = r#"
import ctypes, ctypes.util, os, sys
name = ctypes.util.find_library("fdcred")
if name is None:
    sys.exit("find_library('fdcred') found nothing on LD_LIBRARY_PATH=" + os.environ["LD_LIBRARY_PATH"])
lib = ctypes.CDLL(name)
lib.fdcred_version.restype = ctypes.c_char_p
paths = {l.split()[-1] for l in open("/proc/self/maps") if "libfdcred" in l}
print(name, lib.fdcred_version().decode(), *sorted(paths))
"#;
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(script).env("LD_LIBRARY_PATH", &lib);
    let out = run_ok(cmd);
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(
        text,
        format!("libfdcred.so.{major} {version} {}", std::fs::canonicalize(&so).unwrap().display()),
        "step python ctypes: wrong library found or loaded"
    );

    // The tools, as an operator finds them: stripped, needing the soname,
    // answering --version (this version, from the installed library) and
    // --help (pointing at their man page, installed).
    for (tool, section) in [("sbin/portlisten", "8"), ("bin/hellofdpass", "1")] {
        let exe = dest.join("usr/local").join(tool);
        let name = exe.file_name().unwrap().to_string_lossy().into_owned();
        let needs = readelf(&["-d", "-W"], &exe);
        assert!(needs.contains(&format!("[libfdcred.so.{major}]")), "{tool} must need the soname:\n{needs}");
        assert!(!has_debug_info(&readelf(&["-S", "-W"], &exe)), "the installed {tool} carries debug info");
        let mut cmd = Command::new(&exe);
        cmd.arg("--version").env("LD_LIBRARY_PATH", &lib);
        let out = run_ok(cmd);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("{name} {version} (libfdcred {version})"),
            "step {tool} --version"
        );
        let mut cmd = Command::new(&exe);
        cmd.arg("--help").env("LD_LIBRARY_PATH", &lib);
        let out = run_ok(cmd);
        let help = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(help.starts_with(&format!("usage: {name} ")), "step {tool} --help:\n{help}");
        assert!(help.contains(&format!("See {name}({section}).")), "step {tool} --help names no man page:\n{help}");
        let page = std::fs::read_to_string(dest.join(format!("usr/local/share/man/man{section}/{name}.{section}")))
            .unwrap_or_else(|e| panic!("the installed {name}.{section}: {e}"));
        assert!(page.starts_with(&format!(".TH {} {section} ", name.to_uppercase())), "{name}.{section}: {page}");
        assert!(page.lines().next().unwrap().contains(&format!("\"libfdcred {version}\"")), "not stamped");
    }

    make("uninstall", &dest);
    let left = files_below(&dest);
    assert!(left.is_empty(), "step uninstall left files behind: {left:?}");
}
