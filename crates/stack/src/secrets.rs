//! Stack file text fit to keep: the app saves the text of the last stack
//! file that loaded cleanly, so that a broken edit can fall back on it even
//! after a restart. That copy lives in a database file, so it must not carry
//! the secrets a compose file often holds: passwords in URLs, tokens in query
//! strings, `environment:` values such as `POSTGRES_PASSWORD`.
//!
//! The text is walked with the YAML parser serde-saphyr itself uses, so every
//! value is found with its exact place, whatever its style (plain, quoted,
//! flow, block, anchored); each secret value is replaced in place by a
//! double-quoted `"***"` (a bare `***` would be a YAML alias), and every line
//! keeps its number. Comments and text the parser cannot read are redacted
//! line by line.

use std::ops::Range;

use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle};
use stackwarden_model::redact::{self, MASK};

/// Keys that look secret but whose values only name where a secret is
/// (Stackwarden's own `password_env: POSTGRES_PASSWORD`); masking them would
/// break the saved stack.
const NAMES_A_SECRET: &[&str] = &["password_env"];

/// `text` without its secrets, still valid YAML (when `text` is) with every
/// line on the same line number:
///
/// - passwords in the user info of URLs, and secret query and fragment
///   values (`?token=…`, `#access_token=…`), anywhere in the text, comments
///   included ([`redact::text`]);
/// - the value of every key that names a secret ([`redact::is_secret_key`]):
///   `environment:` entries in map form (`POSTGRES_PASSWORD: x`) and any
///   `password:`, `api_key:`, `token:` style key; a value given by an alias
///   (`*pw`) masks the anchored value it refers to;
/// - list items in `KEY=VALUE` form with a secret key (`environment:` in
///   list form, `- POSTGRES_PASSWORD=x`), and `KEY=VALUE` words with a secret
///   key inside values (`PGPASSWORD=x pg_isready`, `--api-key=x`).
///
/// Never panics, whatever the text.
pub fn redacted_text(text: &str) -> String {
    let masked = match value_edits(text) {
        Some(edits) => apply(text, edits),
        None => lines_only(text),
    };
    masked
        .split('\n')
        .map(redact::text)
        .collect::<Vec<_>>()
        .join("\n")
}

fn names_a_secret(key: &str) -> bool {
    redact::is_secret_key(key) && !NAMES_A_SECRET.contains(&key)
}

/// A replacement of the source text in `range` (byte offsets).
struct Edit {
    range: Range<usize>,
    with: Replacement,
}

enum Replacement {
    /// A flow scalar (plain or quoted): written as this double-quoted string
    /// on its first line; its further lines keep only their indentation.
    Quoted(String),
    /// A block scalar's content (`|`, `>`), masked.
    BlockMasked,
    /// A block scalar's content, each line redacted on its own.
    BlockRedacted,
}

/// Where a node sits, which decides what its value means.
enum Frame {
    Map {
        /// The key of the value being read (`None` for a complex key).
        key: Option<String>,
        at_key: bool,
    },
    Seq,
}

enum Role<'k> {
    Key,
    Value(Option<&'k str>),
    Item,
    Top,
}

fn role(stack: &[Frame]) -> Role<'_> {
    match stack.last() {
        Some(Frame::Map { at_key: true, .. }) => Role::Key,
        Some(Frame::Map { key, .. }) => Role::Value(key.as_deref()),
        Some(Frame::Seq) => Role::Item,
        None => Role::Top,
    }
}

/// A node ended; `key` is its text when it was a scalar.
fn node_done(stack: &mut [Frame], scalar: Option<&str>) {
    if let Some(Frame::Map { key, at_key }) = stack.last_mut() {
        if *at_key {
            *key = scalar.map(str::to_string);
        }
        *at_key = !*at_key;
    }
}

