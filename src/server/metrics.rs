//! `/metrics` in Prometheus text format. Usage and budget figures are read from the database at
//! scrape time (so every replica reports the same truth); HTTP, lease and ingest counters are
//! this process's own, as Prometheus expects of a counter per instance.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::db::Store;
use super::error::ApiError;
use super::money;
use crate::api::Scope;

#[derive(Debug, Default)]
pub struct Metrics {
    http: Mutex<BTreeMap<(String, String, u16), u64>>,
    pub ingest_batches: AtomicU64,
    pub ingest_rejected: AtomicU64,
    pub ingest_accepted: AtomicU64,
    pub ingest_duplicates: AtomicU64,
    pub leases_granted: AtomicU64,
    pub leases_denied: AtomicU64,
    pub lease_granted_nanos: AtomicU64,
    /// OTLP export's counters, when the server exports.
    pub export: Option<std::sync::Arc<crate::otel::ExportStats>>,
    /// Labels beyond org, team, model and agent on the usage series.
    pub labels: MetricsLabels,
    /// Lease refusals (402) by the scope of the budget that was spent, in `Scope` order.
    pub lease_refusals: [AtomicU64; 4],
    lag: Mutex<Lag>,
}

/// Which high-cardinality labels the usage series carry (`gw server --metrics-labels`). Each
/// multiplies the series a scrape returns: developers × models × agents (× projects).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MetricsLabels {
    pub developer: bool,
    pub project: bool,
}

impl MetricsLabels {
    /// `developer`, `project` or both, comma-separated.
    pub fn parse(s: &str) -> Result<MetricsLabels, String> {
        let mut labels = MetricsLabels::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "developer" => labels.developer = true,
                "project" => labels.project = true,
                other => {
                    return Err(format!(
                        "unknown metrics label {other:?}: use developer, project or both"
                    ))
                }
            }
        }
        Ok(labels)
    }
}

/// Upper bounds (seconds) of the ingest-lag histogram's buckets.
const LAG_BUCKETS: [f64; 9] = [1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0];

