use proptest::prelude::*;

use super::*;
use crate::policy::{ActionLimit, Backoff};

fn policy() -> HealPolicy {
    HealPolicy {
        enabled: true,
        backoff: Backoff {
            initial_ms: 2_000,
            factor: 2.0,
            cap_ms: 60_000,
            reset_after_ms: 60_000,
        },
        limit: ActionLimit {
            actions: 3,
            within_ms: 600_000,
        },
        ..HealPolicy::default()
    }
}

fn service(name: &str, status: ServiceStatus, running: bool, stop: StopVerdict) -> ServiceInput {
    ServiceInput {
        service: name.into(),
        status,
        reason: "container exited (137)".into(),
        policy: Some(policy()),
        container: Some(ContainerFacts {
            name: format!("c-{name}"),
            running,
            exit_code: (!running).then_some(137),
            restart_policy: String::new(),
            started_at_ms: running.then_some(-1_000_000),
            stop,
        }),
        depends_on: Vec::new(),
        log_trigger: None,
    }
}

fn crashed(name: &str) -> ServiceInput {
    service(name, ServiceStatus::Down, false, StopVerdict::Exited)
}

fn healthy(name: &str) -> ServiceInput {
    service(name, ServiceStatus::Healthy, true, StopVerdict::Unknown)
}

fn words(step: &Step) -> Vec<&'static str> {
    step.decisions.iter().map(|d| d.verdict.word()).collect()
}

#[test]
fn a_crashed_container_is_started_at_once() {
    let mut h = Healer::default();
    h.step(0, &[healthy("db")]);
    let step = h.step(1000, &[crashed("db")]);
    assert_eq!(words(&step), ["start"]);
    assert_eq!(step.decisions[0].container.as_deref(), Some("c-db"));
}

#[test]
fn a_container_a_person_stopped_is_left_alone_and_said_once() {
    let mut h = Healer::default();
    let stopped = service(
        "db",
        ServiceStatus::Down,
        false,
        StopVerdict::Person("stopped with podman stop".into()),
    );
    assert_eq!(
        words(&h.step(0, std::slice::from_ref(&stopped))),
        ["skipped"]
    );
    assert!(h.step(5000, &[stopped]).decisions.is_empty());
}

#[test]
fn an_exit_is_read_before_acting() {
    let mut h = Healer::default();
    let settling = service(
        "db",
        ServiceStatus::Down,
        false,
        StopVerdict::Settling { until_ms: 400 },
    );
    let step = h.step(0, &[settling]);
    assert!(step.decisions.is_empty());
    assert_eq!(step.wake_at_ms, Some(400));
}

#[test]
fn a_flapping_service_gets_backoff_then_quarantine_at_the_cap() {
    let mut h = Healer::default();
    let mut acted = Vec::new();
    let mut quarantined = None;
    // It dies one second after every start, for two minutes.
    let mut now = 0;
    let mut down = true;
    while now < 120_000 {
        let input = if down { crashed("db") } else { healthy("db") };
        let step = h.step(now, &[input]);
        for d in &step.decisions {
            match d.verdict {
                Verdict::Act { .. } => {
                    acted.push(now);
                    h.finished("db");
                    down = false;
                }
                Verdict::Quarantine { .. } => quarantined = Some(now),
                _ => {}
            }
        }
        if !down && acted.last().is_some_and(|a| now - a >= 1000) {
            down = true;
        }
        now += 100;
    }
    assert_eq!(acted.len(), 3, "{acted:?}");
    // Waits of 2 s then 4 s after the first two actions.
    assert!(
        acted[1] - acted[0] >= 2_000 && acted[2] - acted[1] >= 4_000,
        "{acted:?}"
    );
    assert!(quarantined.is_some());
    assert!(h.is_quarantined("db"));
    assert!(h.release("db"));
    assert_eq!(words(&h.step(now, &[crashed("db")])), ["start"]);
}

#[test]
fn backoff_waits_are_recorded_with_their_reason() {
    let mut h = Healer::default();
    h.step(0, &[crashed("db")]);
    h.finished("db");
    h.step(500, &[healthy("db")]);
    let step = h.step(1000, &[crashed("db")]);
    assert_eq!(words(&step), ["waited"]);
    assert!(step.decisions[0].verdict.reason().contains("backoff"));
    assert_eq!(step.wake_at_ms, Some(2000));
}

