//! The keys JWT authorizers check signatures with: a JWKS document from a file or URL given in
//! Lambkin's configuration (for offline work), else from the issuer, found through
//! `{issuer}/.well-known/openid-configuration`'s `jwks_uri` (which must be on the issuer's own
//! scheme, host and port). Documents are kept once read, for as long as the gateway (a hot
//! reload reads them again); a failed read is kept for [`RETRY_AFTER`], so that requests meanwhile
//! are refused at once instead of each waiting on a fetch of its own.
//!
//! Each source has its own lock, held across its read: concurrent first requests read once, and
//! a slow issuer delays only the authorizers that use it.
//!
//! URLs are fetched with hyper's HTTP/1 client over plain TCP: the default build carries no TLS
//! stack, so an `https://` issuer needs its keys given locally (the error says how).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use jsonwebtoken::jwk::JwkSet;

use crate::apigw::auth::{JwksSource, JwtAuthorizer};
use crate::sync::lock;

/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a failed read is answered from memory before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// The largest document read (JWKS documents are a few KB).
const MAX_DOCUMENT: usize = 1024 * 1024;

/// What became of the last read of one source.
#[derive(Debug)]
enum Read {
    Keys(Arc<JwkSet>),
    Failed { error: String, at: Instant },
}

/// One source's last read, locked while it is being read.
type Slot = Arc<tokio::sync::Mutex<Option<Read>>>;

/// The JWKS documents read so far, by where they came from.
#[derive(Debug, Default)]
pub(crate) struct KeyStore {
    /// Locked only to find or add a source's slot, never across a read.
    sources: Mutex<HashMap<String, Slot>>,
}

impl KeyStore {
    /// The keys of `authorizer`'s issuer, read on first use (and again once a failed read is
    /// [`RETRY_AFTER`] old).
    pub(crate) async fn keys(&self, authorizer: &JwtAuthorizer) -> Result<Arc<JwkSet>, String> {
        let where_ = match &authorizer.jwks {
            Some(JwksSource::File(path)) => format!("file:{}", path.display()),
            Some(JwksSource::Url(url)) => url.clone(),
            None => format!("issuer:{}", authorizer.issuer),
        };
        let slot = lock(&self.sources)
            .entry(where_.clone())
            .or_default()
            .clone();
        let mut last = slot.lock().await;
        match &*last {
            Some(Read::Keys(set)) => return Ok(set.clone()),
            Some(Read::Failed { error, at }) if at.elapsed() < RETRY_AFTER => {
                return Err(error.clone());
            }
            _ => {}
        }
        let read = read(authorizer, &where_).await;
        *last = Some(match &read {
            Ok(set) => Read::Keys(set.clone()),
            Err(error) => Read::Failed {
                error: error.clone(),
                at: Instant::now(),
            },
        });
        read
    }
}

/// Reads and parses `authorizer`'s keys from where they are (`where_` names it).
async fn read(authorizer: &JwtAuthorizer, where_: &str) -> Result<Arc<JwkSet>, String> {
    let document = match &authorizer.jwks {
        Some(JwksSource::File(path)) => tokio::fs::read(path)
            .await
            .map(Bytes::from)
            .map_err(|e| format!("cannot read the JWKS file {}: {e}", path.display()))?,
        Some(JwksSource::Url(url)) => get(url).await?,
        None => discover(&authorizer.issuer).await?,
    };
    serde_json::from_slice(&document)
        .map(Arc::new)
        .map_err(|e| format!("the JWKS from {where_} is not a JWK set: {e}"))
}

/// The JWKS of `issuer`, through its OpenID configuration's `jwks_uri`.
async fn discover(issuer: &str) -> Result<Bytes, String> {
    let config_url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let config: serde_json::Value = serde_json::from_slice(&get(&config_url).await?)
        .map_err(|e| format!("{config_url} is not JSON: {e}"))?;
    let Some(jwks_uri) = config.get("jwks_uri").and_then(|v| v.as_str()) else {
        return Err(format!("{config_url} has no jwks_uri"));
    };
    // Keys only from the issuer itself: a configuration cannot send the emulator elsewhere.
    if origin(jwks_uri).is_none() || origin(jwks_uri) != origin(issuer) {
        return Err(format!(
            "{config_url} names the jwks_uri {jwks_uri}, which is not on the issuer's scheme, \
             host and port; give the issuer's keys locally with the template's \
             `Metadata: Lambkin: Jwks: {{<issuer>: ./jwks.json}}`"
        ));
    }
    get(jwks_uri).await
}

