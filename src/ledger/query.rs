//! Report queries: spend sums (from the day, hour and quarter-hour rollups, the raw rows only where
//! a bucket is cut), recent sessions, and opening an existing ledger for reading without creating it.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use rusqlite::{params_from_iter, Connection, OpenFlags, OptionalExtension};

use super::{schema, Ledger, LedgerError, Row};
use crate::calendar::QUARTER_HOUR_US;
use crate::dimension::Dimension;

/// The rollup tables (migration 2) and their bucket widths in microseconds, coarsest first.
/// UTC days serve the inside of long periods, hours the local days of whole-hour zones, and
/// quarter hours every zone in use today (all start their days on a quarter hour).
const LEVELS: [(&str, i64); 3] = [
    ("spend_1d", 86_400_000_000),
    ("spend_1h", 3_600_000_000),
    ("spend_15m", QUARTER_HOUR_US),
];

/// A request attribute's column in `requests` and in the rollups. A key the ledger does not
/// record (or a calendar key, which is no column) reads as the empty text: not recorded.
fn column(d: Dimension) -> &'static str {
    d.ledger_column().unwrap_or("''")
}

/// Which table answers a spend query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// The rollups for whole buckets, raw rows for cut ones: the fast path.
    #[default]
    Rollup,
    /// Raw rows only: the reference the rollup is tested and benchmarked against.
    Raw,
}

/// Sums of a set of requests, as the ledger stores them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    pub requests: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    /// 5-minute plus 1-hour cache writes.
    pub cache_write_tokens: i64,
    pub reasoning_tokens: i64,
    /// Nano-dollars of the priced requests.
    pub cost_nanos: i64,
    /// Requests whose model had no price (their cost is in no sum).
    pub unpriced_requests: i64,
}

impl Sums {
    /// Adds `other`, saturating: sums of rows from an older gw or server can pass 2^63.
    pub fn add(&mut self, other: &Sums) {
        self.requests = self.requests.saturating_add(other.requests);
        self.input_tokens = self.input_tokens.saturating_add(other.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(other.output_tokens);
        self.cache_read_tokens = self
            .cache_read_tokens
            .saturating_add(other.cache_read_tokens);
        self.cache_write_tokens = self
            .cache_write_tokens
            .saturating_add(other.cache_write_tokens);
        self.reasoning_tokens = self.reasoning_tokens.saturating_add(other.reasoning_tokens);
        self.cost_nanos = self.cost_nanos.saturating_add(other.cost_nanos);
        self.unpriced_requests = self
            .unpriced_requests
            .saturating_add(other.unpriced_requests);
    }

    /// The sums of one recorded request.
    pub fn of_row(row: &Row) -> Sums {
        let u = &row.usage;
        Sums {
            requests: 1,
            input_tokens: u.input as i64,
            output_tokens: u.output as i64,
            cache_read_tokens: u.cache_read as i64,
            cache_write_tokens: u.cache_write() as i64,
            reasoning_tokens: u.reasoning as i64,
            cost_nanos: row.cost_nanos.unwrap_or(0),
            unpriced_requests: i64::from(row.cost_nanos.is_none()),
        }
    }
}

/// Keeps requests whose `column` equals one of `values`; a value with `*` is a glob (`claude-*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub column: Dimension,
    pub values: Vec<String>,
}

/// What to sum: a time range, the attributes to group by, filters.
#[derive(Debug, Clone, Default)]
pub struct SpendQuery {
    /// Inclusive start, Unix µs; `None` = from the first request.
    pub since_us: Option<i64>,
    /// Exclusive end, Unix µs; `None` = to the last request.
    pub until_us: Option<i64>,
    /// Group by these attributes (not calendar keys: see `by_time`), in this order.
    pub group_by: Vec<Dimension>,
    /// Also group by time: each group then carries an instant (`SpendGroup::at_us`) that lies in
    /// the same piece between two `split_at` instants as all of its requests.
    pub by_time: bool,
    /// Instants where the caller's time keys change (local day starts). Buckets cut by one are
    /// summed from raw rows, so a group never straddles one.
    pub split_at: Vec<i64>,
    pub filters: Vec<Filter>,
    pub source: Source,
}

