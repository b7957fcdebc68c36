//! Every exported function has a section-3 man page with the sections a C
//! programmer looks for; every page renders without a single groff warning;
//! every page's example is a real program that compiles with the strict
//! flags and runs against the library.
mod support;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::{compile_c_paths, manifest_dir, profile_dir, run_ok, scratch, Link};

/// The sections of a page that documents functions.
const SECTIONS: &[&str] = &["NAME", "SYNOPSIS", "DESCRIPTION", "RETURN VALUE", "ERRORS", "EXAMPLES", "SEE ALSO"];
/// The sections of an overview page (fdcred.3).
const OVERVIEW_SECTIONS: &[&str] = &["NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES", "SEE ALSO"];

fn man3() -> PathBuf {
    manifest_dir().join("man/man3")
}

/// Every `fdcred_*` function: declared in the generated header, or exported
/// by the shared library.
fn exported_functions() -> BTreeSet<String> {
    let header = std::fs::read_to_string(profile_dir().join("include/fdcred.h")).unwrap();
    let mut names: BTreeSet<String> = header
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && !l.starts_with('/') && !l.starts_with('*'))
        .filter_map(|l| {
            let open = l.find('(')?;
            let name = l[..open].rsplit([' ', '*']).next()?;
            name.starts_with("fdcred_").then(|| name.to_owned())
        })
        .collect();
    assert!(names.contains("fdcred_sendfd"), "found no functions in fdcred.h: {names:?}");
    let so = profile_dir().join("libfdcred.so");
    if !so.exists() {
        // A target without cdylib support (static musl): the header is the list.
        println!("note: no {}; taking the functions from the header alone", so.display());
        return names;
    }
    let nm =
        Command::new("nm").args(["-D", "--defined-only", "--format=posix"]).arg(&so).output().expect("nm (binutils)");
    assert!(nm.status.success(), "nm -D {} failed", so.display());
    for line in String::from_utf8_lossy(&nm.stdout).lines() {
        if let Some(name) = line.split_whitespace().next().filter(|n| n.starts_with("fdcred_")) {
            names.insert(name.to_owned());
        }
    }
    names
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The page that documents `name`: its own file, or the target of its `.so` link.
fn page_text(name: &str) -> Option<(PathBuf, String)> {
    let path = man3().join(format!("{name}.3"));
    let text = std::fs::read_to_string(&path).ok()?;
    match text.strip_prefix(".so ") {
        Some(target) => {
            let target = manifest_dir().join("man").join(target.trim());
            let text = read(&target);
            Some((target, text))
        }
        None => Some((path, text)),
    }
}

fn pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(man3())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "3"))
        .collect();
    pages.sort();
    assert!(!pages.is_empty(), "no pages in man/man3");
    pages
}

#[test]
fn every_exported_function_has_a_complete_man_page() {
    let mut problems = Vec::new();
    let mut documenting = BTreeSet::new();
    for name in exported_functions() {
        let Some((page, text)) = page_text(&name) else {
            problems.push(format!(
                "{name} has no man page: write man/man3/{name}.3 (or make it a one-line `.so man3/<page>.3` link to \
                 the page that documents it, and list {name} in that page's NAME and SYNOPSIS)"
            ));
            continue;
        };
        let shown = page.strip_prefix(manifest_dir()).unwrap_or(&page).display().to_string();
        documenting.insert(page.clone());
        let name_line = text.split(".SH NAME\n").nth(1).and_then(|t| t.lines().next()).unwrap_or("");
        if !name_line.split([',', ' ']).any(|w| w == name) {
            problems.push(format!("{shown}: {name} is not in the NAME line ({name_line:?})"));
        }
        let synopsis = text.split(".SH SYNOPSIS").nth(1).and_then(|t| t.split(".SH ").next()).unwrap_or("");
        if !synopsis.contains(&format!("{name}(")) {
            problems.push(format!("{shown}: the SYNOPSIS does not declare {name}("));
        }
    }
    for page in pages() {
        let text = read(&page);
        if text.starts_with(".so ") {
            continue;
        }
        let shown = page.strip_prefix(manifest_dir()).unwrap().display().to_string();
        let wanted = if documenting.contains(&page) { SECTIONS } else { OVERVIEW_SECTIONS };
        for section in wanted {
            let found = text.lines().any(|l| l == format!(".SH {section}") || l == format!(".SH \"{section}\""));
            if !found {
                problems.push(format!("{shown}: no {section} section"));
            }
        }
    }
    assert!(problems.is_empty(), "man pages out of step with the library:\n  {}", problems.join("\n  "));
}

