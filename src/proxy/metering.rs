//! Metering off the proxy's thread. While a request is under way its bodies hand the meter each
//! frame, which holds it (a copy: the connection's read buffer is free for hyper to reuse at
//! once). When the request ends, what it holds becomes one job on the meter's queue, and the
//! meter's own thread, at idle priority, does the rest: it parses the request for its model and
//! the response for its usage, prices the request, settles its budget ticket and hands its row
//! to the ledger writer. The proxy's thread forwards bytes; metering runs on CPU time nothing else
//! wants.
//!
//! What holds whatever the meter's thread is kept from (an agent can keep every core busy):
//! - **Exactly once.** A request's job is made once, when it ends (frames after that are let go),
//!   and taken off the queue by one thread. A job needs nothing from any other, so no lock is held
//!   while one is metered: a meter's thread kept from the CPU holds up one request at most.
//! - **No waiting on the meter.** When more than [`HELP_AT`] jobs queue, the proxy's thread meters
//!   them itself before it takes the next request on (as it did every request before the meter
//!   had a thread), so neither memory nor requests wait on a starved meter.
//! - **Budgets.** A request under a budget is admitted only once every ended request that held a
//!   ticket is settled or being settled ([`settle_tickets`]: queued jobs are metered on the spot),
//!   so at most one request a meter's thread holds counts as in flight beyond the gate's own.
//!   A local budget's check, and a stopping proxy, meter everything queued first ([`settled`]).
//! - **Memory.** A request holds at most 64 KiB of each body for the meter. A long stream's bytes
//!   are parsed on the proxy's thread while the stream waits for its next frame (16 KiB at a
//!   time, delaying no frame), a large body's as it arrives once it holds 64 KiB: parsers keep
//!   their own memory bounded.
//! - **Panics.** A parser that panics on a frame is fed no more of that request, which is still
//!   recorded with what was read; a panic while recording loses that row (logged), never the
//!   meter.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use bytes::Bytes;

use crate::meter::{Extracted, RequestInfo, RequestTap, ResponseTap};

/// What records a request once its metering is done: given what the request and the response
/// said, it builds the row and hands it on (the proxy's request context does).
pub type Record = Box<dyn FnOnce(RequestInfo, Extracted) + Send>;

/// How long a busy meter collects jobs before it meters them in one go. Like the ledger writer's
/// window: requests find no one to wake while the meter is busy, and its work comes in bursts of
/// a few hundred microseconds at most, on CPU time nothing else wants.
const WINDOW: Duration = Duration::from_millis(2);
/// Bytes of each body a request holds for the meter; beyond, it is parsed as it arrives.
const HOLD_AT_MOST: usize = 64 << 10;
/// Held bytes parsed while the body waits for its next frame (see [`MeterFeed::idle`]).
const PARSE_WHEN_IDLE: usize = 16 << 10;
/// Jobs queued, at most, before the proxy's thread meters them itself.
pub const HELP_AT: usize = 64;

/// One ended request, to meter.
struct Job {
    held: Held,
    record: Record,
    ticket: bool,
}

/// What a request holds for the meter while under way.
#[derive(Default)]
struct Held {
    metering: Metering,
    /// Body bytes not yet parsed.
    request: Vec<u8>,
    response: Vec<u8>,
    ended: bool,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// The meter's thread waits for a job: the next one wakes it.
    idle: bool,
}

/// The queue of ended requests and the meter's thread. One per process ([`meter`]); tests build
/// their own.
struct Meter {
    queue: Mutex<Queue>,
    wake: Condvar,
    /// Whether a thread meters this queue; without one, each job is metered where it is queued.
    threaded: bool,
    /// Jobs queued, and of those, the ones holding a budget ticket.
    queued: AtomicUsize,
    tickets: AtomicUsize,
}

