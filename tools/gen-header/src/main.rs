//! `fdcred-gen-header CRATE_DIR OUTPUT`: generate the C header of the crate in
//! `CRATE_DIR` with cbindgen, configured by its `cbindgen.toml`, and write it
//! to `OUTPUT` (`-` for standard output). Run by `.ci/header-check`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [crate_dir, output] = args.as_slice() else {
        eprintln!("usage: fdcred-gen-header CRATE_DIR OUTPUT|-");
        return ExitCode::from(2);
    };
    let crate_dir = PathBuf::from(crate_dir);
    let config = match cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("fdcred-gen-header: {}: {e}", crate_dir.join("cbindgen.toml").display());
            return ExitCode::FAILURE;
        }
    };
    let bindings = match cbindgen::Builder::new().with_crate(&crate_dir).with_config(config).generate() {
        Ok(bindings) => bindings,
        Err(e) => {
            eprintln!("fdcred-gen-header: cbindgen failed on {}: {e}", crate_dir.display());
            return ExitCode::FAILURE;
        }
    };
    if output == "-" {
        bindings.write(std::io::stdout().lock());
    } else {
        // Through a temporary file, so that a reader never sees half a header.
        let tmp = PathBuf::from(format!("{output}.{}.tmp", std::process::id()));
        if !bindings.write_to_file(&tmp) && !tmp.exists() {
            eprintln!("fdcred-gen-header: could not write {}", tmp.display());
            return ExitCode::FAILURE;
        }
        if let Err(e) = std::fs::rename(&tmp, output) {
            eprintln!("fdcred-gen-header: renaming {} to {output}: {e}", tmp.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
