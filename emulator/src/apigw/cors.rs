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
//! - **Function URLs** (`FunctionUrlConfig.Cors`, CreateFunctionUrlConfig's `Cors`): Lambda
//!   answers preflights itself with only the configured headers, and adds the configured headers
//!   to every other response next to the function's own ("Lambda returns both the configured
//!   CORS headers on the function URL, as well as the CORS headers returned by the function",
//!   <https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html#urls-cors>). Their
//!   CORS responses also carry `Vary: Origin`, since the allowed origin sent depends on the
//!   request's (the Fetch standard's rule for caches, <https://fetch.spec.whatwg.org/#cors-protocol-and-http-caches>).
//!   API Gateway's documentation shows no `Vary` on its CORS answers, so none is added there.

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
        self.preflight(StatusCode::NO_CONTENT, request_headers)
    }

    /// A function URL's answer to a preflight with `request_headers`: 200, with the configured
    /// headers when the origin is allowed, and `Vary: Origin`.
    pub fn url_preflight(&self, request_headers: &HeaderMap) -> Response<Bytes> {
        let mut response = self.preflight(StatusCode::OK, request_headers);
        vary_on_origin(response.headers_mut());
        response
    }

    /// Adds a function URL's CORS to the headers of the function's response to a request with
    /// `request_headers`: the configured ones (when the origin is allowed) next to the
    /// function's own, and `Vary: Origin`.
    pub fn apply_url(&self, request_headers: &HeaderMap, headers: &mut HeaderMap) {
        for (name, value) in &self.response_headers(request_headers, false) {
            headers.append(name, value.clone());
        }
        vary_on_origin(headers);
    }

    /// Sets `Access-Control-Allow-Origin` to the allowed origins, comma-separated, as
    /// serverless-step-functions' `cors` sets it on the integration responses of a route that
    /// starts a state machine (a REST API's non-proxy integration sends nothing else).
    pub fn apply_integration(&self, headers: &mut HeaderMap) {
        if let Ok(origins) = HeaderValue::from_str(&self.allow_origins.join(",")) {
            headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, origins);
        }
    }

    /// The answer to a preflight: `status`, with the configured headers when the origin is
    /// allowed.
    fn preflight(&self, status: StatusCode, request_headers: &HeaderMap) -> Response<Bytes> {
        let mut response = empty(status);
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
        headers.extend(self.response_headers(request_headers, preflight));
    }

    /// The configured headers of a response to a request with `request_headers` (a `preflight`
    /// taken to the function gets those of a preflight too); none when the origin is not allowed.
    fn response_headers(&self, request_headers: &HeaderMap, preflight: bool) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(origin) = self.allowed_origin(request_headers) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            put_list(
                &mut headers,
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                &self.expose_headers,
            );
            if preflight {
                self.put_preflight(&mut headers, None);
            } else {
                self.put_common(&mut headers, false);
            }
        }
        headers
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

/// A function URL `Cors` setting outside the limits of Lambda's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlCorsError {
    /// The field, as the API names it (`AllowMethods`, `MaxAge`, …).
    pub field: &'static str,
    /// The value, as text.
    pub value: String,
    /// The limit it breaks, in the words of Lambda's validation errors.
    pub constraint: String,
}

