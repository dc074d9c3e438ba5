//! The event shapes a route delivers ([`PayloadFormat`]), as the templates name them
//! (`PayloadFormatVersion`) and with the integration timeouts of their API types.

use std::time::Duration;

/// The event shape a route's function receives, and how its result is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadFormat {
    /// API Gateway REST API, Lambda proxy integration (payload format 1.0).
    Rest,
    /// API Gateway HTTP API (payload format 2.0).
    Http,
    /// API Gateway HTTP API with `PayloadFormatVersion: "1.0"`: the REST shape with HTTP API
    /// traits (`version: "1.0"`, stage `$default`, lowercase header names, decoded path).
    HttpV1,
    /// A Lambda function URL (the 2.0 shape, function URL context).
    FunctionUrl,
    /// An Application Load Balancer target group (multi-value headers off; Cargo metadata
    /// `payload = "alb"`).
    Alb,
}

/// A REST API's default (and, without a quota increase, longest) integration timeout: 29 s.
pub const REST_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(29);

/// An HTTP API's default and longest integration timeout: 30 s.
pub const HTTP_INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);

impl PayloadFormat {
    /// `"1.0"` → [`PayloadFormat::Rest`], `"2.0"` → [`PayloadFormat::Http`].
    pub fn from_version(version: &str) -> Option<Self> {
        match version.trim() {
            "1.0" => Some(Self::Rest),
            "2.0" => Some(Self::Http),
            _ => None,
        }
    }

    /// An HTTP API's `PayloadFormatVersion`: `"1.0"` → [`PayloadFormat::HttpV1`], `"2.0"` →
    /// [`PayloadFormat::Http`].
    pub fn from_http_api_version(version: &str) -> Option<Self> {
        match Self::from_version(version)? {
            Self::Rest => Some(Self::HttpV1),
            other => Some(other),
        }
    }

    /// The payload format version: `"1.0"` or `"2.0"` (`"alb"` for a load balancer).
    pub fn version(self) -> &'static str {
        match self {
            Self::Rest | Self::HttpV1 => "1.0",
            Self::Http | Self::FunctionUrl => "2.0",
            Self::Alb => "alb",
        }
    }

    /// The longest (and default) integration timeout of the format's API type; `None` for
    /// function URLs and ALBs, which wait as long as the function runs.
    ///
    /// The defaults are the longest AWS allows: 29 s for REST APIs, 30 s for HTTP APIs
    /// (<https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html>, and
    /// `TimeoutInMillis` of `AWS::ApiGateway::Method` Integration / `AWS::ApiGatewayV2::Integration`).
    pub(crate) fn integration_timeout(self) -> Option<Duration> {
        match self {
            Self::Rest => Some(REST_INTEGRATION_TIMEOUT),
            Self::Http | Self::HttpV1 => Some(HTTP_INTEGRATION_TIMEOUT),
            Self::FunctionUrl | Self::Alb => None,
        }
    }
}
