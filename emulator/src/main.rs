//! `lambkin`: serve a workspace's Lambda functions locally, the way AWS Lambda runs them.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Parser, Subcommand};
use lambkin_emulator::apigw::{EventOptions, PayloadFormat, Route, RouteTable};
use lambkin_emulator::front::gateway::Gateway;
use lambkin_emulator::package::{self, Arch, Toolchain};
use lambkin_emulator::project::{self, Discovered, Reloadable};
use lambkin_emulator::reload;
use lambkin_emulator::template::{self, Code, FunctionSpec};
use lambkin_emulator::{DeployLimits, Emulator, FrontOptions, FunctionConfig, samples};

/// A local AWS Lambda for Rust functions.
///
/// Finds the functions to serve (a SAM `template.yaml`, a `serverless.yml`, or every binary of
/// the Cargo workspace that depends on `lambkin` or `lambda_runtime`), builds them, and serves
/// them behind Lambda's Invoke API and an API Gateway front, each invocation running in a real
/// function process speaking the Lambda Runtime API. Sources are watched: a saved edit is
/// rebuilt and the next request runs the new code.
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
    /// Build the functions and serve them, rebuilding on change (the default).
    Watch(WatchArgs),
    /// Build functions for AWS Lambda: target/lambda/<function>/bootstrap and bootstrap.zip.
    Build(BuildArgs),
    /// Build a function for Lambda and deploy it: to AWS, or to any Lambda API (such as a
    /// running `lambkin`) with --endpoint-url.
    Deploy(DeployArgs),
    /// Invoke a function of a running emulator and print its answer.
    Invoke(InvokeArgs),
    /// Print a sample event, as the AWS service sends it.
    Event(EventArgs),
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
    #[command(flatten)]
    deployed: DeployedArgs,
    #[command(flatten)]
    profile: ProfileArgs,
}

/// Where the emulator listens.
#[derive(Debug, Args)]
#[command(next_help_heading = "Serving")]
struct ServeArgs {
    /// Port of the Invoke API and the API Gateway front.
    #[arg(long, env = "LAMBKIN_PORT", default_value_t = 9000)]
    port: u16,
    /// Address to listen on; anything but loopback exposes your functions to the network.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Also answer requests for this host name (`*.domain` for its subdomains, or an IP
    /// address; repeatable). Loopback names and the --bind address are always answered; other
    /// hosts get 403, a guard against DNS rebinding. Also read from the workspace's
    /// `[workspace.metadata.lambkin] allow-hosts`.
    #[arg(
        long = "allow-host",
        value_name = "NAME",
        env = "LAMBKIN_ALLOW_HOSTS",
        value_delimiter = ','
    )]
    allow_hosts: Vec<String>,
}

/// Which functions to serve.
#[derive(Debug, Args)]
#[command(next_help_heading = "Functions")]
struct SelectArgs {
    /// Serve only the functions of this package (repeatable).
    #[arg(short = 'p', long = "package", value_name = "SPEC")]
    packages: Vec<String>,
    /// Read the functions and routes from this SAM template or serverless.yml (default: the
    /// first of template.yaml, template.yml, serverless.yml, serverless.yaml found here).
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
}

/// What the functions get.
#[derive(Debug, Args)]
#[command(next_help_heading = "Function environment")]
struct FunctionArgs {
    /// Give every function the variables of this file (`KEY=VALUE` lines, `#` comments).
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// The account's concurrency limit, as on AWS: functions without reserved concurrency share
    /// it, less what is reserved, and get 429 beyond it.
    #[arg(long, value_name = "N", default_value_t = lambkin_emulator::DEFAULT_ACCOUNT_CONCURRENCY)]
    account_concurrency: usize,
    /// Most instance processes of one function at once (a local cap, not AWS's): invocations
    /// above it wait for a free instance instead of being throttled.
    #[arg(long, value_name = "N", default_value_t = lambkin_emulator::DEFAULT_MAX_INSTANCES as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_instances: u32,
}

/// Rebuilding on change.
#[derive(Debug, Args)]
#[command(next_help_heading = "Reloading")]
struct ReloadArgs {
    /// Do not rebuild and reload functions when their sources change.
    #[arg(long)]
    no_reload: bool,
}

