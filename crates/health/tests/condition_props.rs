//! The condition parser takes text from the user's stack file: whatever that
//! text is, parsing and evaluating never panic, and a condition that parses
//! parses again from its own text.

use proptest::prelude::*;
use serde_json::json;
use stackwarden_health::{Condition, Observation};

/// Fragments conditions are made of, plus the characters that broke the
/// parser before (multi-byte ones next to comparators and brackets).
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[STATUS]".to_string()),
        Just("[RESPONSE_TIME]".to_string()),
        Just("[CONNECTED]".to_string()),
        Just("[BODY]".to_string()),
        Just("len(".to_string()),
        Just(")".to_string()),
        Just(".".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("==".to_string()),
        Just("!=".to_string()),
        Just("<=".to_string()),
        Just(">=".to_string()),
        Just("<".to_string()),
        Just(">".to_string()),
        Just(" ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("ms".to_string()),
        Just("s".to_string()),
        Just("1e400".to_string()),
        Just("99999999999999999999".to_string()),
        Just("-0.5".to_string()),
        Just("NaN".to_string()),
        Just("größe".to_string()),
        Just("ö".to_string()),
        Just("名".to_string()),
        Just("😀".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{202e}".to_string()),
        "[a-z0-9_]{1,6}",
        any::<char>().prop_map(String::from),
    ]
}

fn assembled() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..12).prop_map(|parts| parts.concat())
}

fn bodies() -> Vec<serde_json::Value> {
    vec![
        json!({"status": "ok", "größe": 1, "collections": ["a", "b"], "n": 5}),
        json!([1, "2", null, {"a": []}]),
        json!("text"),
        json!(1e300),
        json!(null),
    ]
}

fn exercise(text: &str) {
    let Ok(condition) = text.parse::<Condition>() else {
        return;
    };
    let again = condition.to_string().parse::<Condition>();
    assert!(
        again.is_ok(),
        "{text:?} parsed, its text {condition} did not"
    );
    for body in bodies() {
        for status in [None, Some(0), Some(200), Some(u16::MAX)] {
            let obs = Observation {
                status,
                response_time_ms: Some(f64::MAX),
                connected: Some(false),
                body: Some(&body),
                values: None,
            };
            let r = condition.evaluate(&obs);
            assert_eq!(r.condition, condition.to_string());
        }
    }
    let _ = condition.evaluate(&Observation::default());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        exercise(&text);
    }

    #[test]
    fn condition_like_text_never_panics(text in assembled()) {
        exercise(&text);
    }

    #[test]
    fn errors_point_inside_the_text(text in assembled()) {
        if let Err(e) = text.parse::<Condition>() {
            prop_assert!(e.column >= 1);
            prop_assert!(e.column <= text.chars().count() + 1, "{text:?}: {e}");
        }
    }
}
