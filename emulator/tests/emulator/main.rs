//! The emulator's integration tests, one module per subject, linked into one test binary (one
//! link instead of one per file: most of a rebuild after an emulator change). Run one subject
//! with `cargo test -p lambkin-emulator --test emulator sqs::`.
//!
//! `fault.rs` stays a binary of its own: it counts this process's heap, descriptors and
//! children, which other tests running beside it would change.

// The shared helpers panic on what a test did not expect: clippy.toml's allow-unwrap-in-tests
// covers only #[test] fns.
#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod awscli;
mod bad_input;
mod code_storage;
mod concurrency;
mod dashboard;
mod events;
mod extensions;
mod fuzz_regressions;
mod guard;
mod invoke;
mod invoke_stream;
mod limits;
mod managed_concurrency;
mod processes;
mod report;
mod runtime_api;
mod schedules;
mod shutdown;
/// Against moto's server; `cargo test --workspace` enables `sqs` (the tests crate asks for it).
#[cfg(feature = "sqs")]
mod sqs;
mod stepfunctions;
mod streaming;
mod telemetry;
mod websocket;
