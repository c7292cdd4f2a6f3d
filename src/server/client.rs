//! A small JSON client of the server API (HTTP or HTTPS), used by `gw admin` and the tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

use super::trust::{self, Seen, Trust};

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid server URL `{0}`: use http://HOST:PORT or https://HOST:PORT")]
    BadUrl(String),
    #[error("cannot reach the gw server at {url}: {message}\n  is `gw server` running there? (set --server or GW_SERVER)")]
    Unreachable { url: String, message: String },
    #[error("{0}")]
    Ca(String),
    /// The server's certificate was refused: the cause and the fix, in words.
    #[error("{0}")]
    Certificate(String),
    #[error("the server answered {status}: {message}")]
    Api {
        status: StatusCode,
        kind: String,
        message: String,
        body: serde_json::Value,
    },
}

#[derive(Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    /// What the server presented at the last TLS handshake, to explain a refusal.
    seen: Arc<Mutex<Seen>>,
    http: HyperClient<Https, Full<Bytes>>,
}

impl Client {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8787`) trusting, over HTTPS,
    /// the certificates `trust` allows.
    pub fn new(base: &str, token: Option<String>, trust: &Trust) -> Result<Client, ClientError> {
        let base = base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::BadUrl(base));
        }
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let (tls, seen) = trust::client_config(trust).map_err(ClientError::Ca)?;
        let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
        let https = builder.https_or_http().enable_http1().wrap_connector(http);
        Ok(Client {
            base,
            token,
            seen,
            // The server closes a connection idle for its header-read timeout (10 s): drop idle
            // ones sooner, so a request never races that close on a connection about to go.
            http: HyperClient::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(5))
                .build(https),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request; returns the status and the body as JSON (`Null` when empty, a string
    /// when not JSON).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(StatusCode, serde_json::Value), ClientError> {
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        self.send_raw(method, path, bytes, body.is_some()).await
    }

    /// Sends raw bytes (as JSON when `json`).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        json: bool,
    ) -> Result<(StatusCode, serde_json::Value), ClientError> {
        let url = format!("{}{path}", self.base);
        let mut req = Request::builder().method(method).uri(&url);
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if json {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        // What this gw enforces: the server gives leases under a strict budget or a rate limit
        // only to sessions that say they do (an older gw would pass them).
        req = req.header(crate::api::FEATURES_HEADER, crate::api::FEATURES);
        let req = req
            .body(Full::new(body))
            .map_err(|_| ClientError::BadUrl(url.clone()))?;
        let unreachable = |message: String| ClientError::Unreachable {
            url: self.base.clone(),
            message,
        };
        let resp = self.http.request(req).await.map_err(|e| {
            // A refused certificate is told by the error itself; what the verifier noted of the
            // handshake (shared by the client's connections) only adds the details.
            let Some(refused) = certificate_refusal(&e) else {
                return unreachable(error_chain(&e));
            };
            let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let problem = seen
                .problem
                .unwrap_or_else(|| trust::CertProblem::from_rustls(refused));
            ClientError::Certificate(problem.explain(&self.base, seen.fingerprint))
        })?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .to_bytes();
        let value = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned())
            })
        };
        Ok((status, value))
    }

    /// Sends a request and turns an error status into `ClientError::Api`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, ClientError> {
        let (status, value) = self.send(method, path, body).await?;
        if status.is_success() {
            return Ok(value);
        }
        let message = value["error"]["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| value.to_string());
        Err(ClientError::Api {
            status,
            kind: value["error"]["type"].as_str().unwrap_or("").to_string(),
            message,
            body: value,
        })
    }
}

/// The TLS error refusing the server's certificate, if that is what failed: found down the
/// error's sources, looking inside `io::Error`s (whose `source` skips the error they wrap).
/// The io::Error's own `source` is not followed past a wrapped error: that is the wrapped
/// error's source, reached from it.
fn certificate_refusal<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(mut e) = next {
        // io::Errors wrap each other (hyper-rustls wraps tokio-rustls's, which wraps rustls's).
        while let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            e = inner;
        }
        if let Some(tls @ rustls::Error::InvalidCertificate(_)) = e.downcast_ref::<rustls::Error>()
        {
            return Some(tls);
        }
        next = e.source();
    }
    None
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Percent-encodes a path segment or query value.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
