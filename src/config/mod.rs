//! Settings: defaults, then the TOML config file, then `GW_*` environment variables.

mod budget;
mod credentials;
pub mod env_vars;
mod otel;
mod per_provider;
mod proxy_policy;
mod redact;
mod team;
mod upstream;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::agents::McpServer;
use crate::meter::Provider;
use crate::pricing::{PriceOverride, PriceTable, UnpricedPolicy};
pub use budget::{BudgetSection, LocalBudget, LocalPeriod};
pub use credentials::{Credentials, CredentialsError, ServerLogin};
pub use otel::{OtelSection, OtelSettings, OtlpProtocol};
pub use per_provider::{PerProvider, ProviderKeys, UpstreamSection};
pub use proxy_policy::{ProxyPolicy, DEFAULT_MAX_BODY_MIB};
pub use redact::{redact_mcp, redact_url};
pub use team::{OfflinePolicy, ServerSection, TeamSettings};
pub use upstream::Upstream;

/// The config file as written by the user. Unknown keys are errors, so typos never pass silently.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FileConfig {
    /// Developer recorded on ledger rows (default: git `user.email`, else `$USER`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub developer: Option<String>,
    pub upstream: UpstreamSection,
    pub proxy: ProxySection,
    /// Extra or replacement model prices, USD per million tokens.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: BTreeMap<String, PriceOverride>,
    /// Per-agent settings, `[agents.claude] path = "/opt/bin/claude"`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub agents: BTreeMap<String, AgentSection>,
    /// MCP servers every agent launched by `gw run` gets.
    #[serde(skip_serializing_if = "McpSection::is_empty")]
    pub mcp: McpSection,
    /// Team mode: offline policy and lease size (the server's URL and key: `gw login`).
    #[serde(skip_serializing_if = "ServerSection::is_empty")]
    pub server: ServerSection,
    /// Local caps on this machine's spend per day, week or month (no server needed).
    #[serde(skip_serializing_if = "BudgetSection::is_empty")]
    pub budget: BudgetSection,
    /// Azure OpenAI: the API version and what each deployment runs.
    #[serde(skip_serializing_if = "AzureSection::is_empty")]
    pub azure: AzureSection,
    /// Vertex AI: gw's Google credentials, project and location.
    #[serde(skip_serializing_if = "VertexSection::is_empty")]
    pub vertex: VertexSection,
    /// Amazon Bedrock: what each application inference profile (an ARN) runs.
    #[serde(skip_serializing_if = "BedrockSection::is_empty")]
    pub bedrock: BedrockSection,
    /// OTLP export of every metered request (over the standard `OTEL_*` variables).
    #[serde(skip_serializing_if = "OtelSection::is_empty")]
    pub otel: OtelSection,
}

/// `[bedrock]`: what gw needs to know of an account's Bedrock set-up (its URL is `[upstream]
/// bedrock`, its credentials AWS's own).
#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BedrockSection {
    /// Model id or ARN an agent names → the model id it runs, for prices:
    /// `[bedrock.models] "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc"
    /// = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"`. An ARN not listed is priced by the
    /// model its answers name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub models: BTreeMap<String, String>,
}

impl BedrockSection {
    fn is_empty(&self) -> bool {
        self == &BedrockSection::default()
    }

    /// Errors are `(config key, what to write instead)`.
    fn validate(&self, prices: &PriceTable) -> Result<(), (String, String)> {
        for (id, model) in &self.models {
            if prices.lookup(Provider::Bedrock, id).is_some() {
                return Err((
                    format!("bedrock.models.{id:?}"),
                    format!("{id:?} is a model gw prices: an entry names an ARN or id gw cannot price, not a model to price as another"),
                ));
            }
            if prices.lookup(Provider::Bedrock, model).is_none() {
                return Err((
                    format!("bedrock.models.{id:?}"),
                    format!("gw has no price for {model:?}; name the Bedrock model id the profile runs (like \"us.anthropic.claude-sonnet-4-5-20250929-v1:0\"), or price it with [prices.\"{model}\"]"),
                ));
            }
        }
        Ok(())
    }
}

