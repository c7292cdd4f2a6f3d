//! What spend is grouped by, in `gw spend --by` and in the server's reports (`by=`): one list of
//! keys, each with its name, its table heading, the other spellings `--by` takes, and where its
//! value comes from: a calendar unit of the request's start in the report's zone, or a column of
//! the local ledger and/or of the server's usage rows. A key without a column in one of them is
//! not offered there (`team` is the server's, `billing` the ledger's).
//!
//! To add a key: a variant, its line in [`Dimension::spec`], its place in [`Dimension::ALL`].

use std::fmt;
use std::str::FromStr;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::calendar::week_start;

/// One grouping key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    Day,
    Week,
    Month,
    Agent,
    Model,
    Provider,
    Project,
    Branch,
    Session,
    Task,
    Developer,
    Key,
    Billing,
    Team,
    Source,
}

/// What is known about one key.
struct Spec {
    /// The name in `--by`, in JSON keys, in CSV headers and in the server's `by`.
    name: &'static str,
    /// The column heading in tables.
    title: &'static str,
    /// Other spellings `--by` takes (in any case).
    aliases: &'static [&'static str],
    /// Its column in the ledger's `requests` and rollups; `None`: the ledger does not record it.
    ledger: Option<&'static str>,
    /// Its SQL on the server's `usage u` (joined with `developers d`, `keys k`, `teams t`);
    /// `None`: the server does not record it.
    server: Option<&'static str>,
}

impl Dimension {
    /// Every key, in the order error messages and help list them.
    pub const ALL: [Dimension; 15] = [
        Dimension::Day,
        Dimension::Week,
        Dimension::Month,
        Dimension::Agent,
        Dimension::Model,
        Dimension::Provider,
        Dimension::Project,
        Dimension::Branch,
        Dimension::Session,
        Dimension::Task,
        Dimension::Developer,
        Dimension::Key,
        Dimension::Billing,
        Dimension::Team,
        Dimension::Source,
    ];

    #[rustfmt::skip]
    fn spec(self) -> Spec {
        use Dimension as D;
        let row = |name, title, aliases, ledger, server| Spec { name, title, aliases, ledger, server };
        match self {
            //                  name         title        aliases                      ledger column       server column
            D::Day       => row("day",       "Day",       &["days", "daily"],          None,               None),
            D::Week      => row("week",      "Week of",   &["weeks", "weekly"],        None,               None),
            D::Month     => row("month",     "Month",     &["months", "monthly"],      None,               None),
            D::Agent     => row("agent",     "Agent",     &["agents"],                 Some("agent"),      Some("u.agent")),
            D::Model     => row("model",     "Model",     &["models"],                 Some("model"),      Some("u.model")),
            D::Provider  => row("provider",  "Provider",  &["providers"],              Some("provider"),   Some("u.provider")),
            D::Project   => row("project",   "Project",   &["projects"],               Some("project"),    Some("u.project")),
            D::Branch    => row("branch",    "Branch",    &["branches"],               Some("branch"),     Some("u.branch")),
            D::Session   => row("session",   "Session",   &["sessions", "session_id"], Some("session_id"), Some("u.session_id")),
            D::Task      => row("task",      "Task",      &["tasks"],                  Some("task"),       Some("u.task")),
            D::Developer => row("developer", "Developer", &["developers", "dev"],      Some("developer"),  Some("d.email")),
            D::Key       => row("key",       "Key",       &["keys", "key_id"],         Some("key_id"),     Some("k.key_id")),
            D::Billing   => row("billing",   "Billing",   &[],                         Some("billing"),    None),
            D::Team      => row("team",      "Team",      &[],                         None,               Some("t.name")),
            D::Source    => row("source",    "Source",    &["sources"],                Some("source"),     Some("u.source")),
        }
    }

