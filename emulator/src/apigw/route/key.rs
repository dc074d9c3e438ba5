//! The route-key grammar, the one every source of routes goes through: `METHOD /path` or
//! `$default`, as API Gateway writes route keys. The template readers validate their methods and
//! paths here too, so a key the front would refuse is never accepted from a file.

use http::Method;

use super::Route;

/// The methods a route may name besides `ANY`: API Gateway's, for HTTP APIs ("Routes consist of
/// two parts: an HTTP method and a resource path […] you can use the ANY method to match all
/// methods", <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html>;
/// the CDK's `HttpMethod` lists ANY, DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT) and REST APIs
/// (`AWS::ApiGateway::Method` `HttpMethod`) alike.
pub const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// What a route key or a route table got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// The key is empty or is not `METHOD /path` nor `$default`.
    #[error("route `{key}` is not `METHOD /path` nor `$default` (for example `GET /users/{{id}}`)")]
    Malformed {
        /// The route key as given.
        key: String,
    },
    /// The method is not one of [`METHODS`] nor `ANY`.
    #[error(
        "route `{key}`: `{method}` is not an HTTP method API Gateway routes (GET, POST, PUT, \
         PATCH, DELETE, HEAD, OPTIONS or ANY)"
    )]
    BadMethod {
        /// The route key as given.
        key: String,
        /// The offending method.
        method: String,
    },
    /// The path does not start with `/`.
    #[error("route `{key}`: the path must start with `/`")]
    PathNotAbsolute {
        /// The route key as given.
        key: String,
    },
    /// The path holds whitespace, a control character, or a query (`?`) or fragment (`#`).
    #[error("route `{key}`: the path contains {character:?}")]
    BadCharacter {
        /// The route key as given.
        key: String,
        /// The offending character.
        character: char,
    },
    /// A segment is empty (`//`), or a trailing `/` follows a non-root path.
    #[error("route `{key}`: empty segment (`//` or a trailing `/`)")]
    EmptySegment {
        /// The route key as given.
        key: String,
    },
    /// A `{…}` segment is malformed: an empty or invalid name, braces not around the whole segment.
    #[error(
        "route `{key}`: `{segment}` is not a valid path variable (unbalanced braces, text around \
         a variable, or a name that is not letters, digits, `_`, `-` and `.`)"
    )]
    BadVariable {
        /// The route key as given.
        key: String,
        /// The offending segment.
        segment: String,
    },
    /// A greedy `{name+}` variable is not the last segment.
    #[error("route `{key}`: a greedy variable `{{name+}}` is not last; it must end the path")]
    GreedyNotLast {
        /// The route key as given.
        key: String,
    },
    /// The same variable name appears twice in one path.
    #[error("route `{key}`: path variable `{name}` appears twice")]
    DuplicateVariable {
        /// The route key as given.
        key: String,
        /// The repeated name.
        name: String,
    },
    /// Two routes of one table have the same method and path.
    #[error("route `{key}` is defined twice (functions `{first}` and `{second}`)")]
    Duplicate {
        /// The normalised route key.
        key: String,
        /// The function of the first definition.
        first: String,
        /// The function of the second definition.
        second: String,
    },
    /// A function name cannot be used in a default `/{function}/{proxy+}` route.
    #[error("function name `{name}` cannot be a path segment")]
    BadFunctionName {
        /// The function name.
        name: String,
    },
}

/// One segment of a route path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

/// A parsed route key: `$default`, or a method (`None` for `ANY`) and a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteKey {
    /// The key as API Gateway reports it in `routeKey`: `GET /users/{id}` or `$default`.
    text: String,
    method: Option<Method>,
    path: Option<String>,
    segments: Vec<Segment>,
}

