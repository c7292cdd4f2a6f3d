//! Money and budget periods: integer nano-dollars inside, USD decimals only at the API edge;
//! periods calendar-aligned in the org's time zone.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::calendar::Unit;

pub const NANOS_PER_USD: i64 = 1_000_000_000;

/// A budget period. Every period but `total` starts at a calendar boundary in the org's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    Hour,
    Day,
    /// ISO week, Monday to Sunday.
    Week,
    Month,
    Total,
}

impl BudgetPeriod {
    pub const NAMES: &'static str = "hour|day|week|month|total";

    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Hour => "hour",
            BudgetPeriod::Day => "day",
            BudgetPeriod::Week => "week",
            BudgetPeriod::Month => "month",
            BudgetPeriod::Total => "total",
        }
    }

    pub fn parse(s: &str) -> Option<BudgetPeriod> {
        Some(match s {
            "hour" => BudgetPeriod::Hour,
            "day" => BudgetPeriod::Day,
            "week" => BudgetPeriod::Week,
            "month" => BudgetPeriod::Month,
            "total" => BudgetPeriod::Total,
            _ => return None,
        })
    }

    /// The calendar unit it aligns to; `None` for `total`.
    pub fn unit(self) -> Option<Unit> {
        Some(match self {
            BudgetPeriod::Hour => Unit::Hour,
            BudgetPeriod::Day => Unit::Day,
            BudgetPeriod::Week => Unit::Week,
            BudgetPeriod::Month => Unit::Month,
            BudgetPeriod::Total => return None,
        })
    }

    /// The current period `[start, end)` in Unix microseconds; `total` has no end.
    pub fn bounds(self, now: Timestamp, tz: &TimeZone) -> (i64, Option<i64>) {
        match self.unit().map(|unit| unit.around(now, tz)) {
            Some(Ok((start, end))) => (
                start.timestamp().as_microsecond(),
                Some(end.timestamp().as_microsecond()),
            ),
            // `total`; or at the ends of jiff's range: treat as one unbounded period.
            None | Some(Err(_)) => (i64::MIN, None),
        }
    }
}

/// Parses a USD amount given as decimal text (`10`, `0.25`, `1e-3` is refused) into exact
/// nano-dollars. Negative amounts and more than nine decimals are errors.
pub fn parse_usd(text: &str) -> Result<i64, String> {
    let t = text.trim().trim_start_matches('$');
    let bad = || format!("invalid USD amount `{text}`: use a non-negative decimal like 10 or 2.50");
    if t.starts_with('-') {
        return Err(format!(
            "invalid USD amount `{text}`: amounts cannot be negative"
        ));
    }
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    if frac.len() > 9 {
        return Err(format!(
            "invalid USD amount `{text}`: at most nine decimals (nano-dollars)"
        ));
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let frac_nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().map_err(|_| bad())?
    };
    whole
        .checked_mul(NANOS_PER_USD)
        .and_then(|n| n.checked_add(frac_nanos))
        .ok_or_else(|| format!("invalid USD amount `{text}`: too large"))
}

/// A USD amount in JSON: a number, or a string for exactness (`"10.50"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UsdAmount {
    Number(serde_json::Number),
    Text(String),
}

impl UsdAmount {
    pub fn to_nanos(&self) -> Result<i64, String> {
        match self {
            UsdAmount::Number(n) => parse_usd(&n.to_string()),
            UsdAmount::Text(t) => parse_usd(t),
        }
    }
}

/// Nano-dollars as a JSON number of USD.
pub fn usd(nanos: i64) -> f64 {
    nanos as f64 / NANOS_PER_USD as f64
}

/// An instant (Unix microseconds) as RFC 3339 in UTC.
pub fn rfc3339_us(us: i64) -> String {
    Timestamp::from_microsecond(us)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Parses an IANA zone name (`UTC` included), refusing anything else so periods stay exact.
pub fn parse_zone(name: &str) -> Result<TimeZone, String> {
    if name.eq_ignore_ascii_case("utc") {
        return Ok(TimeZone::UTC);
    }
    TimeZone::get(name).map_err(|_| {
        format!("unknown time zone `{name}`: use an IANA name like Europe/Berlin or America/New_York, or UTC")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(p: BudgetPeriod, now: &str, tz: &str) -> (String, String) {
        let (s, e) = p.bounds(now.parse().unwrap(), &parse_zone(tz).unwrap());
        (rfc3339_us(s), rfc3339_us(e.unwrap()))
    }

    #[test]
    fn usd_parses_exactly() {
        assert_eq!(parse_usd("10"), Ok(10 * NANOS_PER_USD));
        assert_eq!(parse_usd("0.01"), Ok(10_000_000));
        assert_eq!(parse_usd(".5"), Ok(500_000_000));
        assert_eq!(parse_usd("$2.000000001"), Ok(2_000_000_001));
        for bad in [
            "-1",
            "",
            ".",
            "1.2.3",
            "abc",
            "1e3",
            "0.0000000001",
            "99999999999999999",
        ] {
            assert!(parse_usd(bad).is_err(), "{bad}");
        }
        let n: UsdAmount = serde_json::from_str("0.1").unwrap();
        assert_eq!(n.to_nanos(), Ok(100_000_000));
    }

    #[test]
    fn periods_align_to_the_org_zone() {
        let now = "2025-03-09T18:30:00Z"; // a Sunday; New York changed to summer time that day
        assert_eq!(
            bounds(BudgetPeriod::Day, now, "America/New_York"),
            ("2025-03-09T05:00:00Z".into(), "2025-03-10T04:00:00Z".into())
        );
        assert_eq!(
            bounds(BudgetPeriod::Hour, now, "Asia/Kathmandu"),
            ("2025-03-09T18:15:00Z".into(), "2025-03-09T19:15:00Z".into())
        );
        assert_eq!(
            bounds(BudgetPeriod::Week, now, "UTC"),
            ("2025-03-03T00:00:00Z".into(), "2025-03-10T00:00:00Z".into())
        );
        assert_eq!(
            bounds(BudgetPeriod::Month, now, "Europe/Berlin"),
            ("2025-02-28T23:00:00Z".into(), "2025-03-31T22:00:00Z".into())
        );
        assert_eq!(
            BudgetPeriod::Total.bounds(now.parse().unwrap(), &TimeZone::UTC),
            (i64::MIN, None)
        );
    }
}
