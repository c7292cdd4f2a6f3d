//! What the dashboard's pages show, read from the sums ingest keeps: `usage_quarters` (per
//! quarter hour and every dimension a page filters on), `usage_sessions`, `usage_rollup` (per
//! budget scope) and the entities. A developer's view is filtered to their own rows in SQL.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Deserialize;

use super::Viewer;
use crate::api::admin::KeyView;
use crate::api::BudgetStatus;
use crate::report::thousands;
use crate::server::db::{sum_sql, Store, Value};
use crate::server::error::ApiError;
use crate::server::money;
use crate::server::report::{resolve_period, SpendParams};

/// The query string every page takes: period and filters (names as the API writes them), the
/// chart's stacking, and `format=csv` (with `table=` on the overview) for a download.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Filters {
    pub period: Option<String>,
    pub org: Option<String>,
    /// `org/team`.
    pub team: Option<String>,
    /// A developer's email.
    pub developer: Option<String>,
    pub model: Option<String>,
    pub agent: Option<String>,
    pub project: Option<String>,
    pub branch: Option<String>,
    /// What the spend chart is stacked by: team (default), model, agent, developer, project.
    pub by: Option<String>,
    pub format: Option<String>,
    pub table: Option<String>,
}

impl Filters {
    pub fn period(&self) -> &str {
        self.period
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or("month")
    }

    pub fn by(&self) -> &'static str {
        match self.by.as_deref() {
            Some("model") => "model",
            Some("agent") => "agent",
            Some("developer") => "developer",
            Some("project") => "project",
            _ => "team",
        }
    }

    /// The filters set, as `(name, value)`, for links that keep them.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("period", self.period.as_deref()),
            ("org", self.org.as_deref()),
            ("team", self.team.as_deref()),
            ("developer", self.developer.as_deref()),
            ("model", self.model.as_deref()),
            ("agent", self.agent.as_deref()),
            ("project", self.project.as_deref()),
            ("branch", self.branch.as_deref()),
            ("by", self.by.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.filter(|v| !v.is_empty())?)))
        .collect()
    }

    /// This query string with `key` set to `value` (or removed when empty).
    pub fn with(&self, key: &str, value: &str) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .pairs()
            .into_iter()
            .filter(|(k, _)| *k != key)
            .collect();
        if !value.is_empty() {
            pairs.push((key, value));
        }
        query(&pairs)
    }
}

/// `?a=1&b=2`, percent-encoded.
pub fn query(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let enc = |s: &str| crate::server::client::encode(s);
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    format!("?{}", body.join("&"))
}

/// A table as shown and as downloaded. A row's first cell may link somewhere.
#[derive(Debug, Default)]
pub struct Table {
    pub headers: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub links: Vec<Option<String>>,
}

