//! What `gw run` and `gw proxy` share: one metered session. Attribution, the ledger writer,
//! the session key and held provider keys, team mode when logged in (budget gate, lease, usage
//! upload) or else the local budgets of `[budget]`, and the proxy serving them; at the end,
//! every row durable and synced.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::attribution::{self, Overrides};
use crate::budget::LocalBudgets;
use crate::config::{Config, Credentials};
use crate::ledger::LedgerWriter;
use crate::meter::Provider;
use crate::pricing::PriceTable;
use crate::proxy::aws::AwsSigner;
use crate::proxy::azure::AzureEntra;
use crate::proxy::gate::REQUEST_FLOOR_NANOS;
use crate::proxy::google::GoogleCredentials;
use crate::proxy::{self, BudgetGate, ProxyState, Recorder, Refusals, RunningProxy, SessionAuth};
use crate::sync::{self, Notices, TeamSession};

/// How long a stopping session waits for OTLP export to send what it holds.
const EXPORT_DRAIN: Duration = Duration::from_secs(5);

/// Who is running and what a session is about, beyond what attribution discovers.
pub struct SessionSpec {
    pub agent: String,
    pub agent_version: Option<String>,
    pub project: Option<String>,
    pub task: Option<String>,
    pub listen: SocketAddr,
}

pub struct Session {
    pub id: String,
    pub auth: Arc<SessionAuth>,
    pub proxy: RunningProxy,
    /// What team mode has to say (offline, exhausted); print it where the user will see it.
    pub notices: Arc<Notices>,
    /// What gw refused, by reason, for the summary line.
    pub refusals: Arc<Refusals>,
    writer: LedgerWriter,
    team: Option<TeamSession>,
    /// OTLP export of the rows the writer commits, when configured.
    export: Option<crate::otel::Exporter>,
    log_path: std::path::PathBuf,
    /// gw's Google credentials for Vertex AI, when it holds some.
    pub google: Option<Arc<GoogleCredentials>>,
    /// The AWS region gw's Bedrock credentials are for, when it holds some and knows it.
    pub aws_region: Option<String>,
}