/// Caps on what the management API takes (`lambkin deploy`, `aws lambda create-function`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Deployed functions")]
struct DeployedArgs {
    /// Most functions deployed through the management API at once (the project's own are not
    /// counted).
    #[arg(long, value_name = "N", default_value_t = DeployLimits::default().max_functions)]
    max_functions: usize,
    /// Most deployed code on disk at once, unpacked code and zips together: bytes, or with a
    /// unit (500MiB, 2GiB, 1GB).
    #[arg(long, value_name = "SIZE", default_value_t = Size(DeployLimits::default().max_code_bytes))]
    max_code_size: Size,
}

impl DeployedArgs {
    fn limits(&self) -> DeployLimits {
        DeployLimits {
            max_functions: self.max_functions,
            max_code_bytes: self.max_code_size.0,
        }
    }
}

/// A size in bytes, written with an optional unit: `KiB`/`MiB`/`GiB`/`TiB` (or `K`/`M`/`G`/`T`)
/// are powers of 1024, `KB`/`MB`/`GB`/`TB` powers of 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Size(u64);

const SIZE_UNITS: [(&str, u64); 13] = [
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("TB", 1_000_000_000_000),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("KB", 1_000),
    ("T", 1 << 40),
    ("G", 1 << 30),
    ("M", 1 << 20),
    ("K", 1 << 10),
    ("B", 1),
];

impl std::str::FromStr for Size {
    type Err = String;

    fn from_str(text: &str) -> Result<Size, String> {
        let text = text.trim();
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(digits);
        let unit = unit.trim();
        let scale = match unit {
            "" => Some(1),
            _ => SIZE_UNITS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(unit))
                .map(|(_, scale)| *scale),
        };
        let bytes = number
            .parse::<u64>()
            .ok()
            .zip(scale)
            .and_then(|(n, scale)| n.checked_mul(scale));
        bytes
            .map(Size)
            .ok_or_else(|| format!("`{text}` is not a size (e.g. 2147483648, 500MiB, 2GiB, 1GB)"))
    }
}

impl std::fmt::Display for Size {
    /// The largest binary unit that divides the size exactly.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = SIZE_UNITS[..4]
            .iter()
            .find(|(_, scale)| self.0 != 0 && self.0 % scale == 0);
        match unit {
            Some((name, scale)) => write!(f, "{}{name}", self.0 / scale),
            None => write!(f, "{}", self.0),
        }
    }
}

/// The cargo profile the served functions are built with (the first build and every rebuild).
#[derive(Debug, Args)]
#[command(next_help_heading = "Building")]
struct ProfileArgs {
    /// Build the functions with the `release` profile.
    #[arg(long, conflicts_with = "profile")]
    release: bool,
    /// Build the functions with this cargo profile.
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
}

impl ProfileArgs {
    /// The `cargo build` arguments selecting the profile.
    fn cargo_args(&self) -> Vec<String> {
        match (&self.profile, self.release) {
            (Some(name), _) => vec!["--profile".to_owned(), name.clone()],
            (None, true) => vec!["--release".to_owned()],
            (None, false) => Vec::new(),
        }
    }
}

/// Options of `lambkin build`.
#[derive(Debug, Args)]
struct BuildArgs {
    /// Build with the `lambda-release` profile: release, thin LTO, one codegen unit, no symbols
    /// (unless the workspace defines its own `[profile.lambda-release]`).
    #[arg(long)]
    release: bool,
    /// Build for arm64 (Graviton).
    #[arg(long, conflicts_with = "x86_64")]
    arm64: bool,
    /// Build for x86_64 (the default).
    #[arg(long)]
    x86_64: bool,
    /// Build only the functions of this package (repeatable).
    #[arg(short = 'p', long = "package", value_name = "SPEC")]
    packages: Vec<String>,
    /// Build only this binary (repeatable).
    #[arg(long = "bin", value_name = "NAME")]
    bins: Vec<String>,
}

