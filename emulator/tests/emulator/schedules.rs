//! Schedules invoking real function processes: an EventBridge rule's `rate(1 minute)` and a
//! Scheduler cron in a time zone, fired by a manual clock (no minute-long waits); what the
//! function gets, field by field; and what `GET /_lambkin` says about each schedule. The
//! `lambkin` binary: `schedule list`, `--schedules off`, `invoke --event schedule`, and an
//! invalid cron expression reported with its file, line and field.

// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use common::{Running, Scratch, bounded, events, fixture, fixture_path, request, wait_for_events};
use lambkin_emulator::sources::schedule::{Schedule, Service};
use lambkin_emulator::{Clock, Emulator, Options};
use serde_json::{Value, json};

/// `GET /_lambkin`'s sources, by name.
async fn sources(emulator: &Running) -> Vec<Value> {
    let reply = request(emulator.addr, "GET", "/_lambkin", &[], b"").await;
    assert_eq!(reply.status, 200);
    reply.json()["sources"].as_array().unwrap().clone()
}

fn source<'s>(sources: &'s [Value], name: &str) -> &'s Value {
    sources.iter().find(|s| s["name"] == name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_fire_on_the_clock_and_the_function_gets_what_aws_sends() {
    let scratch = Scratch::new("schedules");
    let log = scratch.path("events.jsonl");
    let mut function = fixture("tick", "echo");
    function
        .env
        .insert("FIXTURE_EVENTS".into(), log.display().to_string());
    let minute = Schedule::new(
        Service::Rule,
        "every-minute",
        "tick",
        "rate(1 minute)",
        None,
    )
    .unwrap();
    let mut paris = Schedule::new(
        Service::Scheduler,
        "paris-morning",
        "tick",
        "cron(0 9 * * ? *)",
        Some("Europe/Paris"),
    )
    .unwrap();
    paris.input = Some(
        r#"{"job": "report", "at": "<aws.scheduler.scheduled-time>", "by": "<aws.scheduler.schedule-arn>"}"#
            .into(),
    );
    let mut off = Schedule::new(
        Service::Rule,
        "switched-off",
        "tick",
        "rate(1 minute)",
        None,
    )
    .unwrap();
    off.enabled = false;
    let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01T00:00Z
    let clock = Clock::manual(start);
    let options = Options {
        schedules: vec![minute, paris, off],
        clock: clock.clone(),
        ..Options::default()
    };
    let emulator = Emulator::with_options([function], options).unwrap();
    let emulator = Running::serve(emulator).await;

    // Listed before anything fires (the front answers once they are started).
    let listed = sources(&emulator).await;
    assert_eq!(listed.len(), 3);
    let rule = source(&listed, "every-minute");
    assert_eq!(rule["kind"], "schedule");
    assert_eq!(rule["function"], "tick");
    assert_eq!(rule["state"], "enabled");
    assert_eq!(rule["nextFire"], "2026-01-01T00:01:00.000Z");
    assert_eq!(rule["fired"], 0);
    // 9:00 in Paris is 8:00 UTC in winter.
    let scheduler = source(&listed, "paris-morning");
    assert_eq!(scheduler["kind"], "scheduler");
    assert_eq!(scheduler["nextFire"], "2026-01-01T08:00:00.000Z");
    let disabled = source(&listed, "switched-off");
    assert_eq!(disabled["state"], "disabled");
    assert!(disabled.get("nextFire").is_none());
    assert!(events(&log).is_empty());

    // One minute: the rule fires once, with the Scheduled Event.
    clock.advance(Duration::from_secs(60));
    let got = wait_for_events(&log, 1).await;
    assert_eq!(got.len(), 1);
    let event: EventBridgeEvent = serde_json::from_value(got[0].clone()).unwrap();
    assert_eq!(event.detail_type, "Scheduled Event");
    assert_eq!(event.source, "aws.events");
    assert_eq!(event.version.as_deref(), Some("0"));
    assert_eq!(event.account.as_deref(), Some(lambkin_emulator::ACCOUNT_ID));
    assert_eq!(event.region.as_deref(), Some("us-east-1"));
    assert_eq!(
        event.time.unwrap().to_rfc3339(),
        "2026-01-01T00:01:00+00:00"
    );
    assert_eq!(
        event.resources.unwrap(),
        [format!(
            "arn:aws:events:us-east-1:{}:rule/every-minute",
            lambkin_emulator::ACCOUNT_ID
        )]
    );
    assert_eq!(got[0]["detail"], json!({}));
    assert!(uuid_like(got[0]["id"].as_str().unwrap()));

    // Another minute, another event of its own.
    clock.advance(Duration::from_secs(60));
    let got = wait_for_events(&log, 2).await;
    assert_eq!(got[1]["time"], "2026-01-01T00:02:00Z");
    assert_ne!(got[0]["id"], got[1]["id"]);

    // To 8:00: the Scheduler schedule fires with its input; the rule, late, fires once (not
    // once per minute missed) and goes on from now.
    clock.advance(Duration::from_secs(7 * 3600 + 58 * 60));
    let got = wait_for_events(&log, 4).await;
    let report = got.iter().find(|e| e["job"] == "report").unwrap();
    assert_eq!(
        report,
        &json!({
            "job": "report",
            "at": "2026-01-01T08:00:00Z",
            "by": format!(
                "arn:aws:scheduler:us-east-1:{}:schedule/default/paris-morning",
                lambkin_emulator::ACCOUNT_ID
            )
        })
    );
    let listed = sources(&emulator).await;
    let rule = source(&listed, "every-minute");
    assert_eq!(rule["fired"], 3);
    assert_eq!(rule["nextFire"], "2026-01-01T08:01:00.000Z");
    let scheduler = source(&listed, "paris-morning");
    assert_eq!(scheduler["fired"], 1);
    assert_eq!(scheduler["nextFire"], "2026-01-02T08:00:00.000Z");
    assert_eq!(source(&listed, "switched-off")["fired"], 0);
    // Exactly those four: the disabled rule never fired.
    assert_eq!(events(&log).len(), 4);
    assert!(
        !events(&log)
            .iter()
            .any(|e| e["resources"].to_string().contains("switched-off"))
    );
    emulator.stop().await;
}

#[test]
fn a_schedule_of_an_unknown_function_is_refused() {
    let schedule = Schedule::new(Service::Rule, "r", "nobody", "rate(1 minute)", None).unwrap();
    let options = Options {
        schedules: vec![schedule],
        ..Options::default()
    };
    let error = Emulator::with_options([fixture("tick", "echo")], options).unwrap_err();
    assert!(error.to_string().contains("nobody"), "{error}");
}

fn uuid_like(text: &str) -> bool {
    text.len() == 36 && text.chars().filter(|c| *c == '-').count() == 4
}

/// A SAM project in `scratch` whose function `Tick` (the fixture, recording its events in
/// `events.jsonl`) has `events` (YAML, indented for `Events:`).
fn sam_project(scratch: &Scratch, events: &str) {
    let code = scratch.path("tick");
    std::fs::create_dir_all(&code).unwrap();
    let bootstrap = code.join("bootstrap");
    if !bootstrap.exists() {
        std::os::unix::fs::symlink(fixture_path(), &bootstrap).unwrap();
    }
    let log = scratch.path("events.jsonl");
    let template = format!(
        "AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Tick:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: tick
      Handler: bootstrap
      Runtime: provided.al2023
      Environment:
        Variables:
          FIXTURE: echo
          FIXTURE_EVENTS: {}
      Events:
{events}",
        log.display()
    );
    std::fs::write(scratch.path("template.yaml"), template).unwrap();
}

/// Runs `lambkin args` in `dir`; its status, stdout and stderr.
fn lambkin(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lambkin"))
        .args(args)
        .current_dir(dir)
        .env_remove("LAMBKIN_PORT")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn schedule_list_shows_the_next_fire_times() {
    let scratch = Scratch::new("schedule-list");
    sam_project(
        &scratch,
        "        Centennial:
          Type: Schedule
          Properties:
            Schedule: cron(0 12 1 1 ? 2100,2101)
            Name: centennial
        Weekly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(30 9 ? * MON *)
            ScheduleExpressionTimezone: Asia/Tokyo
            State: DISABLED
",
    );
    // And a state machine's schedule, listed as such.
    let machine = "  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition: {StartAt: P, States: {P: {Type: Pass, End: true}}}
      Events:
        Hourly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 hour)
";
    let template = scratch.path("template.yaml");
    let text = std::fs::read_to_string(&template).unwrap();
    std::fs::write(&template, text + machine).unwrap();
    let (ok, out, err) = lambkin(&scratch.0, &["schedule", "list", "--count", "5"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("centennial") && lines[0].contains("function Tick"),
        "{out}"
    );
    assert!(lines[0].contains("cron(0 12 1 1 ? 2100,2101) (UTC, enabled)"));
    // Two fire times left, whatever --count asks.
    assert_eq!(lines[1].trim(), "2100-01-01T12:00:00Z");
    assert_eq!(lines[2].trim(), "2101-01-01T12:00:00Z");
    // The ScheduleV2 event's default name is SAM's logical id; 9:30 in Tokyo is 0:30 UTC on
    // Mondays.
    assert!(lines[3].starts_with("TickWeekly"), "{out}");
    assert!(lines[3].contains("(Asia/Tokyo, disabled)"));
    assert_eq!(lines.len(), 4 + 5 + 1 + 5, "{out}");
    for line in &lines[4..9] {
        assert!(line.trim().ends_with("T00:30:00Z"), "{line}");
    }
    assert!(
        lines[9].starts_with("FlowHourly") && lines[9].contains("state machine Flow"),
        "{out}"
    );
}

#[test]
fn an_invalid_cron_expression_names_the_file_line_and_field() {
    let scratch = Scratch::new("schedule-bad");
    sam_project(
        &scratch,
        "        Nightly:
          Type: Schedule
          Properties:
            Schedule: cron(0 25 * * ? *)
",
    );
    let (ok, _, err) = lambkin(&scratch.0, &["schedule", "list"]);
    assert!(!ok);
    assert!(err.contains("template.yaml"), "{err}");
    // The Schedule property is on line 18 of the template.
    assert!(err.contains("template.yaml:18:"), "{err}");
    assert!(
        err.contains("hours field: `25` is not a value from 0 to 23"),
        "{err}"
    );
    assert!(err.contains("Events.Nightly.Properties.Schedule"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_off_lists_them_and_invoke_fires_one_now() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let scratch = Scratch::new("schedules-off");
    sam_project(
        &scratch,
        "        Every:
          Type: Schedule
          Properties:
            Schedule: rate(1 minute)
",
    );
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lambkin"))
        .args(["watch", "--port", "0", "--no-reload", "--schedules", "off"])
        .current_dir(&scratch.0)
        .env_remove("LAMBKIN_PORT")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let addr: std::net::SocketAddr = bounded(async {
        loop {
            let line = lines.next_line().await.unwrap().expect("lambkin exited");
            printed.push(line.clone());
            if let Some(rest) = line.strip_prefix("lambkin: serving on http://") {
                return rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        }
    })
    .await;
    // The schedule is announced, off.
    let announced = bounded(async {
        loop {
            let line = lines.next_line().await.unwrap().expect("lambkin exited");
            if line.contains("schedule") {
                return line;
            }
        }
    })
    .await;
    assert!(
        announced.contains("TickEvery rate(1 minute), off"),
        "{announced}"
    );
    let reply = request(addr, "GET", "/_lambkin", &[], b"").await;
    let listed = reply.json()["sources"].clone();
    assert_eq!(listed[0]["name"], "TickEvery");
    assert_eq!(listed[0]["state"], "off");
    assert!(listed[0].get("nextFire").is_none(), "{listed}");

    // `lambkin invoke --event schedule` sends the function's own rule's event, now.
    let before = SystemTime::now();
    let port = addr.port().to_string();
    let (ok, _, err) = lambkin(
        &scratch.0,
        &["invoke", "Tick", "--event", "schedule", "--port", &port],
    );
    assert!(ok, "{err}");
    let got = events(&scratch.path("events.jsonl"));
    assert_eq!(got.len(), 1);
    let event: EventBridgeEvent = serde_json::from_value(got[0].clone()).unwrap();
    assert_eq!(event.detail_type, "Scheduled Event");
    assert_eq!(
        event.resources.unwrap(),
        [format!(
            "arn:aws:events:us-east-1:{}:rule/TickEvery",
            lambkin_emulator::ACCOUNT_ID
        )]
    );
    let fired = SystemTime::from(event.time.unwrap());
    assert!(fired + Duration::from_secs(1) >= before, "{fired:?}");
    let (ok, _, err) = lambkin(
        &scratch.0,
        &[
            "invoke",
            "Tick",
            "--event",
            "schedule",
            "--schedule",
            "Nope",
            "--port",
            &port,
        ],
    );
    assert!(!ok);
    assert!(err.contains("has no schedule `Nope`"), "{err}");

    let pid = i32::try_from(child.id().unwrap()).unwrap();
    // SAFETY: kill(2) of our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    assert!(bounded(child.wait()).await.unwrap().success());
}
