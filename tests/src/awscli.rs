//! The real AWS CLI (`pip install awscli`) as a client of an emulator (or of moto): dummy
//! credentials, one attempt, no pager. Skipped, with a note, when `aws` is not installed, unless
//! `LAMBKIN_REQUIRE_AWSCLI` is set (then the test fails). The emulator's own integration tests
//! use it too.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use tokio::time::timeout;

/// How long one CLI command may take (Python's start included) before the test fails.
const LIMIT: Duration = Duration::from_secs(30);

/// Runs `aws <service> <args> --endpoint-url http://<endpoint>` in `dir`; `None` when the CLI
/// is not installed (and not required).
pub async fn aws(service: &str, endpoint: SocketAddr, dir: &Path, args: &[&str]) -> Option<Output> {
    aws_env(service, endpoint, dir, args, &[]).await
}

/// [`aws`] with extra environment variables (`AWS_DISABLE_HOST_PREFIX_INJECTION`, a proxy…).
pub async fn aws_env(
    service: &str,
    endpoint: SocketAddr,
    dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Option<Output> {
    let output = tokio::process::Command::new("aws")
        .arg(service)
        .args(args)
        .args(["--endpoint-url", &format!("http://{endpoint}")])
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .envs(env.iter().copied())
        .kill_on_drop(true)
        .output();
    let output = timeout(LIMIT, output)
        .await
        .unwrap_or_else(|_| panic!("aws {service} {args:?} took over {LIMIT:?}"));
    match output {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("LAMBKIN_REQUIRE_AWSCLI").is_none(),
                "the AWS CLI is required"
            );
            eprintln!("skipped the AWS CLI steps: `aws` is not installed (pip install awscli)");
            None
        }
        Err(e) => panic!("cannot run aws: {e}"),
    }
}

/// The command's output as JSON (`null` when it printed nothing); the command must have
/// succeeded.
pub fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "aws failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    if output.stdout.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(&output.stdout).expect("the AWS CLI printed JSON")
}

/// `aws stepfunctions <args> --output json`: its JSON output (it must have succeeded); `None`
/// when the CLI is not installed (and not required).
pub async fn stepfunctions(endpoint: SocketAddr, dir: &Path, args: &[&str]) -> Option<Value> {
    let args = [args, &["--output", "json"]].concat();
    let output = aws("stepfunctions", endpoint, dir, &args).await?;
    Some(stdout_json(&output))
}

/// DescribeExecution of `execution`, polled until it is no longer `RUNNING` (bounded); the CLI
/// must be installed.
pub async fn ended(endpoint: SocketAddr, dir: &Path, execution: &str) -> Value {
    let args = ["describe-execution", "--execution-arn", execution];
    let polled = timeout(LIMIT, async {
        loop {
            let described = stepfunctions(endpoint, dir, &args)
                .await
                .expect("the AWS CLI is installed");
            if described["status"] != "RUNNING" {
                return described;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    polled
        .await
        .unwrap_or_else(|_| panic!("{execution} still running after {LIMIT:?}"))
}
