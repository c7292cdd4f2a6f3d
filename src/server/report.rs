//! Spend reports from ingested usage, in the `gw spend --json` shape:
//! `{"since","until","tz","group_by":[..],"rows":[{"key":{k:v},…counters}],"totals":{…counters}}`.
//!
//! Rows are summed in SQL per quarter hour (every zone in use starts its days on a quarter
//! hour), then bucketed into local days, weeks and months here, so any `tz` is exact.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::QUARTER_HOUR_US;
use crate::dimension::Dimension;
use crate::ledger::query::Sums;
use crate::report::{rfc3339, Counters, DateSpec, Period, PeriodError, PeriodSpec};

use super::db::{sum_sql, Store, Value};
use super::error::ApiError;
use super::money;
use super::ops::Scope;

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
    /// Comma-separated groupings: day, week, month, agent, model, provider, project, branch,
    /// session, task, developer, key, team (default: model).
    pub by: Option<String>,
    /// org | team | developer | key (admin: any; a key: `developer` (own, default) or `key`).
    pub scope: Option<String>,
    /// The scope's name (admin only; a key's scope is its own).
    pub name: Option<String>,
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

/// `[since, until)` from the parameters, in `tz`: `gw spend`'s periods, from the server's forms.
pub(crate) fn resolve_period(
    p: &SpendParams,
    tz: &TimeZone,
    now: Timestamp,
) -> Result<Period, ApiError> {
    let date = |text: &str| -> Result<DateSpec, ApiError> {
        if let Ok(d) = text.parse::<Date>() {
            return Ok(DateSpec::Date(d));
        }
        text.parse::<Timestamp>()
            .map(DateSpec::Instant)
            .map_err(|_| {
                bad(format!(
                    "invalid date `{text}`: use YYYY-MM-DD or an RFC 3339 time"
                ))
            })
    };
    let spec = if p.since.is_some() || p.until.is_some() {
        PeriodSpec::Range {
            since: p.since.as_deref().map(date).transpose()?,
            until: p.until.as_deref().map(date).transpose()?,
        }
    } else {
        match p.period.as_deref().unwrap_or("today") {
            "today" => PeriodSpec::Today,
            "yesterday" => PeriodSpec::Yesterday,
            "week" => PeriodSpec::Week,
            "month" => PeriodSpec::Month,
            "all" => PeriodSpec::Range {
                since: None,
                until: Some(DateSpec::Today),
            },
            other => {
                return Err(bad(format!(
                    "invalid period `{other}`: use today, yesterday, week, month or all"
                )))
            }
        }
    };
    Period::resolve(spec, now, tz).map_err(|e| match e {
        PeriodError::Empty { .. } => {
            bad("since is not before until; the period would be empty".into())
        }
        PeriodError::OutOfRange => bad("out of range".into()),
    })
}

