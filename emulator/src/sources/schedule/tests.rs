//! What functions get from schedules, and when.

use std::time::Duration;

use super::*;

fn at(text: &str) -> SystemTime {
    SystemTime::try_from(text.parse::<Timestamp>().unwrap()).unwrap()
}

#[test]
fn a_rule_sends_the_scheduled_event() {
    let rule = Schedule::new(
        Service::Rule,
        "nightly",
        "cleanup",
        "cron(0 3 * * ? *)",
        None,
    )
    .unwrap();
    let event = rule.event(at("2026-01-02T03:00:00Z"), "eu-west-1");
    assert_eq!(event["version"], "0");
    assert_eq!(event["detail-type"], "Scheduled Event");
    assert_eq!(event["source"], "aws.events");
    assert_eq!(event["account"], crate::ACCOUNT_ID);
    assert_eq!(event["time"], "2026-01-02T03:00:00Z");
    assert_eq!(event["region"], "eu-west-1");
    assert_eq!(
        event["resources"],
        json!([format!(
            "arn:aws:events:eu-west-1:{}:rule/nightly",
            crate::ACCOUNT_ID
        )])
    );
    assert_eq!(event["detail"], json!({}));
    assert!(uuid::Uuid::parse_str(event["id"].as_str().unwrap()).is_ok());
    // Each firing is an event of its own.
    assert_ne!(
        event["id"],
        rule.event(at("2026-01-02T03:00:00Z"), "eu-west-1")["id"]
    );
    // With an Input, the input replaces it.
    let with_input = Schedule {
        input: Some(r#"{"task": "cleanup"}"#.to_owned()),
        ..rule
    };
    assert_eq!(
        with_input.event(at("2026-01-02T03:00:00Z"), "eu-west-1"),
        json!({"task": "cleanup"})
    );
}

#[test]
fn a_scheduler_schedule_sends_its_input() {
    let schedule = Schedule::new(
        Service::Scheduler,
        "reminder",
        "notify",
        "cron(0 9 ? * MON *)",
        Some("Europe/Paris"),
    )
    .unwrap();
    assert_eq!(
        schedule.event(at("2026-01-05T08:00:00Z"), "us-east-1"),
        json!({})
    );
    let schedule = Schedule {
        input: Some(
            r#"{"arn": "<aws.scheduler.schedule-arn>", "time": "<aws.scheduler.scheduled-time>", "attempt": "<aws.scheduler.attempt-number>"}"#
                .to_owned(),
        ),
        ..schedule
    };
    assert_eq!(
        schedule.event(at("2026-01-05T08:00:00Z"), "us-east-1"),
        json!({
            "arn": format!("arn:aws:scheduler:us-east-1:{}:schedule/default/reminder", crate::ACCOUNT_ID),
            "time": "2026-01-05T08:00:00Z",
            "attempt": "1"
        })
    );
    // Its cron reads Paris time: 9:00 is 8:00 UTC in winter.
    assert_eq!(
        schedule.first_fire(at("2026-01-01T00:00:00Z")),
        Some(at("2026-01-05T08:00:00Z"))
    );
}

#[test]
fn first_fire_times() {
    let start = at("2026-01-01T00:00:30Z");
    let rule = Schedule::new(Service::Rule, "r", "f", "rate(1 minute)", None).unwrap();
    assert_eq!(
        rule.first_fire(start),
        Some(start + Duration::from_secs(60))
    );
    let scheduler = Schedule::new(Service::Scheduler, "s", "f", "rate(1 minute)", None).unwrap();
    assert_eq!(scheduler.first_fire(start), Some(start));
    assert_eq!(
        scheduler.next_after(start, start),
        Some(start + Duration::from_secs(60))
    );
    assert_eq!(
        scheduler.upcoming(start, 3),
        [0, 60, 120].map(|s| start + Duration::from_secs(s))
    );
    let once = Schedule::new(
        Service::Scheduler,
        "o",
        "f",
        "at(2025-06-01T00:00:00)",
        None,
    )
    .unwrap();
    assert_eq!(once.first_fire(start), None);
    assert!(once.upcoming(start, 3).is_empty());
    let later = Schedule::new(
        Service::Scheduler,
        "o",
        "f",
        "at(2026-06-01T00:00:00)",
        None,
    )
    .unwrap();
    assert_eq!(later.upcoming(start, 3), [at("2026-06-01T00:00:00Z")]);
}

#[test]
fn bad_schedules() {
    let error =
        Schedule::new(Service::Rule, "r", "f", "at(2026-01-01T00:00:00)", None).unwrap_err();
    assert_eq!(error.field, "expression");
    let error = Schedule::new(
        Service::Scheduler,
        "s",
        "f",
        "rate(1 hour)",
        Some("Mars/Olympus"),
    )
    .unwrap_err();
    assert_eq!(error.field, "time zone");
}
