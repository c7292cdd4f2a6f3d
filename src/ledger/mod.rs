//! The local SQLite ledger: migrations, inserts and the writer the proxy hands rows to.

pub mod query;
mod row;
mod schema;
mod sync_state;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

pub use row::{Attribution, Row, Source};
pub use sync_state::PendingFilter;
pub use writer::{idle_priority, LedgerWriter, OnCommit, WriterHandle};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot create the ledger {path} and its directory, private to you: {source}\n  check the directory's permissions, or set GW_DATA_DIR to a writable directory")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the ledger {path}: {source}\n  check the file's permissions, or set GW_DATA_DIR to another directory")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the ledger {path} was written by a newer gw (schema {found}, this gw knows {known}); upgrade gw")]
    TooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },
    #[error("ledger error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("the ledger writer has stopped; rows could not be recorded (see gw.log)")]
    WriterGone,
    #[error("the import could not be committed, so none of it was kept ({0})\n  if the disk is full, free some space; then run gw import again")]
    ImportRolledBack(rusqlite::Error),
}

/// The page size of a new ledger: 16 KiB, not SQLite's 4 KiB. A first `gw import` of 325,472
/// calls (1,000,000 Claude Code log lines) took 3.6 s of CPU instead of 4.7 (medians of four
/// interleaved rounds; 32 and 64 KiB were no better): a quarter as many pages to write, twice
/// (to the write-ahead log, then the database), most of the saving in system time. The proxy's
/// ledger writer spent no more a row (4.8 µs against 5.3, wrk at ten connections), and `gw
/// spend` and `gw sessions` answered as fast on those rows. The write-ahead log, checkpointed
/// every 1,000 pages (SQLite's default), now grows to 16 MB before it is, not 4.
const PAGE_SIZE: i64 = 16 << 10;

/// An open ledger connection, migrated to the current schema.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
}

impl Ledger {
    /// Opens (creating if needed) the ledger file, in WAL mode with a busy timeout so several
    /// gw processes can write at once.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        crate::private_fs::private_database(path).map_err(|source| LedgerError::CreateDir {
            path: path.to_path_buf(),
            source,
        })?;
        let open_err = |source| LedgerError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        // A new ledger's pages (an existing one keeps its own: SQLite changes them only by a
        // `VACUUM` out of WAL mode).
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(open_err)?;
        // Switching a new file to WAL can meet another process's lock without SQLite waiting on
        // the busy handler (two gw started at once on a fresh ledger): retry for as long.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match conn.pragma_update(None, "journal_mode", "WAL") {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                result => break result.map_err(open_err)?,
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        // The rollups' update and delete triggers make SQLite keep a statement journal for those
        // statements; in a temp file it costs many writes a row.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(open_err)?;
        let mut ledger = Ledger {
            conn,
            path: path.to_path_buf(),
        };
        ledger.migrate()?;
        Ok(ledger)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for a part of gw with tables of its own in the ledger (`gw import`'s)
    /// and for tests.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    fn migrate(&mut self) -> Result<(), LedgerError> {
        let known = schema::MIGRATIONS.len();
        let current: usize = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current > known {
            return Err(LedgerError::TooNew {
                path: self.path.clone(),
                found: current,
                known,
            });
        }
        if current == known {
            return Ok(());
        }
        // IMMEDIATE takes the write lock first, so two processes never run the same step.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, step) in schema::MIGRATIONS.iter().enumerate().skip(current) {
            tx.execute_batch(step)?;
            tx.pragma_update(None, "user_version", i + 1)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Inserts rows in one transaction. A row whose id is already present is left as it is.
    /// The rollups get the rows' sums once per group ([`RollupSums`]), a chunk of rows at a
    /// time, so an iterator of millions of rows is never held whole.
    pub fn insert<R: std::borrow::Borrow<Row>>(
        &mut self,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<usize, LedgerError> {
        const CHUNK: usize = 4096;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        heal_rollups(&tx)?;
        let mut inserted = 0;
        let mut rows = rows.into_iter();
        let mut chunk: Vec<R> = Vec::new();
        loop {
            chunk.extend(rows.by_ref().take(CHUNK));
            if chunk.is_empty() {
                break;
            }
            let (n, _) =
                insert_rolled_up(&tx, INSERT, chunk.iter().map(|r| r.borrow()), |_| false)?;
            inserted += n;
            drop_imported_twins(&tx, chunk.iter().map(|r| r.borrow()))?;
            chunk.clear();
        }
        mark_rolled_up(&tx)?;
        tx.commit()?;
        Ok(inserted)
    }

    /// Reads one row back by id.
    pub fn get(&self, id: &uuid::Uuid) -> Result<Option<Row>, LedgerError> {
        let sql = format!("SELECT {COLUMNS} FROM requests WHERE id = ?1");
        Ok(self
            .conn
            .query_row(&sql, [id.to_string()], row_from_sql)
            .optional()?)
    }

    /// Starts putting imported rows in (`gw import`'s hundreds of thousands): see
    /// [`BulkImport`]. `expected` is about how many rows will come; when they outnumber the rows
    /// the ledger holds and none of them can meet a call imported before, the indexes whose keys
    /// come in random order are built once after the rows instead of row by row.
    pub fn bulk_import(&self, expected: usize) -> Result<BulkImport<'_>, LedgerError> {
        // Room for a batch's pages: with SQLite's default 2 MB, inserting spills the cache to
        // the WAL and reads it back, over and over.
        self.conn.pragma_update(None, "cache_size", -65_536)?;
        // Each batch's pages are copied into the database once, by [`Ledger::checkpoint`] when
        // the whole import is in, not after every batch (an index page would be copied again
        // each time).
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let rebuild = if (REBUILD_MIN_ROWS..=REBUILD_MAX_ROWS).contains(&expected) {
            let tx = rusqlite::Transaction::new_unchecked(
                &self.conn,
                rusqlite::TransactionBehavior::Immediate,
            )?;
            // Asked under the write lock: no row can arrive between the question and the drop.
            if expected as i64 > last_rowid(&tx)? && !holds_imported_ids(&tx)? {
                for (name, _) in schema::REBUILT_INDEXES {
                    tx.execute_batch(&format!("DROP INDEX {name}"))?;
                }
                Some(tx)
            } else {
                None
            }
        } else {
            None
        };
        Ok(BulkImport {
            conn: &self.conn,
            rebuild,
        })
    }

    /// Adds to the rollups rows another writer inserted (see [`heal_rollups`]); answers how
    /// many.
    pub fn heal_rollups(&mut self) -> Result<usize, LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let healed = heal_rollups(&tx)?;
        tx.commit()?;
        Ok(healed)
    }

    /// Copies what the write-ahead log holds into the database, as far as readers allow
    /// (after a [`BulkImport`]).
    pub fn checkpoint(&self) -> Result<(), LedgerError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        // SQLite's default again, for whatever this connection writes next.
        self.conn.pragma_update(None, "wal_autocheckpoint", 1000)?;
        Ok(())
    }

    /// Gives the imported rows of `agents` (since `since_us`) that have no gw key yet (imported
    /// without `--sync`) `key_id`, so the uploader sends them with it; answers how many. The
    /// rollups' triggers move their sums to the key.
    pub fn claim_imported(
        &mut self,
        key_id: &str,
        agents: &[&str],
        since_us: Option<i64>,
    ) -> Result<usize, LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut n = 0;
        for agent in agents {
            n += tx.execute(
                "UPDATE requests SET key_id = ?1
                 WHERE source = 'import' AND key_id IS NULL AND agent = ?2 AND started_at >= ?3",
                params![key_id, agent, since_us.unwrap_or(i64::MIN)],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// The calls gw's proxy metered, for [`BulkImport::insert`] to skip.
    pub fn metered_calls(&self) -> Result<MeteredCalls, LedgerError> {
        let mut metered = MeteredCalls::default();
        metered.read_on(&self.conn)?;
        Ok(metered)
    }

    /// Every row of a session, oldest first.
    pub fn session_rows(&self, session_id: &str) -> Result<Vec<Row>, LedgerError> {
        let sql =
            format!("SELECT {COLUMNS} FROM requests WHERE session_id = ?1 ORDER BY started_at, id");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map([session_id], row_from_sql)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The most recent rows, newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<Row>, LedgerError> {
        let sql =
            format!("SELECT {COLUMNS} FROM requests ORDER BY started_at DESC, id DESC LIMIT ?1");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map([limit as i64], row_from_sql)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

/// The agents `gw import` reads, by the name its rows carry in `agent`.
pub const IMPORT_AGENTS: [&str; 4] = ["claude", "codex", "gemini", "opencode"];

/// How far apart in time an imported row and a proxy row with the same response id may start
/// and still be one call: an id repeated by an upstream that does not make them unique (a local
/// OpenAI-compatible server) must not delete a real call from another day.
const TWIN_WINDOW_US: i64 = 3_600_000_000;

/// The imported row of a proxy row's call (see [`drop_imported_twins`]): `?1` the response id,
/// `?2` and `?3` the earliest and latest start.
static TWIN_DELETE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "DELETE FROM requests
         WHERE source = 'import' AND response_id IS NOT NULL
            AND agent IN ({}) AND response_id = ?1 AND +started_at BETWEEN ?2 AND ?3",
        IMPORT_AGENTS.map(|a| format!("'{a}'")).join(", ")
    )
});

/// Deletes the imported rows of calls among `rows` that gw's proxy metered: an agent's log can
/// reach `gw import` before the proxy's row of the same call reaches the ledger (the writer
/// commits in windows, later when the CPU is busy), and the proxy's row wins, as it is exact.
/// A twin is an imported row with the proxy row's provider response id (`msg_…`, `resp_…`),
/// whichever agent name the proxy row carries (`gw proxy`'s rows say `proxy`), as `gw import`
/// skips a call by its ids alone; it started within [`TWIN_WINDOW_US`] of the proxy row. It is
/// found through the unique index `gw import` keeps on agent and response id (one probe per
/// agent: `+started_at` keeps the planner off the time index), and the delete trigger takes it
/// out of the rollups (the rows are rolled up: `heal_rollups` ran in this transaction). Not
/// matched here, only by `gw import`: calls whose logs hold no response id (Gemini CLI,
/// opencode; a stream cut before its first event), and proxy rows with a request id only.
fn drop_imported_twins<'r>(
    tx: &Connection,
    rows: impl IntoIterator<Item = &'r Row>,
) -> rusqlite::Result<usize> {
    // Most ledgers hold no imported call with a provider id (nothing was imported): then one
    // probe of that empty index answers for every row. A probe per row was about a third of
    // the writer's instructions per row (callgrind, `GW_BENCH_CALLGRIND`).
    if !holds_imported_ids(tx)? {
        return Ok(0);
    }
    let mut delete = tx.prepare_cached(&TWIN_DELETE)?;
    let mut deleted = 0;
    for r in rows {
        let Some(response_id) = r.response_id.as_deref().filter(|_| r.source.is_proxy()) else {
            continue;
        };
        deleted += delete.execute(params![
            response_id,
            r.started_at_us.saturating_sub(TWIN_WINDOW_US),
            r.ended_at_us.saturating_add(TWIN_WINDOW_US),
        ])?;
    }
    Ok(deleted)
}