#[test]
fn every_man_page_renders_without_warnings() {
    for page in pages() {
        let rel = page.strip_prefix(manifest_dir().join("man")).unwrap().to_owned();
        // groff with every warning enabled; `.so` paths are relative to man/.
        let groff = Command::new("groff")
            .args(["-man", "-ww", "-z", "-t"])
            .arg(&rel)
            .current_dir(manifest_dir().join("man"))
            .output()
            .expect("groff (groff-base, scripts/setup)");
        let warnings = String::from_utf8_lossy(&groff.stderr);
        assert!(groff.status.success() && warnings.is_empty(), "groff -man -ww {}:\n{warnings}", rel.display());
        // And the way a reader sees it.
        let man = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&rel)
            .current_dir(manifest_dir().join("man"))
            .env("MANWIDTH", "80")
            .env("LC_ALL", "C.UTF-8")
            .env("MAN_KEEP_FORMATTING", "0")
            .output()
            .expect("man (man-db, scripts/setup)");
        let warnings = String::from_utf8_lossy(&man.stderr);
        assert!(man.status.success() && warnings.is_empty(), "man -l {}:\n{warnings}", rel.display());
        assert!(!man.stdout.is_empty(), "man -l {} printed nothing", rel.display());
    }
}

/// The code between `.EX` and `.EE`, with the roff escapes undone.
fn example_of(text: &str) -> Option<String> {
    let start = text.find("\n.EX\n")? + 5;
    let end = start + text[start..].find("\n.EE\n")?;
    Some(text[start..end].replace("\\-", "-").replace("\\e", "\\").replace("\\(dq", "\""))
}

#[test]
fn every_man_page_example_compiles_and_runs() {
    let dir = scratch("man-examples");
    for page in pages() {
        let text = read(&page);
        if text.starts_with(".so ") {
            continue;
        }
        let stem = page.file_stem().unwrap().to_str().unwrap().to_owned();
        let src = example_of(&text).unwrap_or_else(|| panic!("{}: no .EX/.EE example", page.display()));
        if !src.contains("main(void)") {
            continue; // a command line, not a program (fdcred.3)
        }
        let path = dir.join(format!("{stem}.c"));
        std::fs::write(&path, &src).unwrap();
        let link = if profile_dir().join("libfdcred.so").exists() { Link::Dynamic } else { Link::Static };
        let exe = compile_c_paths(&format!("man-{stem}"), &[path], link, &[]);
        // A deadline, so a blocking example fails instead of hanging the suite.
        let mut cmd = Command::new("timeout");
        cmd.arg("60").arg(exe);
        run_ok(cmd);
    }
}

