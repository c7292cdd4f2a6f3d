//! Azure OpenAI with a Microsoft Entra ID token gw gets itself: a service principal's client
//! credentials (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, and
//! `AZURE_AUTHORITY_HOST` for a sovereign cloud, the variables Azure's own SDKs read) are
//! exchanged for an access token to Cognitive Services by the OAuth 2.0 client-credentials
//! grant (the `oauth2` crate), which replaces the agent's credential (the session key) on every
//! request. Tokens are renewed 5 minutes before they expire.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use oauth2::basic::BasicClient;
use oauth2::{AuthUrl, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};

/// The scope of Azure OpenAI's data plane.
const SCOPE: &str = "https://cognitiveservices.azure.com/.default";
const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// Tokens are renewed this long before they expire.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);
/// The most a request waits for a token.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(15);

type TokenClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

pub struct AzureEntra {
    tenant: String,
    client_id: ClientId,
    secret: ClientSecret,
    token_url: TokenUrl,
    http: TokenClient,
    /// The current token and when to renew it; one request fetches while the others wait.
    current: tokio::sync::Mutex<Option<(HeaderValue, Instant)>>,
    /// The last refusal, reused for [`RETRY_AFTER_FAILURE`] so requests do not queue behind
    /// one failing token request after another.
    failed: std::sync::Mutex<Option<(Instant, String)>>,
}

const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

impl std::fmt::Debug for AzureEntra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureEntra")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id.as_str())
            .finish_non_exhaustive()
    }
}

