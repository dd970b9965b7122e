//! Just enough of the Prometheus text format to read llama.cpp's
//! `/metrics`: `name{labels} value [timestamp]` lines, `#` comments skipped.
//! The text is a service's and may be anything: a line that does not parse
//! is skipped, never a panic, and only finite values are kept.

/// One sample: the metric's name, its labels as written (without braces)
/// and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    pub name: &'a str,
    pub labels: &'a str,
    pub value: f64,
}

/// The samples of `text`, in order; lines that are not samples are skipped.
pub fn samples(text: &str) -> impl Iterator<Item = Sample<'_>> {
    text.lines().filter_map(sample)
}

/// The value of the first sample named `name`, whatever its labels.
pub fn value_of(text: &str, name: &str) -> Option<f64> {
    samples(text).find(|s| s.name == name).map(|s| s.value)
}

fn sample(line: &str) -> Option<Sample<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let name_end = line
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() || !name.chars().all(is_name_char) {
        return None;
    }
    let rest = &line[name_end..];
    let (labels, rest) = match rest.strip_prefix('{') {
        Some(inner) => {
            let close = label_end(inner)?;
            (&inner[..close], &inner[close + 1..])
        }
        None => ("", rest),
    };
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" | "-Inf" | "NaN" => return None,
        v => v.parse::<f64>().ok().filter(|v| v.is_finite())?,
    };
    Some(Sample {
        name,
        labels,
        value,
    })
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Where the label set that starts `inner` closes: the first `}` outside a
/// quoted value (`\"` and `\\` escape inside quotes).
fn label_end(inner: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '}' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LLAMA: &str = "# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.\n\
# TYPE llamacpp:prompt_tokens_total counter\n\
llamacpp:prompt_tokens_total 1234\n\
# HELP llamacpp:predicted_tokens_seconds Average generation throughput in tokens/s.\n\
# TYPE llamacpp:predicted_tokens_seconds gauge\n\
llamacpp:predicted_tokens_seconds 42.5\n\
llamacpp:requests_processing 2\n\
llamacpp:requests_deferred 0 1700000000000\n\
llamacpp:spec_decode_num_accepted_tokens_per_pos_total{position=\"1\"} 7\n\
weird{a=\"x}y\",b=\"q\\\"}\"} 3\n";

    #[test]
    fn reads_llama_cpp_metrics() {
        assert_eq!(
            value_of(LLAMA, "llamacpp:prompt_tokens_total"),
            Some(1234.0)
        );
        assert_eq!(
            value_of(LLAMA, "llamacpp:predicted_tokens_seconds"),
            Some(42.5)
        );
        assert_eq!(value_of(LLAMA, "llamacpp:requests_deferred"), Some(0.0));
        assert_eq!(
            value_of(
                LLAMA,
                "llamacpp:spec_decode_num_accepted_tokens_per_pos_total"
            ),
            Some(7.0)
        );
        let weird = samples(LLAMA).find(|s| s.name == "weird");
        assert_eq!(
            weird.map(|s| (s.labels, s.value)),
            Some(("a=\"x}y\",b=\"q\\\"}\"", 3.0))
        );
        assert_eq!(value_of(LLAMA, "llamacpp:nothing"), None);
    }

    #[test]
    fn junk_is_skipped() {
        for line in [
            "",
            "#",
            "{} 1",
            "x{a=\"unclosed} 1",
            "x NaN",
            "x +Inf",
            "x 1e999",
            "x",
            "x{} ",
            "bad-name 1",
            "ünï 1",
        ] {
            assert_eq!(samples(line).count(), 0, "{line:?}");
        }
    }

    proptest! {
        #[test]
        fn any_text_parses_without_panic(text in "\\PC{0,400}") {
            for s in samples(&text) {
                prop_assert!(s.value.is_finite());
                prop_assert!(!s.name.is_empty());
            }
        }

        #[test]
        fn any_bytes_parse_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = samples(&text).count();
        }

        #[test]
        fn written_samples_read_back(name in "[a-z_:][a-z0-9_:]{0,20}", value in -1e12f64..1e12) {
            let text = format!("# TYPE {name} gauge\n{name} {value}\n");
            prop_assert_eq!(value_of(&text, &name), Some(value));
        }
    }
}
