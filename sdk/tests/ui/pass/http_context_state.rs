//! Accepted: the lambda_http form with state and Context. The generated `main` sits in the module (compiled, type-checked);
//! the handler stays an ordinary fn the rest of the crate can call.

mod function {
    use lambkin::http::{Body, Request, Response};

    pub async fn setup() -> Result<&'static str, lambkin::Error> {
        Ok("v1")
    }

    #[lambkin::handler(init = setup)]
    pub async fn handle(version: &&'static str, _request: Request, ctx: lambkin::Context) -> Result<Response<Body>, lambkin::Error> {
        Ok(Response::builder().header("x-version", *version).body(Body::from(ctx.request_id))?)
    }
}

fn main() {
    let _ = function::handle;
}
