//! The README's C example is a program, not a sketch: it must compile with
//! the strict flags and run; and the shell commands beside it, run exactly as
//! written (the first part in the clone, the rest in the directory holding
//! demo.c), build the library, compile it and run it. What it prints must be
//! true: the pid the kernel vouched for is the forked sender's. The hand-off
//! example runs as pasted too (as root, with only its port, its directory
//! and where the tools live changed) and listens where it says.
#[path = "examples/common.rs"]
mod common;
mod support;
use std::path::Path;
use std::process::Command;
use support::{compile_c_paths, manifest_dir, run_ok, scratch, Link};

fn readme() -> String {
    std::fs::read_to_string(manifest_dir().join("README.md")).unwrap()
}

/// The body of the first fenced block of `lang` after `from` in `text`.
fn block<'a>(text: &'a str, lang: &str, from: usize) -> (&'a str, usize) {
    let fence = format!("```{lang}\n");
    let start =
        from + text[from..].find(&fence).unwrap_or_else(|| panic!("no ```{lang} block in the README")) + fence.len();
    let end = start + text[start..].find("```").expect("its closing fence");
    (&text[start..end], end)
}

/// "child N; pid M uid U sent: ...": the example's claim, checked: M is N.
fn check_output(text: &str) {
    let line = text.lines().find(|l| l.contains(" sent: ")).unwrap_or_else(|| panic!("unexpected output: {text}"));
    let number_after = |key: &str| -> i64 {
        let rest = &line[line.find(key).unwrap_or_else(|| panic!("no {key:?} in {line:?}")) + key.len()..];
        rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    let child = number_after("child ");
    let sender = number_after("pid ");
    assert_eq!(sender, child, "the example prints pid {sender} as the sender, but the sender was {child}: {line:?}");
    assert_ne!(sender, std::process::id() as i64, "the printed pid is the test's own");
}

#[test]
fn readme_c_example_compiles_and_runs() {
    let readme = readme();
    let (c, _) = block(&readme, "c", 0);
    let src = scratch("readme").join("readme_example.c");
    std::fs::write(&src, c).unwrap();
    let exe = compile_c_paths("readme-example", &[src], Link::Dynamic, &[]);
    let out = run_ok(Command::new(exe));
    check_output(&String::from_utf8_lossy(&out.stdout));
}

/// The shell block after the C example, run by bash as a user pastes it: the
/// lines before the "# then, in the directory holding demo.c" comment in the
/// clone, the rest in a directory outside it holding demo.c, with none of
/// this test's build environment.
#[test]
fn readme_c_example_commands_work_as_written() {
    if cfg!(target_env = "musl") {
        println!("SKIP: the README's commands build with the host's glibc cc; checked by the glibc run");
        return;
    }
    let readme = readme();
    let (c, after_c) = block(&readme, "c", 0);
    let (sh, _) = block(&readme, "sh", after_c);
    let split = sh
        .lines()
        .position(|l| l.trim_start().starts_with("# then") || l.trim_start().starts_with("# Then"))
        .unwrap_or_else(|| {
            panic!("the README's commands lack the \"# then, in the directory holding demo.c\" line:\n{sh}")
        });
    let lines: Vec<&str> = sh.lines().collect();
    let (in_clone, in_demo_dir) = (lines[..split].join("\n"), lines[split..].join("\n"));
    assert!(in_demo_dir.contains("demo.c"), "the commands never compile demo.c:\n{sh}");

    let work = scratch("readme-commands");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("demo.c"), c).unwrap();
    let script = format!("set -eu\ncd {}\n{in_clone}\ncd {}\n{in_demo_dir}\n", quote(&manifest_dir()), quote(&work));
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(&script);
    for var in ["CARGO_TARGET_DIR", "PKG_CONFIG_PATH", "LD_LIBRARY_PATH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"] {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("running bash: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the README's commands failed ({}):\n{script}\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    check_output(&stdout);
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// The README stays a front door: at most 250 lines, every relative link it
/// makes names a file in the tree, and no orphan section markers.
#[test]
fn readme_is_short_and_its_links_resolve() {
    let readme = readme();
    let lines = readme.lines().count();
    assert!(lines <= 250, "README.md has {lines} lines; move detail to docs/ (the front door holds at most 250)");
    assert!(!readme.contains("<!--"), "README.md holds an HTML comment marker");
    let mut missing = Vec::new();
    let mut docs = vec!["README.md".to_owned()];
    for entry in std::fs::read_dir(manifest_dir().join("docs")).expect("docs/") {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            docs.push(format!("docs/{name}"));
        }
    }
    for want in ["docs/portability.md", "docs/abi.md", "docs/benchmark.md", "docs/guarantees.md", "docs/building.md"] {
        assert!(docs.iter().any(|d| d == want), "{want} is missing");
    }
    for doc in &docs {
        let text = std::fs::read_to_string(manifest_dir().join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
        let base = manifest_dir().join(doc).parent().unwrap().to_path_buf();
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let target = &target[..target.find(')').unwrap_or(0)];
            let path = target.split('#').next().unwrap();
            if path.is_empty() || path.contains("://") {
                continue;
            }
            if !base.join(path).exists() {
                missing.push(format!("{doc} links to {target}"));
            }
        }
    }
    assert!(missing.is_empty(), "links to files that do not exist: {missing:?}");
}

/// The "Serving a port below 1024" block, run by bash as root pastes it,
/// with the tools from examples/ first on PATH, port 80 replaced by a free
/// port below 1024 and /run/hello by a scratch directory (other runs of this
/// suite may share the machine): it must listen on every IPv4 address, as
/// the text says, and greet from uid 65534.
#[test]
fn readme_handoff_example_works_as_pasted_and_listens_where_it_says() {
    use common::*;
    if skip_unless_root("the README hand-off example (it is written for root)") {
        return;
    }
    let readme = readme();
    let from = readme.find("## Serving a port below 1024").expect("the README's hand-off section");
    let (sh, _) = block(&readme, "sh", from);
    assert!(readme[from..].contains("`--addr 0.0.0.0`"), "the hand-off section must say which address it listens on");
    let port =
        (600..1000u16).find(|p| std::net::TcpListener::bind(("0.0.0.0", *p)).is_ok()).expect("a free port below 1024");
    let sb = Sandbox::new("readme-handoff", &build_examples("readme-handoff-bin"), 0);
    let dir = sb.dir.join("hello");
    assert!(sh.contains(" 80 ") && sh.contains("/run/hello"), "the example changed shape:\n{sh}");
    let script = sh.replace(" 80 ", &format!(" {port} ")).replace("/run/hello", &dir.display().to_string());
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(format!("set -eu\n{script}"));
    cmd.env("PATH", format!("{}:{}", sb.bin.display(), std::env::var("PATH").unwrap_or_default()));
    cmd.env("LD_LIBRARY_PATH", &sb.bin);
    // Its own process group: the background jobs are stopped together.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut shell = Proc::spawn("the README's hand-off commands", &mut cmd);
    // The background jobs end with the test, passed or failed.
    let _jobs = StopGroup(shell.pid());
    let line = shell.expect_line("portlisten: listening on", 20);
    assert!(
        line.contains(&format!("listening on 0.0.0.0:{port}")),
        "the README's example does not listen on every address: {line}\n{}",
        shell.output()
    );
    let got = read_all(connect(port));
    assert_eq!(got.as_deref(), Ok("hello from nobody"), "output:\n{}", shell.output());
}

/// SIGTERM to a process group this test made, when dropped.
struct StopGroup(i32);

impl Drop for StopGroup {
    fn drop(&mut self) {
        // SAFETY: kill has no memory-safety preconditions; the group is the
        // one the test's bash leads (its jobs stay in it).
        unsafe { libc::kill(-self.0, libc::SIGTERM) };
    }
}
