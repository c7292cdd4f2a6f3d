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
}

impl Metrics {
    pub fn new(export: Option<std::sync::Arc<crate::otel::ExportStats>>) -> Metrics {
        Metrics {
            export,
            ..Metrics::default()
        }
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
    let mut tx = store.begin(false).await?;
    let rows = tx
        .query(
            "SELECT o.name, coalesce(t.name, ''), d.email, u.model, u.requests, u.cost_nanos,
                u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens,
                u.reasoning_tokens
             FROM usage_totals u JOIN orgs o ON o.id = u.org_id
                JOIN developers d ON d.id = u.developer_id
                LEFT JOIN teams t ON t.id = u.team_id
             ORDER BY 1, 2, 3, 4",
            &[],
        )
        .await?;
    drop(tx);
    let _ = writeln!(
        w,
        "# HELP gw_usage_requests_total Ingested requests by org, team, developer and model."
    );
    let _ = writeln!(w, "# TYPE gw_usage_requests_total counter");
    // Decoded whole first: a row gw cannot read fails the scrape instead of printing a zero.
    let mut series = Vec::with_capacity(rows.len());
    for r in &rows {
        let labels = format!(
            "org=\"{}\",team=\"{}\",developer=\"{}\",model=\"{}\"",
            l(&r.text(0)?),
            l(&r.text(1)?),
            l(&r.text(2)?),
            l(&r.text(3)?)
        );
        let mut tokens = [0i64; 5];
        for (i, t) in tokens.iter_mut().enumerate() {
            *t = r.int(6 + i)?;
        }
        series.push((labels, r.int(4)?, r.int(5)?, tokens));
    }
    for (labels, requests, _, _) in &series {
        let _ = writeln!(w, "gw_usage_requests_total{{{labels}}} {requests}");
    }
    let _ = writeln!(
        w,
        "# HELP gw_usage_cost_usd_total Ingested cost (priced requests) in USD."
    );
    let _ = writeln!(w, "# TYPE gw_usage_cost_usd_total counter");
    for (labels, _, cost, _) in &series {
        let _ = writeln!(
            w,
            "gw_usage_cost_usd_total{{{labels}}} {}",
            money::usd(*cost)
        );
    }
    let _ = writeln!(w, "# HELP gw_usage_tokens_total Ingested tokens by kind.");
    let _ = writeln!(w, "# TYPE gw_usage_tokens_total counter");
    for (labels, _, _, tokens) in &series {
        for (kind, n) in ["input", "output", "cache_read", "cache_write", "reasoning"]
            .iter()
            .zip(tokens)
        {
            let _ = writeln!(w, "gw_usage_tokens_total{{{labels},kind=\"{kind}\"}} {n}");
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
        ("gw_budget_used_ratio", "(spent + reserved) / limit."),
    ] {
        let _ = writeln!(w, "# HELP {name} {help}\n# TYPE {name} gauge");
        for b in &budgets {
            let v = match name {
                "gw_budget_limit_usd" => b.limit_usd,
                "gw_budget_spent_usd" => b.spent_usd,
                "gw_budget_reserved_usd" => money::usd(b.reserved_nanos),
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
