//! YAML plumbing shared by the SAM and Serverless readers: parsing, dotted field paths, and
//! finding the line and column of a field for error messages.
//!
//! `serde_yaml::Value` carries no positions, so a field's position is found only when an error
//! needs it: the document is deserialized again with a seed that walks down the field's path
//! and fails on arrival; serde_yaml stamps that failure with the position of the value it was
//! reading, which is exactly the field's value.

use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_yaml::{Mapping, Value};

use super::{ConfigError, ErrorKind, Problem, position};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// A field path from the document root: `Resources.Hello.Properties.Events.Api.Properties`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct YPath(Vec<Seg>);

impl YPath {
    /// The root.
    pub(crate) fn root() -> Self {
        YPath(Vec::new())
    }

    /// This path plus a key.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        YPath(segs)
    }

    /// This path plus an index.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        YPath(segs)
    }
}

impl fmt::Display for YPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The text of a mapping key (strings, numbers and booleans; other keys have none).
pub(crate) fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// "a string", "a mapping", … for messages.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Sequence(_) => "a list".to_owned(),
        Value::Mapping(_) => "a mapping".to_owned(),
        Value::Tagged(t) => format!("a `{}` tagged value", t.tag),
    }
}

/// A YAML document being read: its file and text, for error positions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source<'a> {
    pub(crate) file: &'a Path,
    pub(crate) text: &'a str,
}

impl<'a> Source<'a> {
    /// Parses the whole document, which must be a mapping.
    pub(crate) fn parse(&self, what: &str) -> Result<Mapping, ConfigError> {
        let mut value: Value = serde_yaml::from_str(self.text).map_err(|e| {
            let mut err = ConfigError::new(
                self.file,
                ErrorKind::Syntax,
                format!("not valid YAML: {}", strip_location(&e)),
            )
            .with_hint("fix the YAML syntax (indentation, quotes, `key: value` pairs)");
            if let Some(loc) = e.location() {
                err.line = Some(position(loc.line()));
                err.column = Some(position(loc.column()));
            }
            err
        })?;
        value.apply_merge().map_err(|e| {
            ConfigError::new(
                self.file,
                ErrorKind::Syntax,
                format!("bad YAML merge key (`<<`): {e}"),
            )
            .with_hint("a merge key takes a mapping or a list of mappings")
        })?;
        match value {
            Value::Mapping(m) => Ok(m),
            other => Err(ConfigError::new(
                self.file,
                ErrorKind::Invalid,
                format!(
                    "expected {what} (a mapping at the top level), found {}",
                    describe(&other)
                ),
            )
            .with_hint(format!("is this file really {what}?"))),
        }
    }

    /// An error at `path`, with the line and column of that field when it can be found.
    pub(crate) fn error(&self, path: &YPath, problem: Problem) -> ConfigError {
        let (line, column) = match locate(self.text, &path.0) {
            Some((l, c)) => (Some(position(l)), Some(position(c))),
            None => (None, None),
        };
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            field: (!path.0.is_empty()).then(|| path.to_string()),
            kind: problem.kind,
            message: problem.message,
            hint: problem.hint,
        }
    }

    /// An [`ErrorKind::Invalid`] error at `path`.
    pub(crate) fn invalid(
        &self,
        path: &YPath,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> ConfigError {
        self.error(path, Problem::invalid(message, hint))
    }
}

/// serde_yaml's message without its trailing " at line X column Y" (we report those apart).
fn strip_location(e: &serde_yaml::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) if e.location().is_some() => text[..i].to_owned(),
        _ => text,
    }
}

/// The message the locating seed fails with on arrival.
const ARRIVED: &str = "lambkin: located";

/// The 1-based line and column of the value at `path` in `text` (of the deepest mapping or list
/// on the way when the path does not exist all the way down).
pub(crate) fn locate(text: &str, path: &[Seg]) -> Option<(usize, usize)> {
    let de = serde_yaml::Deserializer::from_str(text);
    match Locate(path).deserialize(de) {
        Ok(()) => None,
        Err(e) => e.location().map(|l| (l.line(), l.column())),
    }
}