/// The pages as `make install-man` installs them (a `.so` page becomes a
/// symlink to the page it names) open both ways a reader opens a page: `man
/// -l FILE` and `man NAME` from the installed man directory, each showing the
/// page that documents that name, with nothing on standard error.
#[test]
fn installed_man_pages_open_with_man_l_and_by_name() {
    if Command::new("man").arg("--version").output().is_err() {
        println!("SKIP: man (man-db) is not installed (scripts/setup installs it)");
        return;
    }
    let dest = scratch("man-install");
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::create_dir_all(&dest).unwrap();
    let out = Command::new("make")
        .current_dir(manifest_dir())
        .args(["-s", "--no-print-directory", "install-man", "PREFIX=/usr/local"])
        .arg(format!("DESTDIR={}", dest.display()))
        .env_remove("MAKEFLAGS")
        .output()
        .expect("make (scripts/setup installs it)");
    assert!(out.status.success(), "step make install-man: {}", String::from_utf8_lossy(&out.stderr));
    let mandir = dest.join("usr/local/share/man");
    let man = |args: &[&std::ffi::OsStr]| {
        let out = Command::new("man")
            .args(args)
            .env("MANWIDTH", "80")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("MAN_DISABLE_SECCOMP", "1")
            .env_remove("MANPATH")
            .current_dir(&dest) // not a man root: `.so` requests could not resolve here
            .output()
            .expect("running man");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let mut problems = Vec::new();
    for page in pages() {
        let file = page.file_name().unwrap().to_owned();
        let name = page.file_stem().unwrap().to_string_lossy().into_owned();
        let installed = mandir.join("man3").join(&file);
        let (_, want) = page_text(&name).unwrap();
        let want_name_line = want.split(".SH NAME\n").nth(1).and_then(|t| t.lines().next()).unwrap_or("").to_owned();
        let first_name = want_name_line.split([',', ' ', '\\']).next().unwrap_or("").to_owned();
        for (how, (ok, stdout, stderr)) in [
            (format!("man -l {}", installed.display()), man(&["-l".as_ref(), installed.as_os_str()])),
            (
                format!("man -M {} 3 {name}", mandir.display()),
                man(&["-M".as_ref(), mandir.as_os_str(), "3".as_ref(), name.as_ref()]),
            ),
        ] {
            let shown = stdout.lines().find(|l| !l.trim().is_empty()).unwrap_or("").to_owned();
            if !ok || !stderr.trim().is_empty() {
                problems.push(format!("`{how}` failed or complained: {stderr}"));
            } else if !stdout.contains(&name) || !shown.to_lowercase().contains(&first_name.to_lowercase()) {
                problems.push(format!("`{how}` shows {shown:?}, not the page documenting {name} ({first_name})"));
            }
        }
    }
    assert!(problems.is_empty(), "installed man pages that do not open:\n{}", problems.join("\n"));
}

/// The hand-off tools' pages (portlisten.8, hellofdpass.1): render without
/// a warning, carry the sections an operator looks for, and document every
/// option the program's --help text lists.
#[test]
fn tool_man_pages_render_without_warnings_and_document_every_option() {
    for (page, source) in
        [("man8/portlisten.8", "examples/portlisten.c"), ("man1/hellofdpass.1", "examples/hellofdpass.c")]
    {
        let groff = Command::new("groff")
            .args(["-man", "-ww", "-z", "-t"])
            .arg(page)
            .current_dir(manifest_dir().join("man"))
            .output()
            .expect("groff (groff-base, scripts/setup)");
        let warnings = String::from_utf8_lossy(&groff.stderr);
        assert!(groff.status.success() && warnings.is_empty(), "groff -man -ww {page}:\n{warnings}");
        let text = read(&manifest_dir().join("man").join(page));
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SECURITY", "EXIT STATUS", "EXAMPLES", "SEE ALSO"]
        {
            assert!(text.contains(&format!(".SH {section}\n")), "{page} has no {section} section");
        }
        let src = read(&manifest_dir().join(source));
        let usage = &src[src.find("usage_text[] =").unwrap_or_else(|| panic!("{source}: no usage_text"))..];
        let usage = &usage[..usage.find(';').unwrap()];
        let options: BTreeSet<&str> = usage
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .collect();
        assert!(options.len() >= 5, "{source}: found too few options in its --help: {options:?}");
        for option in options {
            let roff = option.replace('-', "\\-");
            assert!(
                text.contains(&format!(".B {roff}")) || text.contains(&format!(".BI {roff} ")),
                "{page} does not document {option}"
            );
        }
    }
}
