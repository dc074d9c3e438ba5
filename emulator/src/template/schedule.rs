//! What the SAM and serverless.yml readers share about schedule events: an expression's error
//! as a [`Problem`], and a target's `Input` as JSON text.

use serde_yaml::Value;

use super::Problem;
use super::yaml::describe;
use crate::sources::schedule::ExpressionError;

/// An expression's (or time zone's) error, naming the bad field.
pub(crate) fn expression_problem(expression: &str, error: &ExpressionError) -> Problem {
    Problem::invalid(
        format!("`{expression}`: {error}"),
        "write rate(5 minutes) or cron(minutes hours day-of-month month day-of-week year), \
         e.g. cron(0 10 * * ? *); see \
         https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html",
    )
}

/// A target's `Input`: JSON text (as CloudFormation takes it), or a mapping or list written in
/// YAML; the JSON text the function gets.
pub(crate) fn input_json(value: &Value) -> Result<Option<String>, Problem> {
    let hint = "write Input as JSON text, e.g. '{\"task\": \"cleanup\"}', or as a mapping";
    match value {
        Value::Null => Ok(None),
        Value::String(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(_) => Ok(Some(text.clone())),
            Err(error) => Err(Problem::invalid(
                format!("Input is not JSON: {error}"),
                hint,
            )),
        },
        Value::Mapping(_) | Value::Sequence(_) => serde_json::to_string(value)
            .map(Some)
            .map_err(|error| Problem::invalid(format!("Input is not JSON: {error}"), hint)),
        other => Err(Problem::invalid(
            format!("Input is {}, not JSON", describe(other)),
            hint,
        )),
    }
}
