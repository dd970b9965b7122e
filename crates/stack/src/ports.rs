//! `ports:` entries, short (`[ip:][published:]target[/protocol]`, with
//! ranges `8000-8003:8000-8003`) and long syntax, checked as compose checks
//! them: a port out of 1-65535, a malformed entry or ranges of different
//! lengths are problems with the entry's place, not silently dropped.

use crate::compose::{PortEntry, PortNumber};

/// A port from `ports:`; a range is one entry per port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub host_ip: Option<String>,
    /// `None` when the engine picks the host port.
    pub published: Option<u16>,
    pub target: u16,
    pub protocol: String,
}

/// The most ports one file may publish once its ranges are expanded; far
/// beyond any real stack, it bounds what a hostile file can make us hold.
pub const MAX_PORTS: usize = 65_536;

/// The ports of one entry, or why compose would refuse it.
pub fn port_specs(entry: &PortEntry) -> Result<Vec<PortSpec>, String> {
    match entry {
        PortEntry::Short(text) => short(text),
        PortEntry::Number(n) => Ok(vec![PortSpec {
            host_ip: None,
            published: None,
            target: container_port(&n.to_string())?,
            protocol: "tcp".into(),
        }]),
        PortEntry::Long {
            target,
            published,
            host_ip,
            protocol,
        } => {
            let target = container_port(&target.to_string())?;
            let published = match published {
                None => Vec::new(),
                Some(PortNumber::Number(n)) => vec![port(&n.to_string(), "published")?],
                Some(PortNumber::Text(t)) => range(t, "published")?,
            };
            let protocol = protocol.clone().unwrap_or_else(|| "tcp".into());
            check_protocol(&protocol)?;
            // A published range with one target: the engine picks a free
            // port of the range.
            let published = match published.as_slice() {
                [one] => Some(*one),
                _ => None,
            };
            Ok(vec![PortSpec {
                host_ip: host_ip.clone().filter(|ip| !ip.is_empty()),
                published: published.filter(|p| *p != 0),
                target,
                protocol,
            }])
        }
    }
}