impl Table {
    fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            ..Table::default()
        }
    }

    fn push(&mut self, row: Vec<String>, link: Option<String>) {
        self.rows.push(row);
        self.links.push(link);
    }

    /// RFC 4180 CSV. A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or
    /// carriage return first: branch and project names are anyone's) starts with `'`.
    pub fn to_csv(&self) -> String {
        let cell = |s: &str| {
            let s = match s.chars().next() {
                Some('=' | '+' | '-' | '@' | '\t' | '\r') if s.parse::<f64>().is_err() => {
                    format!("'{s}")
                }
                _ => s.to_string(),
            };
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s
            }
        };
        let mut out = String::new();
        for line in std::iter::once(self.headers.iter().map(|h| cell(h)).collect::<Vec<_>>()).chain(
            self.rows
                .iter()
                .map(|r| r.iter().map(|c| cell(c)).collect::<Vec<_>>()),
        ) {
            out.push_str(&line.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// Dollars for reading: cents above a dollar, four decimals below.
pub fn usd(nanos: i64) -> String {
    let v = money::usd(nanos);
    if v.abs() >= 1.0 {
        format!("${v:.2}")
    } else {
        format!("${v:.4}")
    }
}

fn local(us: i64, tz: &TimeZone, format: &str) -> String {
    Timestamp::from_microsecond(us)
        .map(|t| t.to_zoned(tz.clone()).strftime(format).to_string())
        .unwrap_or_default()
}

pub fn local_time(us: i64, tz: &TimeZone) -> String {
    local(us, tz, "%Y-%m-%d %H:%M")
}

/// Cached input read as a share of all input, `—` without input.
fn cache_ratio(input: i64, read: i64, write: i64) -> String {
    let all = input.saturating_add(read).saturating_add(write);
    if all <= 0 {
        "—".into()
    } else {
        format!("{:.0}%", read as f64 * 100.0 / all as f64)
    }
}

/// A stacked chart: x in Unix seconds, one series per label.
#[derive(Debug, Default, serde::Serialize)]
pub struct Chart {
    pub x: Vec<i64>,
    pub series: Vec<(String, Vec<f64>)>,
    /// A horizontal line (a budget's limit), in the series' unit.
    pub limit: Option<f64>,
    pub unit: &'static str,
    /// Seconds each x stands for: stacked bars that wide (0: a line through the points).
    pub step: i64,
}

/// The sums of a set of requests.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sums {
    pub requests: i64,
    pub cost_nanos: i64,
    pub input: i64,
    pub output: i64,
    pub cache_read: i64,
    pub cache_write: i64,
    pub unpriced: i64,
}

/// Columns of [`Sums`] over `usage_quarters q`, as [`read_sums`] reads them.
fn sums_sql() -> String {
    [
        "q.requests",
        "q.cost_nanos",
        "q.input_tokens",
        "q.output_tokens",
        "q.cache_read_tokens",
        "q.cache_write_tokens",
        "q.unpriced",
    ]
    .iter()
    .map(|c| sum_sql(c))
    .collect::<Vec<_>>()
    .join(", ")
}

fn read_sums(r: &crate::server::db::DbRow, at: usize) -> Result<Sums, ApiError> {
    Ok(Sums {
        requests: r.sum(at)?,
        cost_nanos: r.sum(at + 2)?,
        input: r.sum(at + 4)?,
        output: r.sum(at + 6)?,
        cache_read: r.sum(at + 8)?,
        cache_write: r.sum(at + 10)?,
        unpriced: r.sum(at + 12)?,
    })
}

/// The `WHERE` of a page's query over `usage_quarters q` (or `usage_sessions q`), with its
/// parameters: the viewer's own rows for a developer, then each filter.
struct Where {
    clauses: Vec<String>,
    params: Vec<Value>,
}

impl Where {
    fn new(viewer: &Viewer, f: &Filters, sessions: bool) -> Where {
        let mut w = Where {
            clauses: Vec::new(),
            params: Vec::new(),
        };
        if let Some(k) = viewer.key() {
            // The org first: the sums' keys begin with it.
            w.add("q.org_id = {}", k.org_id.into());
            w.add("q.developer_id = {}", k.developer_id.into());
        }
        let text = |v: &Option<String>| v.as_deref().filter(|v| !v.is_empty()).map(str::to_string);
        if let Some(org) = text(&f.org) {
            w.add(
                "q.org_id IN (SELECT id FROM orgs WHERE name = {})",
                org.into(),
            );
        }
        if let Some(team) = text(&f.team) {
            w.add(
                "q.team_id IN (SELECT t.id FROM teams t JOIN orgs o ON o.id = t.org_id
                    WHERE o.name || '/' || t.name = {})",
                team.into(),
            );
        }
        if let Some(dev) = text(&f.developer) {
            w.add(
                "q.developer_id IN (SELECT id FROM developers WHERE email = {})",
                dev.into(),
            );
        }
        let columns: &[(&str, &Option<String>)] = if sessions {
            &[
                ("agent", &f.agent),
                ("project", &f.project),
                ("branch", &f.branch),
            ]
        } else {
            &[
                ("model", &f.model),
                ("agent", &f.agent),
                ("project", &f.project),
                ("branch", &f.branch),
            ]
        };
        for (column, value) in columns {
            if let Some(v) = text(value) {
                w.add(&format!("q.{column} = {{}}"), v.into());
            }
        }
        w
    }

    /// Adds a clause whose `{}` is the next parameter.
    fn add(&mut self, clause: &str, value: Value) {
        self.params.push(value);
        self.clauses
            .push(clause.replace("{}", &format!("${}", self.params.len())));
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1 = 1".into()
        } else {
            self.clauses.join(" AND ")
        }
    }
}

