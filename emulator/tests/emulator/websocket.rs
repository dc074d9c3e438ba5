//! WebSocket APIs end to end: a real client (tokio-tungstenite) against the emulator on a real
//! listener, with the fixture's `websocket` behaviour as every route's function. The function
//! answers through the `@connections` API over HTTP, as a deployed one would.

#![cfg(feature = "websocket")]
// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::net::SocketAddr;
use std::path::Path;

use common::{Running, bounded, fixture, request};
use futures_util::{SinkExt, StreamExt};
use lambkin_emulator::websocket::{SelectionExpression, WebSocketApi};
use lambkin_emulator::{Emulator, Options};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// An `Authorization` header as the `apigatewaymanagementapi` clients send it (signed for
/// `execute-api`; the emulator checks the form, not the keys).
const SIGNED: (&str, &str) = (
    "authorization",
    "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
);

/// An emulator serving the API `Chat` at stage `dev`: `$connect`, `$disconnect`, `echo` and
/// the two-way `reply` (no `$default`), all on the fixture, which logs its events to `log`.
async fn start(log: &Path) -> Running {
    start_with(log, Options::default()).await
}

/// [`start`] with `options` (their `websockets` replaced).
async fn start_with(log: &Path, options: Options) -> Running {
    let mut function = fixture("ws", "websocket");
    function
        .env
        .insert("FIXTURE_WS_LOG".into(), log.display().to_string());
    let api = WebSocketApi::new("Chat", "dev", SelectionExpression::default())
        .and_then(|api| api.with_route("$connect", "ws", false))
        .and_then(|api| api.with_route("$disconnect", "ws", false))
        .and_then(|api| api.with_route("echo", "ws", false))
        .and_then(|api| api.with_route("reply", "ws", true))
        .unwrap();
    let options = Options {
        websockets: vec![api],
        ..options
    };
    Running::serve(Emulator::with_options([function], options).unwrap()).await
}