/// The edits that remove the secrets of `text`'s values, or `None` when it
/// is not YAML the parser can read to the end (the caller then goes line by
/// line).
fn value_edits(text: &str) -> Option<Vec<Edit>> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    // Anchored scalars, by anchor id: an alias under a secret key masks them.
    let mut anchored: Vec<(usize, Range<usize>, ScalarStyle)> = Vec::new();
    let mut edits = Vec::new();
    while let Some(next) = parser.next_event() {
        let (event, span) = next.ok()?;
        match event {
            Event::Scalar(value, style, anchor, _) => {
                let range = span.byte_range()?;
                if anchor != 0 {
                    anchored.push((anchor, range.clone(), style));
                }
                let with = match role(&stack) {
                    Role::Value(Some(key)) if names_a_secret(key) && !range.is_empty() => {
                        Some(masked(style))
                    }
                    Role::Item => match env_item(&value) {
                        Some(name) => Some(Replacement::Quoted(format!("{name}={MASK}"))),
                        None => redacted(&value, style),
                    },
                    _ => redacted(&value, style),
                };
                if let Some(with) = with {
                    edits.push(Edit { range, with });
                }
                node_done(&mut stack, Some(&value));
            }
            Event::Alias(id) => {
                if matches!(role(&stack), Role::Value(Some(key)) if names_a_secret(key)) {
                    if let Some((_, range, style)) = anchored.iter().rev().find(|a| a.0 == id) {
                        // Masking wins over a redaction of the same value.
                        match edits.iter_mut().find(|e| e.range == *range) {
                            Some(edit) => edit.with = masked(*style),
                            None => edits.push(Edit {
                                range: range.clone(),
                                with: masked(*style),
                            }),
                        }
                    }
                }
                node_done(&mut stack, None);
            }
            Event::MappingStart(..) => stack.push(Frame::Map {
                key: None,
                at_key: true,
            }),
            Event::SequenceStart(..) => stack.push(Frame::Seq),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                node_done(&mut stack, None);
            }
            Event::DocumentStart(..) | Event::DocumentEnd => stack.clear(),
            _ => {}
        }
    }
    Some(edits)
}

fn masked(style: ScalarStyle) -> Replacement {
    match style {
        ScalarStyle::Literal | ScalarStyle::Folded => Replacement::BlockMasked,
        _ => Replacement::Quoted(MASK.to_string()),
    }
}

/// A value with its URL secrets and secret `KEY=VALUE` words removed, when
/// it had any.
fn redacted(value: &str, style: ScalarStyle) -> Option<Replacement> {
    let clean = redact::text(&masked_words(value));
    if clean == value {
        return None;
    }
    Some(match style {
        ScalarStyle::Literal | ScalarStyle::Folded => Replacement::BlockRedacted,
        _ => Replacement::Quoted(clean),
    })
}

/// `KEY=VALUE` list items (compose's `environment:` list form) with a secret
/// key: the key.
fn env_item(item: &str) -> Option<&str> {
    let (name, value) = item.trim_start().split_once('=')?;
    (is_name(name) && names_a_secret(name.trim_start_matches('-')) && !value.is_empty())
        .then_some(name)
}

