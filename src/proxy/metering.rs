//! Metering beside the stream. The bodies hand each frame they pass (a `Bytes`: a reference, not
//! a copy) to a task of the request's own, which parses it once the connection has written the
//! frame out. Parsing the request for its model, parsing the response for its usage, pricing and
//! the hand-off to the ledger writer therefore never delay a byte on its way to the upstream or
//! the agent: on a current-thread runtime the task runs when the connection yields, after it has
//! written what it was given.

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

/// What feeds a request's metering task: one per request, cloned into both bodies, which hand
/// it each frame (not the parsers: those are `meter::RequestTap` and `meter::ResponseTap`).
#[derive(Clone)]
pub struct MeterFeed {
    tx: mpsc::UnboundedSender<Event>,
    metering: Arc<Mutex<Metering>>,
}

impl MeterFeed {
    /// Starts the request's metering task. Must run on a Tokio runtime (the proxy always does).
    pub fn start() -> MeterFeed {
        let (tx, rx) = mpsc::unbounded_channel();
        let metering = Arc::new(Mutex::new(Metering::default()));
        let task = MeterTask {
            rx,
            metering: metering.clone(),
        };
        drop(tokio::spawn(task.run()));
        MeterFeed { tx, metering }
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

    /// Queues the event for the task, or, once the task is gone (it ends after `Finish`, or
    /// its runtime shut down and dropped it), handles it here: nothing sent is ever lost.
    fn send(&self, event: Event) {
        if let Err(mpsc::error::SendError(event)) = self.tx.send(event) {
            lock(&self.metering).on(event);
        }
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
                let request = self
                    .request_info
                    .take()
                    .unwrap_or_else(|| self.request.finish());
                let extracted = self
                    .response
                    .as_mut()
                    .map(|tap| tap.finish())
                    .unwrap_or_default();
                record(request, extracted);
            }
        }
    }
}

fn lock(metering: &Mutex<Metering>) -> std::sync::MutexGuard<'_, Metering> {
    // A panic while metering leaves nothing half-written that matters more than the row.
    metering
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct MeterTask {
    rx: mpsc::UnboundedReceiver<Event>,
    metering: Arc<Mutex<Metering>>,
}

impl MeterTask {
    async fn run(mut self) {
        while let Some(event) = self.rx.recv().await {
            let mut metering = lock(&self.metering);
            metering.on(event);
            if metering.recorded {
                break;
            }
        }
    }
}

impl Drop for MeterTask {
    /// Ends the task, whether it ran to `Finish` or its runtime dropped it unrun: the channel is
    /// closed first, so later events are handled by their senders, then what was queued is
    /// metered here. A request is recorded exactly once either way.
    fn drop(&mut self) {
        // Locked first: a sender refused once the channel closes waits here, so its event is
        // handled after every event queued before it.
        let mut metering = lock(&self.metering);
        if std::thread::panicking() {
            // A parser panicked on a frame: feed it no more, but still record the request.
            metering.broken = true;
        }
        self.rx.close();
        while let Ok(event) = self.rx.try_recv() {
            metering.on(event);
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
