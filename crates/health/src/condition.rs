//! Probe conditions in the style of Gatus: `[STATUS] == 200`,
//! `[BODY].status == ok`, `len([BODY].collections) == 5`,
//! `[RESPONSE_TIME] < 150ms`, `[CONNECTED] == true`, and the named values
//! a typed probe or the telemetry gives: `len([TOOLS]) >= 5`,
//! `[ERROR_RATE] > 5%`.
//!
//! Grammar: `OPERAND COMPARATOR OPERAND`, where an operand is a placeholder
//! (`[STATUS]`, `[RESPONSE_TIME]`, `[CONNECTED]`, `[BODY]` with an optional
//! path like `.a.b[0]`, or a named value `[NAME]` in capitals, also with an
//! optional path), `len(PLACEHOLDER)`, or a literal (number, percentage
//! `5%` = 0.05, duration with `ms`/`s`, `true`/`false`, or text, quoted or
//! not).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// One step of a `[BODY]` path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PathStep {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Placeholder {
    Status,
    ResponseTime,
    Connected,
    Body(Vec<PathStep>),
    /// `[TOOLS]`, `[ERROR_RATE].x`: a value the probe kind names
    /// ([`Observation::values`]).
    Value(String, Vec<PathStep>),
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Placeholder(Placeholder),
    Len(Placeholder),
    Number(f64),
    /// Milliseconds.
    Duration(f64),
    Bool(bool),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Comparator {
    fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    fn ordering_holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Self::Eq => o == Equal,
            Self::Ne => o != Equal,
            Self::Lt => o == Less,
            Self::Le => o != Greater,
            Self::Gt => o == Greater,
            Self::Ge => o != Less,
        }
    }
}

/// A validated condition; `Display` gives back its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    text: String,
    left: Operand,
    comparator: Comparator,
    right: Operand,
}

/// Why a condition was rejected at load, with the column (1-based, in
/// characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("condition `{text}`, column {column}: {reason}")]
pub struct ConditionError {
    pub text: String,
    pub column: usize,
    pub reason: String,
}

/// What one probe run observed, for conditions to look at.
#[derive(Debug, Clone, Copy, Default)]
pub struct Observation<'a> {
    pub status: Option<u16>,
    pub response_time_ms: Option<f64>,
    pub connected: Option<bool>,
    /// The parsed JSON body, or `None` when there was none or it was not JSON.
    pub body: Option<&'a Value>,
    /// Named values (`[TOOLS]`, `[ERROR_RATE]`): a JSON object by name.
    pub values: Option<&'a Value>,
}

/// One condition's outcome with what was observed, for the "why" in the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct ConditionResult {
    pub condition: String,
    pub success: bool,
    /// The observed left-hand value, e.g. `503`, `"degraded"`, `3 items`, `212ms`.
    pub observed: String,
}

const COMPARATORS: [(&str, Comparator); 6] = [
    ("==", Comparator::Eq),
    ("!=", Comparator::Ne),
    ("<=", Comparator::Le),
    (">=", Comparator::Ge),
    ("<", Comparator::Lt),
    (">", Comparator::Gt),
];

impl FromStr for Condition {
    type Err = ConditionError;

    /// Never panics, whatever the text: every index below is at an ASCII
    /// byte (a comparator, a bracket) or a whitespace boundary.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |byte: usize, reason: String| ConditionError {
            text: text.to_string(),
            column: column(text, byte),
            reason,
        };
        let (at, comparator, width) = find_comparator(text).ok_or_else(|| {
            err(
                0,
                "no comparator; expected one of ==, !=, <, <=, >, >=".to_string(),
            )
        })?;
        let (left_text, comparator_and_right) = text.split_at(at);
        let right_text = comparator_and_right.get(width..).unwrap_or_default();
        let left = parse_operand(left_text).map_err(|r| err(leading(text), r))?;
        let right =
            parse_operand(right_text).map_err(|r| err(at + width + leading(right_text), r))?;
        if !matches!(left, Operand::Placeholder(_) | Operand::Len(_)) {
            return Err(err(
                leading(text),
                "the left side must be a placeholder such as [STATUS], [BODY].field or len([BODY].list)"
                    .to_string(),
            ));
        }
        check_types(&left, comparator, &right).map_err(|r| err(at, r))?;
        Ok(Self {
            text: text.trim().to_string(),
            left,
            comparator,
            right,
        })
    }
}

