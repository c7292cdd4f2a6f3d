//! `gw sessions`: the most recent sessions, one line each.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::counters::Counters;
use super::period::{rfc3339, zone_name};
use super::spend::LedgerState;
use super::style::{self, Style};
use crate::ledger::query::SessionSummary;
use crate::ledger::{Ledger, LedgerError};

/// Recent sessions, most recently active first.
#[derive(Debug, Clone)]
pub struct SessionList {
    pub tz: TimeZone,
    pub sessions: Vec<SessionSummary>,
    pub ledger: LedgerState,
}

impl SessionList {
    pub fn build(
        ledger: Option<&Ledger>,
        limit: usize,
        source: Option<crate::ledger::Source>,
        tz: TimeZone,
    ) -> Result<SessionList, LedgerError> {
        let Some(ledger) = ledger else {
            return Ok(SessionList {
                tz,
                sessions: Vec::new(),
                ledger: LedgerState::Missing,
            });
        };
        let sessions = ledger.recent_sessions(limit, source)?;
        let state = if sessions.is_empty() {
            LedgerState::Empty
        } else {
            LedgerState::HasRequests
        };
        Ok(SessionList {
            tz,
            sessions,
            ledger: state,
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn render(&self, style: &Style) -> String {
        if self.sessions.is_empty() {
            return "No requests recorded yet. Run an agent through gw (`gw run claude`, or `gw proxy`) and its sessions show up here.\n".to_string();
        }
        let full = self.table(style, false);
        let table = if style.fits(&full) {
            full
        } else {
            self.table(style, true)
        };
        format!(
            "{}\n{table}",
            style.bold_text(&format!("Recent sessions ({})", zone_name(&self.tz)))
        )
    }

    fn table(&self, style: &Style, compact: bool) -> String {
        let headers: &[&str] = if compact {
            &["Session", "Started", "Agent", "Requests", "Cost"]
        } else {
            &[
                "Session", "Started", "Duration", "Agent", "Project", "Branch", "Requests", "Cost",
            ]
        };
        let numbers_from = if compact { 3 } else { 6 };
        let mut table = style.table(headers, numbers_from);
        for s in &self.sessions {
            let started = local(s.first_started_at_us, &self.tz);
            let counters = Counters(s.sums);
            let cost = cost_text(&counters);
            let none = || "(none)".to_string();
            let row: Vec<String> = if compact {
                let short = s.session_id.len().saturating_sub(12);
                vec![
                    format!("…{}", &s.session_id[short..]),
                    started,
                    s.agent.clone().unwrap_or_else(none),
                    style::thousands(s.sums.requests),
                    cost,
                ]
            } else {
                vec![
                    s.session_id.clone(),
                    started,
                    style::duration(s.last_ended_at_us - s.first_started_at_us),
                    s.agent.clone().unwrap_or_else(none),
                    s.project.clone().unwrap_or_else(none),
                    s.branch.clone().unwrap_or_else(none),
                    style::thousands(s.sums.requests),
                    cost,
                ]
            };
            table.add_row(row);
        }
        let mut out = style.render(&table);
        if self.sessions.iter().any(|s| s.sums.unpriced_requests > 0) {
            out.push_str(
                &style
                    .wrap("* some requests have no price; their cost is left out (`gw session <id>` shows which).", 2),
            );
        }
        out
    }
}

/// A session's cost for tables: never `$0.00` when it is unknown.
pub(super) fn cost_text(c: &Counters) -> String {
    if c.all_unpriced() {
        "unpriced*".to_string()
    } else if c.0.unpriced_requests > 0 {
        format!("{}*", style::usd(c.0.cost_nanos))
    } else {
        style::usd(c.0.cost_nanos)
    }
}

/// `2025-03-09 14:02` in the report's zone.
fn local(us: i64, tz: &TimeZone) -> String {
    let ts = Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH);
    ts.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

pub(super) fn instant(us: i64, tz: &TimeZone) -> String {
    rfc3339(
        &Timestamp::from_microsecond(us)
            .unwrap_or(Timestamp::UNIX_EPOCH)
            .to_zoned(tz.clone()),
    )
}

impl Serialize for SessionList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("tz", &zone_name(&self.tz))?;
        map.serialize_entry("sessions", &JsonSessions(self))?;
        map.end()
    }
}

struct JsonSessions<'a>(&'a SessionList);

impl Serialize for JsonSessions<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.sessions.len()))?;
        for s in &self.0.sessions {
            seq.serialize_element(&JsonSession { s, tz: &self.0.tz })?;
        }
        seq.end()
    }
}

struct JsonSession<'a> {
    s: &'a SessionSummary,
    tz: &'a TimeZone,
}

impl Serialize for JsonSession<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.s;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("session_id", &s.session_id)?;
        map.serialize_entry("started_at", &instant(s.first_started_at_us, self.tz))?;
        map.serialize_entry("ended_at", &instant(s.last_ended_at_us, self.tz))?;
        map.serialize_entry(
            "duration_ms",
            &((s.last_ended_at_us - s.first_started_at_us).max(0) / 1000),
        )?;
        map.serialize_entry("agent", &s.agent)?;
        map.serialize_entry("developer", &s.developer)?;
        map.serialize_entry("project", &s.project)?;
        map.serialize_entry("branch", &s.branch)?;
        map.serialize_entry("task", &s.task)?;
        Counters(s.sums).serialize_into(&mut map)?;
        map.end()
    }
}