/// One group of a spend query. Groups with equal `values` can come back more than once (from
/// different buckets or from the rollup and the raw rows); the caller merges them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendGroup {
    /// Some instant within the group's time piece (when `by_time`).
    pub at_us: Option<i64>,
    /// One value per `group_by` column; `None` when the request did not record it.
    pub values: Vec<Option<String>>,
    pub sums: Sums,
}

/// A session as `gw sessions` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub session_id: String,
    pub first_started_at_us: i64,
    pub last_ended_at_us: i64,
    pub agent: Option<String>,
    pub developer: Option<String>,
    pub project: Option<String>,
    pub branch: Option<String>,
    pub task: Option<String>,
    pub sums: Sums,
}

/// How `find_session` resolved an id the user typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionMatch {
    One(String),
    None,
    Ambiguous(Vec<String>),
}

impl Ledger {
    /// Opens the ledger at `path` for reports: `None` when it does not exist yet (nothing is
    /// created). Read-only when its schema is current; an older schema is migrated first.
    pub fn open_existing(path: &Path) -> Result<Option<Ledger>, LedgerError> {
        if !path.exists() {
            return Ok(None);
        }
        let open_err = |source| LedgerError::Open {
            path: path.to_path_buf(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        let version: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(open_err)?;
        let known = schema::MIGRATIONS.len();
        if version > known {
            return Err(LedgerError::TooNew {
                path: path.to_path_buf(),
                found: version,
                known,
            });
        }
        // An older schema is migrated; rows another writer inserted are rolled up first, so a
        // report (and a local budget) counts them.
        if version < known || super::rollups_behind(&conn).map_err(open_err)? {
            drop(conn);
            let mut ledger = Ledger::open(path)?;
            ledger.heal_rollups()?;
            return Ok(Some(ledger));
        }
        Ok(Some(Ledger {
            conn,
            path: path.to_path_buf(),
        }))
    }

    /// Whether any request was ever recorded.
    pub fn has_requests(&self) -> Result<bool, LedgerError> {
        Ok(self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM requests)", [], |r| r.get(0))?)
    }

    /// Whether a request paid by a subscription started at or after `since_us` (UTC day
    /// precision: a request earlier on that day counts too) and before `until_us`.
    pub fn has_subscription_use(
        &self,
        since_us: Option<i64>,
        until_us: i64,
    ) -> Result<bool, LedgerError> {
        const DAY_US: i64 = 86_400_000_000;
        let since = since_us.map_or(i64::MIN, |s| s - s.rem_euclid(DAY_US));
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM spend_1d
                WHERE billing = 'subscription' AND bucket >= ?1 AND bucket < ?2)",
            [since, until_us],
            |r| r.get(0),
        )?)
    }

    /// When the first request started, Unix µs.
    pub fn first_request_at(&self) -> Result<Option<i64>, LedgerError> {
        Ok(self
            .conn
            .query_row("SELECT min(started_at) FROM requests", [], |r| r.get(0))?)
    }

    /// Sums requests as `query` says. Whole UTC days come from `spend_1d`, whole hours from
    /// `spend_1h`, whole quarter hours from `spend_15m`, and what is left (cut by the range's
    /// ends or a `split_at` instant) from `requests`.
    pub fn spend(&self, query: &SpendQuery) -> Result<Vec<SpendGroup>, LedgerError> {
        let plan = Plan::new(query);
        let mut groups = Vec::new();
        for ((table, _), ranges) in LEVELS.iter().zip(&plan.levels) {
            if !ranges.is_empty() {
                self.sum_rollup(query, table, ranges, &mut groups)?;
            }
        }
        if !plan.raw.is_empty() {
            self.sum_raw(query, &plan.raw, &mut groups)?;
        }
        Ok(groups)
    }

    fn sum_rollup(
        &self,
        query: &SpendQuery,
        table: &str,
        ranges: &[(i64, i64)],
        out: &mut Vec<SpendGroup>,
    ) -> Result<(), LedgerError> {
        let mut params: Vec<rusqlite::types::Value> = Vec::new();
        let mut conditions = vec![ranges_condition("bucket", ranges, &mut params)];
        filter_conditions(
            &query.filters,
            |c| column(c).to_string(),
            &mut conditions,
            &mut params,
        );
        let select = select_list(query, "bucket", |c| column(c).to_string());
        let sums = "sum(requests), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), \
                    sum(cache_write_5m_tokens + cache_write_1h_tokens), sum(reasoning_tokens), \
                    sum(cost_nanos), sum(unpriced_requests)";
        let sql = format!(
            "SELECT {select}{sums} FROM {table}{}{}",
            where_clause(&conditions),
            group_clause(query)
        );
        self.collect_groups(&sql, params, query, out)
    }

    fn sum_raw(
        &self,
        query: &SpendQuery,
        ranges: &[(i64, i64)],
        out: &mut Vec<SpendGroup>,
    ) -> Result<(), LedgerError> {
        let mut params: Vec<rusqlite::types::Value> = Vec::new();
        let mut conditions = vec![ranges_condition("started_at", ranges, &mut params)];
        let raw_column = |c: Dimension| format!("coalesce({}, '')", column(c));
        filter_conditions(&query.filters, raw_column, &mut conditions, &mut params);
        let select = select_list(query, "started_at", raw_column);
        let sums = "count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), \
                    sum(cache_write_5m_tokens + cache_write_1h_tokens), sum(reasoning_tokens), \
                    coalesce(sum(cost_nanos), 0), sum(cost_nanos IS NULL)";
        let sql = format!(
            "SELECT {select}{sums} FROM requests{}{}",
            where_clause(&conditions),
            group_clause(query)
        );
        self.collect_groups(&sql, params, query, out)
    }

    fn collect_groups(
        &self,
        sql: &str,
        params: Vec<rusqlite::types::Value>,
        query: &SpendQuery,
        out: &mut Vec<SpendGroup>,
    ) -> Result<(), LedgerError> {
        let mut stmt = self.conn.prepare(sql)?;
        let mut rows = stmt.query(params_from_iter(params))?;
        let time = usize::from(query.by_time);
        let n = query.group_by.len();
        while let Some(r) = rows.next()? {
            // An aggregate over no rows (no GROUP BY) comes back as one row of NULLs.
            let requests: Option<i64> = r.get(time + n)?;
            let Some(requests) = requests.filter(|&n| n > 0) else {
                continue;
            };
            let at_us = if query.by_time { Some(r.get(0)?) } else { None };
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                let v: String = r.get(time + i)?;
                values.push(Some(v).filter(|v| !v.is_empty()));
            }
            let s = |i: usize| -> rusqlite::Result<i64> {
                Ok(r.get::<_, Option<i64>>(time + n + i)?.unwrap_or(0))
            };
            let sums = Sums {
                requests,
                input_tokens: s(1)?,
                output_tokens: s(2)?,
                cache_read_tokens: s(3)?,
                cache_write_tokens: s(4)?,
                reasoning_tokens: s(5)?,
                cost_nanos: s(6)?,
                unpriced_requests: s(7)?,
            };
            out.push(SpendGroup {
                at_us,
                values,
                sums,
            });
        }
        Ok(())
    }

    /// The `limit` sessions with the most recent activity, most recent first; only those of
    /// rows from `source` when given.
    pub fn recent_sessions(
        &self,
        limit: usize,
        source: Option<super::Source>,
    ) -> Result<Vec<SessionSummary>, LedgerError> {
        // The rollup's key starts with the bucket: walking it backwards meets sessions in order of
        // their last activity (to the quarter hour) without touching the raw rows. The whole
        // bucket of the last one taken is read, so the exact order below can pick among them.
        let mut ids: Vec<String> = Vec::new();
        if limit == 0 {
            return Ok(Vec::new());
        }
        {
            let mut stmt = self.conn.prepare(
                "SELECT bucket, session_id FROM spend_15m WHERE ?1 IS NULL OR source = ?1
                 ORDER BY bucket DESC",
            )?;
            let mut rows = stmt.query([source.map(super::Source::as_str)])?;
            let mut seen = std::collections::HashSet::new();
            let mut last_bucket = None;
            while let Some(r) = rows.next()? {
                let bucket: i64 = r.get(0)?;
                if last_bucket.is_some_and(|last| bucket < last) {
                    break;
                }
                let id: String = r.get(1)?;
                if seen.insert(id.clone()) {
                    ids.push(id);
                    if ids.len() == limit {
                        last_bucket = Some(bucket);
                    }
                }
            }
        }
        let mut sessions = Vec::with_capacity(ids.len());
        let mut stmt = self.conn.prepare(
            "SELECT min(started_at), max(ended_at), count(*), sum(input_tokens), sum(output_tokens),
                    sum(cache_read_tokens), sum(cache_write_5m_tokens + cache_write_1h_tokens),
                    sum(reasoning_tokens), coalesce(sum(cost_nanos), 0), sum(cost_nanos IS NULL),
                    max(agent), max(developer), max(project), max(branch), max(task)
             FROM requests WHERE session_id = ?1",
        )?;
        for id in ids {
            let summary = stmt.query_row([&id], |r| {
                Ok(SessionSummary {
                    session_id: id.clone(),
                    first_started_at_us: r.get(0)?,
                    last_ended_at_us: r.get(1)?,
                    sums: Sums {
                        requests: r.get(2)?,
                        input_tokens: r.get(3)?,
                        output_tokens: r.get(4)?,
                        cache_read_tokens: r.get(5)?,
                        cache_write_tokens: r.get(6)?,
                        reasoning_tokens: r.get(7)?,
                        cost_nanos: r.get(8)?,
                        unpriced_requests: r.get(9)?,
                    },
                    agent: r.get(10)?,
                    developer: r.get(11)?,
                    project: r.get(12)?,
                    branch: r.get(13)?,
                    task: r.get(14)?,
                })
            });
            match summary {
                Ok(s) => sessions.push(s),
                // Rows deleted since the rollup was read: the session is gone.
                Err(rusqlite::Error::InvalidColumnType(..)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        sessions.sort_by(|a, b| {
            b.last_ended_at_us
                .cmp(&a.last_ended_at_us)
                .then_with(|| a.session_id.cmp(&b.session_id))
        });
        sessions.truncate(limit);
        Ok(sessions)
    }

    /// Resolves what the user typed to a session id: the whole id, or a unique prefix or suffix.
    pub fn find_session(&self, typed: &str) -> Result<SessionMatch, LedgerError> {
        let exact: Option<i64> = self
            .conn
            .query_row(
                "SELECT 1 FROM requests WHERE session_id = ?1 LIMIT 1",
                [typed],
                |r| r.get(0),
            )
            .optional()?;
        if exact.is_some() {
            return Ok(SessionMatch::One(typed.to_string()));
        }
        if typed.is_empty() {
            return Ok(SessionMatch::None);
        }
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT session_id FROM spend_1d
             WHERE substr(session_id, 1, length(?1)) = ?1 OR substr(session_id, -length(?1)) = ?1
             ORDER BY session_id LIMIT 6",
        )?;
        let found = stmt
            .query_map([typed], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(match found.len() {
            0 => SessionMatch::None,
            1 => SessionMatch::One(found.into_iter().next().unwrap_or_default()),
            _ => SessionMatch::Ambiguous(found),
        })
    }
}

/// Which bucket ranges each rollup level answers and which time ranges the raw rows answer.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    /// Per level of `LEVELS`: bucket-start ranges `[lo, hi)` (`i64::MIN` / `i64::MAX` = open).
    levels: Vec<Vec<(i64, i64)>>,
    /// Time ranges `[lo, hi)` summed from raw rows.
    raw: Vec<(i64, i64)>,
}

impl Plan {
    fn new(query: &SpendQuery) -> Plan {
        let whole = (
            query.since_us.unwrap_or(i64::MIN),
            query.until_us.unwrap_or(i64::MAX),
        );
        let mut levels = vec![Vec::new(); LEVELS.len()];
        if whole.0 >= whole.1 {
            return Plan {
                levels,
                raw: Vec::new(),
            };
        }
        let mut pending = vec![whole];
        if query.source == Source::Rollup {
            for (level, (_, width)) in levels.iter_mut().zip(LEVELS) {
                let mut rest = Vec::new();
                for &(lo, hi) in &pending {
                    cover(lo, hi, width, &query.split_at, level, &mut rest);
                }
                *level = merged(std::mem::take(level));
                pending = merged(rest);
            }
        }
        Plan {
            levels,
            raw: pending,
        }
    }
}

/// Splits `[lo, hi)` into whole buckets of `width` that no `split_at` instant cuts (to `whole`)
/// and the rest (to `rest`).
fn cover(
    lo: i64,
    hi: i64,
    width: i64,
    split_at: &[i64],
    whole: &mut Vec<(i64, i64)>,
    rest: &mut Vec<(i64, i64)>,
) {
    let a = if lo == i64::MIN {
        lo
    } else {
        ceil_to(lo, width)
    };
    let b = if hi == i64::MAX {
        hi
    } else {
        floor_to(hi, width)
    };
    if a >= b {
        rest.push((lo, hi));
        return;
    }
    if lo < a {
        rest.push((lo, a));
    }
    if b < hi {
        rest.push((b, hi));
    }
    let cut: BTreeSet<i64> = split_at
        .iter()
        .filter(|&&p| p > a && p < b && p.rem_euclid(width) != 0)
        .map(|&p| floor_to(p, width))
        .collect();
    let mut start = a;
    for c in cut {
        if start < c {
            whole.push((start, c));
        }
        rest.push((c, c.saturating_add(width).min(hi)));
        start = c + width;
    }
    if start < b {
        whole.push((start, b));
    }
}

/// Sorted, with touching ranges joined.
fn merged(mut ranges: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    ranges.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match out.last_mut() {
            Some(last) if last.1 >= lo => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

fn floor_to(us: i64, width: i64) -> i64 {
    us - us.rem_euclid(width)
}

fn ceil_to(us: i64, width: i64) -> i64 {
    let f = floor_to(us, width);
    if f == us {
        us
    } else {
        f + width
    }
}

/// `(col >= ?1 AND col < ?2) OR …` for the ranges; open ends leave their bound out.
fn ranges_condition(
    column: &str,
    ranges: &[(i64, i64)],
    params: &mut Vec<rusqlite::types::Value>,
) -> String {
    let mut any = Vec::new();
    for &(lo, hi) in ranges {
        let mut parts = Vec::new();
        if lo > i64::MIN {
            params.push(lo.into());
            parts.push(format!("{column} >= ?{}", params.len()));
        }
        if hi < i64::MAX {
            params.push(hi.into());
            parts.push(format!("{column} < ?{}", params.len()));
        }
        if parts.is_empty() {
            parts.push("1".into());
        }
        any.push(format!("({})", parts.join(" AND ")));
    }
    format!("({})", any.join(" OR "))
}

fn select_list(
    query: &SpendQuery,
    time_column: &str,
    column: impl Fn(Dimension) -> String,
) -> String {
    let mut select = String::new();
    if query.by_time {
        select.push_str(time_column);
        select.push_str(", ");
    }
    for &c in &query.group_by {
        select.push_str(&column(c));
        select.push_str(", ");
    }
    select
}

fn group_clause(query: &SpendQuery) -> String {
    let n = usize::from(query.by_time) + query.group_by.len();
    if n == 0 {
        return String::new();
    }
    let list: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
    format!(" GROUP BY {}", list.join(", "))
}

fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

fn filter_conditions(
    filters: &[Filter],
    column: impl Fn(Dimension) -> String,
    conditions: &mut Vec<String>,
    params: &mut Vec<rusqlite::types::Value>,
) {
    for filter in filters {
        if filter.values.is_empty() {
            continue;
        }
        let mut any = Vec::new();
        for value in &filter.values {
            params.push(value.clone().into());
            let op = if value.contains('*') { "GLOB" } else { "=" };
            any.push(format!("{} {op} ?{}", column(filter.column), params.len()));
        }
        conditions.push(format!("({})", any.join(" OR ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Q: i64 = QUARTER_HOUR_US;
    const H: i64 = 4 * QUARTER_HOUR_US;
    const D: i64 = 96 * QUARTER_HOUR_US;

    fn plan(since: Option<i64>, until: Option<i64>, split_at: Vec<i64>) -> Plan {
        Plan::new(&SpendQuery {
            since_us: since,
            until_us: until,
            split_at,
            by_time: true,
            ..Default::default()
        })
    }

    #[test]
    fn whole_days_come_from_the_day_rollup() {
        let p = plan(Some(10 * D), Some(20 * D), vec![11 * D, 12 * D]);
        assert_eq!(p.levels, vec![vec![(10 * D, 20 * D)], vec![], vec![]]);
        assert!(p.raw.is_empty());
    }

    #[test]
    fn day_cut_by_a_local_midnight_goes_to_hours() {
        // New York midnight in winter: 05:00 UTC.
        let five = 5 * H;
        let p = plan(
            Some(10 * D + five),
            Some(13 * D + five),
            vec![11 * D + five, 12 * D + five],
        );
        assert_eq!(
            p.levels,
            vec![vec![], vec![(10 * D + five, 13 * D + five)], vec![]]
        );
        assert!(p.raw.is_empty());
    }

    #[test]
    fn day_cut_by_a_quarter_hour_midnight_goes_to_quarters() {
        // Kathmandu midnight: 18:15 UTC.
        let m = 18 * H + Q;
        let p = plan(Some(10 * D + m), Some(12 * D + m), vec![11 * D + m]);
        assert_eq!(p.levels[0], vec![]);
        assert_eq!(
            p.levels[1],
            vec![
                (10 * D + 19 * H, 11 * D + 18 * H),
                (11 * D + 19 * H, 12 * D + 18 * H)
            ]
        );
        assert_eq!(
            p.levels[2],
            vec![
                (10 * D + m, 10 * D + 19 * H),
                (11 * D + 18 * H, 11 * D + 19 * H),
                (12 * D + 18 * H, 12 * D + m)
            ]
        );
        assert!(p.raw.is_empty());
    }

    #[test]
    fn ragged_edges_and_odd_offsets_go_raw() {
        let p = plan(Some(10 * D + 7), Some(12 * D + 9), vec![11 * D + 3 * Q + 5]);
        assert_eq!(p.levels[0], vec![]);
        assert_eq!(
            p.levels[1],
            vec![(10 * D + H, 11 * D), (11 * D + H, 12 * D)]
        );
        assert_eq!(
            p.levels[2],
            vec![(10 * D + Q, 10 * D + H), (11 * D, 11 * D + 3 * Q)]
        );
        assert_eq!(
            p.raw,
            vec![
                (10 * D + 7, 10 * D + Q),
                (11 * D + 3 * Q, 11 * D + H),
                (12 * D, 12 * D + 9)
            ]
        );
    }

    #[test]
    fn long_ranges_mix_levels() {
        let p = plan(Some(10 * D - 2 * Q), Some(20 * D + H + Q + 1), vec![]);
        let quarters = vec![(10 * D - 2 * Q, 10 * D), (20 * D + H, 20 * D + H + Q)];
        assert_eq!(
            p.levels,
            vec![vec![(10 * D, 20 * D)], vec![(20 * D, 20 * D + H)], quarters]
        );
        assert_eq!(p.raw, vec![(20 * D + H + Q, 20 * D + H + Q + 1)]);
    }

    #[test]
    fn open_ranges_and_tiny_ranges() {
        let p = plan(None, Some(5 * D), vec![]);
        assert_eq!(p.levels, vec![vec![(i64::MIN, 5 * D)], vec![], vec![]]);
        let p = plan(Some(Q + 1), Some(Q + 5), vec![]);
        assert_eq!(p.raw, vec![(Q + 1, Q + 5)]);
        assert!(plan(Some(5), Some(5), vec![]).raw.is_empty());
        let raw = Plan::new(&SpendQuery {
            since_us: Some(0),
            until_us: Some(D),
            source: Source::Raw,
            ..Default::default()
        });
        assert_eq!(raw.raw, vec![(0, D)]);
    }

    #[test]
    fn buckets_floor_negative_times() {
        assert_eq!(floor_to(-1, Q), -Q);
        assert_eq!(ceil_to(-1, Q), 0);
        assert_eq!(ceil_to(Q, Q), Q);
    }
}
