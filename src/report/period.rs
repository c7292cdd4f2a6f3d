//! The period a report covers: `--today`, `--week`, `--since 7d --until 2025-03-31`, … resolved to
//! exact instants in the report's time zone, by the calendar arithmetic of [`crate::calendar`].

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, ToSpan, Zoned};

use crate::calendar::{self, Unit};

/// What `--since` / `--until` accept, for error messages and `--help`.
pub const DATE_FORMS: &str = "a date (2025-03-09 or 20250309), a local time (2025-03-09T14:00), \
an RFC 3339 time (2025-03-09T14:00:00Z or with an offset), today, yesterday, \
or a relative form: 7d (the day 7 days ago), 2w (the day 2 weeks ago), 12h (12 hours ago)";

/// A value of `--since` or `--until`, as typed; resolved against "now" and a time zone later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSpec {
    Today,
    Yesterday,
    Date(Date),
    /// `7d`: the calendar day 7 days before today.
    DaysAgo(i64),
    /// `2w`: the calendar day 14 days before today.
    WeeksAgo(i64),
    /// `12h`: exactly 12 hours before now.
    HoursAgo(i64),
    /// A wall-clock time in the report's zone.
    Local(DateTime),
    /// An exact instant (it had an offset or `Z`).
    Instant(Timestamp),
}

impl FromStr for DateSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<DateSpec, String> {
        let s = text.trim();
        let invalid = || format!("invalid date `{text}`: use {DATE_FORMS}");
        match s.to_ascii_lowercase().as_str() {
            "today" => return Ok(DateSpec::Today),
            "yesterday" => return Ok(DateSpec::Yesterday),
            _ => {}
        }
        if let Some(unit) = s
            .chars()
            .last()
            .filter(|c| matches!(c, 'd' | 'w' | 'h' | 'D' | 'W' | 'H'))
        {
            let digits = &s[..s.len() - 1];
            if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                let n: i64 = digits.parse().map_err(|_| invalid())?;
                // Beyond jiff's range anyway; keeps the arithmetic below from overflowing.
                if n > 1_000_000 {
                    return Err(invalid());
                }
                return Ok(match unit.to_ascii_lowercase() {
                    'd' => DateSpec::DaysAgo(n),
                    'w' => DateSpec::WeeksAgo(n),
                    _ => DateSpec::HoursAgo(n),
                });
            }
        }
        if s.len() == 8 && s.chars().all(|c| c.is_ascii_digit()) {
            let spaced = format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..]);
            return spaced
                .parse::<Date>()
                .map(DateSpec::Date)
                .map_err(|_| invalid());
        }
        if let Ok(date) = s.parse::<Date>() {
            if s.len() == 10 {
                return Ok(DateSpec::Date(date));
            }
        }
        if let Ok(ts) = s.parse::<Timestamp>() {
            return Ok(DateSpec::Instant(ts));
        }
        let local = s.replacen(' ', "T", 1);
        if let Ok(dt) = local.parse::<DateTime>() {
            return Ok(DateSpec::Local(dt));
        }
        Err(invalid())
    }
}

impl DateSpec {
    /// The calendar day it names, if it names one.
    fn date(self, today: Date) -> Option<Date> {
        match self {
            DateSpec::Today => Some(today),
            DateSpec::Yesterday => today.checked_sub(1.day()).ok(),
            DateSpec::Date(d) => Some(d),
            DateSpec::DaysAgo(n) => today.checked_sub(n.days()).ok(),
            DateSpec::WeeksAgo(n) => today.checked_sub((n * 7).days()).ok(),
            DateSpec::HoursAgo(_) | DateSpec::Local(_) | DateSpec::Instant(_) => None,
        }
    }

    /// As a start: a day starts at its first instant.
    fn start(self, now: &Zoned) -> Result<Zoned, PeriodError> {
        match self.date(now.date()) {
            Some(d) => Ok(calendar::day_start(d, now.time_zone())?),
            None => self.instant(now),
        }
    }

