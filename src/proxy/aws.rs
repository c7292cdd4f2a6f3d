//! Bedrock with the AWS credentials gw holds: each request is signed with SigV4 (service
//! `bedrock`) by the `aws-sigv4` crate, over exactly the method, URI, `host` and body gw sends,
//! after the agent's own credential (the session key) is gone.
//!
//! The credentials are keys in gw's environment, or what AWS's own credential chain
//! (`aws-config`) finds: profiles in `~/.aws/config` and `~/.aws/credentials` (`AWS_PROFILE`),
//! with IAM Identity Center (SSO), assume-role and `credential_process`; web identity; container
//! and instance roles. Temporary ones are renewed before they expire.

use std::time::{Duration, SystemTime};

use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_types::error::display::DisplayErrorContext;
use http::{HeaderMap, HeaderValue, Method, Uri};

/// Temporary credentials are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);
/// The most a request waits for the chain (an SSO or STS call, a `credential_process`).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(30);

pub struct AwsSigner {
    source: Source,
    region: String,
    service: String,
}

enum Source {
    /// Keys from gw's environment.
    Fixed(Credentials),
    /// AWS's default chain; its last answer is kept until [`RENEW_BEFORE`] its expiry. The lock
    /// makes one request resolve while the others wait for its answer.
    Chain {
        provider: SharedCredentialsProvider,
        current: tokio::sync::Mutex<Option<Credentials>>,
        /// The last failure: reused for [`RETRY_AFTER_FAILURE`], so requests do not queue
        /// behind one slow failing resolution after another.
        failed: std::sync::Mutex<Option<std::time::Instant>>,
    },
}

/// How long a failed resolution is not retried.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

