//! Usage ingest: checking a batch of rows, then storing it idempotently and charging each new
//! row to its session's lease, in one transaction.

use super::budgets::key_budgets;
use super::*;
use crate::calendar::QUARTER_HOUR_US;

/// Checks a batch before anything is stored: every row ([`UsageRow::check`]; all refused rows
/// are named), then the batch's total cost against [`MAX_BATCH_COST_NANOS`].
pub fn check_batch(rows: &[UsageRow]) -> Result<(), ApiError> {
    let refused: Vec<RefusedRow> = rows
        .iter()
        .enumerate()
        .filter_map(|(index, r)| {
            r.check().err().map(|reason| RefusedRow {
                index,
                id: crate::limits::cut(&r.id, 64),
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

pub(super) const USAGE_COLUMNS: [&str; 37] = [
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
    "source",
];

/// Rows per INSERT statement (37 parameters each; well under both backends' limits).
pub(super) const INSERT_CHUNK: usize = 200;

pub(super) fn usage_values(r: &UsageRow, ctx: &KeyCtx, now: i64, out: &mut Vec<Value>) {
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
        r.source.as_str().into(),
    ]);
}

pub(super) fn insert_sql(rows: usize) -> String {
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
            cache_write_5m_tokens + cache_write_1h_tokens, reasoning_tokens, id, agent, project,
            status, branch, task, ended_at_us, source",
    );
    sql
}

/// Inserts rows idempotently (a known id is a duplicate, counted once ever) and charges each
/// new row's cost to the lease its session held when it started. The rows must have passed [`check_batch`].
/// One transaction from the first insert to the budgets it answers with: a failure stores
/// nothing, so the client's retry of the same batch counts every row once.
///
/// Answers with the ids of the rows that were new (not duplicates), for export.
pub async fn ingest(
    store: &dyn Store,
    ctx: &KeyCtx,
    rows: &[UsageRow],
) -> Result<(IngestResult, Vec<String>), ApiError> {
    let now = now_us();
    let mut tx = store.begin(true).await?;
    let mut accepted = 0u64;
    let mut new_ids = Vec::new();
    // Per session: each new row's start and cost, to charge it to the lease it ran under.
    let mut by_session: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    let mut rollup: BTreeMap<(Scope, i64, i64), i64> = BTreeMap::new();
    // Per model, agent and project: requests, cost, then input, output, cache read, cache
    // write, reasoning tokens, then the requests answered 402, 403 and 429.
    let mut totals: BTreeMap<(String, String, String), [i64; 10]> = BTreeMap::new();
    // Per quarter hour, model, agent, project and branch: requests, cost, the five token
    // counts, then the unpriced requests (the dashboard's sums).
    let mut quarters: BTreeMap<(i64, String, String, String, String), [i64; 8]> = BTreeMap::new();
    let mut sessions: BTreeMap<String, SessionSums> = BTreeMap::new();
    for chunk in rows.chunks(INSERT_CHUNK) {
        let sql = insert_sql(chunk.len());
        let mut params = Vec::with_capacity(chunk.len() * USAGE_COLUMNS.len());
        for r in chunk {
            usage_values(r, ctx, now, &mut params);
        }
        for r in tx.query(&sql, &params).await? {
            accepted += 1;
            new_ids.push(r.text(9)?);
            // Imported usage is kept and reported, and charges nothing (migration 9).
            if r.text(16)? != "proxy" {
                continue;
            }
            let cost = r.opt_int(1)?.unwrap_or(0);
            let at = r.int(2)?;
            if cost > 0 {
                by_session.entry(r.text(0)?).or_default().push((at, cost));
            }
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
            let series = (
                r.opt_text(3)?.unwrap_or_default(),
                r.opt_text(10)?.unwrap_or_default(),
                r.opt_text(11)?.unwrap_or_default(),
            );
            let sums = totals.entry(series.clone()).or_default();
            sums[0] += 1;
            sums[1] = sums[1].saturating_add(cost);
            for (i, sum) in sums[2..7].iter_mut().enumerate() {
                *sum = sum.saturating_add(r.int(4 + i)?);
            }
            match r.int(12)? {
                402 => sums[7] += 1,
                403 => sums[8] += 1,
                429 => sums[9] += 1,
                _ => {}
            }
            let unpriced = i64::from(r.opt_int(1)?.is_none());
            let (model, agent, project) = series;
            let branch = r.opt_text(13)?.unwrap_or_default();
            let task = r.opt_text(14)?.unwrap_or_default();
            let q = quarters
                .entry((
                    bucket,
                    model,
                    agent.clone(),
                    project.clone(),
                    branch.clone(),
                ))
                .or_default();
            q[0] += 1;
            q[1] = q[1].saturating_add(cost);
            for (i, sum) in q[2..7].iter_mut().enumerate() {
                *sum = sum.saturating_add(r.int(4 + i)?);
            }
            q[7] += unpriced;
            // A client's end time is clamped to a day after the start: one far in the future
            // would put its session in every period and first on every list.
            let ended = r.int(15)?.clamp(at, at.saturating_add(86_400_000_000));
            let session = sessions.entry(r.text(0)?).or_insert_with(|| SessionSums {
                first_us: at,
                last_us: ended,
                ..SessionSums::default()
            });
            session.first_us = session.first_us.min(at);
            session.last_us = session.last_us.max(ended);
            session.requests += 1;
            session.cost_nanos = session.cost_nanos.saturating_add(cost);
            session.unpriced += unpriced;
            for (field, value) in [
                (&mut session.agent, agent),
                (&mut session.project, project),
                (&mut session.branch, branch),
                (&mut session.task, task),
            ] {
                if !value.is_empty() {
                    *field = value;
                }
            }
        }
    }
    // Stored sums saturate (see `status_of`). In key order too, for the same reason.
    let totals_sql = upsert_sql(
        "usage_series",
        &[
            "org_id",
            "team_id",
            "developer_id",
            "model",
            "agent",
            "project",
        ],
        &[
            "requests",
            "cost_nanos",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
            "refused_402",
            "refused_403",
            "refused_429",
        ],
        &[],
    );
    for ((model, agent, project), sums) in &totals {
        let mut params = vec![
            ctx.org_id.into(),
            ctx.team_id.unwrap_or(0).into(),
            ctx.developer_id.into(),
            model.into(),
            agent.into(),
            project.into(),
        ];
        params.extend(sums.iter().map(|&v| v.into()));
        tx.execute(&totals_sql, &params).await?;
    }
    let quarters_sql = upsert_sql(
        "usage_quarters",
        &[
            "org_id",
            "bucket_us",
            "team_id",
            "developer_id",
            "model",
            "agent",
            "project",
            "branch",
        ],
        &[
            "requests",
            "cost_nanos",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
            "unpriced",
        ],
        &[],
    );
    for ((bucket, model, agent, project, branch), sums) in &quarters {
        let mut params = vec![
            ctx.org_id.into(),
            (*bucket).into(),
            ctx.team_id.unwrap_or(0).into(),
            ctx.developer_id.into(),
            model.into(),
            agent.into(),
            project.into(),
            branch.into(),
        ];
        params.extend(sums.iter().map(|&v| v.into()));
        tx.execute(&quarters_sql, &params).await?;
    }
    let sessions_sql = upsert_sql(
        "usage_sessions",
        &["key_ref", "session_id"],
        &["requests", "cost_nanos", "unpriced"],
        &[
            ("org_id", "excluded.org_id"),
            ("team_id", "excluded.team_id"),
            ("developer_id", "excluded.developer_id"),
            ("agent", "CASE WHEN excluded.agent = '' THEN usage_sessions.agent ELSE excluded.agent END"),
            ("project", "CASE WHEN excluded.project = '' THEN usage_sessions.project ELSE excluded.project END"),
            ("branch", "CASE WHEN excluded.branch = '' THEN usage_sessions.branch ELSE excluded.branch END"),
            ("task", "CASE WHEN excluded.task = '' THEN usage_sessions.task ELSE excluded.task END"),
            ("first_us", "CASE WHEN excluded.first_us < usage_sessions.first_us THEN excluded.first_us ELSE usage_sessions.first_us END"),
            ("last_us", "CASE WHEN excluded.last_us > usage_sessions.last_us THEN excluded.last_us ELSE usage_sessions.last_us END"),
        ],
    );
    for (session, s) in &sessions {
        tx.execute(
            &sessions_sql,
            &[
                ctx.key_ref.into(),
                session.into(),
                s.requests.into(),
                s.cost_nanos.into(),
                s.unpriced.into(),
                ctx.org_id.into(),
                ctx.team_id.unwrap_or(0).into(),
                ctx.developer_id.into(),
                (&s.agent).into(),
                (&s.project).into(),
                (&s.branch).into(),
                (&s.task).into(),
                s.first_us.into(),
                s.last_us.into(),
            ],
        )
        .await?;
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
    // A row is charged to the lease its session held when it started (the last one taken
    // before it; the first, for a row older than all): a session that gave a lease back and took
    // another has its earlier rows still count against the one it gave back, which reported
    // them as spent.
    let lease_sql = format!(
        "UPDATE leases SET consumed_nanos = {} WHERE id = $2",
        add_sql("consumed_nanos", "$1")
    );
    for (session, session_rows) in &by_session {
        let leases: Vec<(i64, i64)> = tx
            .query(
                "SELECT id, created_at_us FROM leases WHERE key_ref = $1 AND session_id = $2
                 ORDER BY created_at_us, id",
                &[ctx.key_ref.into(), session.into()],
            )
            .await?
            .iter()
            .map(|r| Ok::<_, StoreError>((r.int(0)?, r.int(1)?)))
            .collect::<Result<_, _>>()?;
        let mut charged: BTreeMap<i64, i64> = BTreeMap::new();
        for (started, cost) in session_rows {
            let lease = leases
                .iter()
                .rev()
                .find(|(_, created)| created <= started)
                .or(leases.first());
            if let Some((id, _)) = lease {
                let sum = charged.entry(*id).or_default();
                *sum = sum.saturating_add(*cost);
            }
        }
        for (lease, cost) in charged {
            tx.execute(&lease_sql, &[cost.into(), lease.into()]).await?;
        }
    }
    // Before the commit: an answer that fails must leave nothing stored.
    let budgets = key_budgets(&mut *tx, ctx, now, false).await?;
    tx.commit().await?;
    let result = IngestResult {
        accepted,
        duplicates: rows.len() as u64 - accepted,
        budgets,
    };
    Ok((result, new_ids))
}

/// One gw session's sums in a batch, for `usage_sessions`.
#[derive(Default)]
struct SessionSums {
    agent: String,
    project: String,
    branch: String,
    task: String,
    first_us: i64,
    last_us: i64,
    requests: i64,
    cost_nanos: i64,
    unpriced: i64,
}

/// `INSERT INTO table (keys, sums, others) VALUES ($1…) ON CONFLICT (keys) DO UPDATE`: each sum
/// added (saturating), each other column set to its expression (of `excluded` and `table`).
/// Parameters go in that order: keys, sums, others.
fn upsert_sql(table: &str, keys: &[&str], sums: &[&str], others: &[(&str, &str)]) -> String {
    let columns: Vec<&str> = keys
        .iter()
        .chain(sums)
        .copied()
        .chain(others.iter().map(|(c, _)| *c))
        .collect();
    let values: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let set: Vec<String> = sums
        .iter()
        .map(|c| {
            format!(
                "{c} = {}",
                add_sql(&format!("{table}.{c}"), &format!("excluded.{c}"))
            )
        })
        .chain(others.iter().map(|(c, e)| format!("{c} = {e}")))
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
        columns.join(", "),
        values.join(", "),
        keys.join(", "),
        set.join(", ")
    )
}
