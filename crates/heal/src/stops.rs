//! Who stopped a container, from the engine's events, so the healer never
//! starts again what a person stopped.
//!
//! What each engine says (checked against Podman 4.3 and Docker):
//! - Docker, and Podman from 4.7 on, send a `stop` event after `die` when
//!   a container was stopped (`docker stop`, `podman stop`, the API);
//! - Podman 4.3 sends no `stop` event, but its stop cleans up the
//!   container itself, besides the cleanup its monitor (conmon) runs on
//!   every exit: a `die` followed by two `cleanup` events is a stop, one
//!   `cleanup` is an exit on its own (a crash, `kill -9`, `podman kill`).
//!   The two come within milliseconds of each other, but under load up to
//!   seconds after the `die`: on Podman the verdict waits for the first
//!   cleanup, then [`SECOND_CLEANUP_MS`] for a second;
//! - a `kill` event is a person killing it: treated like a crash, since
//!   that is what a drill and a failure test do, and what the healer is
//!   for.
//!
//! Stops that Stackwarden itself makes are noted directly ([`StopWatch::note_own_stop`]).

use std::collections::HashMap;

/// How long after a `die` arrives the events that tell a stop from a crash
/// may still arrive (Podman's second `cleanup` came within 200 ms here).
pub const STOP_SETTLE_MS: i64 = 500;
/// On Podman: how long after the first `cleanup` a second one (a stop's)
/// may still come.
pub const SECOND_CLEANUP_MS: i64 = 300;
/// On Podman: how long after a `die` the first `cleanup` may come before
/// the exit is taken as it is.
pub const CLEANUP_WAIT_MS: i64 = 5_000;

/// How long a container seen running and now stopped waits for its `die`
/// event (the engine's events may lag its state under load); after that it
/// is [`StopVerdict::Unexplained`], never taken for a crash: a person's stop
/// whose events were lost must not be undone.
pub const EVENT_WAIT_MS: i64 = 2_000;

/// What is known about why a container is not running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopVerdict {
    /// It exited moments ago; wait until then to know.
    Settling { until_ms: i64 },
    /// A person (or a tool on their behalf) stopped it, and how we know.
    Person(String),
    /// It exited on its own, or was killed.
    Exited,
    /// It was not running when the watch began: nobody saw why.
    Unknown,
    /// It was seen running and stopped, but the engine's events said
    /// nothing (they lag, or their stream broke): not taken for a crash.
    Unexplained,
}

#[derive(Debug, Clone, Default)]
struct Seen {
    /// When its `die` arrived (not the engine's stamp: events can lag).
    died_at_ms: Option<i64>,
    cleanups: u32,
    first_cleanup_ms: Option<i64>,
    stopped: Option<String>,
    /// Seen running by this watch, and since when stopped.
    was_running: bool,
    down_since_ms: Option<i64>,
}

/// The recent lifecycle events of each container, by name.
#[derive(Debug, Clone, Default)]
pub struct StopWatch {
    containers: HashMap<String, Seen>,
    /// The engine is Podman: exits are told apart by their cleanups.
    podman: bool,
}

impl StopWatch {
    /// Feeds one container event (`die`, `stop`, `cleanup`, `start`, ...)
    /// as it arrives at `at_ms`.
    pub fn on_event(&mut self, container: &str, action: &str, at_ms: i64) {
        let seen = self.containers.entry(container.to_string()).or_default();
        match action {
            "start" | "init" | "restart" | "create" => {
                *seen = Seen {
                    was_running: seen.was_running,
                    ..Seen::default()
                }
            }
            "die" | "died" => {
                seen.died_at_ms = Some(at_ms);
                seen.cleanups = 0;
            }
            "stop" => seen.stopped = Some("the engine reported a stop".to_string()),
            "pause" => seen.stopped = Some("paused".to_string()),
            "unpause" => seen.stopped = None,
            "cleanup" if seen.died_at_ms.is_some() => {
                seen.cleanups += 1;
                seen.first_cleanup_ms.get_or_insert(at_ms);
                if seen.cleanups >= 2 && seen.stopped.is_none() {
                    seen.stopped = Some("stopped with podman stop".to_string());
                }
            }
            "destroy" | "remove" => {
                self.containers.remove(container);
            }
            _ => {}
        }
    }

    /// Whether the engine is Podman (its stop sends no `stop` event).
    pub fn set_podman(&mut self, podman: bool) {
        self.podman = podman;
    }

    /// What the engine's state says of `container` now.
    pub fn observe(&mut self, container: &str, running: bool, now_ms: i64) {
        let seen = self.containers.entry(container.to_string()).or_default();
        if running {
            seen.was_running = true;
            seen.down_since_ms = None;
        } else if seen.was_running && seen.down_since_ms.is_none() {
            seen.down_since_ms = Some(now_ms);
        }
    }

    /// Stackwarden is about to stop `container` at a person's request.
    pub fn note_own_stop(&mut self, container: &str, how: &str) {
        let seen = self.containers.entry(container.to_string()).or_default();
        seen.stopped = Some(how.to_string());
    }