/// Bytes of leading whitespace.
fn leading(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

/// The 1-based column, in characters, of byte offset `byte` of `text`.
fn column(text: &str, byte: usize) -> usize {
    text.get(..byte)
        .map_or(byte, |before| before.chars().count())
        .saturating_add(1)
}

/// The first comparator outside quotes and brackets: byte position, kind,
/// width. Works on bytes: comparators, quotes and brackets are ASCII, and
/// no byte of a multi-byte UTF-8 character is ASCII, so a match always
/// starts and ends on a character boundary.
fn find_comparator(text: &str) -> Option<(usize, Comparator, usize)> {
    let bytes = text.as_bytes();
    let (mut quote, mut depth) = (None::<u8>, 0i64);
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'[' | b'(' => depth = depth.saturating_add(1),
                b']' | b')' => depth = depth.saturating_sub(1),
                _ if depth == 0 => {
                    let rest = bytes.get(i..).unwrap_or_default();
                    for (sym, c) in COMPARATORS {
                        if rest.starts_with(sym.as_bytes()) {
                            return Some((i, c, sym.len()));
                        }
                    }
                }
                _ => {}
            },
        }
    }
    None
}

/// A number as written (digits, sign, point, exponent). `None` when the text
/// is not one, including `inf` and `NaN` (which stay text); an error when it
/// is one but too large to be finite.
fn number(s: &str) -> Option<Result<f64, String>> {
    let numeric = |b: u8| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.');
    let looks_numeric = s.bytes().next().is_some_and(numeric)
        && s.bytes().all(|b| numeric(b) || matches!(b, b'e' | b'E'));
    if !looks_numeric {
        return None;
    }
    let n = s.parse::<f64>().ok()?;
    Some(if n.is_finite() {
        Ok(n)
    } else {
        Err(format!("`{s}` is too large a number"))
    })
}

fn parse_operand(raw: &str) -> Result<Operand, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("missing operand".to_string());
    }
    if let Some(inner) = s.strip_prefix("len(").and_then(|r| r.strip_suffix(')')) {
        return match parse_placeholder(inner.trim())? {
            Some(p @ (Placeholder::Body(_) | Placeholder::Value(..))) => Ok(Operand::Len(p)),
            Some(_) => Err("len() takes [BODY], a path below it, or a named value".to_string()),
            None => Err(format!("len() takes a placeholder, not `{inner}`")),
        };
    }
    if let Some(p) = parse_placeholder(s)? {
        return Ok(Operand::Placeholder(p));
    }
    if let Some(q) = s
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
    {
        return Ok(Operand::Text(q.to_string()));
    }
    match s {
        "true" => return Ok(Operand::Bool(true)),
        "false" => return Ok(Operand::Bool(false)),
        _ => {}
    }
    if let Some(percent) = s.strip_suffix('%').and_then(|n| number(n.trim())) {
        return percent.map(|p| Operand::Number(p / 100.0));
    }
    if let Some(ms) = s.strip_suffix("ms").and_then(|n| number(n.trim())) {
        return ms.map(Operand::Duration);
    }
    if let Some(secs) = s.strip_suffix('s').and_then(|n| number(n.trim())) {
        let ms = secs? * 1000.0;
        if !ms.is_finite() {
            return Err(format!("`{s}` is too long a duration"));
        }
        return Ok(Operand::Duration(ms));
    }
    if let Some(n) = number(s) {
        return n.map(Operand::Number);
    }
    if s.starts_with('[') {
        return Err(format!(
            "unknown placeholder `{s}`; expected [STATUS], [RESPONSE_TIME], [CONNECTED], [BODY] or a named value such as [TOOLS]"
        ));
    }
    Ok(Operand::Text(s.to_string()))
}

fn parse_placeholder(s: &str) -> Result<Option<Placeholder>, String> {
    let p = match s {
        "[STATUS]" => Placeholder::Status,
        "[RESPONSE_TIME]" => Placeholder::ResponseTime,
        "[CONNECTED]" => Placeholder::Connected,
        _ => match s.strip_prefix("[BODY]") {
            Some(path) => Placeholder::Body(parse_path(path)?),
            None => match named(s) {
                Some((name, path)) => Placeholder::Value(name.to_string(), parse_path(path)?),
                None => return Ok(None),
            },
        },
    };
    Ok(Some(p))
}