/// The zone a view is in: the developer's org's, the filtered org's, else UTC.
async fn zone(
    store: &dyn Store,
    viewer: &Viewer,
    f: &Filters,
) -> Result<(String, TimeZone), ApiError> {
    let name = match (viewer.key(), f.org.as_deref().filter(|o| !o.is_empty())) {
        (Some(k), _) => k.tz.clone(),
        (None, Some(org)) => {
            let mut tx = store.begin(false).await?;
            tx.one("SELECT tz FROM orgs WHERE name = $1", &[org.into()])
                .await?
                .map(|r| r.text(0))
                .transpose()?
                .unwrap_or_else(|| "UTC".into())
        }
        (None, None) => "UTC".into(),
    };
    let tz = money::parse_zone(&name).map_err(ApiError::BadRequest)?;
    Ok((name, tz))
}

/// `[since, until)` of the filters' period in `tz`, as Unix microseconds.
fn period(f: &Filters, tz: &TimeZone) -> Result<(Option<i64>, i64), ApiError> {
    let p = resolve_period(
        &SpendParams {
            period: Some(f.period().to_string()),
            ..SpendParams::default()
        },
        tz,
        Timestamp::now(),
    )?;
    Ok((p.since_us(), p.until_us()))
}

pub struct Overview {
    pub tz: String,
    pub since: Option<String>,
    pub until: String,
    pub totals: Sums,
    pub budgets: Vec<BudgetStatus>,
    pub chart: Chart,
    pub tops: Vec<(&'static str, &'static str, Table)>,
    pub spend: Table,
}

impl Overview {
    /// The table `?table=` names for a CSV download, with its name (the spend over time when
    /// it names none of them).
    pub fn table(&self, name: Option<&str>) -> (&'static str, &Table) {
        self.tops
            .iter()
            .find(|(n, _, _)| Some(*n) == name)
            .map_or(("spend", &self.spend), |(n, _, t)| (n, t))
    }
}

/// The column of `usage_quarters q` a dimension groups by (teams and developers by id).
fn dim_column(dim: &str) -> &'static str {
    match dim {
        "model" => "q.model",
        "agent" => "q.agent",
        "project" => "q.project",
        "developer" => "q.developer_id",
        _ => "q.team_id",
    }
}

/// The dimensions the overview ranks and stacks by, in the order of its first query's keys.
const DIMS: [&str; 5] = ["team", "developer", "model", "agent", "project"];

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.requests = self.requests.saturating_add(o.requests);
        self.cost_nanos = self.cost_nanos.saturating_add(o.cost_nanos);
        self.input = self.input.saturating_add(o.input);
        self.output = self.output.saturating_add(o.output);
        self.cache_read = self.cache_read.saturating_add(o.cache_read);
        self.cache_write = self.cache_write.saturating_add(o.cache_write);
        self.unpriced = self.unpriced.saturating_add(o.unpriced);
    }
}

/// Names for the team and developer ids a view shows: `org/team` and emails.
async fn names(
    tx: &mut dyn crate::server::db::Tx,
    teams: &[i64],
    developers: &[i64],
) -> Result<BTreeMap<(usize, String), String>, ApiError> {
    let mut out = BTreeMap::new();
    for (dim, ids, sql) in [
        (
            0,
            teams,
            "SELECT t.id, o.name || '/' || t.name FROM teams t JOIN orgs o ON o.id = t.org_id WHERE t.id = $1",
        ),
        (1, developers, "SELECT id, email FROM developers WHERE id = $1"),
    ] {
        for id in ids.iter().filter(|id| **id != 0) {
            if let Some(r) = tx.one(sql, &[(*id).into()]).await? {
                out.insert((dim, r.int(0)?.to_string()), r.text(1)?);
            }
        }
    }
    Ok(out)
}

