//! The single ledger writer: the proxy's hot path hands rows over a bounded channel, one thread
//! owns the SQLite connection and inserts them in batches.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Notify};

use super::{Ledger, LedgerError, Row};

/// Called with each batch of rows once they are committed (OTLP export hangs here); it must
/// not block: the writer thread runs it.
pub type OnCommit = Box<CommitHook>;
pub type CommitHook = dyn Fn(&[Row]) + Send;

/// How many rows may wait for the writer. When full, senders wait: a slow disk slows requests'
/// bookkeeping, it never grows memory without bound (a row is about a kilobyte: some 16 MB at
/// most here). The writer runs at idle priority, and under the proxy bench's ten connections
/// (15k requests a second) a spell without spare CPU filled 1,024 rows in under 70 ms; requests
/// then waited for room and gw's p99 was 4.0–11.2 ms (8 runs). At 16,384 it was 3.5–3.9 ms (4
/// runs, interleaved with four of those). What waits here is what a SIGKILL loses and what a
/// flush (a local budget's check) waits for: rows only build up while the machine has no CPU
/// to spare.
const CHANNEL_CAPACITY: usize = 16_384;
/// Rows inserted per transaction at most.
const BATCH: usize = 256;
/// How long the first row of a batch waits for company before it is committed (a flush waits
/// for the window under way, no more). Each commit has a fixed cost (the WAL frames of every page
/// it touched, the rollups' mark, more frequent checkpoints): under load (thousands of requests a
/// second) a longer window spreads it over more rows. At 8 ms instead of 2 the writer spent 5–11%
/// less CPU per row in the proxy bench at ten connections, 18–39% at one and with 500 KB bodies.
/// The window was once short for another reason: at normal priority a commit was a burst beside
/// the proxy's thread, and 10 ms of rows made bursts that were gw's p99; at idle priority
/// (`yield_to_requests`) a commit no longer holds the proxy's thread for its slice (on the same
/// CPU it still cost the proxy a switch and its caches: [`Placement`]). An agent's requests,
/// seconds apart, commit one by one either way.
const BATCH_WINDOW: Duration = Duration::from_millis(8);

enum Message {
    Row(Box<Row>),
    Flush(oneshot::Sender<()>),
}

/// Owns the writer thread; `shutdown` drains and joins it.
pub struct LedgerWriter {
    handle: WriterHandle,
    thread: Option<JoinHandle<()>>,
    /// The writer thread's id, for tests that look at it (0 until it starts).
    #[cfg(all(test, target_os = "linux"))]
    tid: Arc<std::sync::atomic::AtomicI32>,
}

/// A cheap, cloneable sender of rows to the writer.
#[derive(Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Message>,
    /// Rows waiting in tasks for room in a full channel; `flush` waits for them too.
    waiting: Arc<Waiting>,
}

#[derive(Default)]
struct Waiting {
    count: AtomicUsize,
    drained: Notify,
}

impl LedgerWriter {
    /// Opens the ledger (creating and migrating it) and starts the writer thread.
    pub fn start(path: &Path) -> Result<LedgerWriter, LedgerError> {
        LedgerWriter::start_with(path, None)
    }

    /// As [`LedgerWriter::start`], handing each batch to `on_commit` once it is committed (what
    /// it copies is what the ledger holds, never a row the ledger lost).
    pub fn start_with(
        path: &Path,
        on_commit: Option<OnCommit>,
    ) -> Result<LedgerWriter, LedgerError> {
        let ledger = Ledger::open(path)?;
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        #[cfg(all(test, target_os = "linux"))]
        let tid = Arc::new(std::sync::atomic::AtomicI32::new(0));
        #[cfg(all(test, target_os = "linux"))]
        let its_tid = tid.clone();
        let thread = std::thread::Builder::new()
            .name("gw-ledger".into())
            .spawn(move || {
                // SAFETY: no arguments; the calling thread's id.
                #[cfg(all(test, target_os = "linux"))]
                its_tid.store(unsafe { libc::gettid() }, Ordering::SeqCst);
                yield_to_requests();
                run(ledger, rx, on_commit)
            })
            .map_err(|_| LedgerError::WriterGone)?;
        Ok(LedgerWriter {
            handle: WriterHandle {
                tx,
                waiting: Arc::default(),
            },
            thread: Some(thread),
            #[cfg(all(test, target_os = "linux"))]
            tid,
        })
    }

    pub fn handle(&self) -> WriterHandle {
        self.handle.clone()
    }

