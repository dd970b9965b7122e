//! The telemetry follower's records: where reading stopped in each file and
//! the per-minute aggregates it read, written together in one transaction
//! so a restart never counts a line twice; the newest bad lines of each
//! file as examples. Everything is keyed by the file's path (two stacks
//! may both name an `events.jsonl`), and shown by its name.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;
use serde::Serialize;
use sqlx::Row;
use stackwarden_telemetry::{
    fold_of, place_new_key, BadLine, Batch, Cursor, Histogram, MinuteKey, MinuteStats, Placed,
    LATEST_AHEAD_MS, OTHER,
};

use crate::{Store, StoreError};

/// Bad lines kept per file as examples.
pub const KEEP_BAD_LINES: i64 = 20;

/// One followed file as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TelemetryFile {
    /// Its name in the stack file.
    pub name: String,
    pub path: String,
    pub events_total: u64,
    pub malformed_total: u64,
    /// When it was last read with something new.
    pub updated_ms: i64,
    /// The newest bad lines, newest first.
    pub bad_lines: Vec<BadLine>,
}

/// One stored minute of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMinute {
    /// The file's path.
    pub path: String,
    pub key: MinuteKey,
    pub stats: MinuteStats,
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Store {
    /// Where reading the file at `path` stopped, if it was ever read.
    pub async fn telemetry_cursor(&self, path: &str) -> Result<Option<Cursor>, StoreError> {
        let row = sqlx::query(
            "SELECT dev, ino, byte_offset, line_no, skipping FROM telemetry_files WHERE file = ?",
        )
        .bind(path)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Cursor {
            dev: to_u64(r.get(0)),
            ino: to_u64(r.get(1)),
            offset: to_u64(r.get(2)),
            line_no: to_u64(r.get(3)),
            skipping: r.get::<i64, _>(4) != 0,
        }))
    }

    /// Adds what one or more polls of the file at `path` (`name` in the
    /// stack file) read, and moves its cursor, in one transaction. A minute
    /// is bounded across batches as within one
    /// ([`stackwarden_telemetry::place_new_key`]).
    pub async fn record_telemetry(
        &self,
        path: &str,
        name: &str,
        cursor: &Cursor,
        batch: &Batch,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let file = path;
        let mut tx = self.pool.begin().await?;
        // Pairs first, then folds, then the fold of everything, as the batch
        // placed them: the same keys end in the same rows in any order.
        let mut keys: Vec<(&MinuteKey, &MinuteStats)> = batch.minutes.iter().collect();
        keys.sort_by_key(|(k, _)| (k.event == OTHER, k.service == OTHER, k.minute_ms));
        for (key, stats) in keys {
            let find = |key: &MinuteKey| {
                sqlx::query(
                    "SELECT count, errors, latency FROM telemetry_minutes WHERE file = ? AND minute_ms = ? AND service = ? AND event = ?",
                )
                .bind(file)
                .bind(key.minute_ms)
                .bind(key.service.clone())
                .bind(key.event.clone())
            };
            let mut key = key.clone();
            let mut existing = find(&key).fetch_optional(&mut *tx).await?;
            if existing.is_none() {
                let (pairs, folded): (Option<i64>, Option<i64>) = sqlx::query_as(
                    "SELECT SUM(event <> ?), SUM(event = ? AND service <> ?) FROM telemetry_minutes WHERE file = ? AND minute_ms = ?",
                )
                .bind(OTHER)
                .bind(OTHER)
                .bind(OTHER)
                .bind(file)
                .bind(key.minute_ms)
                .fetch_one(&mut *tx)
                .await?;
                let count = |n: Option<i64>| usize::try_from(n.unwrap_or(0)).unwrap_or(usize::MAX);
                let fold_row = find(&fold_of(&key)).fetch_optional(&mut *tx).await?;
                let fold_exists = fold_row.is_some();
                let (placed, how) = place_new_key(key, count(pairs), count(folded), fold_exists);
                key = placed;
                existing = match how {
                    Placed::Pair | Placed::Fold => None,
                    Placed::Existing => fold_row,
                    Placed::Overflow => find(&key).fetch_optional(&mut *tx).await?,
                };
            }
            let mut merged = stats.clone();
            if let Some(r) = existing {
                merged.merge(&MinuteStats {
                    count: to_u64(r.get(0)),
                    errors: to_u64(r.get(1)),
                    latency: Histogram::decode(r.get::<&str, _>(2)),
                });
            }
            sqlx::query(
                "INSERT OR REPLACE INTO telemetry_minutes (file, minute_ms, service, event, count, errors, latency) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(file)
            .bind(key.minute_ms)
            .bind(&key.service)
            .bind(&key.event)
            .bind(to_i64(merged.count))
            .bind(to_i64(merged.errors))
            .bind(merged.latency.encode())
            .execute(&mut *tx)
            .await?;
        }
        for bad in &batch.examples {
            sqlx::query(
                "INSERT INTO telemetry_bad_lines (file, line_no, reason, excerpt, seen_ms) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(file)
            .bind(to_i64(bad.line_no))
            .bind(&bad.reason)
            .bind(&bad.excerpt)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        if !batch.examples.is_empty() {
            sqlx::query(
                "DELETE FROM telemetry_bad_lines WHERE file = ? AND id NOT IN (SELECT id FROM telemetry_bad_lines WHERE file = ? ORDER BY id DESC LIMIT ?)",
            )
            .bind(file)
            .bind(file)
            .bind(KEEP_BAD_LINES)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO telemetry_files (file, name, dev, ino, byte_offset, line_no, skipping, events_total, malformed_total, updated_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (file) DO UPDATE SET name = excluded.name, dev = excluded.dev, ino = excluded.ino,
                 byte_offset = excluded.byte_offset, line_no = excluded.line_no, skipping = excluded.skipping,
                 events_total = events_total + excluded.events_total,
                 malformed_total = malformed_total + excluded.malformed_total,
                 updated_ms = CASE WHEN excluded.events_total + excluded.malformed_total > 0
                                   THEN excluded.updated_ms ELSE updated_ms END",
        )
        .bind(file)
        .bind(name)
        .bind(to_i64(cursor.dev))
        .bind(to_i64(cursor.ino))
        .bind(to_i64(cursor.offset))
        .bind(to_i64(cursor.line_no))
        .bind(i64::from(cursor.skipping))
        .bind(to_i64(batch.events))
        .bind(to_i64(batch.malformed))
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Hands every minute from `since_ms` to `now_ms` (and its
    /// [`LATEST_AHEAD_MS`]) to `each`, oldest first, one row at a time: a
    /// long span is summed without holding its rows.
    pub async fn each_telemetry_minute(
        &self,
        since_ms: i64,
        now_ms: i64,
        mut each: impl FnMut(StoredMinute),
    ) -> Result<(), StoreError> {
        let mut rows = sqlx::query(
            "SELECT file, minute_ms, service, event, count, errors, latency FROM telemetry_minutes WHERE minute_ms >= ? AND minute_ms <= ? ORDER BY minute_ms, file, service, event",
        )
        .bind(since_ms.div_euclid(60_000) * 60_000)
        .bind(now_ms.saturating_add(LATEST_AHEAD_MS))
        .fetch(&self.pool);
        while let Some(r) = rows.try_next().await? {
            each(StoredMinute {
                path: r.get(0),
                key: MinuteKey {
                    minute_ms: r.get(1),
                    service: r.get(2),
                    event: r.get(3),
                },
                stats: MinuteStats {
                    count: to_u64(r.get(4)),
                    errors: to_u64(r.get(5)),
                    latency: Histogram::decode(r.get::<&str, _>(6)),
                },
            });
        }
        Ok(())
    }

    /// The `limit` busiest service/event pairs from `since_ms` to `now_ms`,
    /// busiest first, summed in SQL so a long span holds no more than them.
    pub async fn telemetry_top_keys(
        &self,
        since_ms: i64,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT service, event, SUM(count) AS n FROM telemetry_minutes WHERE minute_ms >= ? AND minute_ms <= ?
             GROUP BY service, event ORDER BY n DESC, service, event LIMIT ?",
        )
        .bind(since_ms.div_euclid(60_000) * 60_000)
        .bind(now_ms.saturating_add(LATEST_AHEAD_MS))
        .bind(to_i64(limit as u64))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The files ever followed, with totals and their newest bad lines.
    pub async fn telemetry_files(&self) -> Result<Vec<TelemetryFile>, StoreError> {
        let rows = sqlx::query(
            "SELECT file, name, events_total, malformed_total, updated_ms FROM telemetry_files ORDER BY name, file",
        )
        .fetch_all(&self.pool)
        .await?;
        let bad = sqlx::query(
            "SELECT file, line_no, reason, excerpt FROM telemetry_bad_lines ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut bad_by_file: BTreeMap<String, Vec<BadLine>> = BTreeMap::new();
        for r in bad {
            bad_by_file.entry(r.get(0)).or_default().push(BadLine {
                line_no: to_u64(r.get(1)),
                reason: r.get(2),
                excerpt: r.get(3),
            });
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let path: String = r.get(0);
                TelemetryFile {
                    bad_lines: bad_by_file.remove(&path).unwrap_or_default(),
                    name: r.get(1),
                    path,
                    events_total: to_u64(r.get(2)),
                    malformed_total: to_u64(r.get(3)),
                    updated_ms: r.get(4),
                }
            })
            .collect())
    }

    /// Deletes minutes and bad lines older than `before_ms`.
    pub(crate) async fn prune_telemetry(&self, before_ms: i64) -> Result<u64, StoreError> {
        let minutes = sqlx::query("DELETE FROM telemetry_minutes WHERE minute_ms < ?")
            .bind(before_ms)
            .execute(&self.pool)
            .await?
            .rows_affected();
        let bad = sqlx::query("DELETE FROM telemetry_bad_lines WHERE seen_ms < ?")
            .bind(before_ms)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(minutes + bad)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use stackwarden_telemetry::{Event, Malformed, Sink, MAX_FOLDED_SERVICES, MAX_KEYS_PER_MINUTE};

    use super::*;
    use crate::Retention;

    async fn store(dir: &std::path::Path) -> Store {
        Store::open(
            dir,
            Retention {
                max_age: Duration::from_secs(3600),
                max_per_container: 100,
            },
        )
        .await
        .unwrap()
    }

    fn event(at_ms: i64, failed: bool) -> Event {
        Event {
            at_ms,
            event: Some("call".into()),
            service: Some("aidb".into()),
            latency_ms: Some(10.0),
            failed,
        }
    }

    async fn minutes(s: &Store, since_ms: i64, now_ms: i64) -> Vec<StoredMinute> {
        let mut out = Vec::new();
        s.each_telemetry_minute(since_ms, now_ms, |m| out.push(m))
            .await
            .unwrap();
        out
    }

    const CURSOR: Cursor = Cursor {
        dev: 1,
        ino: 2,
        offset: 100,
        line_no: 4,
        skipping: false,
    };

    #[tokio::test]
    async fn batches_add_up_with_the_cursor_and_retention_drops_old_minutes() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path()).await;
        let now = 10 * 3600 * 1000;
        let mut first = Batch::default();
        first.event(1, event(now - 120_000, false));
        first.event(2, event(now - 110_000, true));
        first.event(3, event(now - 3 * 3600 * 1000, false));
        first.malformed(4, Malformed::NotObject, b"[1]");
        s.record_telemetry("/d/a.jsonl", "a.jsonl", &CURSOR, &first, now)
            .await
            .unwrap();
        let mut second = Batch::default();
        second.event(5, event(now - 100_000, false));
        let later = Cursor {
            offset: 130,
            line_no: 5,
            ..CURSOR
        };
        s.record_telemetry("/d/a.jsonl", "a.jsonl", &later, &second, now)
            .await
            .unwrap();
        assert_eq!(s.telemetry_cursor("/d/a.jsonl").await.unwrap(), Some(later));
        // Another folder's file of the same name has its own cursor.
        assert_eq!(s.telemetry_cursor("/e/a.jsonl").await.unwrap(), None);
        let found = minutes(&s, now - 3600 * 1000, now).await;
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].stats.count, found[0].stats.errors), (3, 1));
        assert_eq!(found[0].stats.latency.count(), 3);
        let files = s.telemetry_files().await.unwrap();
        assert_eq!(
            (files[0].name.as_str(), files[0].path.as_str()),
            ("a.jsonl", "/d/a.jsonl")
        );
        assert_eq!((files[0].events_total, files[0].malformed_total), (4, 1));
        assert_eq!(files[0].bad_lines[0].line_no, 4);
        s.prune(now).await.unwrap();
        assert_eq!(minutes(&s, 0, now).await.len(), 1);
    }

    #[tokio::test]
    async fn a_minute_keeps_a_bounded_number_of_names_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path()).await;
        let now = 10 * 3600 * 1000;
        let minute = now - 120_000;
        for round in 0..3 {
            let mut batch = Batch::default();
            for i in 0..MAX_KEYS_PER_MINUTE {
                let mut e = event(minute, false);
                e.event = Some(format!("call-{round}-{i}"));
                batch.event(1, e);
            }
            s.record_telemetry("/d/a.jsonl", "a.jsonl", &CURSOR, &batch, now)
                .await
                .unwrap();
        }
        let found = minutes(&s, 0, now).await;
        assert_eq!(found.len(), MAX_KEYS_PER_MINUTE + 1);
        assert_eq!(
            found.iter().map(|m| m.stats.count).sum::<u64>(),
            3 * MAX_KEYS_PER_MINUTE as u64
        );
        let other = found.iter().find(|m| m.key.event == OTHER).unwrap();
        assert_eq!(
            other.key.service, "aidb",
            "the service is kept for its alerts"
        );
        assert_eq!(other.stats.count, 2 * MAX_KEYS_PER_MINUTE as u64);
        // A writer naming its events "(other)" under ever new services.
        let mut batch = Batch::default();
        for i in 0..100 {
            let mut e = event(minute, false);
            e.service = Some(format!("svc-{i}"));
            e.event = Some(OTHER.to_string());
            batch.event(1, e);
        }
        s.record_telemetry("/d/a.jsonl", "a.jsonl", &CURSOR, &batch, now)
            .await
            .unwrap();
        let found = minutes(&s, 0, now).await;
        assert_eq!(found.len(), MAX_KEYS_PER_MINUTE + MAX_FOLDED_SERVICES + 1);
        assert_eq!(
            found.iter().map(|m| m.stats.count).sum::<u64>(),
            3 * MAX_KEYS_PER_MINUTE as u64 + 100
        );
    }
}
