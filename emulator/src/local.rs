//! Local mode: one function served by its own process, for a function binary started outside
//! Lambda (a plain `cargo run`).
//!
//! The process binds the public front and a Runtime API listener, then runs its ordinary
//! Lambda runtime loop against [`InProcess::runtime_api`] while [`InProcess::serve`] answers
//! callers. There is exactly one instance — the process itself — so:
//! * invocations run one at a time; a caller waits for the instance up to the function's timeout
//!   plus one second, then gets 429 `TooManyRequestsException`;
//! * on timeout the caller gets Lambda's timeout error, but the handler cannot be killed: its
//!   late answer is discarded and the next invocation waits for it to finish;
//! * memory is reported (the process's peak) but not enforced.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;

use tokio::sync::watch;

use crate::Error;
use crate::config::FunctionConfig;
use crate::front::{AppState, Options, app};
use crate::hosts::HostPolicy;
use crate::instance::{Instance, lambda_env};
use crate::listen;
use crate::pool::{Function, Local};
use crate::recorder::Recorder;
use crate::registry::{FunctionKey, Registry};
use crate::runtime_api::{self, Channel};

/// One function whose runtime loop runs in the current process.
#[derive(Debug)]
pub struct InProcess {
    function: FunctionConfig,
    front: TcpListener,
    runtime_api: TcpListener,
    /// The host names the front answers to.
    hosts: Arc<HostPolicy>,
}

impl InProcess {
    /// Binds the public front on `front` and a Runtime API listener on 127.0.0.1:0,
    /// synchronously (std listeners, set non-blocking), before any async runtime exists.
    pub fn bind(function: FunctionConfig, front: SocketAddr) -> io::Result<InProcess> {
        function
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let front = TcpListener::bind(front)?;
        front.set_nonblocking(true)?;
        let runtime_api = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        runtime_api.set_nonblocking(true)?;
        let hosts = Arc::new(HostPolicy::default());
        hosts.set_listen(front.local_addr()?);
        Ok(InProcess {
            function,
            front,
            runtime_api,
            hosts,
        })
    }

    /// Also answers requests that name `name` as their host; see
    /// [`Options::allow_hosts`](crate::Options::allow_hosts).
    pub fn allow_host(&self, name: &str) -> Result<(), Error> {
        self.hosts.allow(name)
    }

    /// The Runtime API address to put in `AWS_LAMBDA_RUNTIME_API` (host:port).
    pub fn runtime_api(&self) -> SocketAddr {
        // A bound socket always has an address; the fallback is unreachable in practice.
        self.runtime_api
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }

    /// The bound front address.
    pub fn front(&self) -> SocketAddr {
        self.front
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
    }

    /// The environment Lambda would give this function (`AWS_LAMBDA_RUNTIME_API`,
    /// `AWS_LAMBDA_FUNCTION_NAME`, …, and the configured variables), for the process to set on
    /// itself before its runtime loop reads it.
    pub fn lambda_env(&self) -> BTreeMap<String, String> {
        lambda_env(&self.function, self.runtime_api())
    }

    /// Serves the front and the Runtime API for one instance that is this very process (its
    /// runtime loop polls [`runtime_api`](InProcess::runtime_api)). Runs until the process exits.
    pub async fn serve(self) -> Result<(), Error> {
        let front = tokio::net::TcpListener::from_std(self.front).map_err(Error::Serve)?;
        let runtime = tokio::net::TcpListener::from_std(self.runtime_api).map_err(Error::Serve)?;
        let config = Arc::new(self.function);
        let channel = Channel::new();
        // Never set: the process only stops by exiting.
        let (_closing, closing_rx) = watch::channel(false);
        let instance = Instance::in_process(config.clone(), channel.clone());
        let options = Options::default();
        let recorder = Arc::new(Recorder::new(options.recorder));
        let local = Local::new(
            instance,
            config.clone(),
            closing_rx.clone(),
            recorder.clone(),
        );
        let functions = HashMap::from([(
            FunctionKey::latest(&config.name),
            Arc::new(Function::Local(Arc::new(local))),
        )]);
        let registry = Registry::new(functions, closing_rx, recorder);
        let state = AppState::new(registry, &config.region, self.hosts, &options);
        let runtime = tokio::spawn(runtime_api::serve(runtime, channel, config.max_concurrency));
        listen::serve(front, app(state), &options.limits, std::future::pending()).await;
        runtime.abort();
        Ok(())
    }
}
