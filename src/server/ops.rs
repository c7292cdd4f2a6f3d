//! What the server does, written once against `dyn Store`: authentication, budgets and their
//! status, leases (grant, renew, release), idempotent usage ingest, admin entities and reports.
//!
//! Accounting (never double counts):
//! - `spent` of a budget = Σ cost of ingested usage rows in its scope and current period;
//! - a lease's outstanding reservation = max(0, target − consumed), where `consumed` is the cost
//!   of usage rows already ingested for the lease's key and session, and `target` is `granted`
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
    BudgetStatus, IngestResult, LeaseGrant, LeaseState, RefusedRow, Released, Scope, UsageRow,
};
use crate::calendar::QUARTER_HOUR_US;
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

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Caller {
    Admin,
    Key(Box<KeyCtx>),
}

/// The usage / lease column holding a scope's id.
fn scope_column(scope: Scope) -> &'static str {
    match scope {
        Scope::Org => "org_id",
        Scope::Team => "team_id",
        Scope::Developer => "developer_id",
        Scope::Key => "key_ref",
    }
}

pub(super) struct BudgetDef {
    id: i64,
    pub scope: Scope,
    pub scope_id: i64,
    limit_nanos: i64,
    period: BudgetPeriod,
    soft_bp: i64,
}

const BUDGET_COLUMNS: &str = "id, scope_kind, scope_id, limit_nanos, period, soft_bp";

pub(super) fn budget_def(r: &DbRow) -> BudgetDef {
    BudgetDef {
        id: r.int(0),
        scope: Scope::parse(&r.text(1)).unwrap_or(Scope::Org),
        scope_id: r.int(2),
        limit_nanos: r.int(3),
        period: BudgetPeriod::parse(&r.text(4)).unwrap_or(BudgetPeriod::Total),
        soft_bp: r.int(5),
    }
}

/// Outstanding reservation of one lease row (see the module doc).
const OUTSTANDING: &str = "CASE WHEN (CASE WHEN released = 0 THEN granted_nanos ELSE coalesce(reported_nanos, 0) END) > consumed_nanos
     THEN (CASE WHEN released = 0 THEN granted_nanos ELSE coalesce(reported_nanos, 0) END) - consumed_nanos ELSE 0 END";

pub(super) async fn status_of(
    tx: &mut dyn Tx,
    b: &BudgetDef,
    name: String,
    tz_name: &str,
    now: i64,
) -> Result<BudgetStatus, StoreError> {
    let tz = money::parse_zone(tz_name).unwrap_or(jiff::tz::TimeZone::UTC);
    let now_ts = Timestamp::from_microsecond(now).unwrap_or(Timestamp::UNIX_EPOCH);
    let (start, end) = b.period.bounds(now_ts, &tz);
    let col = scope_column(b.scope);
    // Sums saturate: rows an older server took can add up past 2^63, and one key's data must
    // never make its org's budgets fail.
    let spent_sql = format!(
        "SELECT {} FROM usage_rollup
         WHERE scope_kind = $1 AND scope_id = $2 AND bucket_us >= $3 AND bucket_us < $4",
        sum_sql("cost_nanos")
    );
    let spent = tx
        .one(
            &spent_sql,
            &[
                b.scope.as_str().into(),
                b.scope_id.into(),
                start.into(),
                end.unwrap_or(i64::MAX).into(),
            ],
        )
        .await?
        .map_or(0, |r| r.sum(0));
    let reserved_sql = format!(
        "SELECT {} FROM leases WHERE {col} = $1 AND expires_at_us > $2",
        sum_sql(OUTSTANDING)
    );
    let reserved = tx
        .one(&reserved_sql, &[b.scope_id.into(), now.into()])
        .await?
        .map_or(0, |r| r.sum(0));
    let remaining = b.limit_nanos.saturating_sub(spent).saturating_sub(reserved);
    let soft = b.soft_bp as f64 / 10_000.0;
    Ok(BudgetStatus {
        id: b.id,
        scope: b.scope,
        name,
        period: b.period,
        limit_nanos: b.limit_nanos,
        limit_usd: money::usd(b.limit_nanos),
        spent_nanos: spent,
        spent_usd: money::usd(spent),
        reserved_nanos: reserved,
        remaining_nanos: remaining.max(0),
        remaining_usd: money::usd(remaining.max(0)),
        soft_threshold: soft,
        soft_exceeded: (spent.saturating_add(reserved)) as f64 >= soft * b.limit_nanos as f64,
        exhausted: remaining <= 0,
        period_start: end.map(|_| money::rfc3339_us(start)),
        resets_at: end.map(money::rfc3339_us),
        tz: tz_name.to_string(),
    })
}

