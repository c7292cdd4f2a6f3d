//! Every environment variable gw reads, in one place, with what it does.
//!
//! `gw config --env` prints this list; the README links to it. Adding a variable means adding it
//! here, or for a provider's variables, to its entry in [`PROVIDERS`].

use crate::meter::PROVIDERS;

/// Path of the config file (default: `<platform config dir>/gw/config.toml`).
pub const GW_CONFIG: &str = "GW_CONFIG";
/// Path of the credentials file (default: `credentials.toml` beside the config file; mode 0600).
pub const GW_CREDENTIALS: &str = "GW_CREDENTIALS";
/// Directory for the ledger, logs and runtime files (default: the platform data dir + `gw`).
pub const GW_DATA_DIR: &str = "GW_DATA_DIR";
/// Log level or filter for gw's log file (`error`, `warn`, `info`, `debug`, `trace`, or a tracing filter).
pub const GW_LOG: &str = "GW_LOG";
// Each provider's upstream variable (`GW_ANTHROPIC_UPSTREAM`, …) and API-key variables are in
// its entry in `PROVIDERS`.
/// Address the standalone proxy listens on (overrides `[proxy] listen`).
pub const GW_LISTEN: &str = "GW_LISTEN";
/// Developer name recorded on ledger rows (overrides `developer`).
pub const GW_DEVELOPER: &str = "GW_DEVELOPER";
/// Database of `gw server` (`sqlite://PATH` or `postgres://…`; default `sqlite://<data dir>/server.db`).
pub const GW_SERVER_DATABASE: &str = "GW_SERVER_DATABASE";
/// Listen address of `gw server` (default 127.0.0.1:8787).
pub const GW_SERVER_LISTEN: &str = "GW_SERVER_LISTEN";
/// URL of the gw server: the one `gw admin` talks to (default http://127.0.0.1:8787), and in
/// team mode the one `gw run` syncs with (overrides the URL `gw login` stored).
pub const GW_SERVER: &str = "GW_SERVER";
/// The developer's gw key for team mode (overrides the key `gw login` stored).
pub const GW_KEY: &str = "GW_KEY";
/// The admin token `gw admin` sends (printed by `gw server init`).
pub const GW_ADMIN_TOKEN: &str = "GW_ADMIN_TOKEN";
/// A PEM CA certificate trusted for an HTTPS gw server (e.g. a self-signed one), over the one
/// `gw login --ca-cert` stored.
pub const GW_SERVER_CA: &str = "GW_SERVER_CA";
/// The SHA-256 fingerprint of the gw server's certificate to pin, over the one `gw login
/// --fingerprint` stored.
pub const GW_SERVER_FINGERPRINT: &str = "GW_SERVER_FINGERPRINT";

/// `std::env::var`, with an empty value read as unset: `GW_LOG= gw run` is `gw run`. Every
/// variable gw reads from its environment goes through here.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Every variable with its one-line description, in the order `gw config --env` prints them:
/// gw's files, each provider's upstream, gw's other settings, each provider's key.
pub fn all() -> Vec<(&'static str, String)> {
    let own = |vars: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        vars.iter()
            .map(|&(name, doc)| (name, doc.to_string()))
            .collect()
    };
    let upstreams = PROVIDERS.iter().map(|p| {
        let doc = format!("{} (overrides [upstream] {})", p.upstream_doc, p.name);
        (p.upstream_var, doc)
    });
    let keys = PROVIDERS
        .iter()
        .filter_map(|p| Some((*p.key_vars.first()?, p.key_doc.to_string())));
    let mut all = own(FILES);
    all.extend(upstreams);
    all.extend(own(SETTINGS));
    all.extend(keys);
    all
}

const FILES: &[(&str, &str)] = &[
    (
        GW_CONFIG,
        "config file path (default: <config dir>/gw/config.toml)",
    ),
    (
        GW_CREDENTIALS,
        "credentials file path, mode 0600 (default: credentials.toml beside the config file)",
    ),
    (
        GW_DATA_DIR,
        "data dir for ledger.db, gw.log and runtime files (default: <data dir>/gw)",
    ),
    (
        GW_LOG,
        "log level for the log file in the data dir: error|warn|info|debug|trace (default: info)",
    ),
];

