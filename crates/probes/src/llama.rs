//! The llama.cpp server probe: what `llama-server` is doing, from its own
//! monitoring endpoints (tools/server/README.md of llama.cpp):
//!
//! - `GET /props`: `default_generation_settings.n_ctx`, `total_slots`,
//!   `model_path`; 503 while the model is loading;
//! - `GET /v1/models`: `data[0].id` and `meta` (`null` while loading);
//! - `GET /slots`: one object per slot, `is_processing` (disabled with
//!   `--no-slots`: 404/501, then busy slots are unknown);
//! - `GET /metrics`: Prometheus text, only with `--metrics` (404/501
//!   otherwise: not enabled, not a failure).
//!
//! "No model loaded" is its own result: the probe fails with that as what
//! was observed, whatever `/health` says. Every answer is read up to the
//! probe's `max_body` and parsed without trusting its shape.

use serde_json::Value;
use stackwarden_health::ConditionResult;

use crate::error::ProbeError;
use crate::http::{Body, HttpClient, HttpSeen};
use crate::values::{bounded, LlamaModel, LlamaValues};
use crate::{check, endpoint, human_size, prometheus};

/// What a llama probe saw.
pub(crate) struct LlamaSeen {
    pub checks: Vec<ConditionResult>,
    pub values: LlamaValues,
    /// `/props`' status, for `[STATUS]`.
    pub status: u16,
    pub elapsed_ms: f64,
}

/// One answer: its status and, when complete and JSON, the JSON; `Err`
/// with what to show when the body was over the limit.
struct Answer {
    status: u16,
    body: Result<bytes::Bytes, String>,
}

impl Answer {
    fn from(seen: HttpSeen) -> Self {
        Self {
            status: seen.status,
            body: match seen.body {
                Body::Complete(b) => Ok(b),
                Body::OverLimit(limit) => Err(format!("body over {}", human_size(limit))),
            },
        }
    }

    fn json(&self) -> Option<Value> {
        self.body
            .as_ref()
            .ok()
            .and_then(|b| serde_json::from_slice(b).ok())
    }

    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// 404 or 501: the endpoint is switched off.
    fn disabled(&self) -> bool {
        matches!(self.status, 404 | 501)
    }
}

async fn get(
    http: &HttpClient,
    base: &str,
    path: &str,
    max_body: u64,
) -> Result<Answer, ProbeError> {
    http.get(&endpoint(base, path), max_body)
        .await
        .map(Answer::from)
}