    /// Waits until every row sent so far is committed, then stops the writer.
    pub fn shutdown(mut self) -> Result<(), LedgerError> {
        let (tx, _) = mpsc::channel(1);
        drop(std::mem::replace(
            &mut self.handle,
            WriterHandle {
                tx,
                waiting: Arc::default(),
            },
        ));
        self.join()
    }

    fn join(&mut self) -> Result<(), LedgerError> {
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| LedgerError::WriterGone),
            None => Ok(()),
        }
    }
}

impl Drop for LedgerWriter {
    fn drop(&mut self) {
        // Close our sender so the thread ends once every other handle is gone too.
        let (tx, _) = mpsc::channel(1);
        self.handle = WriterHandle {
            tx,
            waiting: Arc::default(),
        };
    }
}

/// A row waiting in a task for room in the writer's channel (see [`WriterHandle::record`]).
struct WaitingRow {
    message: Option<Message>,
    tx: mpsc::Sender<Message>,
    waiting: Arc<Waiting>,
}

impl Drop for WaitingRow {
    /// Counts the row out of those waiting. A row still here had its task dropped before there
    /// was room (the runtime shut down: a proxy stopping under load): it is handed over from
    /// here, this thread waiting for the writer to make room, so it is neither lost nor left
    /// counted, which would keep every later flush waiting. It polls with `try_send`:
    /// `blocking_send` panics on a thread inside a runtime, which a shutting-down one still is.
    fn drop(&mut self) {
        if let Some(mut message) = self.message.take() {
            loop {
                match self.tx.try_send(message) {
                    Ok(()) => break,
                    Err(mpsc::error::TrySendError::Full(back)) => {
                        message = back;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        tracing::error!("ledger writer stopped; a row was lost");
                        break;
                    }
                }
            }
        }
        if self.waiting.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.waiting.drained.notify_waiters();
        }
    }
}

impl WriterHandle {
    /// Queues a row. Never blocks an async task: when the channel is full the row waits in a task
    /// (inside a runtime) or this thread waits (outside one). One exception: on a runtime that
    /// is shutting down the task cannot start, and this thread waits for room (the row's
    /// [`WaitingRow`] hands it over).
    pub fn record(&self, row: Row) {
        note_recording_cpu();
        match self.tx.try_send(Message::Row(Box::new(row))) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(message)) => {
                let tx = self.tx.clone();
                match tokio::runtime::Handle::try_current() {
                    Ok(rt) => {
                        self.waiting.count.fetch_add(1, Ordering::SeqCst);
                        let mut row = WaitingRow {
                            message: Some(message),
                            tx,
                            waiting: self.waiting.clone(),
                        };
                        rt.spawn(async move {
                            // The row stays in `row` until there is room: a task dropped while
                            // it waits hands the row over from its drop.
                            match row.tx.reserve().await {
                                Ok(permit) => permit.send(row.message.take().expect("sent once")),
                                Err(_) => {
                                    // Not for the drop to try again: the writer is gone.
                                    drop(row.message.take());
                                    tracing::error!("ledger writer stopped; a row was lost");
                                }
                            }
                        });
                    }
                    Err(_) => {
                        if tx.blocking_send(message).is_err() {
                            tracing::error!("ledger writer stopped; a row was lost");
                        }
                    }
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("ledger writer stopped; a row was lost")
            }
        }
    }

    /// Resolves once the writer has room for another row: at once, unless the channel is full.
    /// The proxy waits here before it takes a request on, so rows waiting for the writer stay
    /// bounded (the channel, plus at most one row for each request under way: when room frees,
    /// the requests waiting are let in together): an idle-priority writer kept from the CPU (a
    /// flood of requests, every core busy) slows requests down instead of growing memory.
    /// Waiters queue behind rows already waiting in tasks (`record`). Nothing is held
    /// afterwards: a request that waits for a local budget's `flush` holds no room the flush
    /// needs.
    pub async fn room(&self) {
        // The common case reads two atomics: a permit taken and given back would lock the
        // channel's wait list, a lock the idle writer also takes (and may be preempted holding).
        if self.tx.capacity() > 0 && self.waiting.count.load(Ordering::SeqCst) == 0 {
            return;
        }
        // A closed channel (the writer is gone) has no room to wait for: `record` says so.
        drop(self.tx.reserve().await);
    }

    /// Resolves once every row queued before this call is committed.
    pub async fn flush(&self) -> Result<(), LedgerError> {
        loop {
            let drained = self.waiting.drained.notified();
            if self.waiting.count.load(Ordering::SeqCst) == 0 {
                break;
            }
            drained.await;
        }
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Message::Flush(tx))
            .await
            .map_err(|_| LedgerError::WriterGone)?;
        rx.await.map_err(|_| LedgerError::WriterGone)
    }
}

