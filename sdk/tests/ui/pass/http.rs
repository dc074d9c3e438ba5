//! Accepted: the lambda_http form. The generated `main` sits in the module (compiled, type-checked);
//! the handler stays an ordinary fn the rest of the crate can call.

mod function {
    use lambkin::http::{IntoResponse, Request, RequestExt};

    #[lambkin::handler]
    pub async fn handle(request: Request) -> Result<impl IntoResponse, lambkin::Error> {
        let name = request.query_string_parameters_ref().and_then(|q| q.first("name")).unwrap_or("world").to_owned();
        Ok(format!("hello {name}"))
    }
}

fn main() {
    let _ = function::handle;
}
