//! Compiled-in, append-only migrations of the server database, one text for both backends
//! (`{pk}` and `{lock_usage}` are the dialect differences). Never edit a released step: add one.
//!
//! Money is integer nano-dollars, times are Unix microseconds (UTC), booleans 0/1, fractions
//! basis points, hashes lowercase hex. Budget scopes map to columns: `org` → `org_id`,
//! `team` → `team_id`, `developer` → `developer_id`, `key` → `key_ref` (the internal key row id;
//! `key_id` is the public, non-secret key id).

pub const MIGRATIONS: &[&str] = &[
    // 1: entities, budgets, leases, usage.
    "CREATE TABLE admin_tokens (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        token_hash TEXT NOT NULL,
        created_at_us BIGINT NOT NULL
    );
    CREATE TABLE orgs (
        id {pk},
        name TEXT NOT NULL UNIQUE,
        tz TEXT NOT NULL,
        created_at_us BIGINT NOT NULL
    );
    CREATE TABLE teams (
        id {pk},
        org_id BIGINT NOT NULL REFERENCES orgs(id),
        name TEXT NOT NULL,
        created_at_us BIGINT NOT NULL,
        UNIQUE (org_id, name)
    );
    CREATE TABLE developers (
        id {pk},
        org_id BIGINT NOT NULL REFERENCES orgs(id),
        team_id BIGINT REFERENCES teams(id),
        email TEXT NOT NULL UNIQUE,
        name TEXT,
        active BIGINT NOT NULL DEFAULT 1,
        created_at_us BIGINT NOT NULL
    );
    CREATE TABLE keys (
        id {pk},
        key_id TEXT NOT NULL UNIQUE,
        key_hash TEXT NOT NULL,
        developer_id BIGINT NOT NULL REFERENCES developers(id),
        team_id BIGINT REFERENCES teams(id),
        org_id BIGINT NOT NULL REFERENCES orgs(id),
        name TEXT,
        active BIGINT NOT NULL DEFAULT 1,
        expires_at_us BIGINT,
        models TEXT,
        created_at_us BIGINT NOT NULL,
        revoked_at_us BIGINT
    );
    CREATE INDEX keys_developer ON keys(developer_id);
    CREATE TABLE budgets (
        id {pk},
        scope_kind TEXT NOT NULL,
        scope_id BIGINT NOT NULL,
        limit_nanos BIGINT NOT NULL,
        period TEXT NOT NULL,
        soft_bp BIGINT NOT NULL,
        created_at_us BIGINT NOT NULL,
        UNIQUE (scope_kind, scope_id, period)
    );
    CREATE TABLE leases (
        id {pk},
        lease_id TEXT NOT NULL UNIQUE,
        key_ref BIGINT NOT NULL REFERENCES keys(id),
        developer_id BIGINT NOT NULL,
        team_id BIGINT,
        org_id BIGINT NOT NULL,
        session_id TEXT NOT NULL,
        granted_nanos BIGINT NOT NULL,
        consumed_nanos BIGINT NOT NULL DEFAULT 0,
        released BIGINT NOT NULL DEFAULT 0,
        reported_nanos BIGINT,
        created_at_us BIGINT NOT NULL,
        expires_at_us BIGINT NOT NULL
    );
    CREATE INDEX leases_key ON leases(key_ref, expires_at_us);
    CREATE INDEX leases_developer ON leases(developer_id, expires_at_us);
    CREATE INDEX leases_team ON leases(team_id, expires_at_us);
    CREATE INDEX leases_org ON leases(org_id, expires_at_us);
    CREATE INDEX leases_session ON leases(key_ref, session_id, created_at_us);
    CREATE TABLE usage (
        id TEXT PRIMARY KEY NOT NULL,
        key_ref BIGINT NOT NULL,
        developer_id BIGINT NOT NULL,
        team_id BIGINT,
        org_id BIGINT NOT NULL,
        started_at_us BIGINT NOT NULL,
        ended_at_us BIGINT NOT NULL,
        provider TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        requested_model TEXT,
        model TEXT,
        status BIGINT NOT NULL,
        streamed BIGINT NOT NULL,
        incomplete BIGINT NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cache_read_tokens BIGINT NOT NULL,
        cache_write_5m_tokens BIGINT NOT NULL,
        cache_write_1h_tokens BIGINT NOT NULL,
        reasoning_tokens BIGINT NOT NULL,
        cost_nanos BIGINT,
        price_version TEXT NOT NULL,
        latency_us BIGINT NOT NULL,
        ttfb_us BIGINT,
        upstream_request_id TEXT,
        session_id TEXT NOT NULL,
        agent TEXT,
        agent_version TEXT,
        agent_session_id TEXT,
        project TEXT,
        branch TEXT,
        task TEXT,
        cwd TEXT,
        host TEXT,
        error TEXT,
        received_at_us BIGINT NOT NULL
    );
    CREATE INDEX usage_key ON usage(key_ref, started_at_us);
    CREATE INDEX usage_developer ON usage(developer_id, started_at_us);
    CREATE INDEX usage_team ON usage(team_id, started_at_us);
    CREATE INDEX usage_org ON usage(org_id, started_at_us);",
    // 2: spend per scope and quarter hour, kept by ingest, so a grant sums at most a few
    // thousand buckets instead of every usage row of the period. Every time zone in use starts
    // its hours (and so its periods) on a quarter hour.
    "CREATE TABLE usage_rollup (
        scope_kind TEXT NOT NULL,
        scope_id BIGINT NOT NULL,
        bucket_us BIGINT NOT NULL,
        cost_nanos BIGINT NOT NULL,
        PRIMARY KEY (scope_kind, scope_id, bucket_us)
    );
    INSERT INTO usage_rollup
    SELECT 'org', org_id, started_at_us - (started_at_us % 900000000), CAST(sum(coalesce(cost_nanos, 0)) AS BIGINT)
        FROM usage GROUP BY 2, 3
    UNION ALL SELECT 'team', team_id, started_at_us - (started_at_us % 900000000), CAST(sum(coalesce(cost_nanos, 0)) AS BIGINT)
        FROM usage WHERE team_id IS NOT NULL GROUP BY 2, 3
    UNION ALL SELECT 'developer', developer_id, started_at_us - (started_at_us % 900000000), CAST(sum(coalesce(cost_nanos, 0)) AS BIGINT)
        FROM usage GROUP BY 2, 3
    UNION ALL SELECT 'key', key_ref, started_at_us - (started_at_us % 900000000), CAST(sum(coalesce(cost_nanos, 0)) AS BIGINT)
        FROM usage GROUP BY 2, 3;",
    // 3: all-time totals per org, team (0: none), developer and model ('': unknown), kept by
    // ingest, so a /metrics scrape reads a row per label set instead of every usage row.
    "CREATE TABLE usage_totals (
        org_id BIGINT NOT NULL,
        team_id BIGINT NOT NULL,
        developer_id BIGINT NOT NULL,
        model TEXT NOT NULL,
        requests BIGINT NOT NULL,
        cost_nanos BIGINT NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cache_read_tokens BIGINT NOT NULL,
        cache_write_tokens BIGINT NOT NULL,
        reasoning_tokens BIGINT NOT NULL,
        PRIMARY KEY (org_id, team_id, developer_id, model)
    );
    INSERT INTO usage_totals
    SELECT org_id, coalesce(team_id, 0), developer_id, coalesce(model, ''), CAST(count(*) AS BIGINT),
        CAST(coalesce(sum(cost_nanos), 0) AS BIGINT), CAST(sum(input_tokens) AS BIGINT),
        CAST(sum(output_tokens) AS BIGINT), CAST(sum(cache_read_tokens) AS BIGINT),
        CAST(sum(cache_write_5m_tokens + cache_write_1h_tokens) AS BIGINT),
        CAST(sum(reasoning_tokens) AS BIGINT)
        FROM usage GROUP BY 1, 2, 3, 4;",
    // 4: model prices an admin set for an org (`gw admin price set`): a `PriceOverride` as
    // JSON (USD per million tokens), by lower-case model name. Keys learn their org's prices
    // from whoami and charge by them, so an unpriced model can be priced for everyone.
    "CREATE TABLE model_prices (
        org_id BIGINT NOT NULL REFERENCES orgs(id),
        model TEXT NOT NULL,
        price_json TEXT NOT NULL,
        updated_at_us BIGINT NOT NULL,
        PRIMARY KEY (org_id, model)
    );",
    // 5: strict budgets: a session under one reserves each request's upper-bound cost before
    // forwarding it, so the budget's spend never passes its limit.
    "ALTER TABLE budgets ADD COLUMN strict BIGINT NOT NULL DEFAULT 0;",
    // 6: rate limits: requests and/or tokens per window (seconds, aligned to the epoch) on a
    // scope, and what each lease was granted of them in each window (the sum never passes the
    // limit; sessions spend their grants locally).
    "CREATE TABLE rate_limits (
        id {pk},
        scope_kind TEXT NOT NULL,
        scope_id BIGINT NOT NULL,
        window_secs BIGINT NOT NULL,
        max_requests BIGINT,
        max_tokens BIGINT,
        created_at_us BIGINT NOT NULL,
        UNIQUE (scope_kind, scope_id, window_secs)
    );
    CREATE TABLE rate_grants (
        limit_id BIGINT NOT NULL,
        window_start_us BIGINT NOT NULL,
        lease_id TEXT NOT NULL,
        requests BIGINT NOT NULL,
        tokens BIGINT NOT NULL,
        PRIMARY KEY (limit_id, window_start_us, lease_id)
    );",
    // 7: /metrics by agent and project too: all-time totals per org, team (0: none), developer,
    // model, agent and project ('': unknown), with the requests answered 402, 403 and 429
    // (refusals), kept by ingest; replaces `usage_totals`. On PostgreSQL, `usage` is locked
    // against writes first, so an older replica's ingest cannot land in `usage_totals` after
    // the backfill read it (and be lost when it is dropped). And a metrics-only token
    // (`gw server init --metrics-token`) for Prometheus, which reads nothing else.
    "{lock_usage}
    CREATE TABLE usage_series (
        org_id BIGINT NOT NULL,
        team_id BIGINT NOT NULL,
        developer_id BIGINT NOT NULL,
        model TEXT NOT NULL,
        agent TEXT NOT NULL,
        project TEXT NOT NULL,
        requests BIGINT NOT NULL,
        cost_nanos BIGINT NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cache_read_tokens BIGINT NOT NULL,
        cache_write_tokens BIGINT NOT NULL,
        reasoning_tokens BIGINT NOT NULL,
        refused_402 BIGINT NOT NULL,
        refused_403 BIGINT NOT NULL,
        refused_429 BIGINT NOT NULL,
        PRIMARY KEY (org_id, team_id, developer_id, model, agent, project)
    );
    INSERT INTO usage_series
    SELECT org_id, coalesce(team_id, 0), developer_id, coalesce(model, ''), coalesce(agent, ''),
        coalesce(project, ''), CAST(count(*) AS BIGINT),
        CAST(coalesce(sum(cost_nanos), 0) AS BIGINT), CAST(sum(input_tokens) AS BIGINT),
        CAST(sum(output_tokens) AS BIGINT), CAST(sum(cache_read_tokens) AS BIGINT),
        CAST(sum(cache_write_5m_tokens + cache_write_1h_tokens) AS BIGINT),
        CAST(sum(reasoning_tokens) AS BIGINT),
        CAST(sum(CASE WHEN status = 402 THEN 1 ELSE 0 END) AS BIGINT),
        CAST(sum(CASE WHEN status = 403 THEN 1 ELSE 0 END) AS BIGINT),
        CAST(sum(CASE WHEN status = 429 THEN 1 ELSE 0 END) AS BIGINT)
        FROM usage GROUP BY 1, 2, 3, 4, 5, 6;
    DROP TABLE usage_totals;
    CREATE TABLE metrics_tokens (
        id BIGINT PRIMARY KEY CHECK (id = 1),
        token_hash TEXT NOT NULL,
        created_at_us BIGINT NOT NULL
    );",
    // 8: the web dashboard. Its sessions (a cookie's id, hashed, with who signed in and the
    // hash of the secret they signed in with, so rotating the admin token or revoking the key
    // ends them); sums per quarter hour by every dimension it filters on, and per gw session,
    // both kept by ingest, so its pages read thousands of rows rather than millions.
    "{lock_usage}
    CREATE TABLE web_sessions (
        id_hash TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        key_id TEXT,
        secret_hash TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_at_us BIGINT NOT NULL,
        expires_at_us BIGINT NOT NULL
    );
    CREATE TABLE usage_quarters (
        org_id BIGINT NOT NULL,
        bucket_us BIGINT NOT NULL,
        team_id BIGINT NOT NULL,
        developer_id BIGINT NOT NULL,
        model TEXT NOT NULL,
        agent TEXT NOT NULL,
        project TEXT NOT NULL,
        branch TEXT NOT NULL,
        requests BIGINT NOT NULL,
        cost_nanos BIGINT NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cache_read_tokens BIGINT NOT NULL,
        cache_write_tokens BIGINT NOT NULL,
        reasoning_tokens BIGINT NOT NULL,
        unpriced BIGINT NOT NULL,
        PRIMARY KEY (org_id, bucket_us, team_id, developer_id, model, agent, project, branch)
    );
    INSERT INTO usage_quarters
    SELECT org_id, started_at_us - (started_at_us % 900000000), coalesce(team_id, 0),
        developer_id, coalesce(model, ''), coalesce(agent, ''), coalesce(project, ''),
        coalesce(branch, ''), CAST(count(*) AS BIGINT),
        CAST(coalesce(sum(cost_nanos), 0) AS BIGINT), CAST(sum(input_tokens) AS BIGINT),
        CAST(sum(output_tokens) AS BIGINT), CAST(sum(cache_read_tokens) AS BIGINT),
        CAST(sum(cache_write_5m_tokens + cache_write_1h_tokens) AS BIGINT),
        CAST(sum(reasoning_tokens) AS BIGINT),
        CAST(sum(CASE WHEN cost_nanos IS NULL THEN 1 ELSE 0 END) AS BIGINT)
        FROM usage GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
    CREATE TABLE usage_sessions (
        key_ref BIGINT NOT NULL,
        session_id TEXT NOT NULL,
        org_id BIGINT NOT NULL,
        team_id BIGINT NOT NULL,
        developer_id BIGINT NOT NULL,
        agent TEXT NOT NULL,
        project TEXT NOT NULL,
        branch TEXT NOT NULL,
        task TEXT NOT NULL,
        first_us BIGINT NOT NULL,
        last_us BIGINT NOT NULL,
        requests BIGINT NOT NULL,
        cost_nanos BIGINT NOT NULL,
        unpriced BIGINT NOT NULL,
        PRIMARY KEY (key_ref, session_id)
    );
    INSERT INTO usage_sessions
    SELECT key_ref, session_id, max(org_id), max(coalesce(team_id, 0)), max(developer_id),
        max(coalesce(agent, '')), max(coalesce(project, '')), max(coalesce(branch, '')),
        max(coalesce(task, '')), min(started_at_us),
        max(CASE WHEN ended_at_us < started_at_us THEN started_at_us
            WHEN ended_at_us > started_at_us + 86400000000 THEN started_at_us + 86400000000
            ELSE ended_at_us END),
        CAST(count(*) AS BIGINT),
        CAST(coalesce(sum(cost_nanos), 0) AS BIGINT),
        CAST(sum(CASE WHEN cost_nanos IS NULL THEN 1 ELSE 0 END) AS BIGINT)
        FROM usage GROUP BY key_ref, session_id;
    CREATE INDEX usage_quarters_developer ON usage_quarters(developer_id, bucket_us);
    CREATE INDEX web_sessions_expiry ON web_sessions(expires_at_us);
    CREATE INDEX usage_sessions_org ON usage_sessions(org_id, last_us);
    CREATE INDEX usage_sessions_developer ON usage_sessions(developer_id, last_us);
    CREATE INDEX usage_session ON usage(session_id, started_at_us);",
    // 9: `gw import --sync`: rows read from an agent's own log (`import`) beside those a gw
    // proxy metered (`proxy`). Stored and reported (`--by source`), but they charge no lease or
    // budget and add to no /metrics series or dashboard sum: usage from before or outside gw,
    // with costs only the developer's own machine vouches for.
    "ALTER TABLE usage ADD COLUMN source TEXT NOT NULL DEFAULT 'proxy'
        CHECK (source IN ('proxy', 'import'));",
];