    /// As an end (exclusive): a day is included whole, so it ends where the next one starts.
    fn end(self, now: &Zoned) -> Result<Zoned, PeriodError> {
        match self.date(now.date()) {
            Some(d) => Ok(Unit::Day.next(&calendar::day_start(d, now.time_zone())?)?),
            None => self.instant(now),
        }
    }

    fn instant(self, now: &Zoned) -> Result<Zoned, PeriodError> {
        let tz = now.time_zone().clone();
        Ok(match self {
            DateSpec::HoursAgo(n) => now
                .timestamp()
                .checked_sub(n.hours())
                .map_err(|_| PeriodError::OutOfRange)?
                .to_zoned(tz),
            DateSpec::Local(dt) => dt.to_zoned(tz).map_err(|_| PeriodError::OutOfRange)?,
            DateSpec::Instant(ts) => ts.to_zoned(tz),
            _ => return Err(PeriodError::OutOfRange),
        })
    }
}

/// The period flags of a report, before they are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeriodSpec {
    #[default]
    Today,
    Yesterday,
    /// The current ISO week, Monday to Sunday.
    Week,
    /// The current calendar month.
    Month,
    /// `--since` / `--until`; a missing `since` means from the first request, a missing `until`
    /// the end of today.
    Range {
        since: Option<DateSpec>,
        until: Option<DateSpec>,
    },
}

/// A resolved period: `[since, until)` in a time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    /// `None`: from the first request on.
    pub since: Option<Zoned>,
    pub until: Zoned,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("--since ({since}) is not before --until ({until}); the period would be empty")]
    Empty { since: String, until: String },
    #[error("the date is out of range; use {DATE_FORMS}")]
    OutOfRange,
}

impl From<calendar::OutOfRange> for PeriodError {
    fn from(_: calendar::OutOfRange) -> PeriodError {
        PeriodError::OutOfRange
    }
}

impl Period {
    /// Resolves the flags against `now` in `tz`.
    pub fn resolve(spec: PeriodSpec, now: Timestamp, tz: &TimeZone) -> Result<Period, PeriodError> {
        let now = now.to_zoned(tz.clone());
        let (since, until) = match spec {
            PeriodSpec::Today => (Unit::Day.start(&now)?, Unit::Day.next(&now)?),
            PeriodSpec::Yesterday => (Unit::Day.previous(&now)?, Unit::Day.start(&now)?),
            PeriodSpec::Week => (Unit::Week.start(&now)?, Unit::Week.next(&now)?),
            PeriodSpec::Month => (Unit::Month.start(&now)?, Unit::Month.next(&now)?),
            PeriodSpec::Range {
                since: None,
                until: None,
            } => return Period::resolve(PeriodSpec::Today, now.timestamp(), tz),
            PeriodSpec::Range { since, until } => {
                let until = match until {
                    Some(u) => u.end(&now)?,
                    None => Unit::Day.next(&now)?,
                };
                let Some(since) = since else {
                    return Ok(Period { since: None, until });
                };
                let since = since.start(&now)?;
                if since >= until {
                    return Err(PeriodError::Empty {
                        since: rfc3339(&since),
                        until: rfc3339(&until),
                    });
                }
                (since, until)
            }
        };
        Ok(Period {
            since: Some(since),
            until,
        })
    }

    /// Whether the period is exactly one calendar day.
    pub fn is_single_day(&self) -> bool {
        let Some(since) = &self.since else {
            return false;
        };
        starts_a_day(since) && Unit::Day.next(since).is_ok_and(|t| t == self.until)
    }

    pub fn since_us(&self) -> Option<i64> {
        self.since.as_ref().map(|z| z.timestamp().as_microsecond())
    }

    pub fn until_us(&self) -> i64 {
        self.until.timestamp().as_microsecond()
    }