impl Cors {
    /// Checks a function URL's CORS against the limits of Lambda's `Cors` type: at most 100
    /// origins of 1 to 253 characters, 6 methods of at most 6 characters, 100 headers of at most
    /// 1024 characters each (allowed and exposed), `MaxAge` at most 86400
    /// (<https://docs.aws.amazon.com/lambda/latest/api/API_Cors.html>).
    pub fn check_url_limits(&self) -> Result<(), UrlCorsError> {
        let lists: [(&'static str, &[String], usize, usize); 4] = [
            ("AllowOrigins", &self.allow_origins, 100, 253),
            ("AllowMethods", &self.allow_methods, 6, 6),
            ("AllowHeaders", &self.allow_headers, 100, 1024),
            ("ExposeHeaders", &self.expose_headers, 100, 1024),
        ];
        for (field, items, max_items, max_len) in lists {
            let error = |constraint: String| UrlCorsError {
                field,
                value: format!("[{}]", items.join(", ")),
                constraint,
            };
            if items.len() > max_items {
                return Err(error(format!(
                    "Member must have length less than or equal to {max_items}"
                )));
            }
            let min_len = usize::from(field == "AllowOrigins");
            if items.iter().any(|i| i.len() > max_len || i.len() < min_len) {
                return Err(error(format!(
                    "Member must satisfy constraint: [Member must have length less than or \
                     equal to {max_len}, Member must have length greater than or equal to \
                     {min_len}]"
                )));
            }
        }
        if let Some(age) = self.max_age.filter(|a| *a > MAX_URL_MAX_AGE) {
            return Err(UrlCorsError {
                field: "MaxAge",
                value: age.to_string(),
                constraint: format!(
                    "Member must have value less than or equal to {MAX_URL_MAX_AGE}"
                ),
            });
        }
        Ok(())
    }
}

/// The longest `MaxAge` a function URL's CORS may set: a day.
const MAX_URL_MAX_AGE: u32 = 86_400;

/// Sets `name` to `values` joined by commas, unless there are none (or they are no header value).
fn put_list(headers: &mut HeaderMap, name: header::HeaderName, values: &[String]) {
    if values.is_empty() {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(&values.join(",")) {
        headers.insert(name, value);
    }
}

/// Adds `Origin` to `Vary` (once).
fn vary_on_origin(headers: &mut HeaderMap) {
    let present = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin"));
    if !present {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
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

    #[test]
    fn function_urls_answer_preflights_with_200_and_vary_on_origin() {
        let response = config().url_preflight(&from("http://app.test:3000"));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            get(&response, "access-control-allow-origin"),
            Some("http://app.test:3000")
        );
        assert_eq!(
            get(&response, "access-control-allow-methods"),
            Some("GET,POST")
        );
        assert_eq!(get(&response, "access-control-max-age"), Some("600"));
        assert_eq!(get(&response, "vary"), Some("Origin"));
        let refused = config().url_preflight(&from("http://evil.test"));
        assert_eq!(get(&refused, "access-control-allow-origin"), None);
        assert_eq!(get(&refused, "access-control-allow-methods"), None);
    }

    #[test]
    fn function_urls_add_the_configured_headers_next_to_the_functions() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        headers.insert(
            header::VARY,
            HeaderValue::from_static("accept-encoding, origin"),
        );
        config().apply_url(&from("http://app.test:3000"), &mut headers);
        let origins: Vec<_> = headers
            .get_all(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .iter()
            .collect();
        assert_eq!(origins, ["*", "http://app.test:3000"]);
        assert_eq!(headers[header::ACCESS_CONTROL_EXPOSE_HEADERS], "x-total");
        assert!(!headers.contains_key(header::ACCESS_CONTROL_MAX_AGE));
        // Vary already names Origin: not added twice.
        assert_eq!(headers.get_all(header::VARY).iter().count(), 1);

        let mut headers = HeaderMap::new();
        config().apply_url(&from("http://evil.test"), &mut headers);
        assert_eq!(headers.len(), 1, "{headers:?}");
        assert_eq!(headers[header::VARY], "Origin");
    }

    #[test]
    fn function_url_cors_is_held_to_lambdas_limits() {
        assert_eq!(config().check_url_limits(), Ok(()));
        let bad = |cors: Cors, field: &str| {
            let error = cors.check_url_limits().unwrap_err();
            assert_eq!(error.field, field, "{error:?}");
        };
        bad(
            Cors {
                max_age: Some(86_401),
                ..config()
            },
            "MaxAge",
        );
        bad(
            Cors {
                allow_methods: vec!["OPTIONS2".into()],
                ..config()
            },
            "AllowMethods",
        );
        bad(
            Cors {
                allow_methods: vec!["GET".into(); 7],
                ..config()
            },
            "AllowMethods",
        );
        bad(
            Cors {
                allow_origins: vec![String::new()],
                ..config()
            },
            "AllowOrigins",
        );
        bad(
            Cors {
                expose_headers: vec!["x".repeat(1025)],
                ..config()
            },
            "ExposeHeaders",
        );
    }
}