impl std::fmt::Debug for AwsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSigner")
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// Environment variables that point AWS's credential chain at a source, beside the default
/// profile files.
const CHAIN_VARS: [&str; 6] = [
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

impl AwsSigner {
    /// Signs with fixed keys.
    pub fn new(
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<String>,
        region: &str,
        service: &str,
    ) -> AwsSigner {
        AwsSigner {
            source: Source::Fixed(Credentials::new(
                access_key_id,
                secret_access_key,
                session_token,
                None,
                "gw",
            )),
            region: region.to_string(),
            service: service.to_string(),
        }
    }

    /// The keys in gw's environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, optional
    /// `AWS_SESSION_TOKEN`), for Bedrock in `AWS_REGION` (or `AWS_DEFAULT_REGION`, else the
    /// region of a `bedrock-runtime.<region>.amazonaws.com` upstream). `None` without keys.
    pub fn bedrock_from_env(
        env: &dyn Fn(&str) -> Option<String>,
        upstream_host: Option<&str>,
    ) -> Option<Result<AwsSigner, String>> {
        let access = env("AWS_ACCESS_KEY_ID")?;
        let Some(secret) = env("AWS_SECRET_ACCESS_KEY") else {
            return Some(Err(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both for gw to sign Bedrock requests".into(),
            ));
        };
        let Some(region) = known_region(env, upstream_host) else {
            return Some(Err(
                "gw cannot tell the AWS region to sign Bedrock requests for: set AWS_REGION".into(),
            ));
        };
        Some(Ok(AwsSigner::new(
            &access,
            &secret,
            env("AWS_SESSION_TOKEN"),
            &region,
            "bedrock",
        )))
    }

    /// AWS's credential chain, when gw's environment points at one of its sources (a profile
    /// file in `$HOME/.aws`, or one of [`CHAIN_VARS`]); `None` otherwise. Nothing is resolved
    /// yet: the first signed request does, so a `gw run` that never calls Bedrock waits for no
    /// SSO or STS call. The region is `AWS_REGION`, `AWS_DEFAULT_REGION`, the upstream's, else
    /// the profile's.
    pub async fn bedrock_from_chain(
        env: &dyn Fn(&str) -> Option<String>,
        upstream_host: Option<&str>,
    ) -> Option<Result<AwsSigner, String>> {
        let home_files = env("HOME").is_some_and(|home| {
            let dir = std::path::Path::new(&home).join(".aws");
            dir.join("credentials").is_file() || dir.join("config").is_file()
        });
        if !home_files && !CHAIN_VARS.iter().any(|var| env(var).is_some()) {
            return None;
        }
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let config = ProviderConfig::without_region().with_http_client(http);
        let region = match known_region(env, upstream_host) {
            Some(region) => region,
            None => {
                let profile = aws_config::profile::ProfileFileRegionProvider::builder()
                    .configure(&config)
                    .build();
                match aws_config::meta::region::ProvideRegion::region(&profile).await {
                    Some(region) => region.to_string(),
                    None => {
                        return Some(Err(
                            "gw cannot tell the AWS region to sign Bedrock requests for: set AWS_REGION, or region in your AWS profile".into(),
                        ))
                    }
                }
            }
        };
        let aws_region = aws_config::Region::new(region.clone());
        let chain = DefaultCredentialsChain::builder()
            .configure(config.with_region(Some(aws_region.clone())))
            .region(aws_region)
            .build()
            .await;
        Some(Ok(AwsSigner::with_provider(
            SharedCredentialsProvider::new(chain),
            region,
            "bedrock",
        )))
    }

    fn with_provider(
        provider: SharedCredentialsProvider,
        region: String,
        service: &str,
    ) -> AwsSigner {
        AwsSigner {
            source: Source::Chain {
                provider,
                current: tokio::sync::Mutex::new(None),
                failed: std::sync::Mutex::new(None),
            },
            region,
            service: service.to_string(),
        }
    }

    /// The credentials to sign with now: fixed keys, or the chain's current answer (resolved
    /// again when it is within [`RENEW_BEFORE`] of its expiry).
    pub async fn credentials(&self) -> Result<Credentials, String> {
        let (provider, current, failed) = match &self.source {
            Source::Fixed(credentials) => return Ok(credentials.clone()),
            Source::Chain {
                provider,
                current,
                failed,
            } => (provider, current, failed),
        };
        // The details (which may quote a credential helper's output) go to gw's log, not to
        // the agent.
        const FAILED: &str = "gw cannot get AWS credentials to sign Bedrock requests (gw's log says why); check AWS_PROFILE and your AWS profile (`aws sso login` if it uses IAM Identity Center), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in gw's environment";
        if failed
            .lock()
            .unwrap()
            .is_some_and(|at| at.elapsed() < RETRY_AFTER_FAILURE)
        {
            return Err(FAILED.into());
        }
        let mut current = current.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|expiry| expiry > SystemTime::now() + RENEW_BEFORE)
        };
        if let Some(credentials) = current.as_ref().filter(|c| fresh(c)) {
            return Ok(credentials.clone());
        }
        let resolved = match tokio::time::timeout(RESOLVE_TIMEOUT, provider.provide_credentials())
            .await
        {
            Ok(Ok(resolved)) => resolved,
            Ok(Err(e)) => {
                tracing::warn!(error = %DisplayErrorContext(&e), "AWS's credential chain failed");
                *failed.lock().unwrap() = Some(std::time::Instant::now());
                return Err(FAILED.into());
            }
            Err(_) => {
                tracing::warn!(
                    "AWS's credential chain gave no credentials in {} s",
                    RESOLVE_TIMEOUT.as_secs()
                );
                *failed.lock().unwrap() = Some(std::time::Instant::now());
                return Err(FAILED.into());
            }
        };
        *failed.lock().unwrap() = None;
        *current = Some(resolved.clone());
        Ok(resolved)
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Signs a request to `uri` (as sent upstream) with `body` by `credentials` (see
    /// [`AwsSigner::credentials`]), at `time`: adds `authorization`,
    /// `x-amz-date` and, with a session token, `x-amz-security-token` to `headers`. Only `host`
    /// (from `uri`) and those are signed, so what a proxy may still change does not matter.
    pub fn sign(
        &self,
        credentials: &Credentials,
        method: &Method,
        uri: &Uri,
        headers: &mut HeaderMap,
        body: &[u8],
        time: SystemTime,
    ) -> Result<(), String> {
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| format!("cannot sign for AWS: {e}"))?
            .into();
        let host = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .ok_or_else(|| "cannot sign a request without a host".to_string())?;
        let signable = SignableRequest::new(
            method.as_str(),
            uri.to_string(),
            [("host", host.as_str())].into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| format!("cannot sign for AWS: {e}"))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| format!("cannot sign for AWS: {e}"))?
            .into_parts();
        for (name, value) in instructions.headers() {
            let mut value =
                HeaderValue::from_str(value).map_err(|e| format!("cannot sign for AWS: {e}"))?;
            value.set_sensitive(name.eq_ignore_ascii_case("authorization"));
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|e| format!("cannot sign for AWS: {e}"))?,
                value,
            );
        }
        Ok(())
    }
}

/// Whether a Bedrock runtime path is a model call, `/model/<id>/<operation>` for the
/// operations agents use: gw's AWS keys sign nothing else (they open more than models).
pub fn is_model_call(path_and_query: &str) -> bool {
    crate::meter::bedrock_call(path_and_query).is_some_and(|(id, operation)| {
        // An ARN's `/` travels as `%2F`: no segment of the decoded id may climb (`..`).
        let climbs = id
            .split('/')
            .any(|segment| segment == ".." || segment == "." || segment.is_empty());
        !climbs
            && matches!(
                operation,
                "invoke"
                    | "invoke-with-response-stream"
                    | "converse"
                    | "converse-stream"
                    | "count-tokens"
            )
    })
}

