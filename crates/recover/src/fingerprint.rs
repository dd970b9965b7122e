//! The data as it is, where it can be read: row counts of the required
//! PostgreSQL tables and whether pgvector is installed, points per Qdrant
//! collection, Redis `DBSIZE` and last save, the size of each named volume,
//! size and line count of the telemetry files, and from the typed probes
//! what the AI services serve: the number of tools of each MCP server and
//! whether llama.cpp has its model loaded. Taken before a recovery and
//! after it, and compared: the evidence that no data was lost and the
//! services came back as they were.
//!
//! A value that cannot be read now (the database's container is gone) is
//! taken from the last fingerprint that read it, with that reading's time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row};
use stackwarden_engine::Engine;
use stackwarden_model::clock::now_ms;
use stackwarden_model::format::human_bytes;
use stackwarden_probes::{ProbeRunner, ProbeValues};
use stackwarden_stack::{Blueprints, MountSource, Probe, ProbeKind, Stack};

use crate::model::{CompareRule, ComparedItem, Fingerprint, FingerprintItem, Match};

/// How long one source may take to answer.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Takes the fingerprint of `stack`'s data. `password` reads a probe's
/// `password_env` variable.
pub async fn take(
    stack: &Stack,
    blueprints: &Blueprints,
    engine: Option<&Engine>,
    password: &(dyn Fn(&str) -> Option<String> + Sync),
    home: Option<&Path>,
) -> Fingerprint {
    let mut items = Vec::new();
    for svc in stack.services.iter().filter(|s| s.profile_active) {
        for probe in &svc.probes {
            match &probe.kind {
                ProbeKind::Postgres {
                    url,
                    password_env,
                    tables,
                    ..
                } if !tables.is_empty() => {
                    let pw = password_env.as_deref().and_then(password);
                    items.extend(postgres(&svc.name, url, pw, tables).await);
                }
                ProbeKind::Redis { url, .. } => items.extend(redis(&svc.name, url).await),
                ProbeKind::Qdrant { url, collections } => {
                    items.extend(qdrant(&svc.name, url, collections).await);
                }
                ProbeKind::Mcp { .. } | ProbeKind::Llama { .. } => {
                    items.push(served(&svc.name, probe).await);
                }
                _ => {}
            }
        }
    }
    if let Some(engine) = engine {
        items.extend(volumes(blueprints, engine).await);
    }
    items.extend(telemetry(stack, home));
    Fingerprint {
        taken_at_ms: now_ms(),
        items,
    }
}

fn item(
    key: String,
    label: String,
    value: Option<i64>,
    text: String,
    rule: CompareRule,
) -> FingerprintItem {
    FingerprintItem {
        key,
        label,
        value,
        text,
        rule,
        read_at_ms: now_ms(),
    }
}

fn unread(key: String, label: String, why: &str, rule: CompareRule) -> FingerprintItem {
    item(key, label, None, format!("not readable: {why}"), rule)
}

/// `"schema"."table"` with quotes doubled: a table name from the stack file
/// never becomes SQL.
fn quoted(table: &str) -> String {
    table
        .split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

async fn postgres(
    service: &str,
    url: &str,
    password: Option<String>,
    tables: &[String],
) -> Vec<FingerprintItem> {
    let key = |t: &str| format!("postgres:{service}:{t}");
    let label = |t: &str| format!("{t} rows");
    let connect = async {
        let mut options: PgConnectOptions = url.parse().map_err(|_| "invalid URL".to_string())?;
        if let Some(pw) = password {
            options = options.password(&pw);
        }
        PgConnection::connect_with(&options.disable_statement_logging())
            .await
            .map_err(|e| stackwarden_model::redact::text(&e.to_string()))
    };
    let mut conn = match tokio::time::timeout(READ_TIMEOUT, connect).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(why)) => {
            return tables
                .iter()
                .map(|t| unread(key(t), label(t), &why, CompareRule::Equal))
                .collect()
        }
        Err(_) => {
            return tables
                .iter()
                .map(|t| unread(key(t), label(t), "no answer in 5 s", CompareRule::Equal))
                .collect()
        }
    };
    let mut out = Vec::new();
    for t in tables {
        // The name is quoted (`quoted`): it cannot end the identifier.
        let sql = format!("SELECT count(*) FROM {}", quoted(t));
        let counted = tokio::time::timeout(
            READ_TIMEOUT,
            sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&mut conn),
        )
        .await;
        out.push(match counted {
            Ok(Ok(row)) => match row.try_get::<i64, _>(0) {
                Ok(n) => item(
                    key(t),
                    label(t),
                    Some(n),
                    group_digits(n),
                    CompareRule::Equal,
                ),
                Err(e) => unread(key(t), label(t), &e.to_string(), CompareRule::Equal),
            },
            Ok(Err(e)) => unread(
                key(t),
                label(t),
                &stackwarden_model::redact::text(&e.to_string()),
                CompareRule::Equal,
            ),
            Err(_) => unread(key(t), label(t), "no answer in 5 s", CompareRule::Equal),
        });
    }
    let pgvector = tokio::time::timeout(
        READ_TIMEOUT,
        sqlx::query_scalar::<_, String>(
            "SELECT extversion::text FROM pg_extension WHERE extname = 'vector'",
        )
        .fetch_optional(&mut conn),
    )
    .await;
    let (key, label) = (
        format!("postgres:{service}:pgvector"),
        format!("{service} pgvector"),
    );
    out.push(match pgvector {
        Ok(Ok(Some(version))) => item(
            key,
            label,
            Some(1),
            format!("version {}", stackwarden_model::redact::text(&version)),
            CompareRule::Equal,
        ),
        Ok(Ok(None)) => item(
            key,
            label,
            Some(0),
            "not installed".into(),
            CompareRule::Equal,
        ),
        Ok(Err(e)) => unread(
            key,
            label,
            &stackwarden_model::redact::text(&e.to_string()),
            CompareRule::Equal,
        ),
        Err(_) => unread(key, label, "no answer in 5 s", CompareRule::Equal),
    });
    let _ = conn.close().await;
    out
}

