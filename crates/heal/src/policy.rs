//! A service's heal policy (`x-stackwarden.heal` in the stack file, per
//! group and per service) as the healer uses it and the window shows it.

use serde::Serialize;
use ts_rs::TS;

/// A status the healer acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum Trigger {
    Down,
    Unhealthy,
    /// Only after [`HealPolicy::degraded_after_ms`].
    Degraded,
}

impl Trigger {
    pub fn word(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::Unhealthy => "unhealthy",
            Self::Degraded => "degraded",
        }
    }

    pub fn from_word(word: &str) -> Option<Self> {
        match word {
            "down" => Some(Self::Down),
            "unhealthy" => Some(Self::Unhealthy),
            "degraded" => Some(Self::Degraded),
            _ => None,
        }
    }
}

/// What the healer does. Recreating a container is the recovery wizard's
/// job, never the healer's: it can lose data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum HealAction {
    /// Restart a running container; start a stopped one.
    Restart,
    /// Start a container stopped by a crash; leave running ones alone.
    Start,
}

impl HealAction {
    pub fn word(self) -> &'static str {
        match self {
            Self::Restart => "restart",
            Self::Start => "start",
        }
    }
}

/// The wait between actions on one service: `initial` before the second,
/// multiplied by `factor` each time up to `cap`; back to none once the
/// service has been healthy for `reset_after`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Backoff {
    #[ts(type = "number")]
    pub initial_ms: u64,
    pub factor: f64,
    #[ts(type = "number")]
    pub cap_ms: u64,
    #[ts(type = "number")]
    pub reset_after_ms: u64,
}

impl Backoff {
    /// The wait before action number `done + 1` when `done` were taken
    /// since the last reset.
    pub fn delay_ms(&self, done: u32) -> u64 {
        if done == 0 {
            return 0;
        }
        let exponent = i32::try_from(done - 1).unwrap_or(i32::MAX);
        let wait = (self.initial_ms as f64) * self.factor.max(1.0).powi(exponent);
        if !wait.is_finite() || wait >= self.cap_ms as f64 {
            self.cap_ms
        } else {
            // Within 0..cap_ms by the test above.
            wait as u64
        }
    }
}

/// At most `actions` within `within`; one more would mean the healer is
/// not helping, so the service is quarantined instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct ActionLimit {
    pub actions: u32,
    #[ts(type = "number")]
    pub within_ms: u64,
}

/// What a log line matching a pattern does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum PatternEffect {
    /// The service shows unhealthy, with the line, until its container
    /// starts again.
    Unhealthy,
    /// The healer acts at once (with the same backoff and cap).
    Act,
}

/// A regular expression over a service's log lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct LogPattern {
    /// Validated by the stack loader (Rust `regex` syntax).
    pub pattern: String,
    pub effect: PatternEffect,
}

/// A service's heal policy.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct HealPolicy {
    /// Off: the healer watches nothing of this service (log patterns with
    /// `unhealthy` still mark it).
    pub enabled: bool,
    pub on: Vec<Trigger>,
    /// How long a status must last before the healer acts.
    #[ts(type = "number")]
    pub after_ms: u64,
    /// How long `degraded` must last (when `on` lists it).
    #[ts(type = "number")]
    pub degraded_after_ms: u64,
    /// How long a container that just started may be unhealthy or
    /// degraded before the healer counts it (it is still starting: a
    /// database replaying its log, a model loading), like compose's
    /// `start_period`. Down is acted on at once.
    #[ts(type = "number")]
    pub start_grace_ms: u64,
    pub action: HealAction,
    pub backoff: Backoff,
    pub limit: ActionLimit,
    /// How long the engine's own restart policy gets to bring a stopped
    /// container back before the healer steps in.
    #[ts(type = "number")]
    pub engine_grace_ms: u64,
    pub log_patterns: Vec<LogPattern>,
}

impl Default for HealPolicy {
    /// Off, with the limits the built-in stack uses when it turns it on:
    /// Kubernetes' backoff (10 s doubling to 5 min, reset after 10 min
    /// healthy) and at most 3 actions in 30 minutes.
    fn default() -> Self {
        Self {
            enabled: false,
            on: vec![Trigger::Down, Trigger::Unhealthy],
            after_ms: 0,
            degraded_after_ms: 5 * 60_000,
            start_grace_ms: 30_000,
            action: HealAction::Restart,
            backoff: Backoff {
                initial_ms: 10_000,
                factor: 2.0,
                cap_ms: 5 * 60_000,
                reset_after_ms: 10 * 60_000,
            },
            limit: ActionLimit {
                actions: 3,
                within_ms: 30 * 60_000,
            },
            engine_grace_ms: 15_000,
            log_patterns: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap() {
        let b = HealPolicy::default().backoff;
        let waits: Vec<u64> = (0..8).map(|n| b.delay_ms(n)).collect();
        assert_eq!(
            waits,
            [0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]
        );
        assert_eq!(b.delay_ms(u32::MAX), 300_000);
    }

    #[test]
    fn a_factor_below_one_never_shrinks_the_wait() {
        let b = Backoff {
            initial_ms: 1000,
            factor: 0.1,
            cap_ms: 5000,
            reset_after_ms: 0,
        };
        assert_eq!(b.delay_ms(5), 1000);
    }
}
