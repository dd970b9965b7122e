//! HTTP probe bodies are read only up to the probe's `max_body`: a local
//! server answers with a body over the limit (announced, or chunked without
//! a length) and one that streams forever; the probe ends promptly, says
//! `body over N`, and stops reading (the server sees the connection close
//! after a few MiB at most, socket buffers included).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic: that is a failed test

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::{failing, probes};
use stackwarden_probes::ProbeRunner;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MIB: usize = 1024 * 1024;

/// How a test server answers every request.
#[derive(Clone, Copy)]
enum Answer {
    /// A JSON body of about this many bytes, with Content-Length.
    Sized(usize),
    /// The same, chunked, without a length.
    Chunked(usize),
    /// Chunks for as long as the client reads.
    Forever,
}

/// The pieces of a body of `n` bytes that is valid JSON,
/// `{"status":"ok","pad":"xxx…"}`, made as they are sent.
fn json_pieces(n: usize) -> impl Iterator<Item = Vec<u8>> {
    let head = br#"{"status":"ok","pad":""#.to_vec();
    let tail = br#""}"#.to_vec();
    let mut pad = n.saturating_sub(head.len() + tail.len());
    let middle = std::iter::from_fn(move || {
        let take = pad.min(64 * 1024);
        pad -= take;
        (take > 0).then(|| vec![b'x'; take])
    });
    std::iter::once(head)
        .chain(middle)
        .chain(std::iter::once(tail))
}

/// Serves `answer` on a local port; counts the body bytes it managed to send.
async fn serve(answer: Answer) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(answer_one(conn, answer, counter.clone()));
        }
    });
    (format!("http://{addr}"), sent)
}

async fn answer_one(mut conn: TcpStream, answer: Answer, sent: Arc<AtomicU64>) {
    // The request: read until the blank line (probes send no body).
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let chunk = vec![b'x'; 64 * 1024];
    match answer {
        Answer::Sized(n) => {
            let length: usize = json_pieces(n).map(|p| p.len()).sum();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
            );
            if conn.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for piece in json_pieces(n) {
                if conn.write_all(&piece).await.is_err() {
                    return;
                }
                sent.fetch_add(piece.len() as u64, Ordering::SeqCst);
            }
        }
        Answer::Chunked(n) => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if conn.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for piece in json_pieces(n) {
                let framed = [
                    format!("{:x}\r\n", piece.len()).as_bytes(),
                    &piece[..],
                    b"\r\n",
                ]
                .concat();
                if conn.write_all(&framed).await.is_err() {
                    return;
                }
                sent.fetch_add(piece.len() as u64, Ordering::SeqCst);
            }
            let _ = conn.write_all(b"0\r\n\r\n").await;
        }
        Answer::Forever => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if conn.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let framed = [
                format!("{:x}\r\n", chunk.len()).as_bytes(),
                &chunk[..],
                b"\r\n",
            ]
            .concat();
            loop {
                if conn.write_all(&framed).await.is_err() {
                    return;
                }
                sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
        }
    }
}

/// One http probe with the given extra YAML lines, against `url`.
fn http_probe(url: &str, extra: &str) -> stackwarden_stack::Probe {
    probes(&format!(
        "        - name: big\n          http: {{url: \"{url}/health\"}}\n          timeout: 10s\n{extra}"
    ))
    .remove(0)
}

const CONDITIONS: &str = "          conditions: [\"[STATUS] == 200\", \"[BODY].status == ok\"]\n";

#[tokio::test]
async fn a_body_over_the_limit_fails_the_probe_with_body_over_n() {
    let runner = ProbeRunner::new();
    // Far more than the socket buffers hold, so what the server managed to
    // send shows whether the probe went on reading.
    for answer in [Answer::Sized(256 * MIB), Answer::Chunked(256 * MIB)] {
        let (url, sent) = serve(answer).await;
        let probe = http_probe(&url, CONDITIONS);
        let started = Instant::now();
        let outcome = runner.run(&probe, None).await;
        let took = started.elapsed();
        assert!(!outcome.success, "{outcome:#?}");
        assert_eq!(outcome.error, None, "the endpoint answered: {outcome:#?}");
        assert_eq!(
            failing(&outcome),
            [
                (
                    "[BODY].status == ok".to_string(),
                    "body over 1 MiB".to_string()
                ),
                (
                    "body at most 1 MiB".to_string(),
                    "body over 1 MiB".to_string()
                ),
            ],
            "{outcome:#?}"
        );
        let status = &outcome.conditions[0];
        assert!(status.success, "the status was seen: {status:?}");
        assert!(took < Duration::from_secs(3), "took {took:?}");
        // Let the server notice the closed connection.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let sent = sent.load(Ordering::SeqCst);
        assert!(
            sent < 32 * MIB as u64,
            "the probe stopped reading; the server sent {sent} bytes of the body"
        );
    }
}

#[tokio::test]
async fn a_body_that_never_ends_is_cut_promptly() {
    let (url, sent) = serve(Answer::Forever).await;
    let probe = http_probe(&url, "          max_body: 512KiB\n");
    let started = Instant::now();
    let outcome = ProbeRunner::new().run(&probe, None).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(!outcome.success);
    assert_eq!(
        failing(&outcome),
        [(
            "body at most 512 KiB".to_string(),
            "body over 512 KiB".to_string()
        )],
        "{outcome:#?}"
    );
    // The stream ends on the server's side too: it cannot write any more.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_cut = sent.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = sent.load(Ordering::SeqCst);
    assert_eq!(after_cut, later, "the connection was closed");
    assert!(
        later < 16 * MIB as u64,
        "the server got to send {later} bytes before the probe let go"
    );
}

#[tokio::test]
async fn a_body_within_the_limit_is_read_as_before() {
    for answer in [Answer::Sized(MIB), Answer::Chunked(MIB - 10)] {
        let (url, _) = serve(answer).await;
        let probe = http_probe(&url, CONDITIONS);
        let outcome = ProbeRunner::new().run(&probe, None).await;
        assert!(outcome.success, "exactly the limit is fine: {outcome:#?}");
        assert_eq!(outcome.conditions[1].observed, "\"ok\"");
    }
}

#[tokio::test]
async fn a_qdrant_answer_over_the_limit_fails_its_collections() {
    let (url, _) = serve(Answer::Sized(2 * MIB)).await;
    let probe = probes(&format!(
        "        - name: q\n          qdrant: {{url: \"{url}\", collections: [codebase-context]}}\n          max_body: 1MB\n"
    ))
    .remove(0);
    let outcome = ProbeRunner::new().run(&probe, None).await;
    assert!(!outcome.success);
    assert_eq!(
        failing(&outcome),
        [
            (
                "collection codebase-context exists".to_string(),
                "body over 1 MB".to_string()
            ),
            (
                "body at most 1 MB".to_string(),
                "body over 1 MB".to_string()
            ),
        ],
        "{outcome:#?}"
    );
}
