//! Compiled-in, append-only migrations of the local ledger. Never edit a released step: add one.

pub const MIGRATIONS: &[&str] = &[
    // 1: one row per request.
    "CREATE TABLE requests (
        id TEXT PRIMARY KEY NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER NOT NULL,
        provider TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        requested_model TEXT,
        model TEXT,
        status INTEGER NOT NULL,
        streamed INTEGER NOT NULL,
        incomplete INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_read_tokens INTEGER NOT NULL,
        cache_write_5m_tokens INTEGER NOT NULL,
        cache_write_1h_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cost_nanos INTEGER,
        price_version TEXT NOT NULL,
        latency_us INTEGER NOT NULL,
        ttfb_us INTEGER,
        upstream_request_id TEXT,
        session_id TEXT NOT NULL,
        agent TEXT,
        agent_version TEXT,
        agent_session_id TEXT,
        developer TEXT,
        project TEXT,
        branch TEXT,
        task TEXT,
        cwd TEXT,
        host TEXT,
        key_id TEXT,
        error TEXT,
        synced INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX requests_started_at ON requests(started_at);
    CREATE INDEX requests_session ON requests(session_id, started_at);
    CREATE INDEX requests_unsynced ON requests(id) WHERE synced = 0;",
];
