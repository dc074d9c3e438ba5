//! `lambkin build`: a `bootstrap.zip` Lambda's `provided.al2023` runtime accepts, byte-identical
//! across builds, whose binary then serves invocations; `--release` on a fresh project shipping
//! without local mode, every time; and the build profile of `lambkin watch` (`--release`,
//! `--profile`).

#![allow(clippy::unwrap_used)]

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use lambkin_emulator::FunctionConfig;
use lambkin_tests::{
    Emulated, developer_command,
    project::{Project, REBUILD, RELEASE_BUILD, Watching, lambkin_binary, repository, target_dir},
};
use serde_json::json;

/// `lambkin build <args>` at the repository's root.
fn lambkin_build(args: &[&str]) -> String {
    lambkin_build_in(repository(), args)
}

/// `lambkin build <args>` in `dir`, sharing this test's target dir (a warm cache for the
/// dependencies), which must succeed; its stdout.
fn lambkin_build_in(dir: &Path, args: &[&str]) -> String {
    let output = developer_command(lambkin_binary())
        .arg("build")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
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
    // Not `hello`: the README's shipping test writes target/lambda/hello/ meanwhile.
    let first = std::fs::read(zip_path(
        &lambkin_build(&["-p", "example-errors"]),
        "errors",
    ))
    .unwrap();
    let stdout = lambkin_build(&["-p", "example-errors", "--bin", "errors"]);
    let zip = zip_path(&stdout, "errors");
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
        "the zip holds target/lambda/errors/bootstrap"
    );
    let glibc = lambkin_emulator::dev::package::required_glibc(&bootstrap, &binary).unwrap();
    assert!(
        glibc.is_none_or(|v| v <= lambkin_emulator::dev::package::AL2023_GLIBC),
        "{glibc:?}"
    );

    // The packaged binary is a working function.
    let emulator = Emulated::start([FunctionConfig::new("errors", &bootstrap)]).await;
    let answer = emulator.invoke("errors", &json!({"quantity": "7"})).await;
    assert_eq!(answer.body, json!(7), "{answer:?}");
    emulator.stop().await;
}

#[test]
fn a_missing_cross_toolchain_names_the_commands_to_install_it() {
    let other = if cfg!(target_arch = "aarch64") {
        "--x86_64"
    } else {
        "--arm64"
    };
    let output = developer_command(lambkin_binary())
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

/// A project of its own (outside this workspace) that ships without local mode, as the README's
/// shipping section suggests: `lambkin build --release` succeeds every time, over its own
/// output, and the bootstrap serves under a Runtime API. (The README's shipping test builds an
/// example of this workspace, with the default features, the same way.)
#[tokio::test]
async fn release_builds_of_a_fresh_project_succeed_every_time() {
    let project = Project::new("release-build");
    project.manifest_with("default-features = false", "");
    let first = zip_path(
        &lambkin_build_in(project.dir(), &["--release"]),
        "release-build",
    );
    let first_zip = std::fs::read(&first).unwrap();
    // Again, over the first build's output: nothing in the way, the same zip.
    let second = zip_path(
        &lambkin_build_in(project.dir(), &["--release"]),
        "release-build",
    );
    assert_eq!(first, second);
    assert_eq!(
        first,
        target_dir().join("lambda/release-build/bootstrap.zip"),
        "target/lambda/<function>/bootstrap.zip"
    );
    assert!(
        std::fs::read(&second).unwrap() == first_zip,
        "the same binary gives a byte-identical zip"
    );
    // Built with the Lambda profile, whose own output directory is not target/lambda/.
    let bootstrap = second.with_file_name("bootstrap");
    let built = target_dir().join("lambda-release/release-build");
    assert_eq!(
        std::fs::read(&built).unwrap(),
        std::fs::read(&bootstrap).unwrap(),
        "the bootstrap is the lambda-release build"
    );

    // It serves under a Runtime API, and outside one it says what it needs.
    let emulator = Emulated::start([FunctionConfig::new("release-build", &bootstrap)]).await;
    let answer = emulator.invoke("release-build", &json!({})).await;
    assert_eq!(answer.body, json!({"version": 1}), "{answer:?}");
    emulator.stop().await;
    let output = developer_command(&bootstrap)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("AWS_LAMBDA_RUNTIME_API is not set") && stderr.contains("`local` feature"),
        "{stderr}"
    );
}