/// Connects to `path` with extra `headers`.
async fn connect(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Client, WsError> {
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    bounded(tokio_tungstenite::connect_async(request))
        .await
        .map(|(client, _)| client)
}

/// The next text message.
async fn next_text(client: &mut Client) -> String {
    loop {
        match bounded(client.next()).await {
            Some(Ok(Message::Text(text))) => return text.to_string(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// The log line of the event `route` of a connection, once the function has written it:
/// `(connectionId, disconnectStatusCode)`.
async fn logged(log: &Path, route: &str) -> (String, String) {
    bounded(async {
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let found = text.lines().find_map(|line| {
                let mut fields = line.split(' ');
                (fields.next() == Some(route)).then(|| {
                    (
                        fields.next().unwrap_or("").to_owned(),
                        fields.next().unwrap_or("").to_owned(),
                    )
                })
            });
            if let Some(found) = found {
                return found;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
}

#[tokio::test]
async fn messages_are_routed_and_answered_through_connections() {
    let dir = Scratch::new();
    let log = dir.join("events");
    let running = start(&log).await;
    let mut client = connect(running.addr, "/dev?room=1", &[]).await.unwrap();
    let (id, _) = logged(&log, "$connect").await;

    // `echo` answers through PostToConnection, from the function's own process.
    client
        .send(Message::text(r#"{"action":"echo","data":"hello"}"#))
        .await
        .unwrap();
    assert_eq!(next_text(&mut client).await, "hello");
    // A two-way route's answer comes back by itself.
    let asked = r#"{"action":"reply","n":1}"#;
    client.send(Message::text(asked)).await.unwrap();
    assert_eq!(next_text(&mut client).await, format!("reply: {asked}"));
    // No route and no $default: API Gateway's own answer.
    client.send(Message::text("not json")).await.unwrap();
    let refused: Value = serde_json::from_str(&next_text(&mut client).await).unwrap();
    assert_eq!(refused["message"], "Forbidden");
    assert_eq!(refused["connectionId"], id.as_str());

    // GetConnection.
    let path = format!("/dev/@connections/{id}");
    let info = request(running.addr, "GET", &path, &[SIGNED], b"").await;
    assert_eq!(info.status, 200, "{}", info.text());
    let info = info.json();
    assert_eq!(info["identity"]["sourceIp"], "127.0.0.1");
    assert!(
        info["connectedAt"].as_str().unwrap().ends_with('Z'),
        "{info}"
    );
    assert!(info["lastActiveAt"].as_str().unwrap() >= info["connectedAt"].as_str().unwrap());
    // As an SDK sends it: the id percent-encoded, the call signed.
    let encoded = format!("/dev/@connections/{}", id.replace('=', "%3D"));
    assert_ne!(encoded, path, "ids end in `=`");
    let info = request(running.addr, "GET", &encoded, &[SIGNED], b"").await;
    assert_eq!(info.status, 200, "{}", info.text());
    // An unknown connection is gone.
    let unknown = request(
        running.addr,
        "GET",
        "/dev/@connections/nope",
        &[SIGNED],
        b"",
    )
    .await;
    unknown.assert_aws_error(410, "GoneException");

    // The client closes: $disconnect runs with its code, and the connection is gone.
    client
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        }))
        .await
        .unwrap();
    let (gone, code) = logged(&log, "$disconnect").await;
    assert_eq!((gone.as_str(), code.as_str()), (id.as_str(), "1000"));
    let post = request(running.addr, "POST", &path, &[SIGNED], b"late").await;
    post.assert_aws_error(410, "GoneException");
    let get = request(running.addr, "GET", &path, &[SIGNED], b"").await;
    get.assert_aws_error(410, "GoneException");
    running.stop().await;
}

#[tokio::test]
async fn connect_refusals_and_other_sites_are_turned_away() {
    let dir = Scratch::new();
    let log = dir.join("events");
    let running = start(&log).await;
    // $connect answering 403 refuses the upgrade with that status.
    match connect(running.addr, "/dev?refuse=1", &[]).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A page of another site may not open a WebSocket to the emulator.
    match connect(running.addr, "/dev", &[("origin", "http://evil.example")]).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A page served locally on another port may.
    let client = connect(running.addr, "/dev", &[("origin", "http://localhost:3000")]).await;
    assert!(client.is_ok(), "{client:?}");
    // $connect picks the subprotocol (the client fails the handshake without one).
    let mut request = format!("ws://{}/dev", running.addr)
        .into_client_request()
        .unwrap();
    let offered = http::HeaderValue::from_static("chat.v2, chat.v1");
    request
        .headers_mut()
        .insert("sec-websocket-protocol", offered);
    let (_, response) = bounded(tokio_tungstenite::connect_async(request))
        .await
        .unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"]
            .to_str()
            .unwrap(),
        "chat.v2"
    );
    // A stage no API has is not a WebSocket API.
    assert!(connect(running.addr, "/prod", &[]).await.is_err());
    running.stop().await;
}

#[tokio::test]
async fn connections_api_takes_only_signed_calls_from_no_other_site() {
    let dir = Scratch::new();
    let log = dir.join("events");
    let running = start(&log).await;
    let mut client = connect(running.addr, "/dev", &[]).await.unwrap();
    let (id, _) = logged(&log, "$connect").await;
    let path = format!("/dev/@connections/{id}");

    // A page of another site (a `no-cors` POST: no Authorization) may not push messages.
    let cross_site = [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ];
    let post = request(running.addr, "POST", &path, &cross_site, b"from evil").await;
    post.assert_aws_error(403, "AccessDeniedException");
    // Nor may it when it adds a signature-shaped header (a preflight would be needed).
    let signed_cross_site = [cross_site[0], cross_site[1], SIGNED];
    let post = request(running.addr, "POST", &path, &signed_cross_site, b"x").await;
    post.assert_aws_error(403, "AccessDeniedException");
    // An unsigned call is refused as AWS refuses it; a signature for another service too.
    let post = request(running.addr, "POST", &path, &[], b"unsigned").await;
    post.assert_aws_error(403, "MissingAuthenticationTokenException");
    let lambda = SIGNED.1.replace("/execute-api/", "/lambda/");
    let post = request(
        running.addr,
        "POST",
        &path,
        &[("authorization", &lambda)],
        b"x",
    )
    .await;
    post.assert_aws_error(403, "IncompleteSignatureException");
    let delete = request(running.addr, "DELETE", &path, &[], b"").await;
    delete.assert_aws_error(403, "MissingAuthenticationTokenException");

    // A signed call works, and it is the first message the client gets.
    let post = request(running.addr, "POST", &path, &[SIGNED], b"signed").await;
    assert_eq!(post.status, 200, "{}", post.text());
    assert_eq!(next_text(&mut client).await, "signed");
    running.stop().await;
}

#[tokio::test]
async fn oversized_messages_close_and_connections_can_be_deleted() {
    let dir = Scratch::new();
    let log = dir.join("events");
    let running = start(&log).await;

    // PostToConnection over 128 KB is refused; DeleteConnection closes the client.
    let mut client = connect(running.addr, "/dev", &[]).await.unwrap();
    let (id, _) = logged(&log, "$connect").await;
    let path = format!("/dev/@connections/{id}");
    let big = vec![b'x'; 128 * 1024 + 1];
    let post = request(running.addr, "POST", &path, &[SIGNED], &big).await;
    post.assert_aws_error(413, "PayloadTooLargeException");
    let deleted = request(running.addr, "DELETE", &path, &[SIGNED], b"").await;
    assert_eq!(deleted.status, 204, "{}", deleted.text());
    match bounded(client.next()).await {
        Some(Ok(Message::Close(_))) => {}
        other => panic!("expected a close, got {other:?}"),
    }
    logged(&log, "$disconnect").await;
    std::fs::remove_file(&log).unwrap();

    // A frame over 32 KB closes the connection with 1009, as AWS does.
    let mut client = connect(running.addr, "/dev", &[]).await.unwrap();
    client
        .send(Message::text("x".repeat(32 * 1024 + 1)))
        .await
        .unwrap();
    match bounded(client.next()).await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Size),
        other => panic!("expected a close with 1009, got {other:?}"),
    }
    let (_, code) = logged(&log, "$disconnect").await;
    assert_eq!(code, "1009");
    running.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused() {
    let dir = Scratch::new();
    let log = dir.join("events");
    let options = Options {
        limits: lambkin_emulator::Limits {
            max_connections: 2,
            ..lambkin_emulator::Limits::default()
        },
        ..Options::default()
    };
    let running = start_with(&log, options).await;
    let first = connect(running.addr, "/dev", &[]).await.unwrap();
    let mut second = connect(running.addr, "/dev", &[]).await.unwrap();
    match connect(running.addr, "/dev", &[]).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Once one closes (and $disconnect has run), a new one is let in.
    second.close(None).await.unwrap();
    logged(&log, "$disconnect").await;
    let third = connect(running.addr, "/dev", &[]).await;
    assert!(third.is_ok(), "{third:?}");
    drop(first);
    running.stop().await;
}

#[tokio::test]
async fn concurrent_handshakes_do_not_overshoot_the_limit() {
    let dir = Scratch::new();
    let log = dir.join("events");
    let options = Options {
        limits: lambkin_emulator::Limits {
            max_connections: 2,
            ..lambkin_emulator::Limits::default()
        },
        ..Options::default()
    };
    let running = start_with(&log, options).await;
    // All four upgrades are under way (in `$connect`) before any connection is registered:
    // the limit counts handshakes, so two get in and two are refused.
    let attempts =
        futures_util::future::join_all((0..4).map(|_| connect(running.addr, "/dev", &[]))).await;
    let mut open = Vec::new();
    let mut refused = 0;
    for attempt in attempts {
        match attempt {
            Ok(client) => open.push(client),
            Err(WsError::Http(response)) if response.status() == 429 => refused += 1,
            Err(other) => panic!("expected a connection or a 429, got {other:?}"),
        }
    }
    assert_eq!((open.len(), refused), (2, 2));
    drop(open);
    running.stop().await;
}

/// A fresh directory for one test's files, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!("lambkin-ws-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
