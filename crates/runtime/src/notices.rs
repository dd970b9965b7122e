//! What deserves a desktop notification, and how often: the policy, apart
//! from the desktop that shows it. Grouped: one notification per incident,
//! updated while it lasts and on its close (the host replaces the shown
//! one by `key`), one per quarantine, one for the engine lost and back, one
//! for the last failed verification. Rate-limited: new notifications draw
//! on a small bucket per kind (a flapping storm shows a few, then one line
//! of "held back", and does not silence a quarantine or the engine), and an incident's updates come at most every
//! [`UPDATE_EVERY_MS`]. Each kind can be switched off in the settings.

use std::collections::{BTreeMap, BTreeSet};

use stackwarden_health::VerificationRun;
use stackwarden_incidents::Incident;
use stackwarden_model::config::NotificationsConfig;
use stackwarden_model::format::human_duration_ms;
use stackwarden_model::{redact, EngineStatus};

use crate::RuntimeState;

/// New notifications allowed in a burst.
pub const BURST: u32 = 4;
/// One more allowed after each of these.
pub const REFILL_MS: i64 = 15_000;
/// An incident's notification is updated at most this often.
pub const UPDATE_EVERY_MS: i64 = 30_000;
/// The engine counts as lost once unreachable this long (a blip is not news).
pub const ENGINE_LOST_AFTER_MS: i64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoticeKind {
    Incident,
    Quarantine,
    Verification,
    Engine,
}

/// A button on the notification, where the server shows actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeAction {
    Open,
    Recover,
}

impl NoticeAction {
    pub fn id(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Recover => "recover",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::Recover => "Recover…",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        match id {
            "open" | "default" => Some(Self::Open),
            "recover" => Some(Self::Recover),
            _ => None,
        }
    }
}

/// One notification to show, or to update when `key` was shown before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub key: String,
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    pub actions: Vec<NoticeAction>,
    pub critical: bool,
    /// The view the window opens at for `Open`.
    pub view: &'static str,
    /// Nothing more will be said under this key (the host may forget it).
    pub last: bool,
}

#[derive(Debug, Clone)]
struct IncidentSeen {
    incident: Incident,
    /// The body last shown; `None` while it was not shown (held back, or
    /// already open when the app started).
    shown: Option<String>,
    sent_at_ms: i64,
    /// Not in the last state (it closed, or a restarted runtime has not
    /// resumed it yet).
    missing_since: Option<i64>,
}

/// After a start or a runtime restart, what appears and disappears is the
/// runtime catching up (open incidents resumed from the store), not news:
/// for this long, an incident opened before the start is taken in silently
/// and one missing is not taken for closed. One opened since is news.
pub const QUIET_MS: i64 = 15_000;

/// The notification policy's memory.
#[derive(Debug, Clone)]
pub struct NoticePolicy {
    config: NotificationsConfig,
    incidents: BTreeMap<String, IncidentSeen>,
    quarantined: BTreeSet<String>,
    engine_lost_since: Option<i64>,
    /// The loss was decided on (past its grace), and whether it was shown.
    engine_decided: bool,
    engine_told: bool,
    buckets: BTreeMap<NoticeKind, Bucket>,
    /// Openings the limit held back, oldest first: sent when it allows,
    /// dropped (and counted) when what they announce is over.
    pending: Vec<Notice>,
    /// The last start or restart.
    started_ms: Option<i64>,
}

/// New notifications of one kind allowed now, and how many events of that
/// kind were never shown.
#[derive(Debug, Clone)]
struct Bucket {
    tokens: f64,
    at_ms: i64,
    held_back: u32,
}

impl NoticePolicy {
    pub fn new(config: NotificationsConfig) -> Self {
        Self {
            config,
            incidents: BTreeMap::new(),
            quarantined: BTreeSet::new(),
            engine_lost_since: None,
            engine_decided: false,
            engine_told: false,
            buckets: BTreeMap::new(),
            pending: Vec::new(),
            started_ms: None,
        }
    }

    pub fn set_config(&mut self, config: NotificationsConfig) {
        self.config = config;
    }

    /// The runtime was replaced: its first states are it catching up.
    pub fn restarted(&mut self, now_ms: i64) {
        self.started_ms = Some(now_ms);
    }