/// The migrations in SQLite's dialect.
pub fn sqlite() -> Vec<String> {
    MIGRATIONS
        .iter()
        .map(|m| {
            m.replace("{pk}", "INTEGER PRIMARY KEY")
                // One writer at a time already.
                .replace("{lock_usage}", "")
        })
        .collect()
}

/// The migrations in PostgreSQL's dialect.
pub fn postgres() -> Vec<String> {
    MIGRATIONS
        .iter()
        .map(|m| {
            m.replace(
                "{pk}",
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            )
            .replace("{lock_usage}", "LOCK TABLE usage IN SHARE MODE;")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    /// A server that ingested before totals existed gets them from its usage rows.
    #[test]
    fn usage_totals_are_backfilled_from_existing_usage() {
        let conn = Connection::open_in_memory().unwrap();
        let steps = super::sqlite();
        for step in &steps[..2] {
            conn.execute_batch(step).unwrap();
        }
        let insert = |id: &str, team: Option<i64>, model: Option<&str>, cost: Option<i64>| {
            conn.execute(
                "INSERT INTO usage (id, key_ref, developer_id, team_id, org_id, started_at_us,
                    ended_at_us, provider, endpoint, model, status, streamed, incomplete,
                    input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
                    cache_write_1h_tokens, reasoning_tokens, cost_nanos, price_version,
                    latency_us, session_id, received_at_us)
                 VALUES (?1, 1, 7, ?2, 3, 0, 0, 'anthropic', '/v1/messages', ?3, 200, 0, 0,
                    10, 2, 100, 5, 1, 0, ?4, 'v', 1, 's', 0)",
                rusqlite::params![id, team, model, cost],
            )
            .unwrap();
        };
        insert("a", Some(4), Some("claude-sonnet-4-5"), Some(100));
        insert("b", Some(4), Some("claude-sonnet-4-5"), None);
        insert("c", None, None, Some(7));
        conn.execute_batch(&steps[2]).unwrap();

        let mut rows = conn
            .prepare("SELECT team_id, model, requests, cost_nanos, input_tokens, cache_write_tokens FROM usage_totals ORDER BY team_id")
            .unwrap();
        let got: Vec<(i64, String, i64, i64, i64, i64)> = rows
            .query_map([], |r| r.try_into())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            got,
            vec![
                (0, String::new(), 1, 7, 10, 6),
                (4, "claude-sonnet-4-5".into(), 2, 100, 20, 12),
            ]
        );
    }

    /// Migration 7 sums the usage already stored by agent and project, with its refusals.
    #[test]
    fn usage_series_is_backfilled_by_agent_and_project() {
        let conn = Connection::open_in_memory().unwrap();
        let steps = super::sqlite();
        for step in &steps[..6] {
            conn.execute_batch(step).unwrap();
        }
        for (id, agent, status, cost) in [
            ("a", Some("claude"), 200, Some(100)),
            ("b", Some("claude"), 429, None),
            ("c", None, 402, Some(5)),
        ] {
            conn.execute(
                "INSERT INTO usage (id, key_ref, developer_id, team_id, org_id, started_at_us,
                    ended_at_us, provider, endpoint, model, status, streamed, incomplete,
                    input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
                    cache_write_1h_tokens, reasoning_tokens, cost_nanos, price_version,
                    latency_us, session_id, received_at_us, agent, project)
                 VALUES (?1, 1, 7, 4, 3, 0, 0, 'anthropic', '/v1/messages', 'm', ?2, 0, 0,
                    10, 2, 100, 5, 1, 0, ?3, 'v', 1, 's', 0, ?4, 'p')",
                rusqlite::params![id, status, cost, agent],
            )
            .unwrap();
        }
        conn.execute_batch(&steps[6]).unwrap();
        let got: Vec<(String, i64, i64, i64, i64, i64)> = conn
            .prepare(
                "SELECT agent, requests, cost_nanos, input_tokens, refused_402, refused_429
                 FROM usage_series ORDER BY agent",
            )
            .unwrap()
            .query_map([], |r| r.try_into())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            got,
            vec![
                (String::new(), 1, 5, 10, 1, 0),
                ("claude".into(), 2, 100, 20, 0, 1)
            ]
        );
        assert!(conn.prepare("SELECT 1 FROM usage_totals").is_err());
    }

    /// Migration 8 sums stored usage per quarter hour and per session for the dashboard.
    #[test]
    fn dashboard_sums_are_backfilled() {
        let conn = Connection::open_in_memory().unwrap();
        let steps = super::sqlite();
        for step in &steps[..7] {
            conn.execute_batch(step).unwrap();
        }
        for (id, at, branch, cost) in [
            ("a", 900_000_000 + 5, Some("main"), Some(100)),
            ("b", 900_000_000 + 7, None, None),
            ("c", 1_800_000_000, Some("dev"), Some(5)),
        ] {
            conn.execute(
                "INSERT INTO usage (id, key_ref, developer_id, team_id, org_id, started_at_us,
                    ended_at_us, provider, endpoint, model, status, streamed, incomplete,
                    input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
                    cache_write_1h_tokens, reasoning_tokens, cost_nanos, price_version,
                    latency_us, session_id, received_at_us, agent, branch)
                 VALUES (?1, 1, 7, NULL, 3, ?2, ?2 + 10, 'anthropic', '/v1/messages', 'm', 200,
                    0, 0, 10, 2, 100, 5, 1, 0, ?3, 'v', 1, 's', 0, 'claude', ?4)",
                rusqlite::params![id, at, cost, branch],
            )
            .unwrap();
        }
        conn.execute_batch(&steps[7]).unwrap();
        let quarters: Vec<(i64, String, i64, i64, i64)> = conn
            .prepare(
                "SELECT bucket_us, branch, requests, cost_nanos, unpriced FROM usage_quarters
                 ORDER BY bucket_us, branch",
            )
            .unwrap()
            .query_map([], |r| r.try_into())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            quarters,
            vec![
                (900_000_000, String::new(), 1, 0, 1),
                (900_000_000, "main".into(), 1, 100, 0),
                (1_800_000_000, "dev".into(), 1, 5, 0),
            ]
        );
        let session: (i64, i64, i64, i64, String) = conn
            .query_row(
                "SELECT first_us, last_us, requests, cost_nanos, agent FROM usage_sessions",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(
            session,
            (900_000_005, 1_800_000_010, 3, 105, "claude".to_string())
        );
    }
}
