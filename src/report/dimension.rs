//! What a spend report groups by: calendar periods in the report's time zone, or a request attribute.

use std::fmt;
use std::str::FromStr;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::calendar::week_start;
use crate::ledger::query::Column;

/// One `--by` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
}

impl Dimension {
    pub const ALL: [Dimension; 13] = [
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
    ];

    /// The name in `--by`, in JSON keys and in CSV headers.
    pub fn name(self) -> &'static str {
        match self {
            Dimension::Day => "day",
            Dimension::Week => "week",
            Dimension::Month => "month",
            Dimension::Agent => "agent",
            Dimension::Model => "model",
            Dimension::Provider => "provider",
            Dimension::Project => "project",
            Dimension::Branch => "branch",
            Dimension::Session => "session",
            Dimension::Task => "task",
            Dimension::Developer => "developer",
            Dimension::Key => "key",
            Dimension::Billing => "billing",
        }
    }

    /// The column heading in tables.
    pub fn title(self) -> &'static str {
        match self {
            Dimension::Day => "Day",
            Dimension::Week => "Week of",
            Dimension::Month => "Month",
            Dimension::Agent => "Agent",
            Dimension::Model => "Model",
            Dimension::Provider => "Provider",
            Dimension::Project => "Project",
            Dimension::Branch => "Branch",
            Dimension::Session => "Session",
            Dimension::Task => "Task",
            Dimension::Developer => "Developer",
            Dimension::Key => "Key",
            Dimension::Billing => "Billing",
        }
    }

    /// The ledger column behind an attribute; `None` for the calendar dimensions.
    pub fn column(self) -> Option<Column> {
        Some(match self {
            Dimension::Day | Dimension::Week | Dimension::Month => return None,
            Dimension::Agent => Column::Agent,
            Dimension::Model => Column::Model,
            Dimension::Provider => Column::Provider,
            Dimension::Project => Column::Project,
            Dimension::Branch => Column::Branch,
            Dimension::Session => Column::Session,
            Dimension::Task => Column::Task,
            Dimension::Developer => Column::Developer,
            Dimension::Key => Column::Key,
            Dimension::Billing => Column::Billing,
        })
    }

    pub fn is_time(self) -> bool {
        self.column().is_none()
    }

    /// The calendar key of an instant: `2025-03-09` (day), the Monday starting its ISO week
    /// (week), `2025-03` (month). `None` for attribute dimensions.
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
}

fn names() -> String {
    Dimension::ALL
        .iter()
        .map(|d| d.name())
        .collect::<Vec<_>>()
        .join("|")
}

impl FromStr for Dimension {
    type Err = String;

    fn from_str(s: &str) -> Result<Dimension, String> {
        let lower = s.to_ascii_lowercase();
        let alias = match lower.as_str() {
            "days" | "daily" => "day",
            "weeks" | "weekly" => "week",
            "months" | "monthly" => "month",
            "agents" => "agent",
            "models" => "model",
            "providers" => "provider",
            "projects" => "project",
            "branches" => "branch",
            "sessions" | "session_id" => "session",
            "tasks" => "task",
            "developers" | "dev" => "developer",
            "keys" | "key_id" => "key",
            other => other,
        };
        Dimension::ALL
            .into_iter()
            .find(|d| d.name() == alias)
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
