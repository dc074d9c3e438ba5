//! `lambkin`: serve a workspace's Lambda functions locally, the way AWS Lambda runs them.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use lambkin_emulator::{Emulator, FunctionConfig};

/// A local AWS Lambda for Rust functions.
///
/// Finds every function in the Cargo workspace (binaries depending on `lambkin` or
/// `lambda_runtime`; a package with `[package.metadata.lambkin] serve = false` is skipped unless
/// named with `-p`), builds them, and serves them behind Lambda's Invoke API, each invocation
/// running in a real function process speaking the Lambda Runtime API.
#[derive(Debug, Parser)]
#[command(name = "lambkin", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no subcommand, `lambkin` runs `watch`.
    #[command(flatten)]
    watch: WatchArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the workspace's functions and serve them (the default).
    Watch(WatchArgs),
}

/// Options of `lambkin watch`.
#[derive(Debug, Args)]
struct WatchArgs {
    #[command(flatten)]
    serve: ServeArgs,
    #[command(flatten)]
    select: SelectArgs,
    #[command(flatten)]
    functions: FunctionArgs,
    #[command(flatten)]
    reload: ReloadArgs,
}

/// Where the emulator listens.
#[derive(Debug, Args)]
#[command(next_help_heading = "Serving")]
struct ServeArgs {
    /// Port of the Invoke API.
    #[arg(long, env = "LAMBKIN_PORT", default_value_t = 9000)]
    port: u16,
    /// Address to listen on; anything but loopback exposes your functions to the network.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
}

/// Which functions to serve.
#[derive(Debug, Args)]
#[command(next_help_heading = "Functions")]
struct SelectArgs {
    /// Serve only the functions of this package (repeatable).
    #[arg(short = 'p', long = "package", value_name = "SPEC")]
    packages: Vec<String>,
}

/// What the functions get.
#[derive(Debug, Args)]
#[command(next_help_heading = "Function environment")]
struct FunctionArgs {
    /// Give every function the variables of this file (`KEY=VALUE` lines, `#` comments).
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
}

/// Rebuilding on change.
#[derive(Debug, Args)]
#[command(next_help_heading = "Reloading")]
struct ReloadArgs {
    /// Do not rebuild and reload functions when their sources change.
    #[arg(long)]
    no_reload: bool,
}

/// A function found in the workspace.
#[derive(Debug, PartialEq, Eq)]
struct Discovered {
    package: String,
    bin: String,
    package_dir: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    let args = match cli.command {
        Some(Command::Watch(args)) => args,
        None => cli.watch,
    };
    watch(args)
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
}

fn watch(args: WatchArgs) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let metadata = cargo_metadata(&cargo)?;
    let (target_dir, found) = discover(&metadata, &args.select.packages)?;
    let env = match &args.functions.env_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            parse_env_file(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => BTreeMap::new(),
    };
    if found.is_empty() {
        tracing::warn!(
            "no functions found: a function is a binary of a workspace package that depends on `lambkin` or `lambda_runtime`"
        );
    } else {
        build(&cargo, &found)?;
    }
    let functions: Vec<FunctionConfig> = found
        .iter()
        .map(|f| {
            let exe =
                target_dir
                    .join("debug")
                    .join(format!("{}{}", f.bin, std::env::consts::EXE_SUFFIX));
            let mut config = FunctionConfig::new(&f.bin, exe);
            config.working_dir = Some(f.package_dir.clone());
            config.env = env.clone();
            config
        })
        .collect();
    if !args.reload.no_reload {
        tracing::info!("hot reload is not available yet: restart lambkin to pick up changes");
    }
    if !args.serve.bind.is_loopback() {
        tracing::warn!(
            bind = %args.serve.bind,
            "listening beyond loopback: anyone who can reach this address can invoke your functions"
        );
    }
    let addr = SocketAddr::new(args.serve.bind, args.serve.port);
    let names: Vec<String> = functions.iter().map(|f| f.name.clone()).collect();
    let emulator = Emulator::new(functions)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let shown = listener.local_addr()?;
        println!(
            "lambkin: serving {} function(s) on http://{shown}",
            names.len()
        );
        for name in &names {
            println!("  {name:<20} POST http://{shown}/2015-03-31/functions/{name}/invocations");
        }
        emulator.serve_listener(listener, shutdown_signal()).await?;
        Ok(())
    })
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

