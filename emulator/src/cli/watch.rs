//! `lambkin watch` (also `lambkin` alone): build the project's functions, serve them, and
//! rebuild and reconfigure them as their sources and configuration change.

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use lambkin_emulator::dev::cargo::{self, Discovered, Workspace};
use lambkin_emulator::dev::plan::{self, Planned, Settings};
use lambkin_emulator::dev::watch::{Reloadable, rebuild_on_change};
use lambkin_emulator::websocket::WebSocketApi;
use lambkin_emulator::{DeployLimits, Emulator, Error, Options};

use super::{ProfileArgs, SelectArgs, Size};

/// Options of `lambkin watch`.
#[derive(Debug, Args)]
pub(super) struct WatchArgs {
    #[command(flatten)]
    pub(super) serve: ServeArgs,
    #[command(flatten)]
    pub(super) select: SelectArgs,
    #[command(flatten)]
    functions: FunctionArgs,
    #[command(flatten)]
    pub(super) reload: ReloadArgs,
    #[command(flatten)]
    pub(super) deployed: DeployedArgs,
    #[command(flatten)]
    pub(super) profile: ProfileArgs,
    /// Serve a Step Functions state machine from an Amazon States Language file, named after
    /// it (`orders.asl.json` → `orders`); repeatable. The template's state machines are served
    /// too.
    #[arg(long = "state-machine", value_name = "FILE")]
    state_machines: Vec<std::path::PathBuf>,
}

/// Where the emulator listens.
#[derive(Debug, Args)]
#[command(next_help_heading = "Serving")]
pub(super) struct ServeArgs {
    /// Port of the Invoke API and the API Gateway front.
    #[arg(long, env = "LAMBKIN_PORT", default_value_t = 9000)]
    pub(super) port: u16,
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
    /// `off`: schedules (SAM Schedule/ScheduleV2, serverless.yml schedule events) do not fire;
    /// `lambkin invoke FUNCTION --event schedule` still sends one.
    #[arg(long, value_name = "on|off", default_value = "on", value_parser = ["on", "off"])]
    schedules: String,
    /// Where the queues of SQS events are: an SQS-compatible server's URL (moto, ElasticMQ,
    /// LocalStack). Without it: AWS, in each queue's region, with the standard credentials.
    #[arg(long, value_name = "URL", env = "LAMBKIN_SQS_ENDPOINT")]
    sqs_endpoint: Option<String>,
}

/// Rebuilding on change.
#[derive(Debug, Args)]
#[command(next_help_heading = "Reloading")]
pub(super) struct ReloadArgs {
    /// Do not rebuild and reload functions when their sources change.
    #[arg(long)]
    pub(super) no_reload: bool,
}

/// Caps on what the management API takes (`lambkin deploy`, `aws lambda create-function`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Deployed functions")]
pub(super) struct DeployedArgs {
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
    pub(super) fn limits(&self) -> DeployLimits {
        DeployLimits {
            max_functions: self.max_functions,
            max_code_bytes: self.max_code_size.0,
        }
    }
}

/// The project being served: its workspace, where its configuration comes from, and the
/// configuration file read (if any).
struct Project {
    cargo: OsString,
    workspace: Workspace,
    settings: Settings,
    config_file: Option<PathBuf>,
}

/// Reads the project's configuration, then builds and serves it until Ctrl-C or SIGTERM.
pub(super) fn run(args: WatchArgs) -> anyhow::Result<()> {
    let cargo = super::cargo();
    let here = std::env::current_dir()?;
    let workspace = cargo::discover(&cargo, &here, &args.select.packages)?;
    // A bad configuration stops here: nothing starts half-configured.
    let settings = Settings {
        here,
        template: args.select.template.clone(),
        env_file: args.functions.env_file.clone(),
    };
    let (planned, config_file) = settings.plan(&workspace)?;
    if planned.is_empty() {
        tracing::warn!(
            "no functions found: a function is a binary of a workspace package that depends on `lambkin` or `lambda_runtime`, or a function of template.yaml / serverless.yml; functions can still be deployed here (lambkin deploy / aws lambda create-function with --endpoint-url)"
        );
    }
    let project = Project {
        cargo,
        workspace,
        settings,
        config_file,
    };
    super::block_on(serve(args, project, planned))?
}

