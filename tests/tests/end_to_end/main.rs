//! Lambkin end to end: the `lambkin` binary, function projects built by cargo, real clients
//! (the AWS CLI, AWS's Python runtime client, headless Chromium). One module per subject, linked
//! into one test binary; run one subject with `cargo test -p lambkin-tests --test end_to_end
//! readme::`.

mod api_gateway;
mod authorizers;
mod bootstrap_and_cli;
mod browser;
mod build;
mod cargo_lambda;
mod dashboard;
mod deploy;
mod hosts;
mod hot_reload;
mod lambda_mode;
mod layers;
mod loopback;
mod readme;
mod runtimes;
mod sdk;
mod websocket;
mod workflows;
