//! `lambkin deploy`: build a function for Lambda and deploy it with `lambkin_deploy`, to AWS or
//! to any Lambda API (such as a running `lambkin`).

use std::path::PathBuf;

use clap::Args;

use super::ArchArgs;

/// Options of `lambkin deploy`.
#[derive(Debug, Args)]
pub(super) struct DeployArgs {
    /// The function to deploy, as `lambkin watch` names it.
    function: String,
    /// Deploy to this Lambda API instead of AWS's, e.g. a running `lambkin`:
    /// http://127.0.0.1:9000 (loopback endpoints need no credentials or role).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// The AWS region (default: AWS_REGION, then the profile's).
    #[arg(long)]
    region: Option<String>,
    /// The AWS shared-config profile (default: AWS_PROFILE).
    #[arg(long)]
    profile: Option<String>,
    /// The execution role's ARN; AWS needs one to create a function.
    #[arg(long, value_name = "ARN")]
    role: Option<String>,
    /// Memory size in MB (default: the function's configuration, else 128).
    #[arg(long, value_name = "MB", value_parser = clap::value_parser!(u32).range(128..=10_240))]
    memory: Option<u32>,
    /// Timeout in seconds (default: the function's configuration, else 3).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=900))]
    timeout: Option<u64>,
    /// An environment variable, over the function's configured ones (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = key_value)]
    env: Vec<(String, String)>,
    /// Give the function a public function URL (also done when its configuration has one).
    #[arg(long)]
    function_url: bool,
    /// How the function URL answers: BUFFERED or RESPONSE_STREAM (default: RESPONSE_STREAM when
    /// the function's configuration names it; else a new URL is BUFFERED and an existing one
    /// keeps its mode); gives the function a URL.
    #[arg(long, value_name = "MODE", value_parser = ["BUFFERED", "RESPONSE_STREAM"])]
    invoke_mode: Option<String>,
    #[command(flatten)]
    pub(super) arch: ArchArgs,
    /// Deploy a debug build instead of the `lambda-release` profile (quicker to build).
    #[arg(long)]
    debug: bool,
    /// Read the functions from this SAM template or serverless.yml.
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
    /// Deploy this zip (e.g. from `lambkin build --release`) instead of building; a function
    /// the project does not have gets Lambda's defaults.
    #[arg(long, value_name = "FILE", conflicts_with = "debug")]
    zip: Option<PathBuf>,
    /// Make only the read-only calls and print the others.
    #[arg(long)]
    dry_run: bool,
}

/// A `KEY=VALUE` argument.
fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

#[cfg(not(feature = "deploy"))]
pub(super) fn run(args: DeployArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "this `lambkin` was built without deploy support, which brings the AWS SDK and is kept out of the default build so the first `cargo run` stays quick. Build it in:\n  cargo install --path emulator --features deploy\nor, in the Lambkin repository:\n  cargo run --features deploy -- deploy {}",
        args.function
    )
}

#[cfg(feature = "deploy")]
pub(super) use with_sdk::run;

/// The deployment itself, with the AWS SDK.
#[cfg(feature = "deploy")]
mod with_sdk {
    use anyhow::{Context as _, bail};
    use lambkin_emulator::FunctionConfig;
    use lambkin_emulator::dev::cargo;
    use lambkin_emulator::dev::package::Arch;
    use lambkin_emulator::dev::plan::{Planned, Settings};

    use super::DeployArgs;

