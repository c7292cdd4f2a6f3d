//! Budgets: which apply to a key, where each stands in its current period (spent, reserved by
//! open leases, remaining), and how much of an ask every budget above a key can grant.

use super::*;

/// The usage / lease column holding a scope's id.
pub(super) fn scope_column(scope: Scope) -> &'static str {
    match scope {
        Scope::Org => "org_id",
        Scope::Team => "team_id",
        Scope::Developer => "developer_id",
        Scope::Key => "key_ref",
    }
}

pub(in crate::server) struct BudgetDef {
    id: i64,
    pub scope: Scope,
    pub scope_id: i64,
    limit_nanos: i64,
    period: BudgetPeriod,
    soft_bp: i64,
    pub strict: bool,
}

pub(in crate::server) const BUDGET_COLUMNS: &str =
    "id, scope_kind, scope_id, limit_nanos, period, soft_bp, strict";

pub(in crate::server) fn budget_def(r: &DbRow) -> Result<BudgetDef, StoreError> {
    let scope = r.text(1)?;
    let period = r.text(4)?;
    Ok(BudgetDef {
        id: r.int(0)?,
        scope: Scope::parse(&scope)
            .ok_or_else(|| StoreError::Decode(format!("budget scope `{scope}`")))?,
        scope_id: r.int(2)?,
        limit_nanos: r.int(3)?,
        period: BudgetPeriod::parse(&period)
            .ok_or_else(|| StoreError::Decode(format!("budget period `{period}`")))?,
        soft_bp: r.int(5)?,
        strict: r.flag(6)?,
    })
}

/// Outstanding reservation of one lease row (see the module doc).
pub(super) const OUTSTANDING: &str = "CASE WHEN (CASE WHEN released = 0 THEN granted_nanos ELSE coalesce(reported_nanos, 0) END) > consumed_nanos
     THEN (CASE WHEN released = 0 THEN granted_nanos ELSE coalesce(reported_nanos, 0) END) - consumed_nanos ELSE 0 END";

pub(in crate::server) async fn status_of(
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
        .map_or(Ok(0), |r| r.sum(0))?;
    let reserved_sql = format!(
        "SELECT {} FROM leases WHERE {col} = $1 AND expires_at_us > $2",
        sum_sql(OUTSTANDING)
    );
    let reserved = tx
        .one(&reserved_sql, &[b.scope_id.into(), now.into()])
        .await?
        .map_or(Ok(0), |r| r.sum(0))?;
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
        strict: b.strict,
        period_start: end.map(|_| money::rfc3339_us(start)),
        resets_at: end.map(money::rfc3339_us),
        tz: tz_name.to_string(),
    })
}

/// The budgets above a key (key, developer, team, org), locked on PostgreSQL when `lock`.
pub(super) async fn key_budgets(
    tx: &mut dyn Tx,
    ctx: &KeyCtx,
    now: i64,
    lock: bool,
) -> Result<Vec<BudgetStatus>, StoreError> {
    let rows = ctx.scoped_rows(tx, "budgets", BUDGET_COLUMNS, lock).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let b = budget_def(r)?;
        let name = ctx.scope_name(b.scope);
        out.push(status_of(tx, &b, name, &ctx.tz, now).await?);
    }
    Ok(out)
}

/// `min(asked, remaining)` over every budget, and the budget that bound it (if any did).
pub(super) fn grant_from(asked: i64, budgets: &[BudgetStatus]) -> (i64, Option<BudgetStatus>) {
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

pub async fn budgets_for_key(
    store: &dyn Store,
    ctx: &KeyCtx,
) -> Result<Vec<BudgetStatus>, StoreError> {
    let mut tx = store.begin(false).await?;
    key_budgets(&mut *tx, ctx, now_us(), false).await
}