fn run(mut ledger: Ledger, mut rx: mpsc::Receiver<Message>, on_commit: Option<OnCommit>) {
    let on_commit = on_commit.as_deref();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the ledger writer");
            return;
        }
    };
    rt.block_on(async move {
        let mut placement = Placement::start();
        let mut batch: Vec<Row> = Vec::with_capacity(BATCH);
        let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
        let mut open = true;
        while open {
            // Idle: wait for a row; its sender wakes this thread, once per busy spell.
            let Some(first) = rx.recv().await else { break };
            take(first, &mut batch, &mut waiters);
            // Busy: every window, what arrived meanwhile is committed in one transaction. The
            // thread sleeps through each window rather than waiting on the channel, so senders
            // on the request path find no one to wake and pay no wake-up, however many rows a
            // second they send; a window that brings nothing ends the spell.
            // Whether the spell's commits run on any CPU ([`Placement`]): once a flush waits, or
            // the writer fell behind, for the rest of the spell.
            let mut anywhere = false;
            loop {
                if waiters.is_empty() {
                    let asleep = std::time::Instant::now();
                    tokio::time::sleep(BATCH_WINDOW).await;
                    // Woken late, or rows piling up: the CPUs it kept to have no time to spare.
                    anywhere |= asleep.elapsed() > 2 * BATCH_WINDOW || rx.len() > BATCH;
                }
                let mut took = false;
                loop {
                    match rx.try_recv() {
                        Ok(message) => {
                            took = true;
                            take(message, &mut batch, &mut waiters);
                            anywhere |= !waiters.is_empty();
                        }
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => {
                            open = false;
                            break;
                        }
                    }
                    if batch.len() >= BATCH {
                        placement.follow(anywhere);
                        commit(&mut ledger, &mut batch, on_commit);
                    }
                }
                if !batch.is_empty() {
                    // A lone row (nothing came with it) runs anywhere too.
                    placement.follow(anywhere || !took);
                    commit(&mut ledger, &mut batch, on_commit);
                }
                for done in waiters.drain(..) {
                    let _ = done.send(());
                }
                if !took || !open {
                    // The spell is over: the next one starts on any CPU.
                    placement.release();
                    break;
                }
            }
        }
    });
}

/// Puts the calling thread (the writer) at idle priority, Linux's `SCHED_IDLE`: its commits run
/// on CPU time nothing else wants, and a request's thread that wakes on the writer's core takes
/// the core back at once. At normal priority (or any nice value) the woken proxy thread waited
/// out the writer's slice: on two cores, beside the agent and the upstream, a commit of a few
/// hundred microseconds (a checkpoint: over a millisecond) was gw's p99. What it costs: while
/// other programs keep every core busy (a build), commits, and a local budget's check that waits
/// for one, wait for a spare moment (the bench measures how long); rows wait in memory meanwhile,
/// as they do for a slow disk. One way: an unprivileged thread cannot leave `SCHED_IDLE`.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread, and `param` is a valid `sched_param` for the call.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "the ledger writer stays at normal priority"
            );
        }
    }
}

/// The CPU the last row was recorded on: where a proxy's thread serves requests.
static RECORDED_ON: AtomicU32 = AtomicU32::new(NO_CPU);

/// No CPU (none noted, or none avoided).
const NO_CPU: u32 = u32::MAX;

/// Notes the CPU the calling thread runs on, for the writer to keep off while it commits a busy
/// spell's rows ([`Placement`]). A read of the kernel's per-thread CPU id (glibc: `rseq`), and a
/// store only when it changed.
fn note_recording_cpu() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: no arguments; answers the calling thread's CPU, or -1.
        let cpu = unsafe { libc::sched_getcpu() };
        if let Ok(cpu) = u32::try_from(cpu) {
            if RECORDED_ON.load(Ordering::Relaxed) != cpu {
                RECORDED_ON.store(cpu, Ordering::Relaxed);
            }
        }
    }
}

