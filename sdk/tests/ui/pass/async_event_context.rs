//! Accepted: async fn(event, Context). The generated `main` sits in the module (compiled, type-checked);
//! the handler stays an ordinary fn the rest of the crate can call.

mod function {
    use lambkin::events::apigw::ApiGatewayV2httpRequest;

    #[lambkin::handler]
    pub async fn handle(event: ApiGatewayV2httpRequest, ctx: lambkin::Context) -> Result<String, lambkin::Error> {
        Ok(format!("{} {}", ctx.request_id, event.raw_path.unwrap_or_default()))
    }
}

fn main() {
    let _ = function::handle;
}
