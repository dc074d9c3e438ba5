//! CORS from an API's configuration, as API Gateway applies it. Pure: headers in, headers out.
//!
//! - **HTTP APIs** (`CorsConfiguration`): "If you configure CORS for an API, API Gateway
//!   automatically sends a response to preflight OPTIONS requests, even if there isn't an
//!   OPTIONS route configured for your API. For a CORS request, API Gateway adds the configured
//!   CORS headers to the response from an integration", and "API Gateway ignores CORS headers
//!   returned from your backend integration"
//!   (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html>). A
//!   request whose `Origin` is not one of `allowOrigins` gets no CORS headers. A route that
//!   takes `OPTIONS` (`OPTIONS`, `ANY`, `$default`) gets the preflight instead (see
//!   `front/gateway.rs`), and its answer gets the configured headers.
//! - **REST APIs** (SAM `AWS::Serverless::Api` `Cors`): SAM adds an `OPTIONS` method with a mock
//!   integration to every path of the API, answering with the configured header values as they
//!   are, whatever the request's `Origin`; a Lambda proxy integration's responses carry only the
//!   headers the function sets ("If you use Lambda proxy integration or HTTP proxy integration,
//!   your backend must return the Access-Control-Allow-Origin, Access-Control-Allow-Methods, and
//!   Access-Control-Allow-Headers headers",
//!   <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-corsconfiguration.html>,
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html>).

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};

/// An API's CORS configuration (HTTP API `CorsConfiguration`, REST API SAM `Cors`, serverless.yml
/// `cors`). Lists are kept as written; for REST APIs each list is sent joined by commas.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Cors {
    /// `Access-Control-Allow-Origin`: origins (`https://app.example`) or `*`.
    pub allow_origins: Vec<String>,
    /// `Access-Control-Allow-Methods`: methods or `*`.
    pub allow_methods: Vec<String>,
    /// `Access-Control-Allow-Headers`: header names or `*`.
    pub allow_headers: Vec<String>,
    /// `Access-Control-Expose-Headers` (HTTP APIs only).
    pub expose_headers: Vec<String>,
    /// `Access-Control-Max-Age` in seconds.
    pub max_age: Option<u32>,
    /// `Access-Control-Allow-Credentials: true`.
    pub allow_credentials: bool,
}

/// The methods SAM allows on a REST API's path when `Cors` sets no `AllowMethods` (SAM lists the
/// path's methods; the emulator allows all of them).
const REST_DEFAULT_METHODS: &str = "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT";

impl Cors {
    /// Whether `request` is a CORS preflight: `OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`. Returns the method it asks for.
    pub fn preflight_method<B>(request: &http::Request<B>) -> Option<Method> {
        if request.method() != Method::OPTIONS || !request.headers().contains_key(header::ORIGIN) {
            return None;
        }
        let asked = request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
        Method::from_bytes(asked.as_bytes()).ok()
    }