    /// The first instant of every local day that starts inside `(from, until)`: where day, week
    /// and month keys can change.
    pub fn day_starts(&self, from: Timestamp) -> Vec<i64> {
        let mut out = Vec::new();
        let mut at = from.to_zoned(self.until.time_zone().clone());
        while let Ok(start) = Unit::Day.next(&at) {
            if start.timestamp() >= self.until.timestamp() {
                break;
            }
            out.push(start.timestamp().as_microsecond());
            at = start;
        }
        out
    }

    /// For titles: `2025-03-09`, `2025-03-01 – 2025-03-31`, or exact times when not whole days.
    pub fn describe(&self) -> String {
        let whole = starts_a_day;
        let until_text = if whole(&self.until) {
            let last = self
                .until
                .yesterday()
                .map(|z| z.date())
                .unwrap_or(self.until.date());
            last.to_string()
        } else {
            self.until.strftime("%Y-%m-%d %H:%M").to_string()
        };
        match &self.since {
            None => format!("until {until_text}"),
            Some(_) if self.is_single_day() => until_text,
            Some(s) if whole(s) && whole(&self.until) => format!("{} – {until_text}", s.date()),
            Some(s) => format!("{} – {until_text}", s.strftime("%Y-%m-%d %H:%M")),
        }
    }
}

/// Whether `z` is the first instant of its local day.
fn starts_a_day(z: &Zoned) -> bool {
    Unit::Day.start(z).is_ok_and(|s| s == *z)
}

/// `2025-03-09T00:00:00-05:00`: the JSON form of period ends and request times.
pub fn rfc3339(z: &Zoned) -> String {
    z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A `--tz` value: an IANA name, `UTC`, `local`, or a fixed offset like `+05:30`.
#[derive(Debug, Clone)]
pub struct Zone(pub TimeZone);

impl FromStr for Zone {
    type Err = String;

    fn from_str(s: &str) -> Result<Zone, String> {
        let invalid = || {
            format!("unknown time zone `{s}`: use an IANA name like Europe/Berlin or America/New_York, UTC, local, or an offset like +05:30")
        };
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" {
            return Ok(Zone(TimeZone::UTC));
        }
        if t.eq_ignore_ascii_case("local") || t.eq_ignore_ascii_case("system") {
            return Ok(Zone(TimeZone::system()));
        }
        if let Some(rest) = t
            .strip_prefix('+')
            .map(|r| (1, r))
            .or_else(|| t.strip_prefix('-').map(|r| (-1, r)))
        {
            let (sign, rest) = rest;
            let (h, m) = rest.split_once(':').unwrap_or(if rest.len() == 4 {
                rest.split_at(2)
            } else {
                (rest, "0")
            });
            let (Ok(h), Ok(m)) = (h.parse::<i32>(), m.parse::<i32>()) else {
                return Err(invalid());
            };
            if !(0..=25).contains(&h) || !(0..60).contains(&m) {
                return Err(invalid());
            }
            let offset = Offset::from_seconds(sign * (h * 3600 + m * 60)).map_err(|_| invalid())?;
            return Ok(Zone(TimeZone::fixed(offset)));
        }
        TimeZone::get(t).map(Zone).map_err(|_| invalid())
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&zone_name(&self.0))
    }
}

/// The name reports print for a zone: its IANA name, else its fixed offset, else `local`.
pub fn zone_name(tz: &TimeZone) -> String {
    if let Some(name) = tz.iana_name() {
        return name.to_string();
    }
    match tz.to_fixed_offset() {
        Ok(offset) if offset == Offset::UTC => "UTC".to_string(),
        Ok(offset) => {
            let s = offset.to_string();
            if s.len() == 3 {
                format!("{s}:00")
            } else {
                s
            }
        }
        Err(_) => "local".to_string(),
    }
}

#[cfg(test)]
#[path = "period_tests.rs"]
mod tests;