/// `[vertex]`: the Google Cloud project gw sends Vertex AI requests for, with its own
/// credentials (the endpoint is `[upstream] vertex`).
#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VertexSection {
    /// A service-account key file (JSON) gw gets access tokens with (default:
    /// GOOGLE_APPLICATION_CREDENTIALS in gw's environment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials: Option<PathBuf>,
    /// The project (default: the key's own `project_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The location in request paths (default `global`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl VertexSection {
    fn is_empty(&self) -> bool {
        self == &VertexSection::default()
    }

    pub fn location(&self) -> &str {
        self.location.as_deref().unwrap_or("global")
    }

    /// Errors are `(config key, what to write instead)`: the project and location go into
    /// request paths as they are.
    fn validate(&self) -> Result<(), (String, String)> {
        let segment = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        for (key, value) in [("project", &self.project), ("location", &self.location)] {
            if let Some(v) = value.as_deref().filter(|v| !segment(v)) {
                return Err((
                    format!("vertex.{key}"),
                    format!("{v:?} is not a Google Cloud {key} name; use letters, digits and -"),
                ));
            }
        }
        Ok(())
    }
}

/// `[azure]`: how gw talks to an Azure OpenAI resource (its URL is `[upstream] azure`).
#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureSection {
    /// The `api-version` agents send (default 2025-04-01-preview).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Deployment name → the model it runs, for prices: `[azure.deployments] my-gpt5 = "gpt-5"`.
    /// A deployment not listed is priced by the model its answers name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub deployments: BTreeMap<String, String>,
}

impl AzureSection {
    pub const DEFAULT_API_VERSION: &str = "2025-04-01-preview";

    fn is_empty(&self) -> bool {
        self == &AzureSection::default()
    }

    pub fn api_version(&self) -> &str {
        self.api_version
            .as_deref()
            .unwrap_or(AzureSection::DEFAULT_API_VERSION)
    }

