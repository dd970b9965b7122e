//! HTTP for probes. Plain `http://` goes through hyper's client, which costs
//! nothing to set up; `https://` through reqwest with the system's TLS,
//! whose set-up parses every system root certificate (about 70 ms here) and
//! is therefore done once, on the first https probe, off the async threads.
//! Redirects are not followed: a probe reports what the endpoint answered.
//!
//! Bodies are read as a stream and only up to the probe's `max_body`: an
//! answer that announces or sends more is cut there ([`Body::OverLimit`])
//! and the connection dropped, so a huge or endless answer costs neither
//! memory nor time.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use stackwarden_model::error_text::with_causes;
use tokio::sync::OnceCell;

use crate::error::ProbeError;

const USER_AGENT: &str = concat!("stackwarden/", env!("CARGO_PKG_VERSION"));

/// What an endpoint answered.
#[derive(Debug)]
pub struct HttpSeen {
    pub status: u16,
    pub elapsed: Duration,
    pub body: Body,
}

/// The body of an answer, as far as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The whole body, within the limit.
    Complete(Bytes),
    /// The body was longer than the limit (in bytes); reading stopped there.
    OverLimit(u64),
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    plain: Client<HttpConnector, Empty<Bytes>>,
    tls: std::sync::Arc<OnceCell<Result<reqwest::Client, ProbeError>>>,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self {
            plain: Client::builder(TokioExecutor::new()).build_http(),
            tls: std::sync::Arc::new(OnceCell::new()),
        }
    }
}

/// Collects body chunks up to `limit` bytes.
struct Capped {
    limit: u64,
    kept: BytesMut,
}

impl Capped {
    fn new(limit: u64, announced: Option<u64>) -> Self {
        // Room for what the server announced, never more than the limit.
        let room = announced.unwrap_or(0).min(limit).min(64 * 1024);
        Self {
            limit,
            kept: BytesMut::with_capacity(usize::try_from(room).unwrap_or(0)),
        }
    }

    /// Adds a chunk; `false` when the body is now over the limit.
    fn push(&mut self, chunk: &[u8]) -> bool {
        if self.kept.len() as u64 + chunk.len() as u64 > self.limit {
            self.kept = BytesMut::new();
            return false;
        }
        self.kept.extend_from_slice(chunk);
        true
    }

    fn over(&self) -> Body {
        Body::OverLimit(self.limit)
    }

    fn done(self) -> Body {
        Body::Complete(self.kept.freeze())
    }
}

impl HttpClient {
    /// GETs `url`, reading at most `max_body` bytes of the body.
    pub async fn get(&self, url: &str, max_body: u64) -> Result<HttpSeen, ProbeError> {
        if url.starts_with("https://") {
            return self.get_tls(url, max_body).await;
        }
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| ProbeError::invalid_url("URL", url, e))?;
        let request = hyper::Request::get(uri)
            .header(hyper::header::USER_AGENT, USER_AGENT)
            .body(Empty::<Bytes>::new())
            .map_err(|e| ProbeError::invalid_url("URL", url, e))?;
        let started = Instant::now();
        let response = self.plain.request(request).await.map_err(|e| {
            if e.is_connect() {
                ProbeError::connect(url, connect_reason(&e))
            } else {
                ProbeError::request(url, with_causes(&e))
            }
        })?;
        let status = response.status().as_u16();
        let announced = content_length(response.headers());
        let mut capped = Capped::new(max_body, announced);
        let body = if announced.is_some_and(|n| n > max_body) {
            capped.over()
        } else {
            let mut body = response.into_body();
            loop {
                match body.frame().await {
                    None => break capped.done(),
                    Some(Err(e)) => return Err(ProbeError::body_broken(url, with_causes(&e))),
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            if !capped.push(data) {
                                break capped.over();
                            }
                        }
                    }
                }
            }
        };
        Ok(HttpSeen {
            status,
            elapsed: started.elapsed(),
            body,
        })
    }

    /// The reqwest client (system TLS, no proxy, no redirects), built on
    /// first use: for HTTPS probes and for protocols spoken through a
    /// library that takes a reqwest client (MCP).
    pub async fn reqwest(&self) -> Result<reqwest::Client, ProbeError> {
        self.tls
            .get_or_init(|| async {
                tokio::task::spawn_blocking(|| {
                    reqwest::Client::builder()
                        .user_agent(USER_AGENT)
                        .no_proxy()
                        .redirect(reqwest::redirect::Policy::none())
                        .build()
                        .map_err(|e| ProbeError::tls_setup(with_causes(&e)))
                })
                .await
                .unwrap_or_else(|e| Err(ProbeError::tls_setup(e)))
            })
            .await
            .clone()
    }

    async fn get_tls(&self, url: &str, max_body: u64) -> Result<HttpSeen, ProbeError> {
        let client = self.reqwest().await?;
        let parsed =
            reqwest::Url::parse(url).map_err(|e| ProbeError::invalid_url("URL", url, e))?;
        let started = Instant::now();
        let mut response = client.get(parsed).send().await.map_err(|e| {
            let (connect, builder) = (e.is_connect(), e.is_builder());
            // The URL is said once, redacted, by the error itself.
            let reason = with_causes(&e.without_url());
            if connect {
                ProbeError::connect(url, reason)
            } else if builder {
                ProbeError::invalid_url("URL", url, reason)
            } else {
                ProbeError::request(url, reason)
            }
        })?;
        let status = response.status().as_u16();
        let announced = response.content_length();
        let mut capped = Capped::new(max_body, announced);
        let body = if announced.is_some_and(|n| n > max_body) {
            capped.over()
        } else {
            loop {
                match response.chunk().await {
                    Ok(None) => break capped.done(),
                    Ok(Some(chunk)) => {
                        if !capped.push(&chunk) {
                            break capped.over();
                        }
                    }
                    Err(e) => {
                        return Err(ProbeError::body_broken(url, with_causes(&e.without_url())))
                    }
                }
            }
        };
        Ok(HttpSeen {
            status,
            elapsed: started.elapsed(),
            body,
        })
    }
}

