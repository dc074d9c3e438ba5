//! The keys JWT authorizers check signatures with: a JWKS document from a file or URL given in
//! Lambkin's configuration (for offline work), else from the issuer, found through
//! `{issuer}/.well-known/openid-configuration`'s `jwks_uri`. Documents are kept once read, for
//! as long as the gateway (a hot reload reads them again).
//!
//! URLs are fetched with hyper's HTTP/1 client over plain TCP: the default build carries no TLS
//! stack, so an `https://` issuer needs its keys given locally (the error says how).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use jsonwebtoken::jwk::JwkSet;
use tokio::sync::Mutex;

use crate::apigw::auth::{JwksSource, JwtAuthorizer};

/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest document read (JWKS documents are a few KB).
const MAX_DOCUMENT: usize = 1024 * 1024;

/// The JWKS documents read so far, by where they came from.
#[derive(Debug, Default)]
pub(crate) struct KeyStore {
    sets: Mutex<HashMap<String, Arc<JwkSet>>>,
}

impl KeyStore {
    /// The keys of `authorizer`'s issuer, read on first use.
    pub(crate) async fn keys(&self, authorizer: &JwtAuthorizer) -> Result<Arc<JwkSet>, String> {
        let where_ = match &authorizer.jwks {
            Some(JwksSource::File(path)) => format!("file:{}", path.display()),
            Some(JwksSource::Url(url)) => url.clone(),
            None => format!("issuer:{}", authorizer.issuer),
        };
        // Held across the read: concurrent first requests read once.
        let mut sets = self.sets.lock().await;
        if let Some(set) = sets.get(&where_) {
            return Ok(set.clone());
        }
        let document = match &authorizer.jwks {
            Some(JwksSource::File(path)) => tokio::fs::read(path)
                .await
                .map(Bytes::from)
                .map_err(|e| format!("cannot read the JWKS file {}: {e}", path.display()))?,
            Some(JwksSource::Url(url)) => get(url).await?,
            None => discover(&authorizer.issuer).await?,
        };
        let set: JwkSet = serde_json::from_slice(&document)
            .map_err(|e| format!("the JWKS from {where_} is not a JWK set: {e}"))?;
        let set = Arc::new(set);
        sets.insert(where_, set.clone());
        Ok(set)
    }
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
    get(jwks_uri).await
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
    let host = uri.host().unwrap_or_default().to_owned();
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

    /// An issuer on 127.0.0.1 serving its OpenID configuration and its keys, counting the
    /// fetches of the keys.
    async fn issuer() -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
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
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/jwt/jwks.json");
        let by_file = authorizer("https://elsewhere.test", Some(JwksSource::File(file)));
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