    /// The notices a new state (or the passing of time: call it every few
    /// seconds too) calls for.
    pub fn observe(&mut self, state: &RuntimeState, now_ms: i64) -> Vec<Notice> {
        let mut out = Vec::new();
        let started = *self.started_ms.get_or_insert(now_ms);
        let quiet = now_ms < started + QUIET_MS;
        self.engine(&state.snapshot.engine, now_ms, quiet, &mut out);
        let since = quiet.then_some(started);
        self.incidents_now(&state.status.incidents, now_ms, since, &mut out);
        let quarantined: BTreeSet<(String, String)> = state
            .status
            .healing
            .services
            .iter()
            .filter(|s| s.state == "quarantined")
            .map(|s| (s.service.clone(), s.detail.clone()))
            .collect();
        for (service, why) in &quarantined {
            if self.quarantined.insert(service.clone()) && self.config.quarantine && !quiet {
                let notice = Notice {
                    key: format!("quarantine:{service}"),
                    kind: NoticeKind::Quarantine,
                    title: format!("{service} needs you"),
                    body: format!("The healer stopped acting on {service}: {why}. Open the Healing view to release it."),
                    actions: vec![NoticeAction::Open],
                    critical: true,
                    view: "healing",
                    last: false,
                };
                self.send_new(notice, now_ms, &mut out);
            }
        }
        self.quarantined
            .retain(|s| quarantined.iter().any(|(q, _)| q == s));
        self.flush(now_ms, &mut out);
        out.into_iter().map(redacted).collect()
    }

    /// A finished verification: a failed one is news.
    pub fn verification_done(&mut self, run: &VerificationRun, now_ms: i64) -> Vec<Notice> {
        if run.required_failed == 0 || !self.config.verification {
            return Vec::new();
        }
        let failed: Vec<&str> = run
            .results
            .iter()
            .filter(|r| r.required && r.status == stackwarden_health::CheckStatus::Fail)
            .map(|r| r.name.as_str())
            .take(3)
            .collect();
        let more = match run.required_failed as usize {
            n if n > failed.len() => format!(" and {} more", n - failed.len()),
            _ => String::new(),
        };
        let notice = Notice {
            key: "verification".into(),
            kind: NoticeKind::Verification,
            title: format!(
                "Verification failed: {} required check{} of {}",
                run.required_failed,
                if run.required_failed == 1 { "" } else { "s" },
                run.stack
            ),
            body: format!("Failed: {}{more}.", failed.join(", ")),
            actions: vec![NoticeAction::Open, NoticeAction::Recover],
            critical: false,
            view: "verify",
            last: false,
        };
        let mut out = Vec::new();
        self.send_new(notice, now_ms, &mut out);
        out.into_iter().map(redacted).collect()
    }

    fn engine(&mut self, engine: &EngineStatus, now_ms: i64, quiet: bool, out: &mut Vec<Notice>) {
        match engine {
            EngineStatus::Unreachable { .. } => {
                let since = *self.engine_lost_since.get_or_insert(now_ms);
                if quiet {
                    self.engine_decided = true;
                }
                if !self.engine_decided && now_ms - since >= ENGINE_LOST_AFTER_MS {
                    self.engine_decided = true;
                    if self.config.engine {
                        let notice = Notice {
                            key: "engine".into(),
                            kind: NoticeKind::Engine,
                            title: "Container engine lost".into(),
                            body: format!(
                                "Stackwarden cannot reach the container engine since {}; it keeps retrying.",
                                stackwarden_report::when(since)
                            ),
                            actions: vec![NoticeAction::Open, NoticeAction::Recover],
                            critical: true,
                            view: "services",
                            last: false,
                        };
                        self.engine_told = self.send_new(notice, now_ms, out);
                    }
                }
            }
            EngineStatus::Connected { endpoint, .. } => {
                if let Some(since) = self.engine_lost_since.take() {
                    self.engine_decided = false;
                    let told = std::mem::take(&mut self.engine_told);
                    if told && self.config.engine && !quiet {
                        out.push(Notice {
                            key: "engine".into(),
                            kind: NoticeKind::Engine,
                            title: "Container engine back".into(),
                            body: format!(
                                "{endpoint} answers again after {}.",
                                human_duration_ms(now_ms - since)
                            ),
                            actions: vec![NoticeAction::Open],
                            critical: false,
                            view: "services",
                            last: true,
                        });
                    }
                }
            }
            EngineStatus::Connecting => {}
        }
    }