async fn serve(args: WatchArgs, project: Project, mut planned: Vec<Planned>) -> anyhow::Result<()> {
    let target_dir = project.workspace.target_dir.clone();
    // Builds and deployed code of emulators killed before they could clean up.
    cargo::remove_stale_versions(&target_dir);
    let cargo_args = args.profile.cargo_args();
    build_all(&project, &mut planned, &cargo_args).await?;
    if !args.serve.bind.is_loopback() {
        tracing::warn!(
            bind = %args.serve.bind,
            "listening beyond loopback: anyone who can reach this address can invoke your functions"
        );
    }
    let websockets = project.settings.websockets()?;
    let mut state_machines = project.settings.state_machines()?;
    for file in &args.state_machines {
        let machine = lambkin_emulator::StateMachineConfig::from_file(file)
            .with_context(|| format!("cannot read the state machine {}", file.display()))?;
        state_machines.push(machine);
    }
    let emulator = emulator(
        &args,
        &project.workspace,
        &planned,
        &websockets,
        &state_machines,
    )?;
    let addr = SocketAddr::new(args.serve.bind, args.serve.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let shown = listener.local_addr()?;
    // Watch first: once "serving" is printed, every edit is seen.
    if !args.reload.no_reload {
        reload_on_change(&emulator, project, &planned, cargo_args);
    }
    // And the signals: once "serving" is printed, Ctrl-C and SIGTERM stop it gracefully.
    let shutdown = super::shutdown_signal();
    print_served(shown, &emulator);
    for api in &websockets {
        println!(
            "  {:<20} WebSocket ws://{shown}/{} (@connections: http://{shown}/{}/@connections/{{id}})",
            api.name(),
            api.stage(),
            api.stage()
        );
    }
    let off = if args.functions.schedules == "on" {
        ""
    } else {
        ", off"
    };
    for schedule in planned.iter().flat_map(|p| &p.schedules) {
        let state = if schedule.enabled { off } else { ", disabled" };
        println!(
            "  {:<20} schedule {} {}{state}",
            schedule.function, schedule.name, schedule.expression_text
        );
    }
    let sqs_where = args.functions.sqs_endpoint.as_deref().unwrap_or("AWS");
    for source in planned.iter().flat_map(|p| &p.sqs) {
        let state = match (source.enabled, cfg!(feature = "sqs")) {
            (false, _) => ", disabled",
            (true, false) => ", off: lambkin was built without --features sqs",
            (true, true) => "",
        };
        println!(
            "  {:<20} SQS {} (batch {}) from {sqs_where}{state}",
            source.function,
            source.queue.arn("us-east-1"),
            source.batch_size
        );
    }
    for machine in &state_machines {
        println!(
            "  {:<20} state machine arn:aws:states:{}:{}:stateMachine:{} (aws stepfunctions … --endpoint-url http://{shown})",
            machine.name,
            planned
                .first()
                .map_or("us-east-1", |p| p.config.region.as_str()),
            lambkin_emulator::ACCOUNT_ID,
            machine.name
        );
    }
    for function in planned.iter().filter(|p| p.function_url) {
        let name = &function.config.name;
        let cors = function.url_cors.clone();
        if let Some(url) = emulator
            .serve_function_url(name, args.serve.bind, cors)
            .await?
        {
            println!("  {name:<20} function URL {url}");
        }
    }
    let served = emulator.serve_listener(listener, shutdown).await;
    // The frozen versions die with the emulator (best effort: a crash leaves them behind).
    let _ = std::fs::remove_dir_all(cargo::versions_dir(&target_dir));
    Ok(served?)
}

/// The first build of the Rust functions, in one cargo build; each executable is frozen as
/// version 0.
async fn build_all(
    project: &Project,
    planned: &mut [Planned],
    cargo_args: &[String],
) -> anyhow::Result<()> {
    let rust: Vec<&Discovered> = planned.iter().filter_map(|p| p.rust.as_ref()).collect();
    if rust.is_empty() {
        return Ok(());
    }
    tracing::info!("building {} function(s)", rust.len());
    let executables = cargo::build(&project.cargo, &rust, cargo_args).await?;
    for function in planned {
        if let Some(exe) = function.rust.as_ref().and_then(|d| executables.get(&d.bin)) {
            let target_dir = &project.workspace.target_dir;
            function.config.executable = cargo::freeze(exe, target_dir, &function.config.name, 0)?;
        }
    }
    Ok(())
}

/// The emulator of `planned`, with the options of the command line and the workspace.
fn emulator(
    args: &WatchArgs,
    workspace: &Workspace,
    planned: &[Planned],
    websockets: &[WebSocketApi],
    state_machines: &[lambkin_emulator::StateMachineConfig],
) -> anyhow::Result<Emulator> {
    let event_dir = plan::event_dir(workspace);
    let options = Options {
        gateway: Some(plan::gateway(planned)?),
        deploy_limits: args.deployed.limits(),
        // Beside the frozen builds (removed with them); elsewhere the system's temp dir.
        state_dir: (workspace.root.join("Cargo.toml").is_file())
            .then(|| cargo::versions_dir(&workspace.target_dir).join("deployed")),
        account_concurrency: args.functions.account_concurrency,
        max_instances: args.functions.max_instances as usize,
        allow_hosts: (args.serve.allow_hosts.iter())
            .chain(&workspace.allow_hosts)
            .cloned()
            .collect(),
        event_dir: Some(event_dir),
        websockets: websockets.to_vec(),
        schedules: planned.iter().flat_map(|p| p.schedules.clone()).collect(),
        run_schedules: args.functions.schedules == "on",
        sqs_sources: planned.iter().flat_map(|p| p.sqs.clone()).collect(),
        sqs_endpoint: args.functions.sqs_endpoint.clone(),
        state_machines: state_machines.to_vec(),
        ..Options::default()
    };
    let build = |options| Emulator::with_options(planned.iter().map(|p| p.config.clone()), options);
    let emulator = match build(options.clone()) {
        // Not fatal: the emulator serves, its events are not kept across restarts.
        Err(Error::EventDir { dir, source: error }) => {
            tracing::warn!(
                dir = %dir.display(),
                %error,
                "asynchronous invocations are kept in memory only: they do not survive a restart"
            );
            build(Options {
                event_dir: None,
                ..options
            })?
        }
        emulator => emulator?,
    };
    Ok(emulator)
}

/// Starts the two reload loops: rebuilding the Rust functions when their sources change, and
/// re-reading the configuration when one of its files does.
fn reload_on_change(
    emulator: &Emulator,
    project: Project,
    planned: &[Planned],
    cargo_args: Vec<String>,
) {
    let reloadable: Vec<Reloadable> = planned
        .iter()
        .filter_map(|p| {
            p.rust.clone().map(|discovered| Reloadable {
                discovered,
                config: p.config.clone(),
            })
        })
        .collect();
    if !reloadable.is_empty() {
        let target_dir = project.workspace.target_dir.clone();
        let emulator = emulator.clone();
        match rebuild_on_change(emulator, project.cargo, cargo_args, target_dir, reloadable) {
            Ok(reloader) => {
                tokio::spawn(reloader);
            }
            Err(error) => tracing::error!("hot reload is off: {error}"),
        }
    }
    // The project's functions; the management API may add others while serving.
    let served: Vec<String> = planned.iter().map(|p| p.config.name.clone()).collect();
    let files = project
        .settings
        .files(project.config_file, &project.workspace);
    let reconfigure = plan::reconfigure_on_change(
        emulator.clone(),
        project.settings,
        project.workspace,
        served,
        &files,
    );
    match reconfigure {
        Ok(reconfigure) => {
            tokio::spawn(reconfigure);
        }
        Err(error) => tracing::error!("configuration reload is off: {error}"),
    }
}

fn print_served(addr: SocketAddr, emulator: &Emulator) {
    let state = emulator.state();
    println!("lambkin: serving on http://{addr} (dashboard: http://{addr}/_lambkin)");
    println!(
        "  Lambda API (invoke, create-function, …): aws lambda … --endpoint-url http://{addr}"
    );
    for name in state.function_names() {
        println!("  {name:<20} POST http://{addr}/2015-03-31/functions/{name}/invocations");
    }
    for route in state.routes() {
        // A named stage is also served under its prefix (`/Prod/users`).
        let stage = route.stage();
        let staged = if stage.is_default() {
            String::new()
        } else {
            format!(" (stage {}: also under /{})", stage.name, stage.name)
        };
        println!(
            "  {:<20} {:<28} {:?}{staged}",
            route.function(),
            route.key(),
            route.format()
        );
    }
}
