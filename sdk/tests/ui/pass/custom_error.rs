//! Accepted: a custom error type with its own IntoDiagnostic. The generated `main` sits in the module (compiled, type-checked);
//! the handler stays an ordinary fn the rest of the crate can call.

mod function {
    pub struct Rejected(pub &'static str);

    impl lambkin::IntoDiagnostic for Rejected {
        fn into_diagnostic(self) -> lambkin::Diagnostic {
            lambkin::Diagnostic { error_type: "Rejected".into(), error_message: self.0.into() }
        }
    }

    #[lambkin::handler]
    pub async fn handle(event: serde_json::Value) -> Result<(), Rejected> {
        if event.is_null() { Err(Rejected("empty")) } else { Ok(()) }
    }
}

fn main() {
    let _ = function::handle;
}