    /// Why `container` (not running) is not running, as of `now_ms`.
    pub fn verdict(&self, container: &str, now_ms: i64) -> StopVerdict {
        let Some(seen) = self.containers.get(container) else {
            return StopVerdict::Unknown;
        };
        if let Some(how) = &seen.stopped {
            return StopVerdict::Person(how.clone());
        }
        if let (true, Some(died)) = (self.podman, seen.died_at_ms) {
            let until = match seen.first_cleanup_ms {
                Some(first) => first + SECOND_CLEANUP_MS,
                None => died + CLEANUP_WAIT_MS,
            };
            return if now_ms < until {
                StopVerdict::Settling { until_ms: until }
            } else {
                StopVerdict::Exited
            };
        }
        match (seen.died_at_ms, seen.down_since_ms) {
            (Some(at), _) if now_ms < at + STOP_SETTLE_MS => StopVerdict::Settling {
                until_ms: at + STOP_SETTLE_MS,
            },
            (Some(_), _) => StopVerdict::Exited,
            (None, Some(down)) if now_ms < down + EVENT_WAIT_MS => StopVerdict::Settling {
                until_ms: down + EVENT_WAIT_MS,
            },
            (None, Some(_)) => StopVerdict::Unexplained,
            (None, None) => StopVerdict::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(events: &[(&str, i64)]) -> StopWatch {
        let mut w = StopWatch::default();
        for (action, at) in events {
            w.on_event("db", action, *at);
        }
        w
    }

    #[test]
    fn podman_43_stop_is_a_die_with_two_cleanups() {
        let w = feed(&[("die", 0), ("cleanup", 150), ("cleanup", 152)]);
        assert!(matches!(w.verdict("db", 600), StopVerdict::Person(_)));
    }

    #[test]
    fn on_podman_a_late_cleanup_is_waited_for() {
        let mut w = StopWatch::default();
        w.set_podman(true);
        w.on_event("db", "die", 0);
        assert_eq!(
            w.verdict("db", 1500),
            StopVerdict::Settling {
                until_ms: CLEANUP_WAIT_MS
            }
        );
        w.on_event("db", "cleanup", 2000);
        assert_eq!(
            w.verdict("db", 2100),
            StopVerdict::Settling {
                until_ms: 2000 + SECOND_CLEANUP_MS
            }
        );
        assert_eq!(
            w.verdict("db", 2000 + SECOND_CLEANUP_MS),
            StopVerdict::Exited
        );
        w.on_event("db", "cleanup", 2001);
        assert!(matches!(w.verdict("db", 2400), StopVerdict::Person(_)));
    }

    #[test]
    fn a_crash_or_a_kill_has_one_cleanup() {
        let crash = feed(&[("die", 0), ("cleanup", 150)]);
        assert_eq!(crash.verdict("db", 600), StopVerdict::Exited);
        let kill = feed(&[("kill", 0), ("die", 40), ("cleanup", 200)]);
        assert_eq!(kill.verdict("db", 600), StopVerdict::Exited);
    }

    #[test]
    fn docker_stop_event_marks_a_person() {
        let w = feed(&[("kill", 0), ("die", 10), ("stop", 12)]);
        assert!(matches!(w.verdict("db", 100), StopVerdict::Person(_)));
    }

    #[test]
    fn until_the_settle_time_the_verdict_waits() {
        let w = feed(&[("die", 1000)]);
        assert_eq!(
            w.verdict("db", 1200),
            StopVerdict::Settling {
                until_ms: 1000 + STOP_SETTLE_MS
            }
        );
    }

    #[test]
    fn a_start_forgets_the_stop() {
        let w = feed(&[
            ("die", 0),
            ("cleanup", 1),
            ("cleanup", 2),
            ("start", 10),
            ("die", 20),
            ("cleanup", 30),
        ]);
        assert_eq!(w.verdict("db", 1000), StopVerdict::Exited);
    }

    #[test]
    fn a_container_seen_running_waits_for_its_die_event_then_counts_as_exited() {
        let mut w = StopWatch::default();
        w.observe("db", true, 0);
        w.observe("db", false, 100);
        assert_eq!(
            w.verdict("db", 200),
            StopVerdict::Settling {
                until_ms: 100 + EVENT_WAIT_MS
            }
        );
        w.on_event("db", "die", 300);
        w.on_event("db", "cleanup", 350);
        w.on_event("db", "cleanup", 360);
        assert!(matches!(w.verdict("db", 1000), StopVerdict::Person(_)));
        let mut silent = StopWatch::default();
        silent.observe("db", true, 0);
        silent.observe("db", false, 100);
        assert_eq!(
            silent.verdict("db", 100 + EVENT_WAIT_MS),
            StopVerdict::Unexplained
        );
        let mut never = StopWatch::default();
        never.observe("db", false, 0);
        assert_eq!(never.verdict("db", 10_000), StopVerdict::Unknown);
    }

    #[test]
    fn a_paused_container_is_a_persons_until_unpaused() {
        let w = feed(&[("pause", 0)]);
        assert_eq!(w.verdict("db", 10), StopVerdict::Person("paused".into()));
        let w = feed(&[("pause", 0), ("unpause", 5), ("die", 10), ("cleanup", 20)]);
        assert_eq!(w.verdict("db", 1000), StopVerdict::Exited);
    }

    #[test]
    fn unseen_containers_are_unknown() {
        assert_eq!(StopWatch::default().verdict("x", 0), StopVerdict::Unknown);
    }

    #[test]
    fn own_stops_are_a_person() {
        let mut w = StopWatch::default();
        w.note_own_stop("db", "stopped from Stackwarden");
        w.on_event("db", "die", 5);
        w.on_event("db", "cleanup", 6);
        assert_eq!(
            w.verdict("db", 1000),
            StopVerdict::Person("stopped from Stackwarden".into())
        );
    }
}
