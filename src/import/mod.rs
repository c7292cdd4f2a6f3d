//! `gw import`: past usage from the agents' own logs into the ledger, once.
//!
//! Each agent's files are found where the agent writes them (honouring the variable that moves
//! them), read from where the last import stopped, and turned into one ledger row per billed
//! model call (`source = import`), priced with gw's table. Never a call twice:
//! - a row's id is derived from the call's identity (the provider's message or response id),
//!   so importing the same call again (a second run, a copy in a forked session's file) is a
//!   no-op;
//! - within a run, the agent's own duplicates (Claude Code's line per content block, Codex's
//!   two records per response) are one call, keeping the most complete copy;
//! - a call gw's proxy already metered (its `request-id` or message/response id is on a proxy
//!   row) is skipped: the proxy row is exact.
//!
//! Lines that cannot be read (a last line still being written, bad JSON, not UTF-8, record types
//! gw does not know) are counted by reason and skipped; a file replaced or truncated under gw is
//! read again from its start. See `../shared/AGENT_LOGS.md` for the formats and their traps.

mod claude;
mod codex;
mod gemini;
mod opencode;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::params;
use sha2::{Digest, Sha256};

use crate::ledger::{Attribution, BulkImport, Ledger, LedgerError, MeteredCalls, Row, Source};
use crate::meter::{Billing, Provider, Usage};
use crate::pricing::PriceTable;

/// The agents whose logs gw reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Agent {
    Claude,
    Codex,
    Gemini,
    Opencode,
}

impl Agent {
    pub const ALL: [Agent; 4] = [Agent::Claude, Agent::Codex, Agent::Gemini, Agent::Opencode];

    /// The name its rows carry in `agent` (the ledger's list, which its writer looks through for
    /// imported twins of the calls gw's proxy meters).
    pub fn name(self) -> &'static str {
        let [claude, codex, gemini, opencode] = crate::ledger::IMPORT_AGENTS;
        match self {
            Agent::Claude => claude,
            Agent::Codex => codex,
            Agent::Gemini => gemini,
            Agent::Opencode => opencode,
        }
    }

    /// Where the agent keeps the logs gw reads: Claude Code's `projects/` under
    /// `CLAUDE_CONFIG_DIR` (default `~/.claude`), Codex's `sessions/` and `archived_sessions/`
    /// under `CODEX_HOME` (default `~/.codex`), Gemini CLI's `.gemini/tmp/` under
    /// `GEMINI_CLI_HOME` (default the home), opencode's database (`OPENCODE_DB`, absolute or
    /// relative to its data dir, default `$XDG_DATA_HOME/opencode/opencode.db`).
    pub fn roots(self, env: &dyn Fn(&str) -> Option<String>) -> Vec<PathBuf> {
        let home = env("HOME").map(PathBuf::from);
        match self {
            Agent::Claude => match env("CLAUDE_CONFIG_DIR") {
                Some(dir) => dir
                    .split(',')
                    .map(|d| PathBuf::from(d.trim()).join("projects"))
                    .collect(),
                None => home
                    .map(|h| {
                        vec![
                            h.join(".claude/projects"),
                            h.join(".config/claude/projects"),
                        ]
                    })
                    .unwrap_or_default(),
            },
            Agent::Codex => {
                let base = env("CODEX_HOME")
                    .map(PathBuf::from)
                    .or_else(|| home.map(|h| h.join(".codex")));
                base.map(|b| vec![b.join("sessions"), b.join("archived_sessions")])
                    .unwrap_or_default()
            }
            Agent::Gemini => env("GEMINI_CLI_HOME")
                .map(PathBuf::from)
                .or(home)
                .map(|h| vec![h.join(".gemini/tmp")])
                .unwrap_or_default(),
            Agent::Opencode => {
                let data = env("XDG_DATA_HOME")
                    .map(PathBuf::from)
                    .or_else(|| home.map(|h| h.join(".local/share")))
                    .map(|d| d.join("opencode"));
                match (env("OPENCODE_DB"), data) {
                    (Some(db), _) if Path::new(&db).is_absolute() => vec![PathBuf::from(db)],
                    (Some(db), Some(data)) => vec![data.join(db)],
                    (None, Some(data)) => vec![data.join("opencode.db")],
                    _ => Vec::new(),
                }
            }
        }
    }

    fn provider(self) -> Provider {
        match self {
            Agent::Claude => Provider::Anthropic,
            Agent::Codex => Provider::OpenAi,
            Agent::Gemini => Provider::Gemini,
            // Each step names its own; this is for a step that names none gw knows.
            Agent::Opencode => Provider::Anthropic,
        }
    }

    /// Whether the log names each call by the provider's id (exact dedup against the proxy's
    /// rows), or gw matches on session, model, tokens and time (Gemini CLI, opencode).
    fn has_provider_ids(self) -> bool {
        matches!(self, Agent::Claude | Agent::Codex)
    }

    /// Whether a file under a root is one of the agent's logs.
    fn is_log(self, path: &Path) -> bool {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        match self {
            Agent::Claude => name.ends_with(".jsonl"),
            Agent::Codex => name.starts_with("rollout-") && name.ends_with(".jsonl"),
            Agent::Gemini => {
                name.starts_with("session-")
                    && (name.ends_with(".jsonl") || name.ends_with(".json"))
                    && path.parent().and_then(Path::file_name) == Some("chats".as_ref())
            }
            Agent::Opencode => name.ends_with(".db"),
        }
    }
}

