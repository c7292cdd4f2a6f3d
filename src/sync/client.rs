//! `ServerClient`: the developer side of the gw server's API (whoami, budgets, leases, usage),
//! with a deadline on every call and errors sorted into what a session can act on.

use std::time::Duration;

use http::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::SyncError;
use crate::api::{
    BudgetStatus, IngestResult, LeaseGrant, LeaseRequest, LeaseState, RefusedRow, ReleaseRequest,
    Released, RenewRequest, Whoami,
};
use crate::config::ServerLogin;
use crate::server::client::{encode, Client, ClientError};

/// Deadline of a lease or identity call: a session never waits longer than this on the server.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Deadline of one usage batch (up to 8 MiB).
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// Who a key is (`GET /v1/whoami`).
pub type Identity = Whoami;

#[derive(Clone)]
pub struct ServerClient {
    http: Client,
    url: String,
}

impl ServerClient {
    /// A client of the login's server with its key, trusting the certificates the login
    /// trusts (its CA or pin, else the public roots).
    pub fn new(login: &ServerLogin) -> Result<ServerClient, SyncError> {
        let trust = super::trust_of(login)?;
        let http =
            Client::new(&login.url, Some(login.key.clone()), &trust).map_err(|e| match e {
                ClientError::BadUrl(_) => {
                    SyncError::Config(format!("{e}; run `gw login <url>` with the server's URL"))
                }
                other => SyncError::Config(other.to_string()),
            })?;
        Ok(ServerClient {
            url: http.base().to_string(),
            http,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn whoami(&self) -> Result<Identity, SyncError> {
        let value = self
            .call(Method::GET, "/v1/whoami", None, CALL_TIMEOUT)
            .await?;
        if value["admin"] == true {
            return Err(SyncError::Unauthorized(
                "that is the admin token, not a developer key; use a key from `gw admin key create`".into(),
            ));
        }
        parse(value)
    }

    pub async fn budgets(&self) -> Result<Vec<BudgetStatus>, SyncError> {
        Ok(self.budgets_and_limits().await?.0)
    }

    /// The budgets and rate limits over the key (a server without rate limits has none).
    pub async fn budgets_and_limits(
        &self,
    ) -> Result<(Vec<BudgetStatus>, Vec<crate::api::RateLimitView>), SyncError> {
        let value = self
            .call(Method::GET, "/v1/budgets", None, CALL_TIMEOUT)
            .await?;
        let limits = match value.get("limits") {
            Some(limits) => parse(limits.clone())?,
            None => Vec::new(),
        };
        Ok((parse(value["budgets"].clone())?, limits))
    }

    pub async fn create_lease(
        &self,
        session_id: &str,
        amount: i64,
    ) -> Result<LeaseGrant, SyncError> {
        let body = to_value(LeaseRequest {
            session_id: session_id.to_string(),
            amount_nanos: amount,
        });
        parse(
            self.call(Method::POST, "/v1/leases", Some(body), CALL_TIMEOUT)
                .await?,
        )
    }

    /// Extends the lease (a heartbeat) and adds `top_up` to it.
    pub async fn renew_lease(
        &self,
        lease_id: &str,
        top_up: i64,
        rates: bool,
    ) -> Result<LeaseState, SyncError> {
        let path = format!("/v1/leases/{}/renew", encode(lease_id));
        let body = to_value(RenewRequest {
            amount_nanos: Some(top_up),
            rates,
        });
        parse(
            self.call(Method::POST, &path, Some(body), CALL_TIMEOUT)
                .await?,
        )
    }

    pub async fn release_lease(&self, lease_id: &str, spent: i64) -> Result<Released, SyncError> {
        let path = format!("/v1/leases/{}/release", encode(lease_id));
        let body = to_value(ReleaseRequest {
            spent_nanos: spent.max(0),
        });
        parse(
            self.call(Method::POST, &path, Some(body), CALL_TIMEOUT)
                .await?,
        )
    }

    /// Sends one batch, already serialized as `{"rows": [...]}`.
    pub async fn push_usage(&self, batch: bytes::Bytes) -> Result<IngestResult, SyncError> {
        let send = self.http.send_raw(Method::POST, "/v1/usage", batch, true);
        let (status, value) = tokio::time::timeout(UPLOAD_TIMEOUT, send)
            .await
            .map_err(|_| self.timed_out(UPLOAD_TIMEOUT))?
            .map_err(|e| self.client_error(e))?;
        parse(check(&self.url, status, value)?)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        timeout: Duration,
    ) -> Result<serde_json::Value, SyncError> {
        let send = self.http.send(method, path, body.as_ref());
        let (status, value) = tokio::time::timeout(timeout, send)
            .await
            .map_err(|_| self.timed_out(timeout))?
            .map_err(|e| self.client_error(e))?;
        check(&self.url, status, value)
    }

    fn timed_out(&self, after: Duration) -> SyncError {
        SyncError::Unreachable {
            url: self.url.clone(),
            message: format!("no answer within {} s", after.as_secs()),
        }
    }

    fn client_error(&self, e: ClientError) -> SyncError {
        match e {
            ClientError::Unreachable { url, message } => SyncError::Unreachable { url, message },
            other => SyncError::Config(other.to_string()),
        }
    }
}

fn to_value(body: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(body).expect("request bodies serialize")
}

fn parse<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, SyncError> {
    serde_json::from_value(value)
        .map_err(|e| SyncError::Protocol(format!("unexpected answer from the gw server: {e}")))
}

/// Sorts an error status into a `SyncError`.
fn check(
    url: &str,
    status: StatusCode,
    value: serde_json::Value,
) -> Result<serde_json::Value, SyncError> {
    if status.is_success() {
        return Ok(value);
    }
    let message = value["error"]["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{status}: {value}"));
    Err(match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SyncError::Unauthorized(message),
        StatusCode::PAYMENT_REQUIRED => {
            match serde_json::from_value::<BudgetStatus>(value["error"]["budget"].clone()) {
                Ok(budget) => SyncError::BudgetExhausted {
                    message,
                    budget: Box::new(budget),
                },
                Err(_) => SyncError::Api {
                    status: 402,
                    message,
                },
            }
        }
        StatusCode::BAD_REQUEST if value["error"]["rows"].is_array() => {
            match serde_json::from_value::<Vec<RefusedRow>>(value["error"]["rows"].clone()) {
                Ok(rows) => SyncError::RowsRefused { message, rows },
                Err(_) => SyncError::Api {
                    status: 400,
                    message,
                },
            }
        }
        StatusCode::GONE | StatusCode::CONFLICT | StatusCode::NOT_FOUND => {
            SyncError::LeaseGone(message)
        }
        s if s.is_server_error() => SyncError::Unreachable {
            url: url.to_string(),
            message: format!("the server failed ({s}): {message}"),
        },
        s => SyncError::Api {
            status: s.as_u16(),
            message,
        },
    })
}
