//! Actions taken on the stack (restart, start, stop, verify, ...) with
//! who took them and how they went. One taken while an incident is open is
//! recorded on the incident that affects its service (one on the whole
//! stack on the newest open incident), so the incident lists what was done
//! about it. Those on no incident go after the transitions' 31 days.

use sqlx::Row;

use crate::{Store, StoreError};

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionSource {
    /// A person, from the window or the tray.
    Window,
    /// A person, from the command line.
    Cli,
    /// The engine, by itself (a restart policy, or someone outside
    /// Stackwarden).
    Engine,
    Healer,
    Wizard,
}

impl ActionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Window => "window",
            Self::Cli => "cli",
            Self::Engine => "engine",
            Self::Healer => "healer",
            Self::Wizard => "wizard",
        }
    }
}

/// One action and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRecord {
    pub at_ms: i64,
    /// An `ActionSource` as text.
    pub source: String,
    /// `restart`, `start`, `stop`, `verify`, `restarted`, ...
    pub action: String,
    /// The stack service (or container) acted on; `None` for the stack.
    pub service: Option<String>,
    pub ok: bool,
    /// What came of it, one line.
    pub result: String,
}

/// An action as stored: with its id and the incident it was taken during.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAction {
    pub id: i64,
    pub incident_id: Option<i64>,
    pub action: ActionRecord,
}

const SINCE: &str = "SELECT id, incident_id, at_ms, source, action, service, ok, result FROM actions WHERE at_ms >= ? ORDER BY at_ms, id";
const OF_INCIDENT: &str = "SELECT id, incident_id, at_ms, source, action, service, ok, result FROM actions WHERE incident_id = ? ORDER BY at_ms, id";

fn read(row: &sqlx::sqlite::SqliteRow) -> Result<StoredAction, sqlx::Error> {
    Ok(StoredAction {
        id: row.try_get(0)?,
        incident_id: row.try_get(1)?,
        action: ActionRecord {
            at_ms: row.try_get(2)?,
            source: row.try_get(3)?,
            action: row.try_get(4)?,
            service: row.try_get(5)?,
            ok: row.try_get::<i64, _>(6)? != 0,
            result: row.try_get(7)?,
        },
    })
}

