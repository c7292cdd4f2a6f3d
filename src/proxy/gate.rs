//! The budget gate: decides, before a request is forwarded, whether the session may spend on it,
//! against the budget lease the session holds (team mode), with no round trip per request.
//!
//! Bookkeeping: `available = granted − charged − reserved`. `granted` is what the leases (or the
//! offline allowance) give the session, `charged` the cost of finished requests, `reserved` a
//! small floor per request in flight. A request starts only while `available > 0`, so a session
//! overshoots its lease by at most what its requests in flight cost beyond their floors. When the
//! gate runs dry it asks its [`LeaseSource`] for more once (single-flight: concurrent requests
//! wait for the same top-up) before refusing with the source's reason.
//!
//! A strict gate (a strict budget is over the session) reserves each request's upper-bound
//! cost instead of the floor and admits it only when that fits what is available: the
//! session's spend then never passes what its leases granted, and so the budget's never passes
//! its limit.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use http::StatusCode;
use tokio::sync::Notify;

/// What each request in flight reserves of the session's budget: $0.001.
pub const REQUEST_FLOOR_NANOS: i64 = 1_000_000;

/// Why a request may not go upstream: the status, error kind and message the agent sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    /// Seconds, for a 429.
    pub retry_after: Option<u64>,
    /// Why, in a few words for the session's summary: `daily budget`, `model not allowed`.
    pub reason: Cow<'static, str>,
    /// A rate limit's: which count is spent (`requests` or `tokens`), for the provider's own
    /// rate-limit headers.
    pub rate_limited: Option<&'static str>,
}

impl Refusal {
    pub fn new(
        status: StatusCode,
        kind: &'static str,
        reason: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Refusal {
        Refusal {
            status,
            kind,
            message: message.into(),
            retry_after: None,
            reason: reason.into(),
            rate_limited: None,
        }
    }

    /// 402: a budget is spent (or cannot be checked under a fail-closed policy).
    pub fn budget(reason: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Refusal {
        Refusal::new(
            StatusCode::PAYMENT_REQUIRED,
            "budget_exhausted",
            reason,
            message,
        )
    }
}

/// How many requests gw refused in a session, by reason: for the summary line.
#[derive(Debug, Default)]
pub struct Refusals(Mutex<BTreeMap<String, u64>>);

impl Refusals {
    pub fn count(&self, reason: &str) {
        let mut counts = self.0.lock().unwrap();
        match counts.get_mut(reason) {
            Some(n) => *n += 1,
            None => {
                counts.insert(reason.to_string(), 1);
            }
        }
    }

    /// `12 refused (daily budget)`, `3 refused (2 daily budget, 1 model not allowed)`, or
    /// `None` when nothing was refused.
    pub fn summary(&self) -> Option<String> {
        let counts = self.0.lock().unwrap();
        let total: u64 = counts.values().sum();
        match counts.len() {
            0 => None,
            1 => counts
                .keys()
                .next()
                .map(|reason| format!("{total} refused ({reason})")),
            _ => {
                let mut parts: Vec<(&u64, &String)> = counts.iter().map(|(r, n)| (n, r)).collect();
                parts.sort_by(|a, b| b.0.cmp(a.0).then(a.1.cmp(b.1)));
                let parts: Vec<String> = parts.iter().map(|(n, r)| format!("{n} {r}")).collect();
                Some(format!("{total} refused ({})", parts.join(", ")))
            }
        }
    }
}

/// Where the gate gets more budget: the session's lease manager.
pub trait LeaseSource: Send + Sync {
    /// Tops the gate up (through [`BudgetGate::set_granted`]) by at least `need` nano-dollars
    /// where it can, or says why it cannot.
    fn refill(&self, need: i64) -> Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + '_>>;

    /// Asks for more of the rate limits (through [`BudgetGate::set_rates`]): the session spent
    /// its share, or a window turned. Sources without rate limits have nothing to ask.
    fn rate_refill(&self) -> Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + '_>> {
        Box::pin(async { Ok(()) })
    }
}

/// A session's share of one rate limit in its current window.
#[derive(Debug, Clone)]
struct LocalRate {
    limit_id: i64,
    name: String,
    window_start_us: i64,
    window_end: std::time::Instant,
    requests: Option<i64>,
    tokens: Option<i64>,
    used_requests: i64,
    used_tokens: i64,
}

impl LocalRate {
    /// Spent, or its window is over: the session must ask again before sending.
    fn blocked(&self, now: std::time::Instant) -> bool {
        now >= self.window_end
            || self.requests.is_some_and(|n| self.used_requests >= n)
            || self.tokens.is_some_and(|n| self.used_tokens >= n)
    }
}

const STRICT_NO: u8 = 0;
const STRICT_YES: u8 = 1;
const STRICT_UNKNOWN: u8 = 2;

/// A request's upper-bound cost, for a strict gate, and how it was reckoned (for a refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub nanos: i64,
    pub reckoned: String,
}