/// The AWS region gw knows without asking a profile: `AWS_REGION`, `AWS_DEFAULT_REGION`, else
/// the region of a `bedrock-runtime.<region>.amazonaws.com` upstream.
pub fn known_region(
    env: &dyn Fn(&str) -> Option<String>,
    upstream_host: Option<&str>,
) -> Option<String> {
    env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .filter(|r| !r.trim().is_empty())
        .or_else(|| upstream_host.and_then(region_of_host))
}

/// `bedrock-runtime.eu-west-1.amazonaws.com` → `eu-west-1`.
pub fn region_of_host(host: &str) -> Option<String> {
    let host = host.split(':').next()?;
    let rest = host.strip_prefix("bedrock-runtime.")?;
    let (region, domain) = rest.split_once('.')?;
    (domain.starts_with("amazonaws.com") && !region.is_empty()).then(|| region.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's published SigV4 test suite (aws-c-auth, vendored by aws-sigv4): the signature over
    /// `host` and `x-amz-date`, with and without a session token.
    #[tokio::test]
    async fn signs_as_the_aws_test_suite_says() {
        let time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160); // 2015-08-30T12:36:00Z
        for (method, token, signature) in [
            (
                Method::POST,
                None,
                "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            ),
            (
                Method::GET,
                Some("6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"),
                "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
            ),
        ] {
            let signer = AwsSigner::new(
                "AKIDEXAMPLE",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                token.map(str::to_string),
                "us-east-1",
                "service",
            );
            let mut headers = HeaderMap::new();
            let uri: Uri = "https://example.amazonaws.com/".parse().unwrap();
            let credentials = signer.credentials().await.unwrap();
            signer
                .sign(&credentials, &method, &uri, &mut headers, b"", time)
                .unwrap();
            let auth = headers["authorization"].to_str().unwrap();
            assert!(
                auth.ends_with(&format!("Signature={signature}")),
                "{method}: {auth}"
            );
            assert!(auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
            ));
            assert_eq!(headers["x-amz-date"], "20150830T123600Z");
            assert_eq!(
                headers.contains_key("x-amz-security-token"),
                token.is_some()
            );
        }
    }

    /// Gives keys that expire after the durations it holds, one per call, counting the calls.
    #[derive(Debug)]
    struct Expiring(
        std::sync::Mutex<Vec<Duration>>,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    );

    impl ProvideCredentials for Expiring {
        fn provide_credentials<'a>(
            &'a self,
        ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let ttl = self.0.lock().unwrap().remove(0);
            aws_credential_types::provider::future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AK{n}"),
                "SK",
                Some("token".into()),
                Some(SystemTime::now() + ttl),
                "test",
            )))
        }
    }

    #[tokio::test]
    async fn temporary_credentials_are_kept_until_shortly_before_they_expire() {
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let provider = Expiring(
            std::sync::Mutex::new(vec![Duration::from_secs(120), Duration::from_secs(3600)]),
            calls.clone(),
        );
        let signer = AwsSigner::with_provider(
            SharedCredentialsProvider::new(provider),
            "us-east-1".into(),
            "bedrock",
        );
        // Two minutes left is inside the renewal window: the next request resolves again.
        assert_eq!(signer.credentials().await.unwrap().access_key_id(), "AK0");
        assert_eq!(signer.credentials().await.unwrap().access_key_id(), "AK1");
        // An hour left: kept.
        assert_eq!(signer.credentials().await.unwrap().access_key_id(), "AK1");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn only_model_calls_are_signed() {
        for ok in [
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1:0/invoke-with-response-stream",
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream?x=1",
            "/model/arn:aws:bedrock:us-east-1:1:application-inference-profile%2Fabc/invoke",
            "/model/m/count-tokens",
        ] {
            assert!(is_model_call(ok), "{ok}");
        }
        for refused in [
            "/model/m/async-invoke",
            "/async-invoke",
            "/guardrail/g/version/1/apply",
            "/model//invoke",
            "/model/a/b/invoke",
            "/model/m",
            "/inference-profiles",
            "/model/m%2F..%2F..%2Fguardrail%2Fg/invoke",
            "/model/a%2F%2Fb/invoke",
        ] {
            assert!(!is_model_call(refused), "{refused}");
        }
    }

    #[test]
    fn keys_and_region_come_from_the_environment_or_the_upstream() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(AwsSigner::bedrock_from_env(&env(&[]), None).is_none());
        let signer = AwsSigner::bedrock_from_env(
            &env(&[("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")]),
            Some("bedrock-runtime.eu-west-1.amazonaws.com"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(signer.region(), "eu-west-1");
        let e = AwsSigner::bedrock_from_env(
            &env(&[("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")]),
            Some("127.0.0.1:9"),
        )
        .unwrap()
        .unwrap_err();
        assert!(e.contains("AWS_REGION"), "{e}");
        let e = AwsSigner::bedrock_from_env(&env(&[("AWS_ACCESS_KEY_ID", "AK")]), None)
            .unwrap()
            .unwrap_err();
        assert!(e.contains("AWS_SECRET_ACCESS_KEY"), "{e}");
    }
}
