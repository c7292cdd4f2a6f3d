//! `LeaseManager`: holds the session's budget lease on the gw server and feeds the proxy's
//! [`BudgetGate`]. It takes a lease at start, tops it up in the background when less than half
//! a lease is left (leases are sized by need: the first is an eighth of `lease_usd`, each
//! top-up twice what the session spent since the last, up to `lease_usd`), heartbeats (a renew
//! with no top-up) every third of the lease's TTL, answers the gate's synchronous top-up when
//! the gate runs dry, applies the offline policy when the server is unreachable, and releases
//! the lease at exit with what the session spent.
//!
//! The gate's `granted` is always `base + lease granted + offline allowance`, where `base` is
//! what the session had charged when its current lease began (a lease that expires is replaced;
//! the server charges each row to the lease the session held when the row started).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{Notices, ServerClient, SyncError};
use crate::api::BudgetStatus;
use crate::config::{OfflinePolicy, TeamSettings};
use crate::proxy::{BudgetGate, LeaseSource, Refusal};

/// How long a refusal from the server is reused before asking again.
const REFUSAL_FRESH: Duration = Duration::from_secs(1);
/// The retry-after of a 429 while other sessions hold what is left of a budget.
const RESERVED_RETRY_SECS: u64 = 2;
/// The smallest lease a session asks for: ten requests' floors.
const MIN_LEASE_NANOS: i64 = 10 * crate::proxy::gate::REQUEST_FLOOR_NANOS;

pub struct LeaseManager {
    client: ServerClient,
    session_id: String,
    gate: Arc<BudgetGate>,
    settings: TeamSettings,
    notices: Arc<Notices>,
    inner: tokio::sync::Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    lease: Option<Active>,
    base: i64,
    /// Set while the server is unreachable: the allowance granted in this outage.
    offline: Option<i64>,
    refused: Option<(Instant, Refusal)>,
    last_contact: Option<Instant>,
    /// What the gate had charged at the last grant: the spend since sizes the next ask.
    charged_at_grant: i64,
    /// What the request waiting for this top-up needs (a strict session's bound, else the
    /// floor): a refusal says whether the budget's unspent money could still cover it.
    need: i64,
}

struct Active {
    id: String,
    granted: i64,
    /// What the server has ingested against it, at the last renew.
    consumed: i64,
    expires: Instant,
    ttl: Duration,
}

impl LeaseManager {
    pub fn new(
        client: ServerClient,
        session_id: String,
        gate: Arc<BudgetGate>,
        settings: TeamSettings,
        notices: Arc<Notices>,
    ) -> Arc<LeaseManager> {
        gate.set_low_water(first_lease(&settings) / 2);
        // Until the server says, the gate acts as if a strict budget were over the session.
        gate.set_strict_unknown();
        let manager = Arc::new(LeaseManager {
            client,
            session_id,
            gate: gate.clone(),
            settings,
            notices,
            inner: tokio::sync::Mutex::new(Inner::default()),
        });
        gate.set_source(manager.clone());
        manager
    }

    /// Takes the first lease. Never fails: an exhausted budget or an unreachable server is
    /// recorded (and noticed) and the gate answers requests accordingly.
    pub async fn start(&self) {
        let mut inner = self.inner.lock().await;
        if let Err(refusal) = self.top_up(&mut inner, first_lease(&self.settings)).await {
            inner.refused = Some((Instant::now(), refusal));
        }
    }

    /// What to ask for next: twice what the session spent since its last grant, at least the
    /// first lease's size, at most `lease_usd`.
    fn next_ask(&self, inner: &Inner) -> i64 {
        let spent = self.gate.figures().charged - inner.charged_at_grant;
        spent.saturating_mul(2).clamp(
            first_lease(&self.settings),
            self.settings.lease_nanos.max(1),
        )
    }

