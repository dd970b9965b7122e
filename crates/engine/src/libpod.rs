//! Podman's native API for the one thing its Docker-compatible API does
//! slowly: resource stats. The compatible API needs one request per container
//! (50 containers took ~120 ms here); Podman's own endpoint returns every
//! running container's stats in one call (~40 ms). Used when the engine is
//! Podman on a unix socket; anything else falls back to per-container stats.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use hyperlocal::UnixConnector;
use serde::Deserialize;

use crate::error::EngineError;

const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub(crate) struct LibpodClient {
    client: Client<UnixConnector, Empty<Bytes>>,
    socket: PathBuf,
}

impl std::fmt::Debug for LibpodClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibpodClient")
            .field("socket", &self.socket)
            .finish()
    }
}

/// One container's figures from `GET /libpod/containers/stats`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct LibpodStats {
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    /// Container CPU time, ns.
    #[serde(rename = "CPUNano")]
    pub cpu_nano: u64,
    /// Wall clock of the reading, ns since the epoch.
    #[serde(rename = "SystemNano")]
    pub system_nano: u64,
    #[serde(rename = "MemUsage")]
    pub mem_usage: u64,
    #[serde(rename = "MemLimit")]
    pub mem_limit: u64,
}

#[derive(Debug, Deserialize)]
struct StatsReport {
    #[serde(rename = "Error")]
    error: Option<serde_json::Value>,
    #[serde(rename = "Stats", default)]
    stats: Option<Vec<LibpodStats>>,
}

#[derive(Debug, Deserialize)]
struct ListedContainer {
    #[serde(rename = "Id")]
    id: String,
}

pub(crate) fn parse_ids(body: &[u8]) -> Result<Vec<String>, EngineError> {
    let list: Vec<ListedContainer> = serde_json::from_slice(body)
        .map_err(|e| EngineError::Lost(format!("unreadable container list from Podman: {e}")))?;
    Ok(list.into_iter().map(|c| c.id).collect())
}

/// Parses the endpoint's body; an `Error` field set by Podman is an error.
pub(crate) fn parse_stats(body: &[u8]) -> Result<Vec<LibpodStats>, EngineError> {
    let report: StatsReport = serde_json::from_slice(body)
        .map_err(|e| EngineError::Lost(format!("unreadable stats from Podman: {e}")))?;
    match report.error {
        Some(e) if !e.is_null() => Err(EngineError::Lost(format!("Podman stats failed: {e}"))),
        _ => Ok(report.stats.unwrap_or_default()),
    }
}

impl LibpodClient {
    /// A client for `unix://...` endpoints that answer Podman's own ping.
    pub(crate) async fn detect(endpoint: &str) -> Option<Self> {
        let socket = PathBuf::from(endpoint.strip_prefix("unix://")?);
        let client = Client::builder(TokioExecutor::new()).build(UnixConnector);
        let me = Self { client, socket };
        me.get("/libpod/_ping").await.ok().map(|_| me)
    }

    async fn get(&self, path: &str) -> Result<Bytes, EngineError> {
        let uri: hyper::Uri = hyperlocal::Uri::new(&self.socket, path).into();
        let request = async {
            let response = self
                .client
                .get(uri)
                .await
                .map_err(|e| EngineError::Lost(format!("Podman API: {e}")))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| EngineError::Lost(format!("Podman API: {e}")))?
                .to_bytes();
            if status.is_success() {
                Ok(body)
            } else {
                Err(EngineError::Lost(format!(
                    "Podman API {path}: {status}: {}",
                    String::from_utf8_lossy(&body).trim()
                )))
            }
        };
        tokio::time::timeout(TIMEOUT, request)
            .await
            .map_err(|_| EngineError::Lost(format!("Podman API {path}: no answer within 10 s")))?
    }

    /// Ids of every container. Podman's own list answers about twice as fast
    /// as its Docker-compatible one (25 vs 55 ms for 50 containers here).
    pub(crate) async fn list_ids(&self) -> Result<Vec<String>, EngineError> {
        let body = self.get("/v4.0.0/libpod/containers/json?all=true").await?;
        parse_ids(&body)
    }

    /// Stats of every running container, in one call.
    pub(crate) async fn all_stats(&self) -> Result<Vec<LibpodStats>, EngineError> {
        let body = self
            .get("/v4.0.0/libpod/containers/stats?stream=false")
            .await?;
        parse_stats(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_podman_stats_report() {
        let body =
            br#"{"Error":null,"Stats":[{"AvgCPU":0.2,"ContainerID":"abc","Name":"x","CPU":0.2,
            "CPUNano":36013595,"CPUSystemNano":12000000,"SystemNano":1795769184609322903,
            "MemUsage":233472,"MemLimit":25276514304,"PIDs":1}]}"#;
        let stats = parse_stats(body).ok();
        let first = stats.as_ref().and_then(|s| s.first());
        assert_eq!(first.map(|s| s.container_id.as_str()), Some("abc"));
        assert_eq!(first.map(|s| s.cpu_nano), Some(36_013_595));
        assert_eq!(first.map(|s| s.mem_limit), Some(25_276_514_304));
    }

    #[test]
    fn parses_podman_container_list() {
        let body = br#"[{"Id":"a1","Names":["x"],"State":"running"},{"Id":"b2","Names":["y"]}]"#;
        assert_eq!(
            parse_ids(body).ok(),
            Some(vec!["a1".to_string(), "b2".to_string()])
        );
        assert!(parse_ids(b"{}").is_err());
    }

    #[test]
    fn no_running_containers_is_an_empty_list() {
        assert_eq!(
            parse_stats(br#"{"Error":null,"Stats":null}"#).ok(),
            Some(vec![])
        );
    }

    #[test]
    fn errors_and_garbage_are_reported() {
        assert!(parse_stats(br#"{"Error":"boom","Stats":[]}"#).is_err());
        assert!(parse_stats(b"not json").is_err());
    }
}