fn short(text: &str) -> Result<Vec<PortSpec>, String> {
    let text = text.trim();
    let (spec, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
    check_protocol(protocol)?;
    let (host_ip, rest) = split_ip(spec)?;
    let (published, target) = match rest.rsplit_once(':') {
        Some((published, target)) => (Some(published), target),
        None => (None, rest),
    };
    let targets = range(target, "container")?;
    if targets.contains(&0) {
        return Err(format!(
            "`{text}`: container port 0 is out of range (1-65535)"
        ));
    }
    let published = match published {
        None | Some("") => vec![None; targets.len()],
        Some(p) => {
            let hosts = range(p, "published")?;
            if hosts.len() == targets.len() {
                hosts
                    .into_iter()
                    .map(|h| Some(h).filter(|h| *h != 0))
                    .collect()
            } else if targets.len() == 1 {
                vec![None]
            } else {
                return Err(format!(
                    "`{text}`: the published range has {} ports and the container range {}; they must be the same length",
                    hosts.len(),
                    targets.len()
                ));
            }
        }
    };
    Ok(targets
        .into_iter()
        .zip(published)
        .map(|(target, published)| PortSpec {
            host_ip: host_ip.clone(),
            published,
            target,
            protocol: protocol.to_string(),
        })
        .collect())
}

/// Splits a leading host IP off `ip:published:target` (`[::1]:80:80` or
/// `127.0.0.1:80:80`); what is left is `published:target` or `target`.
fn split_ip(spec: &str) -> Result<(Option<String>, &str), String> {
    if let Some(rest) = spec.strip_prefix('[') {
        let (ip, rest) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{spec}`: `[` without `]` around the host IP"))?;
        let rest = rest
            .strip_prefix(':')
            .ok_or_else(|| format!("`{spec}`: expected `:` after the host IP"))?;
        return Ok((Some(ip.to_string()), rest));
    }
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.len() {
        1 | 2 => Ok((None, spec)),
        3 => {
            let at = spec.len() - parts[1].len() - parts[2].len() - 1;
            Ok((
                Some(parts[0].to_string()).filter(|ip| !ip.is_empty()),
                &spec[at..],
            ))
        }
        _ => {
            // An unbracketed IPv6 address: the last two parts are the ports.
            let tail = parts[parts.len() - 2].len() + parts[parts.len() - 1].len() + 1;
            let (ip, rest) = spec.split_at(spec.len() - tail);
            Ok((Some(ip.strip_suffix(':').unwrap_or(ip).to_string()), rest))
        }
    }
}

fn range(text: &str, what: &str) -> Result<Vec<u16>, String> {
    match text.split_once('-') {
        None => Ok(vec![port(text, what)?]),
        Some((from, to)) => {
            let (from, to) = (port(from, what)?, port(to, what)?);
            if from > to {
                return Err(format!("{what} port range `{text}` ends before it starts"));
            }
            Ok((from..=to).collect())
        }
    }
}

fn container_port(text: &str) -> Result<u16, String> {
    match port(text, "container")? {
        0 => Err("container port 0 is out of range (1-65535)".to_string()),
        n => Ok(n),
    }
}

fn port(text: &str, what: &str) -> Result<u16, String> {
    let text = text.trim();
    let n: u64 = text
        .parse()
        .map_err(|_| format!("{what} port `{text}` is not a number"))?;
    u16::try_from(n).map_err(|_| format!("{what} port {n} is out of range (1-65535)"))
}

fn check_protocol(protocol: &str) -> Result<(), String> {
    match protocol {
        "tcp" | "udp" | "sctp" => Ok(()),
        other => Err(format!("protocol `{other}` is not tcp, udp or sctp")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short_ok(text: &str) -> Vec<(Option<String>, Option<u16>, u16, String)> {
        match port_specs(&PortEntry::Short(text.into())) {
            Ok(list) => list
                .into_iter()
                .map(|p| (p.host_ip, p.published, p.target, p.protocol))
                .collect(),
            Err(e) => panic!("{text}: {e}"),
        }
    }

    fn short_err(text: &str) -> String {
        match port_specs(&PortEntry::Short(text.into())) {
            Ok(list) => panic!("{text} accepted: {list:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn short_syntax_as_compose_writes_it() {
        let t = |ip: Option<&str>, p: Option<u16>, target: u16, proto: &str| {
            (ip.map(Into::into), p, target, proto.to_string())
        };
        assert_eq!(short_ok("80"), [t(None, None, 80, "tcp")]);
        assert_eq!(short_ok("8080:80"), [t(None, Some(8080), 80, "tcp")]);
        assert_eq!(
            short_ok("127.0.0.1:8080:80/udp"),
            [t(Some("127.0.0.1"), Some(8080), 80, "udp")]
        );
        assert_eq!(
            short_ok("127.0.0.1::80"),
            [t(Some("127.0.0.1"), None, 80, "tcp")]
        );
        assert_eq!(
            short_ok("[::1]:6333:6333"),
            [t(Some("::1"), Some(6333), 6333, "tcp")]
        );
        assert_eq!(
            short_ok("::1:6333:6333"),
            [t(Some("::1"), Some(6333), 6333, "tcp")]
        );
        assert_eq!(
            short_ok("9000-9002:8000-8002"),
            [
                t(None, Some(9000), 8000, "tcp"),
                t(None, Some(9001), 8001, "tcp"),
                t(None, Some(9002), 8002, "tcp")
            ]
        );
        assert_eq!(short_ok("9000-9009:80"), [t(None, None, 80, "tcp")]);
        assert_eq!(short_ok("3000-3001").len(), 2);
    }

    #[test]
    fn what_compose_refuses_says_why() {
        assert!(short_err("99999:80").contains("published port 99999 is out of range"));
        assert!(short_err("8080:70000").contains("container port 70000"));
        assert!(short_err("8080:0").contains("container port 0"));
        assert!(short_err("web:80").contains("`web` is not a number"));
        assert!(short_err("80/icmp").contains("icmp"));
        assert!(short_err("9000-9003:80-81").contains("same length"));
        assert!(short_err("90-80:90-80").contains("ends before it starts"));
        assert!(short_err("[::1:80:80").contains("`[` without `]`"));
        assert!(port_specs(&PortEntry::Number(0)).is_err());
        let zero = PortEntry::Long {
            target: 0,
            published: None,
            host_ip: None,
            protocol: None,
        };
        assert!(port_specs(&zero).is_err());
        let long = PortEntry::Long {
            target: 80,
            published: Some(PortNumber::Number(99_999)),
            host_ip: None,
            protocol: None,
        };
        assert!(port_specs(&long).is_err_and(|e| e.contains("99999")));
    }

    proptest::proptest! {
        #[test]
        fn no_text_makes_it_panic(text in "\\PC{0,40}") {
            let _ = port_specs(&PortEntry::Short(text));
        }

        #[test]
        fn port_like_text_never_panics(text in "[0-9:\\-/\\[\\]a-z.]{0,30}") {
            let _ = port_specs(&PortEntry::Short(text));
        }
    }
}
