//! PostgreSQL and Redis probes, the checks the user's report ran by hand with
//! `psql -c '\dt'` and `redis-cli`: can we connect, do the required tables
//! and extensions exist, does Redis answer PING and persist its data. They
//! also read what the data looks like, cheaply: row estimates of the
//! required tables and pgvector's version from the catalog (no `count(*)`
//! scan), Redis' memory, keys and last save from `INFO` and `DBSIZE`.

use std::time::Instant;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row};
use stackwarden_health::ConditionResult;

use crate::check;
use crate::error::ProbeError;
use crate::values::{bounded, PostgresValues, ProbeValues, RedisValues};

/// What a database probe saw: its own checks, what it read, and the time to
/// answer them.
pub(crate) struct DatabaseSeen {
    pub checks: Vec<ConditionResult>,
    pub values: ProbeValues,
    pub elapsed_ms: f64,
}

/// A table's estimated rows: the planner's `reltuples` (kept across
/// restarts, -1 before the first ANALYZE) or the statistics' `n_live_tup`
/// (current, but reset by a crash), whichever is higher. `NULL` when the
/// table does not exist or neither is known. The name is a bind parameter.
const ROW_ESTIMATE: &str = "SELECT GREATEST(c.reltuples::bigint, s.n_live_tup, -1) \
     FROM pg_class c LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid \
     WHERE c.oid = to_regclass($1)";

/// Connects to PostgreSQL and checks the required tables (any schema on the
/// search path) and extensions.
pub(crate) async fn postgres(
    url: &str,
    password: Option<String>,
    tables: &[String],
    extensions: &[String],
) -> Result<DatabaseSeen, ProbeError> {
    let started = Instant::now();
    let mut options: PgConnectOptions = url
        .parse()
        .map_err(|e| ProbeError::invalid_url("PostgreSQL URL", url, e))?;
    if let Some(password) = password {
        options = options.password(&password);
    }
    let options = options.disable_statement_logging();
    let mut conn = PgConnection::connect_with(&options)
        .await
        .map_err(|e| ProbeError::connect("PostgreSQL", e))?;
    let present = names(
        &mut conn,
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = ANY (current_schemas(false))",
        "tables",
    )
    .await?;
    let installed = names(
        &mut conn,
        "SELECT extname::text FROM pg_extension",
        "extensions",
    )
    .await?;
    let mut values = PostgresValues::default();
    for t in tables {
        let estimate: Option<i64> = match sqlx::query_scalar::<_, Option<i64>>(ROW_ESTIMATE)
            .bind(t)
            .fetch_optional(&mut conn)
            .await
        {
            Ok(found) => found.flatten().filter(|n| *n >= 0),
            // A name `to_regclass` cannot read is a missing table.
            Err(_) => None,
        };
        values.rows.insert(t.clone(), estimate);
    }
    values.pgvector = sqlx::query_scalar::<_, String>(
        "SELECT extversion::text FROM pg_extension WHERE extname = 'vector'",
    )
    .fetch_optional(&mut conn)
    .await
    .map_err(|e| ProbeError::query("reading the pgvector version", e))?
    .map(|v| bounded(&v));
    let _ = conn.close().await;
    let mut checks = vec![check("connect", true, "connected")];
    for t in tables {
        let found = present.contains(t);
        checks.push(check(
            format!("table {t} exists"),
            found,
            if found { "present" } else { "missing" },
        ));
    }
    for e in extensions {
        let found = installed.contains(e);
        checks.push(check(
            format!("extension {e} installed"),
            found,
            if found { "installed" } else { "not installed" },
        ));
    }
    Ok(DatabaseSeen {
        checks,
        values: ProbeValues::Postgres(values),
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// The first column of every row of `sql`, as text.
async fn names(
    conn: &mut PgConnection,
    sql: &'static str,
    what: &str,
) -> Result<Vec<String>, ProbeError> {
    Ok(sqlx::query(sql)
        .fetch_all(conn)
        .await
        .map_err(|e| ProbeError::query(format!("listing {what}"), e))?
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .collect())
}

/// PING, and with `require_persistence` the persistence settings from INFO
/// (RDB snapshots or the append-only file must be on).
pub(crate) async fn redis(
    url: &str,
    require_persistence: bool,
) -> Result<DatabaseSeen, ProbeError> {
    let started = Instant::now();
    let client =
        redis::Client::open(url).map_err(|e| ProbeError::invalid_url("Redis URL", url, e))?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| ProbeError::connect("Redis", e))?;
    let pong: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|e| ProbeError::query("PING", e))?;
    let mut checks = vec![check("PING answers PONG", pong == "PONG", bounded(&pong))];
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query_async(&mut conn)
        .await
        .map_err(|e| ProbeError::query("INFO", e))?;
    // Memory is read apart: `INFO persistence memory` needs Redis 7.
    let memory: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await
        .map_err(|e| ProbeError::query("INFO", e))?;
    let keys: Option<u64> = redis::cmd("DBSIZE").query_async(&mut conn).await.ok();
    let field = |name: &str| info_field(&info, name);
    let values = RedisValues {
        used_memory: info_field(&memory, "used_memory").and_then(|v| v.parse().ok()),
        keys,
        last_save: field("rdb_last_save_time").and_then(|v| v.parse().ok()),
        last_bgsave_status: field("rdb_last_bgsave_status").map(|v| bounded(&v)),
    };
    if require_persistence {
        let aof = field("aof_enabled").as_deref() == Some("1");
        let config: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg("save")
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        let save = config.get(1).cloned().unwrap_or_default();
        let rdb = !save.trim().is_empty();
        let observed = format!(
            "appendonly {}, save \"{}\"",
            if aof { "yes" } else { "no" },
            save.trim()
        );
        checks.push(check(
            "data persists (AOF or RDB snapshots)",
            aof || rdb,
            observed,
        ));
        if let Some(status) = field("rdb_last_bgsave_status").filter(|s| s != "ok") {
            checks.push(check("last RDB save succeeded", false, bounded(&status)));
        }
    }
    Ok(DatabaseSeen {
        checks,
        values: ProbeValues::Redis(values),
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// `name:value` of an `INFO` answer, trimmed.
pub(crate) fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn info_fields_by_exact_name() {
        let info = "# Persistence\r\nrdb_last_save_time:1700000000\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\n";
        assert_eq!(
            info_field(info, "rdb_last_save_time").as_deref(),
            Some("1700000000")
        );
        assert_eq!(
            info_field(info, "rdb_last_bgsave_status").as_deref(),
            Some("ok")
        );
        assert_eq!(info_field(info, "rdb_last_bgsave"), None);
        assert_eq!(info_field(info, "used_memory"), None);
    }

    proptest! {
        #[test]
        fn any_info_text_reads_without_panic(text in "\\PC{0,300}", name in "[a-z_]{1,12}") {
            let _ = info_field(&text, &name);
        }
    }
}
