//! `lambkin workflow run`: start an execution of a running emulator's state machine, print
//! its history events as they happen (stderr) and its output (stdout).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

/// `lambkin workflow …`.
#[derive(Debug, Args)]
pub(super) struct WorkflowArgs {
    #[command(subcommand)]
    command: WorkflowCommand,
}

#[derive(Debug, Subcommand)]
enum WorkflowCommand {
    /// Start an execution and follow it to its end: its events on stderr, its output on stdout
    /// (exit code 1 if it does not succeed).
    Run(RunArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The state machine: its name or ARN.
    machine: String,
    /// The execution's input, as JSON.
    #[arg(long, default_value = "{}")]
    input: String,
    /// Port of the running emulator.
    #[arg(long, env = "LAMBKIN_PORT", default_value_t = 9000)]
    port: u16,
}

/// How often the history is read while the execution runs.
const POLL: Duration = Duration::from_millis(100);

/// Runs `lambkin workflow`.
pub(super) fn run(args: WorkflowArgs) -> anyhow::Result<()> {
    let WorkflowCommand::Run(args) = args.command;
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let succeeded = super::block_on(follow(addr, &args))??;
    if !succeeded {
        std::process::exit(1);
    }
    Ok(())
}

/// Starts the execution and prints its events until the last; whether it succeeded.
async fn follow(addr: SocketAddr, args: &RunArgs) -> anyhow::Result<bool> {
    let machine = if args.machine.starts_with("arn:") {
        args.machine.clone()
    } else {
        let listed = call(addr, "ListStateMachines", json!({})).await?;
        let found = listed["stateMachines"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["name"] == args.machine.as_str());
        match found.and_then(|m| m["stateMachineArn"].as_str()) {
            Some(arn) => arn.to_owned(),
            None => bail!(
                "no state machine `{}` (is it in the template?)",
                args.machine
            ),
        }
    };
    let started = call(
        addr,
        "StartExecution",
        json!({"stateMachineArn": machine, "input": args.input}),
    )
    .await?;
    let execution = started["executionArn"]
        .as_str()
        .context("StartExecution gave no executionArn")?
        .to_owned();
    eprintln!("execution {execution}");
    let mut seen = 0usize;
    loop {
        let page = call(
            addr,
            "GetExecutionHistory",
            json!({"executionArn": execution, "maxResults": 1000, "nextToken": seen.to_string()}),
        )
        .await?;
        for event in page["events"].as_array().into_iter().flatten() {
            seen += 1;
            let details = event.as_object().and_then(|e| {
                e.iter()
                    .find(|(k, _)| k.ends_with("EventDetails"))
                    .map(|(_, v)| v.to_string())
            });
            eprintln!(
                "{:>5} {:<28} {}",
                event["id"],
                event["type"].as_str().unwrap_or_default(),
                details.unwrap_or_default()
            );
            let details_of = |key: &str| &event[key];
            match event["type"].as_str() {
                Some("ExecutionSucceeded") => {
                    let output = details_of("executionSucceededEventDetails")["output"]
                        .as_str()
                        .unwrap_or("null")
                        .to_owned();
                    super::print_out(&output)?;
                    return Ok(true);
                }
                Some("ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted") => {
                    return Ok(false);
                }
                _ => {}
            }
        }
        if page.get("nextToken").is_none() {
            tokio::time::sleep(POLL).await;
        }
    }
}

/// One Step Functions call (signed in form: the emulator checks the form, not the keys).
async fn call(addr: SocketAddr, operation: &str, body: Value) -> anyhow::Result<Value> {
    use http_body_util::{BodyExt, Full};
    let request = http::Request::post("/")
        .header(http::header::HOST, addr.to_string())
        .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.0")
        .header("x-amz-target", format!("AWSStepFunctions.{operation}"))
        .header(
            http::header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=lambkin/20240101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=0000000000000000000000000000000000000000000000000000000000000000",
        )
        .body(Full::new(Bytes::from(body.to_string())))?;
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("is `lambkin watch` running on port {}?", addr.port()))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    // Ends once the response is read and `sender` dropped.
    tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if !status.is_success() {
        bail!(
            "{operation}: {} {}",
            answer["__type"].as_str().unwrap_or(status.as_str()),
            answer["message"].as_str().unwrap_or_default()
        );
    }
    Ok(answer)
}
