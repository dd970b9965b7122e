//! How the engine adapter and the monitor take answers that cannot be read.
//! A real Podman does not send malformed JSON on demand, so a tiny HTTP
//! server on a unix socket stands in for it, answering the few endpoints
//! the monitor uses: ping, the container list, one good and one broken
//! inspect, Podman's batch stats with an error, events that never come.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: that is a failed test

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stackwarden_engine::{connect, Candidate, Engine, EngineError, StackMonitor};
use stackwarden_model::{ContainerState, EngineStatus, StackSnapshot};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

const GOOD: &str = "aaaaaaaaaaaa1111";
const BAD: &str = "bbbbbbbbbbbb2222";

/// Requests seen, by route.
type Seen = Arc<Mutex<HashMap<String, usize>>>;

struct FakeEngine {
    socket: String,
    seen: Seen,
    _dir: tempfile::TempDir,
}

impl FakeEngine {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let socket = dir.path().join("fake.sock");
        let listener = UnixListener::bind(&socket).expect("bind");
        let seen: Seen = Arc::default();
        let counts = seen.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, counts.clone()));
            }
        });
        Self {
            socket: socket.to_string_lossy().to_string(),
            seen,
            _dir: dir,
        }
    }

    fn candidates(&self) -> Vec<Candidate> {
        vec![Candidate {
            endpoint: format!("unix://{}", self.socket),
            source: "test".into(),
        }]
    }

    fn count(&self, route: &str) -> usize {
        self.seen
            .lock()
            .map(|m| m.get(route).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

/// The route of a request path: without the API version prefix and query.
fn route(target: &str) -> String {
    let path = target.split('?').next().unwrap_or("");
    let mut parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts
        .first()
        .is_some_and(|p| p.starts_with('v') && p[1..].starts_with(|c: char| c.is_ascii_digit()))
    {
        parts.remove(0);
    }
    format!("/{}", parts.join("/"))
}

fn inspect_good() -> String {
    serde_json::json!({
        "Id": GOOD,
        "Name": "/sw-fake-good",
        "RestartCount": 0,
        "State": {"Status": "running", "Running": true, "StartedAt": "2026-01-01T00:00:00Z"},
        "Config": {"Image": "localhost/good:latest", "Labels": {"com.docker.compose.project": "fake", "com.docker.compose.service": "good"}},
    })
    .to_string()
}

fn list() -> String {
    serde_json::json!([
        {"Id": GOOD, "Names": ["/sw-fake-good"], "Image": "localhost/good:latest", "State": "running",
         "Labels": {"com.docker.compose.project": "fake", "com.docker.compose.service": "good"}},
        {"Id": BAD, "Names": ["/sw-fake-bad"], "Image": "localhost/bad:latest", "State": "running",
         "Labels": {"com.docker.compose.project": "fake", "com.docker.compose.service": "bad"}},
    ])
    .to_string()
}

async fn serve(conn: UnixStream, seen: Seen) {
    let (read, mut write) = conn.into_split();
    let mut read = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        if read.read_line(&mut request_line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut content_length = 0usize;
        loop {
            let mut header = String::new();
            if read.read_line(&mut header).await.unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" || header == "\n" {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    content_length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; content_length];
        if read.read_exact(&mut body).await.is_err() {
            return;
        }
        let target = request_line.split_whitespace().nth(1).unwrap_or("/");
        let r = route(target);
        if let Ok(mut m) = seen.lock() {
            *m.entry(r.clone()).or_default() += 1;
        }
        let (status, body) = match r.as_str() {
            "/_ping" | "/libpod/_ping" => ("200 OK", "OK".to_string()),
            "/containers/json" => ("200 OK", list()),
            "/libpod/containers/stats" => (
                "200 OK",
                r#"{"Error":"cannot read cgroup stats","Stats":null}"#.to_string(),
            ),
            "/events" => {
                // Headers, then silence for as long as the client listens.
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
                if write.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let mut sink = [0u8; 64];
                while read.read(&mut sink).await.unwrap_or(0) > 0 {}
                return;
            }
            r if r == format!("/containers/{GOOD}/json") => ("200 OK", inspect_good()),
            // Cut off in the middle: what a decoding failure looks like.
            r if r == format!("/containers/{BAD}/json") => {
                ("200 OK", format!(r#"{{"Id":"{BAD}","State":{{"Status":12"#))
            }
            r if r.ends_with("/stats") => ("200 OK", "not json".to_string()),
            _ => (
                "404 Not Found",
                r#"{"message":"no such container"}"#.to_string(),
            ),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn fake_engine_client(fake: &FakeEngine) -> Engine {
    match connect(&fake.candidates()).await {
        Ok(c) => Engine::new(c).await,
        Err(attempts) => panic!("the fake engine did not answer: {attempts:?}"),
    }
}

#[tokio::test]
async fn an_unreadable_inspect_is_that_rows_problem_not_a_lost_engine() {
    let fake = FakeEngine::start().await;
    assert!(Path::new(&fake.socket).exists());
    let engine = fake_engine_client(&fake).await;
    assert!(engine.has_batch_stats(), "the fake answers Podman's ping");

    match engine.inspect_row(BAD).await {
        Err(e @ EngineError::CallFailed { .. }) => {
            assert!(!e.is_lost());
            assert!(
                e.to_string().starts_with(&format!(
                    "could not inspect container {BAD}: the engine's answer could not be read"
                )),
                "{e}"
            );
        }
        other => panic!("expected CallFailed, got {other:?}"),
    }

    let listed = engine.list_named().await.expect("list");
    let mut rows = engine.inspect_listed(&listed).await.expect("rows");
    assert_eq!(rows.len(), 2, "{rows:#?}");
    let bad = rows.iter().find(|r| r.id.0 == BAD).expect("bad row kept");
    assert_eq!(bad.state, ContainerState::Unknown);
    assert_eq!(bad.name, "sw-fake-bad");
    assert_eq!(bad.project.as_deref(), Some("fake"));
    assert_eq!(bad.compose_service.as_deref(), Some("bad"));
    let good = rows.iter().find(|r| r.id.0 == GOOD).expect("good row");
    assert_eq!(good.state, ContainerState::Running);

    // Batch stats report an error, the per-container fallback gets garbage:
    // no usage this round, and no error.
    let mut prev = HashMap::new();
    let samples = engine
        .sample(&mut rows, &mut prev)
        .await
        .expect("sampling is not a lost engine");
    assert!(samples.is_empty());
    assert!(rows.iter().all(|r| r.usage.is_none()));
    assert!(
        fake.count(&format!("/containers/{GOOD}/stats")) >= 1,
        "fell back to per-container stats"
    );

    let (rows, timing) = engine
        .full_refresh(&mut prev)
        .await
        .expect("a full refresh survives both");
    assert_eq!(rows.len(), 2);
    assert!(!timing.batch_stats);
}

#[tokio::test]
async fn the_monitor_stays_connected_through_unreadable_answers() {
    let fake = FakeEngine::start().await;
    let handle = StackMonitor {
        candidates: fake.candidates(),
        interval: Duration::from_millis(200),
        config_error: None,
        samples: None,
    }
    .spawn();
    let mut rx = handle.subscribe();
    let deadline = Instant::now() + Duration::from_secs(10);
    let connected = |s: &StackSnapshot| {
        matches!(s.engine, EngineStatus::Connected { .. }) && s.services.len() == 2
    };
    loop {
        if connected(&rx.borrow_and_update()) {
            break;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || tokio::time::timeout(left, rx.changed()).await.is_err() {
            panic!("never connected with both rows: {:#?}", rx.borrow());
        }
    }
    let s = handle.snapshot();
    let bad = s
        .services
        .iter()
        .find(|r| r.id.0 == BAD)
        .expect("the unreadable container is shown");
    assert_eq!(bad.state, ContainerState::Unknown);

    // Sampling every 200 ms for 3 s: every round's batch stats fail.
    handle.set_sampling(true);
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let s = handle.snapshot();
        assert!(connected(&s), "left Connected: {:#?}", s.engine);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    handle.set_sampling(false);
    assert!(
        fake.count("/libpod/containers/stats") >= 5,
        "sampling rounds ran: {:?}",
        fake.seen
    );
    assert_eq!(
        fake.count("/libpod/_ping"),
        1,
        "one session, no reconnect: {:?}",
        fake.seen
    );
    assert_eq!(
        fake.count("/containers/json"),
        1,
        "listed once: {:?}",
        fake.seen
    );
}