/// The scheme, host (lowercase) and port of `url`, the port defaulted by the scheme.
fn origin(url: &str) -> Option<(String, String, u16)> {
    let uri: http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let port = uri.port_u16().or(match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some((scheme, uri.host()?.to_ascii_lowercase(), port))
}

/// The body of a `GET url` answered 200.
async fn get(url: &str) -> Result<Bytes, String> {
    let uri: http::Uri = url.parse().map_err(|_| format!("`{url}` is not a URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "cannot fetch {url}: this build fetches http:// URLs only; give the issuer's keys \
             locally with the template's `Metadata: Lambkin: Jwks: {{<issuer>: ./jwks.json}}` \
             (serverless.yml: `custom: lambkin: jwks:`)"
        ));
    }
    // An IPv6 address comes in brackets (`[::1]`), which the resolver does not take.
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let fetch = async {
        let stream = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {url}: {e}"))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("cannot fetch {url}: {e}"))?;
        // Ends once the response is read and `sender` dropped.
        tokio::spawn(connection);
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let request = http::Request::get(path)
            .header(
                http::header::HOST,
                uri.authority().map_or("", |a| a.as_str()),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("cannot fetch {url}: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("cannot fetch {url}: {e}"))?;
        if response.status() != http::StatusCode::OK {
            return Err(format!("{url} answered {}", response.status()));
        }
        Limited::new(response.into_body(), MAX_DOCUMENT)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|e| format!("cannot read {url}: {e}"))
    };
    tokio::time::timeout(FETCH_TIMEOUT, fetch)
        .await
        .unwrap_or_else(|_| Err(format!("{url} did not answer within {FETCH_TIMEOUT:?}")))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::{Json, Router, extract::State, routing::get as route};
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;

    use super::*;
    use crate::apigw::auth::IdentitySource;

    const JWKS: &str = include_str!("../../../tests/fixtures/jwt/jwks.json");

    fn authorizer(issuer: &str, jwks: Option<JwksSource>) -> JwtAuthorizer {
        JwtAuthorizer {
            issuer: issuer.to_owned(),
            audience: vec!["app".to_owned()],
            identity: IdentitySource::Header("Authorization".to_owned()),
            jwks,
        }
    }

    /// Serves `app` on `addr` (port 0), answering its base URL.
    async fn serve(addr: &str, app: Router) -> String {
        let listener = TcpListener::bind(addr).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    /// An issuer on `addr` serving its OpenID configuration and its keys, counting the fetches
    /// of the keys.
    async fn issuer_on(addr: &str) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind(addr).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let fetches = Arc::new(AtomicUsize::new(0));
        let config = serde_json::json!({ "jwks_uri": format!("{base}/keys") });
        let app = Router::new()
            .route(
                "/tenant/.well-known/openid-configuration",
                route(move || async move { Json(config) }),
            )
            .route(
                "/keys",
                route(|State(n): State<Arc<AtomicUsize>>| async move {
                    n.fetch_add(1, Ordering::Relaxed);
                    JWKS
                }),
            )
            .with_state(fetches.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("{base}/tenant"), fetches)
    }

    async fn issuer() -> (String, Arc<AtomicUsize>) {
        issuer_on("127.0.0.1:0").await
    }

    fn jwks_file() -> JwksSource {
        JwksSource::File(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/jwt/jwks.json"),
        )
    }

    #[tokio::test]
    async fn an_issuer_on_ipv6_is_reached() {
        let (issuer, _) = issuer_on("[::1]:0").await;
        assert!(issuer.starts_with("http://[::1]:"), "{issuer}");
        let keys = KeyStore::default()
            .keys(&authorizer(&issuer, None))
            .await
            .unwrap();
        assert!(keys.find("lambkin-test").is_some());
    }

    #[tokio::test]
    async fn a_failed_read_is_kept_for_a_while() {
        let tries = Arc::new(AtomicUsize::new(0));
        let app = Router::new()
            .route(
                "/down/.well-known/openid-configuration",
                route(|State(n): State<Arc<AtomicUsize>>| async move {
                    n.fetch_add(1, Ordering::Relaxed);
                    http::StatusCode::SERVICE_UNAVAILABLE
                }),
            )
            .with_state(tries.clone());
        let base = serve("127.0.0.1:0", app).await;
        let store = KeyStore::default();
        let down = authorizer(&format!("{base}/down"), None);
        for _ in 0..3 {
            let error = store.keys(&down).await.unwrap_err();
            assert!(error.contains("answered 503"), "{error}");
        }
        assert_eq!(tries.load(Ordering::Relaxed), 1, "asked once");
    }

    #[tokio::test]
    async fn keys_come_only_from_the_issuers_own_origin() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let (issuer, _) = issuer().await;
        let elsewhere = [
            format!("http://127.0.0.1:{port}/keys"),
            issuer
                .replace("127.0.0.1", "localhost")
                .replace("/tenant", "/keys"),
            issuer
                .replace("http://", "https://")
                .replace("/tenant", "/keys"),
            "/keys".to_owned(),
        ];
        for jwks_uri in elsewhere {
            let config = serde_json::json!({ "jwks_uri": jwks_uri });
            let app = Router::new().route(
                "/other/.well-known/openid-configuration",
                route(move || async move { Json(config) }),
            );
            let base = serve("127.0.0.1:0", app).await;
            let error = KeyStore::default()
                .keys(&authorizer(&format!("{base}/other"), None))
                .await
                .unwrap_err();
            assert!(error.contains("not on the issuer's"), "{jwks_uri}: {error}");
        }
    }

    #[tokio::test]
    async fn a_slow_issuer_delays_only_its_own_authorizers() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let slow = format!("http://{}/slow", listener.local_addr().unwrap());
        let (accepted, mut connected) = mpsc::channel(1);
        tokio::spawn(async move {
            let (_stream, _) = listener.accept().await.unwrap();
            accepted.send(()).await.unwrap();
            // Never answers; the connection stays open until the test ends.
            std::future::pending::<()>().await;
        });
        let store = Arc::new(KeyStore::default());
        let waiting = tokio::spawn({
            let store = store.clone();
            async move { store.keys(&authorizer(&slow, None)).await }
        });
        connected.recv().await.unwrap();
        let other = authorizer("https://elsewhere.test", Some(jwks_file()));
        assert!(store.keys(&other).await.is_ok());
        assert!(
            !waiting.is_finished(),
            "the slow issuer's read is still under way"
        );
        waiting.abort();
    }

    #[tokio::test]
    async fn keys_come_from_the_issuer_once_or_from_configuration() {
        let (issuer, fetches) = issuer().await;
        let store = KeyStore::default();
        let from_issuer = authorizer(&issuer, None);
        let keys = store.keys(&from_issuer).await.unwrap();
        assert!(keys.find("lambkin-test").is_some());
        store.keys(&from_issuer).await.unwrap();
        assert_eq!(fetches.load(Ordering::Relaxed), 1, "read once");

        // A URL given in configuration.
        let keys_url = issuer.replace("/tenant", "/keys");
        let by_url = authorizer("https://elsewhere.test", Some(JwksSource::Url(keys_url)));
        assert!(
            store
                .keys(&by_url)
                .await
                .unwrap()
                .find("lambkin-test")
                .is_some()
        );
        // A file.
        let by_file = authorizer("https://elsewhere.test", Some(jwks_file()));
        assert!(store.keys(&by_file).await.is_ok());

        // What cannot be had says why, and how to work offline.
        let https = authorizer("https://login.example.com/tenant", None);
        let error = store.keys(&https).await.unwrap_err();
        assert!(
            error.contains("http:// URLs only") && error.contains("Jwks"),
            "{error}"
        );
        let missing = authorizer(&format!("{issuer}/nothing"), None);
        let error = store.keys(&missing).await.unwrap_err();
        assert!(error.contains("answered 404"), "{error}");
        let not_jwks = authorizer(
            "https://x.test",
            Some(JwksSource::Url(format!(
                "{issuer}/.well-known/openid-configuration"
            ))),
        );
        let error = store.keys(&not_jwks).await.unwrap_err();
        assert!(error.contains("not a JWK set"), "{error}");
    }
}
