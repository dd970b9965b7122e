//! Points per Qdrant collection in the data fingerprint, read from a
//! stand-in serving the JSON shapes of Qdrant's documented API
//! (`GET /collections`, `GET /collections/{name}`): no Qdrant build can be
//! fetched here. A collection name that needs escaping stays one path
//! segment; a broken answer is "not readable", never a panic.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a panic here is a failed test

use stackwarden_recover::{fingerprint, CompareRule};
use stackwarden_stack::{parse, Blueprints};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Answers each request with what `route` gives its method, path and body.
async fn stand_in(route: fn(&str, &str, &str) -> (u16, String)) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let mut words = request.split_whitespace();
                let method = words.next().unwrap_or("").to_string();
                let path = words.next().unwrap_or("/").to_string();
                let body = request.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
                let (status, body) = route(&method, &path, &body);
                let response = format!(
                    "HTTP/1.1 {status} OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

fn qdrant(method: &str, path: &str, body: &str) -> (u16, String) {
    if path.ends_with("/points/count") && (method != "POST" || !body.contains(r#""exact":true"#)) {
        return (400, r#"{"status":{"error":"exact count expected"}}"#.into());
    }
    match path {
        "/collections" => (200, r#"{"result":{"collections":[{"name":"docs"},{"name":"odd name"},{"name":"broken"}]},"status":"ok","time":0.0001}"#.into()),
        // POST with {"exact": true}; the collection's own points_count is an estimate.
        "/collections/docs/points/count" => (200, r#"{"result":{"count":1234},"status":"ok","time":0.0002}"#.into()),
        "/collections/odd%20name/points/count" => (200, r#"{"result":{"count":5},"status":"ok"}"#.into()),
        "/collections/broken/points/count" => (200, "not json at all".into()),
        _ => (404, r#"{"status":{"error":"Not found"}}"#.into()),
    }
}

#[tokio::test]
async fn points_per_collection_are_fingerprinted() {
    let port = stand_in(qdrant).await;
    let stack = parse(
        &format!(
            "services:\n  qdrant:\n    image: qdrant/qdrant\n    x-stackwarden:\n      probes:\n        - qdrant: {{ url: \"http://127.0.0.1:{port}\" }}\n"
        ),
        "compose.yaml",
    )
    .unwrap();
    let fp = fingerprint::take(&stack, &Blueprints::default(), None, &|_| None, None).await;
    let item = |key: &str| {
        fp.items
            .iter()
            .find(|i| i.key == key)
            .unwrap_or_else(|| panic!("{key}: {fp:#?}"))
    };
    let docs = item("qdrant:qdrant:docs");
    assert_eq!(docs.value, Some(1234));
    assert_eq!(docs.text, "1,234");
    assert_eq!(docs.label, "docs points");
    assert_eq!(docs.rule, CompareRule::Equal);
    assert_eq!(item("qdrant:qdrant:odd name").value, Some(5));
    let broken = item("qdrant:qdrant:broken");
    assert_eq!(broken.value, None);
    assert!(broken.text.starts_with("not readable"), "{}", broken.text);
}

#[tokio::test]
async fn named_collections_are_read_and_a_silent_qdrant_is_not_readable() {
    let port = stand_in(qdrant).await;
    let stack = parse(
        &format!(
            "services:\n  qdrant:\n    image: qdrant/qdrant\n    x-stackwarden:\n      probes:\n        - qdrant: {{ url: \"http://127.0.0.1:{port}/\", collections: [docs, missing] }}\n  gone:\n    image: qdrant/qdrant\n    x-stackwarden:\n      probes:\n        - qdrant: {{ url: \"http://127.0.0.1:9\" }}\n"
        ),
        "compose.yaml",
    )
    .unwrap();
    let fp = fingerprint::take(&stack, &Blueprints::default(), None, &|_| None, None).await;
    let keys: Vec<&str> = fp.items.iter().map(|i| i.key.as_str()).collect();
    assert!(
        keys.contains(&"qdrant:qdrant:docs") && keys.contains(&"qdrant:qdrant:missing"),
        "{keys:?}"
    );
    let missing = fp
        .items
        .iter()
        .find(|i| i.key == "qdrant:qdrant:missing")
        .unwrap();
    assert_eq!(missing.value, None);
    let gone = fp.items.iter().find(|i| i.key == "qdrant:gone").unwrap();
    assert_eq!(gone.value, None);
}
