//! The SDK's binaries under the peer tool: `cargo lambda watch` (cargo-lambda, from PyPI)
//! builds and runs a Lambkin function through its own Runtime API, which it names with a URL
//! (`AWS_LAMBDA_RUNTIME_API=http://127.0.0.1:<port>/.rt/<function>`) where Lambda sets
//! host:port. Skipped, with a note, when `cargo-lambda` is not installed, unless
//! `LAMBKIN_REQUIRE_CARGO_LAMBDA` is set (then the test fails).

use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use lambkin_tests::project::{repository, target_dir};
use serde_json::json;

/// How long the first answer may take: cargo-lambda builds the function before it runs it.
const FIRST_ANSWER: Duration = Duration::from_secs(600);

/// `cargo lambda watch`, interrupted when dropped (it then stops the function it runs).
struct Watch(Child);

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn an_sdk_function_runs_under_cargo_lambda_watch() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let log = std::env::temp_dir().join(format!("lambkin-cargo-lambda-{}.log", std::process::id()));
    let output = std::fs::File::create(&log).unwrap();
    let spawned = lambkin_tests::developer_command("cargo-lambda")
        .args(["lambda", "watch", "--ignore-changes"])
        .args(["-p", "lambkin-tests", "--bin", "echo"])
        .args([
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .current_dir(repository())
        .env("CARGO_TARGET_DIR", target_dir())
        // cargo-lambda runs the function with `$CARGO` when set: the cargo on the PATH instead.
        .env_remove("CARGO")
        .stdin(Stdio::null())
        .stdout(output.try_clone().unwrap())
        .stderr(output)
        .process_group(0)
        .spawn();
    let mut watch = match spawned {
        Ok(child) => Watch(child),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("LAMBKIN_REQUIRE_CARGO_LAMBDA").is_none(),
                "cargo-lambda is required (pip install cargo-lambda)"
            );
            eprintln!("skipped: `cargo-lambda` is not installed (pip install cargo-lambda)");
            return;
        }
        Err(e) => panic!("cannot run cargo-lambda: {e}"),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let path = "/2015-03-31/functions/echo/invocations";
    let started = Instant::now();
    let first = loop {
        if let Some(status) = watch.0.try_wait().unwrap() {
            panic!(
                "cargo-lambda exited ({status}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        match lambkin_tests::try_post(addr, path, &[], r#"{"n": 1}"#.to_owned()).await {
            Ok(answer) => break answer,
            Err(_) if started.elapsed() < FIRST_ANSWER => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!(
                "no answer within {FIRST_ANSWER:?}: {e}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        }
    };
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        (first.status, &first.body),
        (200, &json!({"n": 1})),
        "{}",
        log_text()
    );
    // The same process takes the next event: its `/next` went to the URL's path too.
    let second = lambkin_tests::try_post(addr, path, &[], r#"{"n": 2}"#.to_owned())
        .await
        .unwrap();
    assert_eq!((second.status, &second.body), (200, &json!({"n": 2})));
    drop(watch);
    let _ = std::fs::remove_file(&log);
}
