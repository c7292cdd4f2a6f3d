//! Leases: a session's grant from its budgets (create), its heartbeat and top-ups (renew), and
//! what it spent when it ends (release). See the accounting rules in the module above.

use super::budgets::{grant_from, key_budgets};
use super::*;

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
    let strict = budgets.iter().any(|b| b.strict);
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
    // The limits over the key, with no share yet: a session takes one at its first request,
    // so idle sessions hold none of a window.
    let rates = super::rates::lease_rates(&mut *tx, ctx, &lease_id, now, false).await?;
    tx.commit().await?;
    Ok(LeaseGrant {
        rates,
        lease_id,
        session_id: session_id.to_string(),
        granted_nanos: granted,
        expires_at: money::rfc3339_us(expires),
        ttl_secs,
        limited_by: limiting,
        strict,
    })
}

pub(super) struct LeaseRow {
    id: i64,
    session_id: String,
    granted: i64,
    consumed: i64,
    released: bool,
    reported: Option<i64>,
    expires: i64,
}

pub(super) async fn lease_row(
    tx: &mut dyn Tx,
    ctx: &KeyCtx,
    lease_id: &str,
) -> Result<LeaseRow, ApiError> {
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
        id: r.int(0)?,
        session_id: r.text(1)?,
        granted: r.int(2)?,
        consumed: r.int(3)?,
        released: r.flag(4)?,
        reported: r.opt_int(5)?,
        expires: r.int(6)?,
    })
}

pub async fn renew_lease(
    store: &dyn Store,
    ctx: &KeyCtx,
    lease_id: &str,
    top_up: i64,
    rates: bool,
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
    let rates = super::rates::lease_rates(&mut *tx, ctx, lease_id, now, rates).await?;
    // Whether a budget over the key is strict now: an admin may have changed it.
    let strict = if top_up > 0 {
        budgets.iter().any(|b| b.strict)
    } else {
        key_budgets(&mut *tx, ctx, now, false)
            .await?
            .iter()
            .any(|b| b.strict)
    };
    tx.commit().await?;
    Ok(LeaseState {
        rates,
        strict,
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