pub async fn spend(
    store: &dyn Store,
    params: &SpendParams,
    scope: Option<ReportScope>,
) -> Result<SpendReport, ApiError> {
    let dims: Vec<Dimension> = match params.by.as_deref().filter(|b| !b.trim().is_empty()) {
        None => vec![Dimension::Model],
        Some(by) => by
            .split(',')
            .map(|n| {
                let n = n.trim();
                Dimension::on_server_named(n).ok_or_else(|| {
                    let all: Vec<&str> = Dimension::ALL
                        .iter()
                        .filter(|d| d.on_server())
                        .map(|d| d.name())
                        .collect();
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
    let period = resolve_period(params, &tz, Timestamp::now())?;

    let sql_dims: Vec<&str> = dims
        .iter()
        .filter(|d| !d.is_time())
        .map(|d| d.server_column().unwrap_or("''"))
        .collect();
    let by_time = dims.iter().any(|d| d.is_time());
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
    if let Some(s) = period.since_us() {
        params_v.push(s.into());
        filter.push(format!("u.started_at_us >= ${}", params_v.len()));
    }
    params_v.push(period.until_us().into());
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
        let bucket = r.int(n_keys - 1)?;
        let plain: Vec<Option<String>> = (0..sql_dims.len())
            .map(|i| r.opt_text(i))
            .collect::<Result<_, _>>()?;
        let mut plain = plain.into_iter();
        let key: Vec<Option<String>> = dims
            .iter()
            .map(|d| {
                if d.is_time() {
                    Timestamp::from_microsecond(bucket)
                        .ok()
                        .and_then(|at| d.time_key(at, &tz))
                } else {
                    plain.next().flatten()
                }
            })
            .collect();
        let b = n_keys;
        let c = Counters(Sums {
            requests: r.int(b)?,
            input_tokens: r.sum(b + 1)?,
            output_tokens: r.sum(b + 3)?,
            cache_read_tokens: r.sum(b + 5)?,
            cache_write_tokens: r.sum(b + 7)?,
            reasoning_tokens: r.sum(b + 9)?,
            cost_nanos: r.sum(b + 11)?,
            unpriced_requests: r.int(b + 13)?,
        });
        totals.add(&c);
        groups.entry(key).or_default().add(&c);
    }
    let mut out: Vec<ReportRow> = groups
        .into_iter()
        .map(|(key, counters)| ReportRow {
            key: dims.iter().map(|d| d.name().to_string()).zip(key).collect(),
            counters,
        })
        .collect();
    if !by_time {
        out.sort_by_key(|r| std::cmp::Reverse(r.counters.0.cost_nanos));
    }
    Ok(SpendReport {
        since: period.since.as_ref().map(rfc3339),
        until: rfc3339(&period.until),
        tz: tz_name,
        group_by: dims.iter().map(|d| d.name().to_string()).collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        period: Option<&str>,
        since: Option<&str>,
        until: Option<&str>,
    ) -> Result<(Option<String>, String), String> {
        let p = SpendParams {
            period: period.map(String::from),
            since: since.map(String::from),
            until: until.map(String::from),
            ..SpendParams::default()
        };
        let tz = TimeZone::get("America/New_York").unwrap();
        // A Sunday; New York changed to summer time that day.
        let now = "2025-03-09T18:30:00Z".parse().unwrap();
        resolve_period(&p, &tz, now)
            .map(|p| (p.since.as_ref().map(rfc3339), rfc3339(&p.until)))
            .map_err(|e| e.to_string())
    }

    fn ok(since: &str, until: &str) -> Result<(Option<String>, String), String> {
        Ok((Some(since.into()), until.into()))
    }

    #[test]
    fn periods_resolve_in_the_zone() {
        let (day, next) = ("2025-03-09T00:00:00-05:00", "2025-03-10T00:00:00-04:00");
        assert_eq!(resolve(None, None, None), ok(day, next));
        assert_eq!(
            resolve(Some("yesterday"), None, None),
            ok("2025-03-08T00:00:00-05:00", day)
        );
        assert_eq!(
            resolve(Some("week"), None, None),
            ok("2025-03-03T00:00:00-05:00", next)
        );
        assert_eq!(
            resolve(Some("month"), None, None),
            ok("2025-03-01T00:00:00-05:00", "2025-04-01T00:00:00-04:00")
        );
        assert_eq!(resolve(Some("all"), None, None), Ok((None, next.into())));
        // Dates are whole days; instants exact; `period` is ignored beside them.
        assert_eq!(
            resolve(Some("bogus"), Some("2025-03-01"), Some("2025-03-09")),
            ok("2025-03-01T00:00:00-05:00", next)
        );
        assert_eq!(
            resolve(None, Some("2025-03-09T12:00:00Z"), None),
            ok("2025-03-09T08:00:00-04:00", next)
        );
        assert_eq!(
            resolve(None, None, Some("2025-03-09T12:00:00Z")),
            Ok((None, "2025-03-09T08:00:00-04:00".into()))
        );
        assert_eq!(
            resolve(None, Some("2025-03-10"), Some("2025-03-09")),
            Err("since is not before until; the period would be empty".into())
        );
        assert_eq!(
            resolve(None, Some("7d"), None),
            Err("invalid date `7d`: use YYYY-MM-DD or an RFC 3339 time".into())
        );
        assert_eq!(
            resolve(Some("year"), None, None),
            Err("invalid period `year`: use today, yesterday, week, month or all".into())
        );
    }
}