/// Options of `lambkin deploy`.
#[derive(Debug, Args)]
struct DeployArgs {
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
    /// Build for arm64 (Graviton) instead of x86_64.
    #[arg(long)]
    arm64: bool,
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

/// Options of `lambkin invoke`.
#[derive(Debug, Args)]
struct InvokeArgs {
    /// The function to invoke.
    function: String,
    /// The event, as JSON.
    #[arg(long, conflicts_with_all = ["data_file", "event"])]
    data: Option<String>,
    /// Read the event from this file.
    #[arg(long, value_name = "FILE", conflicts_with = "event")]
    data_file: Option<PathBuf>,
    /// Send a sample event of this kind (see `lambkin event --help`).
    #[arg(long, value_name = "KIND")]
    event: Option<samples::Kind>,
    /// Print the tail of the invocation's log too.
    #[arg(long)]
    logs: bool,
    /// Port of the running emulator.
    #[arg(long, env = "LAMBKIN_PORT", default_value_t = 9000)]
    port: u16,
}

/// Options of `lambkin event`.
#[derive(Debug, Args)]
struct EventArgs {
    /// The kind of event.
    kind: samples::Kind,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    #[cfg(unix)]
    raise_open_files_limit();
    let done = match cli.command {
        Some(Command::Watch(args)) => watch(args),
        None => watch(cli.watch),
        Some(Command::Build(args)) => build(args),
        Some(Command::Deploy(args)) => deploy(args),
        Some(Command::Invoke(args)) => invoke(args),
        Some(Command::Event(args)) => serde_json::to_string_pretty(&samples::event(args.kind))
            .map_err(anyhow::Error::from)
            .and_then(|event| print_out(&event)),
    };
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // The message and its causes, one line: not anyhow's `Debug` form, which adds a
            // stack backtrace whenever RUST_BACKTRACE is set (as it often is in Rust shells).
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
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

fn cargo() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// A function to serve and where its code comes from.
struct Planned {
    config: FunctionConfig,
    /// Serve a function URL (its own listener) too.
    function_url: bool,
    /// `None` for a `bootstrap` served as it is.
    rust: Option<Discovered>,
    routes: Vec<Route>,
}

fn watch(args: WatchArgs) -> anyhow::Result<()> {
    let cargo = cargo();
    let here = std::env::current_dir()?;
    let workspace = project::discover(&cargo, &here, &args.select.packages)?;
    // A bad configuration stops here: nothing starts half-configured.
    let settings = Settings {
        here,
        template: args.select.template.clone(),
        env_file: args.functions.env_file.clone(),
    };
    let (mut planned, config_file) = settings.plan(&workspace)?;
    let cargo_args = args.profile.cargo_args();
    let rust: Vec<&Discovered> = planned.iter().filter_map(|p| p.rust.as_ref()).collect();
    if planned.is_empty() {
        tracing::warn!(
            "no functions found: a function is a binary of a workspace package that depends on `lambkin` or `lambda_runtime`, or a function of template.yaml / serverless.yml; functions can still be deployed here (lambkin deploy / aws lambda create-function with --endpoint-url)"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Builds and deployed code of emulators killed before they could clean up.
    project::remove_stale_versions(&workspace.target_dir);
    if !rust.is_empty() {
        tracing::info!("building {} function(s)", rust.len());
        let executables = runtime.block_on(project::build(&cargo, &rust, &cargo_args))?;
        for function in &mut planned {
            if let Some(exe) = function.rust.as_ref().and_then(|d| executables.get(&d.bin)) {
                function.config.executable =
                    project::freeze(exe, &workspace.target_dir, &function.config.name, 0)?;
            }
        }
    }
    if !args.serve.bind.is_loopback() {
        tracing::warn!(
            bind = %args.serve.bind,
            "listening beyond loopback: anyone who can reach this address can invoke your functions"
        );
    }
    let options = FrontOptions {
        gateway: Some(gateway(&planned)?),
        deploy_limits: args.deployed.limits(),
        // Beside the frozen builds (removed with them); elsewhere the system's temp dir.
        state_dir: (workspace.root.join("Cargo.toml").is_file())
            .then(|| project::versions_dir(&workspace.target_dir).join("deployed")),
        ..FrontOptions::default()
    };
    let emulator = Emulator::with_options(planned.iter().map(|p| p.config.clone()), options)?;
    emulator.set_account_concurrency(args.functions.account_concurrency);
    emulator.set_max_instances(args.functions.max_instances as usize);
    for name in args.serve.allow_hosts.iter().chain(&workspace.allow_hosts) {
        emulator.allow_host(name)?;
    }
    let event_dir = event_dir(&workspace);
    if let Err(error) = emulator.set_event_dir(&event_dir) {
        tracing::warn!(
            dir = %event_dir.display(),
            %error,
            "asynchronous invocations are kept in memory only: they do not survive a restart"
        );
    }
    // The project's functions; the management API may add others while serving.
    let served: Vec<String> = planned.iter().map(|p| p.config.name.clone()).collect();
    let function_urls: Vec<String> = planned
        .iter()
        .filter(|p| p.function_url)
        .map(|p| p.config.name.clone())
        .collect();
    let reloadable: Vec<Reloadable> = planned
        .iter()
        .filter_map(|p| {
            p.rust.clone().map(|discovered| Reloadable {
                discovered,
                config: p.config.clone(),
            })
        })
        .collect();
    let addr = SocketAddr::new(args.serve.bind, args.serve.port);
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let shown = listener.local_addr()?;
        // Watch first: once "serving" is printed, every edit is seen.
        if !args.reload.no_reload && !reloadable.is_empty() {
            let target_dir = workspace.target_dir.clone();
            match project::hot_reload(emulator.clone(), cargo, cargo_args, target_dir, reloadable) {
                Ok(reloader) => {
                    tokio::spawn(reloader);
                }
                Err(error) => tracing::error!("hot reload is off: {error}"),
            }
        }
        if !args.reload.no_reload {
            let files = settings.files(config_file, &workspace);
            match reload::watch_files(&files) {
                Ok((watcher, changes)) => {
                    let reconfigure = reconfigure(
                        emulator.clone(),
                        settings,
                        workspace.clone(),
                        served,
                        watcher,
                        changes,
                    );
                    tokio::spawn(reconfigure);
                }
                Err(error) => tracing::error!("configuration reload is off: {error}"),
            }
        }
        print_served(shown, &emulator);
        for name in &function_urls {
            if let Some(url) = emulator.serve_function_url(name, args.serve.bind).await? {
                println!("  {name:<20} function URL {url}");
            }
        }
        let served = emulator.serve_listener(listener, shutdown_signal()).await;
        // The frozen versions die with the emulator (best effort: a crash leaves them behind).
        let _ = std::fs::remove_dir_all(project::versions_dir(&workspace.target_dir));
        Ok(served?)
    });
    // Tasks still running (a build, the file watchers) must not hold the exit up.
    runtime.shutdown_timeout(Duration::from_secs(1));
    served
}

/// Where `Event` invocations wait, so they survive a restart: `<target dir>/lambkin/events` in
/// a Cargo project (not `target/lambkin/<pid>`, which goes when the emulator stops), else
/// `.lambkin/events` in the directory served.
fn event_dir(workspace: &project::Workspace) -> PathBuf {
    if workspace.root.join("Cargo.toml").is_file() {
        workspace.target_dir.join("lambkin").join("events")
    } else {
        workspace.root.join(".lambkin").join("events")
    }
}

/// What to serve: the functions of a SAM/Serverless configuration if there is one, else every
/// function of the workspace with its `[package.metadata.lambkin]` settings.
fn plan(
    here: &Path,
    template: Option<&Path>,
    workspace: &project::Workspace,
) -> anyhow::Result<(Vec<Planned>, Option<PathBuf>)> {
    let mut source = None;
    let specs: Vec<FunctionSpec> = match template::load(here, template)? {
        Some(project) => {
            source = Some(project.source.clone());
            tracing::info!(file = %project.source.display(), "configuration");
            for note in &project.notes {
                tracing::info!("{note}");
            }
            project.functions
        }
        None => {
            let served: Vec<&Discovered> = workspace
                .functions
                .iter()
                .filter(|f| !f.opted_out)
                .collect();
            let mut manifests: Vec<&Path> =
                served.iter().map(|f| f.package_dir.as_path()).collect();
            manifests.dedup();
            let mut specs = Vec::new();
            for dir in manifests {
                let found = template::package_functions(&dir.join("Cargo.toml"))?;
                specs.extend(
                    found
                        .into_iter()
                        .filter(|spec| served.iter().any(|f| f.bin == spec.name)),
                );
            }
            specs
        }
    };
    let mut planned = specs
        .into_iter()
        .map(|spec| planned(spec, workspace))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Functions without routes of their own answer under `/{function}/…`, unless no function has
    // routes at all: then the defaults apply (one function takes every path).
    if planned.iter().any(|p| !p.routes.is_empty()) {
        for function in planned.iter_mut().filter(|p| p.routes.is_empty()) {
            let name = function.config.name.clone();
            for path in [format!("/{name}"), format!("/{name}/{{proxy+}}")] {
                let route = Route::new("ANY", &path, name.as_str(), PayloadFormat::Http)?;
                function.routes.push(route);
            }
        }
    }
    Ok((planned, source))
}

fn planned(spec: FunctionSpec, workspace: &project::Workspace) -> anyhow::Result<Planned> {
    let (executable, rust) = match &spec.code {
        Code::RustPackage { package_dir, bin } => {
            let found = workspace.functions.iter().find(|f| {
                f.package_dir.canonicalize().ok().as_deref() == Some(package_dir.as_path())
                    && bin.as_ref().is_none_or(|b| b == &f.bin)
            });
            let Some(found) = found else {
                bail!(
                    "function `{}`: {} is not a function package of the workspace at {} (add it to [workspace] members)",
                    spec.name,
                    package_dir.display(),
                    workspace.root.display()
                );
            };
            (PathBuf::new(), Some(found.clone()))
        }
        Code::Bootstrap { dir } => (dir.join("bootstrap"), None),
    };
    let mut config = FunctionConfig::new(&spec.name, executable);
    if let Some(rust) = &rust {
        config.working_dir = Some(rust.package_dir.clone());
    } else if let Code::Bootstrap { dir } = &spec.code {
        config.working_dir = Some(dir.clone());
    }
    if let Some(timeout) = spec.timeout {
        config.timeout = timeout;
    }
    if let Some(memory) = spec.memory_mb {
        config.memory_mb = memory;
    }
    config.reserved_concurrency = spec.reserved_concurrency;
    config.env = spec.env.clone();
    // `_HANDLER` and GetFunction's `Handler`: what the configuration wrote, as AWS passes it.
    config.handler = spec.handler.clone();
    config.logging = spec.logging.clone();
    let routes = spec
        .routes
        .iter()
        .map(|route| {
            let key = route.key();
            route
                .route(&spec.name)
                .with_context(|| format!("function `{}`: route `{key}`", spec.name))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Planned {
        config,
        function_url: spec.function_url,
        rust,
        routes,
    })
}

fn print_served(addr: SocketAddr, emulator: &Emulator) {
    let state = emulator.state();
    println!("lambkin: serving on http://{addr} (status: http://{addr}/_lambkin)");
    println!(
        "  Lambda API (invoke, create-function, …): aws lambda … --endpoint-url http://{addr}"
    );
    for name in state.function_names() {
        println!("  {name:<20} POST http://{addr}/2015-03-31/functions/{name}/invocations");
    }
    for route in state.routes() {
        println!(
            "  {:<20} {:<28} {:?}",
            route.function(),
            route.key(),
            route.format()
        );
    }
}

/// Where the configuration comes from: re-read whole when one of its files changes.
struct Settings {
    here: PathBuf,
    template: Option<PathBuf>,
    env_file: Option<PathBuf>,
}

impl Settings {
    /// The functions to serve, with the env file's variables under each function's own, and the
    /// SAM/Serverless file they came from, if any.
    fn plan(
        &self,
        workspace: &project::Workspace,
    ) -> anyhow::Result<(Vec<Planned>, Option<PathBuf>)> {
        let env = match &self.env_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                parse_env_file(&text).with_context(|| format!("in {}", path.display()))?
            }
            None => BTreeMap::new(),
        };
        let (mut planned, source) = plan(&self.here, self.template.as_deref(), workspace)?;
        for function in &mut planned {
            let mut merged = env.clone();
            merged.extend(std::mem::take(&mut function.config.env));
            function.config.env = merged;
        }
        Ok((planned, source))
    }

