//! The AI services' telemetry: JSON Lines event files such as
//! `aidb-events.jsonl`, one event per line, in whatever schema each service
//! chose. [`parse_line`] reads one line into an [`Event`]: the timestamp
//! (ISO 8601, or epoch seconds or milliseconds), the event type, the
//! service, a latency and whether it failed, each found by the names
//! services commonly use or by a [`FieldMapping`] from the stack file. A
//! line that cannot be read is a [`Malformed`] with its reason, never a
//! panic. A [`Follower`] reads only what was appended to a file since its
//! [`Cursor`], into a [`Batch`] of per-minute aggregates.

mod aggregate;
mod follow;
mod line;

pub use aggregate::{
    fold_of, place_new_key, safe_text, BadLine, Batch, Histogram, MinuteKey, MinuteStats, Placed,
    RecentEvent, Totals, EXAMPLES_KEPT, MAX_FOLDED_SERVICES, MAX_KEYS_PER_MINUTE, MINUTE_MS, OTHER,
    RECENT_KEPT,
};
pub use follow::{Cursor, FileState, Follower, Polled, Sink, EXCERPT_BYTES};
pub use line::{
    parse_line, Event, FieldMapping, Malformed, EARLIEST_MS, LATEST_AHEAD_MS, MAX_LINE_BYTES,
    MAX_NAME_CHARS,
};
