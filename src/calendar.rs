//! Calendar arithmetic in a time zone, in one place for every period gw aligns to: the hour, day,
//! ISO week (Monday to Sunday) and month containing an instant, and where the next one starts.
//! Reports (`gw spend --week`, the server's `period=week`), local budgets and the server's
//! budgets all ask here. DST-aware: a day is not always 24 hours, and it starts at its first
//! instant, which is later than midnight where a DST change skips midnight.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{RoundMode, Span, Timestamp, ToSpan, Zoned, ZonedRound};

/// The finest bucket spend is summed in, in the local ledger and on the server: 15 minutes.
/// Every zone in use today starts its hours and days on a quarter hour, so sums per UTC quarter
/// hour add up exactly to local hours, days, weeks and months.
pub const QUARTER_HOUR_US: i64 = 900_000_000;

/// A calendar unit that periods align to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Hour,
    Day,
    /// The ISO week, Monday to Sunday.
    Week,
    Month,
}

/// A date beyond what jiff represents (the years -9999 to 9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfRange;

impl Unit {
    /// The unit containing `now` in `tz`: `[start, end)`.
    pub fn around(self, now: Timestamp, tz: &TimeZone) -> Result<(Zoned, Zoned), OutOfRange> {
        let now = now.to_zoned(tz.clone());
        Ok((self.start(&now)?, self.next(&now)?))
    }

    /// The first instant of the unit containing `at`, in `at`'s zone.
    pub fn start(self, at: &Zoned) -> Result<Zoned, OutOfRange> {
        self.nth(at, 0)
    }

    /// Where the unit containing `at` ends: the first instant of the next one.
    pub fn next(self, at: &Zoned) -> Result<Zoned, OutOfRange> {
        self.nth(at, 1)
    }

    /// The first instant of the unit before the one containing `at`.
    pub fn previous(self, at: &Zoned) -> Result<Zoned, OutOfRange> {
        self.nth(at, -1)
    }

    /// The first instant of the `n`th unit after the one containing `at` (before it if `n < 0`).
    fn nth(self, at: &Zoned, n: i64) -> Result<Zoned, OutOfRange> {
        let tz = at.time_zone();
        let date = at.date();
        let shift = |d: Date, span: Span| d.checked_add(span).map_err(|_| OutOfRange);
        match self {
            // Hours are exact (an hour is always 60 minutes), so the next one is 60 minutes on;
            // they start where the zone's clock shows a whole hour (18:15 UTC in Kathmandu).
            Unit::Hour => at
                .round(
                    ZonedRound::new()
                        .smallest(jiff::Unit::Hour)
                        .mode(RoundMode::Trunc),
                )
                .and_then(|start| start.checked_add(n.hours()))
                .map_err(|_| OutOfRange),
            Unit::Day => day_start(shift(date, n.days())?, tz),
            Unit::Week => day_start(shift(week_start(date), (7 * n).days())?, tz),
            Unit::Month => day_start(shift(date.first_of_month(), n.months())?, tz),
        }
    }
}

/// The first instant of a local day (midnight, or later when a DST change skips midnight).
pub fn day_start(date: Date, tz: &TimeZone) -> Result<Zoned, OutOfRange> {
    date.to_zoned(tz.clone())
        .and_then(|z| z.start_of_day())
        .map_err(|_| OutOfRange)
}

/// The Monday that starts the ISO week of `date`.
pub fn week_start(date: Date) -> Date {
    let back = i64::from(date.weekday().to_monday_zero_offset());
    date.checked_sub(back.days()).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn around(unit: Unit, now: &str, tz: &str) -> (String, String) {
        let (start, end) = unit
            .around(now.parse().unwrap(), &TimeZone::get(tz).unwrap())
            .unwrap();
        (start.timestamp().to_string(), end.timestamp().to_string())
    }

    #[test]
    fn units_follow_the_zone_and_dst() {
        let now = "2025-03-09T18:30:00Z"; // a Sunday; New York changed to summer time that day
        assert_eq!(
            around(Unit::Day, now, "America/New_York"),
            ("2025-03-09T05:00:00Z".into(), "2025-03-10T04:00:00Z".into())
        );
        assert_eq!(
            around(Unit::Hour, now, "Asia/Kathmandu"),
            ("2025-03-09T18:15:00Z".into(), "2025-03-09T19:15:00Z".into())
        );
        assert_eq!(
            around(Unit::Week, now, "UTC"),
            ("2025-03-03T00:00:00Z".into(), "2025-03-10T00:00:00Z".into())
        );
        assert_eq!(
            around(Unit::Month, now, "Europe/Berlin"),
            ("2025-02-28T23:00:00Z".into(), "2025-03-31T22:00:00Z".into())
        );
    }

    #[test]
    fn a_day_can_start_after_midnight() {
        // Santiago skipped from 24:00 to 01:00 on 2024-09-08.
        let tz = TimeZone::get("America/Santiago").unwrap();
        let start = day_start(jiff::civil::date(2024, 9, 8), &tz).unwrap();
        assert_eq!(start.time(), jiff::civil::time(1, 0, 0, 0));
        let previous = Unit::Day.previous(&start).unwrap();
        assert_eq!(previous.date(), jiff::civil::date(2024, 9, 7));
    }

    #[test]
    fn weeks_start_on_monday() {
        let d = |day| jiff::civil::date(2025, 3, day);
        assert_eq!(week_start(d(30)), d(24));
        assert_eq!(week_start(d(31)), d(31));
    }
}
