//! The storage seam: one `Store` trait (open a transaction) with a SQLite and a PostgreSQL
//! implementation, and the small value type both speak. Everything the server does is written
//! once in `ops` against `dyn Tx`; only migrations and row locking differ per backend.

use futures_util::future::BoxFuture;

/// A SQL value: gw's schema uses only 64-bit integers and text (booleans are 0/1, hashes are hex,
/// fractions are basis points), so both backends map every column exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(v as i64)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// One result row.
#[derive(Debug, Clone, Default)]
pub struct DbRow(pub Vec<Value>);

/// Reading a column: a NULL where a value must be, a missing column, a value of the wrong type
/// or JSON that does not parse is an error, never a silent 0, "" or default (a corrupt
/// allow-list read as "none" would let every model through).
impl DbRow {
    fn value(&self, i: usize) -> Result<&Value, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Decode(format!("column {i} is missing")))
    }

    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?
            .ok_or_else(|| StoreError::Decode(format!("column {i} is NULL, not a number")))
    }

    /// A nullable number: NULL is `None`.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Int(n) => Ok(Some(*n)),
            Value::Text(t) => t
                .parse()
                .map(Some)
                .map_err(|_| StoreError::Decode(format!("column {i} holds `{t}`, not a number"))),
        }
    }

    /// A 0/1 flag.
    pub fn flag(&self, i: usize) -> Result<bool, StoreError> {
        match self.int(i)? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(StoreError::Decode(format!(
                "column {i} holds {n}, not 0 or 1"
            ))),
        }
    }

    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?
            .ok_or_else(|| StoreError::Decode(format!("column {i} is NULL, not text")))
    }

    /// Nullable text: NULL is `None`.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.value(i)? {
            Value::Null => Ok(None),
            Value::Text(t) => Ok(Some(t.clone())),
            Value::Int(n) => Err(StoreError::Decode(format!(
                "column {i} holds {n}, not text"
            ))),
        }
    }

    /// Nullable JSON text: NULL is `None`; JSON that does not parse as `T` is an error.
    pub fn opt_json<T: serde::de::DeserializeOwned>(
        &self,
        i: usize,
    ) -> Result<Option<T>, StoreError> {
        self.opt_text(i)?
            .map(|t| {
                serde_json::from_str(&t).map_err(|e| {
                    StoreError::Decode(format!("column {i} holds JSON gw cannot read: {e}"))
                })
            })
            .transpose()
    }

    /// A sum selected with [`sum_sql`] at columns `i` and `i + 1`, saturating at `i64::MAX`.
    pub fn sum(&self, i: usize) -> Result<i64, StoreError> {
        Ok(self
            .int(i)?
            .saturating_mul(SUM_SPLIT)
            .saturating_add(self.int(i + 1)?))
    }
}

/// Where [`sum_sql`] splits each value.
const SUM_SPLIT: i64 = 1_000_000_000;

/// `sum(expr)` of non-negative 64-bit values as two columns that overflow on neither backend
/// (SQLite's `sum` fails past 2^63, PostgreSQL's does not fit back in a BIGINT): the sums of
/// `expr / 10^9` and of `expr % 10^9`, each far from 2^63 for fewer than a billion rows. Read
/// it back with [`DbRow::sum`]; a sum past 2^63 reads as `i64::MAX`.
pub fn sum_sql(expr: &str) -> String {
    format!(
        "CAST(coalesce(sum(({expr}) / {SUM_SPLIT}), 0) AS BIGINT), \
         CAST(coalesce(sum(({expr}) % {SUM_SPLIT}), 0) AS BIGINT)"
    )
}

/// `a + b` in SQL for a non-negative `b`, saturating at `i64::MAX` instead of failing
/// (PostgreSQL) or turning into a float (SQLite).
pub fn add_sql(a: &str, b: &str) -> String {
    format!(
        "CASE WHEN {a} > {max} - {b} THEN {max} ELSE {a} + {b} END",
        max = i64::MAX
    )
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {}", pg_text(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("cannot get a PostgreSQL connection: {0}\n  check that the server is up and the URL (--database) is right")]
    Pool(String),
    #[error("cannot open the database {path}: {message}\n  check the path and its permissions, or pass another --database")]
    Open { path: String, message: String },
    #[error("the database was migrated by a newer gw (schema {found}, this gw knows {known}); upgrade gw")]
    TooNew { found: i64, known: i64 },
    #[error("invalid --database `{0}`: use sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    BadUrl(String),
    #[error("the database worker stopped")]
    Gone,
    #[error("the database holds a value this gw cannot read ({0}); was it changed by hand, or by a newer gw?")]
    Decode(String),
    #[error("invalid sslmode `{0}` in --database: use disable, allow, prefer, require, verify-ca or verify-full")]
    SslMode(String),
    #[error("cannot use sslrootcert {path}: {message}\n  point sslrootcert= in --database at a readable PEM file holding the certificate of the CA that signed the server's")]
    RootCert { path: String, message: String },
    #[error("cannot connect to PostgreSQL over TLS (sslmode={mode}): {message}\n  check the server's TLS setup and sslrootcert in --database; only for a server without TLS on a trusted network, use sslmode=disable")]
    Tls { mode: &'static str, message: String },
}

impl StoreError {
    /// A unique constraint refused the write (the row already exists).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            StoreError::Postgres(e) => {
                e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
            }
            _ => false,
        }
    }
}

/// PostgreSQL's own message when there is one (`db error` alone says nothing).
fn pg_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// A storage backend. `begin` opens a transaction; `write` ones take the write lock up front
/// (SQLite `BEGIN IMMEDIATE`), so a read-then-write never fails halfway on a busy database.
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;
    fn begin(&self, write: bool) -> BoxFuture<'_, Result<Box<dyn Tx>, StoreError>>;
}

/// An open transaction. SQL uses `$1, $2, …` placeholders (rewritten for SQLite). Dropping it
/// without `commit` rolls it back.
pub trait Tx: Send {
    fn backend(&self) -> Backend;
    fn query<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<Vec<DbRow>, StoreError>>;
    fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<u64, StoreError>>;
    fn commit(self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>>;

    /// `FOR UPDATE` where the backend locks rows (PostgreSQL); SQLite's write transaction
    /// already excludes every other writer.
    fn lock_clause(&self) -> &'static str {
        match self.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }
}

impl dyn Tx + '_ {
    pub async fn one(&mut self, sql: &str, params: &[Value]) -> Result<Option<DbRow>, StoreError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }
}