pub async fn overview(
    store: &dyn Store,
    viewer: &Viewer,
    f: &Filters,
) -> Result<Overview, ApiError> {
    let (tz_name, tz) = zone(store, viewer, f).await?;
    let (since, until) = period(f, &tz)?;
    let mut w = Where::new(viewer, f, false);
    if let Some(s) = since {
        w.add("q.bucket_us >= {}", s.into());
    }
    w.add("q.bucket_us < {}", until.into());
    let mut tx = store.begin(false).await?;

    // One pass over the period's sums, by every dimension the page ranks: the totals, the top
    // tables and the chart's labels all come from its (few) rows.
    let rows = tx
        .query(
            &format!(
                "SELECT q.team_id, q.developer_id, q.model, q.agent, q.project, {}
                 FROM usage_quarters q WHERE {} GROUP BY 1, 2, 3, 4, 5",
                sums_sql(),
                w.sql()
            ),
            &w.params,
        )
        .await?;
    let mut totals = Sums::default();
    let mut by_dim: [BTreeMap<String, Sums>; 5] = Default::default();
    for r in &rows {
        let keys = [
            r.int(0)?.to_string(),
            r.int(1)?.to_string(),
            r.text(2)?,
            r.text(3)?,
            r.text(4)?,
        ];
        let sums = read_sums(r, 5)?;
        totals.add(&sums);
        for (map, key) in by_dim.iter_mut().zip(keys) {
            map.entry(key).or_default().add(&sums);
        }
    }
    let ids = |map: &BTreeMap<String, Sums>| -> Vec<i64> {
        map.keys().filter_map(|k| k.parse().ok()).collect()
    };
    let names = names(&mut *tx, &ids(&by_dim[0]), &ids(&by_dim[1])).await?;
    // What a key reads as on the page: teams and developers by name.
    let label = |dim: usize, key: &str| -> String {
        match dim {
            0 | 1 => names
                .get(&(dim, key.to_string()))
                .cloned()
                .unwrap_or_default(),
            _ => key.to_string(),
        }
    };
    let ranked = |dim: usize| -> Vec<(String, Sums)> {
        let mut v: Vec<(String, Sums)> = by_dim[dim].iter().map(|(k, s)| (k.clone(), *s)).collect();
        v.sort_by_key(|(_, s)| {
            (
                std::cmp::Reverse(s.cost_nanos),
                std::cmp::Reverse(s.requests),
            )
        });
        v
    };

    // Spend over time: by hour over a day or less, by day beyond. The eight keys that cost most
    // stack, the rest is one "other", folded in SQL: the rows read stay (buckets × 9) whatever
    // labels clients made up.
    let by = f.by();
    let dim = DIMS.iter().position(|d| *d == by).unwrap_or(0);
    let hourly = matches!(f.period(), "today" | "yesterday");
    let top = ranked(dim);
    let shown: Vec<String> = top.iter().take(8).map(|(k, _)| k.clone()).collect();
    let others = top.len() > 8;
    let column = dim_column(by);
    let mut params = w.params.clone();
    let mut listed = Vec::new();
    for key in &shown {
        params.push(match dim {
            0 | 1 => key.parse::<i64>().unwrap_or(0).into(),
            _ => key.into(),
        });
        listed.push(format!("${}", params.len()));
    }
    let folded = if listed.is_empty() {
        "NULL".to_string()
    } else {
        format!(
            "CASE WHEN {column} IN ({}) THEN CAST({column} AS TEXT) ELSE NULL END",
            listed.join(", ")
        )
    };
    let rows = tx
        .query(
            &format!(
                "SELECT q.bucket_us, {folded}, {} FROM usage_quarters q WHERE {} GROUP BY 1, 2",
                sum_sql("q.cost_nanos"),
                w.sql()
            ),
            &params,
        )
        .await?;
    let mut cells: BTreeMap<(i64, Option<String>), i64> = BTreeMap::new();
    for r in &rows {
        let start = bucket_start(r.int(0)?, &tz, hourly);
        *cells.entry((start, r.opt_text(1)?)).or_default() += r.sum(2)?;
    }
    let mut xs: Vec<i64> = cells.keys().map(|(x, _)| *x).collect();
    xs.dedup();
    let mut series: Vec<(String, Vec<f64>)> = shown
        .iter()
        .map(|k| (display(&label(dim, k), by), vec![0.0; xs.len()]))
        .collect();
    if others {
        series.push(("other".into(), vec![0.0; xs.len()]));
    }
    let mut spend = Table::new(&["time", by, "cost_usd"]);
    for ((x, key), cost) in &cells {
        let i = xs.binary_search(x).unwrap_or(0);
        let s = key
            .as_ref()
            .and_then(|k| shown.iter().position(|s| s == k))
            .unwrap_or(shown.len());
        if let Some(series) = series.get_mut(s) {
            series.1[i] += money::usd(*cost);
        }
        spend.push(
            vec![
                local(
                    *x * 1_000_000,
                    &tz,
                    if hourly { "%Y-%m-%d %H:00" } else { "%Y-%m-%d" },
                ),
                key.as_deref()
                    .map_or_else(|| "other".into(), |k| display(&label(dim, k), by)),
                format!("{:.9}", money::usd(*cost)),
            ],
            None,
        );
    }
    let chart = Chart {
        x: xs,
        series,
        limit: None,
        unit: "USD",
        step: if hourly { 3600 } else { 86_400 },
    };

    // The top developers, projects, models and agents.
    let mut tops = Vec::new();
    for (name, title, d) in [
        ("developers", "Top developers", 1),
        ("projects", "Top projects", 4),
        ("models", "Top models", 2),
        ("agents", "Top agents", 3),
    ] {
        if viewer.key().is_some() && d == 1 {
            continue;
        }
        let dim_name = DIMS[d];
        let mut table = Table::new(&[
            dim_name,
            "cost",
            "requests",
            "input",
            "cache read",
            "cache write",
            "output",
            "cache hit",
            "unpriced",
        ]);
        for (key, s) in ranked(d).into_iter().take(10) {
            let shown = label(d, &key);
            table.push(
                vec![
                    display(&shown, dim_name),
                    usd(s.cost_nanos),
                    thousands(s.requests),
                    thousands(s.input),
                    thousands(s.cache_read),
                    thousands(s.cache_write),
                    thousands(s.output),
                    cache_ratio(s.input, s.cache_read, s.cache_write),
                    thousands(s.unpriced),
                ],
                (!shown.is_empty()).then(|| format!("/ui/overview{}", f.with(dim_name, &shown))),
            );
        }
        tops.push((name, title, table));
    }
    drop(tx);
    let budgets = match viewer.key() {
        Some(k) => crate::server::ops::budgets_for_key(store, k).await?,
        None => crate::server::admin::list_budgets(store, None, None).await?,
    };
    Ok(Overview {
        since: since.map(|s| local_time(s, &tz)),
        until: local_time(until, &tz),
        tz: tz_name,
        totals,
        budgets,
        chart,
        tops,
        spend,
    })
}