    /// The `Access-Control-Allow-Origin` an HTTP API sends for a request from `origin`, if that
    /// origin is allowed: `*` when all are, else the origin itself.
    fn allowed_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        if self.allow_origins.iter().any(|o| o == "*") {
            return Some(HeaderValue::from_static("*"));
        }
        let text = origin.to_str().ok()?;
        self.allow_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(text))
            .then(|| origin.clone())
    }

    /// An HTTP API's answer to a preflight with `request_headers`: 204, with the configured
    /// headers when the origin is allowed and none otherwise.
    pub fn http_preflight(&self, request_headers: &HeaderMap) -> Response<Bytes> {
        let mut response = empty(StatusCode::NO_CONTENT);
        if let Some(origin) = self.allowed_origin(request_headers) {
            let headers = response.headers_mut();
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            self.put_preflight(headers, None);
        }
        response
    }

    /// Applies an HTTP API's CORS to the function's `response` to a request with
    /// `request_headers`: the function's own `Access-Control-*` headers go, and the configured
    /// ones come when the origin is allowed. A `preflight` a route took to its function gets
    /// those of a preflight too: API Gateway ignores the function's.
    pub fn apply_http(
        &self,
        request_headers: &HeaderMap,
        preflight: bool,
        response: &mut Response<Bytes>,
    ) {
        let headers = response.headers_mut();
        let own: Vec<_> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in own {
            headers.remove(name);
        }
        if let Some(origin) = self.allowed_origin(request_headers) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            put_list(
                headers,
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                &self.expose_headers,
            );
            if preflight {
                self.put_preflight(headers, None);
            } else {
                self.put_common(headers, false);
            }
        }
    }

    /// The answer of the `OPTIONS` mock integration SAM adds to a REST API's paths: 200, the
    /// configured values whatever the request's origin.
    pub fn rest_preflight(&self) -> Response<Bytes> {
        let mut response = empty(StatusCode::OK);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        put_list(
            headers,
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            &self.allow_origins,
        );
        self.put_preflight(headers, Some(REST_DEFAULT_METHODS));
        response
    }

    /// A preflight's `Access-Control-Allow-Methods` (`default_methods` when none are
    /// configured), `-Allow-Headers`, `-Max-Age` and `-Allow-Credentials`.
    fn put_preflight(&self, headers: &mut HeaderMap, default_methods: Option<&'static str>) {
        match default_methods.filter(|_| self.allow_methods.is_empty()) {
            Some(methods) => {
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static(methods),
                );
            }
            None => put_list(
                headers,
                header::ACCESS_CONTROL_ALLOW_METHODS,
                &self.allow_methods,
            ),
        }
        put_list(
            headers,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            &self.allow_headers,
        );
        self.put_common(headers, true);
    }

    /// `Access-Control-Allow-Credentials` and, for a `preflight`, `-Max-Age`, as configured.
    fn put_common(&self, headers: &mut HeaderMap, preflight: bool) {
        if let Some(age) = self.max_age.filter(|_| preflight) {
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age));
        }
        if self.allow_credentials {
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }
}

