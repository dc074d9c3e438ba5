//! Payload templates: `Parameters`, `ItemSelector` and `ResultSelector`. A field whose name
//! ends in `.$` takes its value from a path or an intrinsic call (and loses the `.$`); every
//! other value is copied as is.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html>

use crate::error::{PARAMETER_PATH_FAILURE, StatesError};
use crate::intrinsic::Intrinsic;
use crate::path::Path;
use serde_json::{Map, Value};

/// A parsed payload template.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// An object whose fields are templates.
    Object(Vec<(String, Template)>),
    /// An array of templates.
    Array(Vec<Template>),
    /// A value copied as is.
    Literal(Value),
    /// A `….$` field's path.
    Path(Path),
    /// A `….$` field's intrinsic call.
    Call(Intrinsic),
}

impl Template {
    /// Parses a template; an error names the field (`/greeting.$`) and what is wrong.
    pub fn parse(value: &Value) -> Result<Self, (String, String)> {
        match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                for (key, value) in map {
                    let at = |(loc, why): (String, String)| (format!("/{key}{loc}"), why);
                    let field = match key.strip_suffix(".$") {
                        Some(name) => {
                            let Some(text) = value.as_str() else {
                                return Err((
                                    format!("/{key}"),
                                    "a field ending in '.$' takes a path or an intrinsic function"
                                        .into(),
                                ));
                            };
                            let dynamic = if Intrinsic::looks_like(text) {
                                Intrinsic::parse(text).map(Template::Call)
                            } else {
                                Path::parse(text)
                                    .map(Template::Path)
                                    .map_err(|e| e.to_string())
                            };
                            (
                                name.to_owned(),
                                dynamic.map_err(|why| (format!("/{key}"), why))?,
                            )
                        }
                        None => (key.clone(), Self::parse(value).map_err(at)?),
                    };
                    fields.push(field);
                }
                Ok(Template::Object(fields))
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    Self::parse(item).map_err(|(loc, why)| (format!("/{i}{loc}"), why))
                })
                .collect::<Result<_, _>>()
                .map(Template::Array),
            other => Ok(Template::Literal(other.clone())),
        }
    }

    /// Builds the payload from the input and the context object.
    pub fn eval(&self, input: &Value, context: &Value) -> Result<Value, StatesError> {
        Ok(match self {
            Template::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, t)| Ok((key.clone(), t.eval(input, context)?)))
                    .collect::<Result<Map<_, _>, StatesError>>()?,
            ),
            Template::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.eval(input, context))
                    .collect::<Result<_, _>>()?,
            ),
            Template::Literal(v) => v.clone(),
            Template::Path(path) => path
                .select(input, context)
                .map_err(|e| StatesError::new(PARAMETER_PATH_FAILURE, e.to_string()))?,
            Template::Call(call) => call.eval(input, context)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The Parameters example of the developer guide's InputPath/Parameters page.
    #[test]
    fn parameters_example() {
        let template = Template::parse(&json!({
            "comment": "Selecting what I care about.",
            "MyDetails": {"size.$": "$.product.details.size", "exists.$": "$.product.availability", "StaticValue": "foo"}
        }))
        .unwrap();
        let input = json!({"comment": "Example for Parameters.",
            "product": {"details": {"color": "blue", "size": "small", "material": "cotton"}, "availability": "in stock", "sku": "2317", "cost": "$23"}});
        assert_eq!(
            template.eval(&input, &Value::Null).unwrap(),
            json!({"comment": "Selecting what I care about.", "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}})
        );
    }

    #[test]
    fn context_calls_and_arrays() {
        let template = Template::parse(
            &json!({"name.$": "$$.Execution.Name", "list": [{"n.$": "States.MathAdd($.a, 1)"}, 2]}),
        )
        .unwrap();
        let out = template
            .eval(&json!({"a": 1}), &json!({"Execution": {"Name": "run-1"}}))
            .unwrap();
        assert_eq!(out, json!({"name": "run-1", "list": [{"n": 2}, 2]}));
    }

    #[test]
    fn a_path_selecting_nothing_is_a_parameter_path_failure() {
        let template = Template::parse(&json!({"x.$": "$.missing"})).unwrap();
        assert_eq!(
            template.eval(&json!({}), &Value::Null).unwrap_err().error,
            PARAMETER_PATH_FAILURE
        );
    }

    #[test]
    fn bad_fields_name_their_location() {
        assert_eq!(
            Template::parse(&json!({"a": {"b.$": 3}})).unwrap_err().0,
            "/a/b.$"
        );
        assert_eq!(
            Template::parse(&json!({"a": [{"b.$": "nope"}]}))
                .unwrap_err()
                .0,
            "/a/0/b.$"
        );
        assert_eq!(
            Template::parse(&json!({"c.$": "States.Nope()"}))
                .unwrap_err()
                .0,
            "/c.$"
        );
    }
}
