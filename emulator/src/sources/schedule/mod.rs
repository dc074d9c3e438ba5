//! Schedules: EventBridge rules (SAM `Schedule`, serverless.yml `schedule`) and EventBridge
//! Scheduler schedules (SAM `ScheduleV2`, serverless.yml `schedule` with `method: scheduler`).
//!
//! A schedule fires at the times of its [`Expression`] (read in its time zone: UTC for rules,
//! `ScheduleExpressionTimezone` for the Scheduler) and invokes its function asynchronously, as
//! both services do: the event joins the function's `Event` queue, with its retries.
//!
//! What the function gets is what AWS sends
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html>,
//! <https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html>):
//! * a rule: the Scheduled Event (`"detail-type": "Scheduled Event"`, `"source": "aws.events"`,
//!   the rule's ARN in `resources`, the scheduled `time`), or its target's `Input` in its place;
//! * a Scheduler schedule: its `Input` (`{}` without one), with the context attributes
//!   `<aws.scheduler.schedule-arn>`, `<aws.scheduler.scheduled-time>`,
//!   `<aws.scheduler.execution-id>` and `<aws.scheduler.attempt-number>` filled in.
//!
//! A rate schedule counts from when the emulator starts serving; like the Scheduler without a
//! `StartDate`, a Scheduler rate fires once at once. Firing times missed while the emulator was
//! stopped are not made up.

mod expr;

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use tokio::sync::watch;

pub use expr::{Cron, Expression, ExpressionError};

use super::{Clock, SourceState, SourceStatus, Sources, Status};
use crate::events::{Events, Rejected};
use crate::instance::{Invocation, Trigger};
use crate::registry::FunctionKey;
use crate::sync::{closed, lock};

/// Which AWS service runs a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// An EventBridge rule with a schedule (UTC only; rate and cron).
    Rule,
    /// An EventBridge Scheduler schedule (a time zone; rate, cron and at).
    Scheduler,
}

/// What a schedule starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A function, invoked asynchronously.
    Function,
    /// A Step Functions state machine: an execution whose input is the event, as EventBridge
    /// starts one (<https://docs.aws.amazon.com/step-functions/latest/dg/using-eventbridge-scheduler.html>).
    StateMachine,
}

/// Starts an execution of the named state machine with an input; its ARN, or why not.
pub(crate) type StartExecution = Arc<dyn Fn(&str, &Value) -> Result<String, String> + Send + Sync>;

/// One schedule invoking one function (or starting one state machine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The rule's or schedule's name (its `Name`, else the function's and the event's).
    pub name: String,
    /// The function it invokes (the state machine it starts, for [`Target::StateMachine`]).
    pub function: String,
    /// What it starts.
    pub target: Target,
    /// The service that runs it.
    pub service: Service,
    /// When it fires.
    pub expression: Expression,
    /// The expression as written (`rate(5 minutes)`).
    pub expression_text: String,
    /// The IANA time zone its cron and at expressions are read in (`None`: UTC).
    pub time_zone: Option<String>,
    /// The target's `Input` (JSON text), sent instead of the event.
    pub input: Option<String>,
    /// `Enabled: false` / `State: DISABLED` turn it off.
    pub enabled: bool,
}

impl Schedule {
    /// What it starts, for people: `function F` or `state machine M`.
    pub fn target_text(&self) -> String {
        match self.target {
            Target::Function => format!("function {}", self.function),
            Target::StateMachine => format!("state machine {}", self.function),
        }
    }

    /// A schedule of `service` from its expression (and time zone): the expression and the zone
    /// are checked.
    pub fn new(
        service: Service,
        name: impl Into<String>,
        function: impl Into<String>,
        expression: &str,
        time_zone: Option<&str>,
    ) -> Result<Schedule, ExpressionError> {
        let parsed = Expression::parse(expression, service == Service::Scheduler)?;
        if let Some(zone) = time_zone {
            TimeZone::get(zone).map_err(|_| ExpressionError {
                field: "time zone",
                message: format!("`{zone}` is not an IANA time zone (e.g. Europe/Paris)"),
            })?;
        }
        Ok(Schedule {
            name: name.into(),
            function: function.into(),
            target: Target::Function,
            service,
            expression: parsed,
            expression_text: expression.trim().to_owned(),
            time_zone: time_zone.map(str::to_owned),
            input: None,
            enabled: true,
        })
    }

