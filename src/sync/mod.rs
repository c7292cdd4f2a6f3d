//! Team mode: the client of the gw server's API, the session's budget lease and the usage
//! uploader that pushes ledger rows to the server.

pub mod client;
pub mod lease;
pub mod notices;
pub mod plan;
pub mod session;
pub mod uploader;

use crate::api::{BudgetStatus, RefusedRow};
use crate::config::{env_vars, Credentials, CredentialsError, ServerLogin};
use crate::ledger::LedgerError;
use crate::server::trust::{Fingerprint, Trust};

pub use client::{Identity, ServerClient};
pub use lease::LeaseManager;
pub use notices::Notices;
pub use session::TeamSession;
pub use uploader::{PushReport, Uploader};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("cannot reach the gw server at {url}: {message}\n  check the URL (`gw login <url>` or GW_SERVER) and that the server is up; rows stay queued in the ledger until then")]
    Unreachable { url: String, message: String },
    #[error("the gw server refused the key: {0}\n  log in again with a valid key: gw login <url> --key gwk_...")]
    Unauthorized(String),
    #[error("{message}")]
    BudgetExhausted {
        message: String,
        budget: Box<BudgetStatus>,
    },
    #[error("{0}")]
    LeaseGone(String),
    #[error("the gw server answered {status}: {message}")]
    Api { status: u16, message: String },
    /// A usage batch refused for the rows named (the uploader quarantines them).
    #[error("the gw server refused rows of a usage batch: {message}\n  `gw sync` quarantines them in the ledger and sends the rest")]
    RowsRefused {
        message: String,
        rows: Vec<RefusedRow>,
    },
    #[error("{0}")]
    Protocol(String),
    #[error("{0}")]
    Config(String),
    #[error("not logged in to a gw server: run `gw login <url>` (or set GW_SERVER and GW_KEY)")]
    NotLoggedIn,
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl SyncError {
    /// Whether trying again later may succeed (the server or the network is down).
    pub fn is_transient(&self) -> bool {
        matches!(self, SyncError::Unreachable { .. })
    }

    /// The server refused a usage batch for what is in it (400, 413): sending the same rows again
    /// would be refused again.
    pub fn refuses_rows(&self) -> bool {
        matches!(
            self,
            SyncError::RowsRefused { .. }
                | SyncError::Api {
                    status: 400 | 413,
                    ..
                }
        )
    }
}

/// The server and key in effect: `GW_SERVER` / `GW_KEY` override the credentials file's
/// `[server]` section. `None` when no key is set (team mode off: `GW_SERVER` alone only points
/// `gw admin` somewhere).
pub fn resolve_login(
    credentials: &Credentials,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<ServerLogin>, SyncError> {
    let stored = credentials.server.as_ref();
    let Some(key) = env(env_vars::GW_KEY).or_else(|| stored.map(|s| s.key.clone())) else {
        return Ok(None);
    };
    let url = env(env_vars::GW_SERVER)
        .or_else(|| stored.map(|s| s.url.clone()))
        .ok_or_else(|| {
            SyncError::Config(
                "GW_KEY is set but no server URL is: set GW_SERVER, or run `gw login <url>`".into(),
            )
        })?;
    // The stored CA and pin belong to the stored server: another GW_SERVER gets neither.
    let same_server = stored.filter(|s| same_url(&s.url, &url));
    let ca_cert = env(env_vars::GW_SERVER_CA)
        .map(std::path::PathBuf::from)
        .or_else(|| same_server.and_then(|s| s.ca_cert.clone()));
    let fingerprint = env(env_vars::GW_SERVER_FINGERPRINT)
        .or_else(|| same_server.and_then(|s| s.fingerprint.clone()));
    Ok(Some(ServerLogin {
        url,
        key,
        ca_cert,
        fingerprint,
    }))
}

/// Whether two spellings of a server URL name the same server: scheme and host compared
/// without case (and a host's trailing dot), the port with its default, the path without its
/// trailing `/`. A URL with user info names no server gw trusts by its login.
pub fn same_url(a: &str, b: &str) -> bool {
    fn key(url: &str) -> Option<(String, String, u16, String)> {
        let uri: http::Uri = url.trim().parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let authority = uri.authority()?;
        if authority.as_str().contains('@') {
            return None;
        }
        let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
        let port = authority.port_u16().unwrap_or(match scheme.as_str() {
            "https" => 443,
            _ => 80,
        });
        let path = uri.path().trim_end_matches('/').to_string();
        Some((scheme, host, port, path))
    }
    matches!((key(a), key(b)), (Some(x), Some(y)) if x == y)
}

/// What a login trusts of the server's certificate.
pub fn trust_of(login: &ServerLogin) -> Result<Trust, SyncError> {
    let pin = login
        .fingerprint
        .as_deref()
        .map(Fingerprint::parse)
        .transpose()
        .map_err(|e| {
            SyncError::Config(format!(
                "{e}; fix GW_SERVER_FINGERPRINT or run `gw login <url> --fingerprint <it>` again"
            ))
        })?;
    Ok(Trust {
        ca: login.ca_cert.clone(),
        pin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_has_many_spellings_but_not_every_spelling_is_one_server() {
        for (a, b) in [
            ("https://gw.example.com", "HTTPS://GW.Example.com/"),
            ("https://gw.example.com.", "https://gw.example.com:443"),
            ("http://127.0.0.1:8787", "http://127.0.0.1:8787/"),
        ] {
            assert!(same_url(a, b), "{a} {b}");
        }
        for (a, b) in [
            ("https://gw.example.com", "http://gw.example.com"),
            ("https://gw.example.com", "https://gw.example.com:8443"),
            ("https://gw.example.com", "https://user@gw.example.com"),
            ("https://gw.example.com", "https://other.example.com"),
            ("https://gw.example.com/a", "https://gw.example.com/b"),
            ("not a url", "not a url"),
        ] {
            assert!(!same_url(a, b), "{a} {b}");
        }
    }

    #[test]
    fn env_overrides_the_stored_login() {
        let creds = Credentials {
            server: Some(ServerLogin::new("http://file", "gwk_file")),
            ..Default::default()
        };
        let none = |_: &str| None;
        assert_eq!(
            resolve_login(&creds, &none).unwrap().unwrap().url,
            "http://file"
        );
        let env = |k: &str| (k == "GW_KEY").then(|| "gwk_env".to_string());
        let login = resolve_login(&creds, &env).unwrap().unwrap();
        assert_eq!(
            (login.url.as_str(), login.key.as_str()),
            ("http://file", "gwk_env")
        );
        // GW_SERVER alone (gw admin's) does not turn team mode on.
        let admin_only = |k: &str| (k == "GW_SERVER").then(|| "http://x".to_string());
        assert!(resolve_login(&Credentials::default(), &admin_only)
            .unwrap()
            .is_none());
        assert!(resolve_login(&Credentials::default(), &env).is_err());
    }
}