/// The budgets above a key (key, developer, team, org), locked on PostgreSQL when `lock`.
async fn key_budgets(
    tx: &mut dyn Tx,
    ctx: &KeyCtx,
    now: i64,
    lock: bool,
) -> Result<Vec<BudgetStatus>, StoreError> {
    let sql = format!(
        "SELECT {BUDGET_COLUMNS} FROM budgets
         WHERE (scope_kind = 'key' AND scope_id = $1) OR (scope_kind = 'developer' AND scope_id = $2)
            OR (scope_kind = 'team' AND scope_id = $3) OR (scope_kind = 'org' AND scope_id = $4)
         ORDER BY id{}",
        if lock { tx.lock_clause() } else { "" }
    );
    let rows = tx
        .query(
            &sql,
            &[
                ctx.key_ref.into(),
                ctx.developer_id.into(),
                ctx.team_id.unwrap_or(-1).into(),
                ctx.org_id.into(),
            ],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let b = budget_def(r);
        let name = match b.scope {
            Scope::Key => ctx.key_id.clone(),
            Scope::Developer => ctx.developer.clone(),
            Scope::Team => format!("{}/{}", ctx.org, ctx.team.clone().unwrap_or_default()),
            Scope::Org => ctx.org.clone(),
        };
        out.push(status_of(tx, &b, name, &ctx.tz, now).await?);
    }
    Ok(out)
}

/// `min(asked, remaining)` over every budget, and the budget that bound it (if any did).
fn grant_from(asked: i64, budgets: &[BudgetStatus]) -> (i64, Option<BudgetStatus>) {
    let mut grant = asked;
    let mut limiting = None;
    for b in budgets {
        let remaining = b
            .limit_nanos
            .saturating_sub(b.spent_nanos)
            .saturating_sub(b.reserved_nanos);
        if remaining < grant {
            grant = remaining.max(0);
            limiting = Some(b.clone());
        }
    }
    (grant, limiting)
}

// ---------------------------------------------------------------------------------------------
// Authentication

