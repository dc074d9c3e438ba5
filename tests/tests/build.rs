//! `lambkin build`: a `bootstrap.zip` Lambda's `provided.al2023` runtime accepts, byte-identical
//! across builds, whose binary then serves invocations.

#![allow(clippy::unwrap_used)]

use std::{io::Read, path::PathBuf, process::Command};

use lambkin_emulator::FunctionConfig;
use lambkin_tests::{
    Emulated,
    project::{lambkin_binary, repository},
};
use serde_json::json;

fn lambkin_build(args: &[&str]) -> String {
    let output = Command::new(lambkin_binary(false))
        .arg("build")
        .args(args)
        .current_dir(repository())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "lambkin build failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The zip `lambkin build` reported for `function`.
fn zip_path(stdout: &str, function: &str) -> PathBuf {
    let suffix = format!("lambda/{function}/bootstrap.zip");
    stdout
        .split_whitespace()
        .find(|w| w.ends_with(&suffix))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no {suffix} in:\n{stdout}"))
}

#[tokio::test]
async fn builds_a_deterministic_bootstrap_zip_that_serves() {
    let first = std::fs::read(zip_path(&lambkin_build(&["-p", "example-hello"]), "hello")).unwrap();
    let stdout = lambkin_build(&["-p", "example-hello", "--bin", "hello"]);
    let zip = zip_path(&stdout, "hello");
    let second = std::fs::read(&zip).unwrap();
    assert!(
        first == second,
        "the same binary gives a byte-identical zip"
    );

    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(second)).unwrap();
    assert_eq!(archive.len(), 1, "a single entry");
    let mut entry = archive.by_index(0).unwrap();
    assert_eq!(entry.name(), "bootstrap");
    assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
    let mut binary = Vec::new();
    entry.read_to_end(&mut binary).unwrap();
    let bootstrap = zip.with_file_name("bootstrap");
    assert_eq!(
        std::fs::read(&bootstrap).unwrap(),
        binary,
        "the zip holds target/lambda/hello/bootstrap"
    );
    let glibc = lambkin_emulator::package::required_glibc(&bootstrap, &binary).unwrap();
    assert!(
        glibc.is_none_or(|v| v <= lambkin_emulator::package::AL2023_GLIBC),
        "{glibc:?}"
    );

    // The packaged binary is a working function.
    let emulator = Emulated::start([FunctionConfig::new("hello", &bootstrap)]).await;
    let answer = emulator.invoke("hello", &json!({"name": "zip"})).await;
    assert_eq!(answer.body["message"], "Hello, zip!", "{answer:?}");
    emulator.stop().await;
}

#[test]
fn a_missing_cross_toolchain_names_the_commands_to_install_it() {
    let other = if cfg!(target_arch = "aarch64") {
        "--x86_64"
    } else {
        "--arm64"
    };
    let output = Command::new(lambkin_binary(false))
        .args(["build", "-p", "example-hello", other])
        .current_dir(repository())
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("rustup target add") && stderr.contains("apt-get install gcc-"),
        "{stderr}"
    );
}
