//! The sync cursor: which rows the gw server has not acknowledged yet (`synced = 0`, served by
//! the `requests_unsynced` partial index over rows with a key id), read in id (time) order and
//! marked once acknowledged (`synced = 1`), or quarantined once the server refused them for good
//! (`synced = 2`, with its reason in `sync_error`; kept, never sent again).

use rusqlite::params_from_iter;
use uuid::Uuid;

use super::{row_from_sql, Ledger, LedgerError, Row, COLUMNS};

/// Which pending rows to read: a key's (rows recorded in team mode carry its id), optionally one
/// session's.
#[derive(Debug, Clone, Copy)]
pub struct PendingFilter<'a> {
    pub key_id: &'a str,
    pub session_id: Option<&'a str>,
}

impl PendingFilter<'_> {
    fn sql(&self) -> (&'static str, Vec<String>) {
        let mut args = vec![self.key_id.to_string()];
        let clause = match self.session_id {
            Some(s) => {
                args.push(s.to_string());
                "synced = 0 AND key_id = ?1 AND session_id = ?2"
            }
            None => "synced = 0 AND key_id = ?1",
        };
        (clause, args)
    }
}

impl Ledger {
    /// Up to `limit` rows not yet acknowledged by the server, oldest id first.
    pub fn pending_rows(
        &self,
        filter: PendingFilter<'_>,
        limit: usize,
    ) -> Result<Vec<Row>, LedgerError> {
        let (clause, mut args) = filter.sql();
        args.push(limit.to_string());
        let sql = format!(
            "SELECT {COLUMNS} FROM requests WHERE {clause} ORDER BY id LIMIT ?{}",
            args.len()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(args), row_from_sql)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// How many rows wait for the server.
    pub fn pending_count(&self, filter: PendingFilter<'_>) -> Result<u64, LedgerError> {
        let (clause, args) = filter.sql();
        let sql = format!("SELECT count(*) FROM requests WHERE {clause}");
        let n: i64 = self
            .conn
            .query_row(&sql, params_from_iter(args), |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Quarantines rows the server refused for good, each with the server's reason: they stay in
    /// the ledger (and in `gw spend`) but leave the cursor. Returns how many changed.
    pub fn quarantine(&mut self, rows: &[(Uuid, String)]) -> Result<usize, LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut changed = 0;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE requests SET synced = 2, sync_error = ?2 WHERE id = ?1 AND synced = 0",
            )?;
            for (id, reason) in rows {
                changed += stmt.execute(rusqlite::params![id.to_string(), reason])?;
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Quarantined rows, counted by reason, most frequent first.
    pub fn quarantined(
        &self,
        filter: PendingFilter<'_>,
    ) -> Result<Vec<(String, u64)>, LedgerError> {
        let (clause, args) = filter.sql();
        let clause = clause.replacen("synced = 0", "synced = 2", 1);
        let sql = format!(
            "SELECT coalesce(sync_error, ''), count(*) FROM requests WHERE {clause}
             GROUP BY 1 ORDER BY 2 DESC, 1"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt
            .query_map(params_from_iter(args), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Marks rows as acknowledged by the server; returns how many changed.
    pub fn mark_synced(&mut self, ids: &[Uuid]) -> Result<usize, LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut changed = 0;
        {
            let mut stmt =
                tx.prepare_cached("UPDATE requests SET synced = 1 WHERE id = ?1 AND synced = 0")?;
            for id in ids {
                changed += stmt.execute([id.to_string()])?;
            }
        }
        tx.commit()?;
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::tests::sample_row;
    use super::*;

    /// The partial index holds only rows made with a key, and the cursor's query (a key's
    /// pending rows) can still use it: `key_id = ?` implies `key_id IS NOT NULL`.
    #[test]
    fn pending_rows_use_the_unsynced_index_of_keyed_rows_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        let mut keyed = sample_row("s", 1);
        Arc::make_mut(&mut keyed.attribution).key_id = Some("k1".into());
        ledger.insert(&[keyed, sample_row("s", 2)]).unwrap();
        let filter = PendingFilter {
            key_id: "k1",
            session_id: None,
        };
        let (clause, args) = filter.sql();
        let plan: Vec<String> = ledger
            .conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN SELECT id FROM requests WHERE {clause} ORDER BY id"
            ))
            .unwrap()
            .query_map(params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(
            plan.iter().any(|step| step.contains("requests_unsynced")),
            "{plan:?}"
        );
        let definition: String = ledger
            .conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'requests_unsynced'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(definition.contains("key_id IS NOT NULL"), "{definition}");
        assert_eq!(ledger.pending_count(filter).unwrap(), 1);
    }

    #[test]
    fn pending_rows_follow_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        let mut rows: Vec<Row> = (0..5)
            .map(|i| {
                let mut r = sample_row(if i < 3 { "s1" } else { "s2" }, i);
                Arc::make_mut(&mut r.attribution).key_id = Some("k1".into());
                r
            })
            .collect();
        Arc::make_mut(&mut rows[4].attribution).key_id = None; // recorded without a server: never pushed
        ledger.insert(&rows).unwrap();
        let all = PendingFilter {
            key_id: "k1",
            session_id: None,
        };
        let s1 = PendingFilter {
            key_id: "k1",
            session_id: Some("s1"),
        };
        assert_eq!(ledger.pending_count(all).unwrap(), 4);
        assert_eq!(ledger.pending_count(s1).unwrap(), 3);
        let first = ledger.pending_rows(all, 2).unwrap();
        assert_eq!(first, rows[..2].to_vec(), "oldest id first");
        assert_eq!(ledger.mark_synced(&[rows[0].id, rows[1].id]).unwrap(), 2);
        assert_eq!(ledger.mark_synced(&[rows[0].id]).unwrap(), 0);
        assert_eq!(ledger.pending_rows(all, 10).unwrap(), rows[2..4].to_vec());
        assert_eq!(ledger.pending_count(s1).unwrap(), 1);
    }

    #[test]
    fn quarantined_rows_leave_the_cursor_and_keep_their_reason() {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(&dir.path().join("ledger.db")).unwrap();
        let rows: Vec<Row> = (0..4)
            .map(|i| {
                let mut r = sample_row("s1", i);
                Arc::make_mut(&mut r.attribution).key_id = Some("k1".into());
                r
            })
            .collect();
        ledger.insert(&rows).unwrap();
        let all = PendingFilter {
            key_id: "k1",
            session_id: None,
        };
        let set = [
            (rows[1].id, "input_tokens is implausibly large".to_string()),
            (rows[2].id, "input_tokens is implausibly large".to_string()),
            (rows[3].id, "status 1234 is not an HTTP status".to_string()),
        ];
        assert_eq!(ledger.quarantine(&set).unwrap(), 3);
        assert_eq!(ledger.quarantine(&set[..1]).unwrap(), 0, "once");
        assert_eq!(ledger.pending_rows(all, 10).unwrap(), rows[..1].to_vec());
        assert_eq!(
            ledger.quarantined(all).unwrap(),
            vec![
                ("input_tokens is implausibly large".to_string(), 2),
                ("status 1234 is not an HTTP status".to_string(), 1),
            ]
        );
        // Kept: still in the ledger, and an acknowledgement never touches them.
        assert_eq!(ledger.get(&rows[3].id).unwrap().unwrap(), rows[3]);
        assert_eq!(ledger.mark_synced(&[rows[3].id]).unwrap(), 0);
        assert_eq!(ledger.quarantined(all).unwrap().len(), 2);
    }
}