pub async fn set_admin_token(
    store: &dyn Store,
    token: &str,
    rotate: bool,
) -> Result<bool, StoreError> {
    let mut tx = store.begin(true).await?;
    let exists = tx
        .one("SELECT id FROM admin_tokens WHERE id = 1", &[])
        .await?
        .is_some();
    if exists && !rotate {
        return Ok(false);
    }
    tx.execute("DELETE FROM admin_tokens", &[]).await?;
    tx.execute(
        "INSERT INTO admin_tokens (id, token_hash, created_at_us) VALUES (1, $1, $2)",
        &[secret::hash(token).into(), now_us().into()],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

const KEY_CTX_SQL: &str =
    "SELECT k.id, k.key_id, k.name, d.id, d.email, d.name, t.id, t.name, o.id, o.name, o.tz,
        k.models, k.expires_at_us, k.key_hash, k.active, d.active
    FROM keys k JOIN developers d ON d.id = k.developer_id JOIN orgs o ON o.id = k.org_id
    LEFT JOIN teams t ON t.id = k.team_id";

fn key_ctx(r: &DbRow) -> KeyCtx {
    KeyCtx {
        key_ref: r.int(0),
        key_id: r.text(1),
        key_name: r.opt_text(2),
        developer_id: r.int(3),
        developer: r.text(4),
        developer_name: r.opt_text(5),
        team_id: r.opt_int(6),
        team: r.opt_text(7),
        org_id: r.int(8),
        org: r.text(9),
        tz: r.text(10),
        models: r.opt_text(11).and_then(|m| serde_json::from_str(&m).ok()),
        expires_at: r.opt_int(12).map(money::rfc3339_us),
    }
}

/// Resolves a bearer token to the admin or a key, refusing unknown, revoked and expired ones.
pub async fn authenticate(store: &dyn Store, token: &str) -> Result<Caller, ApiError> {
    let unauthorized = || {
        ApiError::Unauthorized(
            "invalid key or token: send `Authorization: Bearer <gw key or admin token>`".into(),
        )
    };
    if token.starts_with(secret::ADMIN_PREFIX) {
        let mut tx = store.begin(false).await?;
        let row = tx
            .one("SELECT token_hash FROM admin_tokens WHERE id = 1", &[])
            .await?;
        return match row {
            Some(r) if secret::matches(token, &r.text(0)) => Ok(Caller::Admin),
            _ => Err(unauthorized()),
        };
    }
    let Some(id) = secret::key_id(token) else {
        return Err(unauthorized());
    };
    let mut tx = store.begin(false).await?;
    let sql = format!("{KEY_CTX_SQL} WHERE k.key_id = $1");
    let Some(r) = tx.one(&sql, &[id.into()]).await? else {
        return Err(unauthorized());
    };
    if !secret::matches(token, &r.text(13)) {
        return Err(unauthorized());
    }
    if r.int(14) == 0 || r.int(15) == 0 {
        return Err(ApiError::Unauthorized(format!(
            "key {id} has been revoked; ask an admin for a new one"
        )));
    }
    if r.opt_int(12).is_some_and(|e| e <= now_us()) {
        return Err(ApiError::Unauthorized(format!(
            "key {id} expired at {}; ask an admin for a new one",
            money::rfc3339_us(r.int(12))
        )));
    }
    Ok(Caller::Key(Box::new(key_ctx(&r))))
}

// ---------------------------------------------------------------------------------------------
// Budgets and leases

pub async fn budgets_for_key(
    store: &dyn Store,
    ctx: &KeyCtx,
) -> Result<Vec<BudgetStatus>, StoreError> {
    let mut tx = store.begin(false).await?;
    key_budgets(&mut *tx, ctx, now_us(), false).await
}

pub async fn create_lease(
    store: &dyn Store,
    ctx: &KeyCtx,
    session_id: &str,
    asked: i64,
    ttl_secs: i64,
) -> Result<LeaseGrant, ApiError> {
    let now = now_us();
    let mut tx = store.begin(true).await?;
    let budgets = key_budgets(&mut *tx, ctx, now, true).await?;
    let (granted, limiting) = grant_from(asked, &budgets);
    if granted == 0 {
        let budget = limiting.expect("a zero grant has a limiting budget");
        return Err(ApiError::BudgetExhausted {
            message: budget.exhausted_message(),
            budget: Box::new(budget),
        });
    }
    let lease_id = Uuid::now_v7().to_string();
    let expires = now + ttl_secs * 1_000_000;
    tx.execute(
        "INSERT INTO leases (lease_id, key_ref, developer_id, team_id, org_id, session_id,
            granted_nanos, created_at_us, expires_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            lease_id.clone().into(),
            ctx.key_ref.into(),
            ctx.developer_id.into(),
            ctx.team_id.into(),
            ctx.org_id.into(),
            session_id.into(),
            granted.into(),
            now.into(),
            expires.into(),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(LeaseGrant {
        lease_id,
        session_id: session_id.to_string(),
        granted_nanos: granted,
        expires_at: money::rfc3339_us(expires),
        ttl_secs,
        limited_by: limiting,
    })
}

struct LeaseRow {
    id: i64,
    session_id: String,
    granted: i64,
    consumed: i64,
    released: bool,
    reported: Option<i64>,
    expires: i64,
}

async fn lease_row(tx: &mut dyn Tx, ctx: &KeyCtx, lease_id: &str) -> Result<LeaseRow, ApiError> {
    let sql = format!(
        "SELECT id, session_id, granted_nanos, consumed_nanos, released, reported_nanos, expires_at_us
         FROM leases WHERE lease_id = $1 AND key_ref = $2{}",
        tx.lock_clause()
    );
    let r = tx
        .one(&sql, &[lease_id.into(), ctx.key_ref.into()])
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no lease {lease_id} for this key")))?;
    Ok(LeaseRow {
        id: r.int(0),
        session_id: r.text(1),
        granted: r.int(2),
        consumed: r.int(3),
        released: r.int(4) != 0,
        reported: r.opt_int(5),
        expires: r.int(6),
    })
}

pub async fn renew_lease(
    store: &dyn Store,
    ctx: &KeyCtx,
    lease_id: &str,
    top_up: i64,
    ttl_secs: i64,
) -> Result<LeaseState, ApiError> {
    let now = now_us();
    let mut tx = store.begin(true).await?;
    // Budgets before the lease: the same lock order as every grant.
    let budgets = if top_up > 0 {
        key_budgets(&mut *tx, ctx, now, true).await?
    } else {
        Vec::new()
    };
    let lease = lease_row(&mut *tx, ctx, lease_id).await?;
    if lease.released {
        return Err(ApiError::Conflict(format!(
            "lease {lease_id} was released; request a new lease"
        )));
    }
    if lease.expires <= now {
        return Err(ApiError::Gone(format!(
            "lease {lease_id} expired at {}; request a new lease",
            money::rfc3339_us(lease.expires)
        )));
    }
    let (added, limiting) = grant_from(top_up, &budgets);
    let expires = now + ttl_secs * 1_000_000;
    let sql = format!(
        "UPDATE leases SET granted_nanos = {}, expires_at_us = $2 WHERE id = $3",
        add_sql("granted_nanos", "$1")
    );
    tx.execute(&sql, &[added.into(), expires.into(), lease.id.into()])
        .await?;
    tx.commit().await?;
    Ok(LeaseState {
        lease_id: lease_id.to_string(),
        session_id: lease.session_id,
        granted_nanos: lease.granted.saturating_add(added),
        added_nanos: added,
        consumed_nanos: lease.consumed,
        expires_at: money::rfc3339_us(expires),
        ttl_secs,
        limited_by: limiting,
    })
}

/// Releases a lease with what the session spent. Releasing again answers the first release.
pub async fn release_lease(
    store: &dyn Store,
    ctx: &KeyCtx,
    lease_id: &str,
    spent: i64,
) -> Result<Released, ApiError> {
    let now = now_us();
    let mut tx = store.begin(true).await?;
    let lease = lease_row(&mut *tx, ctx, lease_id).await?;
    let spent =
        if lease.released {
            lease.reported.unwrap_or(0)
        } else {
            tx.execute(
            "UPDATE leases SET released = 1, reported_nanos = $1, expires_at_us = $2 WHERE id = $3",
            &[spent.into(), (now + SETTLE_SECS * 1_000_000).into(), lease.id.into()],
        )
        .await?;
            tx.commit().await?;
            spent
        };
    Ok(Released {
        lease_id: lease_id.to_string(),
        granted_nanos: lease.granted,
        spent_nanos: spent,
        returned_nanos: (lease.granted - spent).max(0),
    })
}

// ---------------------------------------------------------------------------------------------
// Usage ingest

/// Checks a batch before anything is stored: every row ([`UsageRow::check`]; all refused rows
/// are named), then the batch's total cost against [`MAX_BATCH_COST_NANOS`].
pub fn check_batch(rows: &[UsageRow]) -> Result<(), ApiError> {
    let refused: Vec<RefusedRow> = rows
        .iter()
        .enumerate()
        .filter_map(|(index, r)| {
            r.check().err().map(|reason| RefusedRow {
                index,
                id: r.id.clone(),
                reason,
            })
        })
        .collect();
    if let Some(first) = refused.first() {
        let more = match refused.len() {
            1 => String::new(),
            n => format!(" (and {} more refused rows, listed in `rows`)", n - 1),
        };
        return Err(ApiError::RowsRefused {
            message: format!("rows[{}]: {}{more}", first.index, first.reason),
            rows: refused,
        });
    }
    // Each cost is at most MAX_COST_NANOS now, so 5000 of them cannot overflow.
    let cost: i64 = rows.iter().map(|r| r.cost_nanos.unwrap_or(0)).sum();
    if cost > MAX_BATCH_COST_NANOS {
        return Err(ApiError::BadRequest(format!(
            "the batch's rows cost {cost} nano-dollars together, more than a batch can \
             (at most {MAX_BATCH_COST_NANOS}); send them in smaller batches"
        )));
    }
    Ok(())
}

const USAGE_COLUMNS: [&str; 36] = [
    "id",
    "key_ref",
    "developer_id",
    "team_id",
    "org_id",
    "started_at_us",
    "ended_at_us",
    "provider",
    "endpoint",
    "requested_model",
    "model",
    "status",
    "streamed",
    "incomplete",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "cost_nanos",
    "price_version",
    "latency_us",
    "ttfb_us",
    "upstream_request_id",
    "session_id",
    "agent",
    "agent_version",
    "agent_session_id",
    "project",
    "branch",
    "task",
    "cwd",
    "host",
    "error",
    "received_at_us",
];

/// Rows per INSERT statement (36 parameters each; well under both backends' limits).
const INSERT_CHUNK: usize = 200;

fn usage_values(r: &UsageRow, ctx: &KeyCtx, now: i64, out: &mut Vec<Value>) {
    out.extend([
        Value::from(&r.id),
        ctx.key_ref.into(),
        ctx.developer_id.into(),
        ctx.team_id.into(),
        ctx.org_id.into(),
        r.started_at_us.into(),
        r.ended_at_us.max(r.started_at_us).into(),
        (&r.provider).into(),
        (&r.endpoint).into(),
        r.requested_model.clone().into(),
        r.model.clone().into(),
        r.status.into(),
        r.streamed.into(),
        r.incomplete.into(),
        r.input_tokens.into(),
        r.output_tokens.into(),
        r.cache_read_tokens.into(),
        r.cache_write_5m_tokens.into(),
        r.cache_write_1h_tokens.into(),
        r.reasoning_tokens.into(),
        r.cost_nanos.into(),
        (&r.price_version).into(),
        r.latency_us.into(),
        r.ttfb_us.into(),
        r.upstream_request_id.clone().into(),
        (&r.session_id).into(),
        r.agent.clone().into(),
        r.agent_version.clone().into(),
        r.agent_session_id.clone().into(),
        r.project.clone().into(),
        r.branch.clone().into(),
        r.task.clone().into(),
        r.cwd.clone().into(),
        r.host.clone().into(),
        r.error.clone().into(),
        now.into(),
    ]);
}

fn insert_sql(rows: usize) -> String {
    let cols = USAGE_COLUMNS.len();
    let mut sql = format!("INSERT INTO usage ({}) VALUES ", USAGE_COLUMNS.join(", "));
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * cols + c + 1));
        }
        sql.push(')');
    }
    sql.push_str(
        " ON CONFLICT (id) DO NOTHING RETURNING session_id, cost_nanos, started_at_us, model,
            input_tokens, output_tokens, cache_read_tokens,
            cache_write_5m_tokens + cache_write_1h_tokens, reasoning_tokens",
    );
    sql
}