/// hyper's connect error without its generic `client error (Connect)` head.
fn connect_reason(e: &hyper_util::client::legacy::Error) -> String {
    let text = with_causes(e);
    text.strip_prefix("client error (Connect): ")
        .map(str::to_string)
        .unwrap_or(text)
}

fn content_length(headers: &hyper::HeaderMap) -> Option<u64> {
    headers
        .get(hyper::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `1 MiB`, `512 KiB`, `512 kB`, `1.5 MiB`, `100 bytes`: a size as a person
/// would write it, exact when the size is a round decimal or binary figure.
pub fn human_size(bytes: u64) -> String {
    const BINARY: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    const DECIMAL: [(u64, &str); 3] = [(1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "kB")];
    // A size written in decimal units (`512KB`) reads back as written.
    for (unit, name) in DECIMAL.into_iter().chain(BINARY) {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    for (unit, name) in BINARY {
        if bytes >= unit {
            return format!("{:.1} {name}", bytes as f64 / unit as f64);
        }
    }
    if bytes == 1 {
        "1 byte".to_string()
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn https_is_set_up_on_first_use_and_reports_failures() {
        let client = HttpClient::default();
        assert!(
            client.tls.get().is_none(),
            "no TLS set-up before an https probe"
        );
        let closed = client.get("https://127.0.0.1:1/health", 1024).await;
        assert!(
            matches!(closed, Err(ProbeError::Connect { .. })),
            "{closed:?}"
        );
        assert!(
            matches!(client.tls.get(), Some(Ok(_))),
            "the HTTPS client was built"
        );
        let bad = client.get("http://exa mple/", 1024).await;
        assert!(
            matches!(&bad, Err(e @ ProbeError::InvalidUrl { .. }) if e.to_string().starts_with("invalid URL")),
            "{bad:?}"
        );
    }

    #[test]
    fn sizes_read_as_written() {
        assert_eq!(human_size(1024 * 1024), "1 MiB");
        assert_eq!(human_size(512 * 1024), "512 KiB");
        assert_eq!(human_size(512_000), "512 kB");
        assert_eq!(human_size(64 * 1024 * 1024), "64 MiB");
        assert_eq!(human_size(1536 * 1024), "1536 KiB");
        assert_eq!(human_size(1_572_865), "1.5 MiB");
        assert_eq!(human_size(1_048_577), "1.0 MiB");
        assert_eq!(human_size(100), "100 bytes");
        assert_eq!(human_size(1), "1 byte");
        assert_eq!(human_size(1000), "1 kB");
        assert_eq!(human_size(1024), "1 KiB");
    }

    #[test]
    fn the_cap_keeps_at_most_the_limit() {
        let mut c = Capped::new(10, Some(1 << 40));
        assert!(c.kept.capacity() <= 64 * 1024);
        assert!(c.push(b"12345"));
        assert!(c.push(b"67890"), "exactly the limit is fine");
        assert!(!c.push(b"x"));
        assert!(c.kept.is_empty(), "what was kept is let go");
        assert_eq!(c.over(), Body::OverLimit(10));
    }
}
