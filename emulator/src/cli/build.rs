//! `lambkin build`: the functions built for Lambda, `target/lambda/<bin>/bootstrap.zip` each.

use std::ffi::OsString;

use anyhow::bail;
use clap::Args;
use lambkin_emulator::dev::cargo::{self, Discovered, Workspace};
use lambkin_emulator::dev::package::{self, Arch, Toolchain};

use super::ArchArgs;

/// Options of `lambkin build`.
#[derive(Debug, Args)]
pub(super) struct BuildArgs {
    /// Build with the `lambda-release` profile: release, thin LTO, one codegen unit, no symbols
    /// (unless the workspace defines its own `[profile.lambda-release]`).
    #[arg(long)]
    release: bool,
    #[command(flatten)]
    pub(super) arch: ArchArgs,
    /// Build only the functions of this package (repeatable).
    #[arg(short = 'p', long = "package", value_name = "SPEC")]
    packages: Vec<String>,
    /// Build only this binary (repeatable).
    #[arg(long = "bin", value_name = "NAME")]
    bins: Vec<String>,
}

/// Builds the selected functions and prints each one's zip.
pub(super) fn run(args: BuildArgs) -> anyhow::Result<()> {
    let cargo = super::cargo();
    let workspace = cargo::discover(&cargo, &std::env::current_dir()?, &args.packages)?;
    let functions: Vec<&Discovered> = workspace
        .functions
        .iter()
        .filter(|f| args.bins.is_empty() || args.bins.contains(&f.bin))
        .collect();
    for bin in &args.bins {
        if !functions.iter().any(|f| &f.bin == bin) {
            bail!("no function binary `{bin}` in the workspace");
        }
    }
    let arch = args.arch.arch();
    for artifact in build_for_lambda(&cargo, &workspace, &functions, args.release, arch)? {
        super::print_out(&format!(
            "{:<20} {}",
            artifact.function,
            artifact.zip.display()
        ))?;
    }
    Ok(())
}

/// Builds `functions` for Lambda in one cargo build: `target/lambda/<bin>/bootstrap.zip`.
pub(super) fn build_for_lambda(
    cargo: &OsString,
    workspace: &Workspace,
    functions: &[&Discovered],
    release: bool,
    arch: Arch,
) -> anyhow::Result<Vec<package::Artifact>> {
    let toolchain = Toolchain {
        installed_targets: std::process::Command::new("rustup")
            .args(["target", "list", "--installed"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default(),
        cross_linker: package::has_cross_linker(arch),
    };
    let manifest = std::fs::read_to_string(workspace.root.join("Cargo.toml")).unwrap_or_default();
    let cargo_args = package::cargo_args(release, arch, &manifest, &toolchain)?;
    Ok(super::block_on(package::build_for_lambda(
        cargo,
        &workspace.target_dir,
        &cargo_args,
        functions,
    ))??)
}
