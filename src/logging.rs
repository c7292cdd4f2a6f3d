//! gw's log goes to `gw.log` in the data dir, never to the terminal the agent owns.

use std::fs::OpenOptions;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use crate::config::Config;

/// Starts logging to the data dir's `gw.log` at the level `GW_LOG` sets. A log that cannot be
/// opened is not fatal: gw works on, silently, rather than write into the agent's terminal.
pub fn init(config: &Config) {
    let _ = crate::private_fs::private_dir(&config.data_dir);
    let _ = crate::private_fs::private_file(&config.log_path());
    let Ok(file) = OpenOptions::new()
        .create(true)
        .append(true)
        .open(config.log_path())
    else {
        return;
    };
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init();
}