/// Keeps the writer's thread off the CPU the rows come from while rows keep coming and it keeps
/// up with them. At idle
/// priority the writer still ran on the proxy thread's CPU whenever that thread waited for a
/// socket, and each request then woke the proxy onto a CPU the writer had just filled with
/// SQLite's pages, after a switch: in the proxy bench at one connection, gw's p50 was 149–150 µs
/// with the writer free, 108–112 µs with it and the proxy thread pinned apart, as low as with no
/// rows written at all (109–119 µs). Only a busy spell's commits move, and only while the writer
/// keeps up: a lone row (an agent's requests come seconds apart), a flush that waits (a local
/// budget's check), and a spell in which the writer woke late or found rows piling up (the other
/// CPUs busy: an agent's build) run on whichever CPU is free first, the requests' one too. Needs
/// two CPUs allowed; else it does nothing.
struct Placement {
    /// The CPUs the writer may run on (two or more), read when it last began keeping off one:
    /// what `taskset` or a cgroup allows now, not at start.
    #[cfg(target_os = "linux")]
    allowed: Option<libc::cpu_set_t>,
    /// The CPU it keeps off now, or [`NO_CPU`].
    avoiding: u32,
}

impl Placement {
    fn start() -> Placement {
        Placement {
            #[cfg(target_os = "linux")]
            allowed: None,
            avoiding: NO_CPU,
        }
    }

    /// On any CPU it may use (`anywhere`), or off the one the last row was recorded on.
    fn follow(&mut self, anywhere: bool) {
        match anywhere {
            true => self.release(),
            false => self.keep_off(RECORDED_ON.load(Ordering::Relaxed)),
        }
    }

    /// Runs the writer on the CPUs it may use but `cpu` (on all of them when `cpu` is none of
    /// them). The writer's CPUs change only when that changes (the set allowed is read when it
    /// starts keeping off one).
    fn keep_off(&mut self, cpu: u32) {
        #[cfg(target_os = "linux")]
        {
            if cpu == self.avoiding {
                return;
            }
            if self.avoiding == NO_CPU {
                // SAFETY: counts the bits of an initialised set.
                self.allowed = affinity().filter(|set| unsafe { libc::CPU_COUNT(set) } >= 2);
            }
            let Some(allowed) = &self.allowed else {
                return;
            };
            let mut set = *allowed;
            let index = cpu as usize;
            // SAFETY: bit operations on an initialised set, the index checked against its size.
            let cpu = match index < libc::CPU_SETSIZE as usize
                && unsafe { libc::CPU_ISSET(index, &set) }
            {
                true => {
                    unsafe { libc::CPU_CLR(index, &mut set) };
                    cpu
                }
                false => NO_CPU,
            };
            if cpu != self.avoiding {
                match set_affinity(&set) {
                    true => self.avoiding = cpu,
                    // The CPUs allowed changed under it (a cgroup's): read them afresh next time.
                    false => {
                        self.allowed = None;
                        self.avoiding = NO_CPU;
                    }
                }
            }
        }
        #[cfg(not(target_os = "linux"))]
        let _ = cpu;
    }

    /// Runs the writer on every CPU it may use again.
    fn release(&mut self) {
        self.keep_off(NO_CPU);
    }
}

/// The CPUs the thread `tid` (0: the calling thread) may run on.
#[cfg(target_os = "linux")]
fn affinity_of(tid: libc::pid_t) -> Option<libc::cpu_set_t> {
    // SAFETY: an all-zero `cpu_set_t` is an empty set; the call fills at most its size.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let read =
        unsafe { libc::sched_getaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    (read == 0).then_some(set)
}

/// The CPUs the calling thread may run on.
#[cfg(target_os = "linux")]
fn affinity() -> Option<libc::cpu_set_t> {
    affinity_of(0)
}

/// Sets the calling thread's CPUs; whether it could.
#[cfg(target_os = "linux")]
fn set_affinity(set: &libc::cpu_set_t) -> bool {
    // SAFETY: pid 0 is the calling thread; `set` is an initialised set of the size given.
    let done =
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) } == 0;
    if !done {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "the ledger writer keeps its CPUs"
        );
    }
    done
}

fn take(message: Message, batch: &mut Vec<Row>, waiters: &mut Vec<oneshot::Sender<()>>) {
    match message {
        Message::Row(row) => batch.push(*row),
        Message::Flush(done) => waiters.push(done),
    }
}

