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
}

#[derive(Debug, Clone)]
struct IncidentSeen {
    incident: Incident,
    /// The body last shown; `None` when the opening was held back.
    shown: Option<String>,
    sent_at_ms: i64,
}

/// The notification policy's memory.
#[derive(Debug, Clone)]
pub struct NoticePolicy {
    config: NotificationsConfig,
    incidents: BTreeMap<String, IncidentSeen>,
    quarantined: BTreeSet<String>,
    engine_lost_since: Option<i64>,
    engine_told: bool,
    buckets: BTreeMap<NoticeKind, Bucket>,
    started: bool,
}

/// New notifications of one kind allowed now, and those held back.
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
            engine_told: false,
            buckets: BTreeMap::new(),
            started: false,
        }
    }

    pub fn set_config(&mut self, config: NotificationsConfig) {
        self.config = config;
    }

    /// The notices a new state (or the passing of time: call it every few
    /// seconds too) calls for.
    pub fn observe(&mut self, state: &RuntimeState, now_ms: i64) -> Vec<Notice> {
        let mut out = Vec::new();
        // What is already wrong when the app starts is on screen, not news:
        // remembered, not announced.
        let quiet = !self.started;
        self.started = true;
        self.engine(&state.snapshot.engine, now_ms, quiet, &mut out);
        self.incidents_now(&state.status.incidents, now_ms, quiet, &mut out);
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
                };
                self.send_new(notice, now_ms, &mut out);
            }
        }
        self.quarantined
            .retain(|s| quarantined.iter().any(|(q, _)| q == s));
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
                    self.engine_told = true;
                }
                if !self.engine_told && now_ms - since >= ENGINE_LOST_AFTER_MS {
                    self.engine_told = true;
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
                        };
                        self.send_new(notice, now_ms, out);
                    }
                }
            }
            EngineStatus::Connected { endpoint, .. } => {
                if let Some(since) = self.engine_lost_since.take() {
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
                        });
                    }
                }
            }
            EngineStatus::Connecting => {}
        }
    }

    fn incidents_now(
        &mut self,
        open: &[Incident],
        now_ms: i64,
        quiet: bool,
        out: &mut Vec<Notice>,
    ) {
        let mut still: BTreeSet<String> = BTreeSet::new();
        for incident in open {
            let key = incident_key(incident);
            still.insert(key.clone());
            let body = incident_body(incident);
            match self.incidents.get_mut(&key) {
                None => {
                    let mut seen = IncidentSeen {
                        incident: incident.clone(),
                        shown: None,
                        sent_at_ms: now_ms,
                    };
                    if self.config.incidents && !quiet {
                        let notice = incident_notice(&key, incident, body.clone());
                        if self.send_new(notice, now_ms, out) {
                            seen.shown = Some(body);
                        }
                    }
                    self.incidents.insert(key, seen);
                }
                Some(seen) => {
                    seen.incident = incident.clone();
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
        let closed: Vec<String> = self
            .incidents
            .keys()
            .filter(|k| !still.contains(*k))
            .cloned()
            .collect();
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
            });
        }
    }

    /// Sends a new notification when the bucket allows; true when sent.
    fn send_new(&mut self, mut notice: Notice, now_ms: i64, out: &mut Vec<Notice>) -> bool {
        let bucket = self.buckets.entry(notice.kind).or_insert(Bucket {
            tokens: f64::from(BURST),
            at_ms: now_ms,
            held_back: 0,
        });
        let gained = (now_ms - bucket.at_ms).max(0) as f64 / REFILL_MS as f64;
        bucket.tokens = (bucket.tokens + gained).min(f64::from(BURST));
        bucket.at_ms = now_ms;
        if bucket.tokens < 1.0 {
            bucket.held_back += 1;
            return false;
        }
        bucket.tokens -= 1.0;
        if bucket.held_back > 0 {
            notice.body = format!(
                "{}\n({} more event{} held back to keep notifications quiet; the timeline has them all.)",
                notice.body,
                bucket.held_back,
                if bucket.held_back == 1 { "" } else { "s" }
            );
            bucket.held_back = 0;
        }
        out.push(notice);
        true
    }
}

fn incident_key(incident: &Incident) -> String {
    format!("incident:{}", incident.opened_at_ms)
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
    }
}

fn redacted(mut n: Notice) -> Notice {
    n.title = redact::text(&n.title);
    n.body = redact::text(&n.body);
    n
}

#[cfg(test)]
mod tests;
