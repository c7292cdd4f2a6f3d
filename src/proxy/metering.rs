//! Metering beside the stream. The bodies hand each frame they pass (a `Bytes`: a reference, not
//! a copy) to the metering task of their thread, which parses it once the connection has written
//! the frame out. Parsing the request for its model, parsing the response for its usage, pricing
//! and the hand-off to the ledger writer therefore never delay a byte on its way to the upstream
//! or the agent: on a current-thread runtime the task runs when the connection yields, after it
//! has written what it was given.
//!
//! One task serves every request of a thread (a proxy's runtime is one thread), each event
//! carrying its request's state. A task of each request's own cost a spawn (a 128-byte-aligned
//! task cell), a channel and their teardown: with one task per thread the proxy thread's
//! instructions a request fell from 73,894 to 72,036 (callgrind, `GW_BENCH_CALLGRIND`).
//!
//! The task stays on the request's thread even though, at ten connections flat out, that thread
//! is what limits gw (busy 87–98% of the time). A throwaway build metered on a thread of its own,
//! drained every 2 ms so that no send woke it: the proxy thread's instructions fell from 71.2k
//! to 55.2k a request, but not its CPU time (23–30 µs a request either way under wrk; presumably
//! the frames, their reference counts and the requests' state crossing cores), and it served
//! fewer requests a second than this design in 7 of 10 pairs.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::meter::{Extracted, RequestInfo, RequestTap, ResponseTap};

/// What records a request once its metering is done: given what the request and the response
/// said, it builds the row and hands it on (the proxy's request context does).
pub type Record = Box<dyn FnOnce(RequestInfo, Extracted) + Send>;

enum Event {
    Request(Bytes),
    /// The request body was read and parsed up front (the gate needed its model).
    RequestInfo(RequestInfo),
    /// The response's head arrived: how its body is to be parsed.
    ResponseHead(Box<ResponseTap>),
    Response(Bytes),
    /// The request is over: record it.
    Finish(Record),
}

/// An event and the request it belongs to, queued for the metering task.
type Queued = (Arc<Mutex<Metering>>, Event);

/// What feeds a request's metering: one per request, cloned into both bodies, which hand it each
/// frame (not the parsers: those are `meter::RequestTap` and `meter::ResponseTap`).
#[derive(Clone)]
pub struct MeterFeed {
    metering: Arc<Mutex<Metering>>,
    /// The metering task of the thread the request started on; none outside a runtime (events
    /// are then metered where they are sent).
    hub: Option<Hub>,
}

/// The sending side of a thread's metering task.
#[derive(Clone)]
struct Hub {
    /// The runtime the task runs on: a request on another runtime of this thread (one idle while
    /// another runs) gets a task of its own runtime's, never one nobody polls.
    runtime: tokio::runtime::Id,
    tx: mpsc::UnboundedSender<Queued>,
    /// Held while the task, going away, meters what was queued; a sender refused once the queue
    /// is closed waits for it, so an event is never metered before one its request queued
    /// earlier.
    draining: Arc<Mutex<()>>,
}

thread_local! {
    /// This thread's metering task, started by the first request on it (and again if its
    /// runtime went away and another one runs here).
    static HUB: RefCell<Option<Hub>> = const { RefCell::new(None) };
}

impl Hub {
    /// The metering task of this thread's runtime, started if there is none yet; none outside a
    /// runtime.
    fn current() -> Option<Hub> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        HUB.try_with(|hub| {
            let mut hub = hub.borrow_mut();
            if let Some(live) = hub
                .as_ref()
                .filter(|h| h.runtime == runtime.id() && !h.tx.is_closed())
            {
                return live.clone();
            }
            let (tx, rx) = mpsc::unbounded_channel();
            let draining = Arc::new(Mutex::new(()));
            let task = MeterTask {
                rx,
                draining: draining.clone(),
            };
            // Unconstrained by Tokio's budget: each turn meters everything queued, however many
            // requests sent it, as one task per request did between them.
            drop(runtime.spawn(tokio::task::coop::unconstrained(task.run())));
            hub.insert(Hub {
                runtime: runtime.id(),
                tx,
                draining,
            })
            .clone()
        })
        .ok()
    }
}

impl MeterFeed {
    /// Starts a request's metering, on this thread's metering task (started with the thread's
    /// first request).
    pub fn start() -> MeterFeed {
        MeterFeed {
            metering: Arc::new(Mutex::new(Metering::default())),
            hub: Hub::current(),
        }
    }

    pub fn request(&self, frame: &Bytes) {
        self.send(Event::Request(frame.clone()));
    }

    pub fn request_info(&self, info: RequestInfo) {
        self.send(Event::RequestInfo(info));
    }

    pub fn response_head(&self, tap: ResponseTap) {
        self.send(Event::ResponseHead(Box::new(tap)));
    }

