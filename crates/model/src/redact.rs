//! Secrets never leave the process: every URL, address or free text that can
//! carry a password or a token (a stack file's probe URLs, an error that
//! quotes one) goes through here before it reaches a table, a report, a log,
//! the database or the window. URLs are taken apart with a real URL parser,
//! so `user:pa@ss@host`, `?token=` and `#access_token=` are all found.

use url::Url;

/// What stands in for a removed secret.
pub const MASK: &str = "***";

/// Query and fragment keys whose values are secrets (compared case-insensitively,
/// also as a suffix after `_` or `-`: `api_key`, `x-auth-token`).
const SECRET_KEYS: &[&str] = &[
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "key",
    "apikey",
    "api_key",
    "secret",
    "client_secret",
    "password",
    "passwd",
    "pwd",
    "pass",
    "auth",
    "authorization",
    "signature",
    "sig",
    "credential",
    "credentials",
    "session",
    "sessionid",
];

/// True when a key (a query parameter, an environment variable, a YAML key)
/// names something secret: `PGPASSWORD`, `api_key`, `X-Auth-Token`, `secret`.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if SECRET_KEYS.contains(&k.as_str()) {
        return true;
    }
    [
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "credential",
    ]
    .iter()
    .any(|w| k.contains(w))
        || k.ends_with("_key")
        || k.ends_with("-key")
        // camelCase and run-together: `accessKey`, `PRIVATEKEY` (not `monkey`)
        || (key.len() > 3 && key.ends_with("Key"))
        || ["accesskey", "secretkey", "privatekey", "masterkey", "authkey"]
            .iter()
            .any(|w| k.ends_with(w))
        || k.ends_with("_pass")
        || k.ends_with("_pwd")
        // `X-Amz-Signature`, `x-auth`, `oauth_sig`
        || k
            .rsplit(['-', '_'])
            .next()
            .is_some_and(|last| last != k && SECRET_KEYS.contains(&last))
}

/// A user name long enough to be a token rather than a name
/// (`https://ghp_…@github.com/`): such a name is masked too.
const TOKEN_AS_USER_CHARS: usize = 20;

/// A URL fit to show: the password in its user info and the values of secret
/// query or fragment parameters replaced by `***`. Text that does not parse
/// as a URL with a host is returned with anything between `://` and the last
/// `@` of its authority masked, never as it came.
pub fn url(text: &str) -> String {
    match Url::parse(text) {
        Ok(parsed) if parsed.has_host() => redact_parsed(parsed, text),
        _ => unparsed(text),
    }
}

fn redact_parsed(mut u: Url, original: &str) -> String {
    let mut changed = false;
    if u.password().is_some() {
        changed |= u.set_password(Some(MASK)).is_ok();
    } else if u.username().len() >= TOKEN_AS_USER_CHARS {
        changed |= u.set_username(MASK).is_ok();
    }
    if let Some(query) = u.query() {
        if let Some(masked) = mask_pairs(query) {
            u.set_query(Some(&masked));
            changed = true;
        }
    }
    if let Some(fragment) = u.fragment() {
        if let Some(masked) = mask_pairs(fragment) {
            u.set_fragment(Some(&masked));
            changed = true;
        }
    }
    if changed {
        // The URL crate percent-encodes the mask; show it plainly.
        u.to_string().replace("%2A%2A%2A", MASK)
    } else {
        original.to_string()
    }
}

/// `a=1&token=x` -> `a=1&token=***`; `None` when nothing was secret.
fn mask_pairs(pairs: &str) -> Option<String> {
    let mut changed = false;
    let out: Vec<String> = pairs
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !v.is_empty() && is_secret_key(&decode_key(k)) => {
                changed = true;
                format!("{k}={MASK}")
            }
            _ => pair.to_string(),
        })
        .collect();
    changed.then(|| out.join("&"))
}

fn decode_key(k: &str) -> String {
    url::form_urlencoded::parse(k.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_else(|| k.to_string())
}

/// For text that is not a parseable URL: mask user info after `://` up to the
/// last `@` before the path, and every `secret=value` pair after a `?`.
fn unparsed(text: &str) -> String {
    let (head, rest) = match text.find("://") {
        Some(i) => (&text[..i + 3], &text[i + 3..]),
        None => ("", text),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) if !head.is_empty() => {
            let user = authority[..at].split(':').next().unwrap_or_default();
            format!("{user}:{MASK}{}", &authority[at..])
        }
        _ => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (query, None),
            };
            let mut out = format!("{path}?{}", mask_pairs(query).unwrap_or(query.to_string()));
            if let Some(f) = fragment {
                out.push('#');
                out.push_str(&mask_pairs(f).unwrap_or(f.to_string()));
            }
            out
        }
        None => tail.to_string(),
    };
    format!("{head}{authority}{tail}")
}

