//! Accepted: a sync fn(event, Context) with a wildcard pattern. The generated `main` sits in the module (compiled, type-checked);
//! the handler stays an ordinary fn the rest of the crate can call.

mod function {
    #[lambkin::handler]
    pub fn handle(event: Vec<String>, _: lambkin::Context) -> Result<usize, lambkin::Error> {
        Ok(event.len())
    }
}

fn main() {
    let _ = function::handle;
}