/// What an MCP server or a llama.cpp server serves, from its typed probe:
/// the number of tools (each tool is a thing the stack can do; fewer after
/// a recovery is something lost), or whether the model is loaded.
async fn served(service: &str, probe: &Probe) -> FingerprintItem {
    let (key, label) = match probe.kind {
        ProbeKind::Mcp { .. } => (
            format!("mcp:{service}:{}:tools", probe.name),
            format!("{service} MCP tools"),
        ),
        _ => (
            format!("llama:{service}:{}:model", probe.name),
            format!("{service} model loaded"),
        ),
    };
    let limit = READ_TIMEOUT.max(probe.timeout);
    let probed = tokio::time::timeout(limit, ProbeRunner::new().run_with_values(probe, None)).await;
    let Ok(probed) = probed else {
        return unread(key, label, "no answer in time", CompareRule::Equal);
    };
    match probed.values {
        Some(ProbeValues::Mcp(v)) => {
            let n = i64::try_from(v.tools.len()).unwrap_or(i64::MAX);
            let mut names = v
                .tools
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if v.tools.len() > 5 {
                names.push_str(", …");
            }
            let text = if names.is_empty() {
                "0 tools".to_string()
            } else {
                format!("{} tools: {names}", group_digits(n))
            };
            item(key, label, Some(n), text, CompareRule::Equal)
        }
        Some(ProbeValues::Llama(v)) => match v.model {
            Some(m) => item(key, label, Some(1), m.id, CompareRule::Equal),
            None => item(
                key,
                label,
                Some(0),
                "no model loaded".into(),
                CompareRule::Equal,
            ),
        },
        _ => {
            let why = probed
                .outcome
                .error
                .unwrap_or_else(|| "nothing read".to_string());
            unread(key, label, &why, CompareRule::Equal)
        }
    }
}

async fn redis(service: &str, url: &str) -> Vec<FingerprintItem> {
    // Keys without an expiry must all come back; the total moves as keys
    // expire, so it is shown only.
    let keys_key = format!("redis:{service}:persistent");
    let total_key = format!("redis:{service}:dbsize");
    let save_key = format!("redis:{service}:lastsave");
    let keys_label = format!("{service} keys without expiry");
    let total_label = format!("{service} keys (DBSIZE)");
    let save_label = format!("{service} last save");
    let read = async {
        let client = redis::Client::open(url).map_err(|_| "invalid URL".to_string())?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| stackwarden_model::redact::text(&e.to_string()))?;
        let size: i64 = redis::cmd("DBSIZE")
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        let keyspace: String = redis::cmd("INFO")
            .arg("keyspace")
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        let saved: i64 = redis::cmd("LASTSAVE")
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((size, persistent_keys(&keyspace), saved))
    };
    match tokio::time::timeout(READ_TIMEOUT, read).await {
        Ok(Ok((size, persistent, saved))) => vec![
            item(
                keys_key,
                keys_label,
                Some(persistent),
                group_digits(persistent),
                CompareRule::Equal,
            ),
            item(
                total_key,
                total_label,
                Some(size),
                group_digits(size),
                CompareRule::Shown,
            ),
            item(
                save_key,
                save_label,
                Some(saved),
                chrono_text(saved),
                CompareRule::Shown,
            ),
        ],
        Ok(Err(why)) => vec![
            unread(keys_key, keys_label, &why, CompareRule::Equal),
            unread(total_key, total_label, &why, CompareRule::Shown),
            unread(save_key, save_label, &why, CompareRule::Shown),
        ],
        Err(_) => vec![
            unread(keys_key, keys_label, "no answer in 5 s", CompareRule::Equal),
            unread(
                total_key,
                total_label,
                "no answer in 5 s",
                CompareRule::Shown,
            ),
            unread(save_key, save_label, "no answer in 5 s", CompareRule::Shown),
        ],
    }
}

