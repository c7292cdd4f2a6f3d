//! The PostgreSQL store: a deadpool of tokio-postgres connections, READ COMMITTED transactions,
//! budget rows locked `FOR UPDATE` (in id order) while a grant is computed, so any number of
//! server replicas on one database grant as one.
//!
//! tokio-postgres + deadpool rather than sqlx: no compile-time database, no macros, a small
//! dependency tree, and statements are prepared once per connection (`prepare_cached`).

use std::error::Error as StdError;

use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use futures_util::future::BoxFuture;
use tokio_postgres::config::SslMode;
use tokio_postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use tokio_postgres::NoTls;

use super::db::{Backend, DbRow, Store, StoreError, Tx, Value};
use super::pg_tls::{self, Connector, TlsRequest, Verify};

/// Advisory lock key held while migrating, so replicas starting together migrate once.
const MIGRATION_LOCK: i64 = 0x6777_5f73_7276; // "gw_srv"

pub struct PgStore {
    pool: Pool,
}

impl PgStore {
    /// Connects (pool of `max_size` connections) and migrates. Extra connection settings go in
    /// the URL, e.g. `?options=-c%20search_path%3Dgw` for a schema of its own; `sslmode` and
    /// `sslrootcert` work as in libpq (see [`pg_tls`]).
    pub async fn connect(url: &str, max_size: usize) -> Result<PgStore, StoreError> {
        let tls = TlsRequest::from_url(url)?;
        let mut config: tokio_postgres::Config = tls
            .url
            .parse()
            .map_err(|e| StoreError::BadUrl(format!("{}: {e}", redact(url))))?;
        let connector = pg_tls::connector(
            tls.mode,
            tls.root_cert.is_some(),
            pg_tls::is_loopback(&config),
        );
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match connector {
            Connector::Plain => {
                config.ssl_mode(SslMode::Disable);
                Manager::from_config(config, NoTls, manager_config)
            }
            Connector::Opportunistic => {
                config.ssl_mode(SslMode::Prefer);
                let rustls = pg_tls::make_connector(Verify::Nothing, None)?;
                Manager::from_config(config, rustls, manager_config)
            }
            Connector::Required(verify) => {
                config.ssl_mode(SslMode::Require);
                let rustls = pg_tls::make_connector(verify, tls.root_cert.as_deref())?;
                Manager::from_config(config, rustls, manager_config)
            }
        };
        let pool = Pool::builder(manager)
            .max_size(max_size)
            .build()
            .map_err(|e| StoreError::Pool(e.to_string()))?;
        let store = PgStore { pool };
        store.migrate().await.map_err(|e| match e {
            StoreError::Pool(message)
                if matches!(connector, Connector::Required(_)) && message.contains("TLS") =>
            {
                StoreError::Tls {
                    mode: tls.mode.as_str(),
                    message,
                }
            }
            e => e,
        })?;
        Ok(store)
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Pool(error_chain(&e)))
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let migrations = super::schema::postgres();
        let known = migrations.len() as i64;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS gw_schema_version (version BIGINT NOT NULL)")
            .await?;
        let current: i64 = tx
            .query_opt("SELECT version FROM gw_schema_version", &[])
            .await?
            .map(|r| r.get(0))
            .unwrap_or(0);
        if current > known {
            return Err(StoreError::TooNew {
                found: current,
                known,
            });
        }
        for step in migrations.iter().skip(current as usize) {
            tx.batch_execute(step).await?;
        }
        tx.execute("DELETE FROM gw_schema_version", &[]).await?;
        tx.execute("INSERT INTO gw_schema_version VALUES ($1)", &[&known])
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The error and its causes on one line (tokio-postgres's own message, e.g. "error performing
/// TLS handshake", keeps the reason in its source), each said once.
fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The URL without its password (or query values), for messages.
pub fn redact(url: &str) -> String {
    crate::config::redact_url(url)
}

impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn begin(&self, _write: bool) -> BoxFuture<'_, Result<Box<dyn Tx>, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            client.batch_execute("BEGIN").await?;
            Ok(Box::new(PgTx {
                client: Some(client),
            }) as Box<dyn Tx>)
        })
    }
}

struct PgTx {
    client: Option<Object>,
}

impl PgTx {
    fn client(&self) -> &Object {
        self.client.as_ref().expect("transaction is open")
    }
}

fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Tx for PgTx {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn query<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<Vec<DbRow>, StoreError>> {
        Box::pin(async move {
            let client = self.client();
            let stmt = client.prepare_cached(sql).await?;
            let rows = client.query(&stmt, &refs(params)).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let mut row = Vec::with_capacity(r.len());
                for i in 0..r.len() {
                    row.push(r.try_get::<_, Value>(i)?);
                }
                out.push(DbRow(row));
            }
            Ok(out)
        })
    }

    fn execute<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let client = self.client();
            let stmt = client.prepare_cached(sql).await?;
            Ok(client.execute(&stmt, &refs(params)).await?)
        })
    }

    fn commit(mut self: Box<Self>) -> BoxFuture<'static, Result<(), StoreError>> {
        let client = self.client.take().expect("transaction is open");
        Box::pin(async move {
            match client.batch_execute("COMMIT").await {
                Ok(()) => Ok(()),
                Err(e) => {
                    // A connection in an unknown state never goes back to the pool.
                    let _ = Object::take(client);
                    Err(e.into())
                }
            }
        })
    }
}

impl Drop for PgTx {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    if client.batch_execute("ROLLBACK").await.is_err() {
                        let _ = Object::take(client);
                    }
                });
            }
            Err(_) => {
                let _ = Object::take(client);
            }
        }
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) => match *ty {
                Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                Type::BOOL => (*n != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => n.to_string().to_sql(ty, out),
                _ => n.to_sql(ty, out),
            },
            Value::Text(t) => t.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, Box<dyn StdError + Sync + Send>> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)? as i64),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)? as i64),
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)? as i64),
            _ => Value::Text(String::from_sql(ty, raw)?),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, Box<dyn StdError + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://gw:secret@db:5432/gw"),
            "postgres://gw:***@db:5432/gw"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
    }
}
