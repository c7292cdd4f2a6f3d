//! Team-mode settings from the config file's `[server]` section: what `gw run` does when the gw
//! server is unreachable, and how large a budget lease it asks for. (The server's URL and the
//! developer's key live in the credentials file; `gw login` writes them.)
//!
//! ```toml
//! [server]
//! offline = "allow"            # or "deny"
//! offline_allowance_usd = 1.0  # what a session may spend while the server is unreachable
//! lease_usd = 1.0              # how much budget a session takes at a time
//! ```

use serde::{Deserialize, Serialize};

/// What a session does when it cannot reach the server to check its budget.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OfflinePolicy {
    /// Fail open: spend up to the offline allowance, then refuse.
    #[default]
    Allow,
    /// Fail closed: spend what the lease already holds, nothing more.
    Deny,
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline: Option<OfflinePolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline_allowance_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_usd: Option<f64>,
}

impl ServerSection {
    pub fn is_empty(&self) -> bool {
        *self == ServerSection::default()
    }
}

/// The effective team-mode settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamSettings {
    pub offline: OfflinePolicy,
    pub offline_allowance_nanos: i64,
    pub lease_nanos: i64,
}

pub const DEFAULT_OFFLINE_ALLOWANCE_USD: f64 = 1.0;
pub const DEFAULT_LEASE_USD: f64 = 1.0;

impl TeamSettings {
    /// Validates the section; the error names the key and what is wrong.
    pub fn from_section(s: &ServerSection) -> Result<TeamSettings, (String, String)> {
        let nanos = |key: &str, v: Option<f64>, default: f64, min: f64| {
            let v = v.unwrap_or(default);
            if !v.is_finite() || v < min || v > 1_000_000.0 {
                return Err((
                    format!("server.{key}"),
                    format!("{v} is out of range: give dollars from {min} to 1000000"),
                ));
            }
            Ok((v * 1e9).round() as i64)
        };
        Ok(TeamSettings {
            offline: s.offline.unwrap_or_default(),
            offline_allowance_nanos: nanos(
                "offline_allowance_usd",
                s.offline_allowance_usd,
                DEFAULT_OFFLINE_ALLOWANCE_USD,
                0.0,
            )?,
            lease_nanos: nanos("lease_usd", s.lease_usd, DEFAULT_LEASE_USD, 1e-9)?,
        })
    }

    /// As a config section, for `gw config`.
    pub fn section(&self) -> ServerSection {
        ServerSection {
            offline: Some(self.offline),
            offline_allowance_usd: Some(self.offline_allowance_nanos as f64 / 1e9),
            lease_usd: Some(self.lease_nanos as f64 / 1e9),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_ranges() {
        let d = TeamSettings::from_section(&ServerSection::default()).unwrap();
        assert_eq!(d.offline, OfflinePolicy::Allow);
        assert_eq!(d.offline_allowance_nanos, 1_000_000_000);
        let bad = ServerSection {
            lease_usd: Some(0.0),
            ..Default::default()
        };
        assert_eq!(
            TeamSettings::from_section(&bad).unwrap_err().0,
            "server.lease_usd"
        );
        let s: ServerSection =
            toml::from_str("offline = \"deny\"\noffline_allowance_usd = 0.5").unwrap();
        let t = TeamSettings::from_section(&s).unwrap();
        assert_eq!(t.offline, OfflinePolicy::Deny);
        assert_eq!(t.offline_allowance_nanos, 500_000_000);
    }
}
