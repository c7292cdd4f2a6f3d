//! Spend reports from ingested usage, in the `gw spend --json` shape:
//! `{"since","until","tz","group_by":[..],"rows":[{"key":{k:v},…counters}],"totals":{…counters}}`.
//!
//! Rows are summed in SQL per quarter hour (every zone in use starts its days on a quarter
//! hour), then bucketed into local days, weeks and months here, so any `tz` is exact.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::ledger::query::Sums;
use crate::report::Counters;

use super::db::{sum_sql, Store, Value};
use super::error::ApiError;
use super::money;
use super::ops::Scope;

const QUARTER_HOUR_US: i64 = 900_000_000;

/// The query string of `GET /v1/reports/spend`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpendParams {
    /// `today` (default), `yesterday`, `week`, `month` or `all`; ignored when `since`/`until` are given.
    pub period: Option<String>,
    /// A date (`2025-03-09`, from its start) or an RFC 3339 instant.
    pub since: Option<String>,
    /// A date (`2025-03-31`, included whole) or an RFC 3339 instant (excluded).
    pub until: Option<String>,
    /// IANA zone for periods and day keys (default: the scope's org's, else UTC).
    pub tz: Option<String>,
    /// Comma-separated groupings: day, week, month, model, provider, project, branch, agent,
    /// session, task, developer, key, team (default: model).
    pub by: Option<String>,
    /// org | team | developer | key (admin: any; a key: `developer` (own, default) or `key`).
    pub scope: Option<String>,
    /// The scope's name (admin only; a key's scope is its own).
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dim {
    Day,
    Week,
    Month,
    Model,
    Provider,
    Project,
    Branch,
    Agent,
    Session,
    Task,
    Developer,
    Key,
    Team,
}

const DIMS: &[(&str, Dim, &str)] = &[
    ("day", Dim::Day, ""),
    ("week", Dim::Week, ""),
    ("month", Dim::Month, ""),
    ("model", Dim::Model, "u.model"),
    ("provider", Dim::Provider, "u.provider"),
    ("project", Dim::Project, "u.project"),
    ("branch", Dim::Branch, "u.branch"),
    ("agent", Dim::Agent, "u.agent"),
    ("session", Dim::Session, "u.session_id"),
    ("task", Dim::Task, "u.task"),
    ("developer", Dim::Developer, "d.email"),
    ("key", Dim::Key, "k.key_id"),
    ("team", Dim::Team, "t.name"),
];

fn dim_name(d: Dim) -> &'static str {
    DIMS.iter()
        .find(|(_, x, _)| *x == d)
        .map_or("", |(n, _, _)| n)
}

fn is_time(d: Dim) -> bool {
    matches!(d, Dim::Day | Dim::Week | Dim::Month)
}

/// A row as `gw spend --json` writes it: its key, then the same counters.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReportRow {
    pub key: BTreeMap<String, Option<String>>,
    #[serde(flatten)]
    pub counters: Counters,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SpendReport {
    pub since: Option<String>,
    pub until: String,
    pub tz: String,
    pub group_by: Vec<String>,
    /// What was reported on: `{"scope": "team", "name": "acme/backend"}`, or `null` for all.
    pub scope: Option<BTreeMap<String, String>>,
    pub rows: Vec<ReportRow>,
    pub totals: Counters,
}

/// The scope a report covers, resolved: kind, row id, display name, org zone.
pub struct ReportScope {
    pub scope: Scope,
    pub id: i64,
    pub name: String,
    pub tz: String,
}

fn bad(m: String) -> ApiError {
    ApiError::BadRequest(m)
}

fn day_start(d: Date, tz: &TimeZone) -> Result<Timestamp, ApiError> {
    d.to_zoned(tz.clone())
        .and_then(|z| z.start_of_day())
        .map(|z| z.timestamp())
        .map_err(|_| bad(format!("date {d} is out of range")))
}

