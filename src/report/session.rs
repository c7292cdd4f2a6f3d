//! `gw session <id>`: one session's requests, one per line, with its totals and cache-hit ratio.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::counters::Counters;
use super::period::zone_name;
use super::sessions::{cost_text, instant};
use super::style::{self, Style};
use crate::ledger::query::Sums;
use crate::ledger::{Ledger, LedgerError, Row};

/// A session and its requests, oldest first.
#[derive(Debug, Clone)]
pub struct SessionDetail {
    pub tz: TimeZone,
    pub session_id: String,
    pub rows: Vec<Row>,
    pub totals: Counters,
}

impl SessionDetail {
    /// Reads the session with exactly this id (see `Ledger::find_session` for short ids).
    pub fn build(
        ledger: &Ledger,
        session_id: &str,
        tz: TimeZone,
    ) -> Result<SessionDetail, LedgerError> {
        let rows = ledger.session_rows(session_id)?;
        let mut totals = Counters::default();
        for row in &rows {
            totals.add(&Counters(Sums::of_row(row)));
        }
        Ok(SessionDetail {
            tz,
            session_id: session_id.to_string(),
            rows,
            totals,
        })
    }

    fn first(&self) -> Option<&Row> {
        self.rows.first()
    }

    fn started_us(&self) -> i64 {
        self.rows
            .iter()
            .map(|r| r.started_at_us)
            .min()
            .unwrap_or_default()
    }

    fn ended_us(&self) -> i64 {
        self.rows
            .iter()
            .map(|r| r.ended_at_us)
            .max()
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn render(&self, style: &Style) -> String {
        let Some(first) = self.first() else {
            return format!("Session {} has no requests.\n", self.session_id);
        };
        let a = &first.attribution;
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_string());
        let agent = match (&a.agent, &a.agent_version) {
            (Some(agent), Some(version)) => format!("{agent} {version}"),
            (agent, _) => or_none(agent),
        };
        let fmt = |us: i64| {
            let ts = Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH);
            ts.to_zoned(self.tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string()
        };
        let mut out = style.bold_text(&format!("Session {}", self.session_id));
        out.push('\n');
        let lines = [
            ("Agent", agent),
            ("Developer", or_none(&a.developer)),
            ("Project", or_none(&a.project)),
            ("Branch", or_none(&a.branch)),
            ("Task", or_none(&a.task)),
            (
                "Time",
                format!(
                    "{} – {} ({}, {})",
                    fmt(self.started_us()),
                    fmt(self.ended_us()),
                    style::duration(self.ended_us() - self.started_us()),
                    zone_name(&self.tz)
                ),
            ),
            ("Requests", style::thousands(self.totals.0.requests)),
            ("Cost", cost_text(&self.totals)),
            ("Cache hit", style::percent(self.totals.cache_hit_ratio())),
        ];
        for (name, value) in lines {
            out.push_str(&format!("  {name:<10} {value}\n"));
        }
        out.push('\n');

        let spans_days = {
            let day = |us: i64| {
                Timestamp::from_microsecond(us)
                    .map(|t| t.to_zoned(self.tz.clone()).date())
                    .ok()
            };
            day(self.started_us()) != day(self.ended_us())
        };
        let time_format = if spans_days {
            "%m-%d %H:%M:%S"
        } else {
            "%H:%M:%S"
        };
        let mut table = style.table(
            &[
                "Time",
                "Model",
                "Status",
                "Input",
                "Output",
                "Cache write",
                "Cache read",
                "Cost",
                "Latency",
            ],
            3,
        );
        for r in &self.rows {
            let ts = Timestamp::from_microsecond(r.started_at_us).unwrap_or(Timestamp::UNIX_EPOCH);
            let mut status = r.status.to_string();
            if r.incomplete {
                status.push_str(" cut");
            }
            if r.error.is_some() {
                status.push_str(" err");
            }
            let cost = match r.cost_nanos {
                Some(n) => style::usd_fine(n),
                None => "unpriced*".to_string(),
            };
            table.add_row(vec![
                ts.to_zoned(self.tz.clone())
                    .strftime(time_format)
                    .to_string(),
                r.model
                    .clone()
                    .or_else(|| r.requested_model.clone())
                    .unwrap_or_else(|| "(unknown)".to_string()),
                status,
                style::thousands(r.usage.input as i64),
                style::thousands(r.usage.output as i64),
                style::thousands(r.usage.cache_write() as i64),
                style::thousands(r.usage.cache_read as i64),
                cost,
                style::duration(r.latency_us),
            ]);
        }
        out.push_str(&style.render(&table));
        let cut = self.rows.iter().filter(|r| r.incomplete).count();
        if cut > 0 {
            out.push_str(&style.wrap(
                &format!("cut: {cut} streams ended early; they count what was received."),
                2,
            ));
        }
        if self.totals.0.unpriced_requests > 0 {
            out.push_str(&style.wrap(
                "* no price for this model: its cost is left out. Add it under [prices] in gw's config file.",
                2,
            ));
        }
        out
    }
}

