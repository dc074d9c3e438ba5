//! The emulator: a set of functions behind one front.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Error;
use crate::config::FunctionConfig;
use crate::front::gateway::Gateway;
use crate::front::status::BuildState;
use crate::front::{AppState, Options, app};
use crate::hosts::HostPolicy;
use crate::listen::{self, Limits};
use crate::pool::Function;
use crate::recorder::Recorder;
use crate::registry::{FunctionKey, Registry};
use crate::sync::closed;

/// How often idle instances are checked against their keep-alive.
const REAP_EVERY: Duration = Duration::from_millis(500);

/// Serves a set of functions, each instance a child process.
///
/// Cloning gives another handle to the same emulator, e.g. for a task that
/// [replaces](Emulator::replace_function) functions while [`serve`](Emulator::serve) runs.
#[derive(Debug, Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: AppState,
    closing: watch::Sender<bool>,
    /// The front's limits (function URLs have them too).
    limits: Limits,
    /// The schedules to start with the front, whether they fire, and their clock.
    #[cfg(feature = "schedules")]
    schedules: (Vec<crate::sources::schedule::Schedule>, bool, crate::Clock),
    /// The SQS event source mappings to start with the front, and their endpoint.
    sqs: (Vec<crate::sources::sqs::SqsSource>, Option<String>),
    /// The API routes that start state machines, by machine: served beside the gateway's own,
    /// a replaced gateway's too.
    machine_routes: Vec<(String, Vec<crate::apigw::Route>)>,
}

impl Emulator {
    /// An emulator for `functions` with the default [`Options`]; nothing runs until
    /// [`serve`](Emulator::serve).
    ///
    /// The region of unknown-function errors is the first function's.
    pub fn new(functions: impl IntoIterator<Item = FunctionConfig>) -> Result<Emulator, Error> {
        Emulator::with_options(functions, Options::default())
    }

    /// An emulator for `functions` set up as `options` say.
    ///
    /// Fails on an invalid function, two functions of one name, a host to allow that is not one
    /// ([`Error::InvalidHost`]) and an event directory that cannot be used ([`Error::EventDir`]).
    pub fn with_options(
        functions: impl IntoIterator<Item = FunctionConfig>,
        options: Options,
    ) -> Result<Emulator, Error> {
        let (closing, closing_rx) = watch::channel(false);
        let recorder = Arc::new(Recorder::new(options.recorder));
        let registry = Registry::new(HashMap::new(), closing_rx, recorder);
        let mut region = None;
        for config in functions {
            config.validate()?;
            region.get_or_insert_with(|| config.region.clone());
            let name = config.name.clone();
            if !registry.add(FunctionKey::latest(&name), config) {
                return Err(Error::DuplicateFunction(name));
            }
        }
        #[cfg(feature = "schedules")]
        if let Some(schedule) = (options.schedules.iter()).find(|s| {
            s.target == crate::sources::schedule::Target::Function
                && registry.get(&FunctionKey::latest(&s.function)).is_none()
        }) {
            return Err(Error::UnknownFunction(schedule.function.clone()));
        }
        for source in &options.sqs_sources {
            if registry
                .get(&FunctionKey::latest(&source.function))
                .is_none()
            {
                return Err(Error::UnknownFunction(source.function.clone()));
            }
            source
                .check()
                .map_err(|(field, message)| Error::InvalidEventSource {
                    name: source.name.clone(),
                    field,
                    message,
                })?;
        }
        let concurrency = registry.concurrency();
        concurrency.set_account_limit(options.account_concurrency);
        concurrency.set_max_instances(options.max_instances);
        let hosts = HostPolicy::default();
        for name in &options.allow_hosts {
            hosts.allow(name)?;
        }
        let state = AppState::new(
            registry,
            region.as_deref().unwrap_or("us-east-1"),
            Arc::new(hosts),
            &options,
        );
        #[cfg(feature = "workflows")]
        for machine in &options.state_machines {
            (state
                .workflows()
                .add(&machine.name, &machine.definition, machine.express))
            .map_err(|e| Error::InvalidStateMachine {
                name: machine.name.clone(),
                message: e.message,
            })?;
        }
        // Routes that start state machines need the machines (and the `workflows` feature).
        let machine_routes: Vec<(String, Vec<crate::apigw::Route>)> = (options.state_machines)
            .iter()
            .filter(|m| cfg!(feature = "workflows") && !m.routes.is_empty())
            .map(|m| (m.name.clone(), m.routes.clone()))
            .collect();
        if !machine_routes.is_empty() {
            let current = state.gateway();
            state.replace_gateway(with_machine_routes(&current, &machine_routes)?);
        }
        #[cfg(not(feature = "workflows"))]
        if !options.state_machines.is_empty() {
            tracing::warn!(
                "state machines are not served: lambkin-emulator was built without its `workflows` feature"
            );
        }
        state.events().set_limits(options.event_queue_limits);
        if let Some(dir) = &options.event_dir {
            state
                .events()
                .set_dir(dir.clone())
                .map_err(|source| Error::EventDir {
                    dir: dir.clone(),
                    source,
                })?;
        }
        Ok(Emulator {
            inner: Arc::new(Inner {
                state,
                closing,
                limits: options.limits,
                #[cfg(feature = "schedules")]
                schedules: (
                    // The state machines' own schedules start executions of them.
                    (options.schedules.into_iter())
                        .chain(options.state_machines.into_iter().flat_map(|m| m.schedules))
                        .collect(),
                    options.run_schedules,
                    options.clock,
                ),
                sqs: (options.sqs_sources, options.sqs_endpoint),
                machine_routes,
            }),
        })
    }

