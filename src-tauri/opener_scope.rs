//! Published ports open in the browser through the opener plugin, whose
//! scope (capabilities/main.json) allows http(s) on this machine's loopback
//! and wildcard addresses only. An engine reached over TCP publishes its
//! containers' ports on its own host: that host joins the window's scope
//! when the app starts, and nothing else does.

use serde_json::json;
use stackwarden_engine::Candidate;
use tauri::ipc::CapabilityBuilder;
use tauri::{AppHandle, Manager, Runtime};

use crate::window::MAIN;

/// Hosts the page already may open (capabilities/main.json).
const LOCAL: &[&str] = &["localhost", "127.0.0.1", "[::1]", "0.0.0.0"];

/// The hosts of the TCP engine endpoints among `candidates` that are not
/// this machine's loopback, each once.
pub fn engine_hosts(candidates: &[Candidate]) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for c in candidates {
        let Ok(url) = url::Url::parse(&c.endpoint) else {
            continue;
        };
        if !matches!(url.scheme(), "tcp" | "http" | "https") {
            continue;
        }
        let Some(host) = url.host_str() else {
            continue;
        };
        let host = host.to_ascii_lowercase();
        if !LOCAL.contains(&host.as_str()) && !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    hosts
}

/// `text` as a glob pattern that matches only itself (the opener's scope
/// entries are globs; an IPv6 host has brackets).
fn glob_literal(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '[' | ']' | '*' | '?' => format!("[{c}]"),
            c => c.to_string(),
        })
        .collect()
}

/// The scope entries that let the page open `http(s)://host:PORT/...`.
fn allowed_urls(host: &str) -> Vec<serde_json::Value> {
    let host = glob_literal(host);
    ["http", "https"]
        .iter()
        .map(|scheme| json!({ "url": format!("{scheme}://{host}:*") }))
        .collect()
}

/// Lets the main window open published ports on the engine hosts among
/// `candidates`.
pub fn allow_engine_hosts<R: Runtime>(app: &AppHandle<R>, candidates: &[Candidate]) {
    let hosts = engine_hosts(candidates);
    if hosts.is_empty() {
        return;
    }
    let allowed = hosts.iter().flat_map(|h| allowed_urls(h)).collect();
    let capability = CapabilityBuilder::new("engine-host-ports")
        .window(MAIN)
        .permission_scoped(
            "opener:allow-open-url",
            allowed,
            vec![json!({ "url": "*@*" })],
        );
    if let Err(e) = app.add_capability(capability) {
        tracing::warn!("published ports on {hosts:?} cannot be opened from the window: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(endpoint: &str) -> Candidate {
        Candidate {
            endpoint: endpoint.into(),
            source: "test".into(),
        }
    }

    #[test]
    fn only_remote_tcp_hosts_are_added() {
        let hosts = engine_hosts(&[
            candidate("unix:///run/podman/podman.sock"),
            candidate("tcp://127.0.0.1:2375"),
            candidate("tcp://Build-Box.lan:2376"),
            candidate("tcp://build-box.lan:2375"),
            candidate("tcp://[fd00::5]:2375"),
            candidate("tcp://user:pw@evil"),
            candidate("not a url"),
        ]);
        assert_eq!(hosts, ["build-box.lan", "[fd00::5]", "evil"]);
    }

    #[test]
    fn scope_entries_match_only_that_host() {
        let entries = allowed_urls("[fd00::5]");
        assert_eq!(entries[0]["url"], "http://[[]fd00::5[]]:*");
        let pattern = glob::Pattern::new(entries[0]["url"].as_str().unwrap()).unwrap();
        assert!(pattern.matches("http://[fd00::5]:8080/"));
        assert!(!pattern.matches("http://f:8080/"));
        let pattern =
            glob::Pattern::new(allowed_urls("build-box.lan")[1]["url"].as_str().unwrap()).unwrap();
        assert!(pattern.matches("https://build-box.lan:443/"));
        assert!(!pattern.matches("https://build-box.lan.evil.com:443/"));
    }
}