/// One billed model call as an agent's log records it.
#[derive(Debug, Clone, Default)]
pub struct Call {
    /// When it was made, Unix microseconds.
    pub at_us: i64,
    pub model: Arc<str>,
    pub usage: Usage,
    /// The provider's message or response id (`msg_…`, `resp_…`).
    pub response_id: Option<String>,
    /// The provider's request id (Claude Code logs the `request-id` header).
    pub request_id: Option<String>,
    /// The agent's own session id.
    pub session: Arc<str>,
    pub agent_version: Option<Arc<str>>,
    pub cwd: Option<Arc<str>>,
    pub branch: Option<Arc<str>>,
    /// The answer ended before its last event (Claude Code logs a cut stream).
    pub incomplete: bool,
    pub log_cost_nanos: Option<i64>,
    /// The provider the log names, when it names one (opencode); else the agent's.
    pub provider: Option<Provider>,
}

/// What identifies a call across files and runs: the SHA-256 of its key (the agent and the
/// provider's ids; for a line without ids, its session, time and usage), fed in pieces.
type CallKey = [u8; 32];

impl Call {
    /// The call's [`CallKey`].
    fn key(&self, agent: Agent) -> CallKey {
        let mut h = Sha256::new();
        h.update(agent.name());
        h.update("\u{1f}");
        match (&self.response_id, &self.request_id) {
            (None, None) => {
                // No ids (an older log's line): the call is its session, time and usage.
                let u = self.usage;
                h.update(self.session.as_bytes());
                h.update(format!(
                    "\u{1f}{}\u{1f}{}/{}/{}/{}",
                    self.at_us,
                    u.input,
                    u.output,
                    u.cache_read,
                    u.cache_write()
                ));
            }
            (response, request) => {
                h.update(response.as_deref().unwrap_or(""));
                h.update("\u{1f}");
                h.update(request.as_deref().unwrap_or(""));
            }
        }
        h.finalize().into()
    }
}

/// A proxy row a log without provider ids may match: its agent session and start.
type ProxyCall = (Option<String>, i64);

/// The endpoint a provider's calls are recorded under.
fn endpoint(provider: Provider) -> &'static str {
    match provider.family() {
        Provider::Anthropic => "/v1/messages",
        Provider::Gemini => "/v1beta/models:streamGenerateContent",
        _ => "/v1/responses",
    }
}

/// The texts that many of an agent's calls repeat (session, model, version, directory, branch),
/// each held once: a Claude Code call holds five references instead of five copies, about 200
/// bytes less of memory (and five allocations fewer) a call. The set outlives the calls that
/// brought its texts (a call with an impossible time is dropped, its texts stay), so what it
/// keeps is bounded: a log of hostile lines cannot make it hold more than
/// [`TEXTS_HELD`] × [`TEXT_HELD_BYTES`]; past that, texts are copied per call, as before.
#[derive(Default)]
pub struct Texts(std::collections::HashSet<Arc<str>, foldhash::quality::RandomState>);

/// Most texts a [`Texts`] holds: far more sessions, directories and branches than a year of
/// an agent's logs name.
const TEXTS_HELD: usize = 1 << 16;

/// The longest text a [`Texts`] holds: a session id, model, version, branch or directory is
/// shorter.
const TEXT_HELD_BYTES: usize = 512;

impl Texts {
    pub fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(held) = self.0.get(text) {
            return held.clone();
        }
        let text: Arc<str> = text.into();
        if text.len() <= TEXT_HELD_BYTES && self.0.len() < TEXTS_HELD {
            self.0.insert(text.clone());
        }
        text
    }
}

/// Why lines were skipped, counted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Skipped(pub BTreeMap<&'static str, u64>);

impl Skipped {
    pub fn add(&mut self, reason: &'static str) {
        *self.0.entry(reason).or_default() += 1;
    }
}

/// What an import did.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub files: u64,
    pub files_unchanged: u64,
    pub bytes: u64,
    pub calls: u64,
    pub added: u64,
    /// The agent's own duplicates in the logs read (and calls imported before).
    pub duplicates: u64,
    /// Calls gw's proxy metered: its rows are kept, exact.
    pub metered: u64,
    pub before_since: u64,
    /// Calls of models gw has no price for, by model.
    pub unpriced: BTreeMap<String, u64>,
    pub skipped: Skipped,
    pub cost_nanos: i64,
    pub dry_run: bool,
}

