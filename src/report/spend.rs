//! `gw spend`: requests summed over a period, grouped, filtered, as a table, JSON or CSV.

use std::cmp::Ordering;
use std::collections::HashMap;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::counters::Counters;
use super::period::{rfc3339, zone_name, Period};
use super::style::{self, Style};
use crate::dimension::Dimension;
use crate::ledger::query::{Filter, Source, SpendQuery, Sums};
use crate::ledger::{Ledger, LedgerError};

/// What to report.
#[derive(Debug, Clone)]
pub struct SpendRequest {
    pub period: Period,
    pub group_by: Vec<Dimension>,
    /// Per-model sub-rows under each row.
    pub breakdown: bool,
    pub filters: Vec<Filter>,
    pub source: Source,
}

impl SpendRequest {
    /// The grouping when none is asked for: by model for a single day, by day otherwise.
    pub fn default_group_by(period: &Period) -> Vec<Dimension> {
        if period.is_single_day() {
            vec![Dimension::Model]
        } else {
            vec![Dimension::Day]
        }
    }

    fn tz(&self) -> &TimeZone {
        self.period.until.time_zone()
    }
}

/// What the ledger held, for the message an empty report prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerState {
    /// No ledger file yet.
    Missing,
    /// A ledger without a single request.
    Empty,
    /// Requests exist (maybe none in the period).
    HasRequests,
}

/// One row: its key (one value per grouping; `None` = not recorded) and counters.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendRow {
    pub key: Vec<Option<String>>,
    pub counters: Counters,
    /// Per-model sub-rows (with `--breakdown`), most expensive first; key = `[model]`.
    pub breakdown: Vec<SpendRow>,
}

/// A finished spend report.
#[derive(Debug, Clone)]
pub struct SpendReport {
    pub period: Period,
    pub group_by: Vec<Dimension>,
    pub breakdown: bool,
    pub filters: Vec<Filter>,
    pub rows: Vec<SpendRow>,
    pub totals: Counters,
    /// Models with unpriced requests in the period, and how many.
    pub unpriced_models: Vec<(Option<String>, i64)>,
    pub ledger: LedgerState,
}

