//! The MCP probe: the handshake a client makes with an MCP server over
//! streamable HTTP (`initialize`, the `initialized` notification, then
//! `tools/list`), through rmcp, the reference Rust SDK, so that the probe
//! speaks the protocol as clients do. A service that answers `/health` but
//! not the handshake fails here with what went wrong.
//!
//! The server is hostile like any other: at most [`MAX_PAGES`] pages of
//! tools are asked for and [`MAX_LIST`] names kept, each cut to
//! [`MAX_TEXT_CHARS`](crate::values::MAX_TEXT_CHARS); error texts are cut
//! to [`MAX_REASON_CHARS`] and every URL in them redacted. The probe's
//! timeout bounds the whole exchange.

use rmcp::model::{ClientCapabilities, ClientInfo, Implementation, PaginatedRequestParams};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;

use crate::error::ProbeError;
use crate::values::{bounded, McpValues, MAX_LIST};

/// Pages of `tools/list` asked for at most.
pub const MAX_PAGES: usize = 20;
/// The longest error text kept from the SDK (which may quote the server).
pub const MAX_REASON_CHARS: usize = 300;

/// The SDK's error text without the transport's Rust type name (`Send
/// message error Transport [rmcp::…] error: `), cut to [`MAX_REASON_CHARS`].
fn reason(e: impl std::fmt::Display) -> String {
    let full = e.to_string();
    let text = match full.find("] error: ") {
        Some(at) => full[at + "] error: ".len()..].to_string(),
        None => full,
    };
    if text.chars().count() <= MAX_REASON_CHARS {
        return text;
    }
    let kept: String = text.chars().take(MAX_REASON_CHARS).collect();
    format!("{kept}…")
}

/// Shakes hands with the MCP server at `url` and lists its tools.
pub(crate) async fn mcp(client: reqwest::Client, url: &str) -> Result<McpValues, ProbeError> {
    let transport = StreamableHttpClientTransport::with_client(
        client,
        StreamableHttpClientTransportConfig::with_uri(url.to_string()),
    );
    let me = ClientInfo::new(
        ClientCapabilities::default(),
        Implementation::new("stackwarden", env!("CARGO_PKG_VERSION")),
    );
    let running = me
        .serve(transport)
        .await
        .map_err(|e| ProbeError::handshake(url, reason(e)))?;
    let Some(info) = running.peer_info() else {
        let _ = running.cancel().await;
        return Err(ProbeError::handshake(url, "no initialize result"));
    };
    let mut values = McpValues {
        protocol: bounded(info.protocol_version.as_str()),
        server: bounded(&info.server_info.name),
        server_version: bounded(&info.server_info.version),
        tools: Vec::new(),
    };
    let mut cursor: Option<String> = None;
    let mut listed = Ok(());
    for _ in 0..MAX_PAGES {
        let page = running
            .list_tools(Some(
                PaginatedRequestParams::default().with_cursor(cursor.take()),
            ))
            .await;
        match page {
            Ok(page) => {
                let room = MAX_LIST.saturating_sub(values.tools.len());
                values
                    .tools
                    .extend(page.tools.iter().take(room).map(|t| bounded(&t.name)));
                cursor = page.next_cursor;
                if cursor.is_none() || values.tools.len() >= MAX_LIST {
                    break;
                }
            }
            Err(e) => {
                listed = Err(ProbeError::query("tools/list", reason(e)));
                break;
            }
        }
    }
    let _ = running.cancel().await;
    listed.map(|()| values)
}