/// Keys without an expiry over every database of `INFO keyspace`
/// (`db0:keys=12,expires=3,avg_ttl=0`).
fn persistent_keys(keyspace: &str) -> i64 {
    keyspace
        .lines()
        .filter(|l| l.starts_with("db"))
        .filter_map(|l| {
            let (_, fields) = l.split_once(':')?;
            let field = |name: &str| {
                fields
                    .split(',')
                    .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
                    .and_then(|v| v.trim().parse::<i64>().ok())
            };
            Some(field("keys")?.saturating_sub(field("expires").unwrap_or(0)))
        })
        .sum()
}

fn chrono_text(epoch_s: i64) -> String {
    let age_ms = now_ms().saturating_sub(epoch_s.saturating_mul(1000));
    format!(
        "{} ago",
        stackwarden_model::format::human_duration_ms(age_ms.max(0))
    )
}

async fn qdrant(service: &str, url: &str, collections: &[String]) -> Vec<FingerprintItem> {
    let base = url.trim_end_matches('/').to_string();
    let client = match reqwest::Client::builder().timeout(READ_TIMEOUT).build() {
        Ok(c) => c,
        Err(_) => return Vec::new(),
    };
    // `None`: GET; else POST with that JSON body.
    let call = |path: String, body: Option<&'static str>| {
        let request = match body {
            None => client.get(path),
            Some(b) => client
                .post(path)
                .header("content-type", "application/json")
                .body(b),
        };
        async move {
            let response = request
                .send()
                .await
                .map_err(|e| stackwarden_model::redact::text(&e.to_string()))?;
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            serde_json::from_slice::<serde_json::Value>(&body).map_err(|e| e.to_string())
        }
    };
    let get = |path: String| call(path, None);
    let names: Vec<String> = if collections.is_empty() {
        match get(format!("{base}/collections")).await {
            Ok(v) => v["result"]["collections"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["name"].as_str().map(ToString::to_string))
                .collect(),
            Err(why) => {
                return vec![unread(
                    format!("qdrant:{service}"),
                    format!("{service} collections"),
                    &why,
                    CompareRule::Equal,
                )]
            }
        }
    } else {
        collections.to_vec()
    };
    let mut out = Vec::new();
    for name in names {
        let key = format!("qdrant:{service}:{name}");
        let label = format!("{name} points");
        // The exact count: a collection's `points_count` is an estimate.
        let path = format!("{base}/collections/{}/points/count", percent(&name));
        out.push(match call(path, Some(r#"{"exact":true}"#)).await {
            Ok(v) => match v["result"]["count"].as_i64() {
                Some(n) => item(key, label, Some(n), group_digits(n), CompareRule::Equal),
                None => unread(key, label, "no count in the answer", CompareRule::Equal),
            },
            Err(why) => unread(key, label, &why, CompareRule::Equal),
        });
    }
    out
}

/// A collection name as one URL path segment.
fn percent(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn volumes(blueprints: &Blueprints, engine: &Engine) -> Vec<FingerprintItem> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for blueprint in blueprints.services.values() {
        for mount in &blueprint.volumes {
            let MountSource::Volume { candidates, .. } = &mount.source else {
                continue;
            };
            for name in candidates {
                if seen.contains(name) {
                    break;
                }
                let Ok(Some(volume)) = engine.volume(name).await else {
                    continue;
                };
                seen.push(name.clone());
                let path = PathBuf::from(&volume.mountpoint);
                let size = tokio::task::spawn_blocking(move || folder_size(&path))
                    .await
                    .ok()
                    .flatten();
                let key = format!("volume:{name}");
                let label = format!("volume {name} size");
                out.push(match size {
                    Some(bytes) => item(
                        key,
                        label,
                        i64::try_from(bytes).ok(),
                        human_bytes(bytes),
                        CompareRule::Shown,
                    ),
                    None => unread(
                        key,
                        label,
                        "its folder is not readable here",
                        CompareRule::Shown,
                    ),
                });
                break;
            }
        }
    }
    out
}