/// Told (bytes read so far, bytes to read) as an import goes.
pub type Progress = Box<dyn Fn(u64, u64)>;

pub struct Options {
    pub agents: Vec<Agent>,
    /// Only calls made at or after this time (Unix microseconds).
    pub since_us: Option<i64>,
    pub dry_run: bool,
    /// Read this directory instead of the agent's own (one agent).
    pub path: Option<PathBuf>,
    /// Called as bytes are read: (bytes read so far, bytes to read).
    pub progress: Option<Progress>,
    /// The gw key the imported rows are to be sent with (`gw import --sync`); else they stay
    /// local.
    pub key_id: Option<String>,
}

/// A log file as gw last read it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileState {
    device: i64,
    inode: i64,
    size: i64,
    offset: i64,
    head: String,
}

/// How much of a Claude Code log is read at a time: little enough that the bytes are still in
/// the CPU's cache when they are searched and parsed.
const CHUNK: usize = 1 << 20;
/// A line longer than this is not one an agent wrote.
const MAX_LINE: usize = 64 << 20;
/// A Codex or Gemini CLI session file larger than this is not one.
const MAX_WHOLE_FILE: usize = 1 << 30;

/// How much of a file's start identifies it (a file replaced under the same name differs).
const HEAD_BYTES: usize = 256;