    /// The files whose changes reload the configuration.
    fn files(&self, config_file: Option<PathBuf>, workspace: &project::Workspace) -> Vec<PathBuf> {
        let manifests = workspace
            .functions
            .iter()
            .map(|f| f.package_dir.join("Cargo.toml"));
        let mut files: Vec<PathBuf> = config_file
            .into_iter()
            .chain(self.env_file.iter().filter_map(|f| f.canonicalize().ok()))
            .chain(manifests)
            .collect();
        files.sort();
        files.dedup();
        files
    }
}

/// The API Gateway of `planned`: their routes, or the defaults if none has any.
fn gateway(planned: &[Planned]) -> anyhow::Result<Gateway> {
    let routes: Vec<Route> = planned
        .iter()
        .flat_map(|p| p.routes.iter().cloned())
        .collect();
    let table = if routes.is_empty() {
        let names: Vec<(String, PayloadFormat)> = planned
            .iter()
            .map(|p| (p.config.name.clone(), PayloadFormat::Http))
            .collect();
        RouteTable::default_for(&names)?
    } else {
        RouteTable::new(routes)?
    };
    Ok(Gateway::new(table, EventOptions::default()))
}

/// Re-reads the configuration whenever one of its files changes and applies it: routes, and
/// each function's timeout, memory, environment, handler, logging and reserved concurrency. An
/// invalid edit keeps the last good configuration; adding or removing functions needs a restart.
async fn reconfigure(
    emulator: Emulator,
    settings: Settings,
    workspace: project::Workspace,
    served: Vec<String>,
    watcher: notify::RecommendedWatcher,
    mut changes: tokio::sync::mpsc::UnboundedReceiver<PathBuf>,
) {
    // The watcher stops when dropped: it lives as long as this loop.
    let _watcher = watcher;
    while let Some(batch) = reload::next_batch(&mut changes, reload::QUIET).await {
        let files: Vec<String> = batch.iter().map(|f| f.display().to_string()).collect();
        tracing::info!(?files, "configuration changed");
        let applied = match settings.plan(&workspace) {
            Ok((planned, _)) => apply(&emulator, &served, planned).await,
            Err(error) => Err(error),
        };
        match applied {
            Ok(()) => tracing::info!("configuration reloaded"),
            Err(error) => {
                tracing::error!("configuration not reloaded, the last good one stays: {error:#}")
            }
        }
    }
}

/// Applies a reloaded configuration to the project's functions (`served`; functions deployed
/// through the management API are not the configuration's).
async fn apply(
    emulator: &Emulator,
    served: &[String],
    planned: Vec<Planned>,
) -> anyhow::Result<()> {
    let mut now = served.to_vec();
    let mut wanted: Vec<String> = planned.iter().map(|p| p.config.name.clone()).collect();
    now.sort();
    wanted.sort();
    if now != wanted {
        bail!(
            "the functions changed ({now:?} → {wanted:?}): restart lambkin to add or remove functions"
        );
    }
    let gateway = gateway(&planned)?;
    for function in planned {
        let name = &function.config.name;
        let Some(current) = emulator.function_config(name) else {
            continue;
        };
        let changed = current.timeout != function.config.timeout
            || current.memory_mb != function.config.memory_mb
            || current.env != function.config.env
            || current.handler != function.config.handler
            || current.logging != function.config.logging;
        // Like redeploying a template to AWS, the template's setting replaces one made since
        // through PutFunctionConcurrency or DeleteFunctionConcurrency, if they differ.
        if current.reserved_concurrency != function.config.reserved_concurrency {
            let reserved = function.config.reserved_concurrency;
            emulator.set_reserved_concurrency(name, reserved);
            tracing::info!(function = %name, ?reserved, "reserved concurrency changed");
        }
        if changed {
            let mut config = function.config;
            config.executable = current.executable;
            emulator.replace_function(config).await?;
        }
    }
    emulator.replace_gateway(gateway);
    Ok(())
}

/// Prints to stdout; a closed pipe (`lambkin event sqs | head`) is not an error.
fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Resolves at the first Ctrl-C or SIGTERM; a second one exits the process at once (the
/// function processes die with it), however the graceful shutdown is doing.
async fn shutdown_signal() {
    let mut signals = match Signals::new() {
        Ok(signals) => signals,
        Err(error) => {
            tracing::error!(%error, "cannot listen for Ctrl-C and SIGTERM");
            return std::future::pending().await;
        }
    };
    signals.recv().await;
    tokio::spawn(async move {
        let code = signals.recv().await;
        tracing::warn!("second signal: exiting now");
        std::process::exit(code);
    });
}

/// The signals that stop `lambkin`, listened for from start to exit (so a second one is not
/// missed between two listeners).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for the next signal; returns the exit code it calls for (128 + its number).
    async fn recv(&mut self) -> i32 {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => 128 + libc::SIGINT,
                _ = self.terminate.recv() => 128 + libc::SIGTERM,
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            130
        }
    }
}

