use std::collections::HashMap;
use std::sync::Arc;

use stackwarden_health::ServiceStatus;
use stackwarden_incidents::{IncidentTracker, Signal};
use stackwarden_model::{EngineStatus, StackSnapshot};

use super::*;
use crate::{HealingStatus, Recording, RuntimeStatus};

const T0: i64 = 1_800_000_000_000;

fn connected() -> EngineStatus {
    EngineStatus::Connected {
        endpoint: "unix:///run/podman/podman.sock".into(),
        source: "test".into(),
    }
}

fn unreachable() -> EngineStatus {
    EngineStatus::Unreachable {
        attempts: vec![],
        hint: String::new(),
        retry_in_ms: 1000,
    }
}

fn state(engine: EngineStatus, incidents: Vec<Incident>, quarantined: &[&str]) -> RuntimeState {
    let snapshot = StackSnapshot::new(engine, vec![], None, T0);
    let health = stackwarden_probes::view(
        &Default::default(),
        &snapshot,
        &HashMap::new(),
        &Default::default(),
    );
    let services = quarantined
        .iter()
        .map(|s| stackwarden_heal::HealState {
            service: (*s).into(),
            policy: None,
            state: "quarantined".into(),
            detail: "restarted 3 times in 10 min".into(),
            recent_actions: 3,
            next_at_ms: None,
        })
        .collect();
    RuntimeState {
        snapshot: Arc::new(snapshot),
        health: Arc::new(health),
        status: Arc::new(RuntimeStatus {
            recording: Recording::Off {
                reason: "test".into(),
            },
            problems: vec![],
            incidents,
            healing: HealingStatus {
                active: true,
                paused: None,
                services,
            },
        }),
    }
}

/// An incident opened at `at_ms` by `service` going down.
fn incident(service: &str, at_ms: i64) -> Incident {
    let mut tracker = IncidentTracker::new(Default::default());
    tracker.apply(Signal::Status {
        at_ms,
        service: service.into(),
        to: ServiceStatus::Down,
        reason: "container exited (137)".into(),
        required: true,
    });
    tracker.open_incidents().to_vec().remove(0)
}

fn policy() -> NoticePolicy {
    let mut p = NoticePolicy::new(NotificationsConfig::default());
    // The first looks are quiet: what is wrong at start is not news.
    assert!(p
        .observe(&state(connected(), vec![], &[]), T0 - QUIET_MS)
        .is_empty());
    p
}

#[test]
fn what_the_runtime_resumes_at_start_or_after_a_restart_is_not_news() {
    let mut p = NoticePolicy::new(NotificationsConfig::default());
    let old = incident("postgres", T0 - 3_600_000);
    // The first state is empty; the open incident is resumed from the store
    // a moment later.
    assert!(p.observe(&state(connected(), vec![], &[]), T0).is_empty());
    assert!(p
        .observe(&state(connected(), vec![old.clone()], &[]), T0 + 800)
        .is_empty());
    // After the quiet time, a new incident is news again.
    let new = incident("redis", T0 + 20_000);
    let shown = p.observe(
        &state(connected(), vec![old.clone(), new.clone()], &[]),
        T0 + 20_000,
    );
    assert_eq!(shown.len(), 1, "{shown:?}");
    // A runtime restart: both vanish for a moment, then come back.
    p.restarted(T0 + 30_000);
    let gone = p.observe(&state(connected(), vec![], &[]), T0 + 30_100);
    let back = p.observe(
        &state(connected(), vec![old.clone(), new.clone()], &[]),
        T0 + 31_000,
    );
    assert!(gone.is_empty() && back.is_empty(), "{gone:?} {back:?}");
    // A real close after that is told once.
    let closed = p.observe(&state(connected(), vec![old], &[]), T0 + 60_000);
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert!(closed[0].title.starts_with("Resolved: redis down") && closed[0].last);
}