    /// The background loop: top-ups, heartbeats, reconnects. Ends when `stop` turns true.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        loop {
            let wait = self.next_wait().await;
            tokio::select! {
                _ = self.gate.low() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            self.tick().await;
        }
    }

    async fn next_wait(&self) -> Duration {
        let inner = self.inner.lock().await;
        match (&inner.lease, inner.offline) {
            (_, Some(_)) => Duration::from_secs(2),
            (Some(l), None) => (l.ttl / 3).max(Duration::from_millis(500)),
            (None, None) => Duration::from_secs(5),
        }
    }

    async fn tick(&self) {
        let mut inner = self.inner.lock().await;
        // A lease the server has surely expired is no budget any more.
        if inner.offline.is_some()
            && inner
                .lease
                .as_ref()
                .is_some_and(|l| l.expires <= Instant::now())
        {
            self.drop_lease(&mut inner);
        }
        let recently_refused = inner
            .refused
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < Duration::from_secs(2));
        let ask = self.next_ask(&inner);
        // A strict session takes budget only for the request at hand (see `refill`): holding
        // more would keep it from the others.
        let low = self.gate.figures().available() < ask / 2 && !self.gate.is_strict();
        let heartbeat_due = match (&inner.lease, inner.last_contact) {
            (Some(l), Some(at)) => at.elapsed() >= l.ttl / 3,
            _ => true,
        };
        let amount = match &inner.lease {
            // No lease: reconnect (offline) or take one when the gate runs low.
            None if recently_refused || (inner.offline.is_none() && !low) => return,
            None => ask,
            Some(_) if low && !recently_refused => ask,
            Some(_) if heartbeat_due => 0,
            Some(_) => return,
        };
        if let Err(refusal) = self.top_up(&mut inner, amount).await {
            inner.refused = Some((Instant::now(), refusal));
        }
    }

    /// Renews (adding `amount`) or, without a live lease, creates one. Errors are the refusal the
    /// gate should answer with; the offline policy is applied here.
    async fn top_up(&self, inner: &mut Inner, amount: i64) -> Result<(), Refusal> {
        let asked = Instant::now();
        let result = match &inner.lease {
            Some(l) => match self.client.renew_lease(&l.id, amount, false).await {
                Ok(state) => {
                    self.gate.set_rates(&state.rates, asked, false);
                    let l = inner.lease.as_mut().expect("matched above");
                    l.granted = state.granted_nanos;
                    l.consumed = state.consumed_nanos;
                    self.gate.set_strict(state.strict);
                    l.ttl = Duration::from_secs(state.ttl_secs.max(1) as u64);
                    l.expires = Instant::now() + l.ttl;
                    Ok((state.added_nanos, state.limited_by))
                }
                Err(SyncError::LeaseGone(message)) => {
                    tracing::info!("lease gone ({message}); taking a new one");
                    self.drop_lease(inner);
                    self.create(inner, amount.max(first_lease(&self.settings)))
                        .await
                }
                Err(e) => Err(e),
            },
            None => {
                self.create(inner, amount.max(first_lease(&self.settings)))
                    .await
            }
        };
        match result {
            Ok((added, limited_by)) => {
                self.back_online(inner);
                self.apply(inner);
                if added > 0 {
                    inner.charged_at_grant = self.gate.figures().charged;
                    self.gate.set_low_water(amount / 2);
                }
                if amount > 0 && added == 0 {
                    return Err(self.exhausted_refusal(inner, limited_by.as_ref()));
                }
                Ok(())
            }
            Err(SyncError::BudgetExhausted { budget, .. }) => {
                // Learned without a lease: strict if this budget is (another may be too).
                if budget.strict {
                    self.gate.set_strict(true);
                }
                self.back_online(inner);
                Err(self.exhausted_refusal(inner, Some(&budget)))
            }
            Err(e) if e.is_transient() => {
                self.went_offline(inner, &e);
                self.offline_refill(inner)
            }
            Err(SyncError::Unauthorized(message)) => {
                self.notices.warn(
                    "unauthorized",
                    format!("gw: the gw server refused this session's key: {message}"),
                );
                Err(Refusal::new(
                    http::StatusCode::FORBIDDEN,
                    "permission_error",
                    "gw key refused",
                    format!("gw: the gw server refused this session's key: {message}; log in again with `gw login`"),
                ))
            }
            Err(e) => Err(Refusal::budget(
                "no budget lease",
                format!("gw: cannot get a budget lease from the gw server: {e}"),
            )),
        }
    }

    async fn create(
        &self,
        inner: &mut Inner,
        amount: i64,
    ) -> Result<(i64, Option<BudgetStatus>), SyncError> {
        let asked = Instant::now();
        let grant = self.client.create_lease(&self.session_id, amount).await?;
        self.gate.set_strict(grant.strict);
        self.gate.set_rates(&grant.rates, asked, true);
        let f = self.gate.figures();
        inner.base = f.charged;
        let ttl = Duration::from_secs(grant.ttl_secs.max(1) as u64);
        tracing::info!(lease = %grant.lease_id, granted = grant.granted_nanos, "budget lease taken");
        inner.lease = Some(Active {
            id: grant.lease_id,
            granted: grant.granted_nanos,
            consumed: 0,
            expires: Instant::now() + ttl,
            ttl,
        });
        Ok((grant.granted_nanos, grant.limited_by))
    }

    fn drop_lease(&self, inner: &mut Inner) {
        if inner.lease.take().is_some() {
            inner.base = self.gate.figures().charged;
            self.apply(inner);
        }
    }

    fn apply(&self, inner: &Inner) {
        let lease = inner.lease.as_ref().map_or(0, |l| l.granted);
        self.gate
            .set_granted(inner.base + lease + inner.offline.unwrap_or(0));
    }

    /// Why no more budget: a 429 to retry when the budget has unspent money enough for the
    /// request but other sessions' leases (or requests in flight) hold it, as it frees when
    /// they end; else the budget is spent, a 402.
    ///
    /// The server's figures lag this session's own: what it reserves for this lease, and what
    /// this session spent that it has not ingested yet, are taken out first.
    fn exhausted_refusal(&self, inner: &Inner, budget: Option<&BudgetStatus>) -> Refusal {
        if let Some(b) = budget {
            let (own_reserved, own_unsynced) = match &inner.lease {
                Some(l) => (
                    (l.granted - l.consumed).max(0),
                    (self.gate.figures().charged - inner.base - l.consumed).max(0),
                ),
                None => (0, 0),
            };
            let unspent = b
                .limit_nanos
                .saturating_sub(b.spent_nanos)
                .saturating_sub(own_unsynced);
            let held_elsewhere = b.reserved_nanos - own_reserved;
            if held_elsewhere > 0 && unspent >= inner.need.max(1) {
                return Refusal {
                    retry_after: Some(RESERVED_RETRY_SECS),
                    ..Refusal::new(
                        http::StatusCode::TOO_MANY_REQUESTS,
                        "rate_limit_error",
                        "budget held by other sessions",
                        format!(
                            "gw: {} left of {} is held by other sessions' requests in flight; retry in a few seconds",
                            crate::report::usd_readable(unspent),
                            b.reason()
                        ),
                    )
                };
            }
        }
        let (reason, message) = match budget {
            Some(b) => (b.reason(), format!("gw: {}", b.exhausted_message())),
            None => (
                "team budget".to_string(),
                "gw: the team budget is exhausted".to_string(),
            ),
        };
        self.notices.warn("exhausted", message.clone());
        Refusal::budget(reason, message)
    }

    fn went_offline(&self, inner: &mut Inner, e: &SyncError) {
        if inner.offline.is_none() {
            inner.offline = Some(0);
            let policy = match self.settings.offline {
                OfflinePolicy::Allow => format!(
                    "went on with an offline allowance of {} (offline = \"allow\")",
                    crate::report::usd_readable(self.settings.offline_allowance_nanos)
                ),
                OfflinePolicy::Deny => {
                    "spent only what its lease held (offline = \"deny\")".to_string()
                }
            };
            let first = e.to_string();
            let first = first.lines().next().unwrap_or_default();
            self.notices
                .warn("offline", format!("gw: {first}; this session {policy}"));
        }
    }

    fn back_online(&self, inner: &mut Inner) {
        inner.last_contact = Some(Instant::now());
        if inner.offline.take().is_some() {
            tracing::info!("the gw server is reachable again");
            self.apply(inner);
        }
    }

    fn offline_refill(&self, inner: &mut Inner) -> Result<(), Refusal> {
        let url = self.client.url();
        // An allowance would let spend pass a strict budget's limit (or one not known not to
        // be strict: a session that never reached the server).
        let policy = if !self.gate.known_not_strict() {
            OfflinePolicy::Deny
        } else {
            self.settings.offline
        };
        match policy {
            OfflinePolicy::Allow => {
                if inner.offline == Some(0) && self.settings.offline_allowance_nanos > 0 {
                    inner.offline = Some(self.settings.offline_allowance_nanos);
                    self.apply(inner);
                    return Ok(());
                }
                Err(Refusal::budget(
                    "gw server unreachable",
                    format!(
                        "gw: the gw server at {url} is unreachable and this session's offline allowance of {} is spent (offline = \"allow\"); requests resume when the server is back",
                        crate::report::usd_readable(self.settings.offline_allowance_nanos)
                    ),
                ))
            }
            OfflinePolicy::Deny => Err(Refusal::budget(
                "gw server unreachable",
                format!(
                    "gw: cannot check the budget: the gw server at {url} is unreachable and the offline policy is \"deny\"; requests resume when the server is back"
                ),
            )),
        }
    }

    /// Returns the lease's remainder to the budgets, reporting what the session spent under it.
    /// Call after the final sync, so the server has the rows too.
    pub async fn release(&self) {
        let mut inner = self.inner.lock().await;
        self.release_lease(&mut inner).await;
    }

    async fn release_lease(&self, inner: &mut Inner) {
        let Some(lease) = inner.lease.take() else {
            return;
        };
        let charged = self.gate.figures().charged;
        let spent = charged - inner.base;
        inner.base = charged;
        self.apply(inner);
        match self.client.release_lease(&lease.id, spent).await {
            Ok(r) => {
                tracing::info!(lease = %lease.id, spent = r.spent_nanos, returned = r.returned_nanos, "budget lease released")
            }
            Err(e) => {
                tracing::warn!(lease = %lease.id, "cannot release the lease ({e}); it expires on its own")
            }
        }
    }
}