/// Bytes of the files under `dir`; `None` when it cannot be read.
fn folder_size(dir: &Path) -> Option<u64> {
    let mut total = 0u64;
    let mut stack = vec![dir.to_path_buf()];
    let mut first = true;
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(_) if first => return None,
            Err(_) => continue,
        };
        first = false;
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() {
                total = total.saturating_add(meta.len());
            }
        }
    }
    Some(total)
}

fn telemetry(stack: &Stack, home: Option<&Path>) -> Vec<FingerprintItem> {
    let spec = &stack.verify.telemetry;
    let dir = stackwarden_verify::expand_home(&spec.dir, home);
    let mut out = Vec::new();
    for name in &spec.files {
        let path = dir.join(name);
        let key = format!("telemetry:{name}");
        let label = format!("{name} lines");
        out.push(match count_lines(&path) {
            Ok((lines, bytes)) => item(
                key,
                label,
                i64::try_from(lines).ok(),
                format!(
                    "{} lines, {}",
                    group_digits(i64::try_from(lines).unwrap_or(i64::MAX)),
                    human_bytes(bytes)
                ),
                CompareRule::NotLess,
            ),
            Err(e) => unread(key, label, &e.to_string(), CompareRule::NotLess),
        });
    }
    out
}

fn count_lines(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok((lines, bytes))
}