    /// The front's state, for [`app`].
    pub fn state(&self) -> AppState {
        self.inner.state.clone()
    }

    /// Serves these API Gateway routes (and settings) instead of the current ones, from the
    /// next request on (hot reload), with the state machines' routes
    /// ([`StateMachineConfig::routes`](crate::StateMachineConfig::routes)) beside them. Fails
    /// (and keeps the current ones) when a route of `gateway` is one of a state machine's.
    pub fn replace_gateway(&self, gateway: Gateway) -> Result<(), Error> {
        let gateway = with_machine_routes(&gateway, &self.inner.machine_routes)?;
        self.inner.state.replace_gateway(gateway);
        Ok(())
    }

    /// The configuration `function` currently runs with (its latest executable and its current
    /// reserved concurrency included).
    pub fn function_config(&self, function: &str) -> Option<FunctionConfig> {
        let mut config = (*self.inner.state.function(function)?.config()).clone();
        config.reserved_concurrency = self.concurrency().reserved(&config.name);
        Some(config)
    }

    fn concurrency(&self) -> &crate::concurrency::Concurrency {
        self.inner.state.registry().concurrency()
    }

    /// Sets (`None`: removes) `function`'s reserved concurrency from now on, as
    /// PutFunctionConcurrency and DeleteFunctionConcurrency do, but unchecked against the
    /// account's limit. Returns `false` for an unknown function.
    pub fn set_reserved_concurrency(&self, function: &str, reserved: Option<usize>) -> bool {
        let Some(function) = self.inner.state.function(function) else {
            return false;
        };
        // By the function's name: its versions share it.
        self.concurrency()
            .set_reserved(&function.config().name, reserved);
        true
    }

    /// Sets the build state the front reports (`x-lambkin-build`, `GET /_lambkin`).
    pub fn set_build_state(&self, state: BuildState) {
        self.inner.state.set_build_state(state);
    }

    /// Serves `function`'s function URL on a listener of its own at `ip` (as AWS gives each URL
    /// a host of its own), with `cors` (`FunctionUrlConfig.Cors`); every path and method goes to
    /// the function as a function URL event. Returns the URL, `None` for an unknown function. It
    /// stops with the emulator.
    pub async fn serve_function_url(
        &self,
        function: &str,
        ip: std::net::IpAddr,
        cors: Option<crate::apigw::Cors>,
    ) -> Result<Option<String>, Error> {
        let urls = self.inner.state.function_urls();
        let url = urls.start_at(ip, function, "NONE", cors).await?;
        Ok(url.map(|url| url.url))
    }

    /// The front router (same as `app(self.state())`).
    pub fn router(&self) -> Router {
        app(self.state())
    }

    /// Serves a new version of a function (e.g. a rebuilt executable): an instance of it is
    /// started and initialised, then new invocations go to the new version; instances of the old
    /// version finish what they are doing and stop.
    pub async fn replace_function(&self, config: FunctionConfig) -> Result<(), Error> {
        config.validate()?;
        match self.inner.state.function(&config.name).as_deref() {
            Some(Function::Pool(pool)) => {
                pool.replace(config).await;
                Ok(())
            }
            _ => Err(Error::UnknownFunction(config.name)),
        }
    }