/// Raises the soft limit on open files to the hard limit: every connection, and every
/// function instance (its pipes and Runtime API listener), takes descriptors, and the usual
/// soft limit of 1024 would make new requests hang long before the connection cap.
#[cfg(unix)]
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        let error = std::io::Error::last_os_error();
        tracing::debug!(%error, "cannot read the open files limit");
        return;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        } else {
            // macOS refuses more than OPEN_MAX even under an unlimited hard limit.
            let error = std::io::Error::last_os_error();
            tracing::debug!(%error, "cannot raise the open files limit");
        }
    }
    tracing::debug!(
        soft = limit.rlim_cur,
        hard = limit.rlim_max,
        "open files limit"
    );
}

fn build(args: BuildArgs) -> anyhow::Result<()> {
    let cargo = cargo();
    let workspace = project::discover(&cargo, &std::env::current_dir()?, &args.packages)?;
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
    let arch = if args.arm64 {
        Arch::Arm64
    } else {
        Arch::X86_64
    };
    for artifact in build_for_lambda(&cargo, &workspace, &functions, args.release, arch)? {
        print_out(&format!(
            "{:<20} {}",
            artifact.function,
            artifact.zip.display()
        ))?;
    }
    Ok(())
}

/// Builds `functions` for Lambda in one cargo build: `target/lambda/<bin>/bootstrap.zip`.
fn build_for_lambda(
    cargo: &OsString,
    workspace: &project::Workspace,
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(package::build_for_lambda(
        cargo,
        &workspace.target_dir,
        &cargo_args,
        functions,
    ))?)
}