/// Inserts rows idempotently (a known id is a duplicate, counted once ever) and charges the
/// new rows' cost to their session's latest lease. The rows must have passed [`check_batch`].
/// One transaction from the first insert to the budgets it answers with: a failure stores
/// nothing, so the client's retry of the same batch counts every row once.
pub async fn ingest(
    store: &dyn Store,
    ctx: &KeyCtx,
    rows: &[UsageRow],
) -> Result<IngestResult, ApiError> {
    let now = now_us();
    let mut tx = store.begin(true).await?;
    let mut accepted = 0u64;
    let mut by_session: BTreeMap<String, i64> = BTreeMap::new();
    let mut rollup: BTreeMap<(Scope, i64, i64), i64> = BTreeMap::new();
    // Per model: requests, cost, then input, output, cache read, cache write, reasoning tokens.
    let mut totals: BTreeMap<String, [i64; 7]> = BTreeMap::new();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let sql = insert_sql(chunk.len());
        let mut params = Vec::with_capacity(chunk.len() * USAGE_COLUMNS.len());
        for r in chunk {
            usage_values(r, ctx, now, &mut params);
        }
        for r in tx.query(&sql, &params).await? {
            accepted += 1;
            let cost = r.opt_int(1).unwrap_or(0);
            let session = by_session.entry(r.text(0)).or_default();
            *session = session.saturating_add(cost);
            let at = r.int(2);
            let bucket = at - at.rem_euclid(QUARTER_HOUR_US);
            let scopes = [
                Some((Scope::Org, ctx.org_id)),
                ctx.team_id.map(|t| (Scope::Team, t)),
                Some((Scope::Developer, ctx.developer_id)),
                Some((Scope::Key, ctx.key_ref)),
            ];
            for (scope, id) in scopes.into_iter().flatten() {
                let sum = rollup.entry((scope, id, bucket)).or_default();
                *sum = sum.saturating_add(cost);
            }
            let model = r.opt_text(3).unwrap_or_default();
            let sums = totals.entry(model).or_default();
            sums[0] += 1;
            sums[1] = sums[1].saturating_add(cost);
            for (i, sum) in sums[2..].iter_mut().enumerate() {
                *sum = sum.saturating_add(r.int(4 + i));
            }
        }
    }
    // Stored sums saturate (see `status_of`). In key order too, for the same reason.
    let totals_sql = {
        let cols = [
            "requests",
            "cost_nanos",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
        ];
        let set: Vec<String> = cols
            .iter()
            .map(|c| {
                format!(
                    "{c} = {}",
                    add_sql(&format!("usage_totals.{c}"), &format!("excluded.{c}"))
                )
            })
            .collect();
        format!(
            "INSERT INTO usage_totals (org_id, team_id, developer_id, model, {})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (org_id, team_id, developer_id, model) DO UPDATE SET {}",
            cols.join(", "),
            set.join(", ")
        )
    };
    for (model, sums) in &totals {
        let mut params = vec![
            ctx.org_id.into(),
            ctx.team_id.unwrap_or(0).into(),
            ctx.developer_id.into(),
            model.into(),
        ];
        params.extend(sums.iter().map(|&v| v.into()));
        tx.execute(&totals_sql, &params).await?;
    }
    // In key order, so concurrent batches lock rollup rows in one order (no deadlocks).
    let rollup_sql = format!(
        "INSERT INTO usage_rollup (scope_kind, scope_id, bucket_us, cost_nanos) VALUES ($1, $2, $3, $4)
         ON CONFLICT (scope_kind, scope_id, bucket_us) DO UPDATE SET cost_nanos = {}",
        add_sql("usage_rollup.cost_nanos", "excluded.cost_nanos")
    );
    for ((scope, id, bucket), cost) in &rollup {
        tx.execute(
            &rollup_sql,
            &[
                scope.as_str().into(),
                (*id).into(),
                (*bucket).into(),
                (*cost).into(),
            ],
        )
        .await?;
    }
    let lease_sql = format!(
        "UPDATE leases SET consumed_nanos = {} WHERE id = (
            SELECT id FROM leases WHERE key_ref = $2 AND session_id = $3
            ORDER BY created_at_us DESC, id DESC LIMIT 1)",
        add_sql("consumed_nanos", "$1")
    );
    for (session, cost) in by_session.iter().filter(|(_, c)| **c > 0) {
        tx.execute(
            &lease_sql,
            &[(*cost).into(), ctx.key_ref.into(), session.into()],
        )
        .await?;
    }
    // Before the commit: an answer that fails must leave nothing stored.
    let budgets = key_budgets(&mut *tx, ctx, now, false).await?;
    tx.commit().await?;
    Ok(IngestResult {
        accepted,
        duplicates: rows.len() as u64 - accepted,
        budgets,
    })
}