/// Runs the llama.cpp probe against the server at `base`.
pub(crate) async fn llama(
    http: &HttpClient,
    base: &str,
    max_body: u64,
) -> Result<LlamaSeen, ProbeError> {
    let started = std::time::Instant::now();
    // The first answer says whether the server is there at all.
    let props = get(http, base, "/props", max_body).await?;
    let (models, slots, metrics) = tokio::join!(
        get(http, base, "/v1/models", max_body),
        get(http, base, "/slots", max_body),
        get(http, base, "/metrics", max_body),
    );
    let (models, slots, metrics) = (models.ok(), slots.ok(), metrics.ok());

    let mut checks = Vec::new();
    let mut values = LlamaValues::default();
    let props_json = props.ok().then(|| props.json()).flatten();
    if let Err(over) = &props.body {
        checks.push(check("/props readable", false, over.clone()));
    }
    let from_props = props_json.as_ref().map(read_props).unwrap_or_default();
    values.n_ctx = from_props.n_ctx;
    values.slots_total = from_props.total_slots;

    let entry = models
        .as_ref()
        .filter(|m| m.ok())
        .and_then(Answer::json)
        .and_then(|j| j.pointer("/data/0").cloned());
    let loading = props.status == 503
        || entry
            .as_ref()
            .is_some_and(|e| e.get("meta").is_some_and(Value::is_null));
    let id = entry
        .as_ref()
        .and_then(|e| e.get("id"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(bounded)
        .or_else(|| from_props.model_path.clone());
    values.model = match id {
        Some(id) if props.ok() && !loading => {
            let meta = entry.as_ref().and_then(|e| e.get("meta"));
            let num = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_u64);
            Some(LlamaModel {
                id,
                path: from_props.model_path.clone(),
                n_params: num("n_params"),
                size: num("size"),
                n_ctx_train: num("n_ctx_train").and_then(|n| u32::try_from(n).ok()),
            })
        }
        _ => None,
    };
    let observed = match (&values.model, loading, props.status) {
        (Some(m), _, _) => m.id.clone(),
        (None, true, _) => "no model loaded (loading)".to_string(),
        (None, false, s) if !(200..300).contains(&s) => {
            format!("no model loaded (/props answered {s})")
        }
        (None, false, _) => "no model loaded".to_string(),
    };
    checks.push(check("model loaded", values.model.is_some(), observed));

    match &slots {
        Some(a) if a.ok() => match a.json().as_ref().and_then(read_slots) {
            Some((total, busy)) => {
                values.slots_total = Some(total);
                values.slots_busy = Some(busy);
            }
            None => checks.push(check(
                "/slots readable",
                false,
                a.body
                    .as_ref()
                    .err()
                    .cloned()
                    .unwrap_or_else(|| "not a list of slots".into()),
            )),
        },
        // Switched off (`--no-slots`), or busy with the model loading.
        _ => {}
    }

    match &metrics {
        Some(a) if a.ok() => match &a.body {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(bytes);
                values.metrics = true;
                let v = |name: &str| prometheus::value_of(&text, name);
                values.tokens_per_second = v("llamacpp:predicted_tokens_seconds");
                values.prompt_tokens_per_second = v("llamacpp:prompt_tokens_seconds");
                values.requests_processing = v("llamacpp:requests_processing");
                values.requests_deferred = v("llamacpp:requests_deferred");
            }
            Err(over) => checks.push(check("/metrics readable", false, over.clone())),
        },
        Some(a) if a.disabled() => {}
        Some(a) if loading && a.status == 503 => {}
        Some(a) => checks.push(check(
            "/metrics readable",
            false,
            format!("status {}", a.status),
        )),
        None => {}
    }
    Ok(LlamaSeen {
        checks,
        values,
        status: props.status,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// What `/props` says, whatever else it holds.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Props {
    pub n_ctx: Option<u32>,
    pub total_slots: Option<u32>,
    pub model_path: Option<String>,
}

fn small(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// Reads `/props`: `n_ctx` from `default_generation_settings` (or the top
/// level, as older servers put it), `total_slots`, `model_path`.
pub(crate) fn read_props(json: &Value) -> Props {
    Props {
        n_ctx: small(json.pointer("/default_generation_settings/n_ctx"))
            .or_else(|| small(json.get("n_ctx"))),
        total_slots: small(json.get("total_slots")),
        model_path: json
            .get("model_path")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(bounded),
    }
}

/// Reads `/slots`: how many slots, and how many are processing
/// (`is_processing`, or `state != 0` on older servers). `None` when it is
/// not a list.
pub(crate) fn read_slots(json: &Value) -> Option<(u32, u32)> {
    let list = json.as_array()?;
    let busy = list
        .iter()
        .filter(|s| match s.get("is_processing") {
            Some(v) => v.as_bool() == Some(true),
            None => s
                .get("state")
                .and_then(Value::as_u64)
                .is_some_and(|n| n != 0),
        })
        .count();
    Some((
        u32::try_from(list.len()).unwrap_or(u32::MAX),
        u32::try_from(busy).unwrap_or(u32::MAX),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn props_of_a_current_and_an_older_server() {
        let now = json!({
            "default_generation_settings": {"id": 0, "id_task": -1, "n_ctx": 8192, "is_processing": false},
            "total_slots": 4,
            "model_path": "/models/qwen2.5-7b-instruct-q4_k_m.gguf",
            "build_info": "b1-abc"
        });
        assert_eq!(
            read_props(&now),
            Props {
                n_ctx: Some(8192),
                total_slots: Some(4),
                model_path: Some("/models/qwen2.5-7b-instruct-q4_k_m.gguf".into()),
            }
        );
        let older = json!({"n_ctx": 2048, "total_slots": 1, "model_path": ""});
        assert_eq!(
            read_props(&older),
            Props {
                n_ctx: Some(2048),
                total_slots: Some(1),
                model_path: None
            }
        );
        assert_eq!(read_props(&json!("nonsense")), Props::default());
        assert_eq!(
            read_props(&json!({"n_ctx": -1, "total_slots": 1e30})),
            Props::default()
        );
    }

    #[test]
    fn slots_busy_and_total() {
        let slots = json!([
            {"id": 0, "id_task": 135, "n_ctx": 8192, "is_processing": true},
            {"id": 1, "id_task": -1, "n_ctx": 8192, "is_processing": false},
            {"id": 2, "state": 1},
            {"id": 3, "state": 0},
            "junk"
        ]);
        assert_eq!(read_slots(&slots), Some((5, 2)));
        assert_eq!(read_slots(&json!([])), Some((0, 0)));
        assert_eq!(read_slots(&json!({"error": "disabled"})), None);
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "\\PC{0,12}".prop_map(Value::from),
            prop_oneof![Just("is_processing"), Just("state"), Just("n_ctx")].prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("is_processing".to_string()),
                        Just("state".to_string()),
                        Just("n_ctx".to_string()),
                        Just("total_slots".to_string()),
                        Just("model_path".to_string()),
                        Just("default_generation_settings".to_string()),
                        "[a-z]{1,6}",
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_json_reads_without_panic(v in any_json()) {
            if let Some((total, busy)) = read_slots(&v) {
                prop_assert!(busy <= total);
            }
            let p = read_props(&v);
            if let Some(path) = p.model_path {
                prop_assert!(path.chars().count() <= crate::values::MAX_TEXT_CHARS + 1);
            }
        }

        #[test]
        fn any_bytes_read_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
                let _ = read_slots(&v);
                let _ = read_props(&v);
            }
        }
    }
}
