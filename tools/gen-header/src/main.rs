//! Generates `include/msgwire.h` from the `msgwire-ffi` crate with cbindgen
//! (used as a library, pinned in Cargo.toml so every machine writes the same
//! bytes).
//!
//! ```text
//! gen-header include/msgwire.h           write the header
//! gen-header --check include/msgwire.h   fail if the file is not current
//! ```
//!
//! The sources are found relative to this tool's own manifest, so the
//! command works from any directory; the header path is taken as given.
//! Settings live in `ffi/cbindgen.toml`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The workspace root: two levels above this tool's manifest.
fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// Runs cbindgen over `ffi/src` and returns the header text.
fn generate(root: &Path) -> Result<Vec<u8>, String> {
    let ffi = root.join("ffi");
    let config_path = ffi.join("cbindgen.toml");
    let config = cbindgen::Config::from_file(&config_path)
        .map_err(|e| format!("cannot read {}: {e}", config_path.display()))?;
    // `with_src` reads lib.rs and follows its `mod` declarations on disk;
    // unlike `with_crate` it needs no `cargo metadata` run.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(ffi.join("src/lib.rs"))
        .generate()
        .map_err(|e| format!("cbindgen failed: {e}"))?;
    let mut text = Vec::new();
    bindings.write(&mut text);
    Ok(text)
}

/// The first line where `a` and `b` differ (1-based), for the error message.
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    let mut line = 1;
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return line;
        }
        if *x == b'\n' {
            line += 1;
        }
    }
    line
}

fn run(args: &[String]) -> Result<(), String> {
    let (check, target) = match args {
        [flag, path] if flag == "--check" => (true, path),
        [path] if !path.starts_with('-') => (false, path),
        _ => {
            return Err("usage: gen-header [--check] <path/to/msgwire.h>".to_string());
        }
    };
    let target = Path::new(target);
    let fresh = generate(&workspace_root())?;
    if check {
        let current =
            std::fs::read(target).map_err(|e| format!("cannot read {}: {e}", target.display()))?;
        if current != fresh {
            return Err(format!(
                "{} is out of date (first difference at line {}): \
                 run `make header` and commit the result",
                target.display(),
                first_difference(&current, &fresh)
            ));
        }
        println!("{} is up to date", target.display());
    } else {
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        std::fs::write(target, &fresh)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        println!("wrote {}", target.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gen-header: {message}");
            ExitCode::FAILURE
        }
    }
}
