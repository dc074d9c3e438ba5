//! The guard, over real HTTP to a real emulator: every listener answers only allowed `Host`s
//! (DNS rebinding), the Invoke API, the management API and `/_lambkin` refuse cross-site browser
//! requests, and the management API takes only SigV4-signed requests.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::net::SocketAddr;

use common::{Reply, Running, SIGNED, bounded, fixture, request};
use lambkin_emulator::{Emulator, FunctionConfig, Options};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const EVIL: (&str, &str) = ("Host", "evil.example");

/// The invoke path of `function`.
fn invocations(function: &str) -> String {
    format!("/2015-03-31/functions/{function}/invocations")
}

/// Asserts API Gateway's refusal: 403 and a `{"message": …}` body naming the flag.
fn assert_gateway_refusal(reply: &Reply) {
    assert_eq!(reply.status, 403, "{}", reply.text());
    let message = reply.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("--allow-host"), "{message}");
}

/// Asserts the AWS-shaped refusal of `Host: evil.example`, naming the flag.
fn assert_host_refusal(reply: &Reply) {
    let message = reply.assert_aws_error(403, "AccessDeniedException");
    assert!(
        message.contains("Host \"evil.example\"") && message.contains("--allow-host"),
        "{message}"
    );
}

/// An emulator serving the fixture's `echo` function, answering `dev.example.test` too.
async fn start(functions: Vec<FunctionConfig>) -> (Emulator, Running) {
    let options = Options {
        allow_hosts: vec!["dev.example.test".to_owned()],
        ..Options::default()
    };
    let emulator = Emulator::with_options(functions, options).unwrap();
    (emulator.clone(), Running::serve(emulator).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_hosts_are_refused_on_every_listener() {
    let (emulator, running) = start(vec![fixture("echo", "echo")]).await;
    let addr = running.addr;

    // The front: Invoke, management (signed), status page, code download: AWS's shape.
    let invoke = invocations("echo");
    assert_host_refusal(&request(addr, "POST", &invoke, &[EVIL], b"{}").await);
    let functions = "/2015-03-31/functions";
    assert_host_refusal(&request(addr, "GET", functions, &[EVIL, SIGNED], b"").await);
    assert_host_refusal(&request(addr, "GET", "/_lambkin", &[EVIL], b"").await);
    let code = format!("/_lambkin/code/echo/{}", uuid::Uuid::nil());
    assert_host_refusal(&request(addr, "GET", &code, &[EVIL], b"").await);
    // With a port, and as the target of an absolute-form request line.
    let reply = request(
        addr,
        "GET",
        "/_lambkin",
        &[("Host", "evil.example:9000")],
        b"",
    )
    .await;
    reply.assert_aws_error(403, "AccessDeniedException");
    let absolute = "http://evil.example/_lambkin";
    let reply = request(addr, "GET", absolute, &[("Host", "localhost")], b"").await;
    reply.assert_aws_error(403, "AccessDeniedException");
    // The API Gateway front: API Gateway's shape, and the function did not run.
    assert_gateway_refusal(&request(addr, "GET", "/anything", &[EVIL], b"").await);

    // A function URL, on its own listener.
    let url = emulator
        .serve_function_url("echo", "127.0.0.1".parse().unwrap(), None)
        .await
        .unwrap()
        .unwrap();
    let url: SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    assert_gateway_refusal(&request(url, "GET", "/x", &[EVIL], b"").await);
    let reply = request(url, "GET", "/x", &[("Host", "localhost")], b"").await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    // An instance's Runtime API: loopback names only, whatever the front allows.
    let api = running.invoke("echo", &[], b"{}").await.runtime_api();
    let next = "/2018-06-01/runtime/invocation/next";
    for host in ["evil.example", "dev.example.test"] {
        let reply = request(api, "GET", next, &[("Host", host)], b"").await;
        assert_eq!(reply.status, 403, "{}", reply.text());
        assert_eq!(reply.json()["errorType"], "Forbidden");
    }
    // A loopback name passes the guard (to the Runtime API's own 404).
    let reply = request(api, "GET", "/nope", &[("Host", "localhost")], b"").await;
    assert_eq!(reply.status, 404, "{}", reply.text());
    // The refused polls took nothing: the instance still serves.
    let reply = running.invoke("echo", &[], b"{}").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_names_the_listen_address_and_added_names_pass() {
    let log = std::env::temp_dir().join(format!("lambkin-guard-hosts-{}", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let mut echo = fixture("echo", "echo");
    echo.env
        .insert("FIXTURE_LOG".into(), log.to_str().unwrap().into());
    let (_emulator, running) = start(vec![echo]).await;
    let addr = running.addr;
    let port = addr.port();
    let allowed = [
        format!("localhost:{port}"),
        "LOCALHOST".to_owned(),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "foo.localhost:1234".to_owned(),
        "dev.example.test".to_owned(),
        "dev.example.test.:8080".to_owned(),
    ];
    for host in &allowed {
        let reply = request(addr, "POST", &invocations("echo"), &[("Host", host)], b"{}").await;
        assert_eq!(reply.status, 200, "{host}: {}", reply.text());
    }
    for host in [
        "127.0.0.2",
        "[::2]",
        "dev.example.test.evil",
        "x.dev.example.test",
    ] {
        let reply = request(addr, "POST", &invocations("echo"), &[("Host", host)], b"{}").await;
        reply.assert_aws_error(403, "AccessDeniedException");
    }
    // Each allowed request ran the function once; the refused ones did not run it.
    let runs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(runs.lines().count(), allowed.len(), "{runs}");

    // HTTP/1.0 without a Host: no browser sends that, and it cannot be a rebinding attack.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /_lambkin HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    bounded(stream.read_to_end(&mut answer)).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    running.stop().await;
    let _ = std::fs::remove_file(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_names_to_allow_are_refused() {
    for name in ["http://dev.test", "dev.test:9000", "", "a/b", "*."] {
        let options = Options {
            allow_hosts: vec!["dev.test".to_owned(), name.to_owned()],
            ..Options::default()
        };
        let error = Emulator::with_options(vec![fixture("echo", "echo")], options).unwrap_err();
        assert!(
            error.to_string().contains("without scheme or port"),
            "{error}"
        );
    }
}

#[cfg(feature = "manage")]
mod manage {
    use super::*;
    use base64::Engine;
    use serde_json::json;
    use std::path::{Path, PathBuf};

    /// A marker file path unique to this test process and `name`.
    fn marker(name: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("lambkin-guard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        path
    }

    /// A CreateFunction body for `name` whose `bootstrap` creates `marker` when it runs.
    fn create_body(name: &str, marker: &Path) -> serde_json::Value {
        let bootstrap = format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display());
        let zip = common::zip_of(&[("bootstrap", 0o755, bootstrap.as_bytes())]);
        json!({
            "FunctionName": name,
            "Runtime": "provided.al2023",
            "Role": "arn:aws:iam::123456789012:role/lambda-exec",
            "Code": { "ZipFile": base64::engine::general_purpose::STANDARD.encode(zip) },
        })
    }

    /// The body of an HTML form with `enctype="text/plain"` carrying `json`: one field whose
    /// name is the JSON up to a last string value and whose value closes it (`name=value`).
    fn as_text_plain_form(json: &serde_json::Value) -> String {
        let mut text = json.to_string();
        assert_eq!(text.pop(), Some('}'));
        let name = format!("{text},\"padding\":\"");
        let value = "\"}";
        let body = format!("{name}={value}\r\n");
        // What the form sends is still JSON the API accepts.
        let parsed: serde_json::Value = serde_json::from_str(body.trim_end()).unwrap();
        assert_eq!(parsed["padding"], "=");
        body
    }

    /// The names ListFunctions answers, signed as the AWS CLI would sign it.
    async fn listed(addr: SocketAddr) -> Vec<String> {
        let reply = request(addr, "GET", "/2015-03-31/functions", &[SIGNED], b"").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["Functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["FunctionName"].as_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cross_site_requests_create_and_run_nothing() {
        let log = marker("invocations");
        let mut echo = fixture("echo", "echo");
        echo.env
            .insert("FIXTURE_LOG".into(), log.to_str().unwrap().into());
        let (_emulator, running) = start(vec![echo]).await;
        let addr = running.addr;
        let functions = "/2015-03-31/functions";
        let pwned = marker("pwned");
        let text_plain = ("Content-Type", "text/plain");
        let form_plain = ("Content-Type", "text/plain;charset=UTF-8");

        // What a `no-cors` fetch sends: a simple POST with the page's Origin.
        let fetch = create_body("pwned", &pwned).to_string();
        let from_evil = ("Origin", "http://evil.example");
        for headers in [
            &[text_plain, from_evil][..],
            &[text_plain, from_evil, SIGNED],
            &[text_plain, ("Origin", "null")],
            &[text_plain, ("Sec-Fetch-Site", "cross-site")],
            &[text_plain, ("Sec-Fetch-Site", "same-site"), SIGNED],
        ] {
            let reply = request(addr, "POST", functions, headers, fetch.as_bytes()).await;
            let message = reply.assert_aws_error(403, "AccessDeniedException");
            assert!(message.contains("refused"), "{message}");
        }
        // What an auto-submitted `enctype=text/plain` form sends.
        let form = as_text_plain_form(&create_body("pwned-form", &pwned));
        let attacker_page = ("Origin", "http://127.0.0.2:8000");
        let navigation = ("Sec-Fetch-Site", "cross-site");
        for headers in [&[form_plain, attacker_page][..], &[form_plain, navigation]] {
            let reply = request(addr, "POST", functions, headers, form.as_bytes()).await;
            reply.assert_aws_error(403, "AccessDeniedException");
        }
        // And the invocations that would follow, through Invoke and InvokeWithResponseStream.
        for name in ["pwned", "pwned-form", "echo"] {
            let streamed = format!("/2021-11-15/functions/{name}/response-streaming-invocations");
            for path in [invocations(name), streamed] {
                for headers in [
                    &[text_plain, from_evil][..],
                    &[form_plain, navigation],
                    &[EVIL],
                ] {
                    let reply = request(addr, "POST", &path, headers, b"{}").await;
                    reply.assert_aws_error(403, "AccessDeniedException");
                }
            }
        }
        assert_eq!(listed(addr).await, ["echo"]);
        assert!(!pwned.exists(), "a refused function's bootstrap ran");
        assert!(!log.exists(), "a refused invocation ran the function");

        // Controls: the same requests from this emulator's own pages, or from a client that is
        // not a browser, do create and run (so the checks above can fail).
        let own_page = [
            form_plain,
            ("Origin", "http://localhost"),
            ("Sec-Fetch-Site", "same-origin"),
        ];
        let reply = request(addr, "POST", &invocations("echo"), &own_page, b"{}").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);
        let reply = request(
            addr,
            "POST",
            functions,
            &[form_plain, SIGNED],
            form.as_bytes(),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        assert_eq!(listed(addr).await, ["echo", "pwned-form"]);
        // Whatever it answers (the bootstrap exits), the bootstrap ran.
        running.invoke("pwned-form", &[], b"{}").await;
        assert!(pwned.exists(), "the created function's bootstrap never ran");
        running.stop().await;
        let _ = std::fs::remove_file(&pwned);
        let _ = std::fs::remove_file(&log);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_management_api_takes_only_signed_requests() {
        let (_emulator, running) = start(vec![fixture("echo", "echo")]).await;
        let addr = running.addr;
        let functions = "/2015-03-31/functions";

        let reply = request(addr, "GET", functions, &[], b"").await;
        let message = reply.assert_aws_error(403, "MissingAuthenticationTokenException");
        assert!(
            message.starts_with("Missing Authentication Token"),
            "{message}"
        );
        let (_, signature) = SIGNED;
        for malformed in [
            "Bearer abc".to_owned(),
            "AWS4-HMAC-SHA256 Credential=x".to_owned(),
            signature.replace("/lambda/", "/s3/"),
            signature.replace("Signature=5d", "Signature=zz"),
        ] {
            let headers = [("Authorization", malformed.as_str())];
            let reply = request(addr, "GET", functions, &headers, b"").await;
            reply.assert_aws_error(403, "IncompleteSignatureException");
        }
        let unsigned = [
            ("GET", format!("{functions}/echo")),
            ("GET", format!("{functions}/echo/configuration")),
            ("DELETE", format!("{functions}/echo")),
            ("GET", "/2021-10-31/functions/echo/url".to_owned()),
            ("PUT", "/2017-10-31/functions/echo/concurrency".to_owned()),
            (
                "DELETE",
                "/2017-10-31/functions/echo/concurrency".to_owned(),
            ),
            ("GET", "/2019-09-30/functions/echo/concurrency".to_owned()),
            ("GET", "/2016-08-19/account-settings".to_owned()),
            (
                "PUT",
                "/2019-09-25/functions/echo/event-invoke-config".to_owned(),
            ),
            (
                "DELETE",
                "/2019-09-25/functions/echo/event-invoke-config".to_owned(),
            ),
        ];
        for (method, path) in &unsigned {
            let reply = request(addr, method, path, &[], b"").await;
            reply.assert_aws_error(403, "MissingAuthenticationTokenException");
        }
        assert_eq!(
            listed(addr).await,
            ["echo"],
            "the unsigned DELETE did nothing"
        );

        // The Invoke API and the status page need no signature (curl, `lambkin invoke`).
        let reply = running.invoke("echo", &[], b"{}").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let reply = request(addr, "GET", "/_lambkin", &[], b"").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        running.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn code_location_is_the_listen_address_whatever_the_host() {
        let (_emulator, running) = start(vec![fixture("echo", "echo")]).await;
        let addr = running.addr;
        let body = create_body("zipped", &marker("zipped")).to_string();
        let reply = request(
            addr,
            "POST",
            "/2015-03-31/functions",
            &[SIGNED],
            body.as_bytes(),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.text());

        let port = addr.port();
        let asked_as = format!("localhost:{port}");
        let headers = [SIGNED, ("Host", asked_as.as_str())];
        let reply = request(addr, "GET", "/2015-03-31/functions/zipped", &headers, b"").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let location = reply.json()["Code"]["Location"]
            .as_str()
            .unwrap()
            .to_owned();
        let prefix = format!("http://{addr}/_lambkin/code/zipped/");
        assert!(location.starts_with(&prefix), "{location}");
        let path = location.trim_start_matches(&format!("http://{addr}"));

        // The download: allowed hosts only, no cross-site browser request, no signature needed.
        let reply = request(addr, "GET", path, &[], b"").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("content-type"), Some("application/zip"));
        let zip = serde_json::from_str::<serde_json::Value>(&body).unwrap()["Code"]["ZipFile"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(&reply.body),
            zip
        );
        assert_host_refusal(&request(addr, "GET", path, &[EVIL], b"").await);
        let reply = request(addr, "GET", path, &[("Sec-Fetch-Site", "cross-site")], b"").await;
        reply.assert_aws_error(403, "AccessDeniedException");
        running.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_answers_the_same_hosts() {
    use lambkin_emulator::local::InProcess;
    let config = FunctionConfig::new("local", "/nonexistent");
    let local = InProcess::bind(config, "127.0.0.1:0".parse().unwrap()).unwrap();
    local.allow_host("dev.example.test").unwrap();
    let (front, api) = (local.front(), local.runtime_api());
    let server = tokio::spawn(local.serve());

    assert_host_refusal(&request(front, "GET", "/_lambkin", &[EVIL], b"").await);
    assert_gateway_refusal(&request(front, "GET", "/anything", &[EVIL], b"").await);
    let dev = ("Host", "dev.example.test");
    let reply = request(front, "GET", "/_lambkin", &[dev], b"").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = request(
        front,
        "GET",
        "/_lambkin",
        &[("Origin", "http://evil.example")],
        b"",
    )
    .await;
    reply.assert_aws_error(403, "AccessDeniedException");
    let reply = request(api, "GET", "/nope", &[EVIL], b"").await;
    assert_eq!(reply.status, 403, "{}", reply.text());
    let reply = request(api, "GET", "/nope", &[], b"").await;
    assert_eq!(reply.status, 404, "{}", reply.text());
    server.abort();
}