    /// Binds `addr` and serves until `shutdown` resolves.
    pub async fn serve(
        self,
        addr: SocketAddr,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: addr.to_string(),
                source,
            })?;
        self.serve_listener(listener, shutdown).await
    }

    /// Serves on `listener` until `shutdown` resolves; then the listener closes, requests in
    /// flight have the grace period of the [`Limits`] to finish (every instance is stopped at
    /// once: busy ones answer their callers with a `ServiceException`), every connection still
    /// open is dropped, and the emulator's instances are drained before this returns. An
    /// emulator serves once: after a shutdown its functions refuse every invocation.
    pub async fn serve_listener(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let Inner {
            state,
            closing,
            limits,
            #[cfg(feature = "schedules")]
            schedules,
            sqs,
            machine_routes: _,
        } = &*self.inner;
        if let Ok(addr) = listener.local_addr() {
            state.hosts().set_listen(addr);
        }
        let reaper = tokio::spawn(reap(state.clone(), closing.subscribe()));
        state.events().resume().await;
        #[cfg(all(feature = "schedules", feature = "workflows"))]
        let executions: Option<crate::sources::schedule::StartExecution> = {
            let workflows = state.workflows().clone();
            Some(Arc::new(move |machine: &str, input: &serde_json::Value| {
                (workflows.start_execution(machine, &input.to_string(), None))
                    .map(|started| {
                        started["executionArn"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned()
                    })
                    .map_err(|e| e.message)
            }))
        };
        #[cfg(all(feature = "schedules", not(feature = "workflows")))]
        let executions: Option<crate::sources::schedule::StartExecution> = None;
        #[cfg(feature = "schedules")]
        crate::sources::schedule::start(
            &schedules.0,
            schedules.1,
            state.sources(),
            &schedules.2,
            state.events(),
            executions.as_ref(),
            state.region(),
            &closing.subscribe(),
        );
        start_sqs(state, sqs, &closing.subscribe());
        let signal = {
            let emulator = self.clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down");
                emulator.inner.closing.send_replace(true);
            }
        };
        listen::serve(listener, app(state.clone()), limits, signal).await;
        closing.send_replace(true);
        reaper.abort();
        state.events().report_shutdown();
        state.function_urls().clear();
        for pool in state.registry().pools() {
            pool.drain().await;
        }
        #[cfg(feature = "manage")]
        state.manage().clear();
        Ok(())
    }
}

/// Starts the SQS pollers of `sqs` (its mappings and their endpoint).
#[cfg(feature = "sqs")]
fn start_sqs(
    state: &AppState,
    (sources, endpoint): &(Vec<crate::sources::sqs::SqsSource>, Option<String>),
    closing: &watch::Receiver<bool>,
) {
    crate::sources::sqs::start(
        sources,
        endpoint.as_deref(),
        state.sources(),
        state.registry(),
        state.region(),
        closing,
    );
}

/// Lists the SQS mappings of `sqs` as off, with why: the pollers are not built in.
#[cfg(not(feature = "sqs"))]
fn start_sqs(
    state: &AppState,
    (sources, _): &(Vec<crate::sources::sqs::SqsSource>, Option<String>),
    _closing: &watch::Receiver<bool>,
) {
    use crate::sources::{SourceState, SourceStatus};
    let why = crate::sources::sqs::NOT_BUILT_IN;
    for source in sources {
        tracing::warn!(mapping = %source.name, function = %source.function, "{why}");
        state.sources().add(SourceStatus {
            kind: "sqs",
            name: source.name.clone(),
            function: source.function.clone(),
            state: SourceState::Off,
            next_fire: None,
            fired: 0,
            in_flight: None,
            last_error: Some(why.to_owned()),
        });
    }
}

async fn reap(state: AppState, mut closing: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(REAP_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => state.registry().pools().iter().for_each(|pool| pool.reap()),
            () = closed(&mut closing) => return,
        }
    }
}

/// `gateway` with the state machines' `machines` routes beside its own.
fn with_machine_routes(
    gateway: &Gateway,
    machines: &[(String, Vec<crate::apigw::Route>)],
) -> Result<Gateway, Error> {
    let mut merged = gateway.clone();
    for (name, routes) in machines {
        merged = merged
            .with_routes(routes)
            .map_err(|e| Error::InvalidStateMachine {
                name: name.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(merged)
}
