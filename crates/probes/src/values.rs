//! What a typed probe read from its service, by name: the values its
//! conditions test (`len([TOOLS]) >= 5`, `[SLOTS_BUSY] < 4`,
//! `[COLLECTIONS].documents.points_count > 0`), the window shows beside the
//! probe and the recovery fingerprint compares.
//!
//! One struct per kind, serialised with the names a condition writes
//! (`SLOTS_BUSY`): the JSON object a condition reads and the TypeScript type
//! the window reads are the same thing, so a name cannot drift between
//! them. `ProbeKind::value_names` (stack crate) lists the same names for the
//! loader; a test below holds the two together.
//!
//! Everything here came from a service and is hostile: texts are cut to
//! [`MAX_TEXT_CHARS`], lists to [`MAX_LIST`] items, before they are kept.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

/// The longest text kept from a service (a model path, a tool name).
pub const MAX_TEXT_CHARS: usize = 200;
/// The most items kept of a list from a service (tool names).
pub const MAX_LIST: usize = 500;

/// `text` cut to [`MAX_TEXT_CHARS`] characters, control characters dropped.
pub(crate) fn bounded(text: &str) -> String {
    let mut out: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT_CHARS)
        .collect();
    if text.chars().filter(|c| !c.is_control()).count() > MAX_TEXT_CHARS {
        out.push('…');
    }
    out
}

/// What one typed probe read, tagged with its kind.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[ts(export, export_to = "bindings/")]
pub enum ProbeValues {
    Llama(LlamaValues),
    Qdrant(QdrantValues),
    Postgres(PostgresValues),
    Redis(RedisValues),
    Mcp(McpValues),
}

impl ProbeValues {
    /// The values as conditions read them: an object keyed by name.
    pub fn named(&self) -> Value {
        let inner = match self {
            Self::Llama(v) => serde_json::to_value(v),
            Self::Qdrant(v) => serde_json::to_value(v),
            Self::Postgres(v) => serde_json::to_value(v),
            Self::Redis(v) => serde_json::to_value(v),
            Self::Mcp(v) => serde_json::to_value(v),
        };
        inner.unwrap_or(Value::Null)
    }
}

/// A llama.cpp server: `/props`, `/v1/models`, `/slots` and, when the server
/// runs with `--metrics`, `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[ts(export, export_to = "bindings/")]
pub struct LlamaValues {
    /// The loaded model; `null` when none is loaded (the probe fails).
    pub model: Option<LlamaModel>,
    /// Context size per slot (`n_ctx`).
    pub n_ctx: Option<u32>,
    /// Parallel slots (`--parallel`).
    pub slots_total: Option<u32>,
    /// Slots processing a request now; `null` when `/slots` is disabled.
    pub slots_busy: Option<u32>,
    /// Whether `/metrics` is enabled (`--metrics`).
    pub metrics: bool,
    /// Average generation throughput (`llamacpp:predicted_tokens_seconds`).
    pub tokens_per_second: Option<f64>,
    /// Average prompt throughput (`llamacpp:prompt_tokens_seconds`).
    pub prompt_tokens_per_second: Option<f64>,
    /// Requests being processed (`llamacpp:requests_processing`).
    pub requests_processing: Option<f64>,
    /// Requests waiting for a slot (`llamacpp:requests_deferred`).
    pub requests_deferred: Option<f64>,
}

/// The model a llama.cpp server has loaded (`[MODEL].id`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct LlamaModel {
    /// `/v1/models` id: the `--alias`, else the model file's path.
    pub id: String,
    /// `/props` `model_path`.
    pub path: Option<String>,
    /// Parameters, from `/v1/models` `meta.n_params`.
    #[ts(type = "number | null")]
    pub n_params: Option<u64>,
    /// Bytes of the model file, from `/v1/models` `meta.size`.
    #[ts(type = "number | null")]
    pub size: Option<u64>,
    /// Context the model was trained with (`meta.n_ctx_train`).
    pub n_ctx_train: Option<u32>,
}

/// Qdrant: each configured collection from `GET /collections/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[ts(export, export_to = "bindings/")]
pub struct QdrantValues {
    /// By collection name; a collection that could not be read is absent.
    pub collections: BTreeMap<String, QdrantCollection>,
}

