//! The AWS side of `lambkin deploy`: makes a built `bootstrap.zip` live on AWS Lambda.
//!
//! [`deploy`] takes the zip and the function's settings ([`Deployment`]) and a place to deploy
//! to ([`Target`]): AWS itself, through the standard credential and region chains, or any
//! Lambda-compatible endpoint such as the Lambkin emulator's management API. All calls go through
//! the official AWS SDK for Rust.
//!
//! The calls, in order:
//!
//! 1. `GetFunction`, to learn whether the function exists.
//! 2. A new function: `CreateFunction`, then wait until its `State` is `Active`.
//!    An existing one: `UpdateFunctionConfiguration`, wait until its `LastUpdateStatus` is
//!    `Successful`, `UpdateFunctionCode`, wait again.
//! 3. `PublishVersion`, pinned to the SHA-256 of the uploaded zip so that a concurrent deploy is
//!    detected rather than published.
//! 4. With [`Deployment::function_url`]: `GetFunctionUrlConfig`, and when the function has no URL,
//!    `CreateFunctionUrlConfig` (`AuthType` `NONE`, the [`Deployment::url_invoke_mode`]) plus, on
//!    AWS, the `AddPermission` statements that make a public URL answer; an existing URL with
//!    another `InvokeMode` than the one asked for gets `UpdateFunctionUrlConfig`.
//!
//! Each call is reported through the `progress` callback as a [`Call`] before it is made. A dry
//! run makes only the read-only calls and reports the rest.

#![warn(missing_docs)]

mod call;
mod client;
mod error;
mod flow;

use std::{collections::BTreeMap, fmt};

pub use call::{Call, Code, UrlPermission};
pub use client::{AwsConfig, aws_config};
pub use error::DeployError;

/// The runtime every Lambkin function runs on.
pub const RUNTIME: &str = "provided.al2023";

/// The handler of a `provided.al2023` function: the executable at the root of the zip.
pub const HANDLER: &str = "bootstrap";

/// The instruction set a function runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Architecture {
    /// `x86_64`, Lambda's default.
    #[default]
    X86_64,
    /// `arm64` (Graviton).
    Arm64,
}

impl Architecture {
    /// The name Lambda uses: `x86_64` or `arm64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a function URL answers: its `InvokeMode`
/// (<https://docs.aws.amazon.com/lambda/latest/api/API_FunctionUrlConfig.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvokeMode {
    /// `BUFFERED`, Lambda's default: the whole answer once the function has ended.
    #[default]
    Buffered,
    /// `RESPONSE_STREAM`: the answer as the function writes it.
    ResponseStream,
}

impl InvokeMode {
    /// The name Lambda uses: `BUFFERED` or `RESPONSE_STREAM`.
    pub fn as_str(self) -> &'static str {
        match self {
            InvokeMode::Buffered => "BUFFERED",
            InvokeMode::ResponseStream => "RESPONSE_STREAM",
        }
    }
}

impl fmt::Display for InvokeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to deploy: a function's code and settings.
#[derive(Clone, PartialEq, Eq)]
pub struct Deployment {
    /// The function's name (1-64 letters, digits, `-` or `_`).
    pub function_name: String,
    /// The `bootstrap.zip` to upload.
    pub zip: Vec<u8>,
    /// The instruction set `bootstrap` was built for.
    pub architecture: Architecture,
    /// The execution role's ARN. Creating a function on AWS needs one; an update changes the
    /// role only when this is set.
    pub role: Option<String>,
    /// Memory size in MB (128 to 10240).
    pub memory_mb: i32,
    /// Timeout in seconds (1 to 900).
    pub timeout_secs: i32,
    /// The function's whole environment: Lambda replaces it as a whole, so variables missing here
    /// are removed from the function.
    pub env: BTreeMap<String, String>,
    /// Give the function a public URL (`AuthType` `NONE`) unless it already has one.
    pub function_url: bool,
    /// How the function URL answers: a new URL gets this mode (`None`: `BUFFERED`, Lambda's
    /// default); an existing URL that answers otherwise is updated. `None` leaves an existing
    /// URL's mode as it is.
    pub url_invoke_mode: Option<InvokeMode>,
}

