//! Accepted: a typed handler answering with a `StreamResponse` (with state and Context), and an
//! HTTP handler streaming its response's body with `#[lambkin::handler(stream)]`.

mod typed {
    use lambkin::stream::{Body, StreamResponse, channel};

    pub fn setup() -> Result<u32, lambkin::Error> {
        Ok(3)
    }

    #[lambkin::handler(init = setup)]
    pub async fn handle(times: &u32, event: String, ctx: lambkin::Context) -> Result<StreamResponse<Body>, lambkin::Error> {
        let (mut tx, body) = channel();
        let line = format!("{event} {}\n", ctx.request_id);
        let times = *times;
        tokio::spawn(async move {
            for _ in 0..times {
                let _ = tx.send_data(line.clone().into()).await;
            }
        });
        Ok(StreamResponse::from(body))
    }
}

mod http {
    use lambkin::http::{Request, Response};
    use lambkin::stream::{Body, channel};

    #[lambkin::handler(stream)]
    pub async fn handle(_request: Request) -> Result<Response<Body>, lambkin::Error> {
        let (mut tx, body) = channel();
        tokio::spawn(async move {
            let _ = tx.send_data("streamed".into()).await;
        });
        Ok(Response::builder().status(200).body(body)?)
    }
}

fn main() {
    let _ = typed::handle;
    let _ = http::handle;
}
