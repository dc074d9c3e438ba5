//! The Lambda client for a [`Target`].

use std::{net::IpAddr, time::Duration};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_lambda::{
    Client,
    config::{Credentials, retry::RetryConfig},
};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use crate::{DeployError, Target};

/// The region of a loopback endpoint when [`Target::region`] is unset.
const LOCAL_REGION: &str = "us-east-1";

/// The access key (and secret) sent to a loopback endpoint, which checks no signatures.
const LOCAL_KEY: &str = "lambkin";

/// The execution role of a function created on a loopback endpoint without one.
pub(crate) const LOCAL_ROLE: &str = "arn:aws:iam::012345678912:role/lambkin-local";

/// A Lambda client and what the error hints need to know about where it points.
#[derive(Debug)]
pub(crate) struct Connection {
    pub(crate) client: Client,
    pub(crate) endpoint: Endpoint,
}

/// Where requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// AWS's own endpoint for the region.
    Aws { region: String },
    /// An endpoint URL: the emulator, a VPC endpoint, another Lambda-compatible service.
    Url { url: String, loopback: bool },
}

impl Endpoint {
    /// Whether this is a loopback endpoint URL.
    pub(crate) fn is_loopback(&self) -> bool {
        matches!(self, Endpoint::Url { loopback: true, .. })
    }
}

/// Builds the client: placeholder credentials for a loopback endpoint, the standard chains
/// otherwise.
pub(crate) async fn connect(target: &Target) -> Result<Connection, DeployError> {
    let config = aws_config(target).await?;
    let mut lambda = aws_sdk_lambda::config::Builder::from(&config.shared);
    let endpoint = match &config.endpoint_url {
        Some(url) => {
            lambda = lambda.endpoint_url(url);
            Endpoint::Url {
                url: url.clone(),
                loopback: config.loopback,
            }
        }
        None => Endpoint::Aws {
            region: config.region,
        },
    };
    Ok(Connection {
        client: Client::from_conf(lambda.build()),
        endpoint,
    })
}

/// The AWS SDK configuration every Lambkin client of an AWS API starts from (`lambkin deploy`'s
/// Lambda client, the emulator's SQS pollers): HTTPS on rustls with ring, the target's region,
/// and credentials.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// What a service's config builder takes (`aws_sdk_sqs::config::Builder::from(&shared)`);
    /// it has no endpoint URL, so that STS and SSO, which the credential chain may call, stay
    /// on AWS.
    pub shared: aws_config::SdkConfig,
    /// The service's endpoint URL, to set on the service's config; `None`: AWS's own.
    pub endpoint_url: Option<String>,
    /// Whether [`endpoint_url`](AwsConfig::endpoint_url) is on this machine.
    pub loopback: bool,
    /// The region requests are signed for.
    pub region: String,
}

/// The configuration for `target`: for a loopback endpoint URL, placeholder credentials (a local
/// service checks no signatures) and quick retries; otherwise AWS's standard credential and
/// region chains, with the target's profile and region over them.
pub async fn aws_config(target: &Target) -> Result<AwsConfig, DeployError> {
    // Hyper with rustls on ring: the SDK's default HTTPS client would bring aws-lc instead.
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let url = target.endpoint_url.as_deref();
    let loopback = match url {
        Some(url) => is_loopback(url).ok_or_else(|| DeployError::bad_endpoint_url(url))?,
        None => false,
    };
    let endpoint_url = url.map(str::to_owned);
    if loopback {
        let region = target.region.as_deref().unwrap_or(LOCAL_REGION);
        let shared = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                LOCAL_KEY,
                LOCAL_KEY,
                None,
                None,
                "lambkin-local",
            )))
            .http_client(http_client)
            // A local endpoint that refused a connection is not coming back in seconds: fail fast.
            .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(50)))
            .build();
        return Ok(AwsConfig {
            shared,
            endpoint_url,
            loopback,
            region: region.to_owned(),
        });
    }

    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client);
    if let Some(profile) = &target.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &target.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let shared = loader.load().await;
    let region = shared
        .region()
        .ok_or_else(|| DeployError::no_region(target.profile.as_deref()))?
        .to_string();
    Ok(AwsConfig {
        shared,
        endpoint_url,
        loopback,
        region,
    })
}

/// Whether an `http://` or `https://` URL's host is `localhost` or a loopback address (or the
/// unspecified address, which connects to this machine too); `None` if it is not such a URL.
pub(crate) fn is_loopback(url: &str) -> Option<bool> {
    let uri: http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let host = uri.host().filter(|host| !host.is_empty())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = host.strip_suffix('.').unwrap_or(host);
    Some(
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<IpAddr>()
                .is_ok_and(|ip| ip.to_canonical().is_loopback() || ip.is_unspecified()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for url in [
            "http://127.0.0.1:9001",
            "http://127.0.0.1",
            "http://127.1.2.3:80/",
            "https://localhost:9001/2015-03-31",
            "http://LOCALHOST.:9001",
            "http://[::1]:9001",
            "http://[::1]",
            "http://[::ffff:127.0.0.1]:9001",
            "http://user:pass@127.0.0.1:9001",
            "HTTP://localhost?x",
            "http://0.0.0.0:9001",
        ] {
            assert_eq!(is_loopback(url), Some(true), "{url}");
        }
    }

    #[test]
    fn other_hosts() {
        for url in [
            "https://lambda.us-east-1.amazonaws.com",
            "http://192.168.1.10:9001",
            "http://[::2]:9001",
            "http://localhost.example.com",
            "http://127.0.0.1.example.com",
        ] {
            assert_eq!(is_loopback(url), Some(false), "{url}");
        }
    }

    #[test]
    fn not_urls() {
        for url in [
            "127.0.0.1:9001",
            "localhost",
            "ftp://localhost",
            "http://",
            "http://:9001",
            "http://[::1",
        ] {
            assert_eq!(is_loopback(url), None, "{url}");
        }
    }

    #[tokio::test]
    async fn a_bad_endpoint_url_fails_before_any_call() {
        let target = Target {
            endpoint_url: Some("localhost:9001".into()),
            ..Target::default()
        };
        let error = connect(&target).await.expect_err("not a URL");
        assert!(error.to_string().contains("localhost:9001"), "{error}");
        assert!(error.to_string().contains("http://"), "{error}");
    }
}
