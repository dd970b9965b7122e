//! PostgreSQL and Redis probes, the checks the user's report ran by hand with
//! `psql -c '\dt'` and `redis-cli`: can we connect, do the required tables
//! and extensions exist, does Redis answer PING and persist its data.

use std::time::Instant;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row};
use stackwarden_health::ConditionResult;

use crate::check;
use crate::error::ProbeError;

/// What a database probe saw: its own checks, and the time to answer them.
pub(crate) struct DatabaseSeen {
    pub checks: Vec<ConditionResult>,
    pub elapsed_ms: f64,
}

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
    let mut checks = vec![check("PING answers PONG", pong == "PONG", pong.clone())];
    if require_persistence {
        let info: String = redis::cmd("INFO")
            .arg("persistence")
            .query_async(&mut conn)
            .await
            .map_err(|e| ProbeError::query("INFO", e))?;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .map(|v| v.trim().to_string())
        };
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
            checks.push(check("last RDB save succeeded", false, status));
        }
    }
    Ok(DatabaseSeen {
        checks,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}