    /// Errors are `(config key, what to write instead)`.
    fn validate(&self, prices: &PriceTable) -> Result<(), (String, String)> {
        if let Some(v) = &self.api_version {
            if v.is_empty()
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return Err((
                    "azure.api_version".into(),
                    format!("{v:?} is not an API version; write it like \"2025-04-01-preview\""),
                ));
            }
        }
        for (deployment, model) in &self.deployments {
            if prices.lookup(Provider::OpenAi, deployment).is_some() {
                return Err((
                    format!("azure.deployments.{deployment}"),
                    format!("{deployment:?} is a model gw prices: a deployment entry names a deployment, not a model to price as another"),
                ));
            }
            if prices.lookup(Provider::Azure, model).is_none() {
                return Err((
                    format!("azure.deployments.{deployment}"),
                    format!("gw has no price for {model:?}; name the OpenAI model the deployment runs (like \"gpt-5\"), or price it with [prices.\"{model}\"]"),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentSection {
    /// The agent's executable (default: its name looked up on PATH).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The enterprise route the agent takes by default (`gw run <agent> --via` overrides it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpSection {
    pub servers: BTreeMap<String, McpServer>,
}

impl McpSection {
    fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxySection {
    /// Listen address of `gw proxy`, e.g. "127.0.0.1:8080" (default: a free port on 127.0.0.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// Endpoints gw does not meter that a session under a budget may use anyway, as proxy
    /// paths: `["/anthropic/v1/files*"]` (`*` ends a prefix).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allow_unmetered: Vec<String>,
    /// Models gw has no price for, under a budget: "refuse" (default), "allow", or
    /// `{ charge_as = "<priced model>" }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpriced: Option<UnpricedPolicy>,
    /// The most of a request body gw reads to check its model, in MiB (default 32); larger
    /// bodies that must be checked are answered 413.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_mib: Option<u64>,
}

/// The effective configuration every command works from.
#[derive(Debug, Clone)]
pub struct Config {
    pub config_path: PathBuf,
    pub config_file_found: bool,
    pub data_dir: PathBuf,
    pub log_filter: String,
    pub developer: Option<String>,
    pub upstreams: Upstreams,
    pub listen: SocketAddr,
    pub prices: BTreeMap<String, PriceOverride>,
    pub agents: BTreeMap<String, AgentSection>,
    pub mcp_servers: BTreeMap<String, McpServer>,
    pub credentials_path: PathBuf,
    pub team: TeamSettings,
    /// `[budget]`: what `gw run` and `gw proxy` may spend per period without a server.
    pub local_budgets: Vec<LocalBudget>,
    pub azure: AzureSection,
    pub vertex: VertexSection,
    pub bedrock: BedrockSection,
    /// `[proxy]`: what a session under a budget or allow-list lets through.
    pub policy: ProxyPolicy,
    /// `[otel]` as written (shown by `gw config`, secrets redacted).
    pub otel_section: OtelSection,
    /// Where OTLP export goes, from `[otel]` and the `OTEL_*` variables; `None`: off.
    pub otel: Option<OtelSettings>,
}

/// Every provider's upstream.
#[derive(Debug, Clone)]
pub struct Upstreams([Option<Upstream>; Provider::ALL.len()]);

impl Upstreams {
    /// Each provider's upstream as `f` gives it.
    pub fn from_fn(mut f: impl FnMut(Provider) -> Upstream) -> Upstreams {
        Upstreams(Provider::ALL.map(|p| Some(f(p))))
    }

    /// Each provider's upstream as `f` gives it, or the first error, in the table's order.
    pub fn try_from_fn<E>(
        mut f: impl FnMut(Provider) -> Result<Option<Upstream>, E>,
    ) -> Result<Upstreams, E> {
        let mut upstreams = Vec::with_capacity(Provider::ALL.len());
        for provider in Provider::ALL {
            upstreams.push(f(provider)?);
        }
        Ok(Upstreams(
            upstreams.try_into().expect("one upstream per provider"),
        ))
    }

    /// The provider's upstream; `None` for one with no default that nobody configured
    /// (Azure's is each company's own resource).
    pub fn get(&self, provider: Provider) -> Option<&Upstream> {
        // `Provider::ALL` is in variant order (see `meter::PROVIDERS`).
        self.0[provider as usize].as_ref()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}\n  fix the file's permissions, or point GW_CONFIG at another file")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}\n  edit the file (`gw config` shows the effective settings), or set GW_CONFIG to another file")]
    Parse { path: PathBuf, message: String },
    #[error("invalid setting `{key}` (from {source_name}): {message}")]
    Invalid {
        key: String,
        source_name: String,
        message: String,
    },
    #[error(
        "cannot find a home directory for gw's config and data; set GW_CONFIG and GW_DATA_DIR"
    )]
    NoHome,
}

impl Config {
    /// Loads from the real process environment.
    pub fn load() -> Result<Config, ConfigError> {
        Config::load_with(env_vars::var)
    }

    /// Loads with `env` standing in for the environment, so tests never touch the real one.
    pub fn load_with(env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let dirs = directories::ProjectDirs::from("", "", "gw");
        let config_path = match env(env_vars::GW_CONFIG) {
            Some(p) => PathBuf::from(p),
            None => dirs
                .as_ref()
                .ok_or(ConfigError::NoHome)?
                .config_dir()
                .join("config.toml"),
        };
        let data_dir = match env(env_vars::GW_DATA_DIR) {
            Some(p) => PathBuf::from(p),
            None => dirs
                .as_ref()
                .ok_or(ConfigError::NoHome)?
                .data_dir()
                .to_path_buf(),
        };
        let (file, found) = read_file_config(&config_path)?;
        let file_source = config_path.display().to_string();

        // Each provider's: its variable, else the config file, else its default.
        let upstreams = Upstreams::try_from_fn(|provider| {
            let info = provider.info();
            let (value, source_name) = match (env(info.upstream_var), file.upstream.get(provider)) {
                (Some(v), _) => (v, info.upstream_var.to_string()),
                (None, Some(v)) => (v.to_string(), file_source.clone()),
                (None, None) if info.default_upstream.is_empty() => return Ok(None),
                (None, None) => (info.default_upstream.to_string(), "default".to_string()),
            };
            Upstream::parse(&value)
                .map(Some)
                .map_err(|message| ConfigError::Invalid {
                    key: format!("upstream.{}", info.name),
                    source_name,
                    message,
                })
        })?;

        let (listen_text, listen_source) = match (env(env_vars::GW_LISTEN), &file.proxy.listen) {
            (Some(v), _) => (v, env_vars::GW_LISTEN.to_string()),
            (None, Some(v)) => (v.clone(), file_source.clone()),
            (None, None) => ("127.0.0.1:0".to_string(), "default".to_string()),
        };
        let listen = listen_text
            .parse::<SocketAddr>()
            .map_err(|e| ConfigError::Invalid {
                key: "proxy.listen".into(),
                source_name: listen_source,
                message: format!(
                    "{listen_text:?} is not an address ({e}); write it as 127.0.0.1:8080"
                ),
            })?;

        for (model, price) in &file.prices {
            price.validate(model).map_err(|e| ConfigError::Invalid {
                key: format!("prices.\"{model}\""),
                source_name: file_source.clone(),
                message: e.to_string(),
            })?;
        }

        for name in file.agents.keys() {
            if crate::agents::profile(name).is_none() {
                return Err(ConfigError::Invalid {
                    key: format!("agents.{name}"),
                    source_name: file_source.clone(),
                    message: "unknown agent; known agents are claude, codex, gemini and opencode"
                        .into(),
                });
            }
        }
        for (name, server) in &file.mcp.servers {
            server.validate().map_err(|message| ConfigError::Invalid {
                key: format!("mcp.servers.{name}"),
                source_name: file_source.clone(),
                message,
            })?;
        }
        let team = TeamSettings::from_section(&file.server).map_err(|(key, message)| {
            ConfigError::Invalid {
                key,
                source_name: file_source.clone(),
                message,
            }
        })?;
        let local_budgets =
            budget::local_budgets(&file.budget).map_err(|(key, message)| ConfigError::Invalid {
                key,
                source_name: file_source.clone(),
                message,
            })?;
        let policy = ProxyPolicy::new(
            file.proxy.allow_unmetered.clone(),
            file.proxy.unpriced.clone(),
            file.proxy.max_body_mib,
            || PriceTable::embedded().with_overrides(&file.prices),
        )
        .map_err(|(key, message)| ConfigError::Invalid {
            key,
            source_name: file_source.clone(),
            message,
        })?;
        if !file.azure.is_empty() || !file.bedrock.is_empty() {
            // Built only when needed: parsing the price table costs more than the rest.
            let prices = PriceTable::embedded().with_overrides(&file.prices);
            file.azure
                .validate(&prices)
                .and_then(|()| file.bedrock.validate(&prices))
                .map_err(|(key, message)| ConfigError::Invalid {
                    key,
                    source_name: file_source.clone(),
                    message,
                })?;
        }
        file.vertex
            .validate()
            .map_err(|(key, message)| ConfigError::Invalid {
                key,
                source_name: file_source.clone(),
                message,
            })?;
        let otel =
            OtelSettings::resolve(&file.otel, &env).map_err(|message| ConfigError::Invalid {
                key: "otel".into(),
                source_name: file_source.clone(),
                message,
            })?;
        let credentials_path = match env(env_vars::GW_CREDENTIALS) {
            Some(p) => PathBuf::from(p),
            None => config_path
                .parent()
                .map(|d| d.join("credentials.toml"))
                .unwrap_or_else(|| "credentials.toml".into()),
        };

        Ok(Config {
            credentials_path,
            team,
            policy,
            local_budgets,
            azure: file.azure.clone(),
            vertex: file.vertex.clone(),
            bedrock: file.bedrock.clone(),
            otel_section: file.otel.clone(),
            otel,
            agents: file.agents,
            mcp_servers: file.mcp.servers,
            config_path,
            config_file_found: found,
            data_dir,
            log_filter: env(env_vars::GW_LOG).unwrap_or_else(|| "info".to_string()),
            developer: env(env_vars::GW_DEVELOPER).or(file.developer),
            upstreams,
            listen,
            prices: file.prices,
        })
    }

    pub fn ledger_path(&self) -> PathBuf {
        self.data_dir.join("ledger.db")
    }

    pub fn log_path(&self) -> PathBuf {
        self.data_dir.join("gw.log")
    }

    /// The effective settings as TOML, secrets redacted; what `gw config` prints.
    pub fn render(&self) -> String {
        let effective = FileConfig {
            developer: self.developer.clone(),
            upstream: Provider::ALL
                .into_iter()
                .filter_map(|p| Some((p, self.upstreams.get(p)?.redacted())))
                .collect(),
            proxy: ProxySection {
                listen: Some(self.listen.to_string()),
                allow_unmetered: self.policy.allow_unmetered.clone(),
                unpriced: Some(self.policy.unpriced.clone()),
                max_body_mib: Some((self.policy.max_body_bytes >> 20) as u64),
            },
            prices: self.prices.clone(),
            agents: self.agents.clone(),
            mcp: McpSection {
                servers: redact_mcp(&self.mcp_servers),
            },
            server: self.team.section(),
            budget: budget::section(&self.local_budgets),
            azure: self.azure.clone(),
            vertex: self.vertex.clone(),
            bedrock: self.bedrock.clone(),
            otel: OtelSection {
                headers: self
                    .otel_section
                    .headers
                    .keys()
                    .map(|k| (k.clone(), "<redacted>".to_string()))
                    .collect(),
                endpoint: self.otel_section.endpoint.as_deref().map(redact_url),
                ..self.otel_section.clone()
            },
        };
        let body = toml::to_string_pretty(&effective)
            .unwrap_or_else(|e| format!("# cannot render: {e}\n"));
        format!(
            "# config file: {}{}\n# credentials: {}\n# data dir:    {}\n# ledger:      {}\n# log file:    {} (level {})\n\n{}",
            self.config_path.display(),
            if self.config_file_found { "" } else { " (not present; defaults in use)" },
            self.credentials_path.display(),
            self.data_dir.display(),
            self.ledger_path().display(),
            self.log_path().display(),
            self.log_filter,
            body
        )
    }
}

fn read_file_config(path: &Path) -> Result<(FileConfig, bool), ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((FileConfig::default(), false))
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let file = toml::from_str::<FileConfig>(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    Ok((file, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(
        vars: &[(&str, &str)],
        file: Option<&str>,
    ) -> (Result<Config, ConfigError>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        if let Some(text) = file {
            std::fs::write(&path, text).unwrap();
        }
        let mut env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.insert("GW_CONFIG".into(), path.display().to_string());
        env.entry("GW_DATA_DIR".into())
            .or_insert_with(|| dir.path().join("data").display().to_string());
        (Config::load_with(|k| env.get(k).cloned()), dir)
    }

    #[test]
    fn azure_has_no_default_upstream_and_its_deployments_must_be_priced() {
        let (config, _dir) = load(&[], None);
        let config = config.unwrap();
        assert!(config.upstreams.get(Provider::Azure).is_none());
        assert_eq!(
            config.azure.api_version(),
            AzureSection::DEFAULT_API_VERSION
        );
        assert!(
            !config.render().contains("azure ="),
            "an unset upstream is not shown"
        );

        let file = "[upstream]\nazure = \"https://acme.openai.azure.com\"\n\n[azure]\napi_version = \"2024-10-21\"\n\n[azure.deployments]\nmy-gpt5 = \"gpt-5\"\n";
        let (config, _dir) = load(&[], Some(file));
        let config = config.unwrap();
        assert_eq!(
            config.upstreams.get(Provider::Azure).unwrap().base(),
            "https://acme.openai.azure.com"
        );
        assert_eq!(config.azure.api_version(), "2024-10-21");
        assert_eq!(config.azure.deployments["my-gpt5"], "gpt-5");

        for (file, key) in [
            (
                "[azure.deployments]\nmine = \"no-such-model\"\n",
                "azure.deployments.mine",
            ),
            ("[azure]\napi_version = \"x&y=z\"\n", "azure.api_version"),
            (
                "[azure.deployments]\ngpt-5 = \"gpt-4o-mini\"\n",
                "azure.deployments.gpt-5",
            ),
        ] {
            let e = load(&[], Some(file)).0.unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
    }

    #[test]
    fn bedrock_profiles_and_azure_zones_name_priced_models() {
        let arn = "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/abc";
        let file = format!(
            "[bedrock.models]\n\"{arn}\" = \"us.anthropic.claude-sonnet-4-5-20250929-v1:0\"\n\n[azure.deployments]\nprod = \"eu/gpt-5\"\n"
        );
        let (config, _dir) = load(&[], Some(&file));
        let config = config.unwrap();
        let prices = PriceTable::embedded()
            .with_aliases(Provider::Bedrock, &config.bedrock.models)
            .with_aliases(Provider::Azure, &config.azure.deployments);
        let tokens = crate::meter::Usage {
            input: 100_000,
            ..Default::default()
        };
        // The profile runs a US cross-region id; the deployment an EU data zone.
        let cost =
            |provider, name| prices.cost(provider, prices.requested(provider, name), &tokens);
        assert_eq!(cost(Provider::Bedrock, arn), Some(330_000_000));
        assert_eq!(cost(Provider::Azure, "prod"), Some(137_500_000));
        assert!(config.render().contains("[bedrock.models]"));
        for (file, key) in [
            (
                format!("[bedrock.models]\n\"{arn}\" = \"no-such-model\"\n"),
                "bedrock.models",
            ),
            (
                "[bedrock.models]\n\"anthropic.claude-sonnet-4-5-20250929-v1:0\" = \"us.anthropic.claude-haiku-4-5-20251001-v1:0\"\n".to_string(),
                "is a model gw prices",
            ),
        ] {
            let e = load(&[], Some(&file)).0.unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
    }

    #[test]
    fn vertex_project_and_location_go_into_paths_so_they_are_checked() {
        let (config, _dir) = load(&[], None);
        let config = config.unwrap();
        assert_eq!(config.vertex.location(), "global");
        assert_eq!(
            config.upstreams.get(Provider::Vertex).unwrap().base(),
            "https://aiplatform.googleapis.com"
        );
        let file =
            "[vertex]\nproject = \"acme-ai\"\nlocation = \"us-east5\"\ncredentials = \"/k.json\"\n";
        let config = load(&[], Some(file)).0.unwrap();
        assert_eq!(config.vertex.location(), "us-east5");
        assert_eq!(config.vertex.project.as_deref(), Some("acme-ai"));
        for (file, key) in [
            ("[vertex]\nproject = \"a/b\"\n", "vertex.project"),
            ("[vertex]\nlocation = \"../x\"\n", "vertex.location"),
        ] {
            let e = load(&[], Some(file)).0.unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
    }

    #[test]
    fn defaults_without_a_file() {
        let (config, _dir) = load(&[], None);
        let config = config.unwrap();
        assert!(!config.config_file_found);
        assert_eq!(
            config.upstreams.get(Provider::Anthropic).unwrap().base(),
            "https://api.anthropic.com"
        );
        assert_eq!(config.listen.to_string(), "127.0.0.1:0");
        assert_eq!(config.log_filter, "info");
    }

    #[test]
    fn env_overrides_file() {
        let file =
            "[upstream]\nopenai = \"http://127.0.0.1:9/file\"\ngemini = \"http://127.0.0.1:9/g\"\n";
        let (config, _dir) = load(
            &[("GW_OPENAI_UPSTREAM", "http://127.0.0.1:7/env")],
            Some(file),
        );
        let config = config.unwrap();
        assert_eq!(
            config.upstreams.get(Provider::OpenAi).unwrap().base(),
            "http://127.0.0.1:7/env"
        );
        assert_eq!(
            config.upstreams.get(Provider::Gemini).unwrap().base(),
            "http://127.0.0.1:9/g"
        );
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let (config, dir) = load(&[], Some("[upstream]\nopenia = \"http://x\"\n"));
        let message = config.unwrap_err().to_string();
        assert!(
            message.contains(&dir.path().join("config.toml").display().to_string()),
            "{message}"
        );
        assert!(message.contains("openia"), "{message}");
    }

    #[test]
    fn bad_upstream_names_key_and_fix() {
        let (config, _dir) = load(&[("GW_GEMINI_UPSTREAM", "ftp://example.com")], None);
        let message = config.unwrap_err().to_string();
        assert!(message.contains("upstream.gemini"), "{message}");
        assert!(message.contains("GW_GEMINI_UPSTREAM"), "{message}");
        assert!(message.contains("http"), "{message}");
    }

    #[test]
    fn bad_listen_address() {
        let (config, _dir) = load(&[], Some("[proxy]\nlisten = \"localhost\"\n"));
        let message = config.unwrap_err().to_string();
        assert!(message.contains("proxy.listen"), "{message}");
    }

    #[test]
    fn render_redacts_mcp_secrets() {
        let file = "[mcp.servers.gh]\ncommand = \"gh-mcp\"\nenv = { GITHUB_TOKEN = \"ghp_s3cret\" }\n\n[mcp.servers.remote]\nurl = \"https://mcp.corp/sse?token=t0ken\"\n";
        let (config, _dir) = load(&[], Some(file));
        let text = config.unwrap().render();
        assert!(!text.contains("ghp_s3cret"), "{text}");
        assert!(!text.contains("t0ken"), "{text}");
        assert!(text.contains("GITHUB_TOKEN"), "names are kept: {text}");
        assert!(text.contains("token=***"), "{text}");
    }

    #[test]
    fn render_redacts_credentials_in_urls() {
        let (config, _dir) = load(
            &[("GW_OPENAI_UPSTREAM", "https://user:s3cret@gateway.corp/v1")],
            None,
        );
        let text = config.unwrap().render();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("gateway.corp"), "{text}");
    }

    #[test]
    fn otel_settings_load_and_render_redacted() {
        let file = "[otel]\nendpoint = \"https://otlp.corp/?token=pw0rd\"\nprotocol = \"grpc\"\nheaders = { \"x-api-key\" = \"k3y\" }\n";
        let (config, _dir) = load(&[("OTEL_SERVICE_NAME", "laptop")], Some(file));
        let config = config.unwrap();
        let otel = config.otel.as_ref().unwrap();
        assert_eq!(otel.protocol, OtlpProtocol::Grpc);
        assert_eq!(otel.headers["x-api-key"], "k3y");
        assert_eq!(otel.service_name.as_deref(), Some("laptop"));
        let text = config.render();
        assert!(!text.contains("k3y") && !text.contains("pw0rd"), "{text}");
        assert!(
            text.contains("[otel]") && text.contains("x-api-key"),
            "{text}"
        );
        let (config, _dir) = load(&[], Some("[otel]\nprotocol = \"thrift\"\nenabled = true\n"));
        let message = config.unwrap_err().to_string();
        assert!(
            message.contains("otel") && message.contains("grpc"),
            "{message}"
        );
    }
}