fn is_name(word: &str) -> bool {
    let bare = word.trim_start_matches('-');
    bare.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Every whitespace-separated `KEY=VALUE` word with a secret key, its value
/// masked (`PGPASSWORD=x psql` -> `PGPASSWORD=*** psql`).
fn masked_words(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while !rest.is_empty() {
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (word, after) = rest.split_at(word_end);
        match env_item(word) {
            Some(name) => {
                out.push_str(name);
                out.push('=');
                out.push_str(MASK);
            }
            None => out.push_str(word),
        }
        let space_end = after
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(after.len());
        let (space, next) = after.split_at(space_end);
        out.push_str(space);
        rest = next;
    }
    out
}

/// `value` as a YAML double-quoted scalar on one line.
fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let code = u32::from(c);
                if code <= 0xFFFF {
                    out.push_str(&format!("\\u{code:04X}"));
                } else {
                    out.push_str(&format!("\\U{code:08X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The leading blanks of a line (spaces and tabs).
fn indentation(line: &str) -> &str {
    let end = line
        .find(|c: char| c != ' ' && c != '\t')
        .unwrap_or(line.len());
    line.get(..end).unwrap_or_default()
}

/// One line of the replaced source, keeping a `\r` before its `\n`.
fn push_line(out: &mut String, content: &str, had_cr: bool) {
    out.push_str(content);
    if had_cr {
        out.push('\r');
    }
}

/// The replacement text for `source` (the replaced range), with exactly as
/// many line breaks.
fn replacement(source: &str, with: &Replacement) -> String {
    let mut out = String::with_capacity(source.len());
    let mut wrote_mask = false;
    let segments: Vec<&str> = source.split('\n').collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let (line, had_cr) = match segment.strip_suffix('\r') {
            Some(line) if i < last => (line, true),
            _ => (*segment, false),
        };
        let indent = indentation(line);
        match with {
            Replacement::Quoted(value) if i == 0 => {
                push_line(&mut out, &double_quoted(value), had_cr);
            }
            Replacement::Quoted(_) => push_line(&mut out, indent, had_cr),
            Replacement::BlockMasked => {
                if !wrote_mask && line.len() > indent.len() {
                    wrote_mask = true;
                    push_line(&mut out, &format!("{indent}{MASK}"), had_cr);
                } else {
                    push_line(&mut out, indent, had_cr);
                }
            }
            Replacement::BlockRedacted => {
                push_line(&mut out, &redact::text(&masked_words(line)), had_cr);
            }
        }
    }
    out
}

fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.range.start, e.range.end));
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for edit in edits {
        // An anchored value masked twice, or a range that is not a slice of
        // the text: skip it rather than guess.
        if edit.range.start < copied {
            continue;
        }
        let (Some(before), Some(source)) = (
            text.get(copied..edit.range.start),
            text.get(edit.range.clone()),
        ) else {
            continue;
        };
        out.push_str(before);
        out.push_str(&replacement(source, &edit.with));
        copied = edit.range.end;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    out
}

/// For text the YAML parser cannot read: each line on its own, masking
/// everything after a secret key (`KEY: …`, `KEY=…`). The text is not
/// valid YAML already, so only the line numbers are kept.
fn lines_only(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            let indent = indentation(line);
            let body = line.get(indent.len()..).unwrap_or_default();
            let item = body.strip_prefix("- ").unwrap_or(body);
            let prefix_len = line.len() - item.len();
            let prefix = line.get(..prefix_len).unwrap_or_default();
            let unquoted = |k: &str| k.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
            if let Some((key, value)) = item.split_once(':') {
                if names_a_secret(&unquoted(key)) && !value.trim().is_empty() {
                    return format!("{prefix}{key}: \"{MASK}\"");
                }
            }
            if let Some(name) = env_item(item.trim_matches(|c| c == '"' || c == '\'')) {
                return format!("{prefix}\"{name}={MASK}\"");
            }
            masked_words(line)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    const SECRETS: [&str; 9] = [
        "hunter2", "t0k3n", "pgsecret", "s3cr3t", "fl0w", "bl0ck", "anch0r", "sh3ll", "k3y",
    ];

    const STACK: &str = r#"name: secretive
x-common: &pw anch0r   # postgres://c:hunter2@h/x in a comment
services:
  db:
    image: pgvector/pgvector:pg16
    environment:
      POSTGRES_USER: mcp
      POSTGRES_PASSWORD: pgsecret
      "API_KEY": 's3cr3t'
      ANCHORED_PASSWORD: *pw
      EMPTY_PASSWORD:
    healthcheck:
      test: ["CMD-SHELL", "PGPASSWORD=sh3ll pg_isready -U mcp"]
    x-stackwarden:
      probes:
        - postgres:
            url: "postgres://mcp:hunter2@127.0.0.1:5432/mcp"
            password_env: POSTGRES_PASSWORD
          interval: 10s
  web:
    image: nginx
    environment:
      - PLAIN=visible
      - SESSION_SECRET=s3cr3t
      - "OPENAI_API_KEY=k3y with spaces"
    labels: {app.password: fl0w, keep: me}
    command:
      - --api-key=k3y
    x-stackwarden:
      probes:
        - http: {url: http://u:hunter2@127.0.0.1:8080/health?token=t0k3n&page=2}
          conditions: ["[STATUS] == 200"]
        - name: block
          http:
            url: >-
              http://127.0.0.1:8080/x?access_token=t0k3n
  cache:
    image: redis
    environment:
      REDIS_PASSWORD: |
        bl0ck
        bl0ck
      MULTI_PASSWORD: "s3cr3t
        s3cr3t"
    x-stackwarden:
      probes:
        - redis: {url: "redis://:hunter2@127.0.0.1:6379"}
"#;

    #[test]
    fn secrets_go_and_the_stack_stays() {
        let before = match parse(STACK, "compose.yaml") {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        let clean = redacted_text(STACK);
        for secret in SECRETS {
            assert!(!clean.contains(secret), "{secret} left in:\n{clean}");
        }
        assert_eq!(clean.lines().count(), STACK.lines().count(), "{clean}");
        let after = match parse(&clean, "compose.yaml") {
            Ok(s) => s,
            Err(e) => panic!("{e}\n{clean}"),
        };
        let names = |s: &crate::Stack| -> Vec<(String, Vec<String>, Vec<String>)> {
            s.services
                .iter()
                .map(|svc| {
                    (
                        svc.name.clone(),
                        svc.environment_keys.clone(),
                        svc.probes.iter().map(|p| p.name.clone()).collect(),
                    )
                })
                .collect()
        };
        assert_eq!(names(&after), names(&before));
        // What is not secret stays as written.
        for kept in [
            "POSTGRES_USER: mcp",
            "password_env: POSTGRES_PASSWORD",
            "- PLAIN=visible",
            "keep: me",
            "page=2",
            "[STATUS] == 200",
            "interval: 10s",
        ] {
            assert!(clean.contains(kept), "{kept} lost:\n{clean}");
        }
        // Line by line: each secret's line is still where it was.
        let lines: Vec<&str> = clean.lines().collect();
        assert_eq!(lines[7], "      POSTGRES_PASSWORD: \"***\"");
        assert_eq!(lines[10], "      EMPTY_PASSWORD:");
        assert!(lines[23].contains("SESSION_SECRET=***"), "{}", lines[23]);
        let db = after.services.iter().find(|s| s.name == "db");
        match db.map(|s| &s.probes[0].kind) {
            Some(crate::ProbeKind::Postgres {
                url, password_env, ..
            }) => {
                assert_eq!(url, "postgres://mcp:***@127.0.0.1:5432/mcp");
                assert_eq!(password_env.as_deref(), Some("POSTGRES_PASSWORD"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_default_stack_keeps_loading() {
        let text = crate::DEFAULT_STACK_YAML;
        let clean = redacted_text(text);
        assert_eq!(clean.lines().count(), text.lines().count());
        let (Ok(before), Ok(after)) = (crate::default_stack(), parse(&clean, "x")) else {
            panic!("{clean}");
        };
        assert_eq!(before.services.len(), after.services.len());
        assert!(clean.contains("POSTGRES_PASSWORD: \"***\""), "{clean}");
    }

    #[test]
    fn text_that_is_not_yaml_is_redacted_line_by_line() {
        let text = "services: [\n  db:\n    POSTGRES_PASSWORD: pgsecret\n    - TOKEN=t0k3n\n    url: http://u:hunter2@h/x?token=t0k3n\n";
        let clean = redacted_text(text);
        for secret in ["pgsecret", "t0k3n", "hunter2"] {
            assert!(!clean.contains(secret), "{secret} left in:\n{clean}");
        }
        assert_eq!(clean.split('\n').count(), text.split('\n').count());
    }

    #[test]
    fn carriage_returns_and_odd_text_survive() {
        let text = "services:\r\n  a:\r\n    image: x\r\n    environment:\r\n      DB_PASSWORD: \"multi\r\n        line\"\r\n";
        let clean = redacted_text(text);
        assert!(
            !clean.contains("multi") && !clean.contains("line\""),
            "{clean:?}"
        );
        assert_eq!(clean.matches("\r\n").count(), text.matches("\r\n").count());
        assert!(parse(&clean, "x").is_ok(), "{clean:?}");
        for odd in ["", "\n", "ü", "a: *", "- ***", "\u{feff}a: b", "k: &a\n"] {
            let _ = redacted_text(odd);
        }
        assert_eq!(
            double_quoted("a\"b\\c\u{1}\u{85}😀"),
            "\"a\\\"b\\\\c\\u0001\\u0085😀\""
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Whatever the text: no panic, the same number of lines, and a
        /// password value added to an `environment:` map never survives.
        #[test]
        fn any_text_is_redacted_without_panicking(
            text in "(\\PC|\n|\r|[-:&*!|>\"' \\[\\]{},#?=@/]){0,200}",
            secret in "[a-z0-9]{8,16}",
        ) {
            let clean = redacted_text(&text);
            proptest::prop_assert_eq!(clean.split('\n').count(), text.split('\n').count());
            let file = format!("services:\n  db:\n    image: x\n    environment:\n      DB_PASSWORD: {secret}\n# {text}\n");
            let clean = redacted_text(&file);
            let kept = clean.lines().nth(4).unwrap_or_default().to_string();
            proptest::prop_assert!(!kept.contains(&secret), "{}", kept);
        }
    }
}