const SETTINGS: &[(&str, &str)] = &[
    (GW_LISTEN, "listen address of `gw proxy` (overrides [proxy] listen; default 127.0.0.1:0)"),
    (GW_DEVELOPER, "developer recorded on each ledger row (overrides developer; default: git user.email, else $USER)"),
    (GW_SERVER_DATABASE, "database of `gw server`: sqlite://PATH or postgres://... (default: sqlite://<data dir>/server.db)"),
    (GW_SERVER_LISTEN, "listen address of `gw server` (default 127.0.0.1:8787)"),
    (GW_SERVER, "URL of the gw server for `gw admin` (default http://127.0.0.1:8787) and team mode (overrides `gw login`)"),
    (GW_KEY, "the developer's gw key for team mode: gw run, gw budget, gw sync (overrides `gw login`)"),
    (GW_ADMIN_TOKEN, "admin token for `gw admin` (printed once by `gw server init`)"),
    (GW_SERVER_CA, "PEM CA certificate trusted for an HTTPS gw server (overrides `gw login --ca-cert`)"),
    (GW_SERVER_FINGERPRINT, "SHA-256 fingerprint of the gw server's certificate to pin (overrides `gw login --fingerprint`)"),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP collector base URL: gw run, gw proxy and gw server export every metered request (under [otel] endpoint)"),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf (default) or grpc (under [otel] protocol)"),
    ("OTEL_EXPORTER_OTLP_HEADERS", "headers on each export, k=v,k2=v2 (under [otel] headers)"),
    ("OTEL_SERVICE_NAME", "service.name of the export (under [otel] service_name; default gw, gw-server)"),
    ("OTEL_RESOURCE_ATTRIBUTES", "more resource attributes, k=v,k2=v2 (under [otel] resource_attributes)"),
    ("OTEL_METRIC_EXPORT_INTERVAL", "milliseconds between metric exports (under [otel] metric_interval_secs; default 60000)"),
    ("OTEL_SDK_DISABLED", "true turns OTLP export off (unless [otel] enabled = true)"),
];

/// Variables gw sets for the agents it launches (besides each agent's own, in `src/agents/`).
pub const SET_FOR_AGENTS: &[(&str, &str)] = &[
    (
        "GW_SESSION_ID",
        "the gw session's id (UUIDv7), as recorded on every ledger row",
    ),
    (
        "GW_SESSION_KEY",
        "the session key, where an agent reads its API key from a named variable",
    ),
];

/// gw's own variables an agent may inherit: they name files and settings, never a secret. Every
/// other `GW_*` variable in gw's environment (`GW_KEY`, `GW_ADMIN_TOKEN`, `GW_SERVER`, a
/// database URL with its password, and any added later) is removed from the agent's: the agent
/// runs whatever its model says, so it must not find gw's long-lived secrets.
pub const PASSED_TO_AGENTS: &[&str] = &[GW_CONFIG, GW_DATA_DIR, GW_LOG, GW_DEVELOPER];

/// Whether `name`, from gw's own environment, must not reach an agent (see [`PASSED_TO_AGENTS`]).
pub fn withheld_from_agents(name: &str) -> bool {
    name.starts_with("GW_") && !PASSED_TO_AGENTS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_gw_variable_is_withheld() {
        for var in [
            GW_KEY,
            GW_ADMIN_TOKEN,
            GW_SERVER,
            GW_SERVER_DATABASE,
            GW_CREDENTIALS,
        ] {
            assert!(withheld_from_agents(var), "{var}");
        }
        assert!(withheld_from_agents("GW_SOMETHING_NEW"), "unknown ones too");
        assert!(!withheld_from_agents(GW_DATA_DIR));
        assert!(!withheld_from_agents("HOME"));
    }
}