/// Inserts `rows` with `sql` ([`INSERT`] or [`IMPORT_INSERT`]), but not those `skip` names, and
/// adds the inserted ones to the rollups (one upsert per group and table: [`RollupSums`]).
/// Answers how many were inserted and how many skipped.
fn insert_rolled_up<'r>(
    tx: &Connection,
    sql: &str,
    rows: impl IntoIterator<Item = &'r Row>,
    mut skip: impl FnMut(&Row) -> bool,
) -> rusqlite::Result<(usize, usize)> {
    let (mut inserted, mut skipped) = (0, 0);
    let mut sums = RollupSums::default();
    {
        let mut stmt = tx.prepare_cached(sql)?;
        // The row whose values the statement holds (none yet: a statement from the cache has its
        // bindings cleared).
        let mut bound = None;
        for r in rows {
            if skip(r) {
                skipped += 1;
                continue;
            }
            let done = insert_row(&mut stmt, r, bound.take());
            if done? == 1 {
                inserted += 1;
                sums.add(r)?;
            }
            bound = Some(r);
        }
    }
    sums.write(tx)?;
    Ok((inserted, skipped))
}

/// Executes [`INSERT`] for one row; answers 1 when inserted, 0 when its id was there. `bound` is
/// the row the statement's parameters hold from its last execution, if any: a value equal to
/// that row's is not bound again (SQLite keeps bindings from one execution to the next, and each
/// text binding is a copy; consecutive rows mostly share their attribution, model and prices).
fn insert_row(
    stmt: &mut rusqlite::CachedStatement<'_>,
    r: &Row,
    bound: Option<&Row>,
) -> rusqlite::Result<usize> {
    debug_assert_eq!(stmt.parameter_count(), 38);
    // Each parameter in turn, unless `bound` holds the same value for it.
    let mut binder = Binder::new(stmt);
    macro_rules! column {
        ($($field:ident).+) => {
            binder.next(&r.$($field).+, bound.is_some_and(|b| b.$($field).+ == r.$($field).+))?
        };
        ($($field:ident).+ as $map:expr) => {
            binder.next(&$map(r.$($field).+), bound.is_some_and(|b| b.$($field).+ == r.$($field).+))?
        };
    }
    let mut id = [0u8; uuid::fmt::Hyphenated::LENGTH];
    binder.next(&&*r.id.hyphenated().encode_lower(&mut id), false)?;
    column!(started_at_us);
    column!(ended_at_us);
    column!(provider);
    column!(endpoint);
    column!(requested_model);
    column!(model);
    column!(status);
    column!(streamed);
    column!(incomplete);
    let tokens = token_columns(&r.usage);
    let bound_tokens = bound.map(|b| token_columns(&b.usage));
    for (i, n) in tokens.iter().enumerate() {
        binder.next(n, bound_tokens.is_some_and(|b| b[i] == *n))?;
    }
    column!(cost_nanos);
    column!(price_version);
    column!(latency_us);
    column!(ttfb_us);
    column!(upstream_request_id);
    column!(attribution.session_id);
    column!(attribution.agent);
    column!(attribution.agent_version);
    column!(agent_session_id);
    column!(attribution.developer);
    column!(attribution.project);
    column!(attribution.branch);
    column!(attribution.task);
    column!(attribution.cwd);
    column!(attribution.host);
    column!(attribution.key_id);
    column!(error);
    column!(billing as crate::meter::Billing::as_str);
    column!(region);
    column!(source as Source::as_str);
    column!(response_id);
    column!(log_cost_nanos);
    stmt.raw_execute()
}

