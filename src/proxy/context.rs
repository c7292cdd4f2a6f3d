//! The per-request context: everything known about one proxied request, finished into exactly
//! one ledger row in one place, whether the request succeeded, failed or was cut off.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use crate::ledger::{Row, WriterHandle};
use crate::meter::{path_model, Billing, Extracted, Protocol, Provider, RequestInfo};
use crate::pricing::{PriceTable, UnpricedPolicy};

use super::metering::MeterFeed;
use super::route;

/// Shared by every request of a proxy: where rows go and how they are priced and attributed.
pub struct Recorder {
    pub writer: WriterHandle,
    /// Fixed for the recorder's life: [`PriceMemo`] holds answers read from it.
    prices: PriceTable,
    pub attribution: Arc<crate::ledger::Attribution>,
    /// How a model without a price is charged (`[proxy] unpriced`).
    pub unpriced: UnpricedPolicy,
    open: Arc<OpenRequests>,
    memo: std::sync::Mutex<PriceMemo>,
}

/// The prices of models a proxy's requests named. Resolving a name (its normalised candidates,
/// looked up section by section) cost more instructions than the rest of pricing a request
/// together (callgrind, `GW_BENCH_CALLGRIND`), and a session uses a handful of models. Names
/// come from agents and upstreams, so the memo is bounded: [`PriceMemo::SLOTS`] entries, the
/// oldest replaced first (a hit does not refresh one), and longer names are not kept. A stream
/// of new names only misses, as every request did before the memo.
#[derive(Default)]
struct PriceMemo {
    entries: Vec<(Provider, Box<str>, Option<crate::pricing::ModelPrice>)>,
    /// The entry replaced next once all slots are taken.
    next: usize,
}

impl PriceMemo {
    const SLOTS: usize = 8;
    /// No model name gw prices is near this long.
    const LONGEST_NAME: usize = 128;

    /// The price of `model` (`None`: gw has none), from the memo or else from `prices`.
    fn cost(
        &mut self,
        prices: &PriceTable,
        provider: Provider,
        model: &str,
        usage: &crate::meter::Usage,
    ) -> Option<u64> {
        let cost = |price: &crate::pricing::ModelPrice| price.cost_nanos(provider.family(), usage);
        if let Some((_, _, price)) = self
            .entries
            .iter()
            .find(|(p, name, _)| *p == provider && **name == *model)
        {
            return price.as_ref().map(cost);
        }
        let price = prices.lookup(provider, model);
        let answer = price.map(cost);
        if model.len() <= Self::LONGEST_NAME {
            let entry = (provider, model.into(), price.cloned());
            if self.entries.len() < Self::SLOTS {
                self.entries.push(entry);
            } else {
                self.entries[self.next] = entry;
                self.next = (self.next + 1) % Self::SLOTS;
            }
        }
        answer
    }
}

impl Recorder {
    pub fn new(
        writer: WriterHandle,
        prices: PriceTable,
        attribution: crate::ledger::Attribution,
    ) -> Recorder {
        Recorder {
            writer,
            prices,
            attribution: Arc::new(attribution),
            unpriced: UnpricedPolicy::default(),
            open: Arc::default(),
            memo: Default::default(),
        }
    }

    /// The prices requests are charged at.
    pub fn prices(&self) -> &PriceTable {
        &self.prices
    }

    /// What `usage` cost: at the first of `models` gw has a price for (the answering model, then
    /// the requested one, which a gated session checked before forwarding), else at the
    /// `charge_as` model if configured (named in the second value), else unknown.
    pub fn cost(
        &self,
        provider: Provider,
        models: [Option<&str>; 2],
        usage: &crate::meter::Usage,
    ) -> (Option<i64>, Option<&str>) {
        let clamp = crate::limits::cap_cost;
        let priced = {
            let mut memo = self
                .memo
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            models
                .into_iter()
                .flatten()
                .find_map(|m| memo.cost(&self.prices, provider, m, usage))
        };
        if let Some(cost) = priced {
            return (Some(clamp(cost)), None);
        }
        if let UnpricedPolicy::ChargeAs(model) = &self.unpriced {
            // The fallback may be another provider's model: its rates apply as they are.
            let cost = self
                .prices
                .lookup_any(Some(provider), model)
                .map(|(p, price)| price.cost_nanos(p, usage));
            if let Some(cost) = cost {
                return (Some(clamp(cost)), Some(model));
            }
        }
        (None, None)
    }

