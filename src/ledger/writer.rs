//! The single ledger writer: the proxy's hot path hands rows over a bounded channel, one thread
//! owns the SQLite connection and inserts them in batches.

use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

use std::sync::atomic::{AtomicUsize, Ordering};
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
/// (`idle_priority`) a commit delays it far less, though not never. An agent's requests,
/// seconds apart, commit one by one either way. Longer windows did not help the proxy's tail:
/// at 100 ms p99 was no better under the bench's ten connections (3 rounds), and at 1 s the
/// channel filled between commits (requests then wait for room: p99 0.5–0.7 s).
const BATCH_WINDOW: Duration = Duration::from_millis(8);

enum Message {
    Row(Box<Row>),
    Flush(oneshot::Sender<()>),
}

/// Owns the writer thread; `shutdown` drains and joins it.
pub struct LedgerWriter {
    handle: WriterHandle,
    thread: Option<JoinHandle<()>>,
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
        let thread = std::thread::Builder::new()
            .name("gw-ledger".into())
            .spawn(move || {
                if let Err(e) = idle_priority() {
                    tracing::debug!(error = %e, "the ledger writer stays at normal priority");
                }
                run(ledger, rx, on_commit)
            })
            .map_err(|_| LedgerError::WriterGone)?;
        Ok(LedgerWriter {
            handle: WriterHandle {
                tx,
                waiting: Arc::default(),
            },
            thread: Some(thread),
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
            loop {
                if waiters.is_empty() {
                    tokio::time::sleep(BATCH_WINDOW).await;
                }
                let mut took = false;
                loop {
                    match rx.try_recv() {
                        Ok(message) => {
                            took = true;
                            take(message, &mut batch, &mut waiters)
                        }
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => {
                            open = false;
                            break;
                        }
                    }
                    if batch.len() >= BATCH {
                        commit(&mut ledger, &mut batch, on_commit);
                    }
                }
                if !batch.is_empty() {
                    commit(&mut ledger, &mut batch, on_commit);
                }
                for done in waiters.drain(..) {
                    let _ = done.send(());
                }
                if !took || !open {
                    break;
                }
            }
        }
    });
}

/// Puts the calling thread at idle priority, Linux's `SCHED_IDLE` (elsewhere: an error, and the
/// thread keeps its priority). The writer runs there: its commits run mostly on CPU time nothing
/// else wants, and a request's thread that wakes on the writer's core takes the core back at
/// once. At normal priority (or any nice value) the woken proxy thread
/// waited out the writer's slice: on two cores, beside the agent and the upstream, a commit of a
/// few hundred microseconds (a checkpoint: over a millisecond) was gw's p99. What it costs: while
/// other programs keep every core busy (a build), commits, and a local budget's check that waits
/// for one, wait for a spare moment (the bench measures how long); rows wait in memory meanwhile,
/// as they do for a slow disk. One way: an unprivileged thread cannot leave `SCHED_IDLE`.
///
/// It does not make the writer free. When every core is busy, the writer's CPU still shows in
/// gw's tail: in the proxy bench at ten connections a writer that dropped its rows unwritten gave
/// p99 347–640 µs where this one gave 1.0–1.6 ms (nginx: 359 µs), and a busy loop at idle
/// priority beside the bare hyper forwarder (`GW_BENCH_WRK_PROFILE_SPIN`) took its p99 from
/// 0.4–0.8 ms to 2.9–4.0 ms. `SCHED_IDLE` keeps the kernel's slice (1.4 ms here) and takes no
/// shorter one; a writer at nice 19 with a 100 µs slice did worse, and giving the CPU back every
/// few rows (`sched_yield`) was within noise.
pub fn idle_priority() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread, and `param` is a valid `sched_param` for the call.
        match unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    }
    #[cfg(not(target_os = "linux"))]
    Err(std::io::ErrorKind::Unsupported.into())
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
        let writers: Vec<libc::pid_t> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|c| c.trim_end() == "gw-ledger")
            })
            .filter_map(|task| task.file_name().to_str()?.parse().ok())
            .collect();
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
