//! PostgreSQL and Redis probes against real servers: Debian's postgresql-15
//! and redis-server in containers started by `tests/support/engine.sh
//! databases` (PostgreSQL on 127.0.0.1:15432 with the report's seven tables,
//! Redis on 127.0.0.1:16379 with the append-only file on).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: that is a failed test

mod common;

use common::{failing, probes};
use stackwarden_health::ProbeOutcome;
use stackwarden_probes::ProbeRunner;

const TABLES: &str = "[document_embeddings, imported_documents, open_skills, points_of_interest, system_registry, telemetry_events, tool_registry]";

async fn run(yaml: &str) -> ProbeOutcome {
    ProbeRunner::new().run(&probes(yaml)[0], None).await
}

#[tokio::test]
async fn postgres_tables_extensions_and_bad_password() {
    // The password comes from the environment variable the stack file names.
    std::env::set_var("SW_TEST_PG_PASSWORD", "sw-test-pw");
    std::env::set_var("SW_TEST_PG_WRONG", "not-the-password");
    let ok = run(&format!(
        "        - postgres:\n            url: \"postgres://mcp@127.0.0.1:15432/mcp\"\n            password_env: SW_TEST_PG_PASSWORD\n            tables: {TABLES}\n            extensions: [pg_trgm]\n          timeout: 5s\n          conditions: [\"[RESPONSE_TIME] < 5s\"]\n"
    ))
    .await;
    assert!(
        ok.success,
        "run `tests/support/engine.sh databases` first: {ok:#?}"
    );
    assert_eq!(ok.conditions.len(), 1 + 7 + 1 + 1);

    let missing = run(
        "        - postgres:\n            url: \"postgres://mcp@127.0.0.1:15432/mcp\"\n            password_env: SW_TEST_PG_PASSWORD\n            tables: [tool_registry, no_such_table]\n            extensions: [vector]\n          timeout: 5s\n",
    )
    .await;
    assert!(!missing.success);
    assert_eq!(
        failing(&missing),
        [
            (
                "table no_such_table exists".to_string(),
                "missing".to_string()
            ),
            (
                "extension vector installed".to_string(),
                "not installed".to_string()
            ),
        ]
    );

    let wrong = run(
        "        - postgres:\n            url: \"postgres://mcp@127.0.0.1:15432/mcp\"\n            password_env: SW_TEST_PG_WRONG\n          timeout: 5s\n",
    )
    .await;
    assert!(!wrong.success);
    let error = wrong.error.unwrap_or_default();
    assert!(error.contains("password authentication failed"), "{error}");
}

/// A keyring that keeps one password, for the database it was set for.
struct OneSecret(&'static str, &'static str);

impl stackwarden_probes::SecretSource for OneSecret {
    fn password(&self, key: &str) -> stackwarden_probes::SecretFuture {
        let found = (key == self.0).then(|| self.1.to_string());
        Box::pin(async move { found })
    }
}

#[tokio::test]
async fn a_missing_password_is_said_and_a_kept_one_is_used() {
    let yaml = "        - postgres:\n            url: \"postgres://mcp@127.0.0.1:15432/mcp\"\n            password_env: SW_TEST_PG_NEVER_SET\n            tables: [tool_registry]\n          timeout: 5s\n";
    let probe = &probes(yaml)[0];
    let missing = ProbeRunner::new().run(probe, None).await;
    assert_eq!(
        missing.error.as_deref(),
        Some("password missing: SW_TEST_PG_NEVER_SET is not set in Stackwarden's environment")
    );
    let keyring = |key, pw| {
        let source: std::sync::Arc<dyn stackwarden_probes::SecretSource> =
            std::sync::Arc::new(OneSecret(key, pw));
        ProbeRunner::with_secrets(Some(stackwarden_probes::Secrets(source)))
    };
    let other_db = keyring("postgres://mcp@127.0.0.1:15432/other", "sw-test-pw")
        .run(probe, None)
        .await;
    let error = other_db.error.unwrap_or_default();
    assert!(
        error.starts_with("password missing: SW_TEST_PG_NEVER_SET is not set in Stackwarden's environment and no password is kept for this database in the desktop's keyring"),
        "{error}"
    );
    let kept = keyring("postgres://mcp@127.0.0.1:15432/mcp", "sw-test-pw")
        .run(probe, None)
        .await;
    assert!(kept.success, "{kept:#?}");
}