    /// Requests begun and not yet handed to the ledger writer.
    pub(super) fn open_requests(&self) -> Arc<OpenRequests> {
        self.open.clone()
    }
}

/// Counts requests from their context's creation until their row is handed to the writer, so a
/// stopping proxy can wait for the last rows before the writer stops.
pub struct OpenRequests {
    count: AtomicUsize,
    none: Notify,
    /// Set when the proxy stops: work that outlives a client (a drain) ends with what it has.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Default for OpenRequests {
    fn default() -> Self {
        OpenRequests {
            count: AtomicUsize::new(0),
            none: Notify::new(),
            stopping: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl OpenRequests {
    /// The proxy is stopping.
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Resolves once the proxy is stopping.
    pub async fn stopping(&self) {
        let mut rx = self.stopping.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    /// Resolves once no request is open.
    pub async fn all_recorded(&self) {
        loop {
            let none = self.none.notified();
            if self.count.load(Ordering::SeqCst) == 0 {
                return;
            }
            none.await;
        }
    }
}

/// One open request; dropped when its context is, after its row was handed over.
struct Open(Arc<OpenRequests>);

impl Open {
    fn new(open: &Arc<OpenRequests>) -> Open {
        open.count.fetch_add(1, Ordering::SeqCst);
        Open(open.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.none.notify_waiters();
        }
    }
}

pub struct RequestContext {
    recorder: Arc<Recorder>,
    _open: Open,
    started: Instant,
    started_at_us: i64,
    pub provider: Provider,
    /// The route the request is priced as (Vertex: Anthropic's for Claude; see
    /// `Provider::priced_as`).
    pub price_provider: Provider,
    pub protocol: Protocol,
    endpoint: String,
    path_model: Option<String>,
    meter: MeterFeed,
    agent_session_id: Option<String>,
    pub status: u16,
    pub upstream_request_id: Option<String>,
    pub ttfb_us: Option<i64>,
    /// The budget gate's claim on this request, settled with its cost in `finish`.
    pub ticket: Option<super::gate::Ticket>,
    /// How the request is paid for: the route's, or a plan's login the proxy recognised.
    pub billing: Billing,
    /// The cloud region serving it (Vertex's location from the path; Bedrock's set by the
    /// proxy, which knows its signer and upstream).
    pub region: Option<String>,
}

pub fn unix_micros(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

impl RequestContext {
    pub fn new(
        recorder: Arc<Recorder>,
        provider: Provider,
        upstream_path_and_query: &str,
        agent_session_id: Option<String>,
    ) -> RequestContext {
        let endpoint = route::path_only(upstream_path_and_query).to_string();
        let path_model = path_model(provider, &endpoint);
        let protocol = match (provider, &path_model) {
            // An application inference profile (an ARN) is metered as the model it runs.
            (Provider::Bedrock, Some(id)) => Protocol::bedrock(
                upstream_path_and_query,
                recorder.prices().requested(Provider::Bedrock, id),
            ),
            _ => Protocol::classify(provider, upstream_path_and_query),
        };
        RequestContext {
            _open: Open::new(&recorder.open),
            recorder,
            started: Instant::now(),
            started_at_us: unix_micros(SystemTime::now()),
            provider,
            price_provider: provider.priced_as(&endpoint),
            protocol,
            endpoint,
            path_model,
            meter: MeterFeed::start(),
            agent_session_id,
            status: 0,
            upstream_request_id: None,
            ttfb_us: None,
            ticket: None,
            billing: provider.billing(),
            region: None,
        }
        .with_vertex_location()
    }

    /// A Vertex path names its location: `…/locations/<l>/…`.
    fn with_vertex_location(mut self) -> RequestContext {
        if self.provider == Provider::Vertex {
            let mut segments = self.endpoint.split('/');
            self.region = segments
                .by_ref()
                .find(|s| *s == "locations")
                .and_then(|_| segments.next())
                .filter(|l| !l.is_empty())
                .map(str::to_string);
        }
        self
    }

    pub fn mark_first_byte(&mut self) {
        if self.ttfb_us.is_none() {
            self.ttfb_us = Some(self.started.elapsed().as_micros() as i64);
        }
    }

    /// Where the request's bodies hand their frames.
    pub fn meter(&self) -> MeterFeed {
        self.meter.clone()
    }

    /// Ends the request. `cut` is true when it ended before its end (client gone, upstream
    /// error); `error` says why, if anything failed. The row is recorded by the metering task,
    /// after everything sent to it before.
    pub fn end(self, cut: bool, error: Option<String>) {
        let latency_us = self.started.elapsed().as_micros() as i64;
        let meter = self.meter.clone();
        meter.finish(Box::new(move |request, extracted| {
            self.record(request, extracted, latency_us, cut, error)
        }));
    }

    /// Builds the row and hands it to the ledger writer (from the metering task).
    fn record(
        self,
        request: RequestInfo,
        extracted: Extracted,
        latency_us: i64,
        cut: bool,
        error: Option<String>,
    ) {
        // Where the path names the model (Gemini, Vertex, Bedrock, an Azure deployment), that
        // is what runs: a different `model` in the body changes nothing upstream.
        let requested_model = self.path_model.clone().or_else(|| request.model.clone());
        let model = extracted.model.clone().or_else(|| requested_model.clone());
        let usage = extracted.usage;
        let (cost_nanos, charged_as) = if usage.is_zero() {
            (Some(0), None)
        } else {
            // The answer's model first; the request's through its route's aliases. Bedrock runs
            // the id its path names, and an alias (an Azure deployment in config) names the model
            // and data zone that run: those come first, as their route's prices may be dearer
            // than the model's own (a cross-region profile, a data zone).
            let requested = requested_model
                .as_deref()
                .map(|m| self.recorder.prices().requested(self.provider, m));
            let aliased = requested.is_some() && requested != requested_model.as_deref();
            let models = if self.price_provider == Provider::Bedrock || aliased {
                [requested, model.as_deref()]
            } else {
                [model.as_deref(), requested]
            };
            let cost = self.recorder.cost(self.price_provider, models, &usage);
            if aliased && self.provider == Provider::Azure {
                // An alias may be stale (the deployment now runs another model): the dearer of
                // what config says and what the answer names.
                let answer =
                    self.recorder
                        .cost(self.price_provider, [model.as_deref(), None], &usage);
                match (cost, answer) {
                    ((Some(a), None), (Some(b), None)) if b > a => answer,
                    _ => cost,
                }
            } else {
                cost
            }
        };
        let price_version = match charged_as {
            Some(as_model) => format!("{} charge_as:{as_model}", self.recorder.prices().version()),
            None => self.recorder.prices().version().to_string(),
        };
        let metered = self.protocol != Protocol::Other;
        let success = (200..300).contains(&self.status);
        // A whole successful answer to a metered request always states its usage; one gw could
        // not read it in (an unexpected shape, a part too large to hold) may have cost anything.
        let unread = metered && success && extracted.complete && !extracted.saw_usage && !cut;
        if let Some(ticket) = self.ticket {
            let cut_short = cut || (metered && !extracted.complete);
            if unread {
                // Fail closed: it is taken to have spent what the session had left.
                ticket.settle_all_available();
            } else if cut_short {
                // Cut before its usage was all read: the upstream may bill the whole answer.
                // Under a strict budget it costs its bound, at least.
                ticket.settle_cut(cost_nanos.unwrap_or(0), usage.total());
            } else {
                ticket.settle_usage(cost_nanos.unwrap_or(0), usage.total());
            }
        }
        let incomplete = cut || (metered && success && !extracted.complete);
        let error = error.or(extracted.decode_error.clone()).or_else(|| {
            unread.then(|| {
                "gw: the response carried no usage gw could read; under a budget it counts as having spent the rest of the session's budget".to_string()
            })
        });
        let row = Row {
            id: uuid::Uuid::now_v7(),
            started_at_us: self.started_at_us,
            ended_at_us: self.started_at_us + latency_us,
            provider: self.provider.as_str().to_string(),
            endpoint: self.endpoint,
            requested_model,
            model,
            status: self.status,
            streamed: extracted.streamed || request.stream == Some(true),
            incomplete,
            usage,
            cost_nanos,
            price_version,
            latency_us,
            ttfb_us: self.ttfb_us,
            upstream_request_id: self.upstream_request_id.or(extracted.upstream_id.clone()),
            response_id: extracted.upstream_id,
            source: crate::ledger::Source::Proxy,
            log_cost_nanos: None,
            agent_session_id: self.agent_session_id,
            error,
            billing: self.billing,
            region: self.region,
            attribution: self.recorder.attribution.clone(),
        };
        tracing::debug!(id = %row.id, status = row.status, endpoint = %row.endpoint, incomplete, "request recorded");
        self.recorder.writer.record(row);
    }
}

/// A request not yet ended: the one guard that every request is ended, and ended once. The proxy
/// holds it from admission to the response head, the response body after that; whoever holds it
/// ends it (`end`), and dropping it unended (hyper drops the handler or the body when the client
/// goes away) ends it as cut, with status 499 when none is known: the upstream may still bill.
///
/// "Recorded exactly once" rests on this and on one more guard, in the thread's metering task
/// ([`super::metering`]): `end` hands the row's assembly to the task, which runs it once, or,
/// when the runtime drops the task before it ran, its drop does. `RequestContext::end` takes the
/// context by value, so nothing else can end it.
pub struct InFlight {
    context: Option<RequestContext>,
    /// Why the request ended if dropped unended.
    dropped: &'static str,
}

impl InFlight {
    pub fn new(context: RequestContext) -> InFlight {
        InFlight {
            context: Some(context),
            dropped: "client closed the connection before the response began",
        }
    }

    /// The response began: a drop from now on means the client left mid-response.
    pub fn responding(mut self) -> InFlight {
        self.dropped = "client closed the response before its end";
        self
    }

    /// Ends the request (see [`RequestContext::end`]); later calls do nothing.
    pub fn end(&mut self, cut: bool, error: Option<String>) {
        if let Some(context) = self.context.take() {
            context.end(cut, error);
        }
    }

    /// The context, while the request is not ended.
    pub fn get_mut(&mut self) -> Option<&mut RequestContext> {
        self.context.as_mut()
    }

    /// Resolves once the proxy is stopping (at once if this request is already ended).
    pub async fn proxy_stopping(&self) {
        if let Some(context) = &self.context {
            let open = context.recorder.open.clone();
            open.stopping().await;
        }
    }

    /// Moves the request out (to whoever ends it from now on), leaving this one ended.
    pub fn take(&mut self) -> InFlight {
        InFlight {
            context: self.context.take(),
            dropped: self.dropped,
        }
    }
}

impl std::ops::Deref for InFlight {
    type Target = RequestContext;

    fn deref(&self) -> &RequestContext {
        self.context
            .as_ref()
            .expect("an InFlight is read before it is ended")
    }
}

impl std::ops::DerefMut for InFlight {
    fn deref_mut(&mut self) -> &mut RequestContext {
        self.context
            .as_mut()
            .expect("an InFlight is changed before it is ended")
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(context) = self.context.as_mut() {
            if context.status == 0 {
                context.status = CLIENT_CLOSED;
            }
            self.end(true, Some(self.dropped.into()));
        }
    }
}

/// The status recorded for a request whose client left before any response (nginx's 499).
pub const CLIENT_CLOSED: u16 = 499;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Attribution, Ledger, LedgerWriter};

    fn rows(dir: &std::path::Path, session: &str) -> Vec<Row> {
        Ledger::open(&dir.join("ledger.db"))
            .unwrap()
            .session_rows(session)
            .unwrap()
    }

    /// Each way a request can end leaves exactly one row: ended by its holder (twice, even),
    /// dropped before the response (499), dropped mid-response (its status, cut).
    #[test]
    fn an_in_flight_request_is_recorded_once_however_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let writer = LedgerWriter::start(&dir.path().join("ledger.db")).unwrap();
        let recorder = |session: &str| {
            Arc::new(Recorder::new(
                writer.handle(),
                PriceTable::embedded().clone(),
                Attribution {
                    session_id: session.into(),
                    ..Default::default()
                },
            ))
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let request = |session: &str| {
                InFlight::new(RequestContext::new(
                    recorder(session),
                    Provider::Anthropic,
                    "/v1/messages",
                    None,
                ))
            };
            let mut ended = request("ended");
            ended.status = 200;
            ended.end(false, None);
            ended.end(true, Some("again".into()));
            drop(ended);

            drop(request("before"));

            let mut during = request("during");
            during.status = 200;
            drop(during.responding());
            tokio::task::yield_now().await;
        });
        drop(runtime);
        writer.shutdown().unwrap();

        let one = |session: &str| {
            let rows = rows(dir.path(), session);
            assert_eq!(rows.len(), 1, "{session}: recorded exactly once");
            rows.into_iter().next().unwrap()
        };
        let ended = one("ended");
        // Ended by its holder: the first end's account (no error), not the second's.
        assert_eq!((ended.status, ended.error), (200, None));
        let before = one("before");
        assert_eq!((before.status, before.incomplete), (CLIENT_CLOSED, true));
        assert!(before.error.unwrap().contains("before the response began"));
        let during = one("during");
        assert_eq!((during.status, during.incomplete), (200, true));
        assert!(during.error.unwrap().contains("before its end"));
    }

    /// The memo answers what the table does: for every model, known or not, however many
    /// names pass through it (its slots are replaced in turn), and for names too long to keep.
    #[test]
    fn the_price_memo_answers_as_the_table_does() {
        let table = PriceTable::embedded();
        let usage = crate::meter::Usage {
            input: 1000,
            output: 200,
            cache_read: 5000,
            cache_write_5m: 300,
            ..Default::default()
        };
        let long = format!("claude-sonnet-4-5{}", "x".repeat(PriceMemo::LONGEST_NAME));
        let mut names: Vec<String> = [
            "claude-sonnet-4-5",
            "claude-haiku-4-5-20251001",
            "CLAUDE-OPUS-4-1",
            "gpt-5",
            "no-such-model",
            "",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "apac.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "eu/gpt-5.1",
        ]
        .map(String::from)
        .to_vec();
        names.extend((0..2 * PriceMemo::SLOTS).map(|i| format!("made-up-{i}")));
        names.push(long);
        let mut memo = PriceMemo::default();
        for round in 0..3 {
            for name in &names {
                for provider in [
                    Provider::Anthropic,
                    Provider::OpenAi,
                    Provider::Bedrock,
                    Provider::Azure,
                ] {
                    assert_eq!(
                        memo.cost(table, provider, name, &usage),
                        table.cost(provider, name, &usage),
                        "round {round}: {provider:?} {name:?}"
                    );
                }
            }
        }
        assert!(table
            .cost(Provider::Anthropic, "claude-sonnet-4-5", &usage)
            .is_some());
        assert_eq!(memo.entries.len(), PriceMemo::SLOTS);
        assert!(memo
            .entries
            .iter()
            .all(|(_, name, _)| name.len() <= PriceMemo::LONGEST_NAME));
    }
}