    /// `quiet`: the start it is quiet after, while it is.
    fn incidents_now(
        &mut self,
        open: &[Incident],
        now_ms: i64,
        quiet: Option<i64>,
        out: &mut Vec<Notice>,
    ) {
        let mut still: BTreeSet<String> = BTreeSet::new();
        for incident in open {
            let key = incident_key(incident);
            still.insert(key.clone());
            let body = incident_body(incident);
            match self.incidents.get_mut(&key) {
                None => {
                    self.incidents.insert(
                        key.clone(),
                        IncidentSeen {
                            incident: incident.clone(),
                            shown: None,
                            sent_at_ms: now_ms,
                            missing_since: None,
                        },
                    );
                    let resumed = quiet.is_some_and(|start| incident.opened_at_ms < start);
                    if self.config.incidents && !resumed {
                        let notice = incident_notice(&key, incident, body.clone());
                        if self.send_new(notice, now_ms, out) {
                            if let Some(seen) = self.incidents.get_mut(&key) {
                                seen.shown = Some(body);
                            }
                        }
                    }
                }
                Some(seen) => {
                    seen.incident = incident.clone();
                    seen.missing_since = None;
                    let changed = seen.shown.as_ref().is_some_and(|b| *b != body);
                    if changed
                        && now_ms - seen.sent_at_ms >= UPDATE_EVERY_MS
                        && self.config.incidents
                    {
                        out.push(incident_notice(&key, incident, body.clone()));
                        seen.shown = Some(body);
                        seen.sent_at_ms = now_ms;
                    }
                }
            }
        }
        let mut closed = Vec::new();
        for (key, seen) in &mut self.incidents {
            if still.contains(key) {
                continue;
            }
            let since = *seen.missing_since.get_or_insert(now_ms);
            // While the runtime catches up an incident may be missing for
            // a moment: it is closed only once the quiet time is over.
            if quiet.is_none() || now_ms - since >= QUIET_MS {
                closed.push(key.clone());
            }
        }
        for key in closed {
            let Some(seen) = self.incidents.remove(&key) else {
                continue;
            };
            if seen.shown.is_none() || !self.config.incidents {
                continue;
            }
            let lasted = human_duration_ms(now_ms - seen.incident.opened_at_ms);
            out.push(Notice {
                key,
                kind: NoticeKind::Incident,
                title: format!("Resolved: {}", seen.incident.cause.summary),
                body: format!(
                    "The incident is closed after {lasted}: every affected service is healthy again."
                ),
                actions: vec![NoticeAction::Open],
                critical: false,
                view: "timeline",
                last: true,
            });
        }
    }

    /// Takes a token of `kind` if one is there.
    fn take_token(&mut self, kind: NoticeKind, now_ms: i64) -> bool {
        let bucket = self.bucket(kind, now_ms);
        let gained = (now_ms - bucket.at_ms).max(0) as f64 / REFILL_MS as f64;
        bucket.tokens = (bucket.tokens + gained).min(f64::from(BURST));
        bucket.at_ms = now_ms;
        if bucket.tokens < 1.0 {
            return false;
        }
        bucket.tokens -= 1.0;
        true
    }

    fn bucket(&mut self, kind: NoticeKind, now_ms: i64) -> &mut Bucket {
        self.buckets.entry(kind).or_insert(Bucket {
            tokens: f64::from(BURST),
            at_ms: now_ms,
            held_back: 0,
        })
    }

    /// Sends a new notification when the limit allows, else queues it;
    /// true when sent now.
    fn send_new(&mut self, notice: Notice, now_ms: i64, out: &mut Vec<Notice>) -> bool {
        if self.take_token(notice.kind, now_ms) {
            out.push(self.with_held_back(notice, now_ms));
            return true;
        }
        self.pending.retain(|p| p.key != notice.key);
        self.pending.push(notice);
        false
    }