impl Serialize for SessionDetail {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let a = self
            .first()
            .map(|r| r.attribution.clone())
            .unwrap_or_default();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("session_id", &self.session_id)?;
        map.serialize_entry("tz", &zone_name(&self.tz))?;
        map.serialize_entry(
            "started_at",
            &self.first().map(|_| instant(self.started_us(), &self.tz)),
        )?;
        map.serialize_entry(
            "ended_at",
            &self.first().map(|_| instant(self.ended_us(), &self.tz)),
        )?;
        map.serialize_entry(
            "duration_ms",
            &((self.ended_us() - self.started_us()).max(0) / 1000),
        )?;
        map.serialize_entry("agent", &a.agent)?;
        map.serialize_entry("agent_version", &a.agent_version)?;
        map.serialize_entry("developer", &a.developer)?;
        map.serialize_entry("project", &a.project)?;
        map.serialize_entry("branch", &a.branch)?;
        map.serialize_entry("task", &a.task)?;
        map.serialize_entry("cwd", &a.cwd)?;
        map.serialize_entry("host", &a.host)?;
        map.serialize_entry("key", &a.key_id)?;
        map.serialize_entry("cache_hit_ratio", &self.totals.cache_hit_ratio())?;
        map.serialize_entry("totals", &self.totals)?;
        map.serialize_entry(
            "requests",
            &JsonRequests {
                rows: &self.rows,
                tz: &self.tz,
            },
        )?;
        map.end()
    }
}

struct JsonRequests<'a> {
    rows: &'a [Row],
    tz: &'a TimeZone,
}

impl Serialize for JsonRequests<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.rows.len()))?;
        for row in self.rows {
            seq.serialize_element(&JsonRequest { row, tz: self.tz })?;
        }
        seq.end()
    }
}

struct JsonRequest<'a> {
    row: &'a Row,
    tz: &'a TimeZone,
}

impl Serialize for JsonRequest<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let r = self.row;
        let u = &r.usage;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &r.id.to_string())?;
        map.serialize_entry("started_at", &instant(r.started_at_us, self.tz))?;
        map.serialize_entry("ended_at", &instant(r.ended_at_us, self.tz))?;
        map.serialize_entry("provider", &r.provider)?;
        map.serialize_entry("region", &r.region)?;
        map.serialize_entry("endpoint", &r.endpoint)?;
        map.serialize_entry("requested_model", &r.requested_model)?;
        map.serialize_entry("model", &r.model)?;
        map.serialize_entry("status", &r.status)?;
        map.serialize_entry("streamed", &r.streamed)?;
        map.serialize_entry("incomplete", &r.incomplete)?;
        map.serialize_entry("input_tokens", &u.input)?;
        map.serialize_entry("output_tokens", &u.output)?;
        map.serialize_entry("cache_read_tokens", &u.cache_read)?;
        map.serialize_entry("cache_write_tokens", &u.cache_write())?;
        map.serialize_entry("cache_write_5m_tokens", &u.cache_write_5m)?;
        map.serialize_entry("cache_write_1h_tokens", &u.cache_write_1h)?;
        map.serialize_entry("reasoning_tokens", &u.reasoning)?;
        map.serialize_entry("total_tokens", &u.total())?;
        map.serialize_entry("cost_nanos", &r.cost_nanos)?;
        map.serialize_entry("cost_usd", &r.cost_nanos.map(|n| n as f64 / 1e9))?;
        map.serialize_entry("latency_ms", &(r.latency_us as f64 / 1000.0))?;
        map.serialize_entry("ttfb_ms", &r.ttfb_us.map(|t| t as f64 / 1000.0))?;
        map.serialize_entry("upstream_request_id", &r.upstream_request_id)?;
        map.serialize_entry("agent_session_id", &r.agent_session_id)?;
        map.serialize_entry("error", &r.error)?;
        map.end()
    }
}