#[test]
fn an_opening_held_back_is_sent_when_the_limit_allows() {
    let mut p = policy();
    let open: Vec<Incident> = (0..6).map(|i| incident(&format!("s{i}"), T0 + i)).collect();
    let first = p.observe(&state(connected(), open.clone(), &[]), T0 + 10);
    assert_eq!(first.len(), 4, "{first:?}");
    // Time passes with the same six open: one more each 15 s.
    let later = p.observe(&state(connected(), open.clone(), &[]), T0 + 15_500);
    assert_eq!(later.len(), 1, "{later:?}");
    let last = p.observe(&state(connected(), open, &[]), T0 + 31_000);
    assert_eq!(last.len(), 1, "{last:?}");
    let all: std::collections::BTreeSet<String> = first
        .iter()
        .chain(&later)
        .chain(&last)
        .map(|n| n.key.clone())
        .collect();
    assert_eq!(all.len(), 6, "every incident announced once");
}

#[test]
fn what_came_and_went_unseen_is_summed_up_on_a_later_tick() {
    let mut p = policy();
    let mut shown = Vec::new();
    for i in 0..8 {
        let at = T0 + 100 * i;
        shown.extend(p.observe(
            &state(connected(), vec![incident(&format!("s{i}"), at)], &[]),
            at,
        ));
        shown.extend(p.observe(&state(connected(), vec![], &[]), at + 50));
    }
    assert_eq!(
        shown
            .iter()
            .filter(|n| n.title.starts_with("Incident"))
            .count(),
        4
    );
    // Nothing else happens; a tick after the refill says what was missed.
    let tick = p.observe(&state(connected(), vec![], &[]), T0 + 20_000);
    assert_eq!(tick.len(), 1, "{tick:?}");
    assert_eq!(
        tick[0].title,
        "4 more events while notifications were held back"
    );
}

#[test]
fn one_notification_per_incident_updated_on_close() {
    let mut p = policy();
    let open = incident("postgres", T0 + 1000);
    let shown = p.observe(&state(connected(), vec![open.clone()], &[]), T0 + 1000);
    assert_eq!(shown.len(), 1, "{shown:?}");
    let n = &shown[0];
    assert_eq!(n.kind, NoticeKind::Incident);
    assert_eq!(n.title, "Incident: postgres down: container exited (137)");
    assert!(
        n.body.starts_with("Affected: postgres (down)."),
        "{}",
        n.body
    );
    assert_eq!(n.actions, vec![NoticeAction::Open, NoticeAction::Recover]);
    // The same state again, and time passing, add nothing.
    for t in [2000, 40_000, 90_000] {
        let again = p.observe(&state(connected(), vec![open.clone()], &[]), T0 + t);
        assert!(again.is_empty(), "{again:?}");
    }
    let closed = p.observe(&state(connected(), vec![], &[]), T0 + 181_000);
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0].key, n.key, "the close replaces the opening");
    assert_eq!(
        closed[0].title,
        "Resolved: postgres down: container exited (137)"
    );
    assert!(closed[0].body.contains("after 3m"), "{}", closed[0].body);
}

#[test]
fn a_flapping_storm_is_held_to_the_burst_and_then_summed_up() {
    let mut p = policy();
    let mut shown = Vec::new();
    // Twenty short incidents within 20 s: each opens and closes.
    for i in 0..20 {
        let at = T0 + 1000 * (i + 1);
        let open = incident("redis", at);
        shown.extend(p.observe(&state(connected(), vec![open], &[]), at));
        shown.extend(p.observe(&state(connected(), vec![], &[]), at + 500));
    }
    let openings = shown
        .iter()
        .filter(|n| n.title.starts_with("Incident"))
        .count();
    // Four at once, one more per 15 s.
    assert_eq!(openings, 5, "{shown:#?}");
    let later = incident("redis", T0 + 120_000);
    let next = p.observe(&state(connected(), vec![later], &[]), T0 + 120_000);
    assert_eq!(next.len(), 1);
    // Every opening is either shown or counted in a "held back" line.
    let count = |t: &str| t.split(' ').next()?.parse::<u32>().ok();
    let held: u32 = shown
        .iter()
        .chain(&next)
        .filter_map(|n| match n.key.starts_with("held:") {
            true => count(&n.title),
            false => n.body.split("\n(").nth(1).and_then(count),
        })
        .sum();
    assert_eq!(openings as u32 + 1 + held, 21, "{shown:#?} {next:#?}");
    assert!(next[0].body.contains("held back"), "{}", next[0].body);
    // The storm does not silence another kind.
    let q = p.observe(&state(connected(), vec![], &["qdrant"]), T0 + 121_000);
    assert!(q.iter().any(|n| n.kind == NoticeKind::Quarantine), "{q:?}");
}

