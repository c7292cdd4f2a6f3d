//! Rate limits: requests and tokens per window on a key, developer, team or org. A session
//! learns the limits over its key with its lease and takes a share of each at its first request
//! (and again when it has spent it or the window turned); the shares granted in a window never add up to more than the limit, so the
//! sessions of any number of replicas stay within it with no round trip per request. Requests
//! are counted before they go (never over); tokens after (over by at most what each session's
//! requests in flight use).

use super::*;

/// A limit as stored.
pub(in crate::server) struct LimitDef {
    id: i64,
    pub scope: Scope,
    pub scope_id: i64,
    window_secs: i64,
    max_requests: Option<i64>,
    max_tokens: Option<i64>,
}

const LIMIT_COLUMNS: &str = "id, scope_kind, scope_id, window_secs, max_requests, max_tokens";

fn limit_def(r: &DbRow) -> Result<LimitDef, StoreError> {
    let scope = r.text(1)?;
    Ok(LimitDef {
        id: r.int(0)?,
        scope: Scope::parse(&scope)
            .ok_or_else(|| StoreError::Decode(format!("rate limit scope `{scope}`")))?,
        scope_id: r.int(2)?,
        window_secs: r.int(3)?,
        max_requests: r.opt_int(4)?,
        max_tokens: r.opt_int(5)?,
    })
}

impl LimitDef {
    /// The current window's start (microseconds, aligned to the epoch) and end.
    fn window(&self, now: i64) -> (i64, i64) {
        let span = self.window_secs.max(1) * 1_000_000;
        let start = now - now.rem_euclid(span);
        (start, start + span)
    }

    fn describe(&self, name: &str) -> String {
        let caps: Vec<String> = [
            self.max_requests.map(|n| format!("{n} requests")),
            self.max_tokens.map(|n| format!("{n} tokens")),
        ]
        .into_iter()
        .flatten()
        .collect();
        format!(
            "{} {name}: {} per {} s",
            self.scope.as_str(),
            caps.join(" and "),
            self.window_secs
        )
    }
}

/// The limits over a key, locked (PostgreSQL) in id order while shares are granted.
async fn key_limits(
    tx: &mut dyn Tx,
    ctx: &KeyCtx,
    lock: bool,
) -> Result<Vec<(LimitDef, String)>, StoreError> {
    let rows = ctx
        .scoped_rows(tx, "rate_limits", LIMIT_COLUMNS, lock)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let l = limit_def(r)?;
        let name = ctx.scope_name(l.scope);
        out.push((l, name));
    }
    Ok(out)
}

/// What all leases were granted of a limit in a window: (requests, tokens).
async fn granted_in(tx: &mut dyn Tx, limit: i64, window: i64) -> Result<(i64, i64), StoreError> {
    let sql = format!(
        "SELECT {}, {} FROM rate_grants WHERE limit_id = $1 AND window_start_us = $2",
        sum_sql("requests"),
        sum_sql("tokens")
    );
    Ok(tx
        .one(&sql, &[limit.into(), window.into()])
        .await?
        // `sum_sql` is two columns each: requests are 0 and 1, tokens 2 and 3.
        .map(|r| Ok::<_, StoreError>((r.sum(0)?, r.sum(2)?)))
        .transpose()?
        .unwrap_or((0, 0)))
}

/// A share of what is left of a cap: a quarter (at least one), so one session cannot take a
/// window's whole allowance while others wait.
fn share(cap: Option<i64>, granted: i64) -> i64 {
    match cap {
        Some(cap) => {
            let left = (cap - granted).max(0);
            if left == 0 {
                0
            } else {
                (left / 4).max(1)
            }
        }
        None => 0,
    }
}