/// Figures of a gate at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateFigures {
    pub granted: i64,
    pub charged: i64,
    pub reserved: i64,
    pub in_flight: u32,
}

impl GateFigures {
    pub fn available(&self) -> i64 {
        self.granted - self.charged - self.reserved
    }
}

/// Which models a session's key may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRule {
    Any,
    /// Only these; an entry ending in `*` is a prefix.
    Only(Vec<String>),
    /// Not known yet (the server did not answer at start): nothing metered passes until it is.
    Unknown,
}

impl ModelRule {
    /// Whether `model` may be used (never while the rule is unknown).
    pub fn allows(&self, model: &str) -> bool {
        match self {
            ModelRule::Any => true,
            ModelRule::Unknown => false,
            ModelRule::Only(list) => list.iter().any(|m| match m.strip_suffix('*') {
                Some(prefix) => model.starts_with(prefix),
                None => m == model,
            }),
        }
    }
}

impl From<Option<Vec<String>>> for ModelRule {
    fn from(models: Option<Vec<String>>) -> ModelRule {
        models.map_or(ModelRule::Any, ModelRule::Only)
    }
}

pub struct BudgetGate {
    figures: Mutex<GateFigures>,
    models: Mutex<ModelRule>,
    /// Reserved per request in flight.
    floor: i64,
    source: OnceLock<Arc<dyn LeaseSource>>,
    refilling: tokio::sync::Mutex<()>,
    /// Wakes the lease manager when a charge leaves less than `low_water` available.
    low: Notify,
    low_water: Mutex<i64>,
    /// [`STRICT_NO`], [`STRICT_YES`] or [`STRICT_UNKNOWN`].
    strict: std::sync::atomic::AtomicU8,
    rates: Mutex<Vec<LocalRate>>,
    /// Until when a spent share is answered 429 without asking the server (it just said none).
    rate_quiet_until: Mutex<Option<std::time::Instant>>,
}

impl BudgetGate {
    pub fn new(models: impl Into<ModelRule>, floor: i64) -> Arc<BudgetGate> {
        Arc::new(BudgetGate {
            figures: Mutex::new(GateFigures::default()),
            models: Mutex::new(models.into()),
            floor: floor.max(0),
            source: OnceLock::new(),
            refilling: tokio::sync::Mutex::new(()),
            low: Notify::new(),
            low_water: Mutex::new(0),
            strict: std::sync::atomic::AtomicU8::new(STRICT_NO),
            rates: Mutex::new(Vec::new()),
            rate_quiet_until: Mutex::new(None),
        })
    }