    /// Builds the function for Lambda and hands its zip and settings to `lambkin_deploy`.
    pub(in crate::cli) fn run(args: DeployArgs) -> anyhow::Result<()> {
        let arch = args.arch.arch();
        let (zip_path, found) = zip_path(&args, arch)?;
        let zip = std::fs::read(&zip_path)
            .with_context(|| format!("cannot read {}", zip_path.display()))?;
        let function_url = args.function_url
            || args.invoke_mode.is_some()
            || found.as_ref().is_some_and(|p| p.function_url);
        // The project's settings for the function, else Lambda's defaults.
        let config = found.map_or_else(
            || FunctionConfig::new(&args.function, &zip_path),
            |p| p.config,
        );
        let mut env = config.env.clone();
        env.extend(args.env);
        let deployment = lambkin_deploy::Deployment {
            function_name: config.name.clone(),
            zip,
            architecture: match arch {
                Arch::Arm64 => lambkin_deploy::Architecture::Arm64,
                Arch::X86_64 => lambkin_deploy::Architecture::X86_64,
            },
            role: args.role,
            memory_mb: i32::try_from(args.memory.unwrap_or(config.memory_mb))?,
            timeout_secs: i32::try_from(args.timeout.unwrap_or(config.timeout.as_secs()))?,
            env,
            function_url,
            url_invoke_mode: url_invoke_mode(args.invoke_mode.as_deref(), config.url_invoke_mode),
        };
        let target = lambkin_deploy::Target {
            endpoint_url: args.endpoint_url,
            region: args.region,
            profile: args.profile,
        };
        let dry_run = args.dry_run;
        let mut progress = |call: &lambkin_deploy::Call| {
            let skipped = call.is_mutating()
                || matches!(
                    call,
                    lambkin_deploy::Call::WaitUntilActive { .. }
                        | lambkin_deploy::Call::WaitUntilUpdated { .. }
                );
            let verb = if dry_run && skipped {
                "would call"
            } else {
                "→"
            };
            eprintln!("{verb} {call}");
        };
        let deployed = crate::cli::block_on(lambkin_deploy::deploy(
            &deployment,
            &target,
            dry_run,
            &mut progress,
        ))??;
        if deployed.dry_run {
            println!("dry run: nothing was changed");
            return Ok(());
        }
        let verb = if deployed.created {
            "created"
        } else {
            "updated"
        };
        println!(
            "{verb} {}: version {} ({}:{})",
            config.name, deployed.version, deployed.function_arn, deployed.version
        );
        if let Some(url) = &deployed.function_url {
            println!("function URL: {url}");
        }
        Ok(())
    }

    /// The URL's mode to deploy: `flag` (`--invoke-mode`), else the configuration's when it
    /// names RESPONSE_STREAM. The configuration's BUFFERED is also its default, so it is not
    /// taken as asked for: an existing RESPONSE_STREAM URL is not flipped back without the flag.
    pub(super) fn url_invoke_mode(
        flag: Option<&str>,
        configured: lambkin_emulator::InvokeMode,
    ) -> Option<lambkin_deploy::InvokeMode> {
        match flag {
            Some("RESPONSE_STREAM") => Some(lambkin_deploy::InvokeMode::ResponseStream),
            Some(_) => Some(lambkin_deploy::InvokeMode::Buffered),
            None => configured
                .streams()
                .then_some(lambkin_deploy::InvokeMode::ResponseStream),
        }
    }

    /// The zip to deploy (`--zip`, else the function built for Lambda) and the project's
    /// function of that name, if it has one.
    fn zip_path(
        args: &DeployArgs,
        arch: Arch,
    ) -> anyhow::Result<(std::path::PathBuf, Option<Planned>)> {
        let cargo = crate::cli::cargo();
        let here = std::env::current_dir()?;
        let workspace = cargo::discover(&cargo, &here, &[])?;
        let settings = Settings {
            here,
            template: args.template.clone(),
            env_file: None,
        };
        let (planned, _) = settings.plan(&workspace)?;
        let found = planned.iter().find(|p| p.config.name == args.function);
        let zip_path = match (&args.zip, found) {
            (Some(zip), _) => zip.clone(),
            (None, None) => {
                let names: Vec<&str> = planned.iter().map(|p| p.config.name.as_str()).collect();
                bail!(
                    "no function `{}` here; the functions are: {} (or deploy a built zip with --zip)",
                    args.function,
                    names.join(", ")
                );
            }
            (None, Some(Planned { rust: None, .. })) => bail!(
                "`{}` is a `bootstrap` served as it is, not built from Rust: zip its directory and deploy it with --zip",
                args.function
            ),
            (
                None,
                Some(Planned {
                    rust: Some(rust), ..
                }),
            ) => {
                let built = crate::cli::build::build_for_lambda(
                    &cargo,
                    &workspace,
                    &[rust],
                    !args.debug,
                    arch,
                )?;
                built
                    .into_iter()
                    .next()
                    .context("the build gave no bootstrap.zip")?
                    .zip
            }
        };
        Ok((zip_path, found.cloned()))
    }
}