/// What an empty label means on a page.
fn display(label: &str, dim: &str) -> String {
    if label.is_empty() {
        match dim {
            "team" => "(no team)".into(),
            _ => "(unknown)".into(),
        }
    } else {
        label.to_string()
    }
}

/// The start (Unix seconds) of the local hour or day holding a quarter-hour bucket.
fn bucket_start(bucket_us: i64, tz: &TimeZone, hourly: bool) -> i64 {
    let Ok(t) = Timestamp::from_microsecond(bucket_us) else {
        return bucket_us / 1_000_000;
    };
    let z = t.to_zoned(tz.clone());
    let start = if hourly {
        z.with()
            .minute(0)
            .second(0)
            .subsec_nanosecond(0)
            .build()
            .ok()
    } else {
        z.start_of_day().ok()
    };
    start.map_or(bucket_us / 1_000_000, |s| s.timestamp().as_second())
}

pub struct Budgets {
    pub budgets: Vec<BudgetStatus>,
    pub table: Table,
    /// Each budget's spend over its current period, cumulative, against its limit.
    pub burn: Vec<(String, Chart)>,
}

pub async fn budgets(store: &dyn Store, viewer: &Viewer) -> Result<Budgets, ApiError> {
    let budgets = match viewer.key() {
        Some(k) => crate::server::ops::budgets_for_key(store, k).await?,
        None => crate::server::admin::list_budgets(store, None, None).await?,
    };
    let mut table = Table::new(&[
        "id",
        "scope",
        "name",
        "period",
        "limit",
        "spent",
        "reserved",
        "remaining",
        "resets",
        "soft threshold",
        "strict",
        "state",
    ]);
    let mut burn = Vec::new();
    let mut tx = store.begin(false).await?;
    for b in &budgets {
        let tz = money::parse_zone(&b.tz).map_err(ApiError::BadRequest)?;
        let at = |t: &Option<String>| {
            t.as_deref()
                .and_then(|t| t.parse::<Timestamp>().ok())
                .map(|t| local_time(t.as_microsecond(), &tz) + " " + &b.tz)
                .unwrap_or_else(|| "never".into())
        };
        table.push(
            vec![
                b.id.to_string(),
                b.scope.as_str().into(),
                b.name.clone(),
                b.period.as_str().into(),
                usd(b.limit_nanos),
                usd(b.spent_nanos),
                usd(b.reserved_nanos),
                usd(b.remaining_nanos.max(0)),
                at(&b.resets_at),
                format!("{:.0}%", b.soft_threshold * 100.0),
                if b.strict { "yes" } else { "no" }.into(),
                if b.exhausted {
                    "exhausted"
                } else if b.soft_exceeded {
                    "over soft threshold"
                } else {
                    "ok"
                }
                .into(),
            ],
            None,
        );
        // The burn-down of the first budgets: the scope's spend per hour since the period
        // began, summed from the rollup grants are charged from.
        // A developer's view of an org or team budget is its figures, as the API gives them:
        // its spend hour by hour would show when teammates worked.
        let own = matches!(
            b.scope,
            crate::api::Scope::Developer | crate::api::Scope::Key
        );
        if burn.len() >= 12 || (viewer.key().is_some() && !own) {
            continue;
        }
        let Some(start) = b
            .period_start
            .as_deref()
            .and_then(|t| t.parse::<Timestamp>().ok())
        else {
            continue;
        };
        let rows = tx
            .query(
                "SELECT r.bucket_us, r.cost_nanos FROM usage_rollup r
                 JOIN budgets b ON b.scope_kind = r.scope_kind AND b.scope_id = r.scope_id
                 WHERE b.id = $1 AND r.bucket_us >= $2 ORDER BY r.bucket_us",
                &[b.id.into(), start.as_microsecond().into()],
            )
            .await?;
        let mut x = vec![start.as_second()];
        let mut spent = vec![0.0];
        let mut total = 0i64;
        for r in &rows {
            total = total.saturating_add(r.int(1)?);
            let hour = bucket_start(r.int(0)?, &tz, true);
            if x.last() == Some(&hour) {
                *spent.last_mut().unwrap_or(&mut 0.0) = money::usd(total);
            } else {
                x.push(hour);
                spent.push(money::usd(total));
            }
        }
        burn.push((
            format!("{} {} ({})", b.scope.as_str(), b.name, b.period.as_str()),
            Chart {
                x,
                series: vec![("spent".into(), spent)],
                limit: Some(b.limit_usd),
                unit: "USD",
                step: 0,
            },
        ));
    }
    Ok(Budgets {
        budgets,
        table,
        burn,
    })
}