/// Whether a function answering [`build_info`] runs a debug build, and its executable.
async fn running_build(lambkin: &Watching) -> (bool, PathBuf) {
    let answer = lambkin_tests::try_post(lambkin.addr, "/", &[], "{}".to_owned())
        .await
        .unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    let info = &answer.body["version"];
    let exe = PathBuf::from(info["exe"].as_str().unwrap());
    (info["debug"].as_bool().unwrap(), exe)
}

/// A handler answer telling its build: `cfg!(debug_assertions)` and the running executable.
fn build_info(generation: u32) -> String {
    format!(
        "serde_json::json!({{ \"generation\": {generation}, \"debug\": cfg!(debug_assertions), \"exe\": std::env::current_exe().unwrap() }})"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_release_serves_and_reloads_release_builds() {
    let project = Project::new("watch-release");
    // The project's own release profile, as `--release` must honour it: without optimisation,
    // since what is checked here is which profile builds and reloads (`lambkin build --release`
    // and the README's shipping test build with the optimiser), and an optimised build of the
    // whole dependency tree would add minutes to every test run.
    project.manifest("[profile.release]\nopt-level = 0\n");
    project.answer(&build_info(1));
    let lambkin = Watching::start_within(
        &lambkin_binary(),
        project.dir(),
        &["--release"],
        &target_dir(),
        RELEASE_BUILD,
    )
    .await;
    let release = target_dir().join("release/watch-release");
    let (debug, exe) = running_build(&lambkin).await;
    assert!(!debug, "a release build runs");
    assert!(
        exe.starts_with(target_dir().join("lambkin")),
        "a frozen version: {exe:?}"
    );
    assert!(
        std::fs::read(&exe).unwrap() == std::fs::read(&release).unwrap(),
        "frozen from target/release/"
    );

    // A rebuild on change uses the same profile.
    project.answer(&build_info(2));
    let reloaded = tokio::time::timeout(REBUILD, async {
        loop {
            let answer = lambkin_tests::try_post(lambkin.addr, "/", &[], "{}".to_owned()).await;
            if answer.is_ok_and(|a| a.body["version"]["generation"] == 2) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(reloaded.is_ok(), "the edit was never served");
    let (debug, exe) = running_build(&lambkin).await;
    assert!(!debug, "the rebuild is a release build too");
    assert!(std::fs::read(&exe).unwrap() == std::fs::read(&release).unwrap());
}

#[test]
fn watch_with_an_unknown_profile_fails_with_cargos_message() {
    let project = Project::new("watch-profile");
    let output = developer_command(lambkin_binary())
        .args(["watch", "--port", "0", "--profile", "no-such-profile"])
        .current_dir(project.dir())
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("profile `no-such-profile` is not defined"),
        "{stderr}"
    );
}

#[test]
fn failing_commands_print_the_error_without_a_backtrace() {
    let output = developer_command(lambkin_binary())
        .args(["build", "-p", "nonexistent"])
        .current_dir(repository())
        .env("RUST_BACKTRACE", "1")
        .env("RUST_LIB_BACKTRACE", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: package `nonexistent` is not a workspace member"),
        "{stderr}"
    );
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
}

#[test]
fn lambkin_event_into_a_closed_pipe_exits_quietly() {
    let lambkin = lambkin_binary();
    let dir = std::env::temp_dir().join(format!("lambkin-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sh = |script: &str| {
        let output = developer_command("sh")
            .args(["-c", script])
            .current_dir(&dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
    };
    // As users type it.
    let (stdout, head_stderr) = sh(&format!("{lambkin:?} event sqs | head -1"));
    // The pipe surely closed before lambkin writes (`true` reads nothing and exits at once):
    // a quiet success, not a panic. lambkin's status goes through a file (PIPESTATUS is not
    // POSIX).
    let (_, closed_stderr) = sh(&format!(
        "(sleep 0.5; {lambkin:?} event sqs; echo $? >status) | true"
    ));
    let status = std::fs::read_to_string(dir.join("status"));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(stdout, "{\n");
    assert!(head_stderr.is_empty(), "{head_stderr}");
    assert!(closed_stderr.is_empty(), "{closed_stderr}");
    assert_eq!(status.unwrap().trim(), "0");
}