/// Inserts a batch, retrying while the database is busy or briefly failing; rows stay in memory
/// until they are written or the retries run out (then they go to the log, never silently away).
fn commit(ledger: &mut Ledger, batch: &mut Vec<Row>, on_commit: Option<&CommitHook>) {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=8 {
        match ledger.insert(batch.iter()) {
            Ok(_) => {
                if let Some(on_commit) = on_commit {
                    on_commit(batch);
                }
                batch.clear();
                return;
            }
            Err(e) => {
                tracing::warn!(attempt, error = %e, rows = batch.len(), "ledger insert failed; retrying");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
    for row in batch.drain(..) {
        tracing::error!(
            ?row,
            "ledger insert failed for good; row kept only in this log"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_are_durable_after_flush_and_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let writer = LedgerWriter::start(&path).unwrap();
        let handle = writer.handle();
        let mut ids = Vec::new();
        for i in 0..3000 {
            let row = crate::ledger::tests::sample_row("s", i);
            ids.push(row.id);
            handle.record(row);
        }
        handle.flush().await.unwrap();
        assert_eq!(
            Ledger::open(&path)
                .unwrap()
                .session_rows("s")
                .unwrap()
                .len(),
            3000
        );
        handle.record(crate::ledger::tests::sample_row("t", 1));
        drop(handle);
        tokio::task::spawn_blocking(move || writer.shutdown())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            Ledger::open(&path)
                .unwrap()
                .session_rows("t")
                .unwrap()
                .len(),
            1
        );
    }

    /// Rows waiting in tasks for room when their runtime goes away (a proxy stopping under load:
    /// its metering task records the last rows as the runtime drops it) are still written, and a
    /// later flush does not wait for them for ever.
    #[test]
    fn rows_waiting_for_room_outlive_their_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let writer = LedgerWriter::start(&path).unwrap();
        let handle = writer.handle();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let n = runtime.block_on(async {
            // Never yields: the tasks of rows that find the channel full never run. Rows go in
            // until a thousand wait in tasks.
            let mut n = 0;
            while handle.waiting.count.load(Ordering::SeqCst) < 1_000 {
                handle.record(crate::ledger::tests::sample_row("w", n));
                n += 1;
            }
            n
        });
        drop(runtime);
        let check = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        check.block_on(async {
            tokio::time::timeout(Duration::from_secs(60), handle.flush())
                .await
                .expect("the flush returns")
                .unwrap();
        });
        let rows = Ledger::open(&path).unwrap().session_rows("w").unwrap();
        assert_eq!(rows.len() as i64, n);
        drop(handle);
        writer.shutdown().unwrap();
    }

    /// `room` waits while the channel is full, behind rows already waiting in tasks, and
    /// resolves once the writer took one.
    #[tokio::test]
    async fn room_waits_while_the_channel_is_full() {
        use futures_util::FutureExt;
        let (tx, mut rx) = mpsc::channel(1);
        let handle = WriterHandle {
            tx,
            waiting: Arc::default(),
        };
        handle.room().await;
        handle.record(crate::ledger::tests::sample_row("s", 1));
        // Full: this row waits in a task, and room after it.
        handle.record(crate::ledger::tests::sample_row("s", 2));
        let room = handle.room();
        tokio::pin!(room);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(room.as_mut().now_or_never().is_none());
        // The writer takes the first row: the waiting one takes its place, still no room.
        assert!(rx.recv().await.is_some());
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(room.as_mut().now_or_never().is_none());
        assert!(rx.recv().await.is_some());
        tokio::time::timeout(Duration::from_secs(5), room)
            .await
            .expect("room once the writer took the rows");
        // Held nothing: there is room again, at once.
        tokio::time::timeout(Duration::from_secs(5), handle.room())
            .await
            .unwrap();
    }

    /// The writer yields the CPU to requests: its thread runs at idle priority.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_writer_thread_runs_at_idle_priority() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: a plain query of the calling thread's policy.
        let ours = unsafe { libc::sched_getscheduler(0) };
        let writer = LedgerWriter::start(&dir.path().join("ledger.db")).unwrap();
        // A committed row: the thread is past its start.
        writer
            .handle()
            .record(crate::ledger::tests::sample_row("s", 1));
        writer.handle().flush().await.unwrap();
        let writers = writer_threads();
        // SAFETY: plain queries of threads' policies by their ids (0: the calling thread).
        let policies: Vec<i32> = writers
            .iter()
            .map(|&tid| unsafe { libc::sched_getscheduler(tid) })
            .collect();
        // This writer lives (other tests' writers may be starting or gone): at least one is
        // idle, while the thread that started it keeps its own priority.
        assert!(policies.contains(&libc::SCHED_IDLE), "{policies:?}");
        assert_eq!(unsafe { libc::sched_getscheduler(0) }, ours);
    }

    /// The CPUs allowed, in order (bit queries on an initialised set).
    #[cfg(target_os = "linux")]
    fn cpus(set: &libc::cpu_set_t) -> Vec<usize> {
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| unsafe { libc::CPU_ISSET(c, set) })
            .collect()
    }

    /// A busy spell's commits run off the CPU rows come from, and on every CPU again after.
    #[cfg(target_os = "linux")]
    #[test]
    fn placement_keeps_off_one_cpu_and_releases_it() {
        // On a thread of its own: CPUs are a thread's.
        std::thread::spawn(|| {
            let allowed = cpus(&affinity().unwrap());
            if allowed.len() < 2 {
                eprintln!("skipped: one CPU allowed, nothing to keep off");
                return;
            }
            let mut placement = Placement::start();
            for &cpu in &allowed[..2] {
                placement.keep_off(cpu as u32);
                let now = cpus(&affinity().unwrap());
                assert!(!now.contains(&cpu), "still on CPU {cpu}");
                assert_eq!(now.len(), allowed.len() - 1);
            }
            placement.release();
            assert_eq!(cpus(&affinity().unwrap()), allowed);
            // Off one CPU, then off none (no row noted yet): every CPU it may use.
            placement.keep_off(allowed[0] as u32);
            placement.keep_off(NO_CPU);
            assert_eq!(cpus(&affinity().unwrap()), allowed);
        })
        .join()
        .unwrap();
    }

    /// The writer's thread ids among this process's threads.
    #[cfg(target_os = "linux")]
    fn writer_threads() -> Vec<libc::pid_t> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|c| c.trim_end() == "gw-ledger")
            })
            .filter_map(|task| task.file_name().to_str()?.parse().ok())
            .collect()
    }

    /// While rows keep coming from one CPU the writer commits off it; once they stop (a window
    /// with none) it may run anywhere again. Rows come in bursts with quiet gaps, each burst a
    /// spell of its own: a spell whose writer woke late (a loaded machine) commits anywhere, and
    /// the next burst tries again. Other tests' proxies may note their CPUs meanwhile: the test
    /// waits for the moment, it does not time it.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_busy_writer_keeps_off_the_cpu_rows_come_from_and_returns_after() {
        let allowed = cpus(&affinity().unwrap());
        if allowed.len() < 2 {
            eprintln!("skipped: one CPU allowed, nothing to keep off");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let writer = LedgerWriter::start(&dir.path().join("ledger.db")).unwrap();
        let handle = writer.handle();
        handle.record(crate::ledger::tests::sample_row("s", 0));
        handle.flush().await.unwrap();
        let tid = writer.tid.load(Ordering::SeqCst);
        assert_ne!(tid, 0);
        let placed = || affinity_of(tid).map(|set| cpus(&set));
        // Rows come from this thread, on its first CPU (pinned after the writer started, which
        // would have inherited the pin; the pin ends with this test's thread).
        let mut only: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        unsafe { libc::CPU_SET(allowed[0], &mut only) };
        assert!(set_affinity(&only));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut kept_off = false;
        let mut i = 1;
        while !kept_off && std::time::Instant::now() < deadline {
            // Quiet: the last spell ends.
            tokio::time::sleep(Duration::from_millis(40)).await;
            // A burst of 40 ms, a couple of rows a millisecond: a writer that keeps up.
            for _ in 0..40 {
                for _ in 0..2 {
                    handle.record(crate::ledger::tests::sample_row("s", i));
                    i += 1;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
                if placed().is_some_and(|c| !c.contains(&allowed[0])) {
                    kept_off = true;
                    break;
                }
            }
        }
        assert!(kept_off, "the writer never kept off CPU {}", allowed[0]);
        // The rows stop: the spell ends, and the writer may use every CPU again.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while placed() != Some(allowed.clone()) && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(placed(), Some(allowed.clone()));
        drop(handle);
        writer.shutdown().unwrap();
    }

    #[test]
    fn two_writers_share_one_ledger() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let threads: Vec<_> = (0..2)
            .map(|n| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let writer = LedgerWriter::start(&path).unwrap();
                    let handle = writer.handle();
                    for i in 0..500 {
                        handle.record(crate::ledger::tests::sample_row(&format!("p{n}"), i));
                    }
                    drop(handle);
                    writer.shutdown().unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let ledger = Ledger::open(&path).unwrap();
        assert_eq!(ledger.session_rows("p0").unwrap().len(), 500);
        assert_eq!(ledger.session_rows("p1").unwrap().len(), 500);
    }
}