    pub fn response(&self, frame: &Bytes) {
        self.send(Event::Response(frame.clone()));
    }

    /// Ends the request's metering; `record` gets what was read, exactly once.
    pub fn finish(&self, record: Record) {
        self.send(Event::Finish(record));
    }

    /// Queues the event for the task, or, once the task is gone (its runtime shut down and
    /// dropped it), handles it here: nothing sent is ever lost.
    fn send(&self, event: Event) {
        let event = match &self.hub {
            Some(hub) => match hub.tx.send((self.metering.clone(), event)) {
                Ok(()) => return,
                Err(mpsc::error::SendError((_, event))) => {
                    // After whatever the task, going away, still meters.
                    let _drained = lock(&hub.draining);
                    event
                }
            },
            None => event,
        };
        meter(&self.metering, event);
    }
}

/// Applies an event to its request's metering. A parser that panics on a frame leaves the
/// request unparsed from there on, never unrecorded, and never stops the task serving the other
/// requests.
fn meter(metering: &Mutex<Metering>, event: Event) {
    let mut metering = lock(metering);
    let on = std::panic::catch_unwind(AssertUnwindSafe(|| metering.on(event)));
    if on.is_err() {
        tracing::error!("metering a request panicked; its row keeps what was read before");
        metering.broken = true;
    }
}

#[derive(Default)]
struct Metering {
    request: RequestTap,
    /// Set when the body was parsed up front; the streamed tap then saw nothing.
    request_info: Option<RequestInfo>,
    response: Option<Box<ResponseTap>>,
    recorded: bool,
    /// A parser panicked: frames are no longer parsed, the request is still recorded.
    broken: bool,
}

impl Metering {
    fn on(&mut self, event: Event) {
        if self.recorded {
            return;
        }
        match event {
            Event::Request(_) | Event::Response(_) if self.broken => {}
            Event::Request(frame) => self.request.feed(&frame),
            Event::RequestInfo(info) => self.request_info = Some(info),
            Event::ResponseHead(tap) => self.response = Some(tap),
            Event::Response(frame) => {
                if let Some(tap) = self.response.as_mut() {
                    tap.feed(&frame);
                }
            }
            Event::Finish(record) => {
                self.recorded = true;
                // A parser that panicked on a frame (or panics now) must not take the row with
                // it: what it cannot say is left empty.
                let request = match self.request_info.take() {
                    Some(info) => info,
                    None => finished(&mut self.request, RequestTap::finish),
                };
                let extracted = self
                    .response
                    .as_mut()
                    .map(|tap| finished(tap, |tap| tap.finish()))
                    .unwrap_or_default();
                record(request, extracted);
            }
        }
    }
}