impl SpendReport {
    /// Runs the report against `ledger` (`None`: there is no ledger yet).
    pub fn build(
        ledger: Option<&Ledger>,
        request: &SpendRequest,
    ) -> Result<SpendReport, LedgerError> {
        let mut report = SpendReport {
            period: request.period.clone(),
            group_by: request.group_by.clone(),
            breakdown: request.breakdown && !request.group_by.contains(&Dimension::Model),
            filters: request.filters.clone(),
            rows: Vec::new(),
            totals: Counters::default(),
            unpriced_models: Vec::new(),
            ledger: LedgerState::Missing,
        };
        let Some(ledger) = ledger else {
            return Ok(report);
        };

        let tz = request.tz();
        let by_time = request.group_by.iter().any(|d| d.is_time());
        let mut columns: Vec<Dimension> = request
            .group_by
            .iter()
            .copied()
            .filter(|d| !d.is_time())
            .collect();
        // The model is always asked for: it feeds `--breakdown` and the unpriced footnote.
        let model_at = match columns.iter().position(|c| *c == Dimension::Model) {
            Some(i) => i,
            None => {
                columns.push(Dimension::Model);
                columns.len() - 1
            }
        };
        let split_at = match (by_time, &request.period.since) {
            (false, _) => Vec::new(),
            (true, Some(since)) => request.period.day_starts(since.timestamp()),
            (true, None) => match ledger.first_request_at()? {
                Some(first) => request.period.day_starts(timestamp(first)),
                None => Vec::new(),
            },
        };
        let query = SpendQuery {
            since_us: request.period.since_us(),
            until_us: Some(request.period.until_us()),
            group_by: columns,
            by_time,
            split_at,
            filters: request.filters.clone(),
            source: request.source,
        };
        let groups = ledger.spend(&query)?;

        // Merge the groups (several buckets make one day) into rows keyed like `group_by`.
        type Entry = (Counters, HashMap<Option<String>, Counters>);
        let mut merged: HashMap<Vec<Option<String>>, Entry> = HashMap::new();
        let mut unpriced: HashMap<Option<String>, i64> = HashMap::new();
        let mut time_keys: HashMap<(i64, Dimension), String> = HashMap::new();
        for group in groups {
            let model = group.values[model_at].clone();
            let mut attrs = group.values.into_iter();
            let mut key = Vec::with_capacity(request.group_by.len());
            for &d in &request.group_by {
                if d.is_time() {
                    let at = group.at_us.unwrap_or_default();
                    let text = time_keys
                        .entry((at, d))
                        .or_insert_with(|| d.time_key(timestamp(at), tz).unwrap_or_default());
                    key.push(Some(text.clone()));
                } else {
                    key.push(attrs.next().flatten());
                }
            }
            let counters = Counters(group.sums);
            if group.sums.unpriced_requests > 0 {
                *unpriced.entry(model.clone()).or_default() += group.sums.unpriced_requests;
            }
            let entry = merged.entry(key).or_default();
            entry.0.add(&counters);
            if report.breakdown {
                entry.1.entry(model).or_default().add(&counters);
            }
            report.totals.add(&counters);
        }
        report.rows = merged
            .into_iter()
            .map(|(key, (counters, models))| {
                let mut breakdown: Vec<SpendRow> = models
                    .into_iter()
                    .map(|(model, counters)| SpendRow {
                        key: vec![model],
                        counters,
                        breakdown: Vec::new(),
                    })
                    .collect();
                breakdown.sort_by(|a, b| {
                    by_cost(&a.counters, &b.counters).then_with(|| cmp_key(&a.key[0], &b.key[0]))
                });
                SpendRow {
                    key,
                    counters,
                    breakdown,
                }
            })
            .collect();
        sort_rows(&mut report.rows, &request.group_by);
        report.unpriced_models = unpriced.into_iter().collect();
        report
            .unpriced_models
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| cmp_key(&a.0, &b.0)));
        report.ledger = if report.rows.is_empty() && !ledger.has_requests()? {
            LedgerState::Empty
        } else {
            LedgerState::HasRequests
        };
        Ok(report)
    }

    /// The JSON document (`gw spend --json`), pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// CSV with a header line: the grouping columns, then every counter. With `--breakdown`
    /// the rows are the per-model rows (a `model` column is added). No totals line.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut header: Vec<&str> = self.group_by.iter().map(|d| d.name()).collect();
        if self.breakdown {
            header.push("model");
        }
        header.extend(Counters::default().fields().iter().map(|(name, _)| *name));
        out.push_str(&header.join(","));
        out.push('\n');
        let mut line = |key: Vec<&Option<String>>, counters: &Counters| {
            let mut fields: Vec<String> = key
                .iter()
                .map(|v| csv_field(v.as_deref().unwrap_or("")))
                .collect();
            fields.extend(counters.fields().iter().map(|(_, v)| v.exact_text()));
            out.push_str(&fields.join(","));
            out.push('\n');
        };
        for row in &self.rows {
            if self.breakdown {
                for sub in &row.breakdown {
                    line(
                        row.key.iter().chain(sub.key.iter()).collect(),
                        &sub.counters,
                    );
                }
            } else {
                line(row.key.iter().collect(), &row.counters);
            }
        }
        out
    }

    /// The table for a terminal or a pipe, with its title and footnotes. Falls back to a compact
    /// layout when the full one is wider than `style.width`.
    pub fn render(&self, style: &Style) -> String {
        let tz = zone_name(self.period.until.time_zone());
        let mut title = format!("Spend {} ({tz})", self.period.describe());
        for f in &self.filters {
            title.push_str(&format!(" · {} {}", f.column.name(), f.values.join(",")));
        }
        let mut out = style.bold_text(&title);
        out.push('\n');
        if self.rows.is_empty() {
            out.push_str(&match self.ledger {
                LedgerState::Missing | LedgerState::Empty => {
                    "No requests recorded yet. Run an agent through gw (`gw run claude`, or `gw proxy`) and its requests show up here.\n".to_string()
                }
                LedgerState::HasRequests if !self.filters.is_empty() => {
                    "No requests in this period match the filters.\n".to_string()
                }
                LedgerState::HasRequests => "No requests in this period.\n".to_string(),
            });
            return out;
        }
        let mut table = self.table(style, false);
        if !style.fits(&table) {
            table = self.table(style, true);
        }
        out.push_str(&table);
        if self.totals.0.unpriced_requests > 0 {
            let models: Vec<String> = self
                .unpriced_models
                .iter()
                .map(|(m, n)| {
                    format!(
                        "{} ({})",
                        m.as_deref().unwrap_or("unknown model"),
                        style::thousands(*n)
                    )
                })
                .collect();
            out.push_str(&style.wrap(
                &format!(
                    "* {} of {} requests have no price, so their cost is left out: {}. Add their prices under [prices] in gw's config file (`gw config` shows where).",
                    style::thousands(self.totals.0.unpriced_requests),
                    style::thousands(self.totals.0.requests),
                    models.join(", ")
                ),
                2,
            ));
        }
        out
    }

    fn table(&self, style: &Style, compact: bool) -> String {
        let mut headers: Vec<&str> = self.group_by.iter().map(|d| d.title()).collect();
        let keys = headers.len();
        if compact {
            headers.extend(["Requests", "Tokens", "Cost"]);
        } else {
            headers.extend([
                "Requests",
                "Input",
                "Output",
                "Cache write",
                "Cache read",
                "Total tokens",
                "Cost",
            ]);
        }
        let mut table = style.table(&headers, keys);
        let numbers = |c: &Counters| -> Vec<String> {
            let s = &c.0;
            if compact {
                vec![
                    style::thousands(s.requests),
                    style::short_count(c.total_tokens()),
                ]
            } else {
                vec![
                    style::thousands(s.requests),
                    style::thousands(s.input_tokens),
                    style::thousands(s.output_tokens),
                    style::thousands(s.cache_write_tokens),
                    style::thousands(s.cache_read_tokens),
                    style::thousands(c.total_tokens()),
                ]
            }
        };
        let cost = |c: &Counters| -> (String, bool) {
            if c.all_unpriced() {
                ("unpriced*".to_string(), true)
            } else if c.0.unpriced_requests > 0 {
                (format!("{}*", style::usd(c.0.cost_nanos)), true)
            } else {
                (style::usd(c.0.cost_nanos), false)
            }
        };
        for row in &self.rows {
            let mut cells: Vec<comfy_table::Cell> = Vec::new();
            for (d, v) in self.group_by.iter().zip(&row.key) {
                cells.push(comfy_table::Cell::new(key_text(*d, v)));
            }
            cells.extend(
                numbers(&row.counters)
                    .into_iter()
                    .map(comfy_table::Cell::new),
            );
            let (text, marked) = cost(&row.counters);
            cells.push(if marked {
                style.warn(text)
            } else {
                comfy_table::Cell::new(text)
            });
            table.add_row(cells);
            for sub in &row.breakdown {
                let mut cells =
                    vec![style.dim(format!("└ {}", key_text(Dimension::Model, &sub.key[0])))];
                cells.extend((1..keys).map(|_| comfy_table::Cell::new("")));
                cells.extend(numbers(&sub.counters).into_iter().map(|t| style.dim(t)));
                let (text, marked) = cost(&sub.counters);
                cells.push(if marked {
                    style.warn(text)
                } else {
                    style.dim(text)
                });
                table.add_row(cells);
            }
        }
        let mut cells = vec![style.strong("Total")];
        cells.extend((1..keys).map(|_| comfy_table::Cell::new("")));
        cells.extend(numbers(&self.totals).into_iter().map(|t| style.strong(t)));
        let (text, marked) = cost(&self.totals);
        cells.push(if marked {
            style.warn(text)
        } else {
            style.strong(text)
        });
        table.add_row(cells);
        style.render(&table)
    }
}