fn head_of(file: &mut std::fs::File) -> std::io::Result<String> {
    let mut buf = vec![0u8; HEAD_BYTES];
    file.seek(SeekFrom::Start(0))?;
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    buf.truncate(n);
    Ok(Sha256::digest(&buf)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Every log file under `root`, sorted.
fn files(agent: Agent, root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if root.is_file() {
        if agent.is_log(root) {
            out.push(root.to_path_buf());
        }
        return out;
    }
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push(path),
                Ok(t) if t.is_file() && agent.is_log(&path) => out.push(path),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// What one file holds past what was imported before.
struct Read_ {
    calls: Vec<Call>,
    /// Lines that were copies of calls already met (not parsed).
    copies: u64,
    state: FileState,
}

/// Reads `path` from where `before` left it (from its start when it was replaced, truncated,
/// or is a Codex rollout, whose calls need the context of its first lines).
fn read_file(
    agent: Agent,
    path: &Path,
    before: Option<&FileState>,
    skipped: &mut Skipped,
    bytes_read: &mut u64,
    seen: &mut claude::Seen,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Read_>> {
    let mut file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    let head = head_of(&mut file)?;
    let (device, inode, size) = (meta.dev() as i64, meta.ino() as i64, meta.len() as i64);
    let same = before
        .filter(|b| b.device == device && b.inode == inode && b.head == head && size >= b.offset);
    if same.is_some_and(|b| b.size == size && b.offset == size) {
        return Ok(None);
    }
    if agent == Agent::Opencode {
        // A database, not a log: read whole when it or its write-ahead log changed (in size or
        // time: rows are updated in place).
        let wal = std::fs::metadata(path.with_extension("db-wal")).ok();
        let stamp = |m: &std::fs::Metadata| format!("{}.{}:{}", m.mtime(), m.mtime_nsec(), m.len());
        let head = format!(
            "{} {}",
            stamp(&meta),
            wal.as_ref().map(stamp).unwrap_or_default()
        );
        let size = size + wal.map_or(0, |m| m.len() as i64);
        if before.is_some_and(|b| b.head == head && b.inode == inode && b.device == device) {
            return Ok(None);
        }
        *bytes_read += size as u64;
        let calls = opencode::read(path, skipped).map_err(std::io::Error::other)?;
        return Ok(Some(Read_ {
            copies: 0,
            calls: calls
                .into_iter()
                .map(|(mut c, p)| {
                    c.provider = p;
                    c
                })
                .collect(),
            state: FileState {
                device,
                inode,
                size,
                offset: size,
                head,
            },
        }));
    }
    // Claude Code's lines stand alone: read on from where the last import stopped. Codex's
    // and Gemini CLI's calls need the file's first lines (its session, the turn's model).
    let start = match (agent, same) {
        (Agent::Claude, Some(b)) => b.offset,
        _ => 0,
    };
    file.seek(SeekFrom::Start(start as u64))?;
    let mut file = file.take((size - start).max(0) as u64);
    let mut calls = Vec::new();
    let mut copies = 0;
    let mut consumed = 0usize;
    if agent == Agent::Claude {
        // Its lines stand alone: read in chunks, so a log of any size takes bounded memory.
        // One buffer serves every file: fresh pages for each would be zeroed by the kernel.
        buf.clear();
        // Inside a line too long to be one an agent wrote: dropped up to its end, the lines
        // after it read as usual.
        let mut overlong = false;
        loop {
            // What the buffer holds before this read is the start of a line: no newline in it.
            let mut had = buf.len();
            (&mut file).take(CHUNK as u64).read_to_end(buf)?;
            let read = buf.len() - had;
            *bytes_read += read as u64;
            if overlong {
                match memchr::memchr(b'\n', buf) {
                    Some(end) => {
                        consumed += end + 1;
                        buf.drain(..=end);
                        had = 0;
                        overlong = false;
                    }
                    None => {
                        consumed += buf.len();
                        buf.clear();
                        if read == 0 {
                            break;
                        }
                        continue;
                    }
                }
            }
            let complete = memchr::memrchr(b'\n', &buf[had..]).map_or(0, |i| had + i + 1);
            copies += claude::parse(&buf[..complete], skipped, seen, &mut calls);
            consumed += complete;
            buf.drain(..complete);
            if read == 0 {
                break;
            }
            if buf.len() > MAX_LINE {
                skipped.add("a line longer than 64 MiB (not one an agent wrote)");
                consumed += buf.len();
                buf.clear();
                overlong = true;
            }
        }
        // Only whole lines: a last line without its newline is still being written.
        if !buf.is_empty() {
            skipped.add("a last line still being written (read next time)");
        }
    } else {
        // Codex's and Gemini CLI's calls need the file's first lines (its session, the turn's
        // model): read whole, up to a bound no real session reaches.
        if size - start > MAX_WHOLE_FILE as i64 {
            return Err(std::io::Error::other(
                "over 1 GiB: too large to be a session",
            ));
        }
        let mut bytes = Vec::with_capacity((size - start).max(0) as usize);
        file.read_to_end(&mut bytes)?;
        *bytes_read += bytes.len() as u64;
        let whole_document = path.extension().is_some_and(|e| e == "json");
        let complete = if whole_document {
            // A legacy chat is one JSON document, newline or not.
            bytes.len()
        } else {
            memchr::memrchr(b'\n', &bytes).map_or(0, |i| i + 1)
        };
        if complete < bytes.len() {
            skipped.add("a last line still being written (read next time)");
        }
        consumed = complete;
        calls = match agent {
            Agent::Codex => codex::parse(&bytes[..complete], skipped),
            _ => gemini::parse(path, &bytes[..complete], skipped),
        };
    }
    let complete = consumed;
    Ok(Some(Read_ {
        calls,
        copies,
        state: FileState {
            device,
            inode,
            size,
            offset: start + complete as i64,
            head,
        },
    }))
}

/// No agent logged a call before 2000-01-01: a time before it (or over a day ahead of now)
/// is a broken or hostile record.
const EARLIEST_US: i64 = 946_684_800_000_000;

/// Rows inserted per transaction: memory stays bounded whatever the logs hold.
const INSERT_BATCH: usize = 50_000;

/// Inserts `rows` (in time order; nothing on a dry run, `bulk` is `None`) and empties it. A row
/// already there is a call imported before: its id is the call's.
fn insert(
    bulk: Option<&mut BulkImport<'_>>,
    rows: &mut Vec<Row>,
    metered: &mut MeteredCalls,
    summary: &mut Summary,
) -> Result<(), ImportError> {
    if rows.is_empty() {
        return Ok(());
    }
    if let Some(bulk) = bulk {
        // They come in this order (see `run`): sorting is then a check.
        if !rows.is_sorted_by_key(|r| (r.started_at_us, r.id)) {
            rows.sort_by_key(|r| (r.started_at_us, r.id));
        }
        let done = bulk.insert(rows, metered)?;
        let (inserted, proxied) = (done.inserted as u64, done.metered as u64);
        summary.duplicates += rows.len() as u64 - inserted - proxied;
        summary.metered += proxied;
        summary.added += inserted;
    } else {
        summary.added += rows.len() as u64;
    }
    rows.clear();
    Ok(())
}

/// Items held in pieces of a fixed size, each filled once and never moved: one `Vec` of every
/// call moved them all to fresh memory (which the kernel zeroes) each time it doubled, 5.8% of
/// a first import's CPU (perf, 325,472 calls), and for that moment held them twice.
struct Pieces<T> {
    pieces: Vec<Vec<T>>,
    len: usize,
}

/// Items a piece holds: a few megabytes of calls.
const PIECE: usize = 1 << 14;

impl<T> Default for Pieces<T> {
    fn default() -> Self {
        Pieces {
            pieces: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Pieces<T> {
    /// Adds `item`; answers its index.
    fn push(&mut self, item: T) -> usize {
        if self.len.is_multiple_of(PIECE) {
            self.pieces.push(Vec::with_capacity(PIECE));
        }
        let piece = self
            .pieces
            .last_mut()
            .expect("a piece with room was just made");
        piece.push(item);
        self.len += 1;
        self.len - 1
    }

    fn len(&self) -> usize {
        self.len
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.pieces.iter().flatten()
    }
}

impl<T> std::ops::Index<usize> for Pieces<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        &self.pieces[i / PIECE][i % PIECE]
    }
}

impl<T> std::ops::IndexMut<usize> for Pieces<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.pieces[i / PIECE][i % PIECE]
    }
}

/// An attribution `gw import` made for a session's calls, with the branch their log lines gave.
type SessionAttribution = (Option<Arc<str>>, Arc<Attribution>);

/// How many attributions of one agent session `gw import` keeps for its calls to share.
const SESSION_ATTRIBUTIONS: usize = 16;

/// A row id from the call's identity: the same call always gets the same id (a UUIDv7 whose
/// time is the call's, its random bits its [`CallKey`]'s).
fn row_id(key: &CallKey, at_us: i64) -> uuid::Uuid {
    let mut random = [0u8; 10];
    random.copy_from_slice(&key[..10]);
    uuid::Builder::from_unix_timestamp_millis((at_us.max(0) / 1000) as u64, &random).into_uuid()
}

/// The environment, as a function of a variable's name.
type Env = Box<dyn Fn(&str) -> Option<String>>;

/// Who and where, per working directory: developer and project as `gw run` would find them.
struct Places {
    developer: Option<String>,
    env: Env,
    seen: HashMap<String, Attribution>,
}

impl Places {
    fn get(&mut self, cwd: Option<&str>) -> Attribution {
        let cwd = cwd.unwrap_or("");
        if let Some(a) = self.seen.get(cwd) {
            return a.clone();
        }
        let a = crate::attribution::discover(
            Path::new(if cwd.is_empty() { "/" } else { cwd }),
            crate::attribution::Overrides {
                developer: self.developer.clone(),
                ..Default::default()
            },
            &self.env,
        );
        self.seen.insert(cwd.to_string(), a.clone());
        a
    }
}

/// Imports the logs `options` names into the ledger at `ledger_path`.
pub fn run(
    ledger_path: &Path,
    prices: &PriceTable,
    developer: Option<String>,
    env: impl Fn(&str) -> Option<String> + 'static,
    options: Options,
) -> Result<Summary, ImportError> {
    // Migrated (and created) by the ledger's own open; then its connection is ours.
    let ledger = Ledger::open(ledger_path)?;
    let mut summary = Summary {
        dry_run: options.dry_run,
        ..Summary::default()
    };
    // The calls gw's proxy metered, by request id and by message or response id.
    let mut metered = ledger.metered_calls()?;
    let conn = ledger.conn();
    // Logs without the provider's ids (Gemini CLI, opencode) match proxy rows of the same
    // agent, requested model (what a log names) and tokens (and session, where both have it)
    // made up to ten minutes before the log recorded the call; each proxy row matches one call
    // at most.
    let mut near: HashMap<(String, String, [u64; 3]), Vec<ProxyCall>> = HashMap::new();
    {
        let mut stmt = conn.prepare(
            "SELECT coalesce(agent, ''), coalesce(requested_model, model), input_tokens, output_tokens,
                cache_read_tokens, agent_session_id, started_at
             FROM requests WHERE source = 'proxy'
                AND (agent IN ('gemini', 'opencode') OR response_id IS NULL)
                AND coalesce(requested_model, model) IS NOT NULL",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let tokens = [r.get::<_, i64>(2)?, r.get(3)?, r.get(4)?].map(|t| t.max(0) as u64);
            near.entry((r.get(0)?, r.get(1)?, tokens))
                .or_default()
                .push((r.get(5)?, r.get(6)?));
        }
    }
    let mut known: HashMap<String, FileState> = HashMap::new();
    {
        let mut stmt =
            conn.prepare("SELECT path, device, inode, size, offset, head FROM import_files")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            known.insert(
                r.get(0)?,
                FileState {
                    device: r.get(1)?,
                    inode: r.get(2)?,
                    size: r.get(3)?,
                    offset: r.get(4)?,
                    head: r.get(5)?,
                },
            );
        }
    }
    let mut places = Places {
        developer,
        env: Box::new(env),
        seen: HashMap::new(),
    };
    let latest_us = jiff::Timestamp::now()
        .as_microsecond()
        .saturating_add(86_400_000_000);
    let mut rows: Vec<Row> = Vec::new();
    let mut states: Vec<(String, Agent, FileState)> = Vec::new();
    for agent in &options.agents {
        let roots = match &options.path {
            Some(p) => vec![p.clone()],
            None => agent.roots(&*places.env),
        };
        let paths: Vec<PathBuf> = roots.iter().flat_map(|r| files(*agent, r)).collect();
        let total: u64 = paths
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        // The most complete copy of each call (largest output: a cut stream's line says 1), by
        // its key.
        let mut calls: Pieces<(CallKey, Call)> = Pieces::default();
        // (foldhash, not SipHash: a key is 32 bytes, and there is one per call.)
        let mut by_key: HashMap<CallKey, usize, foldhash::quality::RandomState> =
            HashMap::default();
        let mut seen = claude::Seen::default();
        let mut buf = Vec::with_capacity(CHUNK);
        let mut done = 0u64;
        for path in &paths {
            let key = path.display().to_string();
            let read = read_file(
                *agent,
                path,
                known.get(&key),
                &mut summary.skipped,
                &mut summary.bytes,
                &mut seen,
                &mut buf,
            );
            done += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            if let Some(progress) = &options.progress {
                progress(done, total);
            }
            let read = match read {
                Ok(Some(r)) => r,
                Ok(None) => {
                    summary.files_unchanged += 1;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), "cannot read: {e}");
                    summary.skipped.add("a file that could not be read");
                    continue;
                }
            };
            summary.files += 1;
            summary.calls += read.copies;
            summary.duplicates += read.copies;
            for call in read.calls {
                if !(EARLIEST_US..=latest_us).contains(&call.at_us) {
                    summary
                        .skipped
                        .add("a call with an impossible time (before 2000, or over a day ahead)");
                    continue;
                }
                summary.calls += 1;
                let key = call.key(*agent);
                match by_key.entry(key) {
                    std::collections::hash_map::Entry::Occupied(e) => {
                        summary.duplicates += 1;
                        let kept = &mut calls[*e.get()].1;
                        if call.usage.output > kept.usage.output {
                            *kept = call;
                        }
                    }
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(calls.push((key, call)));
                    }
                }
            }
            states.push((key, *agent, read.state));
        }
        drop(by_key);
        // In the rows' order (time, then id), so matching proxy rows by time gives the same
        // answer every run and the rows need no second sort before they go in (an order of
        // indexes is sorted: a call is hundreds of bytes to move).
        let mut order: Vec<(i64, uuid::Uuid, usize)> = calls
            .iter()
            .enumerate()
            .map(|(i, (key, call))| (call.at_us, row_id(key, call.at_us), i))
            .collect();
        order.sort_unstable();
        // Begun with the agent's calls in hand (how many decides how they go in), and ended
        // with them: a rebuild's write lock is never held while logs are read.
        let mut bulk = match options.dry_run {
            true => None,
            false => Some(ledger.bulk_import(calls.len())?),
        };
        // Each model's price, looked up once (by model, then provider).
        type Prices<'p> = HashMap<String, Vec<(Provider, Option<&'p crate::pricing::ModelPrice>)>>;
        let mut price_of: Prices = HashMap::new();
        // Each agent session's attributions so far, with the branch their log lines gave: the
        // calls of a session with the same version, branch and directory share one. A session
        // rarely changes these; the last few kept are searched in turn.
        let mut attributions: HashMap<Arc<str>, Vec<SessionAttribution>> = HashMap::new();
        for (_, id, i) in order {
            let call = std::mem::take(&mut calls[i].1);
            let by_id = agent.has_provider_ids()
                && [&call.request_id, &call.response_id]
                    .into_iter()
                    .flatten()
                    .any(|id| metered.contains(id));
            // Else the nearest proxy row of the same agent, requested model and tokens (and
            // session where both have it), made up to ten minutes before the log recorded the
            // call: the only way for logs without provider ids, and for proxy rows recorded
            // before gw kept response ids.
            // (Its key is two strings to build: not for a ledger without such rows.)
            let proxied = by_id
                || !near.is_empty() && {
                    let u = call.usage;
                    near.get_mut(&(
                        agent.name().to_string(),
                        call.model.to_string(),
                        [u.input, u.output, u.cache_read],
                    ))
                    .and_then(|rows| {
                        let (i, _) = rows
                            .iter()
                            .enumerate()
                            .filter(|(_, (session, at))| {
                                (call.at_us - 600_000_000..=call.at_us + 60_000_000).contains(at)
                                    && session.as_deref().is_none_or(|s| s == &*call.session)
                            })
                            .min_by_key(|(_, (_, at))| (call.at_us - at).abs())?;
                        Some(rows.swap_remove(i))
                    })
                    .is_some()
                };
            if proxied {
                summary.metered += 1;
                continue;
            }
            if options.since_us.is_some_and(|s| call.at_us < s) {
                summary.before_since += 1;
                continue;
            }
            let provider = call
                .provider
                .or_else(|| {
                    (*agent == Agent::Opencode)
                        .then(|| prices.lookup_any(None, &call.model).map(|(p, _)| p))
                        .flatten()
                })
                .unwrap_or(agent.provider());
            // Bounded as the proxy bounds a request's cost (`crate::limits`).
            let known = price_of
                .get(&*call.model)
                .and_then(|by| by.iter().find(|(p, _)| *p == provider));
            let price = match known {
                Some((_, price)) => *price,
                None => {
                    let price = prices.lookup(provider, &call.model);
                    price_of
                        .entry(call.model.to_string())
                        .or_default()
                        .push((provider, price));
                    price
                }
            };
            let cost = price
                .map(|p| p.cost_nanos(provider.family(), &call.usage))
                .map(crate::limits::cap_cost);
            match cost {
                Some(c) => summary.cost_nanos = summary.cost_nanos.saturating_add(c),
                None => *summary.unpriced.entry(call.model.to_string()).or_default() += 1,
            }
            let known = attributions.get(&call.session).and_then(|seen| {
                seen.iter().find(|(branch, a)| {
                    *branch == call.branch
                        && a.agent_version.as_deref() == call.agent_version.as_deref()
                        && a.cwd.as_deref() == call.cwd.as_deref()
                })
            });
            let attribution = match known {
                Some((_, a)) => a.clone(),
                None => {
                    let place = places.get(call.cwd.as_deref());
                    let a = Arc::new(Attribution {
                        session_id: format!("{}:{}", agent.name(), call.session),
                        agent: Some(agent.name().to_string()),
                        agent_version: call.agent_version.as_deref().map(str::to_owned),
                        developer: place.developer,
                        project: place.project,
                        branch: (call.branch.as_deref())
                            .filter(|b| *b != "HEAD")
                            .map(str::to_owned)
                            .or(place.branch),
                        task: None,
                        cwd: call.cwd.as_deref().map(str::to_owned),
                        host: place.host,
                        key_id: options.key_id.clone(),
                    });
                    let seen = attributions.entry(call.session.clone()).or_default();
                    if seen.len() == SESSION_ATTRIBUTIONS {
                        seen.remove(0);
                    }
                    seen.push((call.branch, a.clone()));
                    a
                }
            };
            rows.push(Row {
                id,
                started_at_us: call.at_us,
                ended_at_us: call.at_us,
                provider: provider.as_str().to_string(),
                endpoint: endpoint(provider).to_string(),
                requested_model: Some(call.model.to_string()),
                model: Some(call.model.to_string()),
                status: 200,
                streamed: true,
                incomplete: call.incomplete,
                usage: call.usage,
                cost_nanos: cost,
                price_version: prices.version().to_string(),
                latency_us: 0,
                ttfb_us: None,
                upstream_request_id: call.request_id,
                agent_session_id: Some(call.session.to_string()),
                error: None,
                billing: Billing::Api,
                region: None,
                attribution,
                source: Source::Import,
                response_id: call.response_id,
                log_cost_nanos: call.log_cost_nanos,
            });
            if rows.len() >= INSERT_BATCH {
                insert(bulk.as_mut(), &mut rows, &mut metered, &mut summary)?;
            }
        }
        insert(bulk.as_mut(), &mut rows, &mut metered, &mut summary)?;
        if let Some(bulk) = bulk {
            bulk.commit()?;
        }
    }
    ledger.checkpoint()?;
    // With --since, what was left out must be read again by a later import: no offsets kept.
    if options.dry_run || options.since_us.is_some() {
        return Ok(summary);
    }
    let conn = ledger.conn();
    let tx = conn.unchecked_transaction()?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO import_files (path, agent, device, inode, size, offset, head, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(path) DO UPDATE SET agent = excluded.agent, device = excluded.device,
                inode = excluded.inode, size = excluded.size, offset = excluded.offset,
                head = excluded.head, imported_at = excluded.imported_at",
        )?;
        let now = jiff::Timestamp::now().as_microsecond();
        for (path, agent, s) in &states {
            stmt.execute(params![
                path,
                agent.name(),
                s.device,
                s.inode,
                s.size,
                s.offset,
                s.head,
                now
            ])?;
        }
    }
    tx.commit()?;
    Ok(summary)
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("the ledger: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// The non-blank lines of whole lines of a log (found with SIMD: logs run to gigabytes).
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', bytes)
        .chain(std::iter::once(bytes.len()))
        .filter_map(move |end| {
            let line = &bytes[start.min(end)..end];
            start = end + 1;
            (!line.iter().all(u8::is_ascii_whitespace)).then_some(line)
        })
}