/// `[since, until)` from the parameters, in `tz`.
fn resolve_period(
    p: &SpendParams,
    tz: &TimeZone,
    now: Timestamp,
) -> Result<(Option<Timestamp>, Timestamp), ApiError> {
    let today = now.to_zoned(tz.clone()).date();
    let bound = |text: &str, end: bool| -> Result<Timestamp, ApiError> {
        if let Ok(d) = text.parse::<Date>() {
            let d = if end {
                d.checked_add(1.day())
                    .map_err(|_| bad(format!("date {d} is out of range")))?
            } else {
                d
            };
            return day_start(d, tz);
        }
        text.parse::<Timestamp>().map_err(|_| {
            bad(format!(
                "invalid date `{text}`: use YYYY-MM-DD or an RFC 3339 time"
            ))
        })
    };
    if p.since.is_some() || p.until.is_some() {
        let since = p.since.as_deref().map(|s| bound(s, false)).transpose()?;
        let until = match &p.until {
            Some(u) => bound(u, true)?,
            None => day_start(
                today
                    .checked_add(1.day())
                    .map_err(|_| bad("out of range".into()))?,
                tz,
            )?,
        };
        if since.is_some_and(|s| s >= until) {
            return Err(bad(
                "since is not before until; the period would be empty".into()
            ));
        }
        return Ok((since, until));
    }
    let tomorrow = today
        .checked_add(1.day())
        .map_err(|_| bad("out of range".into()))?;
    let (since, until) = match p.period.as_deref().unwrap_or("today") {
        "today" => (today, tomorrow),
        "yesterday" => (
            today
                .checked_sub(1.day())
                .map_err(|_| bad("out of range".into()))?,
            today,
        ),
        "week" => {
            let monday = today
                .checked_sub((today.weekday().to_monday_zero_offset() as i64).days())
                .map_err(|_| bad("out of range".into()))?;
            (
                monday,
                monday
                    .checked_add(7.days())
                    .map_err(|_| bad("out of range".into()))?,
            )
        }
        "month" => {
            let first = today.first_of_month();
            (
                first,
                first
                    .checked_add(1.month())
                    .map_err(|_| bad("out of range".into()))?,
            )
        }
        "all" => return Ok((None, day_start(tomorrow, tz)?)),
        other => {
            return Err(bad(format!(
                "invalid period `{other}`: use today, yesterday, week, month or all"
            )))
        }
    };
    Ok((Some(day_start(since, tz)?), day_start(until, tz)?))
}

fn time_key(d: Dim, bucket_us: i64, tz: &TimeZone) -> Option<String> {
    let date = Timestamp::from_microsecond(bucket_us)
        .ok()?
        .to_zoned(tz.clone())
        .date();
    Some(match d {
        Dim::Day => date.to_string(),
        Dim::Week => date
            .checked_sub((date.weekday().to_monday_zero_offset() as i64).days())
            .ok()?
            .to_string(),
        Dim::Month => format!("{:04}-{:02}", date.year(), date.month()),
        _ => return None,
    })
}