/// Sets `name` to `values` joined by commas, unless there are none (or they are no header value).
fn put_list(headers: &mut HeaderMap, name: header::HeaderName, values: &[String]) {
    if values.is_empty() {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(&values.join(",")) {
        headers.insert(name, value);
    }
}

fn empty(status: StatusCode) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Cors {
        Cors {
            allow_origins: vec!["http://app.test:3000".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["content-type".into(), "x-key".into()],
            expose_headers: vec!["x-total".into()],
            max_age: Some(600),
            allow_credentials: true,
        }
    }

    fn from(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        headers
    }

    fn get<'h>(response: &'h Response<Bytes>, name: &str) -> Option<&'h str> {
        response.headers().get(name).map(|v| v.to_str().unwrap())
    }

    #[test]
    fn a_preflight_is_options_with_origin_and_a_requested_method() {
        let request = |method: Method, pairs: &[(&str, &str)]| {
            let mut builder = http::Request::builder().method(method).uri("/a");
            for (name, value) in pairs {
                builder = builder.header(*name, *value);
            }
            Cors::preflight_method(&builder.body(()).unwrap())
        };
        let full = [
            ("origin", "http://a.test"),
            ("access-control-request-method", "PUT"),
        ];
        assert_eq!(request(Method::OPTIONS, &full), Some(Method::PUT));
        assert_eq!(request(Method::GET, &full), None);
        assert_eq!(request(Method::OPTIONS, &full[..1]), None);
        assert_eq!(request(Method::OPTIONS, &full[1..]), None);
    }

    #[test]
    fn http_preflight_from_an_allowed_origin_has_the_configured_headers() {
        let response = config().http_preflight(&from("http://app.test:3000"));
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(
            get(&response, "access-control-allow-origin"),
            Some("http://app.test:3000")
        );
        assert_eq!(
            get(&response, "access-control-allow-methods"),
            Some("GET,POST")
        );
        assert_eq!(
            get(&response, "access-control-allow-headers"),
            Some("content-type,x-key")
        );
        assert_eq!(get(&response, "access-control-max-age"), Some("600"));
        assert_eq!(
            get(&response, "access-control-allow-credentials"),
            Some("true")
        );
        // Expose-Headers is for actual responses, not for preflights.
        assert_eq!(get(&response, "access-control-expose-headers"), None);
    }

    #[test]
    fn a_disallowed_origin_gets_no_cors_headers() {
        let response = config().http_preflight(&from("http://evil.test"));
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.headers().is_empty(), "{:?}", response.headers());

        let mut response = empty(StatusCode::OK);
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        config().apply_http(&from("http://evil.test"), false, &mut response);
        assert!(response.headers().is_empty(), "{:?}", response.headers());
        // No Origin at all: not a CORS request.
        config().apply_http(&HeaderMap::new(), true, &mut response);
        assert!(response.headers().is_empty());
    }

    #[test]
    fn http_responses_get_the_configured_headers_instead_of_the_functions() {
        let mut response = empty(StatusCode::OK);
        let headers = response.headers_mut();
        headers.insert("x-own", HeaderValue::from_static("kept"));
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("http://other.test"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("DELETE"),
        );
        config().apply_http(&from("http://app.test:3000"), false, &mut response);
        assert_eq!(get(&response, "x-own"), Some("kept"));
        assert_eq!(
            get(&response, "access-control-allow-origin"),
            Some("http://app.test:3000")
        );
        assert_eq!(
            get(&response, "access-control-expose-headers"),
            Some("x-total")
        );
        assert_eq!(
            get(&response, "access-control-allow-credentials"),
            Some("true")
        );
        assert_eq!(get(&response, "access-control-allow-methods"), None);
        assert_eq!(get(&response, "access-control-max-age"), None);

        // A preflight answered by the function gets the preflight's headers.
        let mut response = empty(StatusCode::OK);
        config().apply_http(&from("http://app.test:3000"), true, &mut response);
        assert_eq!(
            get(&response, "access-control-allow-methods"),
            Some("GET,POST")
        );
        assert_eq!(get(&response, "access-control-max-age"), Some("600"));
    }

    #[test]
    fn a_wildcard_origin_allows_every_origin_as_star() {
        let cors = Cors {
            allow_origins: vec!["*".into()],
            ..Cors::default()
        };
        let response = cors.http_preflight(&from("http://anything.test:1"));
        assert_eq!(get(&response, "access-control-allow-origin"), Some("*"));
        // Nothing else configured, nothing else sent.
        assert_eq!(response.headers().len(), 1, "{:?}", response.headers());
        let mut response = empty(StatusCode::OK);
        cors.apply_http(&from("http://else.test"), false, &mut response);
        assert_eq!(get(&response, "access-control-allow-origin"), Some("*"));
        assert_eq!(get(&response, "access-control-allow-credentials"), None);
    }

    #[test]
    fn rest_preflight_sends_the_configured_values_whatever_the_origin() {
        let cors = Cors {
            allow_origins: vec!["https://www.example.com".into()],
            allow_headers: vec!["Content-Type".into(), "X-Api-Key".into()],
            max_age: Some(60),
            ..Cors::default()
        };
        let response = cors.rest_preflight();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            get(&response, "access-control-allow-origin"),
            Some("https://www.example.com")
        );
        assert_eq!(
            get(&response, "access-control-allow-methods"),
            Some(REST_DEFAULT_METHODS)
        );
        assert_eq!(
            get(&response, "access-control-allow-headers"),
            Some("Content-Type,X-Api-Key")
        );
        assert_eq!(get(&response, "access-control-max-age"), Some("60"));
        assert_eq!(get(&response, "access-control-allow-credentials"), None);
    }
}