fn cargo_metadata(cargo: &OsString) -> anyhow::Result<serde_json::Value> {
    let output = Process::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run `cargo metadata`")?;
    if !output.status.success() {
        bail!(
            "`cargo metadata` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    serde_json::from_slice(&output.stdout).context("`cargo metadata` printed invalid JSON")
}

/// The target directory and every function of the workspace (of `packages`, if any).
fn discover(
    metadata: &serde_json::Value,
    packages: &[String],
) -> anyhow::Result<(PathBuf, Vec<Discovered>)> {
    let target_dir = metadata["target_directory"]
        .as_str()
        .context("`cargo metadata` has no target_directory")?;
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .map(|m| m.iter().filter_map(|id| id.as_str()).collect())
        .unwrap_or_default();
    let mut found = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        let is_member = package["id"]
            .as_str()
            .is_some_and(|id| members.contains(&id));
        if !is_member || (!packages.is_empty() && !packages.iter().any(|p| p == name)) {
            continue;
        }
        // `[package.metadata.lambkin] serve = false`: binaries that are not functions to serve
        // (benchmark drivers, test fixtures).
        if package["metadata"]["lambkin"]["serve"] == false && packages.is_empty() {
            continue;
        }
        // Normal dependencies only: the emulator itself uses lambda_runtime in its tests.
        let is_function = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| {
                d["kind"].is_null()
                    && matches!(d["name"].as_str(), Some("lambkin" | "lambda_runtime"))
            });
        if !is_function {
            continue;
        }
        let package_dir = package["manifest_path"]
            .as_str()
            .and_then(|p| Path::new(p).parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"));
            if let (true, Some(bin)) = (is_bin, target["name"].as_str()) {
                found.push(Discovered {
                    package: name.to_owned(),
                    bin: bin.to_owned(),
                    package_dir: package_dir.clone(),
                });
            }
        }
    }
    for wanted in packages {
        if !found.iter().any(|f| &f.package == wanted) {
            bail!("package `{wanted}` is not a workspace member with function binaries");
        }
    }
    Ok((PathBuf::from(target_dir), found))
}

/// `cargo build` of the functions' binaries, its output shown.
fn build(cargo: &OsString, functions: &[Discovered]) -> anyhow::Result<()> {
    let mut command = Process::new(cargo);
    command.arg("build");
    for function in functions {
        command.args(["-p", &function.package, "--bin", &function.bin]);
    }
    tracing::info!("building {} function(s)", functions.len());
    let status = command.status().context("cannot run `cargo build`")?;
    if !status.success() {
        bail!("`cargo build` failed ({status})");
    }
    Ok(())
}

/// `KEY=VALUE` lines; `export ` prefixes, blank lines and `#` comments allowed; values may be
/// quoted.
fn parse_env_file(text: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            bail!("line {}: expected KEY=VALUE", number + 1);
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            bail!("line {}: invalid variable name `{key}`", number + 1);
        }
        let value = value.trim();
        let unquoted = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
            .unwrap_or(value);
        env.insert(key.to_owned(), unquoted.to_owned());
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn watch_is_the_default() {
        let cli = Cli::try_parse_from(["lambkin", "--port", "9100", "-p", "a"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.watch.serve.port, 9100);
        assert_eq!(cli.watch.select.packages, ["a"]);
        let cli = Cli::try_parse_from(["lambkin", "watch", "--no-reload"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Watch(a)) if a.reload.no_reload));
    }

    #[test]
    fn env_files() {
        let env = parse_env_file("# c\n\nA=1\nexport B = \"two words\"\nC='x=y'\n").unwrap();
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "two words");
        assert_eq!(env["C"], "x=y");
        assert!(parse_env_file("NOPE").is_err());
    }

    #[test]
    fn discovers_function_binaries() {
        let metadata = serde_json::json!({
            "target_directory": "/w/target",
            "workspace_members": ["hello 0.1.0", "emu 0.1.0", "lib 0.1.0", "bench 0.1.0"],
            "packages": [
                {
                    "name": "hello", "id": "hello 0.1.0", "manifest_path": "/w/examples/hello/Cargo.toml",
                    "dependencies": [{"name": "lambkin", "kind": null}],
                    "targets": [{"name": "hello", "kind": ["bin"]}, {"name": "hello", "kind": ["lib"]}]
                },
                {
                    "name": "emu", "id": "emu 0.1.0", "manifest_path": "/w/emu/Cargo.toml",
                    "dependencies": [{"name": "lambda_runtime", "kind": "dev"}],
                    "targets": [{"name": "lambkin", "kind": ["bin"]}]
                },
                {
                    "name": "bench", "id": "bench 0.1.0", "manifest_path": "/w/bench/Cargo.toml",
                    "dependencies": [{"name": "lambkin", "kind": null}],
                    "targets": [{"name": "bench", "kind": ["bin"]}],
                    "metadata": {"lambkin": {"serve": false}}
                },
                {
                    "name": "lib", "id": "lib 0.1.0", "manifest_path": "/w/lib/Cargo.toml",
                    "dependencies": [{"name": "lambda_runtime", "kind": null}],
                    "targets": [{"name": "lib", "kind": ["lib"]}]
                }
            ]
        });
        let (target, found) = discover(&metadata, &[]).unwrap();
        assert_eq!(target, PathBuf::from("/w/target"));
        assert_eq!(
            found,
            [Discovered {
                package: "hello".into(),
                bin: "hello".into(),
                package_dir: "/w/examples/hello".into(),
            }]
        );
        assert!(discover(&metadata, &["emu".into()]).is_err());
        // Asked for by name, a package is served whatever its metadata says.
        assert_eq!(discover(&metadata, &["bench".into()]).unwrap().1.len(), 1);
    }
}
