//! `TeamSession`: team mode for one `gw run`: the budget gate and its lease manager, and the
//! background usage upload, from start to the final sync and lease release at exit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{plan, LeaseManager, Notices, ServerClient, SyncError, Uploader};
use crate::config::{ServerLogin, TeamSettings};
use crate::pricing::PriceOverride;
use crate::proxy::gate::ModelRule;
use crate::proxy::gate::REQUEST_FLOOR_NANOS;
use crate::proxy::BudgetGate;

/// How often a session pushes its rows while it runs.
const UPLOAD_EVERY: Duration = Duration::from_secs(2);

pub struct TeamSession {
    gate: Arc<BudgetGate>,
    manager: Arc<LeaseManager>,
    uploader: Arc<Uploader>,
    notices: Arc<Notices>,
    key_id: String,
    prices: BTreeMap<String, PriceOverride>,
    org: Option<(String, Option<String>)>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl TeamSession {
    /// Checks the key and takes the first lease. Fails only when the server refuses the key;
    /// an unreachable server falls back on the offline policy (and says so in `notices`).
    pub async fn start(
        login: &ServerLogin,
        settings: TeamSettings,
        session_id: &str,
        ledger_path: PathBuf,
        notices: Arc<Notices>,
    ) -> Result<TeamSession, SyncError> {
        let key_id = crate::server::secret::key_id(&login.key)
            .ok_or_else(|| {
                SyncError::Config(
                    "the gw key is malformed (expected gwk_<id>_<secret>); run `gw login <url>` again or fix GW_KEY".into(),
                )
            })?
            .to_string();
        let client = ServerClient::new(login)?;
        // Unknown until the server says: a key's allow-list must hold while it is offline too.
        // Unknown prices are none: a model only the org prices stays unpriced (and refused
        // under the budget) until a session starts with the server reachable.
        let (models, prices, known, org) = match client.whoami().await {
            Ok(identity) => (
                ModelRule::from(identity.models),
                identity.prices,
                true,
                Some((identity.org, identity.team)),
            ),
            Err(e) if e.is_transient() => (ModelRule::Unknown, BTreeMap::new(), false, None),
            Err(e) => return Err(e),
        };
        let gate = BudgetGate::new(models, REQUEST_FLOOR_NANOS);
        let manager = LeaseManager::new(
            client.clone(),
            session_id.to_string(),
            gate.clone(),
            settings,
            notices.clone(),
        );
        manager.start().await;
        let uploader = Arc::new(Uploader::new(
            client.clone(),
            ledger_path,
            key_id.clone(),
            None,
        ));
        let (stop, stopped) = watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(manager.clone().run(stopped.clone())),
            tokio::spawn(upload_loop(uploader.clone(), stopped.clone())),
        ];
        if !known {
            tasks.push(tokio::spawn(learn_models(
                client.clone(),
                gate.clone(),
                stopped,
            )));
        }
        Ok(TeamSession {
            gate,
            manager,
            uploader,
            notices,
            key_id,
            prices,
            org,
            stop,
            tasks,
        })
    }

    /// The key's org and team, as whoami said at start (`None` when the server was unreachable).
    pub fn org(&self) -> Option<&(String, Option<String>)> {
        self.org.as_ref()
    }

    pub fn gate(&self) -> Arc<BudgetGate> {
        self.gate.clone()
    }

    /// The model prices the key's org set on the server, as whoami said at start (empty when
    /// the server was unreachable then).
    pub fn prices(&self) -> &BTreeMap<String, PriceOverride> {
        &self.prices
    }

    /// The key id rows of this session carry.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// After the proxy stopped and the ledger is flushed: the final sync, then the lease's
    /// release with what the session spent.
    pub async fn finish(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        let pushed = self
            .uploader
            .push_with_retries(3, Duration::from_secs(1), &|_| {})
            .await;
        match pushed {
            Ok(report) if report.quarantined > 0 => {
                self.notices.warn(
                    "quarantined",
                    format!(
                        "gw: the gw server refused {} request(s); they are kept in the ledger and not sent again (`gw sync` says why)",
                        report.quarantined
                    ),
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("final usage sync failed: {e}"),
        }
        match self.uploader.pending().await {
            Ok(0) => {}
            Ok(n) => {
                self.notices.warn(
                    "pending",
                    format!("gw: {n} request(s) are not synced to the gw server yet; `gw sync` sends them (so does the next gw run)"),
                );
            }
            Err(e) => tracing::warn!("cannot count unsynced rows: {e}"),
        }
        self.manager.release().await;
    }
}

/// Asks the server who the key is until it answers, then tells the gate which models it allows.
async fn learn_models(
    client: ServerClient,
    gate: Arc<BudgetGate>,
    mut stop: watch::Receiver<bool>,
) {
    let mut failures = 0u32;
    loop {
        let wait = plan::backoff(
            failures.max(1),
            Duration::from_secs(30),
            rand::random::<f64>(),
        )
        .max(Duration::from_secs(1));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        match client.whoami().await {
            Ok(identity) => {
                gate.set_models(identity.models);
                return;
            }
            Err(e) => {
                failures += 1;
                tracing::debug!("whoami failed ({e}); the allow-list stays unknown");
            }
        }
    }
}

async fn upload_loop(uploader: Arc<Uploader>, mut stop: watch::Receiver<bool>) {
    let mut failures = 0u32;
    loop {
        let wait = match failures {
            0 => UPLOAD_EVERY,
            n => plan::backoff(n, Duration::from_secs(30), rand::random::<f64>()).max(UPLOAD_EVERY),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        match uploader.push(&|_| {}).await {
            Ok(_) => failures = 0,
            Err(e) => {
                failures += 1;
                tracing::debug!("usage upload failed ({e}); retrying later");
            }
        }
    }
}