impl AzureEntra {
    /// The service principal in gw's environment; `None` without `AZURE_CLIENT_SECRET`, an
    /// error when it is only partly there.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<Result<AzureEntra, String>> {
        let secret = env("AZURE_CLIENT_SECRET")?;
        let (Some(tenant), Some(client_id)) = (env("AZURE_TENANT_ID"), env("AZURE_CLIENT_ID"))
        else {
            return Some(Err(
                "AZURE_CLIENT_SECRET is set but AZURE_TENANT_ID or AZURE_CLIENT_ID is not: set all three for gw to get Entra ID tokens for Azure OpenAI".into(),
            ));
        };
        let authority = env("AZURE_AUTHORITY_HOST").unwrap_or_else(|| DEFAULT_AUTHORITY.into());
        Some(AzureEntra::new(&authority, &tenant, &client_id, &secret))
    }

    pub fn new(
        authority: &str,
        tenant: &str,
        client_id: &str,
        secret: &str,
    ) -> Result<AzureEntra, String> {
        let tenant_ok = !tenant.is_empty()
            && tenant
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !tenant_ok {
            return Err(format!(
                "AZURE_TENANT_ID {tenant:?} is not a tenant id or domain"
            ));
        }
        let plain = authority
            .strip_prefix("http://")
            .map(|rest| rest.split(['/', ':']).next().unwrap_or_default());
        if plain.is_some_and(|host| !matches!(host, "127.0.0.1" | "localhost" | "[")) {
            return Err(format!(
                "AZURE_AUTHORITY_HOST {authority:?} is plain http: the client secret would cross the network in clear; use https"
            ));
        }
        let token_url = TokenUrl::new(format!(
            "{}/{tenant}/oauth2/v2.0/token",
            authority.trim_end_matches('/')
        ))
        .map_err(|e| format!("AZURE_AUTHORITY_HOST {authority:?} is not a URL: {e}"))?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(TOKEN_TIMEOUT));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        Ok(AzureEntra {
            tenant: tenant.to_string(),
            client_id: ClientId::new(client_id.to_string()),
            secret: ClientSecret::new(secret.to_string()),
            token_url,
            http: Client::builder(TokioExecutor::new()).build(https),
            current: tokio::sync::Mutex::new(None),
            failed: std::sync::Mutex::new(None),
        })
    }

    /// Puts gw's token on an Azure request, in place of any credential the agent sent.
    pub async fn authorize(&self, headers: &mut HeaderMap) -> Result<(), String> {
        let token = self.token().await?;
        headers.remove("api-key");
        headers.insert(header::AUTHORIZATION, token);
        Ok(())
    }

    /// The current token, fetched again when it is due.
    async fn token(&self) -> Result<HeaderValue, String> {
        if let Some((at, message)) = self.failed.lock().unwrap().as_ref() {
            if at.elapsed() < RETRY_AFTER_FAILURE {
                return Err(message.clone());
            }
        }
        let result = self.fetch().await;
        *self.failed.lock().unwrap() = result.as_ref().err().map(|m| (Instant::now(), m.clone()));
        result
    }

    async fn fetch(&self) -> Result<HeaderValue, String> {
        let mut current = self.current.lock().await;
        if let Some((token, renew_at)) = current.as_ref() {
            if Instant::now() < *renew_at {
                return Ok(token.clone());
            }
        }
        // The secret goes in the form, as Azure's own SDKs send it.
        let client = BasicClient::new(self.client_id.clone())
            .set_client_secret(self.secret.clone())
            .set_auth_type(oauth2::AuthType::RequestBody)
            // The client-credentials grant never visits the authorization endpoint.
            .set_auth_uri(AuthUrl::from_url(self.token_url.url().clone()))
            .set_token_uri(self.token_url.clone());
        let client_http = self.http.clone();
        let http = move |request: oauth2::HttpRequest| send(client_http.clone(), request);
        let response = tokio::time::timeout(
            TOKEN_TIMEOUT,
            client
                .exchange_client_credentials()
                .add_scope(Scope::new(SCOPE.into()))
                .request_async(&http),
        )
        .await
        .map_err(|_| {
            format!(
                "gw: no Entra ID token within {} s",
                TOKEN_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| {
            let detail = match &e {
                oauth2::RequestTokenError::ServerResponse(r) => r.to_string(),
                other => other.to_string(),
            };
            format!("gw: Entra ID refused a token for Azure OpenAI: {detail}; check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET")
        })?;
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", response.access_token().secret()))
                .map_err(|_| "gw: Entra ID sent an unusable token".to_string())?;
        value.set_sensitive(true);
        let lifetime = response
            .expires_in()
            .unwrap_or(Duration::from_secs(3600))
            .saturating_sub(RENEW_BEFORE);
        *current = Some((value.clone(), Instant::now() + lifetime));
        Ok(value)
    }
}

/// One token request, over gw's own HTTP client.
async fn send(
    http: TokenClient,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TokenHttpError> {
    let (parts, body) = request.into_parts();
    let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
    let response = http
        .request(request)
        .await
        .map_err(|e| TokenHttpError(e.to_string()))?;
    let (parts, body) = response.into_parts();
    // A token answer is small: never hold more than 64 KiB of one.
    let body = http_body_util::Limited::new(body, 64 << 10)
        .collect()
        .await
        .map_err(|e| TokenHttpError(e.to_string()))?
        .to_bytes();
    Ok(http::Response::from_parts(parts, body.to_vec()))
}

#[derive(Debug)]
struct TokenHttpError(String);

impl std::fmt::Display for TokenHttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot reach Entra ID: {}", self.0)
    }
}

impl std::error::Error for TokenHttpError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_or_odd_service_principal_is_refused() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(AzureEntra::from_env(&env(&[("AZURE_TENANT_ID", "t")])).is_none());
        let e = AzureEntra::from_env(&env(&[("AZURE_CLIENT_SECRET", "s")]))
            .unwrap()
            .unwrap_err();
        assert!(e.contains("AZURE_TENANT_ID"), "{e}");
        let e = AzureEntra::from_env(&env(&[
            ("AZURE_CLIENT_SECRET", "s"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_TENANT_ID", "../evil"),
        ]))
        .unwrap()
        .unwrap_err();
        assert!(e.contains("not a tenant"), "{e}");
        let ok = AzureEntra::from_env(&env(&[
            ("AZURE_CLIENT_SECRET", "sekrit-value"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_TENANT_ID", "contoso.onmicrosoft.com"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            ok.token_url.as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert!(!format!("{ok:?}").contains("sekrit"), "{ok:?}");
        let e = AzureEntra::new("http://login.example.com", "t", "c", "s").unwrap_err();
        assert!(e.contains("plain http"), "{e}");
        assert!(AzureEntra::new("http://127.0.0.1:9", "t", "c", "s").is_ok());
    }
}