/// What a parser says at the end, or nothing if it panics saying it.
fn finished<P, T: Default>(parser: &mut P, finish: impl FnOnce(&mut P) -> T) -> T {
    std::panic::catch_unwind(AssertUnwindSafe(|| finish(parser))).unwrap_or_else(|_| {
        tracing::error!("a parser panicked at the end of a request; its row keeps no reading");
        T::default()
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while metering leaves nothing half-written that matters more than the row.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A thread's metering task: meters every request's events in the order they were sent.
struct MeterTask {
    rx: mpsc::UnboundedReceiver<Queued>,
    draining: Arc<Mutex<()>>,
}

impl MeterTask {
    async fn run(mut self) {
        // Unconstrained, it yields only when the queue is empty. On one thread that comes, as
        // senders wait while it runs; senders on other threads (a multi-thread runtime's
        // workers) could keep it busy for good, so it also yields every so many events.
        let mut metered = 0u32;
        while let Some((metering, event)) = self.rx.recv().await {
            meter(&metering, event);
            metered = metered.wrapping_add(1);
            if metered.is_multiple_of(1024) {
                tokio::task::yield_now().await;
            }
        }
    }
}

impl Drop for MeterTask {
    /// Its runtime dropped it (shutting down): the queue is closed first, so later events are
    /// handled by their senders, after what was queued is metered here. A request is recorded
    /// exactly once either way.
    fn drop(&mut self) {
        let _draining = lock(&self.draining);
        self.rx.close();
        loop {
            match self.rx.try_recv() {
                Ok((metering, event)) => meter(&metering, event),
                // A sender on another thread counted its event before the close and has not put
                // it in yet: it will, and its `send` says the event was queued.
                Err(mpsc::error::TryRecvError::Empty) => std::thread::yield_now(),
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Attribution, Ledger, LedgerWriter};
    use crate::meter::{Protocol, Provider};
    use crate::pricing::PriceTable;
    use crate::proxy::{Recorder, RequestContext};

    const RESPONSE: &[u8] =
        br#"{"model":"claude-sonnet-4-5","usage":{"input_tokens":12,"output_tokens":3}}"#;

    fn recorder(writer: &LedgerWriter, session: &str) -> Arc<Recorder> {
        Arc::new(Recorder::new(
            writer.handle(),
            PriceTable::embedded().clone(),
            Attribution {
                session_id: session.into(),
                ..Default::default()
            },
        ))
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    /// Feeds a whole request and response to the context's meter, as the bodies would.
    fn feed(context: &RequestContext) {
        let meter = context.meter();
        meter.request(&Bytes::from_static(
            br#"{"model":"claude-sonnet-4-5","stream":false}"#,
        ));
        meter.response_head(ResponseTap::new(
            Protocol::AnthropicMessages,
            Some("application/json"),
            None,
        ));
        meter.response(&Bytes::from_static(RESPONSE));
    }

    fn rows(dir: &std::path::Path, session: &str) -> Vec<crate::ledger::Row> {
        Ledger::open(&dir.join("ledger.db"))
            .unwrap()
            .session_rows(session)
            .unwrap()
    }

    /// Ends a whole request and checks its row is in the ledger while the runtime still runs:
    /// recorded by the thread's metering task, not by a drop.
    async fn recorded_while_running(
        mut context: RequestContext,
        writer: &LedgerWriter,
        dir: &std::path::Path,
        session: &str,
    ) {
        context.status = 200;
        feed(&context);
        context.end(false, None);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        writer.handle().flush().await.unwrap();
        assert_eq!(rows(dir, session).len(), 1, "{session}");
    }

    #[test]
    fn a_panic_metering_one_request_leaves_the_task_metering_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let writer = LedgerWriter::start(&dir.path().join("ledger.db")).unwrap();
        let after = recorder(&writer, "after");
        runtime().block_on(async {
            let doomed = MeterFeed::start();
            doomed.finish(Box::new(|_, _| panic!("a bug met while metering")));
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            let hub = doomed.hub.as_ref().expect("started inside a runtime");
            assert!(!hub.tx.is_closed(), "the task outlived the panic");

            let context = RequestContext::new(after, Provider::Anthropic, "/v1/messages", None);
            let next = context.meter();
            assert!(
                next.hub.as_ref().unwrap().tx.same_channel(&hub.tx),
                "the next request went to the same task"
            );
            recorded_while_running(context, &writer, dir.path(), "after").await;
        });
        writer.shutdown().unwrap();
    }

    #[test]
    fn a_second_runtime_on_the_thread_gets_a_task_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let writer = LedgerWriter::start(&dir.path().join("ledger.db")).unwrap();
        let second = recorder(&writer, "second");
        // A runtime that started the thread's task, then sits idle (alive, nothing polling it).
        let idle = runtime();
        let idle_hub = idle.block_on(async { MeterFeed::start().hub.unwrap() });
        runtime().block_on(async {
            let context = RequestContext::new(second, Provider::Anthropic, "/v1/messages", None);
            let hub = context.meter().hub.unwrap();
            assert!(!hub.tx.same_channel(&idle_hub.tx));
            recorded_while_running(context, &writer, dir.path(), "second").await;
        });
        drop(idle);
        writer.shutdown().unwrap();
    }

    #[test]
    fn requests_are_recorded_by_the_task_and_when_the_runtime_goes_first() {
        let dir = tempfile::tempdir().unwrap();
        let writer = LedgerWriter::start(&dir.path().join("ledger.db")).unwrap();

        // The usual way: the task runs once the request has ended.
        let ran = recorder(&writer, "ran");
        runtime().block_on(async {
            let mut context = RequestContext::new(ran, Provider::Anthropic, "/v1/messages", None);
            context.status = 200;
            feed(&context);
            context.end(false, None);
            tokio::task::yield_now().await;
        });

        // The runtime shuts down before the task ever runs: it meters what was queued on drop.
        let unrun = recorder(&writer, "unrun");
        runtime().block_on(async {
            let mut context = RequestContext::new(unrun, Provider::Anthropic, "/v1/messages", None);
            context.status = 200;
            feed(&context);
            context.end(false, None);
        });

        // The request ends after its runtime is gone: the sender meters it itself.
        let late = recorder(&writer, "late");
        let context = runtime().block_on(async {
            let mut context = RequestContext::new(late, Provider::Anthropic, "/v1/messages", None);
            context.status = 200;
            feed(&context);
            context
        });
        context.end(
            true,
            Some("client closed the response before its end".into()),
        );

        writer.shutdown().unwrap();
        for session in ["ran", "unrun", "late"] {
            let rows = rows(dir.path(), session);
            assert_eq!(rows.len(), 1, "{session}: recorded exactly once");
            let row = &rows[0];
            assert_eq!(row.requested_model.as_deref(), Some("claude-sonnet-4-5"));
            assert_eq!((row.usage.input, row.usage.output), (12, 3), "{session}");
            assert!(row.cost_nanos.unwrap() > 0);
            assert_eq!(row.incomplete, session == "late");
        }
    }
}
