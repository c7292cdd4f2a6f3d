//! The gw server's HTTP API as data: what each endpoint takes and answers, and its limits. One
//! home for the server (`server::api` parses requests into these, `server::ops` answers with
//! them), the developer's client (`sync`) and `gw admin`: a field renamed here is renamed for
//! all of them, and a client that reads an answer reads it as one of these types, so a missing
//! field fails instead of printing "-". The routes themselves are listed in `server::api`.

pub mod admin;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ledger::{Row, Source};
use crate::limits::{
    cut, MAX_COST_NANOS, MAX_ERROR_BYTES, MAX_NAME_BYTES, MAX_TEXT_BYTES, MAX_TOKENS,
};
use crate::pricing::PriceOverride;
pub use crate::server::money::BudgetPeriod;

/// Largest request body the server reads.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Most usage rows in one batch.
pub const MAX_BATCH_ROWS: usize = 5000;
/// Largest lease or top-up: $1,000,000.
pub const MAX_AMOUNT_NANOS: i64 = 1_000_000 * 1_000_000_000;

/// Who a key is (`GET /v1/whoami`); the admin token gets `{"admin": true}` instead.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Whoami {
    pub key_id: String,
    pub key_name: Option<String>,
    pub developer: String,
    pub developer_name: Option<String>,
    pub team: Option<String>,
    pub org: String,
    pub tz: String,
    /// Models this key may use; `None`: any.
    pub models: Option<Vec<String>>,
    pub expires_at: Option<String>,
    /// The model prices the key's org set (`gw admin price set`), by lower-case model name.
    #[serde(default)]
    pub prices: BTreeMap<String, PriceOverride>,
}

/// `POST /v1/leases`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaseRequest {
    pub session_id: String,
    pub amount_nanos: i64,
}

/// `POST /v1/leases/{id}/renew`: a heartbeat, with an optional top-up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenewRequest {
    #[serde(default)]
    pub amount_nanos: Option<i64>,
    /// Ask for more of the rate limits (a session that spent its allowance, or in a new window).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rates: bool,
}

/// `POST /v1/leases/{id}/release`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    pub spent_nanos: i64,
}

/// `POST /v1/usage`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsageBatch {
    pub rows: Vec<UsageRow>,
}

/// A budget's scope kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Org,
    Team,
    Developer,
    Key,
}

impl Scope {
    pub const NAMES: &'static str = "org|team|developer|key";
    pub const ALL: [Scope; 4] = [Scope::Org, Scope::Team, Scope::Developer, Scope::Key];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Org => "org",
            Scope::Team => "team",
            Scope::Developer => "developer",
            Scope::Key => "key",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Some(match s {
            "org" => Scope::Org,
            "team" => Scope::Team,
            "developer" | "user" => Scope::Developer,
            "key" => Scope::Key,
            _ => return None,
        })
    }

    /// [`Scope::parse`], or the message that says which names there are.
    pub fn from_name(text: &str) -> Result<Scope, String> {
        Scope::parse(text).ok_or_else(|| format!("invalid scope `{text}`: use {}", Scope::NAMES))
    }
}

/// A budget with its current period's figures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BudgetStatus {
    pub id: i64,
    pub scope: Scope,
    /// Org name, `org/team`, developer email, or key id.
    pub name: String,
    pub period: BudgetPeriod,
    pub limit_nanos: i64,
    pub limit_usd: f64,
    pub spent_nanos: i64,
    pub spent_usd: f64,
    pub reserved_nanos: i64,
    pub remaining_nanos: i64,
    pub remaining_usd: f64,
    /// Fraction of the limit at which clients warn.
    pub soft_threshold: f64,
    pub soft_exceeded: bool,
    pub exhausted: bool,
    /// Sessions under it reserve each request's upper-bound cost before forwarding it.
    #[serde(default)]
    pub strict: bool,
    /// Start of the current period (RFC 3339, UTC); `null` for `total`.
    pub period_start: Option<String>,
    /// When the current period ends; `null` for `total`.
    pub resets_at: Option<String>,
    pub tz: String,
}