    fn zone(&self) -> TimeZone {
        // Checked by `new`; a zone removed from the system since reads as UTC.
        self.time_zone
            .as_deref()
            .and_then(|zone| TimeZone::get(zone).ok())
            .unwrap_or(TimeZone::UTC)
    }

    /// `schedule` (a rule) or `scheduler`, as the status page says.
    pub fn kind(&self) -> &'static str {
        match self.service {
            Service::Rule => "schedule",
            Service::Scheduler => "scheduler",
        }
    }

    /// The first fire time of a schedule starting at `started`: a Scheduler rate fires at
    /// once, other schedules at their next time.
    pub fn first_fire(&self, started: SystemTime) -> Option<SystemTime> {
        if self.service == Service::Scheduler && matches!(self.expression, Expression::Rate(_)) {
            return Some(started);
        }
        self.next_after(started, started)
    }

    /// The next fire time strictly after `after`, for a schedule that started at `started`.
    pub fn next_after(&self, after: SystemTime, started: SystemTime) -> Option<SystemTime> {
        let after = Timestamp::try_from(after).ok()?;
        let started = Timestamp::try_from(started).ok()?;
        let next = self.expression.next_after(after, started, &self.zone())?;
        SystemTime::try_from(next).ok()
    }

    /// The next `count` fire times of a schedule started at `started` (fewer when it ends).
    pub fn upcoming(&self, started: SystemTime, count: usize) -> Vec<SystemTime> {
        let mut times: Vec<SystemTime> = self.first_fire(started).into_iter().collect();
        while let Some(&last) = times.last()
            && times.len() < count
        {
            match self.next_after(last, started) {
                Some(next) => times.push(next),
                None => break,
            }
        }
        times.truncate(count);
        times
    }

    /// The rule's or schedule's ARN in `region`.
    pub fn arn(&self, region: &str) -> String {
        let account = crate::ACCOUNT_ID;
        match self.service {
            Service::Rule => format!("arn:aws:events:{region}:{account}:rule/{}", self.name),
            Service::Scheduler => format!(
                "arn:aws:scheduler:{region}:{account}:schedule/default/{}",
                self.name
            ),
        }
    }

    /// What the function gets for the firing scheduled at `time`.
    pub fn event(&self, time: SystemTime, region: &str) -> Value {
        let time = rfc3339_seconds(time);
        let id = uuid::Uuid::new_v4().to_string();
        let input = || {
            self.input
                .as_deref()
                .and_then(|input| serde_json::from_str(input).ok())
        };
        match self.service {
            Service::Rule => input().unwrap_or_else(|| {
                json!({
                    "version": "0",
                    "id": id,
                    "detail-type": "Scheduled Event",
                    "source": "aws.events",
                    "account": crate::ACCOUNT_ID,
                    "time": time,
                    "region": region,
                    "resources": [self.arn(region)],
                    "detail": {}
                })
            }),
            Service::Scheduler => {
                let Some(input) = &self.input else {
                    return json!({});
                };
                let filled = input
                    .replace("<aws.scheduler.schedule-arn>", &self.arn(region))
                    .replace("<aws.scheduler.scheduled-time>", &time)
                    .replace("<aws.scheduler.execution-id>", &id)
                    .replace("<aws.scheduler.attempt-number>", "1");
                serde_json::from_str(&filled).unwrap_or(Value::String(filled))
            }
        }
    }
}