pub async fn spend(
    store: &dyn Store,
    params: &SpendParams,
    scope: Option<ReportScope>,
) -> Result<SpendReport, ApiError> {
    let dims: Vec<Dim> = match params.by.as_deref().filter(|b| !b.trim().is_empty()) {
        None => vec![Dim::Model],
        Some(by) => by
            .split(',')
            .map(|n| {
                let n = n.trim();
                DIMS.iter()
                    .find(|(name, _, _)| *name == n)
                    .map(|(_, d, _)| *d)
                    .ok_or_else(|| {
                        let all: Vec<&str> = DIMS.iter().map(|(n, _, _)| *n).collect();
                        bad(format!("unknown grouping `{n}`: use {}", all.join(", ")))
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    let tz_name = params
        .tz
        .clone()
        .or_else(|| scope.as_ref().map(|s| s.tz.clone()))
        .unwrap_or_else(|| "UTC".into());
    let tz = money::parse_zone(&tz_name).map_err(bad)?;
    let (since, until) = resolve_period(params, &tz, Timestamp::now())?;

    let sql_dims: Vec<&str> = dims
        .iter()
        .filter(|d| !is_time(**d))
        .map(|d| DIMS.iter().find(|x| x.1 == *d).map_or("''", |x| x.2))
        .collect();
    let by_time = dims.iter().any(|d| is_time(*d));
    let mut select: Vec<String> = sql_dims.iter().map(|c| c.to_string()).collect();
    select.push(if by_time {
        format!("u.started_at_us - (u.started_at_us % {QUARTER_HOUR_US})")
    } else {
        "0".to_string()
    });
    let n_keys = select.len();
    let group: Vec<String> = (1..=n_keys).map(|i| i.to_string()).collect();
    let mut params_v: Vec<Value> = Vec::new();
    let mut filter = Vec::new();
    if let Some(s) = &scope {
        params_v.push(s.id.into());
        filter.push(format!(
            "u.{} = $1",
            match s.scope {
                Scope::Org => "org_id",
                Scope::Team => "team_id",
                Scope::Developer => "developer_id",
                Scope::Key => "key_ref",
            }
        ));
    }
    if let Some(s) = since {
        params_v.push(s.as_microsecond().into());
        filter.push(format!("u.started_at_us >= ${}", params_v.len()));
    }
    params_v.push(until.as_microsecond().into());
    filter.push(format!("u.started_at_us < ${}", params_v.len()));
    // Sums saturate (rows an older server took can add up past 2^63): two columns each.
    let sums: Vec<String> = [
        "u.input_tokens",
        "u.output_tokens",
        "u.cache_read_tokens",
        "u.cache_write_5m_tokens + u.cache_write_1h_tokens",
        "u.reasoning_tokens",
        "coalesce(u.cost_nanos, 0)",
    ]
    .iter()
    .map(|e| sum_sql(e))
    .collect();
    let sql = format!(
        "SELECT {}, CAST(count(*) AS BIGINT), {},
            CAST(sum(CASE WHEN u.cost_nanos IS NULL THEN 1 ELSE 0 END) AS BIGINT)
         FROM usage u JOIN developers d ON d.id = u.developer_id JOIN keys k ON k.id = u.key_ref
            LEFT JOIN teams t ON t.id = u.team_id
         WHERE {} GROUP BY {}",
        select.join(", "),
        sums.join(", "),
        filter.join(" AND "),
        group.join(", ")
    );
    let mut tx = store.begin(false).await?;
    let rows = tx.query(&sql, &params_v).await?;
    drop(tx);

    let mut groups: BTreeMap<Vec<Option<String>>, Counters> = BTreeMap::new();
    let mut totals = Counters::default();
    for r in rows {
        let bucket = r.int(n_keys - 1);
        let mut plain = (0..sql_dims.len()).map(|i| r.opt_text(i));
        let key: Vec<Option<String>> = dims
            .iter()
            .map(|d| {
                if is_time(*d) {
                    time_key(*d, bucket, &tz)
                } else {
                    plain.next().flatten()
                }
            })
            .collect();
        let b = n_keys;
        let c = Counters(Sums {
            requests: r.int(b),
            input_tokens: r.sum(b + 1),
            output_tokens: r.sum(b + 3),
            cache_read_tokens: r.sum(b + 5),
            cache_write_tokens: r.sum(b + 7),
            reasoning_tokens: r.sum(b + 9),
            cost_nanos: r.sum(b + 11),
            unpriced_requests: r.int(b + 13),
        });
        totals.add(&c);
        groups.entry(key).or_default().add(&c);
    }
    let mut out: Vec<ReportRow> = groups
        .into_iter()
        .map(|(key, counters)| ReportRow {
            key: dims
                .iter()
                .map(|d| dim_name(*d).to_string())
                .zip(key)
                .collect(),
            counters,
        })
        .collect();
    if !by_time {
        out.sort_by_key(|r| std::cmp::Reverse(r.counters.0.cost_nanos));
    }
    let zoned = |t: Timestamp| {
        t.to_zoned(tz.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string()
    };
    Ok(SpendReport {
        since: since.map(zoned),
        until: zoned(until),
        tz: tz_name,
        group_by: dims.iter().map(|d| dim_name(*d).to_string()).collect(),
        scope: scope.map(|s| {
            BTreeMap::from([
                ("scope".to_string(), s.scope.as_str().to_string()),
                ("name".to_string(), s.name),
            ])
        }),
        rows: out,
        totals,
    })
}