    /// Sets the session's shares of its rate limits (what the server granted its lease in each
    /// limit's current window, asked at `asked`: a window's end is counted from before the
    /// question, never after the answer). What it used in the same window is kept, unless the
    /// shares are a new lease's (its grants are its own).
    pub fn set_rates(
        &self,
        allowances: &[crate::api::RateAllowance],
        asked: std::time::Instant,
        new_lease: bool,
    ) {
        let now = asked;
        let mut rates = self.rates.lock().unwrap();
        if new_lease {
            rates.clear();
        }
        *self.rate_quiet_until.lock().unwrap() = None;
        let next = allowances
            .iter()
            .map(|a| {
                let used = rates
                    .iter()
                    .find(|r| r.limit_id == a.limit_id && r.window_start_us == a.window_start_us)
                    .map_or((0, 0), |r| (r.used_requests, r.used_tokens));
                LocalRate {
                    limit_id: a.limit_id,
                    name: a.name.clone(),
                    window_start_us: a.window_start_us,
                    window_end: now
                        + std::time::Duration::from_millis(a.resets_in_ms.max(0) as u64),
                    requests: a.requests,
                    tokens: a.tokens,
                    used_requests: used.0,
                    used_tokens: used.1,
                }
            })
            .collect();
        *rates = next;
    }

    /// Counts a request against every rate limit, unless one is spent (or its window over):
    /// the windows it was counted in, to give back exactly those.
    fn take_request(&self) -> Option<Vec<(i64, i64)>> {
        let now = std::time::Instant::now();
        let mut rates = self.rates.lock().unwrap();
        if rates.iter().any(|r| r.blocked(now)) {
            return None;
        }
        for r in rates.iter_mut() {
            r.used_requests += 1;
        }
        Some(
            rates
                .iter()
                .map(|r| (r.limit_id, r.window_start_us))
                .collect(),
        )
    }

    /// Gives back a request counted in `taken` (the budget refused it), in those windows only.
    fn give_back_request(&self, taken: &[(i64, i64)]) {
        for r in self.rates.lock().unwrap().iter_mut() {
            if taken.contains(&(r.limit_id, r.window_start_us)) {
                r.used_requests = (r.used_requests - 1).max(0);
            }
        }
    }

    /// Whether the server just said there is no more in these windows: until the first of them
    /// ends (or a second passes), a spent share is a 429 without asking again.
    fn rate_quiet(&self) -> bool {
        self.rate_quiet_until
            .lock()
            .unwrap()
            .is_some_and(|until| std::time::Instant::now() < until)
    }

