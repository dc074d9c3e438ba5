//! Function URLs: each on a listener of its own (AWS gives each URL a host of its own), every
//! path and method going to the function as a function URL event, with the URL's CORS
//! ([`Cors`], applied in `gateway.rs`). Configured ones start with the emulator; the management
//! API creates, updates and deletes them at run time.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Request, State};

use super::gateway::{self, CurrentGateway, Gateway};
use super::guard;
use super::status::{self, BuildStatus};
use crate::Error;
use crate::apigw::{Cors, EventOptions, PayloadFormat, Route, RouteTable};
use crate::hosts::HostPolicy;
use crate::listen::{self, Limits};
use crate::registry::{FunctionKey, Registry};
use crate::sync::lock;

/// A function URL being served.
#[derive(Debug, Clone)]
pub(crate) struct FunctionUrl {
    /// `http://127.0.0.1:<port>/`.
    pub(crate) url: String,
    /// `NONE` or `AWS_IAM` (recorded; the emulator checks no signatures).
    #[cfg_attr(
        not(feature = "manage"),
        expect(dead_code, reason = "shown by the management API")
    )]
    pub(crate) auth_type: String,
    /// When it was created.
    #[cfg_attr(
        not(feature = "manage"),
        expect(dead_code, reason = "shown by the management API")
    )]
    pub(crate) created: SystemTime,
    /// When its configuration last changed.
    #[cfg_attr(
        not(feature = "manage"),
        expect(dead_code, reason = "shown by the management API")
    )]
    pub(crate) modified: SystemTime,
    /// The gateway of its one route, holding its CORS; an update swaps it.
    gateway: CurrentGateway,
    /// Stops the listener gracefully: requests under way are answered, then every connection
    /// (keep-alive ones too) is closed.
    stop: Arc<tokio::sync::Notify>,
}

/// The function URLs of an emulator: their listeners serve its functions, answer the hosts it
/// answers and report its build state.
#[derive(Debug)]
pub(crate) struct FunctionUrls {
    registry: Arc<Registry>,
    hosts: Arc<HostPolicy>,
    build: BuildStatus,
    /// The limits the listeners serve under (the front's).
    limits: Limits,
    urls: Mutex<HashMap<String, FunctionUrl>>,
}

impl FunctionUrl {
    /// The gateway of its one route now.
    pub(crate) fn gateway(&self) -> Arc<Gateway> {
        self.gateway.get()
    }

    /// The URL's CORS configuration, if it has one.
    #[cfg_attr(
        not(feature = "manage"),
        expect(dead_code, reason = "shown by the management API")
    )]
    pub(crate) fn cors(&self) -> Option<Cors> {
        let gateway = self.gateway.get();
        gateway.routes().routes().first()?.cors().cloned()
    }
}

/// The gateway of `function`'s URL: its `$default` route, with `cors`.
fn url_gateway(function: &str, cors: Option<Cors>) -> Option<Gateway> {
    let route = Route::parse(Route::DEFAULT_KEY, function, PayloadFormat::FunctionUrl)
        .ok()?
        .with_cors(cors);
    let routes = RouteTable::new(vec![route]).ok()?;
    Some(Gateway::new(routes, EventOptions::default()))
}

impl FunctionUrls {
    /// No URLs yet; those started serve `registry`'s functions under `limits`.
    pub(crate) fn new(
        registry: Arc<Registry>,
        hosts: Arc<HostPolicy>,
        build: BuildStatus,
        limits: Limits,
    ) -> FunctionUrls {
        FunctionUrls {
            registry,
            hosts,
            build,
            limits,
            urls: Mutex::default(),
        }
    }

    /// `function`'s URL, if it has one.
    pub(crate) fn get(&self, function: &str) -> Option<FunctionUrl> {
        lock(&self.urls).get(function).cloned()
    }

    /// Stops serving `function`'s URL; `false` if it had none.
    #[cfg(feature = "manage")]
    pub(crate) fn remove(&self, function: &str) -> bool {
        let removed = lock(&self.urls).remove(function);
        if let Some(url) = &removed {
            url.stop.notify_one();
        }
        removed.is_some()
    }

    /// Stops every function URL.
    pub(crate) fn clear(&self) {
        for (_, url) in lock(&self.urls).drain() {
            url.stop.notify_one();
        }
    }

    /// Serves a URL for `function` on a new listener at the front's IP address; see
    /// [`start_at`](FunctionUrls::start_at).
    #[cfg(feature = "manage")]
    pub(crate) async fn start(
        &self,
        function: &str,
        auth_type: &str,
        cors: Option<Cors>,
    ) -> Result<Option<FunctionUrl>, Error> {
        self.start_at(self.hosts.listen_ip(), function, auth_type, cors)
            .await
    }

    /// Changes `function`'s URL: its auth type and (`Some`) its CORS, for the requests that
    /// come next. `None` when it has no URL.
    #[cfg(feature = "manage")]
    pub(crate) fn update(
        &self,
        function: &str,
        auth_type: Option<&str>,
        cors: Option<Option<Cors>>,
    ) -> Option<FunctionUrl> {
        let mut urls = lock(&self.urls);
        let url = urls.get_mut(function)?;
        if let Some(auth_type) = auth_type {
            auth_type.clone_into(&mut url.auth_type);
        }
        if let Some(cors) = cors {
            url.gateway.replace(url_gateway(function, cors)?);
        }
        url.modified = SystemTime::now();
        Some(url.clone())
    }

    /// Serves a URL for `function` with `cors` on a new listener at `ip`; `Ok(None)` for an
    /// unknown function. A function has at most one URL: an existing one is answered as it is.
    pub(crate) async fn start_at(
        &self,
        ip: IpAddr,
        function: &str,
        auth_type: &str,
        cors: Option<Cors>,
    ) -> Result<Option<FunctionUrl>, Error> {
        if let Some(url) = self.get(function) {
            return Ok(Some(url));
        }
        let Some((router, gateway)) = self.router(function, cors) else {
            return Ok(None);
        };
        let addr = SocketAddr::new(ip, 0);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(Error::Serve)?;
        let limits = self.limits.clone();
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopped = stop.clone();
        tokio::spawn(async move {
            listen::serve(listener, router, &limits, stopped.notified()).await;
        });
        let now = SystemTime::now();
        let url = FunctionUrl {
            url: format!("http://{local}/"),
            auth_type: auth_type.to_owned(),
            created: now,
            modified: now,
            gateway,
            stop,
        };
        lock(&self.urls).insert(function.to_owned(), url.clone());
        Ok(Some(url))
    }

    /// The router of `function`'s URL with `cors`, and the gateway it serves through. `None`
    /// for an unknown function.
    fn router(&self, function: &str, cors: Option<Cors>) -> Option<(Router, CurrentGateway)> {
        self.registry.get(&FunctionKey::latest(function))?;
        let current = CurrentGateway::new(url_gateway(function, cors)?);
        let serving = current.clone();
        let handler = move |State(registry): State<Arc<Registry>>, request: Request| {
            let gateway = serving.get();
            async move {
                gateway::serve(
                    &gateway,
                    |name| registry.get(&FunctionKey::latest(name)),
                    #[cfg(feature = "workflows")]
                    None,
                    request,
                )
                .await
            }
        };
        let router = Router::new()
            .fallback(handler)
            .layer(axum::middleware::from_fn_with_state(
                self.hosts.clone(),
                guard::function_url,
            ))
            .layer(axum::middleware::map_response_with_state(
                self.build.clone(),
                status::add_build_header,
            ))
            .with_state(self.registry.clone());
        Some((router, current))
    }
}