/// One log line as JSON; a line that is not UTF-8 or not JSON is counted and skipped. (UTF-8 is
/// checked over the whole line at once: serde_json's slice reader checks each string it reads
/// apart, which costs more for a log line's many short keys.)
fn json_line<'a, T: serde::Deserialize<'a>>(line: &'a [u8], skipped: &mut Skipped) -> Option<T> {
    json_text(utf8_line(line, skipped)?, skipped)
}

/// A log line as text; a line that is not UTF-8 is counted and skipped. (Checked with SIMD:
/// std's check runs at a tenth of the speed on text that is not ASCII, which a reply in most of
/// the world's languages is.)
fn utf8_line<'a>(line: &'a [u8], skipped: &mut Skipped) -> Option<&'a str> {
    let text = simdutf8::basic::from_utf8(line).ok();
    if text.is_none() {
        skipped.add("a line that is not UTF-8");
    }
    text
}

/// A log line (known to be UTF-8) as JSON; one that is not JSON is counted and skipped.
fn json_text<'a, T: serde::Deserialize<'a>>(text: &'a str, skipped: &mut Skipped) -> Option<T> {
    match serde_json::from_str(text) {
        Ok(v) => Some(v),
        Err(_) => {
            skipped.add("a line that is not JSON");
            None
        }
    }
}

