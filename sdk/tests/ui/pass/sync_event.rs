//! Accepted: a sync fn(event). The generated `main` sits in the module (compiled, type-checked);
//! the handler stays an ordinary fn the rest of the crate can call.

mod function {
    #[lambkin::handler]
    pub fn handle(n: u64) -> Result<u64, std::num::TryFromIntError> {
        Ok(u64::from(u32::try_from(n)?) * 2)
    }
}

fn main() {
    let _ = function::handle;
}