/// gw's Google credentials: `[vertex] credentials` (an error when unusable: the user named it),
/// else `GOOGLE_APPLICATION_CREDENTIALS` in gw's environment when it is a service-account key
/// (another kind is left to the tools that read it), else the developer's own Google login
/// (`gcloud`, application-default credentials) when `[vertex] project` names the project.
fn google_credentials(
    config: &Config,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<Arc<GoogleCredentials>>> {
    let vertex = &config.vertex;
    let load = |path: &std::path::Path| {
        GoogleCredentials::from_file(path, vertex.project.as_deref(), vertex.location())
    };
    if let Some(path) = &vertex.credentials {
        return Ok(Some(Arc::new(load(path).map_err(anyhow::Error::msg)?)));
    }
    let Some(path) = env("GOOGLE_APPLICATION_CREDENTIALS") else {
        return Ok(vertex
            .project
            .as_deref()
            .and_then(|project| GoogleCredentials::from_login(env, project, vertex.location()))
            .map(Arc::new));
    };
    match load(std::path::Path::new(&path)) {
        Ok(google) => Ok(Some(Arc::new(google))),
        Err(e) => {
            tracing::debug!("GOOGLE_APPLICATION_CREDENTIALS is not a key gw can use: {e}");
            Ok(None)
        }
    }
}

/// Warns when `provider`'s upstream is plain http beyond this machine: `what` gw puts on its
/// requests would cross the network in clear.
fn warn_plain_http(config: &Config, notices: &Notices, provider: Provider, what: &str) {
    let plain = config
        .upstreams
        .get(provider)
        .filter(|u| !u.is_https() && !is_loopback(u.host()));
    if let Some(upstream) = plain {
        notices.warn(
            if provider == Provider::Azure {
                "azure-http"
            } else {
                "bedrock-http"
            },
            format!(
                "gw: [upstream] {provider} is plain http ({}): {what} cross the network in clear; use https",
                upstream.redacted()
            ),
        );
    }
}

/// Whether a `host[:port]` is this machine.
fn is_loopback(host: &str) -> bool {
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
        .trim_matches(['[', ']']);
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Session {
    /// Starts the session's proxy on the current runtime. Fails when the server refuses the
    /// key, the ledger cannot be opened or the address cannot be bound.
    pub async fn start(
        config: &Config,
        spec: SessionSpec,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Session> {
        let credentials = Credentials::load(&config.credentials_path)?;
        // Team mode: a gw server and key (gw login, or GW_SERVER + GW_KEY).
        let login = sync::resolve_login(&credentials, env)?;
        let key_id = login
            .as_ref()
            .and_then(|l| crate::server::secret::key_id(&l.key))
            .map(str::to_string);
        let google = google_credentials(config, env)?;
        let held = credentials.provider_keys(env);
        // AWS keys sign Bedrock requests, unless gw holds a Bedrock API key (it goes as is).
        let aws = match config.upstreams.get(Provider::Bedrock) {
            Some(upstream) if !held.contains_key(&Provider::Bedrock) => {
                let signer = match AwsSigner::bedrock_from_env(env, Some(upstream.host())) {
                    Some(signer) => Some(signer),
                    None => AwsSigner::bedrock_from_chain(env, Some(upstream.host())).await,
                };
                signer
                    .transpose()
                    .map_err(anyhow::Error::msg)?
                    .map(Arc::new)
            }
            _ => None,
        };
        // Entra ID: a service principal's token for Azure OpenAI, unless gw holds its API key.
        let azure = match config.upstreams.get(Provider::Azure) {
            Some(_) if !held.contains_key(&Provider::Azure) => AzureEntra::from_env(env)
                .transpose()
                .map_err(anyhow::Error::msg)?
                .map(Arc::new),
            _ => None,
        };
        let mut auth = SessionAuth::new(held);
        if azure.is_some() {
            auth = auth.with_signed(Provider::Azure);
        }
        if google.is_some() {
            auth = auth.with_signed(Provider::Vertex);
        }
        if aws.is_some() {
            auth = auth.with_signed(Provider::Bedrock);
        }
        let auth = Arc::new(auth);
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let attribution = attribution::discover(
            &cwd,
            Overrides {
                developer: config.developer.clone(),
                project: spec.project,
                task: spec.task,
                agent: Some(spec.agent),
                agent_version: spec.agent_version,
                key_id,
            },
            env,
        );
        let id = attribution.session_id.clone();
        // Bound before team mode takes a lease, so an address in use costs the budget nothing.
        let listener = proxy::bind(spec.listen).await?;
        let export = match &config.otel {
            Some(settings) => Some(
                crate::otel::Exporter::start(
                    settings,
                    crate::otel::Role::Local,
                    Provider::ALL
                        .into_iter()
                        .filter_map(|p| {
                            let base: http::Uri = config.upstreams.get(p)?.base().parse().ok()?;
                            Some((p.as_str().to_string(), base.host()?.to_string()))
                        })
                        .collect(),
                )
                .map_err(anyhow::Error::msg)?,
            ),
            None => None,
        };
        let on_commit = export.clone().map(|export| -> crate::ledger::OnCommit {
            Box::new(move |rows| {
                for row in rows {
                    export.send(crate::otel::Record {
                        row: row.into(),
                        ..Default::default()
                    });
                }
            })
        });
        let writer = LedgerWriter::start_with(&config.ledger_path(), on_commit)?;
        let notices = Arc::new(Notices::default());
        let team = match &login {
            Some(login) => Some(
                TeamSession::start(
                    login,
                    config.team,
                    &id,
                    config.ledger_path(),
                    notices.clone(),
                )
                .await?,
            ),
            None => None,
        };
        if let (Some(export), Some((org, team))) = (&export, team.as_ref().and_then(|t| t.org())) {
            export.set_identity(Some(org.clone()), team.clone());
        }
        // The org's prices go last: they replace a local `[prices]` entry of the same model, so
        // a developer cannot price a model the org priced lower to spend less of its budgets.
        // Local entries still price models the org has not.
        let mut prices = PriceTable::embedded().with_overrides(&config.prices);
        match &team {
            Some(team) => {
                prices = prices.with_overrides(team.prices());
                // A local entry would let a developer price what the team pays for: in team
                // mode an answer is priced by the model it names.
                for (section, empty) in [
                    ("azure.deployments", config.azure.deployments.is_empty()),
                    ("bedrock.models", config.bedrock.models.is_empty()),
                ] {
                    if !empty {
                        notices.warn(
                            section,
                            format!(
                                "gw: [{section}] in {} is not applied in team mode: those requests are priced by the model each answer names",
                                config.config_path.display()
                            ),
                        );
                    }
                }
            }
            None => {
                prices = prices
                    .with_aliases(Provider::Azure, &config.azure.deployments)
                    .with_aliases(Provider::Bedrock, &config.bedrock.models)
            }
        }
        let recorder = Recorder::new(writer.handle(), prices, attribution);
        let mut state = ProxyState::new(config.upstreams.clone(), recorder)
            .with_auth(auth.clone())
            .with_policy(config.policy.clone());
        if let Some(google) = &google {
            state = state.with_google(google.clone());
        }
        if azure.is_some() || auth.holds(Provider::Azure) {
            warn_plain_http(config, &notices, Provider::Azure, "gw's Azure key or token");
        }
        if let Some(azure) = azure {
            state = state.with_azure(azure);
        }
        if let Some(aws) = &aws {
            state = state.with_aws(aws.clone());
            warn_plain_http(
                config,
                &notices,
                Provider::Bedrock,
                "AWS signatures (and a session token)",
            );
        }
        if let Some(team) = &team {
            state = state.with_gate(team.gate());
            if !config.local_budgets.is_empty() {
                notices.warn(
                    "local-budget",
                    format!(
                        "gw: [budget] in {} is not applied in team mode: your team's budgets on the server apply",
                        config.config_path.display()
                    ),
                );
            }
        } else if !config.local_budgets.is_empty() {
            let gate = BudgetGate::new(None, REQUEST_FLOOR_NANOS);
            LocalBudgets::attach(
                &gate,
                config.local_budgets.clone(),
                config.ledger_path(),
                config.config_path.clone(),
                writer.handle(),
            );
            state = state.with_gate(gate);
        }
        let refusals = state.refusals();
        let proxy = proxy::serve(listener, state);
        Ok(Session {
            id,
            google,
            aws_region: aws.as_ref().map(|a| a.region().to_string()).or_else(|| {
                let host = config.upstreams.get(Provider::Bedrock).map(|u| u.host());
                crate::proxy::aws::known_region(env, host).filter(|_| auth.holds(Provider::Bedrock))
            }),
            auth,
            proxy,
            notices,
            refusals,
            writer,
            team,
            export,
            log_path: config.log_path(),
        })
    }

    /// The base URL a client of this session uses for `provider`.
    pub fn base_url(&self, provider: Provider) -> String {
        self.proxy.session_base_url(&self.auth, provider)
    }

    /// Stops the proxy (open requests get `grace` to finish), makes every row durable, then in
    /// team mode pushes them to the server and hands the lease back.
    pub async fn stop(self, grace: Duration) -> anyhow::Result<()> {
        self.proxy.shutdown(grace).await;
        if let Some(team) = self.team {
            if let Err(e) = self.writer.handle().flush().await {
                tracing::warn!("ledger flush before the final sync failed: {e}");
            }
            team.finish().await;
        }
        let writer = self.writer;
        tokio::task::spawn_blocking(move || writer.shutdown())
            .await
            .context("the ledger writer panicked")??;
        if let Some(export) = self.export {
            export.shutdown(EXPORT_DRAIN).await;
            let stats = export.stats();
            let dropped = stats.dropped();
            if dropped > 0 {
                self.notices.warn(
                    "otel",
                    format!(
                        "gw: OTLP export dropped {dropped} of this session's requests (the collector was unreachable or behind; see {}); the ledger has them all",
                        self.log_path.display()
                    ),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn loopback_hosts_with_and_without_ports() {
        for host in [
            "localhost",
            "LOCALHOST:80",
            "127.0.0.1",
            "127.0.0.1:9",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "bedrock-runtime.us-east-1.amazonaws.com",
            "10.0.0.1:80",
            "[2001:db8::1]:443",
            "0.0.0.0",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