impl RouteKey {
    /// Parses a route key (`GET /users/{id}`, `ANY /files/{proxy+}`, `$default`; the method is
    /// case-insensitive, runs of spaces are allowed).
    pub fn parse(key: &str) -> Result<Self, RouteError> {
        let trimmed = key.trim();
        if trimmed == Route::DEFAULT_KEY {
            return Ok(Self {
                text: Route::DEFAULT_KEY.to_owned(),
                method: None,
                path: None,
                segments: Vec::new(),
            });
        }
        let malformed = || RouteError::Malformed {
            key: key.to_owned(),
        };
        let mut parts = trimmed.split_whitespace();
        let (Some(method), Some(path), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed());
        };
        Self::new(method, path)
    }

    /// A key from a method (`GET`, `any`, `ANY`, …) and a path template (`/users/{id}`).
    pub fn new(method: &str, path: &str) -> Result<Self, RouteError> {
        let shown = format!("{method} {path}");
        let method = method_of(method, &shown)?;
        let segments = parse_path(path, &shown)?;
        Ok(Self {
            text: format!("{} {path}", method.as_ref().map_or("ANY", |m| m.as_str())),
            method,
            path: Some(path.to_owned()),
            segments,
        })
    }

    /// Parses a method on its own: one of [`METHODS`] (any case) or `ANY` (`None`).
    pub fn parse_method(method: &str) -> Result<Option<Method>, RouteError> {
        method_of(method, method)
    }

    /// Checks a path template on its own: starts with `/`, no whitespace, query or fragment, no
    /// empty segments, variables are whole segments (`{id}`), a greedy `{name+}` only last, no
    /// variable twice.
    pub fn check_path(path: &str) -> Result<(), RouteError> {
        parse_path(path, path).map(drop)
    }

    /// The key as API Gateway reports it in `routeKey`: `GET /users/{id}` or `$default`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The method; `None` for `ANY` and `$default`.
    pub fn method(&self) -> Option<&Method> {
        self.method.as_ref()
    }

    /// The path template (`/users/{id}`); `None` for `$default`.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// Whether this is the `$default` key.
    pub fn is_default(&self) -> bool {
        self.path.is_none()
    }

    /// The path template's segments.
    pub(super) fn segments(&self) -> &[Segment] {
        &self.segments
    }
}

/// `method` as a route's method (`None` for `ANY`), errors naming the key `shown`.
fn method_of(method: &str, shown: &str) -> Result<Option<Method>, RouteError> {
    let upper = method.trim().to_ascii_uppercase();
    if upper == "ANY" {
        return Ok(None);
    }
    match Method::from_bytes(upper.as_bytes()) {
        Ok(m) if METHODS.contains(&upper.as_str()) => Ok(Some(m)),
        _ => Err(RouteError::BadMethod {
            key: shown.to_owned(),
            method: method.to_owned(),
        }),
    }
}

/// Characters API Gateway accepts in a path variable name (alphanumerics, `_`, `-`, `.`).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Parses and validates a path template, errors naming the key `shown`.
fn parse_path(path: &str, shown: &str) -> Result<Vec<Segment>, RouteError> {
    let key = || shown.to_owned();
    let Some(rest) = path.strip_prefix('/') else {
        return Err(RouteError::PathNotAbsolute { key: key() });
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(character) = path
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '?' | '#'))
    {
        return Err(RouteError::BadCharacter {
            key: key(),
            character,
        });
    }
    let raw: Vec<&str> = rest.split('/').collect();
    let mut segments: Vec<Segment> = Vec::with_capacity(raw.len());
    for (idx, seg) in raw.iter().enumerate() {
        let segment = parse_segment(seg, shown)?;
        if let Segment::Param(name) | Segment::Greedy(name) = &segment {
            let seen = segments
                .iter()
                .any(|s| matches!(s, Segment::Param(n) | Segment::Greedy(n) if n == name));
            if seen {
                return Err(RouteError::DuplicateVariable {
                    key: key(),
                    name: name.clone(),
                });
            }
            if matches!(segment, Segment::Greedy(_)) && idx + 1 != raw.len() {
                return Err(RouteError::GreedyNotLast { key: key() });
            }
        }
        segments.push(segment);
    }
    Ok(segments)
}

/// One segment of a path template: a literal, `{name}` or `{name+}`.
fn parse_segment(seg: &str, shown: &str) -> Result<Segment, RouteError> {
    if seg.is_empty() {
        return Err(RouteError::EmptySegment {
            key: shown.to_owned(),
        });
    }
    let bad = || RouteError::BadVariable {
        key: shown.to_owned(),
        segment: seg.to_owned(),
    };
    let Some(inner) = seg.strip_prefix('{') else {
        if seg.contains(['{', '}']) {
            return Err(bad());
        }
        return Ok(Segment::Literal(seg.to_owned()));
    };
    let inner = inner.strip_suffix('}').ok_or_else(bad)?;
    let (name, greedy) = match inner.strip_suffix('+') {
        Some(n) => (n, true),
        None => (inner, false),
    };
    if !valid_name(name) {
        return Err(bad());
    }
    Ok(if greedy {
        Segment::Greedy(name.to_owned())
    } else {
        Segment::Param(name.to_owned())
    })
}