impl Store {
    /// Records `action`, on the open incident it concerns if there is one;
    /// returns what was stored.
    pub async fn record_action(&self, action: &ActionRecord) -> Result<StoredAction, StoreError> {
        let open = self.open_incidents().await?;
        // A service's action belongs to the incident that affects it; one on
        // the whole stack (a verification) to the newest open one.
        let incident_id = match action.service.as_deref() {
            Some(service) => open
                .iter()
                .rev()
                .find(|i| i.incident.affected.iter().any(|a| a.service == service)),
            None => open.last(),
        }
        .map(|i| i.id);
        let done = sqlx::query(
            "INSERT INTO actions (at_ms, source, action, service, ok, result, incident_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(action.at_ms)
        .bind(&action.source)
        .bind(&action.action)
        .bind(&action.service)
        .bind(i64::from(action.ok))
        .bind(&action.result)
        .bind(incident_id)
        .execute(&self.pool)
        .await?;
        Ok(StoredAction {
            id: done.last_insert_rowid(),
            incident_id,
            action: action.clone(),
        })
    }

    /// Actions taken at or after `since_ms`, oldest first.
    pub async fn actions_since(&self, since_ms: i64) -> Result<Vec<StoredAction>, StoreError> {
        let rows = sqlx::query(SINCE)
            .bind(since_ms)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
    }

    /// The healer's quarantine of `service` that nobody has released since,
    /// within the last `within_ms`: the reason it was quarantined. The
    /// healer may be another process, and a release may come from the
    /// window or the command line.
    pub async fn unreleased_quarantine(
        &self,
        service: &str,
        now_ms: i64,
        within_ms: i64,
    ) -> Result<Option<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT source, action, result FROM actions WHERE service = ? AND at_ms >= ? AND action IN ('quarantined', 'released') ORDER BY at_ms, id",
        )
        .bind(service)
        .bind(now_ms.saturating_sub(within_ms))
        .fetch_all(&self.pool)
        .await?;
        let mut held = None;
        for row in &rows {
            let source: String = row.try_get(0)?;
            let action: String = row.try_get(1)?;
            match action.as_str() {
                "quarantined" if source == ActionSource::Healer.as_str() => {
                    held = Some(row.try_get::<String, _>(2)?);
                }
                "released" => held = None,
                _ => {}
            }
        }
        Ok(held)
    }

    /// Releases of a quarantine a person asked for at or after `since_ms`
    /// (from any process): `(at_ms, service)`, oldest first.
    pub async fn releases_since(&self, since_ms: i64) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT at_ms, service FROM actions WHERE at_ms >= ? AND action = 'released' AND source != 'healer' AND service IS NOT NULL ORDER BY at_ms, id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// The actions recorded on an incident, oldest first.
    pub async fn incident_actions(
        &self,
        incident_id: i64,
    ) -> Result<Vec<StoredAction>, StoreError> {
        let rows = sqlx::query(OF_INCIDENT)
            .bind(incident_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use stackwarden_health::ServiceStatus;
    use stackwarden_incidents::{Change, IncidentTracker, Signal};

    use super::*;
    use crate::Retention;

    fn action(at_ms: i64, service: Option<&str>) -> ActionRecord {
        ActionRecord {
            at_ms,
            source: "window".into(),
            action: "restart".into(),
            service: service.map(str::to_string),
            ok: true,
            result: "restarted".into(),
        }
    }

    #[tokio::test]
    async fn an_action_lands_on_the_open_incident_of_its_service() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::DataDir {
            path: "tmp".into(),
            source: e,
        })?;
        let retention = Retention {
            max_age: Duration::from_secs(60),
            max_per_container: 10,
        };
        let store = Store::open(dir.path(), retention).await?;
        let before = store.record_action(&action(1_000, Some("db"))).await?;
        assert_eq!(before.incident_id, None, "no incident open yet");

        let mut tracker = IncidentTracker::new(Default::default());
        let mut id = None;
        for change in tracker.apply(Signal::Status {
            at_ms: 2_000,
            required: true,
            service: "db".into(),
            to: ServiceStatus::Down,
            reason: "stopped".into(),
        }) {
            if let Change::Opened(i) = change {
                id = Some(store.save_incident(None, &i).await?);
            }
        }
        let on = store.record_action(&action(3_000, Some("db"))).await?;
        assert_eq!(on.incident_id, id);
        assert!(id.is_some());
        let stack_wide = store.record_action(&action(4_000, None)).await?;
        assert_eq!(stack_wide.incident_id, id, "on the newest open one");
        let unrelated = store.record_action(&action(4_500, Some("cache"))).await?;
        assert_eq!(unrelated.incident_id, None, "cache is not part of it");
        let ids = [id.unwrap_or_default()];

        let listed = store.incident_actions(ids[0]).await?;
        assert!(listed.iter().any(|a| a.id == on.id));
        assert_eq!(store.actions_since(2_500).await?.len(), 3);
        store.prune(i64::MAX / 2).await?;
        let kept: Vec<i64> = store.actions_since(0).await?.iter().map(|a| a.id).collect();
        assert_eq!(
            kept,
            vec![on.id, stack_wide.id],
            "those on an incident are kept with it, the others go"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_quarantine_holds_until_a_person_releases_it() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::DataDir {
            path: "tmp".into(),
            source: e,
        })?;
        let retention = Retention {
            max_age: Duration::from_secs(60),
            max_per_container: 10,
        };
        let store = Store::open(dir.path(), retention).await?;
        let record = |at_ms: i64, source: &str, what: &str| {
            let a = ActionRecord {
                at_ms,
                source: source.into(),
                action: what.into(),
                service: Some("db".into()),
                ok: false,
                result: format!("needs you: {what} at {at_ms}"),
            };
            let store = store.clone();
            async move { store.record_action(&a).await }
        };
        assert_eq!(
            store.unreleased_quarantine("db", 10_000, 60_000).await?,
            None
        );
        record(1_000, "healer", "quarantined").await?;
        // Only the healer quarantines; anyone may release.
        record(1_500, "window", "quarantined").await?;
        let held = store.unreleased_quarantine("db", 10_000, 60_000).await?;
        assert_eq!(held.as_deref(), Some("needs you: quarantined at 1000"));
        assert_eq!(
            store.unreleased_quarantine("db", 100_000, 60_000).await?,
            None,
            "too old"
        );
        record(2_000, "cli", "released").await?;
        assert_eq!(
            store.unreleased_quarantine("db", 10_000, 60_000).await?,
            None
        );
        assert_eq!(
            store.releases_since(1_999).await?,
            vec![(2_000, "db".to_string())]
        );
        record(3_000, "healer", "released").await?;
        assert_eq!(
            store.releases_since(2_001).await?,
            vec![],
            "the healer's own are not requests"
        );
        Ok(())
    }
}