/// Binds a statement's parameters in order, leaving one whose value the statement already holds
/// from its last execution: SQLite keeps bindings from one execution to the next, and each text
/// binding is a copy. (rusqlite clears a statement's bindings when it goes back to its cache.)
struct Binder<'s, 'c> {
    stmt: &'s mut rusqlite::CachedStatement<'c>,
    index: usize,
}

impl<'s, 'c> Binder<'s, 'c> {
    fn new(stmt: &'s mut rusqlite::CachedStatement<'c>) -> Self {
        Binder { stmt, index: 0 }
    }

    /// Binds the next parameter to `value`, unless `same` says the statement holds it already.
    fn next(&mut self, value: &dyn rusqlite::ToSql, same: bool) -> rusqlite::Result<()> {
        self.index += 1;
        match same {
            true => Ok(()),
            false => self.stmt.raw_bind_parameter(self.index, value),
        }
    }
}

/// A row's tokens as the ledger stores them, in its columns' order: input, output, cache read,
/// 5-minute and 1-hour cache writes, reasoning.
fn token_columns(u: &crate::meter::Usage) -> [i64; 6] {
    [
        u.input,
        u.output,
        u.cache_read,
        u.cache_write_5m,
        u.cache_write_1h,
        u.reasoning,
    ]
    .map(|t| t as i64)
}

/// The columns of an insert, in the order of its parameters (`insert_row`'s).
macro_rules! insert_head {
    () => {
        "INSERT INTO requests (
    id, started_at, ended_at, provider, endpoint, requested_model, model, status, streamed, incomplete,
    input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens,
    cost_nanos, price_version, latency_us, ttfb_us, upstream_request_id,
    session_id, agent, agent_version, agent_session_id, developer, project, branch, task, cwd, host, key_id, error,
    billing, region, source, response_id, log_cost_nanos
)"
    };
}

macro_rules! insert_params {
    () => {
        "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21,
          ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38"
    };
}

const INSERT: &str = concat!(
    insert_head!(),
    " VALUES (",
    insert_params!(),
    ") ON CONFLICT(id) DO NOTHING"
);

/// An imported row: skipped when the call was imported before (its id, or the unique index on
/// agent, response id and request id). One row per statement: no statement journal.
const IMPORT_INSERT: &str = concat!(
    insert_head!(),
    " VALUES (",
    insert_params!(),
    ") ON CONFLICT DO NOTHING"
);

/// The rollup tables, with the width of their buckets in µs (as migration 2 made them).
const ROLLUPS: [(&str, i64); 3] = [
    ("spend_1d", 86_400_000_000),
    ("spend_1h", 3_600_000_000),
    ("spend_15m", 900_000_000),
];

/// A rollup row's key: its bucket's start and its text keys, in the table's column order
/// (session, provider, model, agent, project, branch, task, developer, key, billing, source;
/// '' for none, as the triggers write it). Ordered as the tables' primary keys are.
#[derive(Hash, PartialOrd, Ord)]
struct RollupKey<'a> {
    bucket: i64,
    text: [&'a str; 11],
}

/// Equal texts, told first by where they are: the rows of a session share one attribution, so
/// most of a key's texts are the very strings of the key it meets in the map (comparing all
/// eleven byte by byte was 3.9% of a first import's CPU, perf). Texts in two places are still
/// compared as text: this is the equality `Hash` and `Ord` agree with.
impl PartialEq for RollupKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.bucket == other.bucket
            && (self.text.iter())
                .zip(&other.text)
                .all(|(a, b)| std::ptr::eq(*a, *b) || a == b)
    }
}

impl Eq for RollupKey<'_> {}

/// The sums a transaction's inserted rows add to the rollups, by quarter-hour bucket and key
/// (hours and days are whole quarters: they are summed from these when written). gw's inserts
/// and [`heal_rollups`] go through here (migration 9 dropped the insert trigger, whose three
/// upserts per row, each under a statement journal, made the ledger writer's commits bursts of
/// milliseconds that took the CPU from the proxy): one upsert per group and table.
#[derive(Default)]
struct RollupSums<'a>(RollupMap<'a>);

/// A map by rollup key, hashed with foldhash (each map seeded at random): a key is eleven strings,
/// and SipHash over them was a third of the sums' cost per row.
type RollupMap<'a> = HashMap<RollupKey<'a>, [i64; 9], foldhash::quality::RandomState>;

/// The finest rollup's bucket width; the others' are multiples of it.
const QUARTER_US: i64 = ROLLUPS[2].1;

impl<'a> RollupSums<'a> {
    /// Adds an inserted row.
    fn add(&mut self, r: &'a Row) -> rusqlite::Result<()> {
        let a = &r.attribution;
        let [input, output, cache_read, cache_write_5m, cache_write_1h, reasoning] =
            token_columns(&r.usage);
        let add = [
            1,
            input,
            output,
            cache_read,
            cache_write_5m,
            cache_write_1h,
            reasoning,
            r.cost_nanos.unwrap_or(0),
            r.cost_nanos.is_none() as i64,
        ];
        // A bucket past i64 is refused (the rollups' SQL, STRICT, refused it too), for every
        // width: the day's is the lowest.
        let bucket = |us: i64| {
            r.started_at_us
                .checked_sub(r.started_at_us.rem_euclid(us))
                .ok_or(rusqlite::Error::IntegralValueOutOfRange(1, r.started_at_us))
        };
        bucket(ROLLUPS[0].1)?;
        let key = RollupKey {
            bucket: bucket(QUARTER_US)?,
            text: [
                &a.session_id,
                &r.provider,
                r.model.as_deref().unwrap_or(""),
                a.agent.as_deref().unwrap_or(""),
                a.project.as_deref().unwrap_or(""),
                a.branch.as_deref().unwrap_or(""),
                a.task.as_deref().unwrap_or(""),
                a.developer.as_deref().unwrap_or(""),
                a.key_id.as_deref().unwrap_or(""),
                r.billing.as_str(),
                r.source.as_str(),
            ],
        };
        add_sums(self.0.entry(key).or_default(), &add)
    }