    /// Adds how many events of its kind were never shown.
    fn with_held_back(&mut self, mut notice: Notice, now_ms: i64) -> Notice {
        let bucket = self.bucket(notice.kind, now_ms);
        if bucket.held_back > 0 {
            notice.body = format!(
                "{}\n({} more event{} came and went while notifications were held back; the timeline has them all.)",
                notice.body,
                bucket.held_back,
                if bucket.held_back == 1 { "" } else { "s" }
            );
            bucket.held_back = 0;
        }
        notice
    }

    /// Sends what was held back as the limit allows, with what it announces
    /// as it is now; drops (and counts) what is over.
    fn flush(&mut self, now_ms: i64, out: &mut Vec<Notice>) {
        let pending = std::mem::take(&mut self.pending);
        for notice in pending {
            let current = match notice.kind {
                NoticeKind::Incident => self.incidents.get(&notice.key).map(|seen| {
                    incident_notice(&notice.key, &seen.incident, incident_body(&seen.incident))
                }),
                NoticeKind::Quarantine => notice
                    .key
                    .strip_prefix("quarantine:")
                    .filter(|s| self.quarantined.contains(*s))
                    .map(|_| notice.clone()),
                NoticeKind::Engine => self.engine_lost_since.map(|_| notice.clone()),
                NoticeKind::Verification => Some(notice.clone()),
            };
            let Some(current) = current else {
                self.bucket(notice.kind, now_ms).held_back += 1;
                continue;
            };
            if !self.take_token(current.kind, now_ms) {
                self.pending.push(current);
                continue;
            }
            match current.kind {
                NoticeKind::Incident => {
                    if let Some(seen) = self.incidents.get_mut(&current.key) {
                        seen.shown = Some(current.body.clone());
                        seen.sent_at_ms = now_ms;
                    }
                }
                NoticeKind::Engine => self.engine_told = true,
                NoticeKind::Quarantine | NoticeKind::Verification => {}
            }
            out.push(self.with_held_back(current, now_ms));
        }
        // What came and went unseen, said once the limit allows.
        let kinds: Vec<NoticeKind> = self
            .buckets
            .iter()
            .filter(|(_, b)| b.held_back > 0)
            .map(|(k, _)| *k)
            .collect();
        for kind in kinds {
            if self.pending.iter().any(|p| p.kind == kind) || !self.take_token(kind, now_ms) {
                continue;
            }
            let held = std::mem::take(&mut self.bucket(kind, now_ms).held_back);
            out.push(Notice {
                key: format!("held:{kind:?}"),
                kind,
                title: format!(
                    "{held} more event{} while notifications were held back",
                    if held == 1 { "" } else { "s" }
                ),
                body: "They came and went during a burst. The timeline has them all.".into(),
                actions: vec![NoticeAction::Open],
                critical: false,
                view: "timeline",
                last: true,
            });
        }
    }
}

fn incident_key(incident: &Incident) -> String {
    format!(
        "incident:{}:{}",
        incident.opened_at_ms,
        incident.cause.service.as_deref().unwrap_or("engine")
    )
}

fn incident_body(incident: &Incident) -> String {
    let services: Vec<String> = incident
        .affected
        .iter()
        .map(|a| format!("{} ({})", a.service, a.status.word()))
        .collect();
    let what = if services.is_empty() {
        "No service affected yet.".to_string()
    } else {
        format!("Affected: {}.", services.join(", "))
    };
    format!(
        "{what} Open since {}.",
        stackwarden_report::when(incident.opened_at_ms)
    )
}

fn incident_notice(key: &str, incident: &Incident, body: String) -> Notice {
    Notice {
        key: key.to_string(),
        kind: NoticeKind::Incident,
        title: format!("Incident: {}", incident.cause.summary),
        body,
        actions: vec![NoticeAction::Open, NoticeAction::Recover],
        critical: true,
        view: "timeline",
        last: false,
    }
}

fn redacted(mut n: Notice) -> Notice {
    n.title = redact::text(&n.title);
    n.body = redact::text(&n.body);
    n
}

#[cfg(test)]
mod tests;
