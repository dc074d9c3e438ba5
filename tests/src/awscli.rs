//! The real AWS CLI (`pip install awscli`) as a client of an emulator: dummy credentials, one
//! attempt, no pager.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output};

/// `aws lambda <args> --endpoint-url http://<addr>`, run in `dir`. `None`, with a note, when the
/// AWS CLI is not installed, unless `LAMBKIN_REQUIRE_AWSCLI` is set (then the test fails).
pub fn aws(addr: SocketAddr, dir: &Path, args: &[&str]) -> Option<Output> {
    aws_service("lambda", addr, dir, args)
}

/// [`aws`] for another service: `aws <service> <args> --endpoint-url http://<addr>`.
pub fn aws_service(service: &str, addr: SocketAddr, dir: &Path, args: &[&str]) -> Option<Output> {
    let output = Command::new("aws")
        .arg(service)
        .args(args)
        .args(["--endpoint-url", &format!("http://{addr}")])
        .current_dir(dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_PAGER", "")
        .env_remove("AWS_PROFILE")
        .output();
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