#[derive(Debug, Default, Clone)]
struct Lag {
    /// Observations per bucket (not cumulative); beyond the last only in `count`.
    buckets: [u64; LAG_BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Metrics {
    pub fn new(
        export: Option<std::sync::Arc<crate::otel::ExportStats>>,
        labels: MetricsLabels,
    ) -> Metrics {
        Metrics {
            export,
            labels,
            ..Metrics::default()
        }
    }

    /// Records ingested rows' lag: from each request's end (`ended_at_us`) to `now_us`.
    pub fn observe_lag(&self, ended_at_us: impl Iterator<Item = i64>, now_us: i64) {
        let mut lag = self.lag.lock().unwrap_or_else(|e| e.into_inner());
        for ended in ended_at_us {
            // A client's clock can be anything: a lag past 30 days is counted as 30 days.
            let secs = (now_us - ended).clamp(0, 30 * 86_400_000_000) as f64 / 1e6;
            if let Some(i) = LAG_BUCKETS.iter().position(|&b| secs <= b) {
                lag.buckets[i] += 1;
            }
            lag.sum += secs;
            lag.count += 1;
        }
    }

    pub fn count_lease_refusal(&self, scope: Scope) {
        self.lease_refusals[scope as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_http(&self, method: &str, route: &str, status: u16) {
        let mut m = self.http.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((method.to_string(), route.to_string(), status))
            .or_default() += 1;
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A label value, escaped.
fn l(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn render(store: &dyn Store, metrics: &Metrics) -> Result<String, ApiError> {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "# HELP gw_http_requests_total HTTP requests answered by this instance."
    );
    let _ = writeln!(w, "# TYPE gw_http_requests_total counter");
    for ((method, route, status), n) in metrics
        .http
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        let _ = writeln!(
            w,
            "gw_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
            l(method),
            l(route)
        );
    }
    let counter = |w: &mut String, name: &str, help: &str, v: &AtomicU64, label: &str| {
        let _ = writeln!(w, "# HELP {name} {help}\n# TYPE {name} counter");
        let _ = writeln!(w, "{name}{label} {}", v.load(Ordering::Relaxed));
    };
    // Counter families with one `result` label value per outcome.
    let by_result = |w: &mut String, name: &str, help: &str, outcomes: &[(&str, &AtomicU64)]| {
        let _ = writeln!(w, "# HELP {name} {help}\n# TYPE {name} counter");
        for (result, v) in outcomes {
            let _ = writeln!(
                w,
                "{name}{{result=\"{result}\"}} {}",
                v.load(Ordering::Relaxed)
            );
        }
    };
    by_result(
        w,
        "gw_ingest_rows_total",
        "Usage rows received by this instance, by outcome.",
        &[
            ("accepted", &metrics.ingest_accepted),
            ("duplicate", &metrics.ingest_duplicates),
        ],
    );
    by_result(
        w,
        "gw_ingest_batches_total",
        "Usage batches received by this instance, by outcome.",
        &[
            ("ok", &metrics.ingest_batches),
            ("rejected", &metrics.ingest_rejected),
        ],
    );
    by_result(
        w,
        "gw_leases_total",
        "Lease requests answered by this instance, by outcome.",
        &[
            ("granted", &metrics.leases_granted),
            ("exhausted", &metrics.leases_denied),
        ],
    );
    counter(
        w,
        "gw_lease_granted_nanos_total",
        "Nano-dollars granted in leases by this instance.",
        &metrics.lease_granted_nanos,
        "",
    );

    if let Some(export) = &metrics.export {
        by_result(
            w,
            "gw_otel_rows_total",
            "Ingested rows OTLP export sent as spans, or dropped: the queue was full, or the collector failed after retries.",
            &[
                ("exported", &export.spans_exported),
                ("dropped_queue_full", &export.dropped_queue_full),
                ("dropped_export_failed", &export.dropped_export_failed),
            ],
        );
        by_result(
            w,
            "gw_otel_metric_exports_total",
            "OTLP metric exports by outcome (a failed one loses nothing: metrics are cumulative).",
            &[
                ("ok", &export.metric_exports),
                ("failed", &export.metric_exports_failed),
            ],
        );
    }
    let lag = metrics
        .lag
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let _ = writeln!(
        w,
        "# HELP gw_ingest_lag_seconds From a request's end to its row's ingest by this instance.\n# TYPE gw_ingest_lag_seconds histogram"
    );
    let mut cumulative = 0;
    for (bound, n) in LAG_BUCKETS.iter().zip(&lag.buckets) {
        cumulative += n;
        let _ = writeln!(
            w,
            "gw_ingest_lag_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    let _ = writeln!(
        w,
        "gw_ingest_lag_seconds_bucket{{le=\"+Inf\"}} {}",
        lag.count
    );
    let _ = writeln!(w, "gw_ingest_lag_seconds_sum {}", lag.sum);
    let _ = writeln!(w, "gw_ingest_lag_seconds_count {}", lag.count);
    let _ = writeln!(
        w,
        "# HELP gw_lease_refusals_total Leases this instance refused (402), by the scope of the budget that was spent.\n# TYPE gw_lease_refusals_total counter"
    );
    for scope in Scope::ALL {
        let n = metrics.lease_refusals[scope as usize].load(Ordering::Relaxed);
        let _ = writeln!(
            w,
            "gw_lease_refusals_total{{status=\"402\",scope=\"{}\"}} {n}",
            scope.as_str()
        );
    }

    let now = super::ops::now_us();
    let mut tx = store.begin(false).await?;
    let open = tx
        .one(
            "SELECT count(*) FROM leases WHERE released = 0 AND expires_at_us > $1",
            &[now.into()],
        )
        .await?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0);
    let rows = tx
        .query(
            "SELECT o.name, coalesce(t.name, ''), d.email, u.model, u.agent, u.project,
                u.requests, u.cost_nanos, u.input_tokens, u.output_tokens, u.cache_read_tokens,
                u.cache_write_tokens, u.reasoning_tokens, u.refused_402, u.refused_403,
                u.refused_429
             FROM usage_series u JOIN orgs o ON o.id = u.org_id
                JOIN developers d ON d.id = u.developer_id
                LEFT JOIN teams t ON t.id = u.team_id",
            &[],
        )
        .await?;
    drop(tx);
    let _ = writeln!(
        w,
        "# HELP gw_leases_open Leases neither released nor expired, across replicas.\n# TYPE gw_leases_open gauge\ngw_leases_open {open}"
    );
    // Summed by the label set the server shows (developer and project only when enabled):
    // decoded whole first, so a row gw cannot read fails the scrape instead of printing a zero.
    let mut series: BTreeMap<String, [i64; 10]> = BTreeMap::new();
    for r in &rows {
        let mut labels = format!("org=\"{}\",team=\"{}\"", l(&r.text(0)?), l(&r.text(1)?));
        if metrics.labels.developer {
            let _ = write!(labels, ",developer=\"{}\"", l(&r.text(2)?));
        }
        if metrics.labels.project {
            let _ = write!(labels, ",project=\"{}\"", l(&r.text(5)?));
        }
        let _ = write!(
            labels,
            ",model=\"{}\",agent=\"{}\"",
            l(&r.text(3)?),
            l(&r.text(4)?)
        );
        let sums = series.entry(labels).or_default();
        for (i, sum) in sums.iter_mut().enumerate() {
            *sum = sum.saturating_add(r.int(6 + i)?);
        }
    }
    let family = |w: &mut String, name: &str, help: &str| {
        let _ = writeln!(w, "# HELP {name} {help}\n# TYPE {name} counter");
    };
    family(
        w,
        "gw_usage_requests_total",
        "Ingested requests by org, team, model and agent (developer and project when enabled).",
    );
    for (labels, s) in &series {
        let _ = writeln!(w, "gw_usage_requests_total{{{labels}}} {}", s[0]);
    }
    family(
        w,
        "gw_usage_cost_usd_total",
        "Ingested cost (priced requests) in USD.",
    );
    for (labels, s) in &series {
        let _ = writeln!(
            w,
            "gw_usage_cost_usd_total{{{labels}}} {}",
            money::usd(s[1])
        );
    }
    family(
        w,
        "gw_usage_tokens_total",
        "Ingested tokens by kind: input (uncached), output, cache_read, cache_write, reasoning (part of output).",
    );
    for (labels, s) in &series {
        for (kind, n) in ["input", "output", "cache_read", "cache_write", "reasoning"]
            .iter()
            .zip(&s[2..7])
        {
            let _ = writeln!(w, "gw_usage_tokens_total{{{labels},kind=\"{kind}\"}} {n}");
        }
    }
    family(
        w,
        "gw_usage_refusals_total",
        "Ingested requests answered 402 (budget), 403 (not allowed) or 429 (rate limited), by status.",
    );
    for (labels, s) in &series {
        for (status, n) in ["402", "403", "429"].iter().zip(&s[7..]) {
            let _ = writeln!(
                w,
                "gw_usage_refusals_total{{{labels},status=\"{status}\"}} {n}"
            );
        }
    }
    let budgets = super::admin::list_budgets(store, None, None).await?;
    for (name, help) in [
        ("gw_budget_limit_usd", "Budget limit in USD."),
        (
            "gw_budget_spent_usd",
            "Spent in the budget's current period, USD.",
        ),
        ("gw_budget_reserved_usd", "Reserved by open leases, USD."),
        (
            "gw_budget_remaining_usd",
            "limit - spent - reserved, USD (never below zero).",
        ),
        ("gw_budget_used_ratio", "(spent + reserved) / limit."),
    ] {
        let _ = writeln!(w, "# HELP {name} {help}\n# TYPE {name} gauge");
        for b in &budgets {
            let v = match name {
                "gw_budget_limit_usd" => b.limit_usd,
                "gw_budget_spent_usd" => b.spent_usd,
                "gw_budget_reserved_usd" => money::usd(b.reserved_nanos),
                "gw_budget_remaining_usd" => money::usd(b.remaining_nanos),
                _ if b.limit_nanos > 0 => {
                    b.spent_nanos.saturating_add(b.reserved_nanos) as f64 / b.limit_nanos as f64
                }
                _ => 1.0,
            };
            let _ = writeln!(
                w,
                "{name}{{scope=\"{}\",name=\"{}\",period=\"{}\"}} {v}",
                b.scope.as_str(),
                l(&b.name),
                b.period.as_str()
            );
        }
    }
    Ok(out)
}
