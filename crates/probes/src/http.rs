//! HTTP for probes. Plain `http://` goes through hyper's client, which costs
//! nothing to set up; `https://` through reqwest with the system's TLS,
//! whose set-up parses every system root certificate (about 70 ms here) and
//! is therefore done once, on the first https probe, off the async threads.
//! Redirects are not followed: a probe reports what the endpoint answered.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::OnceCell;

const USER_AGENT: &str = concat!("stackwarden/", env!("CARGO_PKG_VERSION"));

/// What an endpoint answered.
#[derive(Debug)]
pub struct HttpSeen {
    pub status: u16,
    pub elapsed: Duration,
    pub body: Bytes,
}

#[derive(Debug, Clone)]
pub struct HttpClient {
    plain: Client<HttpConnector, Empty<Bytes>>,
    tls: std::sync::Arc<OnceCell<Result<reqwest::Client, String>>>,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self {
            plain: Client::builder(TokioExecutor::new()).build_http(),
            tls: std::sync::Arc::new(OnceCell::new()),
        }
    }
}

impl HttpClient {
    pub async fn get(&self, url: &str) -> Result<HttpSeen, String> {
        if url.starts_with("https://") {
            return self.get_tls(url).await;
        }
        let uri: hyper::Uri = url.parse().map_err(|e| format!("invalid URL {url}: {e}"))?;
        let request = hyper::Request::get(uri)
            .header(hyper::header::USER_AGENT, USER_AGENT)
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("invalid request for {url}: {e}"))?;
        let started = Instant::now();
        let response = self
            .plain
            .request(request)
            .await
            .map_err(|e| stackwarden_model::error_text::with_causes(&e))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("the answer broke off: {e}"))?
            .to_bytes();
        Ok(HttpSeen {
            status,
            elapsed: started.elapsed(),
            body,
        })
    }

    async fn get_tls(&self, url: &str) -> Result<HttpSeen, String> {
        let client = self
            .tls
            .get_or_init(|| async {
                tokio::task::spawn_blocking(|| {
                    reqwest::Client::builder()
                        .user_agent(USER_AGENT)
                        .no_proxy()
                        .redirect(reqwest::redirect::Policy::none())
                        .build()
                        .map_err(|e| format!("cannot set up HTTPS: {e}"))
                })
                .await
                .unwrap_or_else(|e| Err(format!("cannot set up HTTPS: {e}")))
            })
            .await
            .clone()?;
        let started = Instant::now();
        let response = client
            .get(url)
            .send()
            .await
            .map_err(|e| stackwarden_model::error_text::with_causes(&e))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| stackwarden_model::error_text::with_causes(&e))?;
        Ok(HttpSeen {
            status,
            elapsed: started.elapsed(),
            body,
        })
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
        let closed = client.get("https://127.0.0.1:1/health").await;
        assert!(closed.is_err());
        assert!(
            matches!(client.tls.get(), Some(Ok(_))),
            "the HTTPS client was built"
        );
        let bad = client.get("http://exa mple/").await;
        assert!(bad.unwrap_err().starts_with("invalid URL"));
    }
}