/// A timestamp in an agent's log (RFC 3339) as Unix microseconds.
fn micros(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_microsecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calls_row_id_is_its_identity() {
        let call = |id: &str| Call {
            response_id: Some(id.to_string()),
            request_id: Some("req_1".to_string()),
            ..Call::default()
        };
        let key = call("msg_1").key(Agent::Claude);
        // The ids gw gave imported rows before the key was fed in pieces.
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&Sha256::digest("claude\u{1f}msg_1\u{1f}req_1"));
        assert_eq!(key, digest);
        // A call without ids is its session, time and usage; one id leaves the other empty.
        let no_ids = Call {
            session: "s".into(),
            at_us: 5,
            usage: Usage {
                input: 1,
                output: 2,
                cache_read: 3,
                cache_write_5m: 4,
                ..Usage::default()
            },
            ..Call::default()
        };
        let one_id = Call {
            response_id: Some("msg_1".into()),
            ..Call::default()
        };
        for (call, was) in [
            (no_ids, "codex\u{1f}s\u{1f}5\u{1f}1/2/3/4"),
            (one_id, "codex\u{1f}msg_1\u{1f}"),
        ] {
            digest.copy_from_slice(&Sha256::digest(was));
            assert_eq!(call.key(Agent::Codex), digest, "{was}");
        }
        let a = row_id(&key, 1_700_000_000_000_000);
        assert_eq!(a, row_id(&key, 1_700_000_000_000_000));
        assert_ne!(
            a,
            row_id(&call("msg_2").key(Agent::Claude), 1_700_000_000_000_000)
        );
        assert_eq!(a.get_version_num(), 7);
    }

    #[test]
    fn texts_are_shared_up_to_a_bound() {
        let mut texts = Texts::default();
        let a = texts.get("/home/me/app");
        assert!(Arc::ptr_eq(&a, &texts.get("/home/me/app")));
        // Too long to be a session, model, version, branch or directory: copied, not held.
        let long = "d".repeat(TEXT_HELD_BYTES + 1);
        assert!(!Arc::ptr_eq(&texts.get(&long), &texts.get(&long)));
        assert_eq!(&*texts.get(&long), long);
        for i in 0..TEXTS_HELD + 10 {
            assert_eq!(&*texts.get(&i.to_string()), i.to_string());
        }
        assert_eq!(texts.0.len(), TEXTS_HELD);
        // Past the bound a new text is copied (and still right); those held are still shared.
        let late = texts.get("late");
        assert_eq!(&*late, "late");
        assert!(!Arc::ptr_eq(&late, &texts.get("late")));
        assert!(Arc::ptr_eq(&a, &texts.get("/home/me/app")));
    }

    #[test]
    fn pieces_keep_each_item_at_its_index_and_never_move_it() {
        let mut pieces = Pieces::default();
        let n = 2 * PIECE + 3;
        for i in 0..n {
            assert_eq!(pieces.push(i * 7), i);
        }
        assert_eq!(pieces.len(), n);
        assert_eq!(pieces.pieces.len(), 3);
        // Each piece was made with room for all it holds: none grew (moved).
        assert!(pieces.pieces.iter().all(|p| p.capacity() == PIECE));
        for i in [0, PIECE - 1, PIECE, 2 * PIECE, n - 1] {
            assert_eq!(pieces[i], i * 7);
        }
        pieces[PIECE] = 1;
        let want = |i: usize| if i == PIECE { 1 } else { i * 7 };
        assert_eq!(pieces.iter().count(), n);
        assert!(pieces.iter().enumerate().all(|(i, &v)| v == want(i)));
    }

    #[test]
    fn roots_follow_the_agents_variables() {
        let env = |k: &str| match k {
            "HOME" => Some("/home/me".to_string()),
            "CODEX_HOME" => Some("/srv/codex".to_string()),
            _ => None,
        };
        assert_eq!(
            Agent::Claude.roots(&env)[0],
            PathBuf::from("/home/me/.claude/projects")
        );
        assert_eq!(
            Agent::Codex.roots(&env)[0],
            PathBuf::from("/srv/codex/sessions")
        );
        let moved = |k: &str| (k == "CLAUDE_CONFIG_DIR").then(|| "/x".to_string());
        assert_eq!(
            Agent::Claude.roots(&moved),
            vec![PathBuf::from("/x/projects")]
        );
    }
}
