//! `lambkin`: serve a workspace's Lambda functions locally, the way AWS Lambda runs them.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
