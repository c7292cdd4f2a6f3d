use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn tz(name: &str) -> TimeZone {
    name.parse::<Zone>().unwrap().0
}

fn range(spec: PeriodSpec, now: &str, zone: &str) -> (String, String) {
    let p = Period::resolve(spec, ts(now), &tz(zone)).unwrap();
    (
        p.since.as_ref().map(rfc3339).unwrap_or_default(),
        rfc3339(&p.until),
    )
}

#[test]
fn parses_every_documented_form() {
    let d = |s: &str| s.parse::<DateSpec>().unwrap();
    assert_eq!(
        d("2025-03-09"),
        DateSpec::Date(jiff::civil::date(2025, 3, 9))
    );
    assert_eq!(d("20250309"), DateSpec::Date(jiff::civil::date(2025, 3, 9)));
    assert_eq!(d("7d"), DateSpec::DaysAgo(7));
    assert_eq!(d("2w"), DateSpec::WeeksAgo(2));
    assert_eq!(d("12h"), DateSpec::HoursAgo(12));
    assert_eq!(d("Today"), DateSpec::Today);
    assert_eq!(d("yesterday"), DateSpec::Yesterday);
    assert_eq!(
        d("2025-03-09T14:00"),
        DateSpec::Local(jiff::civil::date(2025, 3, 9).at(14, 0, 0, 0))
    );
    assert_eq!(
        d("2025-03-09 14:00:30"),
        DateSpec::Local(jiff::civil::date(2025, 3, 9).at(14, 0, 30, 0))
    );
    assert_eq!(
        d("2025-03-09T14:00:00Z"),
        DateSpec::Instant(ts("2025-03-09T14:00:00Z"))
    );
    assert_eq!(
        d("2025-03-09T14:00:00+01:00"),
        DateSpec::Instant(ts("2025-03-09T13:00:00Z"))
    );
    for bad in [
        "",
        "last week",
        "2025-13-01",
        "7",
        "d",
        "-3d",
        "2025/03/09",
        "99999999999d",
    ] {
        let err = bad.parse::<DateSpec>().unwrap_err();
        assert!(
            err.contains("YYYY") || err.contains("2025-03-09"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn today_in_new_york_on_spring_forward_day_has_23_hours() {
    let (since, until) = range(
        PeriodSpec::Today,
        "2025-03-09T18:00:00Z",
        "America/New_York",
    );
    assert_eq!(since, "2025-03-09T00:00:00-05:00");
    assert_eq!(until, "2025-03-10T00:00:00-04:00");
    let p = Period::resolve(
        PeriodSpec::Today,
        ts("2025-03-09T18:00:00Z"),
        &tz("America/New_York"),
    )
    .unwrap();
    assert_eq!(p.until_us() - p.since_us().unwrap(), 23 * 3600 * 1_000_000);
    assert!(p.is_single_day());
}

#[test]
fn today_depends_on_the_zone() {
    // 02:00 UTC on the 10th is still the 9th in New York.
    assert_eq!(
        range(
            PeriodSpec::Today,
            "2025-03-10T02:00:00Z",
            "America/New_York"
        )
        .0,
        "2025-03-09T00:00:00-05:00"
    );
    assert_eq!(
        range(PeriodSpec::Today, "2025-03-10T02:00:00Z", "UTC").0,
        "2025-03-10T00:00:00+00:00"
    );
    assert_eq!(
        range(PeriodSpec::Today, "2025-03-10T02:00:00Z", "Asia/Kathmandu").0,
        "2025-03-10T00:00:00+05:45"
    );
}

#[test]
fn yesterday_week_and_month() {
    let now = "2025-03-09T18:00:00Z"; // a Sunday
    assert_eq!(
        range(PeriodSpec::Yesterday, now, "Europe/Berlin"),
        (
            "2025-03-08T00:00:00+01:00".into(),
            "2025-03-09T00:00:00+01:00".into()
        )
    );
    assert_eq!(
        range(PeriodSpec::Week, now, "Europe/Berlin"),
        (
            "2025-03-03T00:00:00+01:00".into(),
            "2025-03-10T00:00:00+01:00".into()
        )
    );
    // March in Berlin spans the change to summer time.
    assert_eq!(
        range(PeriodSpec::Month, now, "Europe/Berlin"),
        (
            "2025-03-01T00:00:00+01:00".into(),
            "2025-04-01T00:00:00+02:00".into()
        )
    );
}

#[test]
fn since_until_dates_are_inclusive_days() {
    let spec = PeriodSpec::Range {
        since: Some("2025-03-01".parse().unwrap()),
        until: Some("2025-03-31".parse().unwrap()),
    };
    let (since, until) = range(spec, "2025-06-01T00:00:00Z", "America/New_York");
    assert_eq!(since, "2025-03-01T00:00:00-05:00");
    assert_eq!(until, "2025-04-01T00:00:00-04:00");
}

#[test]
fn relative_forms() {
    let now = "2025-03-12T15:30:00Z";
    let spec = |s: &str| PeriodSpec::Range {
        since: Some(s.parse().unwrap()),
        until: None,
    };
    assert_eq!(
        range(spec("7d"), now, "UTC"),
        (
            "2025-03-05T00:00:00+00:00".into(),
            "2025-03-13T00:00:00+00:00".into()
        )
    );
    assert_eq!(range(spec("1w"), now, "UTC").0, "2025-03-05T00:00:00+00:00");
    assert_eq!(range(spec("0d"), now, "UTC").0, "2025-03-12T00:00:00+00:00");
    assert_eq!(range(spec("3h"), now, "UTC").0, "2025-03-12T12:30:00+00:00");
    let until_yesterday = PeriodSpec::Range {
        since: Some("3d".parse().unwrap()),
        until: Some("1d".parse().unwrap()),
    };
    assert_eq!(
        range(until_yesterday, now, "UTC").1,
        "2025-03-12T00:00:00+00:00"
    );
}

#[test]
fn an_empty_range_is_an_error() {
    let spec = PeriodSpec::Range {
        since: Some("2025-03-05".parse().unwrap()),
        until: Some("2025-03-01".parse().unwrap()),
    };
    let err = Period::resolve(spec, ts("2025-06-01T00:00:00Z"), &TimeZone::UTC).unwrap_err();
    assert!(err.to_string().contains("not before"), "{err}");
}

#[test]
fn until_alone_is_open_at_the_start() {
    let spec = PeriodSpec::Range {
        since: None,
        until: Some("2025-03-05".parse().unwrap()),
    };
    let p = Period::resolve(spec, ts("2025-06-01T00:00:00Z"), &TimeZone::UTC).unwrap();
    assert_eq!(p.since, None);
    assert_eq!(p.describe(), "until 2025-03-05");
}

#[test]
fn day_starts_follow_dst() {
    let p = Period::resolve(
        PeriodSpec::Range {
            since: Some("2025-03-08".parse().unwrap()),
            until: Some("2025-03-10".parse().unwrap()),
        },
        ts("2025-06-01T00:00:00Z"),
        &tz("America/New_York"),
    )
    .unwrap();
    let starts: Vec<String> = p
        .day_starts(p.since.as_ref().unwrap().timestamp())
        .into_iter()
        .map(|us| Timestamp::from_microsecond(us).unwrap().to_string())
        .collect();
    assert_eq!(starts, ["2025-03-09T05:00:00Z", "2025-03-10T04:00:00Z"]);
    assert_eq!(p.describe(), "2025-03-08 – 2025-03-10");
}

#[test]
fn zones_parse_and_print() {
    assert_eq!(tz("America/New_York").iana_name(), Some("America/New_York"));
    assert_eq!(zone_name(&tz("utc")), "UTC");
    assert_eq!(zone_name(&tz("+05:30")), "+05:30");
    assert_eq!(zone_name(&tz("-08")), "-08:00");
    assert_eq!(zone_name(&tz("+0545")), "+05:45");
    let err = "Mars/Olympus".parse::<Zone>().unwrap_err();
    assert!(
        err.contains("Mars/Olympus") && err.contains("IANA"),
        "{err}"
    );
    assert!("+99:00".parse::<Zone>().is_err());
}