/// `[NAME]` and the path after it, for a name of capitals, digits and `_`
/// starting with a capital.
fn named(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('[')?;
    let end = inner.find(']')?;
    let name = &inner[..end];
    let valid = name.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    valid.then(|| (name, &inner[end + 1..]))
}

/// `.a.b[0].c` into steps.
fn parse_path(path: &str) -> Result<Vec<PathStep>, String> {
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            if key.is_empty() {
                return Err(format!("empty key in body path `{path}`"));
            }
            steps.push(PathStep::Key(key.to_string()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after
                .find(']')
                .ok_or_else(|| format!("unclosed [ in body path `{path}`"))?;
            let index = after[..end]
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("`{}` is not a list index in `{path}`", &after[..end]))?;
            steps.push(PathStep::Index(index));
            rest = &after[end + 1..];
        } else {
            return Err(format!("body path `{path}` must start with . or ["));
        }
    }
    Ok(steps)
}

/// Rejects comparisons that can never be meaningful, at load time.
fn check_types(left: &Operand, c: Comparator, right: &Operand) -> Result<(), String> {
    let ordered = !matches!(c, Comparator::Eq | Comparator::Ne);
    match (left, right) {
        (Operand::Placeholder(Placeholder::Status), Operand::Number(n))
            if n.fract() != 0.0 || !(100.0..=599.0).contains(n) =>
        {
            Err(format!("{n} is not an HTTP status code"))
        }
        (Operand::Placeholder(Placeholder::Status), r) if !matches!(r, Operand::Number(_)) => {
            Err("[STATUS] compares with a number such as 200".to_string())
        }
        (Operand::Placeholder(Placeholder::ResponseTime), r)
            if !matches!(r, Operand::Duration(_) | Operand::Number(_)) =>
        {
            Err("[RESPONSE_TIME] compares with a duration such as 150ms".to_string())
        }
        (Operand::Placeholder(Placeholder::Connected), r) if !matches!(r, Operand::Bool(_)) => {
            Err("[CONNECTED] compares with true or false".to_string())
        }
        (Operand::Len(_), r) if !matches!(r, Operand::Number(_)) => {
            Err("len() compares with a number".to_string())
        }
        (_, Operand::Text(_) | Operand::Bool(_)) if ordered => {
            Err(format!("{} needs numbers on both sides", c.as_str()))
        }
        _ => Ok(()),
    }
}

/// A value seen during evaluation.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Missing(String),
    Number(f64),
    Bool(bool),
    Text(String),
    Json(Value),
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(why) => write!(f, "missing ({why})"),
            Self::Number(n) => write!(f, "{n}"),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Text(t) => write!(f, "{t:?}"),
            Self::Json(v) => write!(f, "{v}"),
        }
    }
}

/// Longest observed value kept, in characters: it is stored with every
/// probe run and shown in the window and the reports.
pub const OBSERVED_MAX_CHARS: usize = 200;

/// `text` cut to [`OBSERVED_MAX_CHARS`], saying how long it was.
fn shortened(text: String) -> String {
    if text.chars().count() <= OBSERVED_MAX_CHARS {
        return text;
    }
    let kept: String = text.chars().take(OBSERVED_MAX_CHARS).collect();
    format!("{kept}… ({} bytes in all)", text.len())
}

fn walk<'v>(body: &'v Value, steps: &[PathStep]) -> Result<&'v Value, String> {
    let mut v = body;
    for step in steps {
        v = match step {
            PathStep::Key(k) => v.get(k).ok_or_else(|| format!("no field `{k}`"))?,
            PathStep::Index(i) => v.get(*i).ok_or_else(|| format!("no item {i}"))?,
        };
    }
    Ok(v)
}

fn observe(p: &Placeholder, obs: &Observation<'_>) -> Seen {
    match p {
        Placeholder::Status => obs
            .status
            .map_or(Seen::Missing("no HTTP status".into()), |s| {
                Seen::Number(f64::from(s))
            }),
        Placeholder::ResponseTime => obs
            .response_time_ms
            .map_or(Seen::Missing("no response".into()), Seen::Number),
        Placeholder::Connected => obs
            .connected
            .map_or(Seen::Missing("not attempted".into()), Seen::Bool),
        Placeholder::Body(steps) => match obs.body {
            None => Seen::Missing("body is not JSON".into()),
            Some(body) => seen_json(walk(body, steps)),
        },
        Placeholder::Value(name, steps) => match obs.values.and_then(|v| v.get(name)) {
            None => Seen::Missing(format!("no value [{name}]")),
            Some(value) => seen_json(walk(value, steps)),
        },
    }
}