    fn quiet_rates(&self) {
        let now = std::time::Instant::now();
        let end = self
            .rates
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.blocked(now))
            .map(|r| r.window_end)
            .min();
        let second = now + std::time::Duration::from_secs(1);
        *self.rate_quiet_until.lock().unwrap() = Some(end.map_or(second, |e| e.max(second)));
    }

    /// A 429 for the first spent limit: its name and the seconds until its window ends.
    fn rate_refusal(&self) -> Refusal {
        let now = std::time::Instant::now();
        let rates = self.rates.lock().unwrap();
        let spent = rates.iter().find(|r| r.blocked(now));
        let dimension = match spent {
            Some(r) if r.tokens.is_some_and(|n| r.used_tokens >= n) => "tokens",
            _ => "requests",
        };
        let (name, wait) = spent.map_or(("a rate limit".to_string(), 1), |r| {
            let wait = r.window_end.saturating_duration_since(now);
            (
                r.name.clone(),
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            )
        });
        Refusal {
            retry_after: Some(wait.max(1)),
            rate_limited: Some(dimension),
            ..Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "rate limit",
                // OpenAI's wording, which Codex reads its back-off from.
                format!(
                    "gw: the rate limit {name} is reached. Please try again in {}s.",
                    wait.max(1)
                ),
            )
        }
    }

    /// A strict budget is over the session (see the module doc), as the server said.
    pub fn set_strict(&self, strict: bool) {
        let state = if strict { STRICT_YES } else { STRICT_NO };
        self.strict
            .store(state, std::sync::atomic::Ordering::Relaxed);
    }

    /// The server has not said yet whether a strict budget is over the session (team mode, before
    /// its first answer): the gate acts as strict until it has.
    pub fn set_strict_unknown(&self) {
        self.strict
            .store(STRICT_UNKNOWN, std::sync::atomic::Ordering::Relaxed);
    }

    /// Strict, or not known not to be: fail closed.
    pub fn is_strict(&self) -> bool {
        self.strict.load(std::sync::atomic::Ordering::Relaxed) != STRICT_NO
    }

    /// Known not to be strict (the server said so).
    pub fn known_not_strict(&self) -> bool {
        self.strict.load(std::sync::atomic::Ordering::Relaxed) == STRICT_NO
    }

    pub fn set_source(&self, source: Arc<dyn LeaseSource>) {
        let _ = self.source.set(source);
    }

    /// Sets the models the key may use, once the server has said.
    pub fn set_models(&self, models: impl Into<ModelRule>) {
        *self.models.lock().unwrap() = models.into();
    }

    pub fn model_allowed(&self, model: &str) -> bool {
        self.models.lock().unwrap().allows(model)
    }

    /// Why `model` may not be used, if it may not (`None`: a request that names no model,
    /// which only a gate without an allow-list admits).
    fn model_refusal(&self, model: Option<&str>) -> Option<Refusal> {
        let rule = self.models.lock().unwrap();
        let forbidden = |message: String| {
            Refusal::new(
                StatusCode::FORBIDDEN,
                "permission_error",
                "model not allowed",
                message,
            )
        };
        match (&*rule, model) {
            (ModelRule::Any, _) => None,
            (ModelRule::Unknown, _) => Some(Refusal {
                retry_after: Some(5),
                ..Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "api_error",
                    "allowed models not known yet",
                    "gw: this session cannot check which models its gw key allows yet (the gw server did not answer); gw keeps asking, try again shortly",
                )
            }),
            (ModelRule::Only(list), None) => Some(forbidden(format!(
                "gw: this request names no model gw can check, and this gw key allows only {}",
                list.join(", ")
            ))),
            (ModelRule::Only(list), Some(model)) if !rule.allows(model) => {
                Some(forbidden(format!(
                    "gw: model `{model}` is not allowed for this gw key (allowed: {}); pick one of those, or ask an admin to allow it",
                    list.join(", ")
                )))
            }
            (ModelRule::Only(_), Some(_)) => None,
        }
    }

    pub fn figures(&self) -> GateFigures {
        *self.figures.lock().unwrap()
    }

    /// Sets what the session may spend in total (leases and allowances so far).
    pub fn set_granted(&self, granted: i64) {
        self.figures.lock().unwrap().granted = granted;
    }

    /// Below this much available, each charge wakes the lease manager (see [`Self::low`]).
    pub fn set_low_water(&self, nanos: i64) {
        *self.low_water.lock().unwrap() = nanos;
    }

    /// Resolves when a charge left the gate below its low-water mark.
    pub async fn low(&self) {
        self.low.notified().await
    }

    /// Admits a request for `model` (when known), topping up once if the gate is dry. A strict
    /// gate reserves `bound` (and refuses a request without one); the others the floor.
    pub async fn admit(
        self: &Arc<Self>,
        model: Option<&str>,
        bound: Option<&Bound>,
    ) -> Result<Ticket, Refusal> {
        if let Some(refusal) = self.model_refusal(model) {
            return Err(refusal);
        }
        let taken = self.take_request_or_ask().await?;
        let admitted = self.admit_budget(bound).await;
        if admitted.is_err() {
            self.give_back_request(&taken);
        }
        admitted
    }

    /// Counts a request against the rate limits ([`BudgetGate::take_request`]), asking the
    /// source for more once (single-flight) when a share is spent, unless the server just said
    /// there is none; a 429 when there is none.
    async fn take_request_or_ask(&self) -> Result<Vec<(i64, i64)>, Refusal> {
        if let Some(taken) = self.take_request() {
            return Ok(taken);
        }
        if self.rate_quiet() {
            return Err(self.rate_refusal());
        }
        let _one_at_a_time = self.refilling.lock().await;
        if let Some(taken) = self.take_request() {
            return Ok(taken);
        }
        if let Some(source) = self.source.get() {
            source.rate_refill().await?;
        }
        self.take_request().ok_or_else(|| {
            // Nothing more in this window: an agent flooding requests gets its 429s here, not a
            // server round trip each.
            self.quiet_rates();
            self.rate_refusal()
        })
    }

    /// The budget half of [`BudgetGate::admit`].
    async fn admit_budget(self: &Arc<Self>, bound: Option<&Bound>) -> Result<Ticket, Refusal> {
        let strict = self.is_strict();
        let need = match (strict, bound) {
            (false, _) => self.floor,
            (true, Some(bound)) => bound.nanos.max(self.floor),
            (true, None) => {
                return Err(Refusal::budget(
                    "strict budget",
                    "gw: a strict budget is over this session and gw cannot bound what this request may cost (it knows no price or output limit for its model), so it does not forward it",
                ))
            }
        };
        if let Some(ticket) = self.try_reserve(need, strict) {
            return Ok(ticket);
        }
        let _one_at_a_time = self.refilling.lock().await;
        if let Some(ticket) = self.try_reserve(need, strict) {
            return Ok(ticket);
        }
        let Some(source) = self.source.get() else {
            return Err(match bound.filter(|_| strict) {
                Some(bound) => self.strict_refusal(bound),
                None => Refusal::budget("no budget lease", "gw: this session has no budget lease"),
            });
        };
        source.refill(need).await?;
        if let Some(ticket) = self.try_reserve(need, strict) {
            return Ok(ticket);
        }
        match bound.filter(|_| strict) {
            Some(bound) => Err(self.strict_refusal(bound)),
            None => Err(Refusal::budget(
                "budget",
                "gw: the budget lease ran out; try again",
            )),
        }
    }

    /// A strict gate's 402 for a request whose bound does not fit what is left.
    fn strict_refusal(&self, bound: &Bound) -> Refusal {
        Refusal::budget(
            "strict budget",
            format!(
                "gw: this request may cost up to {} ({}), and the strict budget over this session has {} left for it: a strict budget never admits a request that might pass its limit. Set a lower output limit (max_tokens), send less, or ask an admin to raise the budget",
                crate::report::usd_readable(bound.nanos),
                bound.reckoned,
                crate::report::usd_readable(self.figures().available().max(0))
            ),
        )
    }

    /// Closes an idle gate (nothing in flight) to new requests before its lease is given back,
    /// so no request is admitted on a lease the server no longer holds for it.
    pub fn close_if_idle(&self) -> bool {
        let mut f = self.figures.lock().unwrap();
        if f.in_flight > 0 {
            return false;
        }
        f.granted = f.charged;
        true
    }

    /// Reserves `amount` when the gate has it (strict), or has anything left (otherwise).
    fn try_reserve(self: &Arc<Self>, amount: i64, strict: bool) -> Option<Ticket> {
        let mut f = self.figures.lock().unwrap();
        let available = f.available();
        if available <= 0 || (strict && available < amount) {
            return None;
        }
        f.reserved += amount;
        f.in_flight += 1;
        Some(Ticket {
            gate: self.clone(),
            reserved: amount,
            settled: false,
        })
    }

    fn settle(&self, reserved: i64, cost: i64) {
        let available = {
            let mut f = self.figures.lock().unwrap();
            f.reserved -= reserved;
            f.in_flight = f.in_flight.saturating_sub(1);
            f.charged += cost.max(0);
            f.available()
        };
        if available < *self.low_water.lock().unwrap() {
            self.low.notify_one();
        }
    }
}

