//! The admin API's data (`/v1/admin/…`): what an admin sends to create or change orgs, teams,
//! developers, keys and budgets, and how the server shows each. The server parses requests into
//! these and answers with them; `gw admin` builds its requests from them and reads answers as
//! them, so a field renamed on one side is renamed on the other.

use serde::{Deserialize, Serialize};

use super::{BudgetPeriod, Scope};
use crate::pricing::PriceOverride;
pub use crate::server::money::UsdAmount;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    pub name: String,
    /// IANA time zone budgets align to (default UTC).
    #[serde(default)]
    pub tz: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgUpdate {
    pub tz: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OrgView {
    pub name: String,
    pub tz: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTeam {
    pub org: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TeamView {
    pub org: String,
    pub name: String,
    /// `org/team`, as budgets and reports name it.
    pub path: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamUpdate {
    /// The team's new name; budgets, keys and usage follow it (they refer to the team by id).
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub email: String,
    pub org: String,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub name: Option<String>,
    /// A team of the user's org; `""` removes the user from their team.
    pub team: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserView {
    pub email: String,
    pub name: Option<String>,
    pub org: String,
    pub team: Option<String>,
    pub active: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// The owner's email.
    pub developer: String,
    /// A team of the owner's org (default: the owner's team).
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// RFC 3339 instant after which the key is refused.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Models the key may use (default: any).
    #[serde(default)]
    pub models: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyUpdate {
    pub name: Option<String>,
    /// RFC 3339; `""` removes the expiry.
    pub expires_at: Option<String>,
    /// `[]` removes the allow-list.
    pub models: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyView {
    pub key_id: String,
    pub name: Option<String>,
    pub developer: String,
    pub org: String,
    pub team: Option<String>,
    pub active: bool,
    pub expires_at: Option<String>,
    pub models: Option<Vec<String>>,
    pub created_at: String,
    /// The key itself: present only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBudget {
    pub scope: Scope,
    /// Org name, `org/team`, developer email, or key id.
    pub name: String,
    pub limit_usd: UsdAmount,
    pub period: BudgetPeriod,
    /// Fraction of the limit at which clients warn (default 0.8).
    #[serde(default)]
    pub soft_threshold: Option<f64>,
    /// Sessions reserve each request's upper-bound cost first: spend never passes the limit.
    #[serde(default)]
    pub strict: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetUpdate {
    pub limit_usd: Option<UsdAmount>,
    pub soft_threshold: Option<f64>,
    #[serde(default)]
    pub strict: Option<bool>,
}

/// A model price an admin set for an org: what keys of the org charge for that model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PriceView {
    pub org: String,
    /// Lower-case, as the proxy looks it up.
    pub model: String,
    /// USD per million tokens, as `[prices."model"]` in gw's config.
    pub price: PriceOverride,
    pub updated_at: String,
}

/// `POST /v1/admin/limits`: a rate limit on a scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRateLimit {
    pub scope: Scope,
    /// Org name, `org/team`, developer email, or key id.
    pub name: String,
    /// The window, in seconds (60: per minute).
    pub window_secs: i64,
    #[serde(default)]
    pub max_requests: Option<i64>,
    #[serde(default)]
    pub max_tokens: Option<i64>,
}

/// `PATCH /v1/admin/limits/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitUpdate {
    #[serde(default)]
    pub max_requests: Option<i64>,
    #[serde(default)]
    pub max_tokens: Option<i64>,
}