fn seen_json(found: Result<&Value, String>) -> Seen {
    match found {
        Err(why) => Seen::Missing(why),
        Ok(Value::Number(n)) => n
            .as_f64()
            .map_or(Seen::Json(Value::Number(n.clone())), Seen::Number),
        Ok(Value::Bool(b)) => Seen::Bool(*b),
        Ok(Value::String(s)) => Seen::Text(s.clone()),
        Ok(other) => Seen::Json(other.clone()),
    }
}

impl Condition {
    /// The named values (`[TOOLS]`) the condition reads, for checking them
    /// against what a probe kind gives.
    pub fn value_names(&self) -> Vec<&str> {
        [&self.left, &self.right]
            .into_iter()
            .filter_map(|o| match o {
                Operand::Placeholder(Placeholder::Value(name, _))
                | Operand::Len(Placeholder::Value(name, _)) => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }
}

impl Condition {
    /// Evaluates against one observation; never fails, a missing value is a
    /// failed condition that says what was missing.
    pub fn evaluate(&self, obs: &Observation<'_>) -> ConditionResult {
        let (seen, observed) = match &self.left {
            Operand::Len(p) => match observe(p, obs) {
                Seen::Json(Value::Array(a)) => {
                    (Seen::Number(a.len() as f64), format!("{} items", a.len()))
                }
                Seen::Json(Value::Object(o)) => {
                    (Seen::Number(o.len() as f64), format!("{} fields", o.len()))
                }
                Seen::Text(t) => (
                    Seen::Number(t.chars().count() as f64),
                    format!("{} characters", t.chars().count()),
                ),
                other => {
                    let text = format!("{other}, not a list");
                    (Seen::Missing(text.clone()), text)
                }
            },
            Operand::Placeholder(Placeholder::ResponseTime) => {
                let s = observe(&Placeholder::ResponseTime, obs);
                let text = match &s {
                    Seen::Number(ms) => format!("{ms:.0}ms"),
                    other => other.to_string(),
                };
                (s, text)
            }
            Operand::Placeholder(p) => {
                let s = observe(p, obs);
                let text = s.to_string();
                (s, text)
            }
            _ => (Seen::Missing("invalid left side".into()), "invalid".into()),
        };
        ConditionResult {
            condition: self.text.clone(),
            success: self.holds(&seen),
            observed: shortened(observed),
        }
    }

    fn holds(&self, seen: &Seen) -> bool {
        let c = self.comparator;
        match (seen, &self.right) {
            (Seen::Missing(_), _) => false,
            (Seen::Number(a), Operand::Number(b) | Operand::Duration(b)) => {
                a.partial_cmp(b).is_some_and(|o| c.ordering_holds(o))
            }
            (Seen::Bool(a), Operand::Bool(b)) => c.ordering_holds(a.cmp(b)),
            (Seen::Text(a), Operand::Text(b)) => c.ordering_holds(a.as_str().cmp(b.as_str())),
            // `[BODY].count == 5` where the body has "5" as text, or the reverse.
            (Seen::Text(a), Operand::Number(b)) => a
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|a| a.partial_cmp(b))
                .is_some_and(|o| c.ordering_holds(o)),
            (Seen::Number(a), Operand::Text(b)) => match c {
                Comparator::Eq => a.to_string() == *b,
                Comparator::Ne => a.to_string() != *b,
                _ => false,
            },
            _ => c == Comparator::Ne,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(s: &str) -> Condition {
        match s.parse() {
            Ok(c) => c,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn conditions_from_the_users_report_evaluate() {
        let aidb = json!({"status": "ok", "database": "ok", "llama_cpp": "ok (no model loaded)", "federation": "0 servers cached"});
        let hybrid = json!({"status": "healthy", "collections": ["codebase-context", "skills-patterns", "error-solutions", "interaction-history", "best-practices"]});
        let degraded = json!({"status": "degraded", "collections": ["a", "b", "c"]});
        let ok = |body| Observation {
            status: Some(200),
            response_time_ms: Some(42.0),
            connected: Some(true),
            body: Some(body),
            values: None,
        };
        let cases: Vec<(&str, Observation<'_>, bool, &str)> = vec![
            ("[STATUS] == 200", ok(&aidb), true, "200"),
            ("[BODY].status == ok", ok(&aidb), true, "\"ok\""),
            ("[BODY].status == \"ok\"", ok(&aidb), true, "\"ok\""),
            (
                "[BODY].llama_cpp == ok (no model loaded)",
                ok(&aidb),
                true,
                "\"ok (no model loaded)\"",
            ),
            (
                "[BODY].status == healthy",
                ok(&degraded),
                false,
                "\"degraded\"",
            ),
            ("len([BODY].collections) == 5", ok(&hybrid), true, "5 items"),
            (
                "len([BODY].collections) == 5",
                ok(&degraded),
                false,
                "3 items",
            ),
            (
                "[BODY].collections[0] == codebase-context",
                ok(&hybrid),
                true,
                "\"codebase-context\"",
            ),
            ("[RESPONSE_TIME] < 150ms", ok(&aidb), true, "42ms"),
            ("[RESPONSE_TIME] < 0.04s", ok(&aidb), false, "42ms"),
            ("[CONNECTED] == true", ok(&aidb), true, "true"),
            ("[STATUS] != 503", ok(&aidb), true, "200"),
            (
                "[BODY].missing == x",
                ok(&aidb),
                false,
                "missing (no field `missing`)",
            ),
            ("len([BODY].status) > 1", ok(&aidb), true, "2 characters"),
        ];
        for (text, obs, want, observed) in cases {
            let r = parse(text).evaluate(&obs);
            assert_eq!((r.success, r.observed.as_str()), (want, observed), "{text}");
            assert_eq!(r.condition, text);
        }
    }

    #[test]
    fn missing_observations_fail_and_say_so() {
        let none = Observation::default();
        let cases = [
            ("[STATUS] == 200", "missing (no HTTP status)"),
            ("[BODY].status == ok", "missing (body is not JSON)"),
            ("[RESPONSE_TIME] < 150ms", "missing (no response)"),
            (
                "len([BODY].collections) == 5",
                "missing (body is not JSON), not a list",
            ),
        ];
        for (text, observed) in cases {
            let r = parse(text).evaluate(&none);
            assert!(!r.success, "{text}");
            assert_eq!(r.observed, observed, "{text}");
        }
    }

    #[test]
    fn bad_conditions_are_rejected_with_column_and_reason() {
        let cases = [
            ("[STATUS] 200", 1, "no comparator"),
            ("[STATUS] == ", 13, "missing operand"),
            ("[STATUS] == ok", 10, "compares with a number"),
            ("[STATUS] == 2000", 10, "not an HTTP status code"),
            ("[RESPONSE_TIME] < fast", 17, "duration"),
            ("[BODY].status < ok", 15, "needs numbers"),
            (
                "[Boddy].status == ok",
                1,
                "unknown placeholder `[Boddy].status`",
            ),
            ("200 == [STATUS]", 1, "left side must be a placeholder"),
            (
                "len([STATUS]) == 1",
                1,
                "len() takes [BODY], a path below it, or a named value",
            ),
            ("[BODY].a[x] == 1", 1, "not a list index"),
            ("[BODY]a == 1", 1, "must start with . or ["),
            ("[CONNECTED] == yes", 13, "true or false"),
        ];
        for (text, column, reason) in cases {
            match text.parse::<Condition>() {
                Ok(c) => panic!("{text} should be rejected, got {c:?}"),
                Err(e) => {
                    assert!(e.reason.contains(reason), "{text}: {}", e.reason);
                    assert_eq!(e.column, column, "{text}: {e}");
                    assert!(e.to_string().starts_with(&format!("condition `{text}`")));
                }
            }
        }
    }

    #[test]
    fn non_ascii_text_before_the_comparator_parses_without_panicking() {
        // Byte-index slicing inside `ö` used to panic here.
        let c = parse("[BODY].größe == 1");
        let body = json!({"größe": 1});
        let obs = Observation {
            body: Some(&body),
            ..Default::default()
        };
        assert!(c.evaluate(&obs).success);
        assert!(!parse("[BODY].名前 != \"ü\"").evaluate(&obs).success);
        assert!(parse("  [BODY].ß == 😀 ")
            .evaluate(&obs)
            .observed
            .contains("missing"));

        let cases = [
            ("[BÖDY].größe == 1", 1, "unknown placeholder `[BÖDY].größe`"),
            ("[BODY].größe 1", 1, "no comparator"),
            ("[BODY].größe < ok", 14, "needs numbers"),
            ("  ü == 1", 3, "left side must be a placeholder"),
            ("[STATUS] == ü", 10, "compares with a number"),
            ("[BODY].ä[ö] == 1", 1, "`ö` is not a list index"),
            ("é", 1, "no comparator"),
        ];
        for (text, column, reason) in cases {
            match text.parse::<Condition>() {
                Ok(c) => panic!("{text} should be rejected, got {c:?}"),
                Err(e) => {
                    assert!(e.reason.contains(reason), "{text}: {}", e.reason);
                    assert_eq!(e.column, column, "{text}: {e}");
                }
            }
        }
    }

    #[test]
    fn numbers_too_large_to_be_finite_are_rejected() {
        let cases = [
            ("[STATUS] == 1e400", "`1e400` is too large a number"),
            ("[BODY].n < 1e999", "too large a number"),
            ("[RESPONSE_TIME] < 1e400ms", "too large a number"),
            ("[RESPONSE_TIME] < 1e307s", "too long a duration"),
            ("len([BODY].a) > 99e999", "too large a number"),
        ];
        for (text, reason) in cases {
            match text.parse::<Condition>() {
                Ok(c) => panic!("{text} should be rejected, got {c:?}"),
                Err(e) => assert!(e.reason.contains(reason), "{text}: {}", e.reason),
            }
        }
        // `inf` and `NaN` are words, not numbers.
        let body = json!({"mode": "inf"});
        let obs = Observation {
            body: Some(&body),
            ..Default::default()
        };
        assert!(parse("[BODY].mode == inf").evaluate(&obs).success);
        assert!("[STATUS] == NaN".parse::<Condition>().is_err());
    }

    #[test]
    fn comparators_inside_quotes_or_brackets_are_not_split_on() {
        let c = parse("[BODY].note == \"a<b\"");
        let body = json!({"note": "a<b"});
        let obs = Observation {
            body: Some(&body),
            ..Default::default()
        };
        assert!(c.evaluate(&obs).success);
    }

    #[test]
    fn a_huge_observed_value_is_cut() {
        let c = parse("[BODY] == x");
        let body = Value::String("y".repeat(1 << 20));
        let r = c.evaluate(&Observation {
            status: Some(200),
            response_time_ms: Some(1.0),
            connected: Some(true),
            body: Some(&body),
            values: None,
        });
        assert!(!r.success);
        assert!(
            r.observed.chars().count() < OBSERVED_MAX_CHARS + 40,
            "{}",
            r.observed.len()
        );
        assert!(
            r.observed
                .ends_with(&format!("({} bytes in all)", (1 << 20) + 2)),
            "{}",
            r.observed
        );
    }

    #[test]
    fn named_values_and_percentages() {
        let values = json!({"TOOLS": ["a", "b", "c", "d", "e"], "ERROR_RATE": 0.06, "MODEL": {"id": "qwen"}, "NONE": null});
        let obs = Observation {
            values: Some(&values),
            ..Default::default()
        };
        let cases = [
            ("len([TOOLS]) >= 5", true, "5 items"),
            ("[ERROR_RATE] > 5%", true, "0.06"),
            ("[ERROR_RATE] <= 5 %", false, "0.06"),
            ("[MODEL].id == qwen", true, "\"qwen\""),
            (
                "[SLOTS_BUSY] == 0",
                false,
                "missing (no value [SLOTS_BUSY])",
            ),
        ];
        for (text, success, observed) in cases {
            let r = parse(text).evaluate(&obs);
            assert_eq!(
                (r.success, r.observed.as_str()),
                (success, observed),
                "{text}"
            );
        }
        assert_eq!(parse("len([TOOLS]) >= 5").value_names(), ["TOOLS"]);
        assert!(parse("[STATUS] == 200").value_names().is_empty());
        for bad in ["[lower] == 1", "[9X] == 1", "[] == 1", "len([STATUS]) == 1"] {
            assert!(bad.parse::<Condition>().is_err(), "{bad}");
        }
        // Without values (an HTTP probe), a named value is missing, not a panic.
        assert!(
            !parse("[TOOLS] == 1")
                .evaluate(&Observation::default())
                .success
        );
    }
}
