//! `Uploader`: pushes ledger rows the server has not acknowledged, in planned batches, and marks
//! them synced only once the server answered. Ids are the rows' UUIDv7s and the server counts a
//! known id as a duplicate, so a retry after a lost answer never counts a row twice.
//!
//! A row the server refuses for good (a 400 naming it) is quarantined in the ledger with the
//! server's reason and the rest are sent again, so one bad row never stops the rows after it. A
//! 400 or 413 that names no row is narrowed down by halving the batch until the refused row is
//! alone.

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use super::plan;
use super::{ServerClient, SyncError};
use crate::api::MAX_BATCH_ROWS;
use crate::api::{RefusedRow, UsageRow};
use crate::ledger::{Ledger, LedgerError, PendingFilter, Row};

/// What one push did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PushReport {
    /// Rows sent and acknowledged.
    pub sent: u64,
    /// Rows the server counted for the first time.
    pub accepted: u64,
    /// Rows it had already (an earlier answer was lost).
    pub duplicates: u64,
    /// Rows it refused for good, now quarantined in the ledger.
    pub quarantined: u64,
}

pub struct Uploader {
    client: ServerClient,
    ledger_path: PathBuf,
    key_id: String,
    session_id: Option<String>,
    ledger: Arc<Mutex<Option<Ledger>>>,
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl Uploader {
    /// Pushes the rows of key `key_id` (team-mode rows carry it), only `session_id`'s if given.
    pub fn new(
        client: ServerClient,
        ledger_path: PathBuf,
        key_id: String,
        session_id: Option<String>,
    ) -> Uploader {
        Uploader {
            client,
            ledger_path,
            key_id,
            session_id,
            ledger: Arc::default(),
            one_at_a_time: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs `f` on the ledger (opened on first use) on a blocking thread.
    async fn with_ledger<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Ledger, PendingFilter<'_>) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, SyncError> {
        let (ledger, path) = (self.ledger.clone(), self.ledger_path.clone());
        let (key, session) = (self.key_id.clone(), self.session_id.clone());
        tokio::task::spawn_blocking(move || {
            let mut guard = ledger.lock().unwrap();
            if guard.is_none() {
                *guard = Some(Ledger::open(&path)?);
            }
            let filter = PendingFilter {
                key_id: &key,
                session_id: session.as_deref(),
            };
            f(guard.as_mut().expect("opened above"), filter)
        })
        .await
        .map_err(|_| SyncError::Ledger(LedgerError::WriterGone))?
        .map_err(SyncError::from)
    }

    /// Rows waiting for the server.
    pub async fn pending(&self) -> Result<u64, SyncError> {
        self.with_ledger(|l, f| l.pending_count(f)).await
    }

    /// Rows quarantined (refused for good by the server), counted by reason, most first.
    pub async fn quarantined(&self) -> Result<Vec<(String, u64)>, SyncError> {
        self.with_ledger(|l, f| l.quarantined(f)).await
    }

    /// Pushes every pending row once, quarantining the rows the server refuses for good; stops at
    /// the first other failure (what was acknowledged stays marked). `progress` gets the number
    /// of rows acknowledged so far.
    pub async fn push(
        &self,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<PushReport, SyncError> {
        let _guard = self.one_at_a_time.lock().await;
        let mut report = PushReport::default();
        'page: loop {
            let rows = self
                .with_ledger(|l, f| l.pending_rows(f, MAX_BATCH_ROWS))
                .await?;
            if rows.is_empty() {
                return Ok(report);
            }
            let full_page = rows.len() == MAX_BATCH_ROWS;
            let encoded: Vec<String> = rows
                .iter()
                .map(|r| serde_json::to_string(&UsageRow::from(r)).expect("rows serialize"))
                .collect();
            let sizes: Vec<usize> = encoded.iter().map(String::len).collect();
            let costs: Vec<i64> = rows.iter().map(|r| r.cost_nanos.unwrap_or(0)).collect();
            // What is left to send, the next batch last.
            let mut todo: Vec<Range<usize>> = plan::batches(&sizes, &costs, plan::LIMITS);
            todo.reverse();
            while let Some(range) = todo.pop() {
                let mut body =
                    String::with_capacity(sizes[range.clone()].iter().sum::<usize>() + 16);
                body.push_str("{\"rows\":[");
                body.push_str(&encoded[range.clone()].join(","));
                body.push_str("]}");
                let batch = &rows[range.clone()];
                let refusal = match self.client.push_usage(Bytes::from(body)).await {
                    Ok(ack) => {
                        let ids: Vec<uuid::Uuid> = batch.iter().map(|r| r.id).collect();
                        self.with_ledger(move |l, _| l.mark_synced(&ids)).await?;
                        report.sent += range.len() as u64;
                        report.accepted += ack.accepted;
                        report.duplicates += ack.duplicates;
                        progress(report.sent);
                        continue;
                    }
                    Err(e) if e.refuses_rows() => e,
                    Err(e) => return Err(e),
                };
                let named = match &refusal {
                    SyncError::RowsRefused { rows: refused, .. } => named_rows(batch, refused),
                    _ => Vec::new(),
                };
                if !named.is_empty() {
                    report.quarantined += self.quarantine(named).await?;
                    // The rest of this page, read again without them.
                    continue 'page;
                }
                // No row named: halve the batch until the refused row is alone.
                if range.len() > 1 {
                    let mid = range.start + range.len() / 2;
                    todo.push(mid..range.end);
                    todo.push(range.start..mid);
                } else {
                    let reason = match refusal {
                        SyncError::Api { message, .. } | SyncError::RowsRefused { message, .. } => {
                            message
                        }
                        other => other.to_string(),
                    };
                    let one = vec![(batch[0].id, reason)];
                    report.quarantined += self.quarantine(one).await?;
                }
            }
            if !full_page {
                return Ok(report);
            }
        }
    }

    async fn quarantine(&self, rows: Vec<(uuid::Uuid, String)>) -> Result<u64, SyncError> {
        for (id, reason) in &rows {
            tracing::warn!("the gw server refused row {id}: {reason}; quarantined in the ledger");
        }
        let n = self.with_ledger(move |l, _| l.quarantine(&rows)).await?;
        Ok(n as u64)
    }

    /// `push`, retrying an unreachable server with backoff, `attempts` tries in all.
    pub async fn push_with_retries(
        &self,
        attempts: u32,
        cap: Duration,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<PushReport, SyncError> {
        let mut total = PushReport::default();
        let mut attempt = 0;
        loop {
            let done = total.sent;
            let result = self.push(&|n| progress(done + n)).await;
            match result {
                Ok(r) => {
                    total.sent += r.sent;
                    total.accepted += r.accepted;
                    total.duplicates += r.duplicates;
                    total.quarantined += r.quarantined;
                    return Ok(total);
                }
                Err(e) if e.is_transient() && attempt + 1 < attempts => {
                    attempt += 1;
                    let wait = plan::backoff(attempt, cap, rand::random::<f64>());
                    tracing::info!("usage upload failed ({e}); retrying in {wait:?}");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// The rows of `batch` the server named, with its reasons.
fn named_rows(batch: &[Row], refused: &[RefusedRow]) -> Vec<(uuid::Uuid, String)> {
    let reasons: HashMap<&str, &str> = refused
        .iter()
        .map(|r| (r.id.as_str(), r.reason.as_str()))
        .collect();
    batch
        .iter()
        .filter_map(|r| {
            let reason = reasons.get(r.id.to_string().as_str())?;
            Some((r.id, reason.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use axum::http::StatusCode;
    use axum::routing::post;
    use axum::{Json, Router};
    use serde_json::{json, Value};

    use super::*;
    use crate::ledger::PendingFilter;

    /// A server that refuses any batch holding a row of session `bad`, without naming it (as a
    /// server from before `error.rows` does), and takes every other batch.
    async fn refusing_server(batches: Arc<Mutex<Vec<usize>>>) -> String {
        let app = Router::new().route(
            "/v1/usage",
            post(move |Json(body): Json<Value>| {
                let batches = batches.clone();
                async move {
                    let rows = body["rows"].as_array().cloned().unwrap_or_default();
                    batches.lock().unwrap().push(rows.len());
                    if rows.iter().any(|r| r["session_id"] == "bad") {
                        let error = json!({"error": {"type": "invalid_request", "message": "status is odd"}});
                        return (StatusCode::BAD_REQUEST, Json(error));
                    }
                    let ack = json!({"accepted": rows.len(), "duplicates": 0, "budgets": []});
                    (StatusCode::OK, Json(ack))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    #[tokio::test]
    async fn a_batch_refused_without_naming_a_row_is_halved_until_the_row_is_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        let rows: Vec<Row> = (0..7)
            .map(|i| {
                let session = if i == 4 { "bad" } else { "s" };
                let mut r = crate::ledger::tests::sample_row(session, i);
                Arc::make_mut(&mut r.attribution).key_id = Some("k1".into());
                r
            })
            .collect();
        Ledger::open(&path).unwrap().insert(&rows).unwrap();
        let batches = Arc::new(Mutex::new(Vec::new()));
        let url = refusing_server(batches.clone()).await;
        let client = ServerClient::new(&crate::config::ServerLogin::new(url, "gwk_test")).unwrap();
        let uploader = Uploader::new(client, path.clone(), "k1".into(), None);

        let report = uploader.push(&|_| {}).await.unwrap();
        assert_eq!((report.sent, report.quarantined), (6, 1));
        // 7 refused, 3 taken, 4 refused, 2 refused, 1 taken, 1 (the bad row) refused, 2 taken.
        assert_eq!(*batches.lock().unwrap(), vec![7, 3, 4, 2, 1, 1, 2]);
        assert_eq!(
            uploader.quarantined().await.unwrap(),
            vec![("status is odd".to_string(), 1)]
        );
        let ledger = Ledger::open(&path).unwrap();
        let filter = PendingFilter {
            key_id: "k1",
            session_id: None,
        };
        assert_eq!(ledger.pending_count(filter).unwrap(), 0);
        assert_eq!(uploader.push(&|_| {}).await.unwrap(), PushReport::default());
        assert_eq!(batches.lock().unwrap().len(), 7, "not sent again");
    }
}
