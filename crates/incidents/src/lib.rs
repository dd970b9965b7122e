//! Incidents: what went wrong, when, why, and when it was over, decided by
//! pure rules over what the runtime already knows (status transitions of
//! the stack's services, the engine being reachable or not), so they are
//! tested as tables like the health breakdown and the runtime only feeds
//! them and records what they decide.
//!
//! Rules:
//! - an incident opens when a service of a required group leaves healthy
//!   (degraded, unhealthy, down) or the engine becomes unreachable;
//! - a failure joins an open incident when it comes within
//!   [`FOLD_WITHIN_MS`] of that incident's last failure, or when its service
//!   depends on an affected service (or an affected one depends on it),
//!   directly or through others; otherwise it opens an incident of its own;
//! - the likely cause is the affected service that failed first; a
//!   dependent that failed after one of its dependencies says so ("aidb
//!   unhealthy 3 s after postgres went down");
//! - an incident closes when every affected service is healthy again (and
//!   the engine answers, if it was lost).

mod backfill;
mod lanes;
mod tracker;

pub use backfill::{signals_from_events, PastEvent};
pub use lanes::{availability, lanes, mean_time_to_recovery_ms, GapSpan, Lane, Segment};
pub use tracker::{Affected, Cause, Change, Incident, IncidentTracker, Signal, FOLD_WITHIN_MS};