/// How a key value reads in a table.
fn key_text(d: Dimension, v: &Option<String>) -> String {
    match (d, v) {
        (_, Some(v)) => v.clone(),
        (Dimension::Model, None) => "(unknown)".to_string(),
        (_, None) => "(none)".to_string(),
    }
}

fn timestamp(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Most expensive first; then most requests.
fn by_cost(a: &Counters, b: &Counters) -> Ordering {
    b.0.cost_nanos
        .cmp(&a.0.cost_nanos)
        .then_with(|| b.0.requests.cmp(&a.0.requests))
}

/// Values ascending, unrecorded ones last.
fn cmp_key(a: &Option<String>, b: &Option<String>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Sorts level by level: calendar keys in time order, other keys by the cost of their group
/// (most expensive first), so `--by model,day` keeps each model's days together.
fn sort_rows(rows: &mut [SpendRow], group_by: &[Dimension]) {
    let mut level_totals: Vec<HashMap<Vec<Option<String>>, Sums>> =
        vec![HashMap::new(); group_by.len()];
    for row in rows.iter() {
        for (level, totals) in level_totals.iter_mut().enumerate() {
            totals
                .entry(row.key[..=level].to_vec())
                .or_default()
                .add(&row.counters.0);
        }
    }
    rows.sort_by(|a, b| {
        for (level, d) in group_by.iter().enumerate() {
            let order = if d.is_time() {
                cmp_key(&a.key[level], &b.key[level])
            } else {
                let ta = Counters(level_totals[level][&a.key[..=level]]);
                let tb = Counters(level_totals[level][&b.key[..=level]]);
                by_cost(&ta, &tb).then_with(|| cmp_key(&a.key[level], &b.key[level]))
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    });
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

struct JsonRow<'a> {
    names: &'a [&'static str],
    row: &'a SpendRow,
}

impl Serialize for JsonRow<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(
            "key",
            &JsonKey {
                names: self.names,
                values: &self.row.key,
            },
        )?;
        self.row.counters.serialize_into(&mut map)?;
        if !self.row.breakdown.is_empty() {
            let sub: Vec<JsonRow<'_>> = self
                .row
                .breakdown
                .iter()
                .map(|row| JsonRow {
                    names: &["model"],
                    row,
                })
                .collect();
            map.serialize_entry("breakdown", &sub)?;
        }
        map.end()
    }
}

struct JsonKey<'a> {
    names: &'a [&'static str],
    values: &'a [Option<String>],
}

impl Serialize for JsonKey<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.names.len()))?;
        for (name, value) in self.names.iter().zip(self.values) {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl Serialize for SpendReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let names: Vec<&'static str> = self.group_by.iter().map(|d| d.name()).collect();
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("since", &self.period.since.as_ref().map(rfc3339))?;
        map.serialize_entry("until", &rfc3339(&self.period.until))?;
        map.serialize_entry("tz", &zone_name(self.period.until.time_zone()))?;
        map.serialize_entry("group_by", &names)?;
        map.serialize_entry(
            "rows",
            &JsonRows {
                names: &names,
                rows: &self.rows,
            },
        )?;
        map.serialize_entry("totals", &self.totals)?;
        map.end()
    }
}

struct JsonRows<'a> {
    names: &'a [&'static str],
    rows: &'a [SpendRow],
}

impl Serialize for JsonRows<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.rows.len()))?;
        for row in self.rows {
            seq.serialize_element(&JsonRow {
                names: self.names,
                row,
            })?;
        }
        seq.end()
    }
}