/// The process's meter, its thread started on first use.
fn meter() -> &'static Meter {
    static METER: OnceLock<Meter> = OnceLock::new();
    METER.get_or_init(|| {
        let started = std::thread::Builder::new()
            .name("gw-meter".into())
            .spawn(|| {
                // Parsing and pricing run on CPU time nothing else wants.
                crate::background::yield_to_requests();
                meter().run()
            });
        if let Err(e) = &started {
            tracing::warn!(error = %e, "cannot start the meter's thread; requests are metered on the proxy's");
        }
        Meter::new(started.is_ok())
    })
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while metering is caught where it happens; nothing is left half-written.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Meter {
    fn new(threaded: bool) -> Meter {
        Meter {
            queue: Mutex::default(),
            wake: Condvar::new(),
            threaded,
            queued: AtomicUsize::new(0),
            tickets: AtomicUsize::new(0),
        }
    }

    /// The meter's thread: idle until a job arrives, then, every window, it meters what queued
    /// meanwhile; a window that brings nothing ends the busy spell.
    fn run(&self) {
        loop {
            {
                let mut queue = lock(&self.queue);
                while queue.jobs.is_empty() {
                    queue.idle = true;
                    queue = self
                        .wake
                        .wait(queue)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                queue.idle = false;
            }
            loop {
                std::thread::sleep(WINDOW);
                if self.help(0) == 0 {
                    break;
                }
            }
        }
    }

    fn push(&self, job: Job) {
        // Counted before it is queued: whoever takes it never sees it uncounted.
        self.queued.fetch_add(1, Ordering::SeqCst);
        if job.ticket {
            self.tickets.fetch_add(1, Ordering::SeqCst);
        }
        let mut queue = lock(&self.queue);
        queue.jobs.push_back(job);
        if queue.idle {
            queue.idle = false;
            drop(queue);
            self.wake.notify_one();
        } else {
            drop(queue);
        }
        if !self.threaded {
            self.help(0);
        }
    }

    fn keep_up(&self) {
        if self.queued.load(Ordering::Relaxed) > HELP_AT {
            self.help(HELP_AT / 2);
        }
    }

    fn pop(&self) -> Option<Job> {
        let job = lock(&self.queue).jobs.pop_front()?;
        self.queued.fetch_sub(1, Ordering::SeqCst);
        if job.ticket {
            self.tickets.fetch_sub(1, Ordering::SeqCst);
        }
        Some(job)
    }

    /// Meters queued jobs on this thread, one at a time, until `leave` or fewer are queued;
    /// returns how many it metered.
    fn help(&self, leave: usize) -> usize {
        let mut metered = 0;
        while self.queued.load(Ordering::SeqCst) > leave {
            let Some(job) = self.pop() else { break };
            job.run();
            metered += 1;
        }
        metered
    }
}

impl Job {
    fn run(self) {
        let Job {
            mut held,
            record,
            ticket: _,
        } = self;
        held.metering.feed(&held.request, false);
        held.metering.feed(&held.response, true);
        held.metering.record(record);
    }
}

/// One request's parsers.
#[derive(Default)]
struct Metering {
    /// Made when the request body is first parsed.
    request: Option<RequestTap>,
    /// Set when the body was parsed up front; the streamed tap then saw nothing.
    request_info: Option<RequestInfo>,
    response: Option<Box<ResponseTap>>,
    /// A parser panicked: frames are no longer parsed, the request is still recorded.
    broken: bool,
}

impl Metering {
    fn feed(&mut self, data: &[u8], response: bool) {
        if self.broken || data.is_empty() {
            return;
        }
        let fed = catch_unwind(AssertUnwindSafe(|| {
            if !response {
                self.request.get_or_insert_with(RequestTap::new).feed(data);
            } else if let Some(tap) = self.response.as_mut() {
                tap.feed(data);
            }
        }));
        if fed.is_err() {
            self.broken = true;
            tracing::error!(
                "a parser panicked on a frame; the request is recorded with what was read before"
            );
        }
    }

    fn record(mut self, record: Record) {
        let read = catch_unwind(AssertUnwindSafe(|| {
            let request = match (self.request_info.take(), self.request.as_mut()) {
                (Some(info), _) => info,
                (None, Some(tap)) => tap.finish(),
                (None, None) => RequestInfo::default(),
            };
            let extracted = self
                .response
                .as_mut()
                .map(|tap| tap.finish())
                .unwrap_or_default();
            (request, extracted)
        }));
        let (request, extracted) = read.unwrap_or_else(|_| {
            tracing::error!("a parser panicked finishing a request; it is recorded as unread");
            Default::default()
        });
        if catch_unwind(AssertUnwindSafe(|| record(request, extracted))).is_err() {
            tracing::error!("recording a request panicked; its row is lost");
        }
    }
}

/// What feeds a request's metering: one per request, cloned into both bodies, which hand it each
/// frame (the parsers are `meter::RequestTap` and `meter::ResponseTap`).
#[derive(Clone)]
pub struct MeterFeed {
    held: Arc<Mutex<Held>>,
    meter: &'static Meter,
}

impl MeterFeed {
    /// Starts a request's metering on the process's meter.
    pub fn start() -> MeterFeed {
        MeterFeed::on(meter())
    }

    fn on(meter: &'static Meter) -> MeterFeed {
        MeterFeed {
            held: Arc::default(),
            meter,
        }
    }

    pub fn request(&self, frame: &Bytes) {
        self.frame(frame, false);
    }

    pub fn response(&self, frame: &Bytes) {
        self.frame(frame, true);
    }

    /// Holds the frame for the meter, or, once the body holds too much, parses here.
    fn frame(&self, frame: &[u8], response: bool) {
        let mut held = lock(&self.held);
        let held = &mut *held;
        if held.ended {
            return;
        }
        let bytes = if response {
            &mut held.response
        } else {
            &mut held.request
        };
        if bytes.len() + frame.len() <= HOLD_AT_MOST {
            bytes.extend_from_slice(frame);
            return;
        }
        held.metering.feed(bytes, response);
        bytes.clear();
        held.metering.feed(frame, response);
    }

    /// The body waits for its next frame: a good moment to parse what it holds, if that is
    /// much (a long stream), so that neither the meter nor a later frame has to.
    pub fn idle(&self) {
        let mut held = lock(&self.held);
        let held = &mut *held;
        for (bytes, response) in [(&mut held.request, false), (&mut held.response, true)] {
            if bytes.len() >= PARSE_WHEN_IDLE {
                held.metering.feed(bytes, response);
                bytes.clear();
            }
        }
    }

    pub fn request_info(&self, info: RequestInfo) {
        lock(&self.held).metering.request_info = Some(info);
    }

    pub fn response_head(&self, tap: ResponseTap) {
        lock(&self.held).metering.response = Some(Box::new(tap));
    }

    /// Ends the request's metering; `record` gets what was read, exactly once, after every frame
    /// sent before. `ticket`: the request holds a budget ticket, which `record` settles.
    pub fn finish(&self, record: Record, ticket: bool) {
        let held = {
            let mut held = lock(&self.held);
            let taken = std::mem::take(&mut *held);
            held.ended = true;
            taken
        };
        self.meter.push(Job {
            held,
            record,
            ticket,
        });
    }
}

/// Keeps the meter from falling behind: when more than [`HELP_AT`] ended requests wait for a
/// meter's thread kept from the CPU, this thread meters them (down to half that). The proxy calls
/// it before it takes a request on; the common case reads one atomic.
pub fn keep_up() {
    meter().keep_up();
}

/// Meters every queued request that held a budget ticket (and those queued before it) on this
/// thread, so its ticket is settled. A gated request calls it before the gate: its budget is
/// checked on settled figures (a request the meter's thread is metering counts as in flight).
pub fn settle_tickets() {
    let meter = meter();
    if meter.tickets.load(Ordering::SeqCst) > 0 {
        meter.help(0);
    }
}

/// Meters every queued request on this thread: each ended request's row is handed to the ledger
/// writer, or being handed by the meter's thread.
pub fn settled() {
    meter().help(0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Attribution, Ledger, LedgerWriter};
    use crate::meter::{Protocol, Provider};
    use crate::pricing::PriceTable;
    use crate::proxy::{BudgetGate, Recorder, RequestContext};
    use std::sync::Arc;

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
        // Frames held and one too large to hold (JSON's whitespace): all read, in order.
        let (head, tail) = RESPONSE.split_at(RESPONSE.len() - 1);
        meter.response(&Bytes::from_static(head));
        meter.response(&Bytes::from(vec![b' '; HOLD_AT_MOST + 1]));
        meter.response(&Bytes::from_static(tail));
    }

    fn rows(dir: &std::path::Path, session: &str) -> Vec<crate::ledger::Row> {
        Ledger::open(&dir.join("ledger.db"))
            .unwrap()
            .session_rows(session)
            .unwrap()
    }

    #[test]
    fn requests_are_recorded_once_by_the_meter_whether_or_not_their_runtime_remains() {
        let dir = tempfile::tempdir().unwrap();
        let writer = LedgerWriter::start(&dir.path().join("ledger.db")).unwrap();

        // The usual way: ended inside the proxy's runtime.
        let ran = recorder(&writer, "ran");
        runtime().block_on(async {
            let mut context = RequestContext::new(ran, Provider::Anthropic, "/v1/messages", None);
            context.status = 200;
            feed(&context);
            context.end(false, None);
        });

        // The request ends after its runtime is gone: the meter needs none.
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

        settled();
        writer.shutdown().unwrap();
        for session in ["ran", "late"] {
            let rows = rows(dir.path(), session);
            assert_eq!(rows.len(), 1, "{session}: recorded exactly once");
            let row = &rows[0];
            assert_eq!(row.requested_model.as_deref(), Some("claude-sonnet-4-5"));
            assert_eq!((row.usage.input, row.usage.output), (12, 3), "{session}");
            assert!(row.cost_nanos.unwrap() > 0);
            assert_eq!(row.incomplete, session == "late");
        }
    }

    /// A meter no thread drains (tests meter its jobs by hand).
    fn undrained() -> &'static Meter {
        Box::leak(Box::new(Meter::new(true)))
    }

    type Seen = Arc<Mutex<Vec<(u64, Option<String>)>>>;

    /// A `Record` that notes the request's number and model.
    fn noting(seen: &Seen, n: u64) -> Record {
        let seen = seen.clone();
        Box::new(move |request, _| lock(&seen).push((n, request.model)))
    }

    #[test]
    fn a_panic_while_recording_loses_that_row_not_the_meter() {
        let meter = undrained();
        let seen = Seen::default();
        let (a, b, c) = (
            MeterFeed::on(meter),
            MeterFeed::on(meter),
            MeterFeed::on(meter),
        );
        b.request(&Bytes::from_static(br#"{"model":"m-b"}"#));
        a.finish(Box::new(|_, _| panic!("a recorder that panics")), false);
        b.finish(noting(&seen, 1), false);
        c.finish(noting(&seen, 2), false);
        // Frames after a request's end are let go.
        b.request(&Bytes::from_static(br#"{"model":"late"}"#));
        assert!(lock(&b.held).request.is_empty());
        assert_eq!(meter.help(0), 3);
        assert_eq!(*lock(&seen), vec![(1, Some("m-b".to_string())), (2, None)]);
        assert_eq!(meter.queued.load(Ordering::SeqCst), 0);
    }

    /// A meter's thread kept from the CPU never holds requests up: past `HELP_AT` ended requests,
    /// the proxy's thread meters them itself, oldest first.
    #[test]
    fn the_proxy_meters_for_itself_when_the_meter_falls_behind() {
        let meter = undrained();
        let seen = Seen::default();
        for n in 0..HELP_AT as u64 {
            MeterFeed::on(meter).finish(noting(&seen, n), false);
        }
        meter.keep_up();
        assert!(lock(&seen).is_empty(), "up to HELP_AT wait for the meter");
        MeterFeed::on(meter).finish(noting(&seen, HELP_AT as u64), false);
        meter.keep_up();
        assert_eq!(meter.queued.load(Ordering::SeqCst), HELP_AT / 2);
        let metered: Vec<u64> = lock(&seen).iter().map(|(n, _)| *n).collect();
        assert_eq!(metered, (0..=(HELP_AT / 2) as u64).collect::<Vec<_>>());
    }

    /// A body larger than a request may hold is parsed as it arrives, and reads the same.
    #[test]
    fn a_large_body_is_parsed_as_it_arrives() {
        let meter = undrained();
        let seen = Seen::default();
        let feed = MeterFeed::on(meter);
        let body = format!(
            r#"{{"model":"big","messages":"{}"}}"#,
            "x".repeat(3 * HOLD_AT_MOST)
        );
        for part in body.as_bytes().chunks(HOLD_AT_MOST / 3) {
            feed.request(&Bytes::copy_from_slice(part));
            assert!(lock(&feed.held).request.len() <= HOLD_AT_MOST);
        }
        feed.finish(noting(&seen, 1), false);
        meter.help(0);
        assert_eq!(*lock(&seen), vec![(1, Some("big".to_string()))]);
    }

    /// While a body waits for its next frame, what it holds is parsed if that is much.
    #[test]
    fn a_waiting_body_parses_what_it_holds_if_much() {
        let meter = undrained();
        let seen = Seen::default();
        let feed = MeterFeed::on(meter);
        feed.request(&Bytes::from_static(br#"{"model":"m","pad":""#));
        feed.idle();
        assert!(
            !lock(&feed.held).request.is_empty(),
            "little: kept for the meter"
        );
        feed.request(&Bytes::from(vec![b'x'; PARSE_WHEN_IDLE]));
        feed.idle();
        assert!(lock(&feed.held).request.is_empty(), "much: parsed");
        feed.request(&Bytes::from_static(br#""}"#));
        feed.finish(noting(&seen, 1), false);
        meter.help(0);
        assert_eq!(*lock(&seen), vec![(1, Some("m".to_string()))]);
    }

    /// A gated request is admitted on settled figures: an ended request's ticket is settled by
    /// `settle_tickets` at once, not when the meter's thread gets round to it.
    #[tokio::test]
    async fn ended_requests_settle_their_tickets_before_the_gate_admits_another() {
        let dir = tempfile::tempdir().unwrap();
        let writer = LedgerWriter::start(&dir.path().join("ledger.db")).unwrap();
        let gate = BudgetGate::new(None, 10);
        gate.set_granted(1_000_000_000);
        let mut context = RequestContext::new(
            recorder(&writer, "gated"),
            Provider::Anthropic,
            "/v1/messages",
            None,
        );
        context.status = 200;
        context.ticket = Some(gate.admit(Some("claude-sonnet-4-5"), None).await.unwrap());
        feed(&context);
        context.end(false, None);
        settle_tickets();
        let figures = gate.figures();
        assert_eq!((figures.in_flight, figures.reserved), (0, 0));
        assert!(figures.charged > 0, "{figures:?}");
        settled();
        drop(writer);
    }

    /// Metering yields the CPU to requests: the meter's thread runs at idle priority.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_meter_thread_runs_at_idle_priority() {
        // SAFETY: a plain query of the calling thread's policy.
        let ours = unsafe { libc::sched_getscheduler(0) };
        let feed = MeterFeed::start();
        let (tx, rx) = tokio::sync::oneshot::channel();
        feed.finish(
            Box::new(move |_, _| {
                // SAFETY: as above, on the thread that records.
                let _ = tx.send(unsafe { libc::sched_getscheduler(0) });
            }),
            false,
        );
        // Recorded on the meter's thread (or another test's, by its `settled`).
        let recorded_by = rx.await.unwrap();
        let meters = crate::background::threads_named("gw-meter");
        assert_eq!(meters.len(), 1, "one meter thread in the process");
        // SAFETY: a plain query of a thread's policy by its id.
        assert_eq!(
            unsafe { libc::sched_getscheduler(meters[0]) },
            libc::SCHED_IDLE
        );
        assert!([libc::SCHED_IDLE, ours].contains(&recorded_by));
        assert_eq!(unsafe { libc::sched_getscheduler(0) }, ours);
    }
}