/// A session's first lease: an eighth of `lease_usd`, at least [`MIN_LEASE_NANOS`] (or all of a
/// smaller `lease_usd`).
fn first_lease(settings: &TeamSettings) -> i64 {
    (settings.lease_nanos / 8)
        .max(MIN_LEASE_NANOS)
        .min(settings.lease_nanos.max(1))
}

impl LeaseManager {
    /// Asks the server for more of the rate limits (a new lease takes its shares as it is
    /// made). A server that cannot be asked leaves the shares as they are: the gate answers 429.
    async fn ask_rates(&self) -> Result<(), Refusal> {
        let mut inner = self.inner.lock().await;
        let Some(lease) = &inner.lease else {
            let ask = self.next_ask(&inner);
            return self.top_up(&mut inner, ask).await;
        };
        let asked = Instant::now();
        match self.client.renew_lease(&lease.id, 0, true).await {
            Ok(state) => {
                self.gate.set_rates(&state.rates, asked, false);
                self.back_online(&mut inner);
                Ok(())
            }
            Err(SyncError::LeaseGone(_)) => {
                self.drop_lease(&mut inner);
                let ask = self.next_ask(&inner);
                self.top_up(&mut inner, ask).await
            }
            Err(e) => {
                tracing::info!("cannot ask for more of the rate limits: {e}");
                Ok(())
            }
        }
    }
}