    /// Adds the sums to the rollups, one upsert per group and table.
    fn write(self, tx: &Connection) -> rusqlite::Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let quarters = self.0;
        for (table, us) in ROLLUPS {
            let wider;
            let sums = if us == QUARTER_US {
                &quarters
            } else {
                let mut groups = RollupMap::default();
                for (key, total) in &quarters {
                    let key = RollupKey {
                        // Checked in `add`.
                        bucket: key.bucket - key.bucket.rem_euclid(us),
                        text: key.text,
                    };
                    add_sums(groups.entry(key).or_default(), total)?;
                }
                wider = groups;
                &wider
            };
            let mut stmt = tx.prepare_cached(&format!(
                "INSERT INTO {table} (bucket, session_id, provider, model, agent, project, branch,
                    task, developer, key_id, billing, source, requests, input_tokens,
                    output_tokens, cache_read_tokens, cache_write_5m_tokens,
                    cache_write_1h_tokens, reasoning_tokens, cost_nanos, unpriced_requests)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    ?17, ?18, ?19, ?20, ?21)
                 {}",
                schema::ROLLUP_BATCH_ADDED
            ))?;
            // In the table's key order: each upsert lands beside the last one in the table, and
            // consecutive groups share most of their key, which is then not bound again
            // ([`Binder`]).
            let mut sorted: Vec<_> = sums.iter().collect();
            sorted.sort_unstable_by_key(|(key, _)| *key);
            let mut bound: Option<(&RollupKey, &[i64; 9])> = None;
            for (key, total) in sorted {
                let mut binder = Binder::new(&mut stmt);
                binder.next(
                    &key.bucket,
                    bound.is_some_and(|(b, _)| b.bucket == key.bucket),
                )?;
                for (i, text) in key.text.iter().enumerate() {
                    binder.next(text, bound.is_some_and(|(b, _)| b.text[i] == *text))?;
                }
                for (i, n) in total.iter().enumerate() {
                    binder.next(n, bound.is_some_and(|(_, b)| b[i] == *n))?;
                }
                stmt.raw_execute()?;
                bound = Some((key, total));
            }
        }
        Ok(())
    }
}

/// Adds to the rollups the rows another writer inserted since gw's last insert (a gw of an
/// older version still running after this one migrated the ledger, sqlite3 by hand): those past
/// `rollup_mark`'s rowid, which every gw insert moves to the last row. Answers how many.
fn heal_rollups(tx: &Connection) -> rusqlite::Result<usize> {
    const CHUNK: i64 = 4096;
    let (mut mark, last) = (rollup_mark(tx)?, last_rowid(tx)?);
    let mut healed = 0;
    while mark < last {
        let rows: Vec<(i64, Row)> = tx
            .prepare_cached(&format!(
                "SELECT {COLUMNS}, rowid FROM requests WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"
            ))?
            .query_map([mark, CHUNK], |r| Ok((r.get("rowid")?, row_from_sql(r)?)))?
            .collect::<Result<_, _>>()?;
        let Some(&(next, _)) = rows.last() else {
            break;
        };
        let mut sums = RollupSums::default();
        for (_, r) in &rows {
            sums.add(r)?;
        }
        sums.write(tx)?;
        healed += rows.len();
        mark = next;
    }
    if healed > 0 {
        tracing::info!(
            rows = healed,
            "added rows another writer inserted to the rollups"
        );
        mark_rolled_up(tx)?;
    }
    Ok(healed)
}

/// Records that every row so far is in the rollups (at the end of each gw insert).
fn mark_rolled_up(tx: &Connection) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE rollup_mark SET rowid_to = (SELECT coalesce(max(rowid), 0) FROM requests)",
    )?
    .execute([])?;
    Ok(())
}

/// Whether rows lie past `rollup_mark` (see [`heal_rollups`]).
fn rollups_behind(conn: &Connection) -> rusqlite::Result<bool> {
    Ok(rollup_mark(conn)? < last_rowid(conn)?)
}

/// The last rowid the rollups hold.
fn rollup_mark(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT rowid_to FROM rollup_mark")?
        .query_row([], |r| r.get(0))
}

/// The last row's rowid (0 for none).
fn last_rowid(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT coalesce(max(rowid), 0) FROM requests")?
        .query_row([], |r| r.get(0))
}

/// Adds `add` to a group's sums; a sum past i64 is refused, as SQLite refused it in the rollup
/// (STRICT), rather than stored wrong.
fn add_sums(total: &mut [i64; 9], add: &[i64; 9]) -> rusqlite::Result<()> {
    for (t, n) in total.iter_mut().zip(add) {
        *t = t
            .checked_add(*n)
            .ok_or(rusqlite::Error::IntegralValueOutOfRange(0, *n))?;
    }
    Ok(())
}

/// A large first import drops the indexes whose keys arrive in random order and builds them
/// after its rows, when it brings at least this many (in tests, a few).
#[cfg(not(test))]
const REBUILD_MIN_ROWS: usize = 20_000;
#[cfg(test)]
const REBUILD_MIN_ROWS: usize = 16;
/// ... and at most this many: a rebuild holds the write lock for the whole import (about 15 s
/// for a million rows here), and the proxy's writer waits for it, its rows in memory, for a
/// bounded time.
const REBUILD_MAX_ROWS: usize = 1_000_000;

/// Whether the ledger holds an imported row with a provider id: a call the unique index on
/// them would turn away from a new import.
fn holds_imported_ids(conn: &Connection) -> rusqlite::Result<bool> {
    conn.prepare_cached(HOLDS_IMPORTED_IDS)?
        .query_row([], |r| r.get(0))
}

/// Its WHERE is the partial index `requests_imported_call`'s, so the planner reads that index
/// (a test checks the plan). Not `INDEXED BY`: the proxy's writer asks this before every batch,
/// and an index missing (dropped by hand, or by a later gw's migration while this one runs)
/// must cost a scan, not fail the insert.
const HOLDS_IMPORTED_IDS: &str = "SELECT EXISTS (SELECT 1 FROM requests
    WHERE source = 'import' AND response_id IS NOT NULL)";

/// Imported rows going into the ledger ([`Ledger::bulk_import`]), batch by batch, skipping
/// calls gw's proxy metered (`metered`, brought up to date under each batch's write lock, so a
/// row the proxy wrote while the import read counts) or imported before (the row's id, or the
/// unique index on agent, response id and request id), with the rollups summed once per group
/// and batch.
///
/// Each batch is its own transaction, so the proxy's writer gets the lock between them, unless
/// the indexes are being rebuilt: then the whole import is one transaction (the indexes are
/// missing until it commits, and never for any other connection), and [`BulkImport::commit`]
/// builds them. An import dropped before `commit` leaves the ledger as it was.
pub struct BulkImport<'c> {
    conn: &'c Connection,
    rebuild: Option<rusqlite::Transaction<'c>>,
}