/// Free text (an error message, a log line) with every URL in it redacted.
/// A URL is taken to run from its `scheme://` to the next whitespace, quote
/// or bracket.
pub fn text(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find("://") {
        let start = rest[..i]
            .char_indices()
            .rev()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |(p, c)| p + c.len_utf8());
        let end = rest[i..]
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>' | ')' | ']')
            })
            .map_or(rest.len(), |p| i + p);
        out.push_str(&rest[..start]);
        out.push_str(&url(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Free text such as a log or event line, as [`text`] gives it, and with
/// the value after every key that names a secret masked: `"password":
/// "x"`, `token=x`, `api_key: x`, JSON quoted inside a string
/// (`\"token\":\"x\"`), and `Authorization: Bearer x` (the scheme kept).
/// Quoted values are masked to their closing quote (or the end), bare ones
/// to the next space, comma, `&`, `;` or bracket.
pub fn pairs(input: &str) -> String {
    let input = text(input);
    let bytes = input.as_bytes();
    let is_key_byte = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < bytes.len() {
        if !is_key_byte(bytes[i]) {
            let c_len = input[i..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&input[i..i + c_len]);
            i += c_len;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_key_byte(bytes[i]) {
            i += 1;
        }
        out.push_str(&input[start..i]);
        let key = &input[start..i];
        if !is_secret_key(key) {
            continue;
        }
        let mut j = i;
        if bytes.get(j) == Some(&b'\\') && bytes.get(j + 1) == Some(&b'"') {
            j += 2;
        } else if bytes.get(j) == Some(&b'"') || bytes.get(j) == Some(&b'\'') {
            j += 1;
        }
        while bytes.get(j) == Some(&b' ') {
            j += 1;
        }
        if !matches!(bytes.get(j), Some(b':' | b'=')) {
            continue;
        }
        j += 1;
        while bytes.get(j) == Some(&b' ') {
            j += 1;
        }
        out.push_str(&input[i..j]);
        match bytes.get(j) {
            Some(b'\\') if bytes.get(j + 1) == Some(&b'"') => {
                // A string holding JSON: the value ends at the next `\"`.
                let end = input[j + 2..].find("\\\"").map(|p| j + 2 + p);
                out.push_str("\\\"");
                out.push_str(MASK);
                i = match end {
                    Some(e) => {
                        out.push_str("\\\"");
                        e + 2
                    }
                    None => bytes.len(),
                };
            }
            Some(&q @ (b'"' | b'\'')) => {
                let mut k = j + 1;
                while k < bytes.len() && bytes[k] != q {
                    k += if bytes[k] == b'\\' { 2 } else { 1 };
                }
                let quote = char::from(q);
                out.push(quote);
                out.push_str(MASK);
                if k < bytes.len() {
                    out.push(quote);
                }
                i = (k + 1).min(bytes.len());
            }
            _ => {
                let end = input[j..]
                    .find(|c: char| {
                        c.is_whitespace() || matches!(c, ',' | '&' | ';' | '}' | ']' | ')')
                    })
                    .map_or(input.len(), |p| j + p);
                let word = &input[j..end];
                let authorization = ["authorization", "proxy-authorization"]
                    .iter()
                    .any(|k| key.eq_ignore_ascii_case(k));
                let scheme = authorization
                    && ["bearer", "basic", "token", "digest", "negotiate"]
                        .iter()
                        .any(|s| word.eq_ignore_ascii_case(s));
                if scheme {
                    // `Bearer x`: the scheme says little, the word after it all.
                    let after = input[end..]
                        .find(|c: char| !c.is_whitespace())
                        .map_or(input.len(), |p| end + p);
                    let secret_end = input[after..]
                        .find(|c: char| {
                            c.is_whitespace()
                                || matches!(c, ',' | '&' | ';' | '}' | ']' | ')' | '"')
                        })
                        .map_or(input.len(), |p| after + p);
                    out.push_str(word);
                    out.push_str(&input[end..after]);
                    if secret_end > after {
                        out.push_str(MASK);
                    }
                    i = secret_end;
                } else {
                    if end > j {
                        out.push_str(MASK);
                    }
                    i = end;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_pairs_in_free_text_are_masked() {
        assert_eq!(
            pairs(r#"{"ts":1,"password": "hunter2","event":"x","api_key":"k\"q"} token=abc&q=1"#),
            r#"{"ts":1,"password": "***","event":"x","api_key":"***"} token=***&q=1"#
        );
        assert_eq!(
            pairs("PGPASSWORD=x pg_isready"),
            "PGPASSWORD=*** pg_isready"
        );
        assert_eq!(pairs(r#"{"secret":"cut off"#), r#"{"secret":"***"#);
        assert_eq!(pairs("monkey=1 passwd"), "monkey=1 passwd");
        assert_eq!(
            pairs(r#"{"body":"{\"token\":\"abc\",\"n\":1}"}"#),
            r#"{"body":"{\"token\":\"***\",\"n\":1}"}"#
        );
        assert_eq!(
            pairs(r#"{"b":"{\"token\":\"cut"#),
            r#"{"b":"{\"token\":\"***"#
        );
        assert_eq!(
            pairs("Authorization: Bearer abc.def x=1"),
            "Authorization: Bearer *** x=1"
        );
        assert_eq!(pairs("authorization=Basic"), "authorization=Basic");
        assert_eq!(
            pairs("Authorization: Bearer\tabc x"),
            "Authorization: Bearer\t*** x"
        );
        // Only an Authorization header has a scheme before its secret.
        assert_eq!(pairs("password=Token user=bob"), "password=*** user=bob");
        assert_eq!(pairs("пароль token=ключ ok"), "пароль token=*** ok");
        assert_eq!(
            pairs("see http://u:pw@h/ and ok=1"),
            "see http://u:***@h/ and ok=1"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_redacts_without_panic(s in "\\PC{0,80}") {
            let _ = pairs(&s);
        }

        #[test]
        fn text_around_secret_keys_redacts_without_panic(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("token".to_string()),
                    proptest::strategy::Just("Authorization".to_string()),
                    proptest::strategy::Just("\\\"".to_string()),
                    proptest::strategy::Just("\"".to_string()),
                    proptest::strategy::Just(":".to_string()),
                    proptest::strategy::Just("=".to_string()),
                    proptest::strategy::Just(" Bearer ".to_string()),
                    "[ é€𝄞'a-z]{0,3}",
                ],
                0..16,
            )
        ) {
            let text = parts.concat();
            let out = pairs(&text);
            proptest::prop_assert!(!out.is_empty() || text.is_empty());
        }
    }

    #[test]
    fn urls_lose_passwords_and_secret_parameters() {
        let cases = [
            (
                "http://localhost:8091/health",
                "http://localhost:8091/health",
            ),
            (
                "postgres://aidb:s3cr%40t@127.0.0.1:5432/aidb",
                "postgres://aidb:***@127.0.0.1:5432/aidb",
            ),
            (
                "redis://default:pa@ss@localhost:6379",
                "redis://default:***@localhost:6379",
            ),
            (
                "http://h:1/x?api_key=abc&q=1",
                "http://h:1/x?api_key=***&q=1",
            ),
            ("http://h/x?TOKEN=abc", "http://h/x?TOKEN=***"),
            (
                "http://h/cb#access_token=abc&x=1",
                "http://h/cb#access_token=***&x=1",
            ),
            ("http://h/x?q=token", "http://h/x?q=token"),
        ];
        for (input, want) in cases {
            assert_eq!(url(input), want, "{input}");
        }
    }

    #[test]
    fn a_token_given_as_the_user_name_is_masked() {
        assert_eq!(
            url("https://ghp_abcdefghijklmnopqrstuvwxyz012345@github.com/o/r.git"),
            "https://***@github.com/o/r.git"
        );
        assert_eq!(
            url("postgres://mcp@127.0.0.1:5432/mcp"),
            "postgres://mcp@127.0.0.1:5432/mcp"
        );
    }

    #[test]
    fn unparseable_urls_are_masked_too() {
        assert_eq!(
            url("http://user:hunter2@[bad/health?token=zz"),
            "http://user:***@[bad/health?token=***"
        );
        assert_eq!(url("no url here"), "no url here");
    }

    #[test]
    fn text_redacts_every_url_it_holds() {
        let t = text(
            "cannot reach \"http://u:hunter2@h:1/x?token=t0k\": refused; see postgres://a:b@c/d.",
        );
        assert!(!t.contains("hunter2"), "{t}");
        assert!(!t.contains("t0k"), "{t}");
        assert!(!t.contains(":b@"), "{t}");
        assert!(
            t.starts_with("cannot reach \"http://u:***@h:1/x?token=***\""),
            "{t}"
        );
    }

    #[test]
    fn secret_keys() {
        for k in [
            "PGPASSWORD",
            "POSTGRES_PASSWORD",
            "api_key",
            "X-Auth-Token",
            "secret",
            "OPENAI_API_KEY",
            "X-Amz-Signature",
            "x-auth",
            "accessKey",
            "AWS_SECRETKEY",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["q", "page", "POSTGRES_DB", "monkey", "user"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn never_panics_on_arbitrary_text() {
        for s in [
            "://",
            "a://@",
            "x://@@@/?&=&#",
            "é://ü:ö@ä/?ß=1",
            "http://[::1",
            "?token=",
            "://?#",
        ] {
            let _ = url(s);
            let _ = text(s);
        }
    }

    proptest::proptest! {
        #[test]
        fn no_password_survives(
            prefix in "\\PC{0,20}",
            user in "[a-z]{1,8}",
            secret in "[A-Za-z0-9]{6,16}",
            host in "[a-z]{1,10}(:[0-9]{1,4})?",
            suffix in "\\PC{0,20}",
        ) {
            let line = format!("{prefix} http://{user}:{secret}@{host}/p?token={secret} {suffix}");
            let out = text(&line);
            proptest::prop_assert!(!out.contains(&format!(":{secret}@")), "{}", out);
            proptest::prop_assert!(!out.contains(&format!("token={secret}")), "{}", out);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,80}") {
            let _ = url(&s);
            let _ = text(&s);
        }
    }
}
