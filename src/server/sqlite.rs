//! The SQLite store: one WAL connection, transactions serialised by an async mutex (and by
//! SQLite's own write lock across processes). Statements run on the calling worker inside
//! `block_in_place`, so a slow disk never stalls other requests on a multi-thread runtime.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::Connection;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::db::{Backend, DbRow, Store, StoreError, Tx, Value};

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and migrates it. `:memory:` works for tests.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let open_err = |e: &dyn std::fmt::Display| StoreError::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if path != Path::new(":memory:") {
            crate::private_fs::private_database(path).map_err(|e| open_err(&e))?;
        }
        let conn = Connection::open(path).map_err(|e| open_err(&e))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let migrations = super::schema::sqlite();
    let known = migrations.len() as i64;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let run = || -> Result<(), StoreError> {
        let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current > known {
            return Err(StoreError::TooNew {
                found: current,
                known,
            });
        }
        for (i, step) in migrations.iter().enumerate().skip(current as usize) {
            conn.execute_batch(step)?;
            conn.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        Ok(())
    };
    match run() {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn begin(&self, write: bool) -> BoxFuture<'_, Result<Box<dyn Tx>, StoreError>> {
        Box::pin(async move {
            let guard = self.conn.clone().lock_owned().await;
            blocking(|| guard.execute_batch(if write { "BEGIN IMMEDIATE" } else { "BEGIN" }))?;
            Ok(Box::new(SqliteTx { conn: Some(guard) }) as Box<dyn Tx>)
        })
    }
}

struct SqliteTx {
    conn: Option<OwnedMutexGuard<Connection>>,
}

/// Runs blocking SQLite work without starving the runtime's other tasks where that is possible.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// `$1` → `?1`: SQLite's numbered parameters.
fn rewrite(sql: &str) -> String {
    sql.replace('$', "?")
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(n) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

impl SqliteTx {
    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("transaction is open")
    }

    fn query_now(&self, sql: &str, params: &[Value]) -> Result<Vec<DbRow>, StoreError> {
        let conn = self.conn();
        blocking(|| {
            let mut stmt = conn.prepare_cached(&rewrite(sql))?;
            let n = stmt.column_count();
            let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                let mut row = Vec::with_capacity(n);
                for i in 0..n {
                    row.push(match r.get_ref(i)? {
                        ValueRef::Null => Value::Null,
                        ValueRef::Integer(v) => Value::Int(v),
                        ValueRef::Real(v) => Value::Int(v as i64),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            Value::Text(String::from_utf8_lossy(t).into_owned())
                        }
                    });
                }
                out.push(DbRow(row));
            }
            Ok(out)
        })
    }

    fn execute_now(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let conn = self.conn();
        blocking(|| {
            let mut stmt = conn.prepare_cached(&rewrite(sql))?;
            Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
        })
    }
}

impl Tx for SqliteTx {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn query<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<Vec<DbRow>, StoreError>> {
        let result = self.query_now(sql, params);
        Box::pin(std::future::ready(result))
    }

    fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        let result = self.execute_now(sql, params);
        Box::pin(std::future::ready(result))
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>> {
        let conn = self.conn.take().expect("transaction is open");
        let result = blocking(|| conn.execute_batch("COMMIT")).map_err(StoreError::from);
        if result.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        Box::pin(std::future::ready(result))
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}