impl BulkImport<'_> {
    /// Whether the indexes are built after the rows (see [`Ledger::bulk_import`]).
    pub fn rebuilds_indexes(&self) -> bool {
        self.rebuild.is_some()
    }

    /// Inserts a batch of rows.
    pub fn insert(
        &mut self,
        rows: &[Row],
        metered: &mut MeteredCalls,
    ) -> Result<BulkInserted, LedgerError> {
        let mut batch = None;
        let tx: &Connection = match &self.rebuild {
            Some(tx) => tx,
            None => batch.insert(rusqlite::Transaction::new_unchecked(
                self.conn,
                rusqlite::TransactionBehavior::Immediate,
            )?),
        };
        metered.read_on(tx)?;
        heal_rollups(tx)?;
        let (inserted, proxied) = insert_rolled_up(tx, IMPORT_INSERT, rows, |r| metered.holds(r))?;
        mark_rolled_up(tx)?;
        if let Some(batch) = batch {
            batch.commit()?;
        }
        Ok(BulkInserted {
            inserted,
            metered: proxied,
        })
    }

    /// Builds the dropped indexes (when rebuilding) and commits.
    pub fn commit(self) -> Result<(), LedgerError> {
        let Some(tx) = self.rebuild else {
            return Ok(());
        };
        let built = schema::REBUILT_INDEXES
            .iter()
            .try_for_each(|(_, create)| tx.execute_batch(create));
        built
            .and_then(|()| tx.commit())
            .map_err(LedgerError::ImportRolledBack)
    }
}

/// What [`BulkImport::insert`] did with its rows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BulkInserted {
    pub inserted: usize,
    /// Rows of calls gw's proxy metered (not inserted: the proxy's row is exact).
    pub metered: usize,
}

/// The calls gw's proxy metered, by their provider ids (`request-id`, message or response
/// id): read once, then only the rows written since.
#[derive(Debug, Default)]
pub struct MeteredCalls {
    ids: std::collections::HashSet<String>,
    /// The last rowid read. Rowids only grow: the ledger deletes only imported rows, each below
    /// the proxy row inserted before it in the same transaction, so the largest is never reused.
    read_to: i64,
}

impl MeteredCalls {
    /// Whether one of the provider's ids names a call gw's proxy metered.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    fn holds(&self, row: &Row) -> bool {
        [&row.upstream_request_id, &row.response_id]
            .into_iter()
            .flatten()
            .any(|id| self.ids.contains(id))
    }

    /// Reads the proxy rows written since the last read.
    fn read_on(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        let last = last_rowid(conn)?;
        let mut stmt = conn.prepare_cached(
            "SELECT upstream_request_id, response_id FROM requests
             WHERE rowid > ?1 AND rowid <= ?2 AND source = 'proxy'
                AND (upstream_request_id IS NOT NULL OR response_id IS NOT NULL)",
        )?;
        let mut rows = stmt.query([self.read_to, last])?;
        self.read_to = last;
        while let Some(r) = rows.next()? {
            for i in 0..2 {
                if let Some(id) = r.get::<_, Option<String>>(i)? {
                    self.ids.insert(id);
                }
            }
        }
        Ok(())
    }
}

const COLUMNS: &str = "id, started_at, ended_at, provider, endpoint, requested_model, model, status, streamed, incomplete,
    input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens,
    cost_nanos, price_version, latency_us, ttfb_us, upstream_request_id,
    session_id, agent, agent_version, agent_session_id, developer, project, branch, task, cwd, host, key_id, error,
    billing, region, source, response_id, log_cost_nanos";

