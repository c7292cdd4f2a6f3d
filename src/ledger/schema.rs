//! Compiled-in, append-only migrations of the local ledger. Never edit a released step: add one.

// Rollup SQL is written once by these macros, for each bucket width; `concat!` keeps the
// migration a compile-time string.

/// A rollup table of bucket width `$us` microseconds, filled from the rows already there.
#[rustfmt::skip]
macro_rules! rollup_table {
    ($table:literal, $us:literal) => {
        rollup_table!(@ $table, $us, "", "", "", "1, 2, 3, 4, 5, 6, 7, 8, 9, 10")
    };
    // Migration 5 on: `billing` is a key too.
    ($table:literal, $us:literal, billing) => {
        rollup_table!(@ $table, $us, "
                billing TEXT NOT NULL,", ", billing", ", billing", "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11")
    };
    // Migration 7 on: and `source`.
    ($table:literal, $us:literal, source) => {
        rollup_table!(@ $table, $us, "
                billing TEXT NOT NULL,
                source TEXT NOT NULL,", ", billing, source", ", billing, source", "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12")
    };
    (@ $table:literal, $us:literal, $def:literal, $pk:literal, $sel:literal, $group:literal) => {
        concat!(
            "CREATE TABLE ", $table, " (
                bucket INTEGER NOT NULL,
                session_id TEXT NOT NULL,
                provider TEXT NOT NULL,
                model TEXT NOT NULL,
                agent TEXT NOT NULL,
                project TEXT NOT NULL,
                branch TEXT NOT NULL,
                task TEXT NOT NULL,
                developer TEXT NOT NULL,
                key_id TEXT NOT NULL,", $def, "
                requests INTEGER NOT NULL,
                input_tokens INTEGER NOT NULL,
                output_tokens INTEGER NOT NULL,
                cache_read_tokens INTEGER NOT NULL,
                cache_write_5m_tokens INTEGER NOT NULL,
                cache_write_1h_tokens INTEGER NOT NULL,
                reasoning_tokens INTEGER NOT NULL,
                cost_nanos INTEGER NOT NULL,
                unpriced_requests INTEGER NOT NULL,
                PRIMARY KEY (bucket, session_id, provider, model, agent, project, branch, task, developer, key_id", $pk, ")
            ) STRICT, WITHOUT ROWID;
            INSERT INTO ", $table, "
            SELECT started_at - ((started_at % ", $us, ") + ", $us, ") % ", $us, ", session_id, provider,
                   coalesce(model, ''), coalesce(agent, ''), coalesce(project, ''), coalesce(branch, ''),
                   coalesce(task, ''), coalesce(developer, ''), coalesce(key_id, '')", $sel, ",
                   count(*), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
                   sum(cache_write_5m_tokens), sum(cache_write_1h_tokens), sum(reasoning_tokens),
                   coalesce(sum(cost_nanos), 0), sum(cost_nanos IS NULL)
            FROM requests GROUP BY ", $group, ";
            "
        )
    };
}

/// Trigger statement: adds row `NEW` to a rollup.
#[rustfmt::skip]
macro_rules! rollup_add {
    ($table:literal, $us:literal) => {
        rollup_add!(@ $table, $us, "")
    };
    ($table:literal, $us:literal, billing) => {
        rollup_add!(@ $table, $us, " NEW.billing,")
    };
    ($table:literal, $us:literal, source) => {
        rollup_add!(@ $table, $us, " NEW.billing, NEW.source,")
    };
    (@ $table:literal, $us:literal, $billing:literal) => {
        concat!(
            "INSERT INTO ", $table, " VALUES (
                NEW.started_at - ((NEW.started_at % ", $us, ") + ", $us, ") % ", $us, ", NEW.session_id,
                NEW.provider, coalesce(NEW.model, ''), coalesce(NEW.agent, ''), coalesce(NEW.project, ''),
                coalesce(NEW.branch, ''), coalesce(NEW.task, ''), coalesce(NEW.developer, ''),
                coalesce(NEW.key_id, ''),", $billing, " 1, NEW.input_tokens, NEW.output_tokens, NEW.cache_read_tokens,
                NEW.cache_write_5m_tokens, NEW.cache_write_1h_tokens, NEW.reasoning_tokens,
                coalesce(NEW.cost_nanos, 0), NEW.cost_nanos IS NULL)
            ", rollup_sums_added!("1"), ";
            "
        )
    };
}