/// A developer's keys, each with when it was last used.
pub type DeveloperKeys = Vec<(KeyView, Option<String>)>;

pub struct Keys {
    /// Team path (or `(no team)`) → developer → keys.
    pub tree: BTreeMap<String, BTreeMap<String, DeveloperKeys>>,
    pub table: Table,
    /// Developers an admin can create a key for.
    pub developers: Vec<String>,
}

pub async fn keys(store: &dyn Store, viewer: &Viewer) -> Result<Keys, ApiError> {
    let keys = match viewer.key() {
        Some(k) => crate::server::admin::list_keys(store, Some(&k.developer), None).await?,
        None => crate::server::admin::list_keys(store, None, None).await?,
    };
    let mut tx = store.begin(false).await?;
    let mut last_used: BTreeMap<String, i64> = BTreeMap::new();
    let (mine, params): (&str, Vec<Value>) = match viewer.key() {
        Some(k) => (" WHERE k.developer_id = $1", vec![k.developer_id.into()]),
        None => ("", Vec::new()),
    };
    for r in tx
        .query(
            &format!(
                "SELECT k.key_id, max(s.last_us) FROM keys k JOIN usage_sessions s ON s.key_ref = k.id{mine}
                 GROUP BY k.key_id"
            ),
            &params,
        )
        .await?
    {
        last_used.insert(r.text(0)?, r.int(1)?);
    }
    drop(tx);
    let developers = match viewer.key() {
        Some(_) => Vec::new(),
        None => crate::server::admin::list_users(store, None)
            .await?
            .into_iter()
            .filter(|u| u.active)
            .map(|u| u.email)
            .collect(),
    };
    let mut table = Table::new(&[
        "key id",
        "name",
        "developer",
        "org",
        "team",
        "active",
        "expires",
        "models",
        "last used",
        "created",
    ]);
    let mut tree: BTreeMap<String, BTreeMap<String, DeveloperKeys>> = BTreeMap::new();
    for k in keys {
        let used = last_used.get(&k.key_id).map(|us| money::rfc3339_us(*us));
        let team = match &k.team {
            Some(t) => format!("{}/{t}", k.org),
            None => format!("{} (no team)", k.org),
        };
        table.push(
            vec![
                k.key_id.clone(),
                k.name.clone().unwrap_or_default(),
                k.developer.clone(),
                k.org.clone(),
                k.team.clone().unwrap_or_default(),
                if k.active { "yes" } else { "revoked" }.into(),
                k.expires_at.clone().unwrap_or_else(|| "never".into()),
                k.models
                    .as_ref()
                    .map_or_else(|| "any".into(), |m| m.join(" ")),
                used.clone().unwrap_or_else(|| "never".into()),
                k.created_at.clone(),
            ],
            None,
        );
        tree.entry(team)
            .or_default()
            .entry(k.developer.clone())
            .or_default()
            .push((k, used));
    }
    Ok(Keys {
        tree,
        table,
        developers,
    })
}

