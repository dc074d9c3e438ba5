//! Function URLs: each on a listener of its own (AWS gives each URL a host of its own), every
//! path and method going to the function as a function URL event. Configured ones start with
//! the emulator; the management API creates and deletes them at run time.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Request, State};

use crate::Error;
use crate::apigw::{EventOptions, PayloadFormat, Route, RouteTable};
use crate::gateway::{self, Gateway};
use crate::invoke::AppState;
use crate::listen::{self, Limits};

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
    /// Stops the listener gracefully: requests under way are answered, then every connection
    /// (keep-alive ones too) is closed.
    stop: Arc<tokio::sync::Notify>,
}

/// The function URLs of an emulator.
#[derive(Debug)]
pub(crate) struct FunctionUrls {
    /// The address of the front, whose IP new listeners bind.
    ip: Mutex<IpAddr>,
    /// The limits new listeners serve under (the front's).
    limits: Mutex<Limits>,
    urls: Mutex<HashMap<String, FunctionUrl>>,
}

impl Default for FunctionUrls {
    fn default() -> Self {
        FunctionUrls {
            ip: Mutex::new(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            limits: Mutex::default(),
            urls: Mutex::default(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FunctionUrls {
    /// Binds new function URLs on `ip` (the front's).
    pub(crate) fn set_ip(&self, ip: IpAddr) {
        *lock(&self.ip) = ip;
    }

    /// Serves new function URLs under `limits`.
    pub(crate) fn set_limits(&self, limits: Limits) {
        *lock(&self.limits) = limits;
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
}

/// The router of `function`'s URL. `None` for an unknown function.
pub(crate) fn router(state: &AppState, function: &str) -> Option<Router> {
    state.function(function)?;
    let route = Route::parse(Route::DEFAULT_KEY, function, PayloadFormat::FunctionUrl).ok()?;
    let routes = RouteTable::new(vec![route]).ok()?;
    let gateway = Arc::new(Gateway::new(routes, EventOptions::default()));
    let handler = move |State(state): State<AppState>, request: Request| {
        let gateway = gateway.clone();
        async move { gateway::serve(&gateway, |name| state.function(name), request).await }
    };
    Some(
        Router::new()
            .fallback(handler)
            .layer(axum::middleware::map_response_with_state(
                state.clone(),
                crate::status::add_build_header,
            ))
            .with_state(state.clone()),
    )
}

/// Serves a URL for `function` on a new listener; `Ok(None)` for an unknown function. A
/// function has at most one URL: an existing one is answered as it is.
pub(crate) async fn start(
    state: &AppState,
    function: &str,
    auth_type: &str,
) -> Result<Option<FunctionUrl>, Error> {
    let urls = state.function_urls();
    if let Some(url) = urls.get(function) {
        return Ok(Some(url));
    }
    let Some(router) = router(state, function) else {
        return Ok(None);
    };
    let addr = SocketAddr::new(*lock(&urls.ip), 0);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind {
            addr: addr.to_string(),
            source,
        })?;
    let local = listener.local_addr().map_err(Error::Serve)?;
    let limits = lock(&urls.limits).clone();
    let stop = Arc::new(tokio::sync::Notify::new());
    let stopped = stop.clone();
    tokio::spawn(async move {
        listen::serve(listener, router, &limits, stopped.notified()).await;
    });
    let url = FunctionUrl {
        url: format!("http://{local}/"),
        auth_type: auth_type.to_owned(),
        created: SystemTime::now(),
        stop,
    };
    lock(&urls.urls).insert(function.to_owned(), url.clone());
    Ok(Some(url))
}
