//! Qdrant's collections up close: `GET /collections/{name}` for each
//! collection the stack file names gives its status (`green`, `yellow`
//! while optimising, `grey` with optimisations pending, `red` when an
//! operation failed), `points_count` and `indexed_vectors_count`. A red
//! collection fails the probe. The answer's shape is not trusted: a field
//! that is missing or of the wrong type is simply not known.

use serde_json::Value;
use stackwarden_health::ConditionResult;

use crate::error::ProbeError;
use crate::http::{Body, HttpClient};
use crate::values::{bounded, QdrantCollection, QdrantValues};
use crate::{check, endpoint_at, human_size};

/// What the collection reads found: values, and each collection's check
/// by its name.
pub(crate) struct QdrantSeen {
    pub values: QdrantValues,
    pub checks: Vec<(String, ConditionResult)>,
}

/// Reads each of `names` under `base`. A missing collection (404) is left to
/// the "exists" check of the list; any other failure is a failed check.
pub(crate) async fn collections(
    http: &HttpClient,
    base: &str,
    names: &[String],
    max_body: u64,
) -> Result<QdrantSeen, ProbeError> {
    let mut seen = QdrantSeen {
        values: QdrantValues::default(),
        checks: Vec::new(),
    };
    let reads = names.iter().map(|name| async move {
        let url = endpoint_at(base, &["collections", name]);
        (name, http.get(&url, max_body).await)
    });
    for (name, answer) in futures_util::future::join_all(reads).await {
        let answer = answer?;
        if answer.status == 404 {
            continue;
        }
        let what = format!("collection {name} is not red");
        let json = match &answer.body {
            Body::Complete(b) => serde_json::from_slice::<Value>(b).ok(),
            Body::OverLimit(limit) => {
                let over = format!("body over {}", human_size(*limit));
                seen.checks.push((name.clone(), check(what, false, over)));
                continue;
            }
        };
        if !(200..300).contains(&answer.status) {
            let status = format!("status {}", answer.status);
            seen.checks.push((name.clone(), check(what, false, status)));
            continue;
        }
        match json.as_ref().and_then(read_collection) {
            Some(c) => {
                let observed = match c.points_count {
                    Some(n) => format!("{}, {n} points", c.status),
                    None => c.status.clone(),
                };
                seen.checks
                    .push((name.clone(), check(what, c.status != "red", observed)));
                seen.values.collections.insert(name.clone(), c);
            }
            None => seen.checks.push((
                name.clone(),
                check(what, false, "no collection status in the answer"),
            )),
        }
    }
    Ok(seen)
}

/// One collection from `GET /collections/{name}`'s `result`.
pub(crate) fn read_collection(json: &Value) -> Option<QdrantCollection> {
    let result = json.get("result")?;
    let status = result.get("status")?.as_str()?;
    let count = |k: &str| result.get(k).and_then(Value::as_u64);
    Some(QdrantCollection {
        status: bounded(status),
        points_count: count("points_count"),
        indexed_vectors_count: count("indexed_vectors_count"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn reads_the_documented_answer() {
        let answer = json!({
            "result": {
                "status": "green",
                "optimizer_status": "ok",
                "indexed_vectors_count": 1200,
                "points_count": 1234,
                "segments_count": 2,
                "config": {"params": {"vectors": {"size": 384, "distance": "Cosine"}}},
                "payload_schema": {}
            },
            "status": "ok",
            "time": 0.0001
        });
        assert_eq!(
            read_collection(&answer),
            Some(QdrantCollection {
                status: "green".into(),
                points_count: Some(1234),
                indexed_vectors_count: Some(1200),
            })
        );
        let red = json!({"result": {"status": "red", "points_count": null}});
        assert_eq!(
            read_collection(&red).map(|c| (c.status, c.points_count)),
            Some(("red".to_string(), None))
        );
        assert_eq!(
            read_collection(&json!({"status": {"error": "Not found"}})),
            None
        );
        assert_eq!(read_collection(&json!({"result": {"status": 3}})), None);
    }

    proptest! {
        #[test]
        fn any_bytes_read_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
                let _ = read_collection(&v);
            }
        }

        #[test]
        fn any_status_text_is_kept_bounded(status in "\\PC{0,400}", points in any::<u64>()) {
            let v = json!({"result": {"status": status, "points_count": points}});
            let c = read_collection(&v);
            prop_assert!(c.is_some());
            let c = c.unwrap_or_default();
            prop_assert!(c.status.chars().count() <= crate::values::MAX_TEXT_CHARS + 1);
            prop_assert_eq!(c.points_count, Some(points));
        }
    }
}
