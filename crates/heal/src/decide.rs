//! The healer's decisions: one [`Healer::step`] per change of what the
//! runtime knows (a probe result, an engine event) or at the moment the
//! healer asked to be woken. Each decision says why, so the incident can
//! show what was done, what was waited for and what was left alone.

use std::collections::HashMap;

use serde::Serialize;
use stackwarden_health::ServiceStatus;
use stackwarden_model::format::human_duration_ms;
use ts_rs::TS;

use crate::policy::{HealAction, HealPolicy, Trigger};
use crate::stops::StopVerdict;

/// A dependency that just became healthy gets this long before its
/// dependents are acted on: they often recover by themselves once it is.
pub const DEPENDENCY_SETTLE_MS: i64 = 5_000;

/// A service's container, as far as healing cares.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerFacts {
    pub name: String,
    pub running: bool,
    pub exit_code: Option<i64>,
    /// The engine's restart policy: `no`, `always`, `unless-stopped`,
    /// `on-failure` (empty when none).
    pub restart_policy: String,
    /// When its current run started (while running).
    pub started_at_ms: Option<i64>,
    /// Why it is not running (meaningless while it runs).
    pub stop: StopVerdict,
}

/// One service, now.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceInput {
    pub service: String,
    pub status: ServiceStatus,
    pub reason: String,
    /// `None` (or disabled): the healer leaves it alone.
    pub policy: Option<HealPolicy>,
    pub container: Option<ContainerFacts>,
    pub depends_on: Vec<String>,
    /// A log line matched one of its `act` patterns since the last step.
    pub log_trigger: Option<String>,
}

/// What the healer decided for a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Start or restart its container.
    Act {
        action: HealAction,
        start: bool,
        reason: String,
    },
    /// Not yet: backoff, or the engine's own policy first.
    Wait { until_ms: i64, reason: String },
    /// Not at all, for now: stopped by a person, a dependency down, ...
    Skip { reason: String },
    /// The cap was reached: hands off until a person releases it.
    Quarantine { reason: String },
}

impl Verdict {
    /// How the decision is recorded.
    pub fn word(&self) -> &'static str {
        match self {
            Self::Act { start: true, .. } => "start",
            Self::Act { .. } => "restart",
            Self::Wait { .. } => "waited",
            Self::Skip { .. } => "skipped",
            Self::Quarantine { .. } => "quarantined",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Self::Act { reason, .. }
            | Self::Wait { reason, .. }
            | Self::Skip { reason }
            | Self::Quarantine { reason } => reason,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub service: String,
    /// The container to act on.
    pub container: Option<String>,
    pub at_ms: i64,
    pub verdict: Verdict,
}

/// The result of one step: decisions to carry out and record, and when to
/// step again if nothing else happens first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    pub decisions: Vec<Decision>,
    pub wake_at_ms: Option<i64>,
}

/// A service's healing as the window shows it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct HealState {
    pub service: String,
    /// `None`: no policy; the healer never touches it.
    pub policy: Option<HealPolicy>,
    /// `off`, `watching`, `waiting`, `acting`, `skipping`, `quarantined`.
    pub state: String,
    /// Why, in a sentence.
    pub detail: String,
    /// Actions within the policy's limit window.
    pub recent_actions: u32,
    #[ts(type = "number | null")]
    pub next_at_ms: Option<i64>,
}