/// A row of `SELECT {COLUMNS}`, read by column name.
fn row_from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    let bad = |column: &str, message: String| {
        let index = r.as_ref().column_index(column).unwrap_or(0);
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            message.into(),
        )
    };
    let id: String = r.get("id")?;
    let id = uuid::Uuid::parse_str(&id).map_err(|e| bad("id", e.to_string()))?;
    let billing: String = r.get("billing")?;
    let billing = crate::meter::Billing::parse(&billing)
        .ok_or_else(|| bad("billing", format!("unknown billing `{billing}`")))?;
    let source: String = r.get("source")?;
    let source = Source::parse(&source)
        .ok_or_else(|| bad("source", format!("unknown source `{source}`")))?;
    let n = |column: &str| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(column)?.max(0) as u64) };
    Ok(Row {
        id,
        started_at_us: r.get("started_at")?,
        ended_at_us: r.get("ended_at")?,
        provider: r.get("provider")?,
        endpoint: r.get("endpoint")?,
        requested_model: r.get("requested_model")?,
        model: r.get("model")?,
        status: r.get("status")?,
        streamed: r.get("streamed")?,
        incomplete: r.get("incomplete")?,
        usage: crate::meter::Usage {
            input: n("input_tokens")?,
            output: n("output_tokens")?,
            cache_read: n("cache_read_tokens")?,
            cache_write_5m: n("cache_write_5m_tokens")?,
            cache_write_1h: n("cache_write_1h_tokens")?,
            reasoning: n("reasoning_tokens")?,
        },
        cost_nanos: r.get("cost_nanos")?,
        price_version: r.get("price_version")?,
        latency_us: r.get("latency_us")?,
        ttfb_us: r.get("ttfb_us")?,
        upstream_request_id: r.get("upstream_request_id")?,
        attribution: Arc::new(Attribution {
            session_id: r.get("session_id")?,
            agent: r.get("agent")?,
            agent_version: r.get("agent_version")?,
            developer: r.get("developer")?,
            project: r.get("project")?,
            branch: r.get("branch")?,
            task: r.get("task")?,
            cwd: r.get("cwd")?,
            host: r.get("host")?,
            key_id: r.get("key_id")?,
        }),
        agent_session_id: r.get("agent_session_id")?,
        error: r.get("error")?,
        billing,
        region: r.get("region")?,
        source,
        response_id: r.get("response_id")?,
        log_cost_nanos: r.get("log_cost_nanos")?,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::meter::Usage;

    /// A call imported before gw's proxy row of it reached the ledger: the proxy's row, when it
    /// comes, replaces the imported one (by response id, whatever agent name the proxy row
    /// carries), in the rows and the rollups; an imported row with the same id from another
    /// day, or with another id, stays, and the delete is an index probe.
    #[test]
    fn a_proxy_row_replaces_the_imported_row_of_its_call() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        let hour = 3_600_000_000;
        let imported = |response_id: &str, agent: &str, at: i64| {
            let mut r = sample_row("log", at);
            r.source = Source::Import;
            r.response_id = Some(response_id.into());
            Arc::make_mut(&mut r.attribution).agent = Some(agent.into());
            r.usage.output = 7_000;
            r
        };
        let rows = [
            imported("msg_twin", "claude", 100 * hour),
            imported("resp_twin", "codex", 100 * hour),
            imported("msg_alone", "claude", 100 * hour),
            imported("chatcmpl-1", "opencode", 90 * hour),
        ];
        let mut bulk = ledger.bulk_import(rows.len()).unwrap();
        let mut metered = ledger.metered_calls().unwrap();
        bulk.insert(&rows, &mut metered).unwrap();
        bulk.commit().unwrap();
        let proxied = |response_id: Option<&str>, agent: Option<&str>| {
            let mut r = sample_row("gw", 100 * hour + 1_000);
            r.response_id = response_id.map(str::to_string);
            Arc::make_mut(&mut r.attribution).agent = agent.map(str::to_string);
            r
        };
        // Planned, not run.
        let plan = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> String {
            ledger
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(params, |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
                .join("; ")
        };
        let twin = plan(&TWIN_DELETE, &[&"msg_twin", &1_i64, &2_i64]);
        assert!(
            twin.contains("USING INDEX requests_imported_call"),
            "{twin}"
        );
        // Whether there is anything to look for at all: that index too, one probe a batch.
        let any = plan(HOLDS_IMPORTED_IDS, &[]);
        assert!(any.contains("INDEX requests_imported_call"), "{any}");
        let batch = [
            proxied(Some("msg_twin"), Some("claude")),
            // `gw proxy`'s rows name no agent of the import's: the id is what counts.
            proxied(Some("resp_twin"), Some("proxy")),
            // The same id ten hours apart is another call.
            proxied(Some("chatcmpl-1"), None),
            proxied(None, Some("claude")),
        ];
        assert_eq!(ledger.insert(&batch).unwrap(), 4);
        let left: Vec<(String, Option<String>, Option<String>)> = ledger
            .conn
            .prepare("SELECT source, agent, response_id FROM requests ORDER BY source, response_id")
            .unwrap()
            .query_map([], |r| r.try_into())
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let owned = |s: &str, a: Option<&str>, id: Option<&str>| {
            (s.to_string(), a.map(str::to_string), id.map(str::to_string))
        };
        assert_eq!(
            left,
            [
                owned("import", Some("opencode"), Some("chatcmpl-1")),
                owned("import", Some("claude"), Some("msg_alone")),
                owned("proxy", Some("claude"), None),
                owned("proxy", None, Some("chatcmpl-1")),
                owned("proxy", Some("claude"), Some("msg_twin")),
                owned("proxy", Some("proxy"), Some("resp_twin")),
            ]
        );
        // The rollups (keyed by agent too, which `rollups` does not show) hold what the rows do.
        let sums = |sql: &str| -> Vec<(String, i64, i64, i64)> {
            ledger
                .conn
                .prepare(sql)
                .unwrap()
                .query_map([], |r| r.try_into())
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let rows = sums(
            "SELECT source, count(*), sum(output_tokens), sum(cost_nanos)
             FROM requests GROUP BY 1 ORDER BY 1",
        );
        assert_eq!(rows[0], ("import".to_string(), 2, 14_000, 63_060_000));
        for table in ["spend_1d", "spend_1h", "spend_15m"] {
            let rolled = sums(&format!(
                "SELECT source, sum(requests), sum(output_tokens), sum(cost_nanos)
                 FROM {table} GROUP BY 1 HAVING sum(requests) > 0 ORDER BY 1"
            ));
            assert_eq!(rolled, rows, "{table}");
        }
    }

    pub(crate) fn sample_row(session: &str, started_at_us: i64) -> Row {
        Row {
            id: uuid::Uuid::now_v7(),
            started_at_us,
            ended_at_us: started_at_us + 1_500,
            provider: "anthropic".into(),
            endpoint: "/v1/messages".into(),
            requested_model: Some("claude-sonnet-4-5".into()),
            model: Some("claude-sonnet-4-5-20250929".into()),
            status: 200,
            streamed: true,
            incomplete: false,
            usage: Usage {
                input: 1200,
                output: 85,
                cache_read: 50_000,
                cache_write_5m: 3000,
                cache_write_1h: 0,
                reasoning: 0,
            },
            cost_nanos: Some(31_530_000),
            price_version: "test".into(),
            latency_us: 1_500,
            ttfb_us: Some(300),
            upstream_request_id: Some("req_1".into()),
            agent_session_id: Some("agent-sess".into()),
            error: None,
            billing: Default::default(),
            region: None,
            attribution: Arc::new(Attribution {
                session_id: session.into(),
                agent: Some("claude".into()),
                ..Default::default()
            }),
            source: Default::default(),
            response_id: None,
            log_cost_nanos: None,
        }
    }

    #[test]
    fn insert_and_read_back_is_lossless_and_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(&dir.path().join("sub/ledger.db")).unwrap();
        let row = sample_row("s1", 1_000_000);
        assert_eq!(ledger.insert(std::slice::from_ref(&row)).unwrap(), 1);
        assert_eq!(
            ledger.insert(std::slice::from_ref(&row)).unwrap(),
            0,
            "same id twice is one row"
        );
        assert_eq!(ledger.get(&row.id).unwrap().unwrap(), row);
        assert_eq!(ledger.session_rows("s1").unwrap(), vec![row]);
    }

    /// Per rollup table: bucket, keys, requests, output tokens, cost, unpriced requests.
    type Sums = Vec<(i64, String, i64, i64, i64, i64)>;

    /// Per table, what `sql` (given the table and its bucket width) answers.
    fn query_sums(ledger: &Ledger, sql: &dyn Fn(&str, i64) -> String) -> Vec<Sums> {
        ROLLUPS
            .iter()
            .map(|&(table, us)| {
                let mut stmt = ledger.conn().prepare(&sql(table, us)).unwrap();
                stmt.query_map([], |r| r.try_into())
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            })
            .collect()
    }

    /// What the rollups hold.
    fn rollups(ledger: &Ledger) -> Vec<Sums> {
        query_sums(ledger, &|table, _| {
            format!(
                "SELECT bucket, session_id || '/' || project || '/' || source,
                    requests, output_tokens, cost_nanos, unpriced_requests
                 FROM {table} WHERE requests > 0 ORDER BY 1, 2"
            )
        })
    }

    /// What the rows themselves sum to, as migration 2 built the rollups.
    fn row_sums(ledger: &Ledger) -> Vec<Sums> {
        query_sums(ledger, &|_, us| {
            format!(
                "SELECT started_at - ((started_at % {us}) + {us}) % {us} AS b,
                    session_id || '/' || coalesce(project, '') || '/' || source AS k,
                    count(*), sum(output_tokens), coalesce(sum(cost_nanos), 0),
                    sum(cost_nanos IS NULL)
                 FROM requests GROUP BY b, k ORDER BY 1, 2"
            )
        })
    }

    #[test]
    fn each_row_reads_back_as_inserted_whatever_its_neighbours_share() {
        // The insert binds only what differs from the row before it: every column goes from
        // equal to different, from a value to none and back, around a skipped row and one whose
        // id was there (which differs from its neighbours in every column but its id).
        let mut rows = Vec::new();
        for i in 0..12i64 {
            let mut r = sample_row(["s1", "s2"][i as usize % 2], 1_000 + i);
            let some = |text: &str| (i % 3 != 0).then(|| format!("{text}{}", i / 4));
            r.ended_at_us = r.started_at_us + i / 2;
            r.provider = ["anthropic", "openai"][(i / 3) as usize % 2].into();
            r.endpoint = format!("/v1/{}", i / 5);
            r.requested_model = some("m");
            r.model = (i % 4 != 1).then(|| "claude-x".to_string());
            r.status = [200, 429][(i / 6) as usize];
            r.streamed = i % 2 == 0;
            r.incomplete = i % 5 == 0;
            r.usage.input = (i / 2) as u64;
            r.usage.output = (i / 3) as u64;
            r.usage.cache_read = (i % 2) as u64;
            r.usage.cache_write_5m = (i / 4) as u64;
            r.usage.cache_write_1h = (i % 4) as u64;
            r.usage.reasoning = (i % 3) as u64;
            r.cost_nanos = (i % 4 != 3).then_some(i / 3);
            r.price_version = format!("v{}", i / 7);
            r.latency_us = i / 3;
            r.ttfb_us = some("").map(|t| t.len() as i64 + i);
            r.upstream_request_id = some("req_");
            r.agent_session_id = some("sess");
            r.error = (i == 7).then(|| "boom".to_string());
            r.billing = [
                crate::meter::Billing::Api,
                crate::meter::Billing::Subscription,
            ][(i / 4) as usize % 2];
            r.region = some("eu-");
            r.source = [Source::Proxy, Source::Import][(i / 5) as usize % 2];
            // (An imported call is one row: its ids differ.)
            r.response_id = (i % 3 != 0).then(|| format!("msg_{i}"));
            r.log_cost_nanos = (i % 2 == 1).then_some(i);
            let a = Arc::make_mut(&mut r.attribution);
            a.agent = some("agent");
            a.agent_version = some("1.");
            a.developer = some("dev");
            a.project = (i < 6).then(|| "p".to_string());
            a.branch = some("b");
            a.task = some("t");
            a.cwd = some("/w");
            a.host = some("h");
            a.key_id = some("k");
            rows.push(r);
        }
        // Row 3's id again, every other value new: not inserted, and the next row still gets
        // its own values (the statement held the conflicting row's).
        let mut again = rows[11].clone();
        again.id = rows[3].id;
        again.started_at_us = 999;
        again.usage = crate::meter::Usage {
            input: 91,
            output: 92,
            cache_read: 93,
            cache_write_5m: 94,
            cache_write_1h: 95,
            reasoning: 96,
        };
        Arc::make_mut(&mut again.attribution).session_id = "s9".into();
        again.response_id = Some("msg_again".into());
        rows.insert(10, again);
        for sql in [INSERT, IMPORT_INSERT] {
            let dir = tempfile::tempdir().unwrap();
            let ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
            let (inserted, skipped) =
                insert_rolled_up(ledger.conn(), sql, &rows, |r| r.started_at_us == 1_004).unwrap();
            assert_eq!((inserted, skipped), (11, 1));
            for (i, r) in rows.iter().enumerate() {
                let got = ledger.get(&r.id).unwrap();
                match r.started_at_us {
                    1_004 => assert_eq!(got, None),
                    999 => assert_eq!(got.as_ref(), Some(&rows[3])),
                    _ => assert_eq!(got.as_ref(), Some(r), "row {i}"),
                }
            }
        }
    }

    /// Inserts a row as another writer would (an older gw, sqlite3): no sums, no mark.
    fn insert_by_hand(ledger: &Ledger, r: &Row) {
        let mut stmt = ledger.conn().prepare_cached(INSERT).unwrap();
        assert_eq!(insert_row(&mut stmt, r, None).unwrap(), 1);
    }

    #[test]
    fn rows_another_writer_inserts_are_rolled_up_before_the_next_insert_or_report() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let mut ledger = Ledger::open(&path).unwrap();
        ledger
            .insert([&sample_row("s1", 1), &sample_row("s1", 2)])
            .unwrap();
        insert_by_hand(&ledger, &sample_row("s2", 3_600_000_000));
        assert_ne!(rollups(&ledger), row_sums(&ledger));
        // A report opens the ledger read-only, sees the row past the mark and rolls it up.
        let report = Ledger::open_existing(&path).unwrap().unwrap();
        assert_eq!(rollups(&report), row_sums(&report));
        // gw's next insert rolls up what came before it, and its own rows.
        insert_by_hand(&ledger, &sample_row("s3", 7_200_000_000));
        ledger.insert([&sample_row("s1", 9)]).unwrap();
        assert_eq!(rollups(&ledger), row_sums(&ledger));
        assert_eq!(ledger.heal_rollups().unwrap(), 0, "nothing left behind");
        let total: i64 = ledger
            .conn()
            .query_row("SELECT sum(requests) FROM spend_1d", [], |r| r.get(0))
            .unwrap();
        assert_eq!(total, 5);
    }

    /// `insert` and `bulk_import` sum their rows into the rollups themselves: the rollups must
    /// equal what the rows sum to (as migration 2 built them), rows already there and calls the
    /// proxy metered (even one written after the import read the proxy's rows) left out.
    #[test]
    fn inserts_roll_up_what_the_rows_sum_to_and_bulk_skips_metered_calls() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        let mut metered = ledger.metered_calls().unwrap();
        // A call the proxy metered after the import read its rows.
        let mut proxied = sample_row("s1", 900_000_000);
        proxied.upstream_request_id = Some("req_proxied".into());
        ledger.insert([&proxied]).unwrap();
        let rows: Vec<Row> = (0..40i64)
            .map(|i| {
                let mut r = sample_row(if i % 3 == 0 { "s1" } else { "s2" }, i * 700_000_000);
                r.source = Source::Import;
                r.upstream_request_id = Some(format!("req_{i}"));
                r.response_id = Some(format!("msg_{i}"));
                r.usage.output = i as u64;
                r.cost_nanos = (i % 5 != 0).then_some(1_000 * i);
                Arc::make_mut(&mut r.attribution).project = (i % 2 == 0).then(|| "app".to_string());
                r
            })
            .chain([{
                let mut r = sample_row("s3", 1);
                r.source = Source::Import;
                r.response_id = Some("msg_other".into());
                r.upstream_request_id = Some("req_proxied".into());
                r
            }])
            .collect();
        let mut bulk = ledger.bulk_import(20).unwrap();
        let done = bulk.insert(&rows[..20], &mut metered).unwrap();
        bulk.commit().unwrap();
        assert_eq!(
            done,
            BulkInserted {
                inserted: 20,
                metered: 0
            }
        );
        let mut bulk = ledger.bulk_import(rows.len()).unwrap();
        let done = bulk.insert(&rows, &mut metered).unwrap();
        bulk.commit().unwrap();
        assert_eq!(
            done,
            BulkInserted {
                inserted: 20,
                metered: 1
            },
            "20 there already"
        );
        let bulk = rollups(&ledger);
        assert_eq!(bulk, row_sums(&ledger));
        assert!(bulk[0].len() > 3, "{:?}", bulk[0]);
        assert!(bulk[2].len() > bulk[1].len(), "{:?}", bulk[2]);
        // The same rows through the writer's `insert`, some twice (counted once), in the
        // other order.
        let dir2 = tempfile::tempdir().unwrap();
        let mut by_insert = Ledger::open(&dir2.path().join("ledger.db")).unwrap();
        assert_eq!(by_insert.insert(&rows[..10]).unwrap(), 10);
        assert_eq!(
            by_insert
                .insert(std::iter::once(&proxied).chain(&rows[..40]))
                .unwrap(),
            31
        );
        assert_eq!(bulk, rollups(&by_insert));
    }

    /// The `requests` indexes, as `sqlite_master` holds them (whitespace folded).
    fn request_indexes(ledger: &Ledger) -> Vec<(String, String)> {
        let mut stmt = ledger
            .conn()
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' AND sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(|r| {
                let (name, sql) = r.unwrap();
                (name, sql.split_whitespace().collect::<Vec<_>>().join(" "))
            })
            .collect()
    }

    /// A large first import builds the random-order indexes after its rows: they come back as
    /// the migrations made them, still turn a call imported before away, and are rebuilt only
    /// when the import outnumbers the ledger and no imported call could clash.
    #[test]
    fn a_large_first_import_builds_its_indexes_after_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        let made = request_indexes(&ledger);
        for (name, create) in schema::REBUILT_INDEXES {
            let create = create.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                made.contains(&(name.to_string(), create)),
                "{name}: {made:?}"
            );
        }
        let imported = |i: i64, id: &str| {
            let mut r = sample_row(&format!("s{}", i % 7), i * 60_000_000);
            r.source = Source::Import;
            Arc::make_mut(&mut r.attribution).agent = Some("claude".into());
            r.response_id = Some(format!("msg_{id}"));
            r.upstream_request_id = Some(format!("req_{id}"));
            r
        };
        let rows: Vec<Row> = (0..40).map(|i| imported(i, &i.to_string())).collect();
        let mut metered = ledger.metered_calls().unwrap();
        // Dropped before commit: nothing happened.
        let mut bulk = ledger.bulk_import(rows.len()).unwrap();
        assert!(bulk.rebuilds_indexes());
        bulk.insert(&rows, &mut metered).unwrap();
        drop(bulk);
        assert_eq!(request_indexes(&ledger), made);
        assert!(ledger.recent(1).unwrap().is_empty());
        let mut bulk = ledger.bulk_import(rows.len()).unwrap();
        assert!(bulk.rebuilds_indexes());
        assert_eq!(bulk.insert(&rows[..25], &mut metered).unwrap().inserted, 25);
        // Gone inside the import's transaction; there for every other connection.
        let inside = request_indexes(&ledger);
        for (name, _) in schema::REBUILT_INDEXES {
            assert!(!inside.iter().any(|(n, _)| n == name), "{name}: {inside:?}");
        }
        let other = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        assert_eq!(request_indexes(&other), made);
        assert_eq!(bulk.insert(&rows[20..], &mut metered).unwrap().inserted, 15);
        bulk.commit().unwrap();
        assert_eq!(request_indexes(&ledger), made);
        assert_eq!(rollups(&ledger), row_sums(&ledger));
        // The same call again under another row id (another time): turned away by the index.
        let again: Vec<Row> = (0..30)
            .map(|i| imported(i + 1000, &i.to_string()))
            .collect();
        let mut bulk = ledger.bulk_import(1_000).unwrap();
        assert!(!bulk.rebuilds_indexes(), "imported calls are there");
        assert_eq!(bulk.insert(&again, &mut metered).unwrap().inserted, 0);
        bulk.commit().unwrap();
        // Fewer rows than the ledger holds: inserted row by row.
        let dir2 = tempfile::tempdir().unwrap();
        let mut proxied = Ledger::open(&dir2.path().join("ledger.db")).unwrap();
        proxied
            .insert((0..50).map(|i| sample_row("p", i * 1_000_000)))
            .unwrap();
        assert!(!proxied.bulk_import(40).unwrap().rebuilds_indexes());
        assert!(proxied.bulk_import(60).unwrap().rebuilds_indexes());
        assert!(
            !proxied.bulk_import(10).unwrap().rebuilds_indexes(),
            "too few"
        );
        assert!(
            !proxied
                .bulk_import(REBUILD_MAX_ROWS + 1)
                .unwrap()
                .rebuilds_indexes(),
            "too long a lock"
        );
        // A call twice under two row ids (which `gw import` never sends in one run): the unique
        // index cannot be built, and nothing of the import stays.
        let twice: Vec<Row> = (0..20)
            .map(|i| imported(i + 5000, &format!("t{}", i % 19)))
            .collect();
        let mut metered = proxied.metered_calls().unwrap();
        let mut bulk = proxied.bulk_import(twice.len() + 100).unwrap();
        assert!(bulk.rebuilds_indexes());
        assert_eq!(bulk.insert(&twice, &mut metered).unwrap().inserted, 20);
        let err = bulk.commit().unwrap_err();
        assert!(
            matches!(err, LedgerError::ImportRolledBack(_))
                && err.to_string().contains("none of it was kept"),
            "{err}"
        );
        assert_eq!(request_indexes(&proxied), made);
        assert_eq!(proxied.recent(100).unwrap().len(), 50);
    }

    /// Opens the ledger at `path`, inserts a row, and opens it again: answers the second
    /// connection and the row.
    fn reopened_with_a_row(path: &Path) -> (Ledger, Row) {
        let row = sample_row("s1", 5);
        Ledger::open(path)
            .unwrap()
            .insert(std::slice::from_ref(&row))
            .unwrap();
        (Ledger::open(path).unwrap(), row)
    }

    #[test]
    fn reopening_keeps_schema_and_rows() {
        let dir = tempfile::tempdir().unwrap();
        let (ledger, row) = reopened_with_a_row(&dir.path().join("ledger.db"));
        assert_eq!(ledger.recent(10).unwrap(), vec![row]);
        let mode: String = ledger
            .conn()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_new_ledger_has_large_pages_and_an_old_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let page_size = |ledger: &Ledger| -> i64 {
            ledger
                .conn()
                .pragma_query_value(None, "page_size", |r| r.get(0))
                .unwrap()
        };
        let fresh = dir.path().join("fresh.db");
        assert_eq!(page_size(&Ledger::open(&fresh).unwrap()), PAGE_SIZE);
        // A ledger an earlier gw made, with SQLite's default pages, rows and all.
        let old = dir.path().join("old.db");
        let conn = Connection::open(&old).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        drop(conn);
        let (ledger, row) = reopened_with_a_row(&old);
        assert_eq!(page_size(&ledger), 4096);
        assert_eq!(ledger.recent(10).unwrap(), vec![row]);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        Ledger::open(&path)
            .unwrap()
            .conn()
            .pragma_update(None, "user_version", 999)
            .unwrap();
        assert!(matches!(
            Ledger::open(&path),
            Err(LedgerError::TooNew { .. })
        ));
    }
}