/// One Qdrant collection (`[COLLECTIONS].documents.points_count`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct QdrantCollection {
    /// `green`, `yellow` (optimising), `grey` or `red` (failed).
    pub status: String,
    #[ts(type = "number | null")]
    pub points_count: Option<u64>,
    #[ts(type = "number | null")]
    pub indexed_vectors_count: Option<u64>,
}

/// PostgreSQL: row estimates of the required tables, pgvector's version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[ts(export, export_to = "bindings/")]
pub struct PostgresValues {
    /// Estimated rows by required table (the planner's `reltuples` or the
    /// statistics' `n_live_tup`, whichever is higher); `null` when the
    /// table is missing or has never been counted.
    #[ts(type = "Record<string, number | null>")]
    pub rows: BTreeMap<String, Option<i64>>,
    /// `extversion` of the `vector` extension; `null` when not installed.
    pub pgvector: Option<String>,
}

/// Redis: memory, keys and the last save.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[ts(export, export_to = "bindings/")]
pub struct RedisValues {
    /// Bytes (`INFO memory` `used_memory`).
    #[ts(type = "number | null")]
    pub used_memory: Option<u64>,
    /// Keys of the selected database (`DBSIZE`).
    #[ts(type = "number | null")]
    pub keys: Option<u64>,
    /// Last successful RDB save, seconds since the Unix epoch
    /// (`rdb_last_save_time`).
    #[ts(type = "number | null")]
    pub last_save: Option<i64>,
    /// `ok` or `err` (`rdb_last_bgsave_status`).
    pub last_bgsave_status: Option<String>,
}

/// An MCP server, from `initialize` and `tools/list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[ts(export, export_to = "bindings/")]
pub struct McpValues {
    /// The protocol version the server agreed to, e.g. `2025-06-18`.
    pub protocol: String,
    /// `serverInfo.name`.
    pub server: String,
    /// `serverInfo.version`.
    pub server_version: String,
    /// Tool names in the server's order (at most [`MAX_LIST`]).
    pub tools: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackwarden_stack::ProbeKind;

    fn keys(v: &ProbeValues) -> Vec<String> {
        let mut k: Vec<String> = v
            .named()
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        k.sort();
        k
    }

    fn names(kind: ProbeKind) -> Vec<String> {
        let mut n: Vec<String> = kind.value_names().iter().map(|s| s.to_string()).collect();
        n.sort();
        n
    }

    #[test]
    fn each_kind_gives_exactly_the_names_the_loader_accepts() {
        let url = || "http://x".to_string();
        let pairs = [
            (
                ProbeValues::Llama(LlamaValues::default()),
                ProbeKind::Llama { url: url() },
            ),
            (
                ProbeValues::Qdrant(QdrantValues::default()),
                ProbeKind::Qdrant {
                    url: url(),
                    collections: Vec::new(),
                },
            ),
            (
                ProbeValues::Postgres(PostgresValues::default()),
                ProbeKind::Postgres {
                    url: url(),
                    password_env: None,
                    tables: Vec::new(),
                    extensions: Vec::new(),
                },
            ),
            (
                ProbeValues::Redis(RedisValues::default()),
                ProbeKind::Redis {
                    url: url(),
                    require_persistence: false,
                },
            ),
            (
                ProbeValues::Mcp(McpValues::default()),
                ProbeKind::Mcp { url: url() },
            ),
        ];
        for (values, kind) in pairs {
            assert_eq!(keys(&values), names(kind.clone()), "{kind:?}");
        }
    }

    #[test]
    fn service_text_is_bounded() {
        assert_eq!(bounded("gpt\u{7}\n-oss"), "gpt-oss");
        let long = "x".repeat(MAX_TEXT_CHARS + 5);
        assert_eq!(bounded(&long).chars().count(), MAX_TEXT_CHARS + 1);
    }

    #[test]
    fn the_window_gets_the_kind_and_the_names() {
        let v = ProbeValues::Mcp(McpValues {
            protocol: "2025-06-18".into(),
            server: "aidb".into(),
            server_version: "1.0".into(),
            tools: vec!["search".into()],
        });
        let json = serde_json::to_value(&v).unwrap_or_default();
        assert_eq!(json["kind"], "mcp");
        assert_eq!(json["TOOLS"][0], "search");
        assert!(v.named().get("kind").is_none());
    }
}
