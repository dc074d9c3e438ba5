//! The emulator: a set of functions behind one front.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::Error;
use crate::config::FunctionConfig;
use crate::instance::closed;
use crate::invoke::{AppState, app};
use crate::pool::Function;
use crate::registry::Registry;

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
}

impl Emulator {
    /// An emulator for `functions`; nothing runs until [`serve`](Emulator::serve).
    ///
    /// The region of unknown-function errors is the first function's.
    pub fn new(functions: impl IntoIterator<Item = FunctionConfig>) -> Result<Emulator, Error> {
        let (closing, closing_rx) = watch::channel(false);
        let registry = Registry::new(HashMap::new(), closing_rx);
        let mut region = None;
        for config in functions {
            config.validate()?;
            region.get_or_insert_with(|| config.region.clone());
            let name = config.name.clone();
            if !registry.add(name.clone(), config) {
                return Err(Error::DuplicateFunction(name));
            }
        }
        let state = AppState::new(registry, region.as_deref().unwrap_or("us-east-1"));
        Ok(Emulator {
            inner: Arc::new(Inner { state, closing }),
        })
    }

    /// The front's state, for [`app`].
    pub fn state(&self) -> AppState {
        self.inner.state.clone()
    }

    /// Serves these API Gateway routes (and settings) instead of the current ones.
    pub fn set_gateway(&self, gateway: crate::gateway::Gateway) {
        self.inner.state.set_gateway(gateway);
    }

    /// The configuration `function` currently runs with (its latest executable included).
    pub fn function_config(&self, function: &str) -> Option<FunctionConfig> {
        let config = self.inner.state.function(function)?.config();
        Some((*config).clone())
    }

    /// Keeps the code of functions deployed through the management API under `dir` (default: a
    /// directory in the system's temporary directory). It is removed when the emulator stops.
    #[cfg(feature = "manage")]
    pub fn set_state_dir(&self, dir: std::path::PathBuf) {
        self.inner.state.manage().set_dir(dir);
    }

    /// Sets the build state the front reports (`x-lambkin-build`, `GET /_lambkin`).
    pub fn set_build_state(&self, state: crate::status::BuildState) {
        self.inner.state.set_build_state(state);
    }

    /// Serves `function`'s function URL on a listener of its own at `ip` (as AWS gives each URL
    /// a host of its own); every path and method goes to the function as a function URL event.
    /// Returns the URL, `None` for an unknown function. It stops with the emulator.
    pub async fn serve_function_url(
        &self,
        function: &str,
        ip: std::net::IpAddr,
    ) -> Result<Option<String>, Error> {
        self.inner.state.function_urls().set_ip(ip);
        let url = crate::function_url::start(&self.inner.state, function, "NONE").await?;
        Ok(url.map(|url| url.url))
    }

    /// Also answers requests that name `name` as their host (`Host`, `Origin`): a host name,
    /// `*.` and a domain (its subdomains), or an IP address; no scheme, no port (any port is
    /// fine). Every listener already answers `localhost`, `*.localhost`, `127.0.0.1`, `[::1]`
    /// and the address it listens on; any other host gets 403, a guard against DNS rebinding.
    pub fn allow_host(&self, name: &str) -> Result<(), Error> {
        self.inner.state.hosts().allow(name)
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

    /// Serves on `listener` until `shutdown` resolves; then every instance is stopped (busy ones
    /// answer their callers with a `ServiceException`) before this returns. An emulator serves
    /// once: after a shutdown its functions refuse every invocation.
    pub async fn serve_listener(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let Inner { state, closing } = &*self.inner;
        if let Ok(addr) = listener.local_addr() {
            state.function_urls().set_ip(addr.ip());
            state.hosts().set_listen(addr);
        }
        let reaper = tokio::spawn(reap(state.clone(), closing.subscribe()));
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let signal = {
            let emulator = self.clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down");
                emulator.inner.closing.send_replace(true);
            }
        };
        let front = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, front)
            .with_graceful_shutdown(signal)
            .await;
        closing.send_replace(true);
        reaper.abort();
        state.function_urls().clear();
        for pool in state.registry().pools() {
            pool.drain();
        }
        #[cfg(feature = "manage")]
        state.manage().clear();
        served.map_err(Error::Serve)
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