/// A request's claim on the gate: settled with its cost when the request is recorded, or
/// released with no cost if dropped unsettled.
pub struct Ticket {
    gate: Arc<BudgetGate>,
    reserved: i64,
    settled: bool,
}

impl Ticket {
    pub fn settle(mut self, cost_nanos: i64) {
        self.settled = true;
        self.gate.settle(self.reserved, cost_nanos);
    }

    /// Settles a request cut before its usage was all read: under a strict budget at its
    /// reserved bound at least (the upstream may bill the whole answer), otherwise as read.
    pub fn settle_cut(self, cost_nanos: i64, tokens: u64) {
        let cost = if self.gate.is_strict() {
            cost_nanos.max(self.reserved)
        } else {
            cost_nanos
        };
        self.settle_usage(cost, tokens);
    }

    /// Settles with the cost and counts the tokens against the rate limits.
    pub fn settle_usage(self, cost_nanos: i64, tokens: u64) {
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        for r in self.gate.rates.lock().unwrap().iter_mut() {
            r.used_tokens = r.used_tokens.saturating_add(tokens);
        }
        self.settle(cost_nanos);
    }

    /// Settles a request whose cost gw could not read at everything the gate still had
    /// available (its own reservation included), so the session asks its source for more.
    pub fn settle_all_available(self) {
        // Its tokens are unknown too: the token shares are spent.
        for r in self.gate.rates.lock().unwrap().iter_mut() {
            if let Some(tokens) = r.tokens {
                r.used_tokens = r.used_tokens.max(tokens);
            }
        }
        let available = self.gate.figures().available() + self.reserved;
        self.settle(available.max(0));
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.settled {
            self.gate.settle(self.reserved, 0);
        }
    }
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("reserved", &self.reserved)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Source {
        gate: std::sync::Weak<BudgetGate>,
        calls: AtomicUsize,
        grant: i64,
    }