    /// The name in `--by`, in JSON keys, in CSV headers and in the server's `by`.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The column heading in tables.
    pub fn title(self) -> &'static str {
        self.spec().title
    }

    /// The ledger column behind an attribute; `None` for the calendar keys and the keys the
    /// ledger does not record.
    pub fn ledger_column(self) -> Option<&'static str> {
        self.spec().ledger
    }

    /// The server's SQL for an attribute; `None` for the calendar keys and the keys the server
    /// does not record.
    pub fn server_column(self) -> Option<&'static str> {
        self.spec().server
    }

    /// A calendar key: day, week or month of the request's start.
    pub fn is_time(self) -> bool {
        matches!(self, Dimension::Day | Dimension::Week | Dimension::Month)
    }

    /// Whether `gw spend --by` offers it.
    pub fn in_ledger(self) -> bool {
        self.is_time() || self.ledger_column().is_some()
    }

    /// Whether the server's reports offer it.
    pub fn on_server(self) -> bool {
        self.is_time() || self.server_column().is_some()
    }

    /// The calendar key of an instant: `2025-03-09` (day), the Monday starting its ISO week
    /// (week), `2025-03` (month). `None` for attribute keys.
    pub fn time_key(self, at: Timestamp, tz: &TimeZone) -> Option<String> {
        let date = tz.to_datetime(at).date();
        Some(match self {
            Dimension::Day => date.to_string(),
            Dimension::Week => week_start(date).to_string(),
            Dimension::Month => format!("{:04}-{:02}", date.year(), date.month()),
            _ => return None,
        })
    }

    /// Parses a comma-separated `--by` list: `day,model`. Duplicates are an error.
    pub fn parse_list(text: &str) -> Result<Vec<Dimension>, String> {
        let mut list = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let d: Dimension = part.parse()?;
            if list.contains(&d) {
                return Err(format!("`{part}` is given twice"));
            }
            list.push(d);
        }
        if list.is_empty() {
            return Err(format!("expected one or more of {}", names()));
        }
        Ok(list)
    }

    /// The server's key named exactly `name` (no aliases there).
    pub fn on_server_named(name: &str) -> Option<Dimension> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.on_server() && d.name() == name)
    }
}

/// The names `--by` takes, for messages: `day|week|…`.
fn names() -> String {
    Dimension::ALL
        .iter()
        .filter(|d| d.in_ledger())
        .map(|d| d.name())
        .collect::<Vec<_>>()
        .join("|")
}

impl FromStr for Dimension {
    type Err = String;

    /// A `--by` name or alias, in any case.
    fn from_str(s: &str) -> Result<Dimension, String> {
        let lower = s.to_ascii_lowercase();
        Dimension::ALL
            .into_iter()
            .filter(|d| d.in_ledger())
            .find(|d| d.name() == lower || d.spec().aliases.contains(&lower.as_str()))
            .ok_or_else(|| {
                format!(
                    "unknown grouping `{s}`; expected one or more of {}, comma-separated",
                    names()
                )
            })
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_aliases() {
        assert_eq!(
            Dimension::parse_list("day,model").unwrap(),
            vec![Dimension::Day, Dimension::Model]
        );
        assert_eq!(
            Dimension::parse_list(" Daily , key_id").unwrap(),
            vec![Dimension::Day, Dimension::Key]
        );
        assert!(Dimension::parse_list("day,day")
            .unwrap_err()
            .contains("twice"));
        let err = Dimension::parse_list("colour").unwrap_err();
        assert!(
            err.contains("colour") && err.contains("day|week|month"),
            "{err}"
        );
        assert!(Dimension::parse_list(",").is_err());
    }

    #[test]
    fn each_side_offers_the_keys_it_records() {
        let err = Dimension::parse_list("team").unwrap_err();
        assert!(
            err.ends_with("developer|key|billing|source, comma-separated"),
            "{err}"
        );
        assert_eq!(Dimension::on_server_named("team"), Some(Dimension::Team));
        assert_eq!(Dimension::on_server_named("billing"), None);
        assert_eq!(Dimension::on_server_named("Day"), None);
        assert_eq!(Dimension::on_server_named("day"), Some(Dimension::Day));
        assert_eq!(Dimension::Session.ledger_column(), Some("session_id"));
        assert_eq!(Dimension::Developer.server_column(), Some("d.email"));
        assert_eq!(Dimension::Week.ledger_column(), None);
        assert_eq!(Dimension::Week.title(), "Week of");
        for d in Dimension::ALL {
            assert!(d.in_ledger() || d.on_server(), "{d}");
            assert_eq!(
                d.is_time(),
                d.time_key(Timestamp::UNIX_EPOCH, &TimeZone::UTC).is_some()
            );
        }
    }

    #[test]
    fn time_keys_are_local_calendar_keys() {
        let ny = TimeZone::get("America/New_York").unwrap();
        // 2025-04-01T03:30Z is 23:30 on March 31st in New York.
        let at: Timestamp = "2025-04-01T03:30:00Z".parse().unwrap();
        assert_eq!(Dimension::Day.time_key(at, &ny).unwrap(), "2025-03-31");
        assert_eq!(Dimension::Month.time_key(at, &ny).unwrap(), "2025-03");
        assert_eq!(
            Dimension::Month.time_key(at, &TimeZone::UTC).unwrap(),
            "2025-04"
        );
        // 2025-03-31 is a Monday; 2025-03-30 a Sunday.
        assert_eq!(Dimension::Week.time_key(at, &ny).unwrap(), "2025-03-31");
        let sunday: Timestamp = "2025-03-30T12:00:00Z".parse().unwrap();
        assert_eq!(Dimension::Week.time_key(sunday, &ny).unwrap(), "2025-03-24");
        assert_eq!(Dimension::Model.time_key(at, &ny), None);
    }
}