pub struct Sessions {
    pub tz: String,
    pub table: Table,
}

pub async fn sessions(
    store: &dyn Store,
    viewer: &Viewer,
    f: &Filters,
) -> Result<Sessions, ApiError> {
    let (tz_name, tz) = zone(store, viewer, f).await?;
    let (since, until) = period(f, &tz)?;
    let mut w = Where::new(viewer, f, true);
    if let Some(s) = since {
        w.add("q.last_us >= {}", s.into());
    }
    w.add("q.first_us < {}", until.into());
    let mut tx = store.begin(false).await?;
    let rows = tx
        .query(
            &format!(
                "SELECT k.key_id, q.session_id, d.email, q.agent, q.project, q.branch, q.task,
                    q.first_us, q.last_us, q.requests, q.cost_nanos, q.unpriced
                 FROM usage_sessions q JOIN keys k ON k.id = q.key_ref
                    JOIN developers d ON d.id = q.developer_id
                 WHERE {} ORDER BY q.last_us DESC LIMIT 500",
                w.sql()
            ),
            &w.params,
        )
        .await?;
    let mut table = Table::new(&[
        "session",
        "developer",
        "agent",
        "project",
        "branch",
        "task",
        "started",
        "duration",
        "requests",
        "cost",
        "unpriced",
    ]);
    for r in &rows {
        let (key_id, session) = (r.text(0)?, r.text(1)?);
        let (first, last) = (r.int(7)?, r.int(8)?);
        table.push(
            vec![
                session.clone(),
                r.text(2)?,
                r.text(3)?,
                r.text(4)?,
                r.text(5)?,
                r.text(6)?,
                local_time(first, &tz),
                duration(last - first),
                thousands(r.int(9)?),
                usd(r.int(10)?),
                thousands(r.int(11)?),
            ],
            Some(format!(
                "/ui/sessions/{}/{}",
                crate::server::client::encode(&key_id),
                crate::server::client::encode(&session)
            )),
        );
    }
    Ok(Sessions { tz: tz_name, table })
}