impl LeaseSource for LeaseManager {
    fn rate_refill(&self) -> Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + '_>> {
        Box::pin(self.ask_rates())
    }

    fn refill(&self, need: i64) -> Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + '_>> {
        Box::pin(async move {
            let mut inner = self.inner.lock().await;
            if let Some((at, refusal)) = &inner.refused {
                if at.elapsed() < REFUSAL_FRESH {
                    return Err(refusal.clone());
                }
            }
            inner.need = need;
            let ask = if self.gate.is_strict() {
                (need - self.gate.figures().available()).max(MIN_LEASE_NANOS)
            } else {
                self.next_ask(&inner).max(need)
            };
            let result = self.top_up(&mut inner, ask).await;
            // A strict session that must wait for others, or got less than its request needs,
            // gives back what it holds idle: sessions each holding part of what one needs would
            // wait for each other forever, and one request too big for the budget must not keep
            // what it was granted from the others.
            let short = match &result {
                Err(r) => r.status == http::StatusCode::TOO_MANY_REQUESTS,
                Ok(()) => self.gate.figures().available() < need,
            };
            if short && self.gate.is_strict() && self.gate.close_if_idle() {
                self.release_lease(&mut inner).await;
            }
            inner.refused = result.as_ref().err().map(|r| (Instant::now(), r.clone()));
            result
        })
    }
}