    impl LeaseSource for Source {
        fn refill(
            &self,
            _need: i64,
        ) -> Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + '_>> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                let gate = self.gate.upgrade().unwrap();
                if self.grant == 0 {
                    return Err(Refusal::budget(
                        "team daily budget",
                        "team budget `t` is exhausted",
                    ));
                }
                let granted = gate.figures().granted;
                gate.set_granted(granted + self.grant);
                Ok(())
            })
        }
    }

    fn gate_with(grant: i64) -> (Arc<BudgetGate>, Arc<Source>) {
        let gate = BudgetGate::new(Some(vec!["claude-*".into(), "gpt-5".into()]), 10);
        let source = Arc::new(Source {
            gate: Arc::downgrade(&gate),
            calls: AtomicUsize::new(0),
            grant,
        });
        gate.set_source(source.clone());
        (gate, source)
    }

    #[tokio::test]
    async fn spends_the_lease_then_tops_up_once_then_refuses() {
        let (gate, source) = gate_with(0);
        gate.set_granted(100);
        let a = gate.admit(Some("claude-sonnet-4-5"), None).await.unwrap();
        let b = gate.admit(Some("gpt-5"), None).await.unwrap();
        assert_eq!(gate.figures().reserved, 20);
        a.settle(60);
        b.settle(45); // overshoot by what was in flight
        let f = gate.figures();
        assert_eq!((f.charged, f.reserved, f.in_flight), (105, 0, 0));
        let refused = gate.admit(Some("gpt-5"), None).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::PAYMENT_REQUIRED);
        assert!(refused.message.contains("exhausted"));
        assert_eq!(source.calls.load(Ordering::SeqCst), 1, "one top-up try");
    }

    #[tokio::test]
    async fn an_unreadable_cost_spends_what_was_left() {
        let (gate, _) = gate_with(0);
        gate.set_granted(100);
        let other = gate.admit(Some("gpt-5"), None).await.unwrap();
        let unread = gate.admit(Some("gpt-5"), None).await.unwrap();
        unread.settle_all_available();
        let f = gate.figures();
        assert_eq!(
            (f.charged, f.available()),
            (90, 0),
            "all but the other's floor"
        );
        assert!(
            gate.admit(Some("gpt-5"), None).await.is_err(),
            "refused once dry"
        );
        other.settle(10);
        assert_eq!(gate.figures().available(), 0);
    }

    #[test]
    fn refusals_are_summed_by_reason() {
        let refusals = Refusals::default();
        assert_eq!(refusals.summary(), None);
        for _ in 0..12 {
            refusals.count("daily budget");
        }
        assert_eq!(refusals.summary().unwrap(), "12 refused (daily budget)");
        refusals.count("model not allowed");
        assert_eq!(
            refusals.summary().unwrap(),
            "13 refused (12 daily budget, 1 model not allowed)"
        );
    }

    #[tokio::test]
    async fn a_dry_gate_is_refilled_and_dropped_tickets_cost_nothing() {
        let (gate, source) = gate_with(50);
        let t = gate.admit(Some("gpt-5"), None).await.unwrap();
        assert_eq!(source.calls.load(Ordering::SeqCst), 1);
        drop(t);
        let f = gate.figures();
        assert_eq!((f.granted, f.charged, f.reserved), (50, 0, 0));
    }

    #[tokio::test]
    async fn models_outside_the_allow_list_are_forbidden() {
        let (gate, _) = gate_with(50);
        let refused = gate.admit(Some("gpt-4.1"), None).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.message.contains("gpt-4.1"));
        assert!(gate.model_allowed("gpt-5"));
        assert!(gate.model_allowed("claude-opus-4-1"));
        assert!(!gate.model_allowed("gpt-5-mini"));
        assert!(BudgetGate::new(None, 0).model_allowed("anything"));
        let refused = gate.admit(None, None).await.unwrap_err();
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "no model, allow-list set"
        );
    }

    #[tokio::test]
    async fn an_unknown_allow_list_refuses_until_it_is_known() {
        let (gate, _) = gate_with(50);
        gate.set_models(ModelRule::Unknown);
        let refused = gate
            .admit(Some("claude-sonnet-4-5"), None)
            .await
            .unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.retry_after.is_some());
        gate.set_models(None);
        assert!(gate.admit(Some("claude-sonnet-4-5"), None).await.is_ok());
    }
}

