//! What the server does, written once against `dyn Store`: authentication, budgets and their
//! status, leases (grant, renew, release), idempotent usage ingest, admin entities and reports.
//!
//! Accounting (never double counts):
//! - `spent` of a budget = Σ cost of ingested usage rows in its scope and current period;
//! - a lease's outstanding reservation = max(0, target − consumed), where `consumed` is the cost
//!   of usage rows already ingested for the lease's key and session that started while it was the
//!   session's latest lease, and `target` is `granted`
//!   while the lease is open, or the spend reported at release afterwards (kept for
//!   `SETTLE_SECS` so rows still being synced stay counted, then dropped);
//! - `reserved` = Σ outstanding reservations of unexpired leases in the scope;
//! - a grant = min(asked, limit − spent − reserved) over every budget above the key, computed
//!   while those budget rows are locked (PostgreSQL `FOR UPDATE` in id order; SQLite's write
//!   transaction), so concurrent grants on any number of replicas never exceed a limit.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

use super::db::{add_sql, sum_sql, DbRow, Store, StoreError, Tx, Value};
use super::error::ApiError;
use super::money::{self, BudgetPeriod};
use super::secret;
pub use crate::api::{
    BudgetStatus, IngestResult, LeaseGrant, LeaseState, RateAllowance, RateLimitView, RefusedRow,
    Released, Scope, UsageRow,
};
use crate::limits::MAX_BATCH_COST_NANOS;

/// How long a released lease keeps the spend it reported reserved, waiting for its rows.
pub const SETTLE_SECS: i64 = 300;

pub fn now_us() -> i64 {
    Timestamp::now().as_microsecond()
}

/// The identity behind a virtual key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyCtx {
    #[serde(skip)]
    pub key_ref: i64,
    pub key_id: String,
    pub key_name: Option<String>,
    #[serde(skip)]
    pub developer_id: i64,
    pub developer: String,
    pub developer_name: Option<String>,
    #[serde(skip)]
    pub team_id: Option<i64>,
    pub team: Option<String>,
    #[serde(skip)]
    pub org_id: i64,
    pub org: String,
    pub tz: String,
    /// Models this key may use; `None`: any.
    pub models: Option<Vec<String>>,
    pub expires_at: Option<String>,
}

impl KeyCtx {
    /// The key's identity as `GET /v1/whoami` answers it, with its org's model prices.
    pub fn whoami(
        &self,
        prices: std::collections::BTreeMap<String, crate::pricing::PriceOverride>,
    ) -> crate::api::Whoami {
        crate::api::Whoami {
            key_id: self.key_id.clone(),
            key_name: self.key_name.clone(),
            developer: self.developer.clone(),
            developer_name: self.developer_name.clone(),
            team: self.team.clone(),
            org: self.org.clone(),
            tz: self.tz.clone(),
            models: self.models.clone(),
            expires_at: self.expires_at.clone(),
            prices,
        }
    }
}

impl KeyCtx {
    /// The display name of the key's `scope`: its key id, developer email, `org/team` or org.
    pub(super) fn scope_name(&self, scope: Scope) -> String {
        match scope {
            Scope::Key => self.key_id.clone(),
            Scope::Developer => self.developer.clone(),
            Scope::Team => format!("{}/{}", self.org, self.team.clone().unwrap_or_default()),
            Scope::Org => self.org.clone(),
        }
    }

    /// The rows of `table` (budgets, rate limits) over the key: on it, its developer, team or
    /// org; in id order, locked on PostgreSQL when `lock`.
    pub(super) async fn scoped_rows(
        &self,
        tx: &mut dyn Tx,
        table: &str,
        columns: &str,
        lock: bool,
    ) -> Result<Vec<DbRow>, StoreError> {
        let sql = format!(
            "SELECT {columns} FROM {table}
             WHERE (scope_kind = 'key' AND scope_id = $1) OR (scope_kind = 'developer' AND scope_id = $2)
                OR (scope_kind = 'team' AND scope_id = $3) OR (scope_kind = 'org' AND scope_id = $4)
             ORDER BY id{}",
            if lock { tx.lock_clause() } else { "" }
        );
        tx.query(
            &sql,
            &[
                self.key_ref.into(),
                self.developer_id.into(),
                self.team_id.unwrap_or(-1).into(),
                self.org_id.into(),
            ],
        )
        .await
    }
}

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Caller {
    Admin,
    Key(Box<KeyCtx>),
}

mod auth;
mod budgets;
mod ingest;
mod leases;
mod rates;

pub use auth::{authenticate, is_token, key_session, set_token, ServerToken};
pub use budgets::budgets_for_key;
pub(in crate::server) use budgets::{budget_def, status_of, BUDGET_COLUMNS};
pub use ingest::{check_batch, ingest};
pub use leases::{create_lease, release_lease, renew_lease};
pub use rates::limits_for_key;
pub(in crate::server) use rates::{limit_view, stored_limit};
