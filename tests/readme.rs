//! The README's C example is a program, not a sketch: it must compile with
//! the strict flags and run.
mod support;
use std::process::Command;
use support::{compile_c_paths, run_ok, scratch, Link};

#[test]
fn readme_c_example_compiles_and_runs() {
    let readme = std::fs::read_to_string(support::manifest_dir().join("README.md")).unwrap();
    let start = readme.find("```c\n").expect("a ```c block in the README") + 5;
    let end = start + readme[start..].find("```").expect("its closing fence");
    let src = scratch("readme").join("readme_example.c");
    std::fs::write(&src, &readme[start..end]).unwrap();
    let exe = compile_c_paths("readme-example", &[src], Link::Dynamic, &[]);
    let out = run_ok(Command::new(exe));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" sent: "), "unexpected output: {text}");
}