/// `12345` as `12,345`.
pub fn group_digits(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// The volumes a fingerprint saw (their engine names).
pub fn volumes_seen(fingerprints: &[Fingerprint]) -> std::collections::BTreeSet<String> {
    fingerprints
        .iter()
        .flat_map(|f| &f.items)
        .filter_map(|i| i.key.strip_prefix("volume:").map(ToString::to_string))
        .collect()
}

/// Items of `now` that could not be read take `earlier`'s reading of the
/// same key, if it had one (with its own time). A source read as a whole
/// (Qdrant's collections, listed only when it answers) takes the readings
/// of its parts (`qdrant:svc:<collection>`).
pub fn fill_from(now: &mut Fingerprint, earlier: &Fingerprint) {
    let mut parts: Vec<FingerprintItem> = Vec::new();
    for item in now.items.iter_mut().filter(|i| i.value.is_none()) {
        if let Some(old) = earlier
            .items
            .iter()
            .find(|o| o.key == item.key && o.value.is_some())
        {
            *item = old.clone();
            continue;
        }
        let prefix = format!("{}:", item.key);
        parts.extend(
            earlier
                .items
                .iter()
                .filter(|o| o.key.starts_with(&prefix) && o.value.is_some())
                .cloned(),
        );
    }
    for part in parts {
        if !now.items.iter().any(|i| i.key == part.key) {
            now.items.push(part);
        }
    }
}

/// How old a reading may be and still stand for "before" exactly: older
/// ones (taken by an earlier verification, when the database could not be
/// read now) may have been outgrown by writes since.
const FRESH_MS: i64 = 60_000;

/// Each item of `before` beside the same item `after`. A value that must
/// stay equal but was read a while before the recovery may have grown
/// since: more is "changed", less is data lost.
pub fn compare(before: &Fingerprint, after: &Fingerprint) -> Vec<ComparedItem> {
    let mut out = Vec::new();
    for b in &before.items {
        let a = after.items.iter().find(|a| a.key == b.key);
        let stale = b.read_at_ms < before.taken_at_ms - FRESH_MS;
        let verdict = match (b.value, a.and_then(|a| a.value)) {
            (None, _) => Match::Unknown,
            (Some(_), None) => match b.rule {
                CompareRule::Shown => Match::Changed,
                _ => Match::Differs,
            },
            (Some(x), Some(y)) if x == y => Match::Same,
            (Some(x), Some(y)) => match b.rule {
                CompareRule::Equal if stale && y > x => Match::Changed,
                CompareRule::Equal => Match::Differs,
                CompareRule::NotLess if y < x => Match::Differs,
                CompareRule::NotLess | CompareRule::Shown => Match::Changed,
            },
        };
        let shown = |i: &FingerprintItem| {
            if i.value.is_some() {
                i.text.clone()
            } else {
                "not readable".to_string()
            }
        };
        out.push(ComparedItem {
            key: b.key.clone(),
            label: b.label.clone(),
            before: shown(b),
            after: a.map_or_else(|| "not read".to_string(), shown),
            verdict,
        });
    }
    // What only the recovery made readable (a volume it created).
    for a in &after.items {
        if a.value.is_some() && !before.items.iter().any(|b| b.key == a.key) {
            out.push(ComparedItem {
                key: a.key.clone(),
                label: a.label.clone(),
                before: "none".to_string(),
                after: a.text.clone(),
                verdict: Match::Unknown,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(items: &[(&str, Option<i64>, CompareRule)]) -> Fingerprint {
        Fingerprint {
            taken_at_ms: 1,
            items: items
                .iter()
                .map(|(k, v, rule)| FingerprintItem {
                    key: (*k).into(),
                    label: (*k).into(),
                    value: *v,
                    text: v.map(group_digits).unwrap_or_default(),
                    rule: *rule,
                    read_at_ms: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn equal_values_must_match_and_logs_may_only_grow() {
        use CompareRule::*;
        let before = fp(&[
            ("rows", Some(12_345), Equal),
            ("lost", Some(3), Equal),
            ("lines", Some(10), NotLess),
            ("shrunk", Some(10), NotLess),
            ("size", Some(100), Shown),
            ("unknown", None, Equal),
        ]);
        let after = fp(&[
            ("rows", Some(12_345), Equal),
            ("lost", Some(2), Equal),
            ("lines", Some(12), NotLess),
            ("shrunk", Some(9), NotLess),
            ("size", Some(140), Shown),
        ]);
        let verdicts: Vec<Match> = compare(&before, &after).iter().map(|c| c.verdict).collect();
        // An hour-old reading: more rows now is writes since, fewer is loss.
        let mut old = fp(&[("rows", Some(100), Equal), ("gone", Some(100), Equal)]);
        old.taken_at_ms = 10_000_000;
        let later = fp(&[("rows", Some(120), Equal), ("gone", Some(90), Equal)]);
        let v: Vec<Match> = compare(&old, &later).iter().map(|c| c.verdict).collect();
        assert_eq!(v, vec![Match::Changed, Match::Differs]);
        assert_eq!(
            verdicts,
            vec![
                Match::Same,
                Match::Differs,
                Match::Changed,
                Match::Differs,
                Match::Changed,
                Match::Unknown
            ]
        );
        assert_eq!(compare(&before, &after)[0].before, "12,345");
        // Read only after: listed, nothing to compare it with.
        let new = fp(&[("made", Some(1), Shown)]);
        let listed = compare(&fp(&[]), &new);
        assert_eq!(
            (listed[0].before.as_str(), listed[0].verdict),
            ("none", Match::Unknown)
        );
    }

    #[test]
    fn an_unreadable_value_takes_the_last_reading() {
        use CompareRule::*;
        let mut now = fp(&[("rows", None, Equal)]);
        let earlier = fp(&[("rows", Some(7), Equal), ("dropped", Some(2), Equal)]);
        fill_from(&mut now, &earlier);
        assert_eq!(now.items[0].value, Some(7));
        // A table no longer required is not brought back from old readings.
        assert_eq!(now.items.len(), 1);
        // A Qdrant that did not answer takes its collections' readings.
        let mut now = fp(&[("qdrant:q", None, Equal)]);
        let earlier = fp(&[
            ("qdrant:q:docs", Some(9), Equal),
            ("qdrant:other:x", Some(1), Equal),
        ]);
        fill_from(&mut now, &earlier);
        let keys: Vec<&str> = now.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, vec!["qdrant:q", "qdrant:q:docs"]);
    }

    #[test]
    fn keys_without_expiry_are_counted_over_every_database() {
        let info =
            "# Keyspace\r\ndb0:keys=12,expires=3,avg_ttl=0\r\ndb2:keys=5,expires=0,avg_ttl=0\r\n";
        assert_eq!(persistent_keys(info), 14);
        assert_eq!(persistent_keys("# Keyspace\r\n"), 0);
        assert_eq!(persistent_keys("db0:garbage"), 0);
    }

    #[test]
    fn table_names_are_quoted_not_spliced() {
        assert_eq!(quoted("public.docs"), "\"public\".\"docs\"");
        assert_eq!(
            quoted("x\"; DROP TABLE y; --"),
            "\"x\"\"; DROP TABLE y; --\""
        );
        assert_eq!(percent("a b/c"), "a%20b%2Fc");
        assert_eq!(group_digits(-1_234_567), "-1,234,567");
        assert_eq!(group_digits(999), "999");
    }
}
