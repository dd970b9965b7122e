//! Probes against real services: busybox httpd containers standing in for
//! the MCP services and Qdrant with the JSON shapes of the user's report, one
//! that answers "degraded", one with invalid JSON, one with a wrong status
//! code, one that answers only after its timeout, and a closed port.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: that is a failed test

use std::path::Path;
use std::time::Duration;

mod common;

use common::{failing, probes};
use stackwarden_probes::ProbeRunner;
use stackwarden_testkit::{podman, remove_containers, Cleanup};

const HTTP_PORT: u16 = 18190;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
}

/// One httpd serving the report's JSON shapes, a 503 and a reply that comes
/// only after 5 s.
fn start_services(www: &Path) -> Cleanup {
    write(
        www,
        "aidb/health",
        r#"{"status":"ok","database":"ok","redis":"ok","ml_engine":"ok","pgvector":"ok","llama_cpp":"ok (no model loaded)","federation":"0 servers cached"}"#,
    );
    write(
        www,
        "hybrid/health",
        r#"{"status":"healthy","service":"hybrid-coordinator","collections":["codebase-context","skills-patterns","error-solutions","interaction-history","best-practices"]}"#,
    );
    write(
        www,
        "degraded/health",
        r#"{"status":"degraded","service":"hybrid-coordinator","collections":["codebase-context","skills-patterns"]}"#,
    );
    write(www, "garbage/health", "<html>not json</html>");
    write(
        www,
        "qdrant/collections",
        r#"{"result":{"collections":[{"name":"codebase-context"},{"name":"skills-patterns"},{"name":"error-solutions"},{"name":"interaction-history"}]},"status":"ok","time":0.0001}"#,
    );
    write(www, "cgi-bin/down", "#!/bin/sh\necho 'Status: 503 Service Unavailable'\necho 'Content-Type: application/json'\necho\necho '{\"status\":\"down\"}'\n");
    write(
        www,
        "cgi-bin/slow",
        "#!/bin/sh\nsleep 5\necho 'Content-Type: application/json'\necho\necho '{}'\n",
    );
    use std::os::unix::fs::PermissionsExt;
    for script in ["cgi-bin/down", "cgi-bin/slow"] {
        std::fs::set_permissions(www.join(script), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    remove_containers(&["sw-probe-http"]);
    let volume = format!("{}:/www", www.display());
    podman(&[
        "run",
        "-d",
        "--name",
        "sw-probe-http",
        "--label",
        "stackwarden.test=it",
        "-p",
        &format!("127.0.0.1:{HTTP_PORT}:80"),
        "-v",
        &volume,
        "localhost/sw-test-busybox:latest",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/www",
    ]);
    // Ready when httpd answers.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", HTTP_PORT)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Cleanup::containers(&["sw-probe-http"])
}

#[tokio::test]
async fn http_tcp_and_qdrant_probes_against_real_services() {
    let www = tempfile::tempdir().unwrap();
    let _services = start_services(www.path());
    let base = format!("http://127.0.0.1:{HTTP_PORT}");
    let list = probes(&format!(
        r#"        - name: aidb
          http: {{url: "{base}/aidb/health"}}
          timeout: 2s
          conditions: ["[STATUS] == 200", "[BODY].status == ok", "[BODY].pgvector == ok", "[RESPONSE_TIME] < 1500ms"]
        - name: hybrid
          http: {{url: "{base}/hybrid/health"}}
          conditions: ["[BODY].status == healthy", "len([BODY].collections) == 5"]
        - name: degraded
          http: {{url: "{base}/degraded/health"}}
          conditions: ["[STATUS] == 200", "[BODY].status == healthy", "len([BODY].collections) == 5"]
        - name: garbage
          http: {{url: "{base}/garbage/health"}}
          conditions: ["[STATUS] == 200", "[BODY].status == ok"]
        - name: wrong-status
          http: {{url: "{base}/cgi-bin/down"}}
          conditions: ["[STATUS] == 200"]
        - name: hangs
          http: {{url: "{base}/cgi-bin/slow"}}
          interval: 5s
          timeout: 500ms
          conditions: ["[STATUS] == 200"]
        - name: qdrant
          qdrant:
            url: "{base}/qdrant"
            collections: [codebase-context, skills-patterns, error-solutions, interaction-history, best-practices]
        - name: tcp-open
          tcp: {{address: "127.0.0.1:{HTTP_PORT}"}}
        - name: tcp-closed
          tcp: {{address: "127.0.0.1:1"}}
"#
    ));
    let runner = ProbeRunner::new();
    let mut out = Vec::new();
    for p in &list {
        out.push(runner.run(p, None).await);
    }
    let by = |name: &str| out.iter().find(|o| o.probe == name).unwrap();

    let aidb = by("aidb");
    assert!(aidb.success, "{aidb:#?}");
    assert_eq!(aidb.conditions.len(), 4);
    assert!(by("hybrid").success, "{:#?}", by("hybrid"));

    let degraded = by("degraded");
    assert!(!degraded.success);
    assert_eq!(
        failing(degraded),
        [
            (
                "[BODY].status == healthy".to_string(),
                "\"degraded\"".to_string()
            ),
            (
                "len([BODY].collections) == 5".to_string(),
                "2 items".to_string()
            ),
        ]
    );

    let garbage = by("garbage");
    assert!(!garbage.success);
    assert_eq!(
        failing(garbage),
        [(
            "[BODY].status == ok".to_string(),
            "missing (body is not JSON)".to_string()
        )]
    );

    let wrong = by("wrong-status");
    assert_eq!(
        failing(wrong),
        [("[STATUS] == 200".to_string(), "503".to_string())]
    );

    let hangs = by("hangs");
    assert!(!hangs.success);
    assert_eq!(hangs.error.as_deref(), Some("no answer within 500 ms"));
    assert_eq!(
        failing(hangs),
        [(
            "[STATUS] == 200".to_string(),
            "missing (no HTTP status)".to_string()
        )]
    );

    let qdrant = by("qdrant");
    assert_eq!(
        failing(qdrant),
        [(
            "collection best-practices exists".to_string(),
            "missing".to_string()
        )],
        "{qdrant:#?}"
    );

    assert!(by("tcp-open").success);
    let closed = by("tcp-closed");
    assert!(!closed.success);
    assert!(
        closed
            .error
            .as_deref()
            .unwrap_or("")
            .contains("cannot connect to 127.0.0.1:1"),
        "{closed:#?}"
    );
}