#[test]
fn the_engine_is_lost_after_ten_seconds_and_back_replaces_it() {
    let mut p = policy();
    assert!(p
        .observe(&state(unreachable(), vec![], &[]), T0 + 1000)
        .is_empty());
    // Back within the grace: nothing at all.
    assert!(p
        .observe(&state(connected(), vec![], &[]), T0 + 5000)
        .is_empty());
    assert!(p
        .observe(&state(unreachable(), vec![], &[]), T0 + 6000)
        .is_empty());
    let lost = p.observe(&state(unreachable(), vec![], &[]), T0 + 16_000);
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].title, "Container engine lost");
    assert!(lost[0].critical);
    let back = p.observe(&state(connected(), vec![], &[]), T0 + 46_000);
    assert_eq!(back.len(), 1);
    assert_eq!(
        (back[0].key.as_str(), back[0].title.as_str()),
        ("engine", "Container engine back")
    );
    assert!(
        back[0].body.ends_with("answers again after 40s."),
        "{}",
        back[0].body
    );
}

#[test]
fn a_quarantine_is_told_once() {
    let mut p = policy();
    let q = p.observe(&state(connected(), vec![], &["qdrant"]), T0 + 1000);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].title, "qdrant needs you");
    assert_eq!(q[0].view, "healing");
    assert!(p
        .observe(&state(connected(), vec![], &["qdrant"]), T0 + 2000)
        .is_empty());
}

#[test]
fn each_kind_can_be_switched_off() {
    let off = NotificationsConfig {
        incidents: false,
        quarantine: false,
        verification: false,
        engine: false,
    };
    let mut p = NoticePolicy::new(off);
    let _ = p.observe(&state(connected(), vec![], &[]), T0 - QUIET_MS);
    let all = [
        p.observe(
            &state(connected(), vec![incident("db", T0)], &["db"]),
            T0 + 1000,
        ),
        p.observe(&state(unreachable(), vec![], &[]), T0 + 2000),
        p.observe(&state(unreachable(), vec![], &[]), T0 + 60_000),
        p.observe(&state(connected(), vec![], &[]), T0 + 70_000),
    ];
    assert!(all.iter().all(Vec::is_empty), "{all:?}");
}

#[test]
fn a_failed_verification_names_its_failed_checks_without_secrets() {
    let mut p = policy();
    let check = |name: &str, status| stackwarden_health::CheckResult {
        id: name.into(),
        name: name.into(),
        service: None,
        required: true,
        status,
        duration_ms: 1.0,
        evidence: String::new(),
        hint: String::new(),
    };
    let run = VerificationRun {
        stack: "ai".into(),
        started_at_ms: T0,
        duration_ms: 10.0,
        results: vec![
            check(
                "schema postgres://aidb:hunter2@db/aidb",
                stackwarden_health::CheckStatus::Fail,
            ),
            check("redis ping", stackwarden_health::CheckStatus::Pass),
        ],
        passed: 1,
        failed: 1,
        skipped: 0,
        required_failed: 1,
        services: vec![],
        breakdown: None,
        probe_runs: vec![],
    };
    let n = p.verification_done(&run, T0 + 1000);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].title, "Verification failed: 1 required check of ai");
    assert!(!n[0].body.contains("hunter2"), "{}", n[0].body);
    let passed = VerificationRun {
        required_failed: 0,
        ..run
    };
    assert!(p.verification_done(&passed, T0 + 2000).is_empty());
}

#[test]
fn an_incident_opened_since_the_start_is_news_even_while_quiet() {
    let mut p = NoticePolicy::new(NotificationsConfig::default());
    assert!(p.observe(&state(connected(), vec![], &[]), T0).is_empty());
    let early = incident("qdrant", T0 + 2_000);
    let shown = p.observe(&state(connected(), vec![early], &[]), T0 + 2_000);
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(shown[0].title.starts_with("Incident: qdrant down"));
}