#[cfg(test)]
mod strict_tests {
    use super::*;

    fn bound(nanos: i64) -> Bound {
        Bound {
            nanos,
            reckoned: "test".into(),
        }
    }

    /// A strict gate reserves each request's bound and admits it only when that fits: what it
    /// spends can never pass what it was granted.
    #[tokio::test]
    async fn a_strict_gate_admits_only_what_fits_its_bound() {
        let gate = BudgetGate::new(None, 10);
        gate.set_strict(true);
        gate.set_granted(100);
        let a = gate.admit(Some("m"), Some(&bound(60))).await.unwrap();
        assert_eq!(gate.figures().reserved, 60);
        // 40 left: a bound of 50 does not fit, whatever it will really cost.
        let refused = gate.admit(Some("m"), Some(&bound(50))).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::PAYMENT_REQUIRED);
        assert_eq!(refused.reason, "strict budget");
        let b = gate.admit(Some("m"), Some(&bound(40))).await.unwrap();
        a.settle(55);
        b.settle(40);
        let f = gate.figures();
        assert_eq!((f.charged, f.reserved, f.available()), (95, 0, 5));
        assert!(f.charged <= f.granted);
        // No bound: refused, never admitted at the floor.
        let refused = gate.admit(Some("m"), None).await.unwrap_err();
        assert!(
            refused.message.contains("cannot bound"),
            "{}",
            refused.message
        );
        // Not strict: the floor is enough.
        gate.set_strict(false);
        assert!(gate.admit(Some("m"), Some(&bound(50))).await.is_ok());
    }

    struct Grants(std::sync::Weak<BudgetGate>, std::sync::Mutex<Vec<i64>>);

    impl LeaseSource for Grants {
        fn refill(
            &self,
            need: i64,
        ) -> Pin<Box<dyn Future<Output = Result<(), Refusal>> + Send + '_>> {
            Box::pin(async move {
                self.1.lock().unwrap().push(need);
                let gate = self.0.upgrade().unwrap();
                let granted = gate.figures().granted;
                gate.set_granted(granted + 30);
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn a_strict_gate_asks_its_source_for_what_the_request_needs_and_says_what_is_left() {
        let gate = BudgetGate::new(None, 10);
        gate.set_strict(true);
        let grants = Arc::new(Grants(Arc::downgrade(&gate), Default::default()));
        gate.set_source(grants.clone());
        gate.set_granted(20);
        // 20 + 30 = 50 after the refill: enough for 45.
        let t = gate.admit(Some("m"), Some(&bound(45))).await.unwrap();
        t.settle(45);
        // 5 left + 30 = 35: not enough for 70.
        let refused = gate.admit(Some("m"), Some(&bound(70))).await.unwrap_err();
        assert!(
            refused.message.contains("strict budget") && refused.message.contains("test"),
            "{}",
            refused.message
        );
        assert_eq!(*grants.1.lock().unwrap(), vec![45, 70]);
    }
}

#[cfg(test)]
mod rate_tests {
    use super::*;
    use crate::api::RateAllowance;

    fn allowance(requests: Option<i64>, tokens: Option<i64>, resets_in_ms: i64) -> RateAllowance {
        RateAllowance {
            limit_id: 1,
            name: "team acme/backend: 2 requests per 60 s".into(),
            window_start_us: 0,
            window_secs: 60,
            resets_in_ms,
            requests,
            tokens,
        }
    }

    /// A session spends its share of a rate limit locally: past it (or past its window) it asks
    /// its source once, and without more it answers 429 with the seconds to the window's end.
    #[tokio::test]
    async fn a_spent_rate_share_is_a_429_until_the_window_turns() {
        let gate = BudgetGate::new(None, 0);
        gate.set_granted(i64::MAX / 2);
        gate.set_rates(
            &[allowance(Some(2), None, 30_000)],
            std::time::Instant::now(),
            true,
        );
        let a = gate.admit(Some("m"), None).await.unwrap();
        let b = gate.admit(Some("m"), None).await.unwrap();
        let refused = gate.admit(Some("m"), None).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.kind, "rate_limit_error");
        let wait = refused.retry_after.unwrap();
        assert!((29..=30).contains(&wait), "{wait}");
        assert!(
            refused.message.contains("acme/backend"),
            "{}",
            refused.message
        );
        // A request the budget refuses gives its count back.
        drop((a, b));
        // More granted in the same window: the used count is kept.
        gate.set_rates(
            &[allowance(Some(3), None, 30_000)],
            std::time::Instant::now(),
            false,
        );
        assert!(gate.admit(Some("m"), None).await.is_ok());
        assert!(gate.admit(Some("m"), None).await.is_err());
        // Tokens: counted when a request settles.
        gate.set_rates(
            &[allowance(None, Some(1_000), 30_000)],
            std::time::Instant::now(),
            false,
        );
        let t = gate.admit(Some("m"), None).await.unwrap();
        t.settle_usage(0, 1_500);
        let refused = gate.admit(Some("m"), None).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        // A window that is over must be asked again.
        gate.set_rates(
            &[RateAllowance {
                window_start_us: 60_000_000,
                ..allowance(Some(5), None, 0)
            }],
            std::time::Instant::now(),
            false,
        );
        assert_eq!(
            gate.admit(Some("m"), None).await.unwrap_err().status,
            StatusCode::TOO_MANY_REQUESTS
        );
    }
}
