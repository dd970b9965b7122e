//! Variable interpolation as compose does it, before the file is read as
//! YAML: `${VAR}`, `$VAR`, `${VAR:-default}` (unset or empty),
//! `${VAR-default}` (unset), `${VAR:?message}` / `${VAR?message}` (an error
//! naming the variable and the line), `${VAR:+other}` / `${VAR+other}`, and
//! `$$` for a literal `$`. Defaults may themselves hold variables.
//!
//! Working on the text keeps every line where it was, so problems found
//! later still name the right line. A value is written so that YAML reads
//! it back as the same string: escaped inside double quotes, quotes doubled
//! inside single quotes, and, where it makes a whole plain value and would
//! change the YAML (`: `, ` #`, a line break, a leading indicator), put in
//! double quotes. Comments are left alone, as compose leaves them.

/// A problem with one reference, by line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterpolationProblem {
    pub line: u64,
    pub column: u64,
    pub reason: String,
}

/// How deep defaults may nest (`${A:-${B:-${C}}}`).
const MAX_DEPTH: usize = 8;

#[derive(Clone, Copy, PartialEq)]
enum Quote {
    None,
    Single,
    Double,
}

/// `text` with every reference replaced through `lookup`; every problem
/// when some cannot be.
pub fn interpolate(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<InterpolationProblem>> {
    let mut out = String::with_capacity(text.len());
    let mut problems = Vec::new();
    // The indentation of the line that opened a block scalar (`key: |`),
    // while its content lines follow.
    let mut block: Option<usize> = None;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = u64::try_from(index).unwrap_or(u64::MAX).saturating_add(1);
        let indent = line.len() - line.trim_start_matches(' ').len();
        let in_block = block.is_some_and(|b| line.trim().is_empty() || indent > b);
        if !in_block {
            block = None;
        }
        match interpolate_line(line, lookup, in_block) {
            Ok(done) => out.push_str(&done),
            Err((column, reason)) => {
                problems.push(InterpolationProblem {
                    line: number,
                    column,
                    reason,
                });
                out.push_str(line);
            }
        }
        if !in_block && opens_block(line) {
            block = Some(indent);
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Whether a line ends in a block scalar indicator (`key: |`, `- >-`).
fn opens_block(line: &str) -> bool {
    let content = match line.find(" #") {
        Some(at) => &line[..at],
        None => line,
    };
    let content = content.trim_end();
    let Some(last) = content.rsplit(' ').next() else {
        return false;
    };
    let indicator = last.starts_with(['|', '>'])
        && last[1..]
            .chars()
            .all(|c| matches!(c, '-' | '+') || c.is_ascii_digit());
    let before = content[..content.len() - last.len()].trim_end();
    indicator && (before.ends_with(':') || before.ends_with('-') || before.is_empty())
}

fn interpolate_line(
    line: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    in_block: bool,
) -> Result<String, (u64, String)> {
    if !line.contains('$') {
        return Ok(line.to_string());
    }
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut quote = Quote::None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match (quote, c) {
            (Quote::None, '#') if !in_block && (i == 0 || chars[i - 1].is_whitespace()) => {
                // A comment: the rest of the line stays as written.
                out.extend(&chars[i..]);
                return Ok(out);
            }
            // A quote opens a quoted value only where a value starts; an
            // apostrophe inside a plain value (`can't`) is just text.
            (Quote::None, '"') if !in_block && starts_scalar(&out) => quote = Quote::Double,
            (Quote::None, '\'') if !in_block && starts_scalar(&out) => quote = Quote::Single,
            (Quote::Double, '\\') => {
                out.push(c);
                if let Some(next) = chars.get(i + 1) {
                    out.push(*next);
                }
                i += 2;
                continue;
            }
            (Quote::Double, '"') | (Quote::Single, '\'') => quote = Quote::None,
            (_, '$') => {
                let (value, used) =
                    reference(&chars[i..], lookup, 0).map_err(|reason| (column(i), reason))?;
                let text = if in_block {
                    value
                } else {
                    written(&value, quote, &out, &chars[i + used..])
                        .map_err(|reason| (column(i), reason))?
                };
                out.push_str(&text);
                i += used;
                continue;
            }
            _ => {}
        }
        out.push(c);
        i += 1;
    }
    Ok(out)
}

fn column(index: usize) -> u64 {
    u64::try_from(index).unwrap_or(u64::MAX).saturating_add(1)
}

/// The value of the reference starting at `chars[0] == '$'` and how many
/// characters it spans.
fn reference(
    chars: &[char],
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<(String, usize), String> {
    match chars.get(1) {
        Some('$') => Ok(("$".to_string(), 2)),
        Some('{') => braced(chars, lookup, depth),
        Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
            let len = chars[1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .count();
            let name: String = chars[1..=len].iter().collect();
            Ok((lookup(&name).unwrap_or_default(), len + 1))
        }
        // A lone `$` (before a space, a digit, the end) is kept, as compose does.
        _ => Ok(("$".to_string(), 1)),
    }
}

fn braced(
    chars: &[char],
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<(String, usize), String> {
    if depth > MAX_DEPTH {
        return Err(format!("variables nest more than {MAX_DEPTH} deep"));
    }
    // Find the matching `}`, counting nested `${`.
    let mut level = 0usize;
    let mut end = None;
    let mut j = 2;
    while j < chars.len() {
        match chars[j] {
            '$' if chars.get(j + 1) == Some(&'{') => {
                level += 1;
                j += 2;
                continue;
            }
            '}' if level == 0 => {
                end = Some(j);
                break;
            }
            '}' => level -= 1,
            _ => {}
        }
        j += 1;
    }
    // Problems quote only variable names: the text around may be a secret.
    let Some(end) = end else {
        return Err("`${` without a closing `}`".to_string());
    };
    let body: String = chars[2..end].iter().collect();
    let name_len = body
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .count();
    let name = &body[..name_len];
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok {
        return Err("`${` is not followed by a variable name".to_string());
    }
    let rest = &body[name_len..];
    let value = lookup(name);
    let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
    let expand = |text: &str| expand_text(text, lookup, depth + 1);
    let result = if rest.is_empty() {
        value.unwrap_or_default()
    } else if let Some(default) = rest.strip_prefix(":-") {
        if set_nonempty {
            value.unwrap_or_default()
        } else {
            expand(default)?
        }
    } else if let Some(default) = rest.strip_prefix('-') {
        match value {
            Some(v) => v,
            None => expand(default)?,
        }
    } else if let Some(message) = rest.strip_prefix(":?") {
        if set_nonempty {
            value.unwrap_or_default()
        } else {
            return Err(required(name, message, "is not set or is empty"));
        }
    } else if let Some(message) = rest.strip_prefix('?') {
        match value {
            Some(v) => v,
            None => return Err(required(name, message, "is not set")),
        }
    } else if let Some(other) = rest.strip_prefix(":+") {
        if set_nonempty {
            expand(other)?
        } else {
            String::new()
        }
    } else if let Some(other) = rest.strip_prefix('+') {
        if value.is_some() {
            expand(other)?
        } else {
            String::new()
        }
    } else {
        return Err(format!(
            "`${{{name}`: after the name, use :-, -, :?, ?, :+ or +"
        ));
    };
    Ok((result, end + 1))
}

fn required(name: &str, message: &str, why: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        format!("required variable {name} {why}")
    } else {
        format!("required variable {name} {why}: {message}")
    }
}

/// A value (a `.env` value, a default) with its references replaced.
pub(crate) fn expand_value(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    expand_text(text, lookup, 0)
}

/// A default or alternative value, with its own references replaced.
fn expand_text(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) -> Result<String, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' {
            let (value, used) = reference(&chars[i..], lookup, depth)?;
            out.push_str(&value);
            i += used;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// `value` as it must be written at this place of the line so that YAML
/// reads it back unchanged. `before` is the line so far, `after` the rest.
fn written(value: &str, quote: Quote, before: &str, after: &[char]) -> Result<String, String> {
    match quote {
        Quote::Double => {
            let mut out = String::with_capacity(value.len());
            for c in value.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                    c => out.push(c),
                }
            }
            Ok(out)
        }
        Quote::Single if value.contains(['\n', '\r']) => Err(LINE_BREAK.to_string()),
        Quote::Single => Ok(value.replace('\'', "''")),
        Quote::None if plain_safe(value) => Ok(value.to_string()),
        Quote::None if starts_scalar(before) && ends_scalar(after) => {
            Ok(serde_json::to_string(value).unwrap_or_default())
        }
        Quote::None => Err(LINE_BREAK.to_string()),
    }
}

const LINE_BREAK: &str = "a variable's value holds a line break, `: ` or ` #`, which would change the file's structure here; write the reference in double quotes";

/// Whether a plain value starts right here: after `key: `, `- `, `[`, `,`
/// or at the line's indentation.
fn starts_scalar(before: &str) -> bool {
    let trimmed = before.trim_end_matches([' ', '\t']);
    let spaced = trimmed.len() < before.len();
    trimmed.is_empty()
        || trimmed.ends_with(['[', '{', ','])
        || (spaced && trimmed.ends_with([':', '-']))
}

fn ends_scalar(after: &[char]) -> bool {
    let rest = after
        .iter()
        .position(|c| !matches!(c, ' ' | '\t'))
        .map_or(&[][..], |at| &after[at..]);
    matches!(rest.first(), None | Some('\n' | '\r' | '#'))
}

/// Whether YAML reads `value`, written plain, as that same string (or the
/// number or boolean compose would read it as).
fn plain_safe(value: &str) -> bool {
    if value.is_empty() {
        return true;
    }
    let first = value.chars().next().unwrap_or(' ');
    let last = value.chars().last().unwrap_or(' ');
    !(value.contains(": ")
        || value.contains(" #")
        || value.ends_with(':')
        || value.contains(['\n', '\r', '\t'])
        || first.is_whitespace()
        || last.is_whitespace()
        || "-?:,[]{}#&*!|>'\"%@`".contains(first)
            && !(first == '-' && value.len() > 1 && !value.starts_with("- ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)], text: &str) -> Result<String, Vec<InterpolationProblem>> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        interpolate(text, &|name| map.get(name).cloned())
    }

    fn ok(vars: &[(&str, &str)], text: &str) -> String {
        match with(vars, text) {
            Ok(t) => t,
            Err(e) => panic!("{text}: {e:?}"),
        }
    }

    #[test]
    fn every_form_compose_knows() {
        let vars = [("TAG", "1.2"), ("EMPTY", ""), ("PORT", "8080")];
        assert_eq!(ok(&vars, "image: app:${TAG}\n"), "image: app:1.2\n");
        assert_eq!(ok(&vars, "image: app:$TAG\n"), "image: app:1.2\n");
        assert_eq!(ok(&vars, "p: ${NOPE:-9000}\n"), "p: 9000\n");
        assert_eq!(ok(&vars, "p: ${EMPTY:-9000}\n"), "p: 9000\n");
        assert_eq!(ok(&vars, "p: ${EMPTY-9000}|${NOPE-x}\n"), "p: |x\n");
        assert_eq!(ok(&vars, "p: ${PORT:+on}${NOPE:+off}\n"), "p: on\n");
        assert_eq!(ok(&vars, "p: ${NOPE:-${PORT}}\n"), "p: 8080\n");
        assert_eq!(
            ok(&vars, "cmd: echo $$HOME costs $5\n"),
            "cmd: echo $HOME costs $5\n"
        );
        assert_eq!(
            ok(&vars, "ports: [\"${PORT}:80\"]\n"),
            "ports: [\"8080:80\"]\n"
        );
        assert_eq!(
            ok(&vars, "# ${NOPE:?not in comments}\na: 1 # ${X:?nor here}\n"),
            "# ${NOPE:?not in comments}\na: 1 # ${X:?nor here}\n"
        );
    }

    #[test]
    fn required_variables_name_the_variable_and_line() {
        let err = with(
            &[("EMPTY", "")],
            "a: 1\nb: ${DB_PASSWORD:?set it in .env}\nc: ${EMPTY:?}\nd: ${EMPTY?}\n",
        )
        .unwrap_err();
        assert_eq!(err.len(), 2);
        assert_eq!((err[0].line, err[0].column), (2, 4));
        assert_eq!(
            err[0].reason,
            "required variable DB_PASSWORD is not set or is empty: set it in .env"
        );
        assert_eq!(
            (err[1].line, err[1].reason.as_str()),
            (3, "required variable EMPTY is not set or is empty")
        );
    }

    #[test]
    fn malformed_references_are_problems() {
        for text in ["a: ${UNCLOSED\n", "a: ${}\n", "a: ${1X}\n", "a: ${X!y}\n"] {
            assert!(with(&[], text).is_err(), "{text}");
        }
    }

    #[test]
    fn values_are_written_so_yaml_reads_them_back() {
        let vars = [("PW", "a\"b\\c: #d"), ("Q", "it's"), ("COLON", "x: y")];
        let read = |text: &str| -> serde_json::Value {
            serde_saphyr::from_str(&ok(&vars, text)).expect("valid YAML")
        };
        assert_eq!(read("a: \"${PW}\"\n")["a"], "a\"b\\c: #d");
        assert_eq!(read("a: '${Q}'\n")["a"], "it's");
        assert_eq!(read("a: ${COLON}\n")["a"], "x: y");
        assert_eq!(read("a: ${PW}\n")["a"], "a\"b\\c: #d");
        assert_eq!(read("- ${COLON}\n")[0], "x: y");
    }

    #[test]
    fn apostrophes_block_scalars_and_values_that_would_break_the_line() {
        let vars = [("DOCS", "d"), ("ARGS", "--a\n--b"), ("NAME", "x: y")];
        // An apostrophe in a plain value opens no quote: the comment stays one.
        assert_eq!(
            ok(&vars, "e: can't-stop # ${NOPE:?x}\n"),
            "e: can't-stop # ${NOPE:?x}\n"
        );
        // Inside a block scalar, values go in as they are, `#` included.
        assert_eq!(
            ok(
                &vars,
                "script: |\n  echo ${NAME} # ${DOCS}\n  done\nnext: ${NAME}\n"
            ),
            "script: |\n  echo x: y # d\n  done\nnext: \"x: y\"\n"
        );
        // Part of a longer plain value: a line break cannot be written there.
        let err = with(&vars, "command: serve ${ARGS}\n").unwrap_err();
        assert!(err[0].reason.contains("double quotes"), "{err:?}");
        assert_eq!(
            ok(&vars, "command: \"serve ${ARGS}\"\n"),
            "command: \"serve --a\\n--b\"\n"
        );
    }

    #[test]
    fn long_lines_take_linear_time() {
        let line = format!("a: {}\n", "$$".repeat(200_000));
        assert_eq!(ok(&[], &line).len(), line.len() - 200_000);
    }

    proptest::proptest! {
        #[test]
        fn no_text_or_value_makes_it_panic(text in "\\PC{0,60}", value in "\\PC{0,20}") {
            let _ = interpolate(&text, &|_| Some(value.clone()));
            let _ = interpolate(&text, &|_| None);
        }

        #[test]
        fn a_whole_plain_value_reads_back_as_written(value in "[ -~]{0,20}") {
            let text = interpolate("a: ${V}\n", &|_| Some(value.clone())).expect("no problem");
            let read: serde_json::Value = serde_saphyr::from_str(&text).expect("valid YAML");
            let got = match &read["a"] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            // Numbers and booleans read as such, as compose reads them.
            proptest::prop_assert!(got == value || got.parse::<f64>().is_ok() || got == "true" || got == "false" || value.trim() == "~" || value.trim().eq_ignore_ascii_case("null"), "{value:?} read as {got:?}");
        }
    }
}