/// Grants `lease_id` a share of every rate limit over the key in its current window (when
/// `grant`), and answers what the lease holds of each (cumulative for the window).
pub(super) async fn lease_rates(
    tx: &mut dyn Tx,
    ctx: &KeyCtx,
    lease_id: &str,
    now: i64,
    grant: bool,
) -> Result<Vec<RateAllowance>, StoreError> {
    let limits = key_limits(tx, ctx, grant).await?;
    // The windows are told from when the limits are locked, not from before a wait for them.
    let now = now.max(now_us());
    let mut out = Vec::with_capacity(limits.len());
    for (l, name) in limits {
        let (start, end) = l.window(now);
        if grant {
            // This limit's past windows are history (its row is locked: no one else's).
            tx.execute(
                "DELETE FROM rate_grants WHERE limit_id = $1 AND window_start_us < $2",
                &[l.id.into(), start.into()],
            )
            .await?;
            let (requests, tokens) = granted_in(tx, l.id, start).await?;
            let (add_requests, add_tokens) =
                (share(l.max_requests, requests), share(l.max_tokens, tokens));
            if add_requests > 0 || add_tokens > 0 {
                tx.execute(
                    &format!(
                        "INSERT INTO rate_grants (limit_id, window_start_us, lease_id, requests, tokens)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (limit_id, window_start_us, lease_id) DO UPDATE SET
                            requests = {}, tokens = {}",
                        add_sql("rate_grants.requests", "$4"),
                        add_sql("rate_grants.tokens", "$5")
                    ),
                    &[
                        l.id.into(),
                        start.into(),
                        lease_id.into(),
                        add_requests.into(),
                        add_tokens.into(),
                    ],
                )
                .await?;
            }
        }
        let mine = tx
            .one(
                "SELECT requests, tokens FROM rate_grants
                 WHERE limit_id = $1 AND window_start_us = $2 AND lease_id = $3",
                &[l.id.into(), start.into(), lease_id.into()],
            )
            .await?
            .map(|r| Ok::<_, StoreError>((r.int(0)?, r.int(1)?)))
            .transpose()?
            .unwrap_or((0, 0));
        out.push(RateAllowance {
            limit_id: l.id,
            name: l.describe(&name),
            window_start_us: start,
            window_secs: l.window_secs,
            resets_in_ms: (end - now) / 1000,
            requests: l.max_requests.map(|_| mine.0),
            tokens: l.max_tokens.map(|_| mine.1),
        });
    }
    Ok(out)
}

/// Every limit over a key, with what was granted of it in its current window.
pub async fn limits_for_key(
    store: &dyn Store,
    ctx: &KeyCtx,
) -> Result<Vec<RateLimitView>, StoreError> {
    let mut tx = store.begin(false).await?;
    let now = now_us();
    let mut out = Vec::new();
    for (l, name) in key_limits(&mut *tx, ctx, false).await? {
        out.push(view(&mut *tx, l, name, now).await?);
    }
    Ok(out)
}

async fn view(
    tx: &mut dyn Tx,
    l: LimitDef,
    name: String,
    now: i64,
) -> Result<RateLimitView, StoreError> {
    let (start, end) = l.window(now);
    let (requests, tokens) = granted_in(tx, l.id, start).await?;
    Ok(RateLimitView {
        id: l.id,
        scope: l.scope,
        name,
        window_secs: l.window_secs,
        max_requests: l.max_requests,
        max_tokens: l.max_tokens,
        granted_requests: requests,
        granted_tokens: tokens,
        window_ends_at: money::rfc3339_us(end),
    })
}

/// A stored limit by id.
pub(in crate::server) async fn stored_limit(
    tx: &mut dyn Tx,
    id: i64,
) -> Result<Option<LimitDef>, StoreError> {
    let row = tx
        .one(
            &format!("SELECT {LIMIT_COLUMNS} FROM rate_limits WHERE id = $1"),
            &[id.into()],
        )
        .await?;
    row.map(|r| limit_def(&r)).transpose()
}

/// A stored limit as the admin API shows it, its scope named `name`.
pub(in crate::server) async fn limit_view(
    tx: &mut dyn Tx,
    limit: LimitDef,
    name: String,
) -> Result<RateLimitView, StoreError> {
    view(tx, limit, name, now_us()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_a_quarter_of_what_is_left_and_never_more() {
        assert_eq!(share(Some(100), 0), 25);
        assert_eq!(share(Some(100), 97), 1);
        assert_eq!(share(Some(100), 100), 0);
        assert_eq!(share(Some(100), 150), 0);
        assert_eq!(share(None, 0), 0);
        // Sessions asking in turn never get more than the cap in all.
        let mut granted = 0;
        for _ in 0..1000 {
            granted += share(Some(100), granted);
        }
        assert_eq!(granted, 100);
        let l = LimitDef {
            id: 1,
            scope: Scope::Team,
            scope_id: 1,
            window_secs: 60,
            max_requests: Some(10),
            max_tokens: None,
        };
        assert_eq!(l.window(61_000_000), (60_000_000, 120_000_000));
        assert_eq!(
            l.describe("acme/backend"),
            "team acme/backend: 10 requests per 60 s"
        );
    }
}