fn duration(us: i64) -> String {
    let s = us.max(0) / 1_000_000;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

pub struct Session {
    pub key_id: String,
    pub session_id: String,
    pub tz: String,
    pub totals: Sums,
    pub table: Table,
}

pub async fn session(
    store: &dyn Store,
    viewer: &Viewer,
    key_id: &str,
    session_id: &str,
) -> Result<Session, ApiError> {
    let (tz_name, tz) = zone(store, viewer, &Filters::default()).await?;
    let mut params: Vec<Value> = vec![key_id.into(), session_id.into()];
    let mut own = String::new();
    if let Some(k) = viewer.key() {
        params.push(k.developer_id.into());
        own = " AND u.developer_id = $3".into();
    }
    let mut tx = store.begin(false).await?;
    let rows = tx
        .query(
            &format!(
                "SELECT u.started_at_us, u.model, u.requested_model, u.status, u.input_tokens,
                    u.cache_read_tokens, u.cache_write_5m_tokens + u.cache_write_1h_tokens,
                    u.output_tokens, u.latency_us, u.ttfb_us, u.cost_nanos, u.error
                 FROM usage u JOIN keys k ON k.id = u.key_ref
                 WHERE k.key_id = $1 AND u.session_id = $2{own}
                 ORDER BY u.started_at_us LIMIT 5000"
            ),
            &params,
        )
        .await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound(format!(
            "no session `{session_id}` of key `{key_id}` here"
        )));
    }
    let mut table = Table::new(&[
        "started",
        "model",
        "status",
        "input",
        "cache read",
        "cache write",
        "output",
        "cache hit",
        "latency",
        "first byte",
        "cost",
    ]);
    let mut totals = Sums::default();
    for r in &rows {
        let (input, read, write, output) = (r.int(4)?, r.int(5)?, r.int(6)?, r.int(7)?);
        let cost = r.opt_int(10)?;
        totals.requests += 1;
        totals.input = totals.input.saturating_add(input);
        totals.cache_read = totals.cache_read.saturating_add(read);
        totals.cache_write = totals.cache_write.saturating_add(write);
        totals.output = totals.output.saturating_add(output);
        totals.cost_nanos = totals.cost_nanos.saturating_add(cost.unwrap_or(0));
        totals.unpriced += i64::from(cost.is_none());
        let status = r.int(3)?;
        table.push(
            vec![
                local(r.int(0)?, &tz, "%Y-%m-%d %H:%M:%S"),
                r.opt_text(1)?
                    .or(r.opt_text(2)?)
                    .unwrap_or_else(|| "(unknown)".into()),
                match r.opt_text(11)? {
                    Some(e) if status >= 400 => format!("{status} {}", crate::limits::cut(&e, 80)),
                    _ => status.to_string(),
                },
                thousands(input),
                thousands(read),
                thousands(write),
                thousands(output),
                cache_ratio(input, read, write),
                format!("{} ms", r.int(8)? / 1000),
                r.opt_int(9)?
                    .map_or_else(|| "—".into(), |t| format!("{} ms", t / 1000)),
                cost.map_or_else(|| "unpriced".into(), usd),
            ],
            None,
        );
    }
    Ok(Session {
        key_id: key_id.to_string(),
        session_id: session_id.to_string(),
        tz: tz_name,
        totals,
        table,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut t = Table::new(&["branch", "cost"]);
        t.push(vec!["=HYPERLINK(\"x\")".into(), "-1.5".into()], None);
        t.push(vec!["a,b".into(), "1".into()], None);
        assert_eq!(
            t.to_csv(),
            "branch,cost\r\n\"'=HYPERLINK(\"\"x\"\")\",-1.5\r\n\"a,b\",1\r\n"
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(usd(1_500_000_000), "$1.50");
        assert_eq!(usd(12_345_678), "$0.0123");
        assert_eq!(duration(3_723_000_000), "1h 02m");
        assert_eq!(duration(75_000_000), "1m 15s");
    }

    #[test]
    fn filter_links_keep_the_others() {
        let f = Filters {
            period: Some("week".into()),
            team: Some("acme/back end".into()),
            ..Filters::default()
        };
        assert_eq!(
            f.with("model", "gpt-5"),
            "?period=week&team=acme%2Fback%20end&model=gpt-5"
        );
        assert_eq!(f.with("team", ""), "?period=week");
    }
}