#[test]
fn the_engine_restart_policy_goes_first() {
    let mut h = Healer::default();
    let mut input = crashed("db");
    if let Some(c) = input.container.as_mut() {
        c.restart_policy = "always".into();
    }
    h.step(0, &[healthy("db")]);
    let step = h.step(1000, std::slice::from_ref(&input));
    assert_eq!(words(&step), ["waited"]);
    assert!(step.decisions[0]
        .verdict
        .reason()
        .contains("restart policy `always`"));
    assert!(h
        .step(10_000, std::slice::from_ref(&input))
        .decisions
        .is_empty());
    assert_eq!(words(&h.step(16_000, &[input])), ["start"]);
}

#[test]
fn on_failure_does_not_cover_a_clean_exit() {
    assert!(engine_takes_care("on-failure", Some(1)));
    assert!(!engine_takes_care("on-failure", Some(0)));
    assert!(engine_takes_care("unless-stopped", Some(0)));
    assert!(!engine_takes_care("no", Some(1)));
    assert!(!engine_takes_care("", Some(1)));
}

#[test]
fn a_dependency_is_healed_first_and_dependents_after_it_settles() {
    let mut h = Healer::default();
    let mut app = service("app", ServiceStatus::Unhealthy, true, StopVerdict::Unknown);
    app.depends_on = vec!["db".into()];
    h.step(0, &[healthy("db"), healthy("app")]);
    let step = h.step(1000, &[crashed("db"), app.clone()]);
    let by: Vec<(&str, &str)> = step
        .decisions
        .iter()
        .map(|d| (d.service.as_str(), d.verdict.word()))
        .collect();
    assert_eq!(by, [("db", "start"), ("app", "skipped")]);
    h.finished("db");
    // db healthy at 3 s; app waits for it to settle, then restarts.
    let step = h.step(3000, &[healthy("db"), app.clone()]);
    assert!(step.decisions.is_empty());
    assert_eq!(step.wake_at_ms, Some(3000 + DEPENDENCY_SETTLE_MS));
    let step = h.step(3000 + DEPENDENCY_SETTLE_MS, &[healthy("db"), app]);
    assert_eq!(words(&step), ["restart"]);
}

#[test]
fn start_only_policies_leave_running_services_alone() {
    let mut h = Healer::default();
    let mut input = service("db", ServiceStatus::Unhealthy, true, StopVerdict::Unknown);
    if let Some(p) = input.policy.as_mut() {
        p.action = HealAction::Start;
    }
    assert_eq!(words(&h.step(0, &[input])), ["skipped"]);
}

#[test]
fn degraded_counts_only_when_listed_and_after_its_grace() {
    let mut h = Healer::default();
    let mut input = service("db", ServiceStatus::Degraded, true, StopVerdict::Unknown);
    assert!(h.step(0, std::slice::from_ref(&input)).decisions.is_empty());
    if let Some(p) = input.policy.as_mut() {
        p.on.push(Trigger::Degraded);
        p.degraded_after_ms = 60_000;
    }
    let step = h.step(1000, std::slice::from_ref(&input));
    assert!(step.decisions.is_empty());
    assert_eq!(step.wake_at_ms, Some(60_000));
    assert_eq!(words(&h.step(60_000, &[input])), ["restart"]);
}

#[test]
fn a_log_line_acts_on_a_healthy_service() {
    let mut h = Healer::default();
    let mut input = healthy("db");
    input.log_trigger = Some("FATAL: out of shared memory".into());
    let step = h.step(0, &[input]);
    assert_eq!(words(&step), ["restart"]);
    assert!(step.decisions[0].verdict.reason().contains("FATAL"));
}

#[test]
fn services_without_a_policy_are_never_touched() {
    let mut h = Healer::default();
    let mut input = crashed("db");
    input.policy = None;
    assert!(h.step(0, std::slice::from_ref(&input)).decisions.is_empty());
    assert_eq!(h.states(["db"])[0].state, "off");
    let mut off = crashed("db");
    if let Some(p) = off.policy.as_mut() {
        p.enabled = false;
    }
    assert!(h.step(1, &[off]).decisions.is_empty());
}

