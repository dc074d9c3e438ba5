//! Replays the fuzz targets' seed corpus (`fuzz/seeds/<target>/`) and every saved crash
//! reproducer (`fuzz/regressions/<target>/`) through the fuzz targets' own checks, on stable.
//!
//! The checks live in `fuzz/src/lib.rs` (the `lambkin-fuzz` crate, a nightly-only workspace of
//! its own); that file is compiled in here as a module, so a fixed crash stays fixed without
//! cargo-fuzz or nightly.

#[path = "../../../fuzz/src/lib.rs"]
mod harness;

use std::path::{Path, PathBuf};

/// The `fuzz/` directory of the repository.
fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Every file in `fuzz/seeds/<target>` and `fuzz/regressions/<target>` (either may be absent).
fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("readable directory entry").path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs `check` on every input of `target`, naming the file that fails.
fn replay(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no seeds for {target} under fuzz/seeds");
    for file in files {
        let data = std::fs::read(&file).expect("readable input");
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            let shown = file.strip_prefix(fuzz_dir()).unwrap_or(&file);
            panic!("fuzz/{} fails (see the panic above)", shown.display());
        }
    }
}

#[test]
fn apigw_request() {
    replay("apigw_request", harness::apigw_request);
}

#[test]
fn apigw_response() {
    replay("apigw_response", harness::apigw_response);
}

#[test]
fn config_sam() {
    replay("config_sam", harness::config_sam);
}

#[test]
fn config_serverless() {
    replay("config_serverless", harness::config_serverless);
}

#[test]
fn config_cargo() {
    replay("config_cargo", harness::config_cargo);
}

#[test]
fn config_sam_generated() {
    replay("config_sam_generated", harness::config_sam_generated);
}

#[test]
fn config_serverless_generated() {
    replay(
        "config_serverless_generated",
        harness::config_serverless_generated,
    );
}

#[test]
fn runtime_api() {
    replay("runtime_api", harness::runtime_api);
}