/// Walks down a path; fails (with serde_yaml's position of the current value) on arrival.
struct Locate<'p>(&'p [Seg]);

impl<'de> DeserializeSeed<'de> for Locate<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

fn arrived<E: de::Error>() -> Result<(), E> {
    Err(E::custom(ARRIVED))
}

impl<'de> Visitor<'de> for Locate<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        arrived()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        arrived()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        arrived()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        arrived()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        arrived()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        arrived()
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        arrived()
    }
    fn visit_some<D: Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        arrived()
    }
    fn visit_enum<A: de::EnumAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        // A tagged value (`!Ref X`): report the tag's position.
        arrived()
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Seg::Key(want), rest)) = self.0.split_first() else {
            return arrived();
        };
        while let Some(key) = map.next_key::<Value>()? {
            if key_text(&key).as_deref() == Some(want.as_str()) {
                return map.next_value_seed(Locate(rest));
            }
            map.next_value::<IgnoredAny>()?;
        }
        // The key is missing: point at this mapping.
        arrived()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Seg::Index(want), rest)) = self.0.split_first() else {
            return arrived();
        };
        let mut index = 0;
        loop {
            if index == *want {
                return match seq.next_element_seed(Locate(rest))? {
                    Some(()) => Ok(()),
                    None => arrived(),
                };
            }
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return arrived();
            }
            index += 1;
        }
    }
}

/// A YAML value as JSON (YAML's keys that are not text become text).
pub(crate) fn to_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => serde_json::to_value(n).unwrap_or(serde_json::Value::Null),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Sequence(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Value::Mapping(map) => serde_json::Value::Object(
            map.iter()
                .map(|(k, v)| {
                    (
                        k.as_str().map_or_else(
                            || {
                                serde_yaml::to_string(k)
                                    .unwrap_or_default()
                                    .trim()
                                    .to_owned()
                            },
                            str::to_owned,
                        ),
                        to_json(v),
                    )
                })
                .collect(),
        ),
        Value::Tagged(tagged) => to_json(&tagged.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
Resources:
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 3
      Events:
        - first
        - second: !Ref Thing
";

    fn at(path: &[&str]) -> Option<(usize, usize)> {
        let segs: Vec<Seg> = path
            .iter()
            .map(|p| match p.parse::<usize>() {
                Ok(n) => Seg::Index(n),
                Err(_) => Seg::Key((*p).to_owned()),
            })
            .collect();
        locate(DOC, &segs)
    }

    #[test]
    fn finds_scalars_lists_and_tags() {
        assert_eq!(at(&["Resources", "Hello", "Type"]), Some((3, 11)));
        assert_eq!(
            at(&["Resources", "Hello", "Properties", "Timeout"]),
            Some((5, 16))
        );
        assert_eq!(
            at(&["Resources", "Hello", "Properties", "Events", "0"]),
            Some((7, 11))
        );
        assert_eq!(
            at(&["Resources", "Hello", "Properties", "Events", "1", "second"]),
            Some((8, 19))
        );
    }

    #[test]
    fn missing_fields_point_at_the_deepest_mapping() {
        // `Properties` exists; `MemorySize` does not: the position is the mapping's first key.
        assert_eq!(
            at(&["Resources", "Hello", "Properties", "MemorySize"]),
            Some((5, 7))
        );
        assert_eq!(
            at(&["Resources", "Hello", "Properties", "Events", "5"]),
            Some((7, 9))
        );
    }

    #[test]
    fn bad_documents_locate_nothing_and_never_panic() {
        // A syntax error is located where the parser stopped.
        assert_eq!(locate("a: [", &[Seg::Key("a".into())]), Some((1, 4)));
        let _ = locate("", &[Seg::Key("a".into())]);
        let _ = locate("- [[[", &[Seg::Index(0), Seg::Index(0)]);
    }

    #[test]
    fn paths_display_dotted() {
        let p = YPath::root()
            .key("functions")
            .key("hello")
            .key("events")
            .index(2);
        assert_eq!(p.to_string(), "functions.hello.events[2]");
    }
}