impl Deployment {
    /// A deployment of `zip` as `function_name` with Lambda's defaults: `x86_64`, 128 MB, 3 s,
    /// no role, no environment, no function URL.
    pub fn new(function_name: impl Into<String>, zip: Vec<u8>) -> Deployment {
        Deployment {
            function_name: function_name.into(),
            zip,
            architecture: Architecture::default(),
            role: None,
            memory_mb: 128,
            timeout_secs: 3,
            env: BTreeMap::new(),
            function_url: false,
            url_invoke_mode: None,
        }
    }
}

/// Shows the zip's size rather than its bytes, and the environment's names but not its values,
/// which may be secrets.
impl fmt::Debug for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deployment")
            .field("function_name", &self.function_name)
            .field("zip", &format_args!("{} bytes", self.zip.len()))
            .field("architecture", &self.architecture)
            .field("role", &self.role)
            .field("memory_mb", &self.memory_mb)
            .field("timeout_secs", &self.timeout_secs)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("function_url", &self.function_url)
            .field("url_invoke_mode", &self.url_invoke_mode)
            .finish()
    }
}

/// Where to deploy.
///
/// Without an endpoint URL this is AWS, reached with the standard credential chain (environment,
/// shared config and credentials files, web identity, container and instance metadata) and region
/// chain. A loopback endpoint (`localhost`, `127.0.0.0/8` or `::1`), such as the Lambkin
/// emulator, checks no signatures: it gets placeholder credentials, region `us-east-1` unless
/// [`Target::region`] is set, and a placeholder execution role for new functions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// The Lambda API's URL, e.g. `http://127.0.0.1:9001`; `None` for AWS's own endpoint.
    pub endpoint_url: Option<String>,
    /// The region, overriding `AWS_REGION` and the profile's.
    pub region: Option<String>,
    /// The shared-config profile, overriding `AWS_PROFILE`. Ignored for loopback endpoints.
    pub profile: Option<String>,
}

/// What a deployment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// The function's ARN (unqualified). In a dry run that would create the function, `(dry run)`.
    pub function_arn: String,
    /// The published version, e.g. `7`. In a dry run, `(dry run)`.
    pub version: String,
    /// Whether the function was created (or, in a dry run, would be) rather than updated.
    pub created: bool,
    /// The function URL, when [`Deployment::function_url`] was set. In a dry run that would
    /// create the URL, `None`.
    pub function_url: Option<String>,
    /// Whether this was a dry run, which changed nothing.
    pub dry_run: bool,
}

/// Deploys `deployment` to `target`, calling `progress` before each AWS call.
///
/// With `dry_run`, makes only the read-only calls (`GetFunction`, `GetFunctionUrlConfig`) and
/// reports the others without making them.
///
/// A new function needs [`Deployment::role`] unless the target is a loopback endpoint; without
/// one this fails after `GetFunction` and before any change.
pub async fn deploy(
    deployment: &Deployment,
    target: &Target,
    dry_run: bool,
    progress: &mut (dyn FnMut(&Call) + Send),
) -> Result<Deployed, DeployError> {
    let connection = client::connect(target).await?;
    flow::Flow {
        connection: &connection,
        deployment,
        code: Code::of(&deployment.zip),
        dry_run,
        progress,
    }
    .run()
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_zip_bytes_and_env_values() {
        let mut deployment = Deployment::new("hello", vec![0; 4096]);
        deployment.env.insert("API_KEY".into(), "s3cr3t".into());
        let debug = format!("{deployment:?}");
        assert!(debug.contains("4096 bytes"), "{debug}");
        assert!(debug.contains("API_KEY"), "{debug}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }

    #[test]
    fn deploy_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let deployment = Deployment::new("hello", Vec::new());
        let target = Target::default();
        let mut progress = |_: &Call| {};
        assert_send(&deploy(&deployment, &target, true, &mut progress));
    }
}