#[test]
fn a_container_still_starting_is_given_its_grace() {
    let mut h = Healer::default();
    let mut input = service("db", ServiceStatus::Unhealthy, true, StopVerdict::Unknown);
    if let Some(c) = input.container.as_mut() {
        c.started_at_ms = Some(10_000);
    }
    let step = h.step(12_000, std::slice::from_ref(&input));
    assert!(step.decisions.is_empty());
    assert_eq!(step.wake_at_ms, Some(40_000));
    assert_eq!(words(&h.step(40_000, &[input])), ["restart"]);
}

#[test]
fn what_the_history_says_counts_after_a_restart_of_the_watch() {
    let mut h = Healer::default();
    h.remember("db", &[1_000, 3_000], None, 5_000);
    // Two actions already: the third waits 4 s after the last, then the cap.
    let step = h.step(5_000, &[crashed("db")]);
    assert_eq!(words(&step), ["waited"]);
    assert_eq!(step.wake_at_ms, Some(7_000));
    assert_eq!(words(&h.step(7_000, &[crashed("db")])), ["start"]);
    let mut quarantined = Healer::default();
    quarantined.remember("db", &[], Some("3 actions within 30 min".into()), 0);
    assert!(quarantined.step(1, &[crashed("db")]).decisions.is_empty());
    assert!(quarantined.is_quarantined("db"));
}

#[test]
fn an_exit_the_engine_said_nothing_about_is_left_alone() {
    let mut h = Healer::default();
    let step = h.step(
        0,
        &[service(
            "db",
            ServiceStatus::Down,
            false,
            StopVerdict::Unexplained,
        )],
    );
    assert_eq!(words(&step), ["skipped"]);
}

#[test]
fn nothing_known_forgets_nothing() {
    let mut h = Healer::default();
    h.remember("db", &[], Some("cap".into()), 0);
    assert!(h.step(10, &[]).decisions.is_empty());
    assert!(h.is_quarantined("db"));
}

#[test]
fn healthy_long_enough_before_a_failure_resets_the_backoff() {
    let mut h = Healer::default();
    h.step(0, &[crashed("db")]);
    h.finished("db");
    h.step(500, &[healthy("db")]);
    // Healthy for 70 s (reset_after is 60 s) when it fails again: at once.
    assert_eq!(words(&h.step(70_500, &[crashed("db")])), ["start"]);
}

#[test]
fn one_action_at_a_time() {
    let mut h = Healer::default();
    assert_eq!(words(&h.step(0, &[crashed("db")])), ["start"]);
    assert!(h.step(60_000, &[crashed("db")]).decisions.is_empty());
    h.finished("db");
    assert_eq!(words(&h.step(60_001, &[crashed("db")])), ["start"]);
}

fn any_status() -> impl Strategy<Value = ServiceStatus> {
    prop_oneof![
        Just(ServiceStatus::Healthy),
        Just(ServiceStatus::Degraded),
        Just(ServiceStatus::Unhealthy),
        Just(ServiceStatus::Down),
        Just(ServiceStatus::Unknown),
    ]
}

fn any_stop() -> impl Strategy<Value = StopVerdict> {
    prop_oneof![
        Just(StopVerdict::Exited),
        Just(StopVerdict::Unknown),
        Just(StopVerdict::Unexplained),
        Just(StopVerdict::Person("stop".into())),
        (0i64..1000).prop_map(|until_ms| StopVerdict::Settling { until_ms }),
    ]
}

proptest! {
    /// Whatever happens, the cap holds, nothing is acted on twice at once,
    /// and a container a person stopped is never started.
    #[test]
    fn the_cap_and_a_persons_stop_always_hold(
        events in proptest::collection::vec((1i64..20_000, any_status(), any::<bool>(), any_stop(), any::<bool>()), 1..200)
    ) {
        let mut h = Healer::default();
        let mut now = 0i64;
        let mut acts: Vec<i64> = Vec::new();
        let mut busy = false;
        for (gap, status, running, stop, finish) in events {
            now += gap;
            if finish && busy {
                h.finished("db");
                busy = false;
            }
            let person = matches!(stop, StopVerdict::Person(_));
            let input = service("db", status, running, stop);
            for d in h.step(now, &[input]).decisions {
                if let Verdict::Act { start, .. } = d.verdict {
                    prop_assert!(!busy, "acted while an action was under way");
                    prop_assert!(!(person && start), "started a container a person stopped");
                    busy = true;
                    acts.push(now);
                }
            }
            let recent = acts.iter().filter(|a| now - **a < 600_000).count();
            prop_assert!(recent <= 3, "{recent} actions within the window");
        }
    }
}
