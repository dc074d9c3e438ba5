//! `Schedule` (an EventBridge rule) and `ScheduleV2` (an EventBridge Scheduler schedule) events
//! of a SAM function.
//!
//! `Schedule`: `Schedule` (the expression), `Input`, `Enabled` / `State`, `Name`.
//! `ScheduleV2`: `ScheduleExpression`, `ScheduleExpressionTimezone`, `Input`, `State`, `Name`.
//! Their other properties (retry policies, dead-letter queues, flexible time windows, start and
//! end dates, roles) are about AWS's delivery and are not read.
//! (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-schedule.html>,
//! <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-schedulev2.html>.)

use serde_yaml::{Mapping, Value};

use super::super::ConfigError;
use super::super::schedule::{expression_problem, input_json};
use super::super::yaml::{YPath, describe};
use super::{Sam, optional_mapping};
use crate::sources::schedule::{Schedule, Service};

impl Sam<'_> {
    /// A `Schedule` or `ScheduleV2` event (`kind`) of function `id`.
    pub(super) fn schedule_event(
        &self,
        id: &str,
        name: &str,
        kind: &str,
        event: &Mapping,
        path: &YPath,
    ) -> Result<Schedule, ConfigError> {
        let what = format!("function `{id}`: event `{name}`");
        let props_path = path.key("Properties");
        let empty = Mapping::new();
        let props = optional_mapping(&self.src, event, path, "Properties")?.unwrap_or(&empty);
        let (service, expression_key) = match kind {
            "ScheduleV2" => (Service::Scheduler, "ScheduleExpression"),
            _ => (Service::Rule, "Schedule"),
        };
        let text = |key: &str| self.string_property(props, &props_path, &what, key);
        let Some((expression, expression_at)) = text(expression_key)? else {
            return Err(self.src.invalid(
                &props_path,
                format!("{what} has no {expression_key}"),
                format!("add {expression_key}: rate(5 minutes) or a cron(…) expression"),
            ));
        };
        let zone = match text("ScheduleExpressionTimezone")? {
            Some((_, at)) if service == Service::Rule => {
                return Err(self.src.invalid(
                    &at,
                    format!("{what}: a Schedule event (an EventBridge rule) runs in UTC"),
                    "use a ScheduleV2 event for ScheduleExpressionTimezone",
                ));
            }
            zone => zone,
        };
        let rule_name = match text("Name")? {
            Some((name, _)) => name,
            // The logical id SAM gives the rule or schedule it generates.
            None => format!("{id}{name}"),
        };
        let mut schedule = Schedule::new(
            service,
            rule_name,
            id,
            &expression,
            zone.as_ref().map(|(z, _)| z.as_str()),
        )
        .map_err(|error| {
            let at = match (error.field, &zone) {
                ("time zone", Some((_, at))) => at,
                _ => &expression_at,
            };
            self.at(
                at,
                id,
                &format!("event `{name}`"),
                expression_problem(&expression, &error),
            )
        })?;
        if let Some(input) = props.get("Input") {
            let at = props_path.key("Input");
            let resolved = self.resolve(input, &at, &what)?.unwrap_or(Value::Null);
            schedule.input = input_json(&resolved)
                .map_err(|p| self.at(&at, id, &format!("event `{name}`"), p))?;
        }
        schedule.enabled = self.schedule_enabled(&what, props, &props_path)?;
        Ok(schedule)
    }

    /// `Enabled: false` or `State: DISABLED` turn a schedule off.
    fn schedule_enabled(
        &self,
        what: &str,
        props: &Mapping,
        props_path: &YPath,
    ) -> Result<bool, ConfigError> {
        if let Some(v) = props.get("Enabled") {
            let at = props_path.key("Enabled");
            match self.resolve(v, &at, what)? {
                Some(Value::Bool(enabled)) => return Ok(enabled),
                // CloudFormation takes booleans as strings too (a parameter's Default).
                Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => return Ok(true),
                Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => {
                    return Ok(false);
                }
                None | Some(Value::Null) => {}
                Some(other) => {
                    return Err(self.src.invalid(
                        &at,
                        format!("{what}: Enabled is {}, not true or false", describe(&other)),
                        "write Enabled: false to turn the schedule off",
                    ));
                }
            }
        }
        let at = props_path.key("State");
        match props.get("State") {
            None => Ok(true),
            Some(v) => match self.string(v, &at, &format!("{what}: State"))?.as_deref() {
                None | Some("ENABLED") => Ok(true),
                Some("DISABLED") => Ok(false),
                Some(other) => Err(self.src.invalid(
                    &at,
                    format!("{what}: State `{other}` is neither ENABLED nor DISABLED"),
                    "write State: ENABLED or State: DISABLED",
                )),
            },
        }
    }
}
