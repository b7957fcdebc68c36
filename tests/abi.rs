//! scripts/abi-check catches what it promises to catch: a symbol the record
//! lacks, a struct field whose layout moved, a released version taking
//! additions without a minor bump; and `--update` regenerates exactly the
//! committed record. Each case runs on a copy of abi/ (FDCRED_ABI_DIR), never
//! on the committed files. (scripts/test runs the check itself on abi/.)
mod support;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::{manifest_dir, profile_dir, scratch};

/// A fresh copy of abi/ named `name`.
fn copy_of_record(name: &str) -> PathBuf {
    let dir = scratch("abi-records").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(manifest_dir().join("abi")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn abi_check(record: &Path, args: &[&str]) -> Output {
    let profile = profile_dir();
    Command::new(manifest_dir().join("scripts/abi-check"))
        .args(args)
        .env("FDCRED_ABI_DIR", record)
        .env("FDCRED_PROFILE", profile.file_name().unwrap())
        .env("CARGO_TARGET_DIR", profile.parent().unwrap())
        .output()
        .expect("scripts/abi-check runs (python3, scripts/setup)")
}

/// The check relinks with the host's glibc cc; a musl build is not its business.
fn skip_on_musl() -> bool {
    if cfg!(target_env = "musl") {
        println!("SKIP: scripts/abi-check links with the host's glibc cc; it runs in the glibc suite");
    }
    cfg!(target_env = "musl")
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let new = f(text.clone());
    assert_ne!(text, new, "the edit of {} changed nothing", path.display());
    std::fs::write(path, new).unwrap();
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn layout_file(record: &Path) -> PathBuf {
    let arch = std::env::consts::ARCH;
    record.join(format!("layout-{arch}.txt"))
}

#[test]
fn abi_check_update_regenerates_the_committed_record() {
    if skip_on_musl() {
        return;
    }
    if !layout_file(&manifest_dir().join("abi")).exists() {
        println!("SKIP: abi/ has no layout record for {}", std::env::consts::ARCH);
        return;
    }
    let record = scratch("abi-records").join("regenerated");
    let _ = std::fs::remove_dir_all(&record);
    let out = abi_check(&record, &["--update"]);
    assert!(out.status.success(), "scripts/abi-check --update into an empty directory failed:\n{}", stderr(&out));
    for entry in std::fs::read_dir(manifest_dir().join("abi")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        let committed = std::fs::read_to_string(&path).unwrap();
        let generated = std::fs::read_to_string(record.join(name)).unwrap_or_default();
        assert!(
            committed == generated,
            "abi/{} is not what the build generates: run `scripts/abi-check --update` and commit abi/",
            name.to_string_lossy()
        );
    }
}

#[test]
fn abi_check_fails_on_a_symbol_missing_from_the_record() {
    if skip_on_musl() {
        return;
    }
    let record = copy_of_record("symbol");
    edit(&record.join("symbols.txt"), without_fdcred_version);
    let out = abi_check(&record, &[]);
    let err = stderr(&out);
    assert!(!out.status.success(), "abi-check passed with fdcred_version missing from the record");
    assert!(err.contains("symbol fdcred_version added"), "the failure does not name the symbol:\n{err}");
    assert!(err.contains("scripts/abi-check --update"), "the failure does not say how to record it:\n{err}");
}

#[test]
fn abi_check_fails_on_a_moved_struct_field() {
    if skip_on_musl() {
        return;
    }
    let record = copy_of_record("layout");
    let layout = layout_file(&record);
    if !layout.exists() {
        println!("SKIP: abi/ has no layout record for {}", std::env::consts::ARCH);
        return;
    }
    edit(&layout, move_fdcred_cred_uid);
    let out = abi_check(&record, &[]);
    let err = stderr(&out);
    assert!(!out.status.success(), "abi-check passed with fdcred_cred.uid at another offset in the record");
    assert!(err.contains("struct fdcred_cred.uid: offset 99"), "the failure does not name the field:\n{err}");
}

fn move_fdcred_cred_uid(t: String) -> String {
    t.lines()
        .map(|l| match l.strip_prefix("struct fdcred_cred.uid: offset ") {
            Some(rest) => format!("struct fdcred_cred.uid: offset 99{}\n", &rest[rest.find(',').unwrap()..]),
            None => format!("{l}\n"),
        })
        .collect()
}

fn without_fdcred_version(t: String) -> String {
    t.lines().filter(|l| !l.starts_with("fdcred_version@@")).flat_map(|l| [l, "\n"]).collect()
}

#[test]
fn abi_check_update_refuses_additions_to_a_released_version_without_a_minor_bump() {
    if skip_on_musl() {
        return;
    }
    let record = copy_of_record("released");
    edit(&record.join("symbols.txt"), without_fdcred_version);
    let out = update_as_released(&record);
    let err = stderr(&out);
    assert!(!out.status.success(), "--update recorded a new symbol in a released version");
    assert!(err.contains("minor version bump"), "the refusal does not say what to bump:\n{err}");
    assert!(
        !std::fs::read_to_string(record.join("symbols.txt")).unwrap().contains("fdcred_version"),
        "--update wrote anyway"
    );
}

/// `scripts/abi-check --update` as if the Cargo.toml version were tagged.
fn update_as_released(record: &Path) -> Output {
    Command::new(manifest_dir().join("scripts/abi-check"))
        .arg("--update")
        .env("FDCRED_ABI_DIR", record)
        .env("FDCRED_ABI_ASSUME_RELEASED", "1")
        .env("FDCRED_PROFILE", profile_dir().file_name().unwrap())
        .env("CARGO_TARGET_DIR", profile_dir().parent().unwrap())
        .output()
        .expect("scripts/abi-check runs")
}

#[test]
fn abi_check_update_refuses_a_layout_change_to_a_released_major_version() {
    if skip_on_musl() {
        return;
    }
    let record = copy_of_record("released-layout");
    let layout = layout_file(&record);
    if !layout.exists() {
        println!("SKIP: abi/ has no layout record for {}", std::env::consts::ARCH);
        return;
    }
    edit(&layout, move_fdcred_cred_uid);
    let out = update_as_released(&record);
    let err = stderr(&out);
    assert!(!out.status.success(), "--update recorded a layout change in a released major version");
    assert!(err.contains("Bump the major version"), "the refusal does not say what to bump:\n{err}");
}