#[tokio::test]
async fn redis_ping_and_persistence() {
    let yaml = "        - redis: {url: \"redis://127.0.0.1:16379\", require_persistence: true}\n          timeout: 5s\n";
    let ok = run(yaml).await;
    assert!(
        ok.success,
        "run `tests/support/engine.sh databases` first: {ok:#?}"
    );
    assert_eq!(ok.conditions[0].observed, "PONG");

    // Turn persistence off on the live server: the probe must notice.
    let client = redis::Client::open("redis://127.0.0.1:16379").unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let set =
        |k: &'static str, v: &'static str| redis::cmd("CONFIG").arg("SET").arg(k).arg(v).clone();
    let _: () = set("appendonly", "no")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = set("save", "").query_async(&mut conn).await.unwrap();
    let off = run(yaml).await;
    let _: () = set("appendonly", "yes")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!off.success);
    assert_eq!(
        failing(&off),
        [(
            "data persists (AOF or RDB snapshots)".to_string(),
            "appendonly no, save \"\"".to_string()
        )]
    );

    let closed =
        run("        - redis: {url: \"redis://127.0.0.1:1\"}\n          timeout: 2s\n").await;
    assert!(!closed.success);
    assert!(closed
        .error
        .unwrap_or_default()
        .contains("cannot connect to Redis"));
}

#[tokio::test]
async fn postgres_gives_row_estimates_and_the_pgvector_version() {
    std::env::set_var("SW_TEST_PG_PASSWORD", "sw-test-pw");
    // A table of this test's own, with a known number of rows, analysed.
    let table = format!("sw_typed_rows_{}", std::process::id());
    let opts: sqlx::postgres::PgConnectOptions = "postgres://mcp:sw-test-pw@127.0.0.1:15432/mcp"
        .parse()
        .unwrap();
    use sqlx::{ConnectOptions, Executor};
    let mut conn = opts
        .connect()
        .await
        .expect("run `tests/support/engine.sh databases` first");
    let sql = format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id int); INSERT INTO {table} SELECT generate_series(1, 250); ANALYZE {table};"
    );
    conn.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    let yaml = format!(
        "        - postgres:\n            url: \"postgres://mcp@127.0.0.1:15432/mcp\"\n            password_env: SW_TEST_PG_PASSWORD\n            tables: [{table}, tool_registry]\n          timeout: 5s\n          conditions: [\"[ROWS].{table} >= 250\", \"[ROWS].tool_registry >= 0\"]\n"
    );
    let seen = ProbeRunner::new()
        .run_with_values(&probes(&yaml)[0], None)
        .await;
    let _ = conn
        .execute(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
        .await;
    assert!(seen.outcome.success, "{:#?}", seen.outcome);
    let Some(stackwarden_probes::ProbeValues::Postgres(v)) = seen.values else {
        panic!("{:?}", seen.values)
    };
    assert_eq!(v.rows[&table], Some(250));
    assert!(v.rows["tool_registry"].is_some_and(|n| n >= 0), "{v:?}");
    // The test database is Debian's postgresql-15 without pgvector.
    assert_eq!(v.pgvector, None);

    // A missing table has no estimate, and a condition on it says so.
    let missing = ProbeRunner::new()
        .run_with_values(
            &probes(
                "        - postgres:\n            url: \"postgres://mcp@127.0.0.1:15432/mcp\"\n            password_env: SW_TEST_PG_PASSWORD\n            tables: [no_such_table]\n          timeout: 5s\n          conditions: [\"[ROWS].no_such_table > 0\"]\n",
            )[0],
            None,
        )
        .await;
    assert_eq!(
        failing(&missing.outcome),
        [
            (
                "table no_such_table exists".to_string(),
                "missing".to_string()
            ),
            ("[ROWS].no_such_table > 0".to_string(), "null".to_string()),
        ]
    );
}

#[tokio::test]
async fn redis_gives_memory_keys_and_last_save() {
    let client = redis::Client::open("redis://127.0.0.1:16379/3").unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await.unwrap();
    for i in 0..7 {
        let _: () = redis::cmd("SET")
            .arg(format!("sw-typed-{i}"))
            .arg(i)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let _: () = redis::cmd("SAVE").query_async(&mut conn).await.unwrap();
    let seen = ProbeRunner::new()
        .run_with_values(
            &probes("        - redis: {url: \"redis://127.0.0.1:16379/3\"}\n          timeout: 5s\n          conditions: [\"[KEYS] == 7\", \"[USED_MEMORY] > 0\", \"[LAST_BGSAVE_STATUS] == ok\"]\n")[0],
            None,
        )
        .await;
    let _: () = redis::cmd("FLUSHDB").query_async(&mut conn).await.unwrap();
    assert!(seen.outcome.success, "{:#?}", seen.outcome);
    let Some(stackwarden_probes::ProbeValues::Redis(v)) = seen.values else {
        panic!("{:?}", seen.values)
    };
    assert_eq!(v.keys, Some(7));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let saved = v.last_save.unwrap();
    assert!(
        (now - 120..=now + 5).contains(&saved),
        "saved at {saved}, now {now}"
    );
}