#[derive(Debug, Clone)]
struct Memory {
    status: ServiceStatus,
    since_ms: i64,
    /// When it acted, within the limit window.
    actions: Vec<i64>,
    /// Actions since the backoff last reset.
    since_reset: u32,
    last_action_ms: Option<i64>,
    quarantined: Option<String>,
    busy: bool,
    /// The last wait, skip or quarantine recorded, so each is said once.
    told: Option<(&'static str, String)>,
    shown: (&'static str, String, Option<i64>),
}

impl Memory {
    fn new(status: ServiceStatus, now_ms: i64) -> Self {
        Self {
            status,
            since_ms: now_ms,
            actions: Vec::new(),
            since_reset: 0,
            last_action_ms: None,
            quarantined: None,
            busy: false,
            told: None,
            shown: ("watching", String::new(), None),
        }
    }
}

/// Whether the engine's restart policy brings back a container that exited
/// with `exit_code`.
pub fn engine_takes_care(restart_policy: &str, exit_code: Option<i64>) -> bool {
    match restart_policy {
        "always" | "unless-stopped" => true,
        "on-failure" => exit_code != Some(0),
        _ => false,
    }
}

/// The healer's memory of every service.
#[derive(Debug, Default)]
pub struct Healer {
    services: HashMap<String, Memory>,
    policies: HashMap<String, Option<HealPolicy>>,
}

fn trigger_of(s: ServiceStatus) -> Option<Trigger> {
    match s {
        ServiceStatus::Down => Some(Trigger::Down),
        ServiceStatus::Unhealthy => Some(Trigger::Unhealthy),
        ServiceStatus::Degraded => Some(Trigger::Degraded),
        _ => None,
    }
}

enum Outcome {
    /// Nothing to record; show this state.
    Show(&'static str, String, Option<i64>),
    Decide(Verdict),
}

impl Healer {
    /// Looks at every service once, at `now_ms`.
    pub fn step(&mut self, now_ms: i64, inputs: &[ServiceInput]) -> Step {
        // Nothing known (no engine, no stack): forget nothing either.
        if inputs.is_empty() {
            return Step::default();
        }
        // Statuses first: dependencies are read from the memory.
        for input in inputs {
            let m = self
                .services
                .entry(input.service.clone())
                .or_insert_with(|| Memory::new(input.status, now_ms));
            if m.status != input.status {
                // Healthy long enough before this change: the backoff starts over.
                let reset = input.policy.as_ref().map_or(i64::MAX, |p| {
                    i64::try_from(p.backoff.reset_after_ms).unwrap_or(i64::MAX)
                });
                if m.status == ServiceStatus::Healthy && now_ms.saturating_sub(m.since_ms) >= reset
                {
                    m.since_reset = 0;
                }
                m.status = input.status;
                m.since_ms = now_ms;
            }
            self.policies
                .insert(input.service.clone(), input.policy.clone());
        }
        self.services
            .retain(|name, _| inputs.iter().any(|i| &i.service == name));
        self.policies
            .retain(|name, _| inputs.iter().any(|i| &i.service == name));

        let mut step = Step::default();
        for input in inputs {
            let outcome = self.consider(now_ms, input);
            let Some(m) = self.services.get_mut(&input.service) else {
                continue;
            };
            match outcome {
                Outcome::Show(state, detail, next) => {
                    if let Some(at) = next {
                        step.wake_at_ms = Some(step.wake_at_ms.map_or(at, |w| w.min(at)));
                    }
                    m.shown = (state, detail, next);
                }
                Outcome::Decide(verdict) => {
                    let (state, next) = match &verdict {
                        Verdict::Act { .. } => ("acting", None),
                        Verdict::Wait { until_ms, .. } => ("waiting", Some(*until_ms)),
                        Verdict::Skip { .. } => ("skipping", None),
                        Verdict::Quarantine { .. } => ("quarantined", None),
                    };
                    if let Some(at) = next {
                        step.wake_at_ms = Some(step.wake_at_ms.map_or(at, |w| w.min(at)));
                    }
                    m.shown = (state, verdict.reason().to_string(), next);
                    let key = (verdict.word(), verdict.reason().to_string());
                    if let Verdict::Act { .. } = verdict {
                        m.busy = true;
                        m.actions.push(now_ms);
                        m.since_reset += 1;
                        m.last_action_ms = Some(now_ms);
                        m.told = None;
                    } else if m.told.as_ref() == Some(&key) {
                        continue;
                    } else {
                        m.told = Some(key);
                    }
                    if let Verdict::Quarantine { reason } = &verdict {
                        m.quarantined = Some(reason.clone());
                    }
                    step.decisions.push(Decision {
                        service: input.service.clone(),
                        container: input.container.as_ref().map(|c| c.name.clone()),
                        at_ms: now_ms,
                        verdict,
                    });
                }
            }
        }
        step
    }

    fn consider(&mut self, now_ms: i64, input: &ServiceInput) -> Outcome {
        let deps: Vec<(String, ServiceStatus, i64)> = input
            .depends_on
            .iter()
            .filter_map(|d| {
                self.services
                    .get(d)
                    .map(|m| (d.clone(), m.status, m.since_ms))
            })
            .collect();
        let Some(m) = self.services.get_mut(&input.service) else {
            return Outcome::Show("off", String::new(), None);
        };
        let Some(policy) = input.policy.as_ref().filter(|p| p.enabled) else {
            return Outcome::Show("off", "no heal policy".into(), None);
        };
        let within = i64::try_from(policy.limit.within_ms).unwrap_or(i64::MAX);
        m.actions.retain(|at| now_ms.saturating_sub(*at) < within);
        if input.status == ServiceStatus::Healthy {
            m.told = None;
            let reset = i64::try_from(policy.backoff.reset_after_ms).unwrap_or(i64::MAX);
            if m.since_reset > 0 && now_ms.saturating_sub(m.since_ms) >= reset {
                m.since_reset = 0;
            }
        }
        if let Some(why) = &m.quarantined {
            return Outcome::Show("quarantined", why.clone(), None);
        }
        if m.busy {
            return Outcome::Show("acting", "an action is under way".into(), None);
        }
        let failing = input.log_trigger.is_some()
            || trigger_of(input.status).is_some_and(|t| policy.on.contains(&t));
        if !failing {
            let detail = match m.since_reset {
                0 => format!("{}; acts on {}", input.status.word(), words(&policy.on)),
                n => format!(
                    "{}; {n} action(s) since its backoff last reset",
                    input.status.word()
                ),
            };
            return Outcome::Show("watching", detail, None);
        }
        let lasted = now_ms.saturating_sub(m.since_ms);
        if input.log_trigger.is_none() {
            let needed = if input.status == ServiceStatus::Degraded {
                policy.degraded_after_ms
            } else {
                policy.after_ms
            };
            let needed = i64::try_from(needed).unwrap_or(i64::MAX);
            if lasted < needed {
                return Outcome::Show(
                    "waiting",
                    format!(
                        "{} for {} of the {} it must last",
                        input.status.word(),
                        human_duration_ms(lasted),
                        human_duration_ms(needed)
                    ),
                    Some(m.since_ms.saturating_add(needed)),
                );
            }
        }
        let Some(container) = &input.container else {
            return Outcome::Decide(Verdict::Skip {
                reason: "it has no container; recreating one is the recovery wizard's job (stackwarden recover)".into(),
            });
        };
        let grace = i64::try_from(policy.start_grace_ms).unwrap_or(i64::MAX);
        if let (true, None, Some(started)) = (
            container.running,
            &input.log_trigger,
            container.started_at_ms,
        ) {
            let ready_at = started.saturating_add(grace);
            if now_ms < ready_at {
                return Outcome::Show(
                    "waiting",
                    format!(
                        "it started {} ago and may take {} to be ready",
                        human_duration_ms(now_ms - started),
                        human_duration_ms(grace)
                    ),
                    Some(ready_at),
                );
            }
        }
        if !container.running {
            match &container.stop {
                StopVerdict::Settling { until_ms } => {
                    return Outcome::Show(
                        "waiting",
                        "it just exited; reading why".into(),
                        Some(*until_ms),
                    )
                }
                StopVerdict::Person(how) => {
                    return Outcome::Decide(Verdict::Skip {
                        reason: format!("a person stopped it ({how}); it stays stopped until started again"),
                    })
                }
                StopVerdict::Unknown => {
                    return Outcome::Decide(Verdict::Skip {
                        reason: "it was already stopped when the watch began, and nobody saw why; it is left as it is".into(),
                    })
                }
                StopVerdict::Unexplained => {
                    return Outcome::Decide(Verdict::Skip {
                        reason: "it stopped and the engine has not said how (no `die` event came); it is left as it is until the engine does".into(),
                    })
                }
                StopVerdict::Exited => {}
            }
            if engine_takes_care(&container.restart_policy, container.exit_code) {
                let grace = i64::try_from(policy.engine_grace_ms).unwrap_or(i64::MAX);
                let until = m.since_ms.saturating_add(grace);
                if now_ms < until {
                    return Outcome::Decide(Verdict::Wait {
                        until_ms: until,
                        reason: format!(
                            "its restart policy `{}` lets the engine start it; the healer steps in after {} if it has not",
                            container.restart_policy,
                            human_duration_ms(grace)
                        ),
                    });
                }
            }
        }
        for (dep, status, since) in &deps {
            match status {
                ServiceStatus::Down | ServiceStatus::Unhealthy | ServiceStatus::Unknown => {
                    return Outcome::Decide(Verdict::Skip {
                        reason: format!(
                            "it depends on {dep}, which is {}; {dep} comes first",
                            status.word()
                        ),
                    })
                }
                ServiceStatus::Healthy if now_ms < since + DEPENDENCY_SETTLE_MS => {
                    return Outcome::Show(
                        "waiting",
                        format!("{dep} is healthy again; giving it a moment to settle"),
                        Some(since + DEPENDENCY_SETTLE_MS),
                    )
                }
                _ => {}
            }
        }
        if policy.action == HealAction::Start && container.running {
            return Outcome::Decide(Verdict::Skip {
                reason: format!(
                    "its policy only starts stopped containers, and it is running ({})",
                    input.status.word()
                ),
            });
        }
        let limit = policy.limit;
        if m.actions.len() >= usize::try_from(limit.actions).unwrap_or(usize::MAX) {
            return Outcome::Decide(Verdict::Quarantine {
                reason: format!(
                    "{} action(s) within {} did not keep it healthy; the healer leaves it to you until you release it",
                    m.actions.len(),
                    human_duration_ms(i64::try_from(limit.within_ms).unwrap_or(i64::MAX))
                ),
            });
        }
        if let Some(last) = m.last_action_ms.filter(|_| m.since_reset > 0) {
            let delay = i64::try_from(policy.backoff.delay_ms(m.since_reset)).unwrap_or(i64::MAX);
            let next = last.saturating_add(delay);
            if now_ms < next {
                let reason = format!(
                    "backoff after {} action(s): next try {} after the last",
                    m.since_reset,
                    human_duration_ms(delay)
                );
                // Still failing from before the action (it has not had
                // time to come back): shown, not recorded as a new wait.
                if m.since_ms <= last {
                    return Outcome::Show("waiting", reason, Some(next));
                }
                return Outcome::Decide(Verdict::Wait {
                    until_ms: next,
                    reason,
                });
            }
        }
        let why = match &input.log_trigger {
            Some(line) => format!("a log line matched: {line}"),
            None => format!(
                "{} for {}: {}",
                input.status.word(),
                human_duration_ms(lasted),
                input.reason
            ),
        };
        Outcome::Decide(Verdict::Act {
            action: policy.action,
            start: !container.running,
            reason: why,
        })
    }

    /// Takes up what the history says the healer did to `service` before
    /// this one started (the watch restarted): its actions at `acted_ms`
    /// count towards backoff and cap, and a quarantine not released stays.
    pub fn remember(
        &mut self,
        service: &str,
        acted_ms: &[i64],
        quarantined: Option<String>,
        now_ms: i64,
    ) {
        let m = self
            .services
            .entry(service.to_string())
            .or_insert_with(|| Memory::new(ServiceStatus::Unknown, now_ms));
        m.actions = acted_ms.to_vec();
        m.actions.sort_unstable();
        m.since_reset = u32::try_from(m.actions.len()).unwrap_or(u32::MAX);
        m.last_action_ms = m.actions.last().copied();
        if quarantined.is_some() {
            m.quarantined = quarantined;
        }
    }

    /// The action on `service` is over.
    pub fn finished(&mut self, service: &str) {
        if let Some(m) = self.services.get_mut(service) {
            m.busy = false;
        }
    }

    /// A person lets the healer act on `service` again: quarantine lifted,
    /// backoff and cap counted from zero. False when it was not known.
    pub fn release(&mut self, service: &str) -> bool {
        let Some(m) = self.services.get_mut(service) else {
            return false;
        };
        m.quarantined = None;
        m.actions.clear();
        m.since_reset = 0;
        m.last_action_ms = None;
        m.told = None;
        true
    }

    pub fn is_quarantined(&self, service: &str) -> bool {
        self.services
            .get(service)
            .is_some_and(|m| m.quarantined.is_some())
    }

    /// Every service's healing, in `order`.
    pub fn states<'a>(&self, order: impl IntoIterator<Item = &'a str>) -> Vec<HealState> {
        order
            .into_iter()
            .filter_map(|name| {
                let m = self.services.get(name)?;
                let policy = self.policies.get(name).cloned().flatten();
                let on = policy.as_ref().is_some_and(|p| p.enabled);
                Some(HealState {
                    service: name.to_string(),
                    state: if on { m.shown.0 } else { "off" }.to_string(),
                    detail: if on {
                        m.shown.1.clone()
                    } else {
                        "no heal policy".into()
                    },
                    recent_actions: u32::try_from(m.actions.len()).unwrap_or(u32::MAX),
                    next_at_ms: m.shown.2,
                    policy,
                })
            })
            .collect()
    }
}

fn words(on: &[Trigger]) -> String {
    on.iter().map(|t| t.word()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