/// The upsert clause that adds a new rollup row's sums to the group's: `$requests` is what the
/// request count grows by (1 for a trigger's one row, `excluded.requests` for a batch's sums).
#[rustfmt::skip]
macro_rules! rollup_sums_added {
    ($requests:literal) => {
        concat!("ON CONFLICT DO UPDATE SET
                requests = requests + ", $requests, ",
                input_tokens = input_tokens + excluded.input_tokens,
                output_tokens = output_tokens + excluded.output_tokens,
                cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
                cache_write_5m_tokens = cache_write_5m_tokens + excluded.cache_write_5m_tokens,
                cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens,
                reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
                cost_nanos = cost_nanos + excluded.cost_nanos,
                unpriced_requests = unpriced_requests + excluded.unpriced_requests")
    };
}

/// [`rollup_sums_added!`] for a transaction's sums (`ledger::RollupSums`).
pub(super) const ROLLUP_BATCH_ADDED: &str = rollup_sums_added!("excluded.requests");

/// Trigger statements: takes row `OLD` out of a rollup, dropping the group when it empties.
#[rustfmt::skip]
macro_rules! rollup_remove {
    ($table:literal, $us:literal) => {
        rollup_remove!(@ $table, $us, "")
    };
    ($table:literal, $us:literal, billing) => {
        rollup_remove!(@ $table, $us, "
              AND billing = OLD.billing")
    };
    ($table:literal, $us:literal, source) => {
        rollup_remove!(@ $table, $us, "
              AND billing = OLD.billing AND source = OLD.source")
    };
    (@ $table:literal, $us:literal, $billing:literal) => {
        concat!(
            "UPDATE ", $table, " SET
                requests = requests - 1,
                input_tokens = input_tokens - OLD.input_tokens,
                output_tokens = output_tokens - OLD.output_tokens,
                cache_read_tokens = cache_read_tokens - OLD.cache_read_tokens,
                cache_write_5m_tokens = cache_write_5m_tokens - OLD.cache_write_5m_tokens,
                cache_write_1h_tokens = cache_write_1h_tokens - OLD.cache_write_1h_tokens,
                reasoning_tokens = reasoning_tokens - OLD.reasoning_tokens,
                cost_nanos = cost_nanos - coalesce(OLD.cost_nanos, 0),
                unpriced_requests = unpriced_requests - (OLD.cost_nanos IS NULL)
            WHERE bucket = OLD.started_at - ((OLD.started_at % ", $us, ") + ", $us, ") % ", $us, "
              AND session_id = OLD.session_id AND provider = OLD.provider
              AND model = coalesce(OLD.model, '') AND agent = coalesce(OLD.agent, '')
              AND project = coalesce(OLD.project, '') AND branch = coalesce(OLD.branch, '')
              AND task = coalesce(OLD.task, '') AND developer = coalesce(OLD.developer, '')
              AND key_id = coalesce(OLD.key_id, '')", $billing, ";
            DELETE FROM ", $table, " WHERE requests = 0
              AND bucket = OLD.started_at - ((OLD.started_at % ", $us, ") + ", $us, ") % ", $us, "
              AND session_id = OLD.session_id;
            "
        )
    };
}

/// Statements that rebuild the three rollups and their triggers with `$keys` among their keys
/// (`billing`, then `billing` and `source`), from the rows already there; `$update_of` is what
/// else the update trigger watches.
#[rustfmt::skip]
macro_rules! rebuild_rollups {
    ($keys:ident, $update_of:literal) => {
        concat!(
            "DROP TRIGGER spend_rollup_insert;
        DROP TRIGGER spend_rollup_delete;
        DROP TRIGGER spend_rollup_update;
        DROP TABLE spend_1d;
        DROP TABLE spend_1h;
        DROP TABLE spend_15m;",
            rollup_table!("spend_1d", "86400000000", $keys),
            rollup_table!("spend_1h", "3600000000", $keys),
            rollup_table!("spend_15m", "900000000", $keys),
            "CREATE TRIGGER spend_rollup_insert AFTER INSERT ON requests BEGIN ",
            rollup_add!("spend_1d", "86400000000", $keys),
            rollup_add!("spend_1h", "3600000000", $keys),
            rollup_add!("spend_15m", "900000000", $keys),
            "END;
        CREATE TRIGGER spend_rollup_delete AFTER DELETE ON requests BEGIN ",
            rollup_remove!("spend_1d", "86400000000", $keys),
            rollup_remove!("spend_1h", "3600000000", $keys),
            rollup_remove!("spend_15m", "900000000", $keys),
            "END;
        CREATE TRIGGER spend_rollup_update AFTER UPDATE OF
            started_at, provider, model, input_tokens, output_tokens, cache_read_tokens,
            cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, cost_nanos,
            session_id, agent, developer, project, branch, task, key_id, ", $update_of, "
        ON requests BEGIN ",
            rollup_remove!("spend_1d", "86400000000", $keys),
            rollup_remove!("spend_1h", "3600000000", $keys),
            rollup_remove!("spend_15m", "900000000", $keys),
            rollup_add!("spend_1d", "86400000000", $keys),
            rollup_add!("spend_1h", "3600000000", $keys),
            rollup_add!("spend_15m", "900000000", $keys),
            "END;"
        )
    };
}

/// The `requests` indexes whose keys an import brings in random order (sessions interleave;
/// provider ids are random), as the migrations left them: a large first import drops them and
/// builds them after its rows (`ledger::BulkImport`), sorting once instead of inserting at a
/// random place per row. A test holds them to what `sqlite_master` says.
pub(super) const REBUILT_INDEXES: [(&str, &str); 3] = [
    (
        "requests_started_at",
        "CREATE INDEX requests_started_at ON requests(started_at)",
    ),
    (
        "requests_session",
        "CREATE INDEX requests_session ON requests(session_id, started_at)",
    ),
    (
        "requests_imported_call",
        "CREATE UNIQUE INDEX requests_imported_call
            ON requests(agent, response_id, coalesce(upstream_request_id, ''))
            WHERE source = 'import' AND response_id IS NOT NULL",
    ),
];

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
    // 2: spend rollups behind `gw spend`: requests summed per bucket and attribution, per UTC
    // day (`spend_1d`), hour (`spend_1h`: local days of whole-hour zones) and quarter hour
    // (`spend_15m`: every time zone in use starts its days on a quarter hour). Triggers keep
    // them exact, so every writer (the proxy's writer thread, other gw processes, sqlite3)
    // keeps them current. (Since migration 9, inserts go through gw's own sums instead, and
    // other writers' rows are rolled up by rowid.) Text columns hold '' for NULL: unique keys
    // treat NULLs as distinct.
    concat!(
        rollup_table!("spend_1d", "86400000000"),
        rollup_table!("spend_1h", "3600000000"),
        rollup_table!("spend_15m", "900000000"),
        "CREATE TRIGGER spend_rollup_insert AFTER INSERT ON requests BEGIN ",
        rollup_add!("spend_1d", "86400000000"),
        rollup_add!("spend_1h", "3600000000"),
        rollup_add!("spend_15m", "900000000"),
        "END;
        CREATE TRIGGER spend_rollup_delete AFTER DELETE ON requests BEGIN ",
        rollup_remove!("spend_1d", "86400000000"),
        rollup_remove!("spend_1h", "3600000000"),
        rollup_remove!("spend_15m", "900000000"),
        "END;
        CREATE TRIGGER spend_rollup_update AFTER UPDATE OF
            started_at, provider, model, input_tokens, output_tokens, cache_read_tokens,
            cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, cost_nanos,
            session_id, agent, developer, project, branch, task, key_id
        ON requests BEGIN ",
        rollup_remove!("spend_1d", "86400000000"),
        rollup_remove!("spend_1h", "3600000000"),
        rollup_remove!("spend_15m", "900000000"),
        rollup_add!("spend_1d", "86400000000"),
        rollup_add!("spend_1h", "3600000000"),
        rollup_add!("spend_15m", "900000000"),
        "END;"
    ),
    // 3: only rows made with a gw key are ever synced: the unsynced index covers just those, so
    // a ledger used without a server no longer indexes every row it will ever hold.
    "DROP INDEX requests_unsynced;
    CREATE INDEX requests_unsynced ON requests(id) WHERE synced = 0 AND key_id IS NOT NULL;",
    // 4: rows the gw server refused for good are quarantined (`synced = 2`, beside 0: waiting and
    // 1: acknowledged) with the server's reason, kept but never sent again, so one bad row no
    // longer stops every later row's sync.
    "ALTER TABLE requests ADD COLUMN sync_error TEXT;
    CREATE INDEX requests_quarantined ON requests(key_id) WHERE synced = 2;",
    // 5: how a request is paid for, `api` (per token) or `subscription` (a plan the agent logged
    // in with: ChatGPT, claude.ai, Google), kept in the rollups so `gw spend` can tell them
    // apart. The rollups are rebuilt from the rows with it as a key.
    concat!(
        "ALTER TABLE requests ADD COLUMN billing TEXT NOT NULL DEFAULT 'api'
            CHECK (billing IN ('api', 'subscription'));
        ",
        rebuild_rollups!(billing, "billing")
    ),
    // 6: the cloud region that served a request (Bedrock's, Vertex's location); not a rollup
    // key.
    "ALTER TABLE requests ADD COLUMN region TEXT;",
    // 7: `gw import`: where a row comes from (`proxy`, metered by gw; `import`, read from an
    // agent's own log), a rollup key so `gw spend --source` stays fast; the provider's message
    // or response id (`msg_…`, `resp_…`: what agents' logs name a call by); and the cost the
    // agent's log gives, beside gw's. Each log file gw imported, with its identity and how far
    // it was read, so a second import reads only what was appended.
    concat!(
        "ALTER TABLE requests ADD COLUMN source TEXT NOT NULL DEFAULT 'proxy'
            CHECK (source IN ('proxy', 'import'));
        ALTER TABLE requests ADD COLUMN response_id TEXT;
        ALTER TABLE requests ADD COLUMN log_cost_nanos INTEGER;
        CREATE INDEX requests_response_id ON requests(response_id) WHERE response_id IS NOT NULL;
        CREATE INDEX requests_upstream_request_id ON requests(upstream_request_id)
            WHERE upstream_request_id IS NOT NULL;
        CREATE UNIQUE INDEX requests_imported_call
            ON requests(agent, response_id, coalesce(upstream_request_id, ''))
            WHERE source = 'import' AND response_id IS NOT NULL;
        CREATE TABLE import_files (
            path TEXT PRIMARY KEY NOT NULL,
            agent TEXT NOT NULL,
            device INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            size INTEGER NOT NULL,
            offset INTEGER NOT NULL,
            head TEXT NOT NULL,
            imported_at INTEGER NOT NULL
        ) STRICT;
        ",
        rebuild_rollups!(source, "billing, source")
    ),
    // 8: `gw import` finds the calls gw's proxy metered in memory (`MeteredCalls`: read once,
    // then only the rows written since), so the two indexes its per-row check used go: each cost
    // every imported row two inserts at random places.
    "DROP INDEX requests_response_id;
    DROP INDEX requests_upstream_request_id;",
    // 9: gw's inserts (the proxy's writer, `gw import`) sum their rows into the rollups once
    // per group (`ledger::RollupSums`). The insert trigger goes: its three upserts per row, and
    // the statement journal any insert trigger makes SQLite keep for each insert, made the
    // writer's commits bursts of milliseconds that took the CPU from the proxy. Rows another
    // writer adds (a gw of an older version still running, sqlite3 by hand) are rolled up
    // later, by rowid: `rollup_mark` holds the last rowid in the rollups, and whatever lies past
    // it is added before gw's next insert or report (`ledger::heal_rollups`). Updates and
    // deletes (rare) keep their triggers.
    "DROP TRIGGER IF EXISTS spend_rollup_insert;
    CREATE TABLE rollup_mark (
        one INTEGER PRIMARY KEY NOT NULL CHECK (one = 1),
        rowid_to INTEGER NOT NULL
    ) STRICT;
    INSERT INTO rollup_mark VALUES (1, (SELECT coalesce(max(rowid), 0) FROM requests));",
];