/// `2026-01-01T12:00:00Z`: the form of EventBridge's `time`.
pub fn rfc3339_seconds(time: SystemTime) -> String {
    Timestamp::try_from(time)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Starts `schedules` (each enabled one in a task of its own; none with `run: false`), adding
/// their statuses to `sources`; those of state machines start executions through
/// `executions` (`None`: the emulator serves no state machines). They stop when `closing` says
/// so.
#[allow(clippy::too_many_arguments)]
pub(crate) fn start(
    schedules: &[Schedule],
    run: bool,
    sources: &Sources,
    clock: &Clock,
    events: &Arc<Events>,
    executions: Option<&StartExecution>,
    region: &str,
    closing: &watch::Receiver<bool>,
) {
    // Rates count from here; the first fire times are listed before the front answers.
    let started = clock.now();
    for schedule in schedules {
        let state = match (schedule.enabled, run) {
            (false, _) => SourceState::Disabled,
            (true, false) => SourceState::Off,
            (true, true) => SourceState::Enabled,
        };
        let next = schedule.first_fire(started);
        let status = sources.add(SourceStatus {
            kind: schedule.kind(),
            name: schedule.name.clone(),
            function: schedule.function.clone(),
            state: if next.is_none() {
                SourceState::Done
            } else {
                state
            },
            next_fire: next
                .filter(|_| state == SourceState::Enabled)
                .map(crate::clock::rfc3339),
            fired: 0,
            in_flight: None,
            last_error: None,
        });
        if let (SourceState::Enabled, Some(next)) = (state, next) {
            let runner = Runner {
                schedule: schedule.clone(),
                clock: clock.clone(),
                events: events.clone(),
                executions: executions.cloned(),
                region: region.to_owned(),
                status,
                started,
            };
            tokio::spawn(runner.run(next, closing.clone()));
        }
    }
}

/// A running schedule.
struct Runner {
    schedule: Schedule,
    clock: Clock,
    events: Arc<Events>,
    executions: Option<StartExecution>,
    region: String,
    status: Status,
    started: SystemTime,
}

impl Runner {
    /// Fires at `next`, then at each next time, until the schedule is done or the emulator
    /// closes.
    async fn run(self, mut next: SystemTime, mut closing: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                () = self.clock.sleep_until(next) => {}
                () = closed(&mut closing) => return,
            }
            self.fire(next).await;
            // Late (a busy machine, a clock moved far): the next time after now, not every
            // time missed.
            let after = self.clock.now().max(next);
            let following = self.schedule.next_after(after, self.started);
            let mut status = lock(&self.status);
            status.next_fire = following.map(crate::clock::rfc3339);
            match following {
                Some(following) => next = following,
                None => {
                    status.state = SourceState::Done;
                    return;
                }
            }
        }
    }

    async fn fire(&self, time: SystemTime) {
        let event = self.schedule.event(time, &self.region);
        if self.schedule.target == Target::StateMachine {
            self.start_execution(&event);
            return;
        }
        let invocation = Invocation::new(
            Bytes::from(event.to_string()),
            Trigger::Schedule(self.schedule.name.clone()),
        );
        let request_id = invocation.request_id.clone();
        let key = FunctionKey::latest(&self.schedule.function);
        let queued = self.events.enqueue(key, invocation).await;
        let mut status = lock(&self.status);
        match queued {
            Ok(()) => {
                status.fired += 1;
                tracing::info!(
                    schedule = %self.schedule.name,
                    function = %self.schedule.function,
                    %request_id,
                    "schedule fired"
                );
            }
            Err(rejected) => {
                let error = match rejected {
                    Rejected::Full => "the function's event queue is full".to_owned(),
                    Rejected::ShuttingDown => return,
                    Rejected::Store(error) => format!("cannot keep the event: {error}"),
                };
                tracing::warn!(
                    schedule = %self.schedule.name,
                    function = %self.schedule.function,
                    %error,
                    "schedule fired, but its event was not queued"
                );
                status.last_error = Some(error);
            }
        }
    }
}

impl Runner {
    /// Starts an execution of the schedule's state machine with `event` as its input.
    fn start_execution(&self, event: &Value) {
        let machine = &self.schedule.function;
        let started = match &self.executions {
            Some(start) => start(machine, event),
            None => Err("the emulator serves no state machines (feature `workflows`)".to_owned()),
        };
        let mut status = lock(&self.status);
        match started {
            Ok(execution) => {
                status.fired += 1;
                tracing::info!(schedule = %self.schedule.name, %execution, "schedule fired");
            }
            Err(error) => {
                tracing::warn!(
                    schedule = %self.schedule.name,
                    state_machine = %machine,
                    %error,
                    "schedule fired, but its execution did not start"
                );
                status.last_error = Some(error);
            }
        }
    }
}

#[cfg(test)]
mod tests;
