//! Accepted: state from a sync init with its own error type. The generated `main` sits in the module (compiled, type-checked);
//! the handler stays an ordinary fn the rest of the crate can call.

mod function {
    pub fn setup() -> Result<String, std::env::VarError> {
        std::env::var("GREETING")
    }

    #[lambkin::handler(init = self::setup)]
    pub fn handle(greeting: &String, name: String) -> Result<String, lambkin::Error> {
        Ok(format!("{greeting}, {name}"))
    }
}

fn main() {
    let _ = function::handle;
}