#[cfg(not(feature = "deploy"))]
fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    bail!(
        "this `lambkin` was built without deploy support, which brings the AWS SDK and is kept out of the default build so the first `cargo run` stays quick. Build it in:\n  cargo install --path emulator --features deploy\nor, in the Lambkin repository:\n  cargo run --features deploy -- deploy {}",
        args.function
    )
}

/// Builds the function for Lambda and hands its zip and settings to `lambkin_deploy`.
#[cfg(feature = "deploy")]
fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    let cargo = cargo();
    let here = std::env::current_dir()?;
    let workspace = project::discover(&cargo, &here, &[])?;
    let settings = Settings {
        here,
        template: args.template.clone(),
        env_file: None,
    };
    let (planned, _) = settings.plan(&workspace)?;
    let arch = if args.arm64 {
        Arch::Arm64
    } else {
        Arch::X86_64
    };
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
            let artifacts = build_for_lambda(&cargo, &workspace, &[rust], !args.debug, arch)?;
            artifacts
                .into_iter()
                .next()
                .context("the build gave no bootstrap.zip")?
                .zip
        }
    };
    let zip =
        std::fs::read(&zip_path).with_context(|| format!("cannot read {}", zip_path.display()))?;
    // The project's settings for the function, else Lambda's defaults.
    let config = found.map_or_else(
        || FunctionConfig::new(&args.function, &zip_path),
        |p| p.config.clone(),
    );
    let config = &config;
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
        function_url: args.function_url || found.is_some_and(|p| p.function_url),
    };
    let target = lambkin_deploy::Target {
        endpoint_url: args.endpoint_url,
        region: args.region,
        profile: args.profile,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut progress = |call: &lambkin_deploy::Call| {
        let skipped = call.is_mutating()
            || matches!(
                call,
                lambkin_deploy::Call::WaitUntilActive { .. }
                    | lambkin_deploy::Call::WaitUntilUpdated { .. }
            );
        let verb = if args.dry_run && skipped {
            "would call"
        } else {
            "→"
        };
        eprintln!("{verb} {call}");
    };
    let deployed = runtime.block_on(lambkin_deploy::deploy(
        &deployment,
        &target,
        args.dry_run,
        &mut progress,
    ))?;
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

fn invoke(args: InvokeArgs) -> anyhow::Result<()> {
    let payload = match (&args.data, &args.data_file, args.event) {
        (Some(data), _, _) => data.clone(),
        (_, Some(file), _) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?,
        (_, _, Some(kind)) => samples::event(kind).to_string(),
        _ => "{}".to_owned(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let answer = runtime
        .block_on(samples::invoke(
            addr,
            &args.function,
            payload.into_bytes(),
            args.logs,
        ))
        .with_context(|| format!("is `lambkin watch` running on port {}?", args.port))?;
    if let Some(logs) = &answer.logs {
        eprintln!("{logs}");
    }
    print_out(&answer.body)?;
    if answer.status >= 300 || answer.function_error.is_some() {
        std::process::exit(1);
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
    fn planned_functions_keep_the_handler_and_logging_config() {
        let workspace = project::Workspace {
            root: PathBuf::from("/nowhere"),
            target_dir: PathBuf::from("/nowhere/target"),
            functions: Vec::new(),
            allow_hosts: Vec::new(),
        };
        let mut spec = FunctionSpec::new(
            "py",
            Code::Bootstrap {
                dir: PathBuf::from("/srv/py"),
            },
        );
        spec.handler = Some("app.handler".into());
        spec.logging.format = lambkin_emulator::config::LogFormat::Json;
        let planned = planned(spec.clone(), &workspace).unwrap();
        assert_eq!(planned.config.handler.as_deref(), Some("app.handler"));
        assert_eq!(planned.config.logging, spec.logging);
        assert_eq!(
            planned.config.executable,
            PathBuf::from("/srv/py/bootstrap")
        );
    }

    #[test]
    fn deploy_limits() {
        let cli = Cli::try_parse_from(["lambkin"]).unwrap();
        assert_eq!(cli.watch.deployed.limits(), DeployLimits::default());
        assert_eq!(Size(2 << 30).to_string(), "2GiB");
        assert_eq!(Size(1000).to_string(), "1000");
        let cli = Cli::try_parse_from([
            "lambkin",
            "--max-functions",
            "3",
            "--max-code-size",
            "500MiB",
        ])
        .unwrap();
        let limits = cli.watch.deployed.limits();
        assert_eq!(
            (limits.max_functions, limits.max_code_bytes),
            (3, 500 << 20)
        );
        for (text, bytes) in [
            ("12", 12),
            ("1 GB", 1_000_000_000),
            ("2g", 2 << 30),
            ("7B", 7),
        ] {
            assert_eq!(text.parse::<Size>(), Ok(Size(bytes)), "{text}");
        }
        for bad in ["", "GiB", "1.5GiB", "-1", "1 PiB", "99999999999TiB"] {
            assert!(bad.parse::<Size>().is_err(), "{bad}");
        }
    }

    #[test]
    fn watch_builds_with_the_chosen_profile() {
        let profile = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).unwrap();
            match cli.command {
                Some(Command::Watch(a)) => a.profile.cargo_args(),
                _ => cli.watch.profile.cargo_args(),
            }
        };
        assert!(profile(&["lambkin"]).is_empty());
        assert_eq!(profile(&["lambkin", "watch", "--release"]), ["--release"]);
        assert_eq!(
            profile(&["lambkin", "--profile", "bench"]),
            ["--profile", "bench"]
        );
        assert!(Cli::try_parse_from(["lambkin", "--release", "--profile", "x"]).is_err());
    }

    #[test]
    fn env_files() {
        let env = parse_env_file("# c\n\nA=1\nexport B = \"two words\"\nC='x=y'\n").unwrap();
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "two words");
        assert_eq!(env["C"], "x=y");
        assert!(parse_env_file("NOPE").is_err());
    }
}
