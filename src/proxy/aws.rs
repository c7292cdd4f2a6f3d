//! Bedrock with the AWS access keys gw holds: each request is signed with SigV4 (service
//! `bedrock`) by the `aws-sigv4` crate, over exactly the method, URI, `host` and body gw sends,
//! after the agent's own credential (the session key) is gone.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use http::{HeaderMap, HeaderValue, Method, Uri};

pub struct AwsSigner {
    credentials: Credentials,
    region: String,
    service: String,
}

impl std::fmt::Debug for AwsSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsSigner")
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl AwsSigner {
    pub fn new(
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<String>,
        region: &str,
        service: &str,
    ) -> AwsSigner {
        AwsSigner {
            credentials: Credentials::new(
                access_key_id,
                secret_access_key,
                session_token,
                None,
                "gw",
            ),
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
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .or_else(|| upstream_host.and_then(region_of_host));
        let Some(region) = region else {
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

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Signs a request to `uri` (as sent upstream) with `body`, at `time`: adds `authorization`,
    /// `x-amz-date` and, with a session token, `x-amz-security-token` to `headers`. Only `host`
    /// (from `uri`) and those are signed, so what a proxy may still change does not matter.
    pub fn sign(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &mut HeaderMap,
        body: &[u8],
        time: SystemTime,
    ) -> Result<(), String> {
        let identity = self.credentials.clone().into();
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
    #[test]
    fn signs_as_the_aws_test_suite_says() {
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
            signer.sign(&method, &uri, &mut headers, b"", time).unwrap();
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
