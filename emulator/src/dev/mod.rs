//! What `lambkin watch` and `lambkin build` drive around the emulator: the Cargo workspace and
//! its builds, the project's configuration turned into functions and routes, hot reload, and
//! packaging for Lambda.

pub mod cargo;
#[cfg(feature = "reload")]
pub mod hot_reload;
#[cfg(feature = "package")]
pub mod package;
#[cfg(feature = "cli")]
pub mod plan;
#[cfg(feature = "reload")]
pub mod watch;
