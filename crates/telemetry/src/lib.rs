//! The AI services' telemetry: JSON Lines event files such as
//! `aidb-events.jsonl`, one event per line, in whatever schema each service
//! chose. This crate reads one line into an [`Event`]: the timestamp (ISO
//! 8601, or epoch seconds or milliseconds), the event type, the service, a
//! latency and whether it failed, each found by the names services
//! commonly use or by a [`FieldMapping`] from the stack file. A line that
//! cannot be read is a [`Malformed`] with its reason, never a panic: the
//! follower counts it and goes on.

mod line;

pub use line::{parse_line, Event, FieldMapping, Malformed, MAX_LINE_BYTES};