impl BudgetStatus {
    /// A few words for a session's summary: `team daily budget`, `org total budget`.
    pub fn reason(&self) -> String {
        let period = match self.period {
            BudgetPeriod::Hour => "hourly",
            BudgetPeriod::Day => "daily",
            BudgetPeriod::Week => "weekly",
            BudgetPeriod::Month => "monthly",
            BudgetPeriod::Total => "total",
        };
        format!("{} {period} budget", self.scope.as_str())
    }

    pub fn exhausted_message(&self) -> String {
        let when = match &self.resets_at {
            Some(t) => format!("; it resets at {t}"),
            None => "; it is a total budget and does not reset (ask an admin to raise it)".into(),
        };
        let period = match self.period {
            BudgetPeriod::Total => "in total".to_string(),
            p => format!("this {}", p.as_str()),
        };
        format!(
            "{} budget `{}` is exhausted: {} spent and {} reserved of {} {period}{when}",
            self.scope.as_str(),
            self.name,
            crate::report::usd_readable(self.spent_nanos),
            crate::report::usd_readable(self.reserved_nanos),
            crate::report::usd_readable(self.limit_nanos),
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeaseGrant {
    pub lease_id: String,
    pub session_id: String,
    pub granted_nanos: i64,
    pub expires_at: String,
    pub ttl_secs: i64,
    /// The budget that granted less than asked, if one did.
    pub limited_by: Option<BudgetStatus>,
    /// A budget over this key is strict: reserve each request's upper-bound cost.
    #[serde(default)]
    pub strict: bool,
    /// This lease's allowances under the rate limits over the key, in their current windows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<RateAllowance>,
}

/// The header in which a gw client names what it enforces, and this gw's list.
pub const FEATURES_HEADER: &str = "x-gw-features";
pub const FEATURES: &str = "strict-budgets, rate-limits";

/// A rate limit on a key, developer, team or org: requests and/or tokens (input, cache and
/// output) per window of `window_secs`, aligned to the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitView {
    pub id: i64,
    pub scope: Scope,
    pub name: String,
    pub window_secs: i64,
    pub max_requests: Option<i64>,
    pub max_tokens: Option<i64>,
    /// Granted to sessions in the current window so far.
    #[serde(default)]
    pub granted_requests: i64,
    #[serde(default)]
    pub granted_tokens: i64,
    /// When the current window ends (RFC 3339).
    pub window_ends_at: String,
}

/// A lease's share of one rate limit in its current window: what it may send before asking
/// again (cumulative for the window; `None` where the limit has no such cap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateAllowance {
    pub limit_id: i64,
    /// `team acme/backend: 100 requests per 60 s`, for messages.
    pub name: String,
    pub window_start_us: i64,
    pub window_secs: i64,
    /// Milliseconds from the server's answer to the window's end.
    pub resets_in_ms: i64,
    pub requests: Option<i64>,
    pub tokens: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LeaseState {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rates: Vec<RateAllowance>,
    /// A budget over the key is strict now (an admin may change it mid-session).
    #[serde(default)]
    pub strict: bool,
    pub lease_id: String,
    pub session_id: String,
    /// Total granted so far (top-ups included).
    pub granted_nanos: i64,
    /// Granted by this call.
    pub added_nanos: i64,
    /// Cost of usage rows ingested for this lease so far.
    pub consumed_nanos: i64,
    pub expires_at: String,
    pub ttl_secs: i64,
    pub limited_by: Option<BudgetStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Released {
    pub lease_id: String,
    pub granted_nanos: i64,
    pub spent_nanos: i64,
    /// What went back to the budgets: max(0, granted − spent).
    pub returned_nanos: i64,
}

/// One ledger row as clients send it (mirrors `ledger::Row`). The key, developer, team and org
/// are the authenticated key's, whatever the row says.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UsageRow {
    pub id: String,
    pub started_at_us: i64,
    pub ended_at_us: i64,
    pub provider: String,
    pub endpoint: String,
    pub requested_model: Option<String>,
    pub model: Option<String>,
    pub status: i64,
    pub streamed: bool,
    pub incomplete: bool,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_5m_tokens: i64,
    pub cache_write_1h_tokens: i64,
    pub reasoning_tokens: i64,
    pub cost_nanos: Option<i64>,
    pub price_version: String,
    pub latency_us: i64,
    pub ttfb_us: Option<i64>,
    pub upstream_request_id: Option<String>,
    pub session_id: String,
    pub agent: Option<String>,
    pub agent_version: Option<String>,
    pub agent_session_id: Option<String>,
    pub developer: Option<String>,
    pub project: Option<String>,
    pub branch: Option<String>,
    pub task: Option<String>,
    pub cwd: Option<String>,
    pub host: Option<String>,
    pub key_id: Option<String>,
    pub error: Option<String>,
    /// `import` for a row `gw import --sync` read from an agent's own log; left out for a row
    /// gw's proxy metered (a server that predates imports takes those as before, and refuses
    /// imported ones by name).
    #[serde(skip_serializing_if = "Source::is_proxy")]
    pub source: Source,
}

impl UsageRow {
    /// Checks one row against what a request can be ([`crate::limits`]); the error is the
    /// reason, naming the field.
    pub fn check(&self) -> Result<(), String> {
        let shown = cut(&self.id, 64);
        let id = Uuid::parse_str(&self.id).map_err(|_| format!("id `{shown}` is not a UUID"))?;
        if id.get_version_num() != 7 {
            return Err(format!("id `{shown}` is not a UUIDv7"));
        }
        // One spelling per id: another (upper case, braces, no hyphens) would be a second row.
        if id.to_string() != self.id {
            return Err(format!(
                "id `{shown}` is not written as a lowercase hyphenated UUID ({id})"
            ));
        }
        let strings = [
            ("provider", Some(&self.provider), MAX_NAME_BYTES),
            ("endpoint", Some(&self.endpoint), MAX_TEXT_BYTES),
            (
                "requested_model",
                self.requested_model.as_ref(),
                MAX_NAME_BYTES,
            ),
            ("model", self.model.as_ref(), MAX_NAME_BYTES),
            ("price_version", Some(&self.price_version), MAX_NAME_BYTES),
            (
                "upstream_request_id",
                self.upstream_request_id.as_ref(),
                MAX_NAME_BYTES,
            ),
            ("session_id", Some(&self.session_id), MAX_NAME_BYTES),
            ("agent", self.agent.as_ref(), MAX_NAME_BYTES),
            ("agent_version", self.agent_version.as_ref(), MAX_NAME_BYTES),
            (
                "agent_session_id",
                self.agent_session_id.as_ref(),
                MAX_NAME_BYTES,
            ),
            ("developer", self.developer.as_ref(), MAX_TEXT_BYTES),
            ("project", self.project.as_ref(), MAX_TEXT_BYTES),
            ("branch", self.branch.as_ref(), MAX_TEXT_BYTES),
            ("task", self.task.as_ref(), MAX_TEXT_BYTES),
            ("cwd", self.cwd.as_ref(), MAX_TEXT_BYTES),
            ("host", self.host.as_ref(), MAX_TEXT_BYTES),
            ("key_id", self.key_id.as_ref(), MAX_NAME_BYTES),
            ("error", self.error.as_ref(), MAX_ERROR_BYTES),
        ];
        for (name, value, max) in strings {
            if let Some(v) = value.filter(|v| v.len() > max) {
                return Err(format!("{name} is {} bytes long; at most {max}", v.len()));
            }
        }
        if self.session_id.is_empty() {
            return Err("session_id is missing".into());
        }
        if self.provider.is_empty() {
            return Err("provider is missing".into());
        }
        if self.started_at_us <= 0 {
            return Err("started_at_us is missing".into());
        }
        // Far beyond any real request, and low enough that no batch's sums come near 2^63.
        let counts = [
            ("input_tokens", self.input_tokens, MAX_TOKENS),
            ("output_tokens", self.output_tokens, MAX_TOKENS),
            ("cache_read_tokens", self.cache_read_tokens, MAX_TOKENS),
            (
                "cache_write_5m_tokens",
                self.cache_write_5m_tokens,
                MAX_TOKENS,
            ),
            (
                "cache_write_1h_tokens",
                self.cache_write_1h_tokens,
                MAX_TOKENS,
            ),
            ("reasoning_tokens", self.reasoning_tokens, MAX_TOKENS),
            ("cost_nanos", self.cost_nanos.unwrap_or(0), MAX_COST_NANOS),
            ("latency_us", self.latency_us, i64::MAX),
        ];
        for (name, v, max) in counts {
            if v < 0 {
                return Err(format!("{name} is negative ({v})"));
            }
            if v > max {
                return Err(format!("{name} is implausibly large ({v}; at most {max})"));
            }
        }
        if !(0..1000).contains(&self.status) {
            return Err(format!("status {} is not an HTTP status", self.status));
        }
        Ok(())
    }
}

/// A row the server refused, in a 400's `error.rows`: a client sets exactly these aside
/// (the refusal is permanent: the same row is refused again) and sends the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedRow {
    /// Position in the batch.
    pub index: usize,
    pub id: String,
    /// Why, naming the field and the bound.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IngestResult {
    pub accepted: u64,
    pub duplicates: u64,
    pub budgets: Vec<BudgetStatus>,
}

/// A ledger row as the server's API takes it: the one conversion between the two.
impl From<&Row> for UsageRow {
    /// Strings are cut to the bounds [`UsageRow::check`] holds rows to (an agent chooses its
    /// model names and session ids): every row gw records is one the server takes.
    fn from(r: &Row) -> UsageRow {
        let a = &r.attribution;
        let name = |s: &str| cut(s, MAX_NAME_BYTES);
        let text = |s: &str| cut(s, MAX_TEXT_BYTES);
        UsageRow {
            id: r.id.to_string(),
            started_at_us: r.started_at_us,
            ended_at_us: r.ended_at_us,
            provider: name(&r.provider),
            endpoint: text(&r.endpoint),
            requested_model: r.requested_model.as_deref().map(name),
            model: r.model.as_deref().map(name),
            status: i64::from(r.status),
            streamed: r.streamed,
            incomplete: r.incomplete,
            input_tokens: r.usage.input as i64,
            output_tokens: r.usage.output as i64,
            cache_read_tokens: r.usage.cache_read as i64,
            cache_write_5m_tokens: r.usage.cache_write_5m as i64,
            cache_write_1h_tokens: r.usage.cache_write_1h as i64,
            reasoning_tokens: r.usage.reasoning as i64,
            cost_nanos: r.cost_nanos,
            price_version: name(&r.price_version),
            latency_us: r.latency_us,
            ttfb_us: r.ttfb_us,
            upstream_request_id: r.upstream_request_id.as_deref().map(name),
            session_id: name(&a.session_id),
            agent: a.agent.as_deref().map(name),
            agent_version: a.agent_version.as_deref().map(name),
            agent_session_id: r.agent_session_id.as_deref().map(name),
            developer: a.developer.as_deref().map(text),
            project: a.project.as_deref().map(text),
            branch: a.branch.as_deref().map(text),
            task: a.task.as_deref().map(text),
            cwd: a.cwd.as_deref().map(text),
            host: a.host.as_deref().map(text),
            key_id: a.key_id.as_deref().map(name),
            error: r.error.as_deref().map(|e| cut(e, MAX_ERROR_BYTES)),
            source: r.source,
        }
    }
}
