//! Fixture: the streaming HTTP form (`#[lambkin::handler(stream)]`), answering 201 with a header
//! and a body written in two pieces.

use lambkin::http::{Request, Response};
use lambkin::stream::{Body, channel};

#[lambkin::handler(stream)]
async fn stream_http(_request: Request) -> Result<Response<Body>, lambkin::Error> {
    let (mut tx, body) = channel();
    tokio::spawn(async move {
        let _ = tx.send_data("first\n".into()).await;
        let _ = tx.send_data("second\n".into()).await;
    });
    Ok(Response::builder()
        .status(201)
        .header("x-streamed", "yes")
        .body(body)?)
}
