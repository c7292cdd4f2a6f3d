//! Reports from the local ledger: periods and time zones, grouping, and table / JSON / CSV output
//! for `gw spend`, `gw sessions` and `gw session`.

mod counters;
mod period;
mod seed;
mod session;
mod sessions;
mod spend;
mod style;

pub use crate::dimension::Dimension;
pub use counters::{usd_exact, CounterValue, Counters};
pub use period::{rfc3339, zone_name, DateSpec, Period, PeriodError, PeriodSpec, Zone, DATE_FORMS};
pub use seed::{SeedPlan, Seeder};
pub use session::SessionDetail;
pub use sessions::SessionList;
pub use spend::{LedgerState, SpendReport, SpendRequest, SpendRow};
pub use style::{thousands, usd, usd_fine, usd_readable, Style};
