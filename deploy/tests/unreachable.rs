//! `deploy` against an endpoint where nothing listens.

use std::net::TcpListener;

use lambkin_deploy::{Call, Deployment, Target, deploy};

/// A loopback port nothing listens on: bound, then released.
fn unused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

#[tokio::test]
async fn dry_run_against_a_closed_port_says_the_endpoint_is_not_running() {
    let url = format!("http://127.0.0.1:{}", unused_port());
    let target = Target {
        endpoint_url: Some(url.clone()),
        ..Target::default()
    };
    let deployment = Deployment::new("hello", b"PK\x05\x06".to_vec());
    let mut calls = Vec::new();
    let error = deploy(&deployment, &target, true, &mut |call: &Call| {
        calls.push(call.to_string())
    })
    .await
    .expect_err("nothing listens");

    assert_eq!(calls, ["GetFunction hello"]);
    assert_eq!(error.what(), "GetFunction hello");
    assert_eq!(error.code(), None);
    let hint = error.hint().expect("a hint");
    assert!(hint.contains("is the endpoint running?"), "{error}");
    assert!(hint.contains(&url), "{error}");
    assert!(error.to_string().contains(&url), "{error}");
}
