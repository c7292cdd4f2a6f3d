//! One ledger row: a metered request with its usage, cost and attribution.

use std::sync::Arc;

use uuid::Uuid;

use crate::meter::{Billing, Usage};

/// Who and what a request is attributed to. Fixed for a proxy session, except the agent's own
/// session id, which comes from each request's headers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    pub session_id: String,
    pub agent: Option<String>,
    pub agent_version: Option<String>,
    pub developer: Option<String>,
    pub project: Option<String>,
    pub branch: Option<String>,
    pub task: Option<String>,
    pub cwd: Option<String>,
    pub host: Option<String>,
    pub key_id: Option<String>,
}

/// One request as recorded. Times are Unix microseconds (UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub id: Uuid,
    pub started_at_us: i64,
    pub ended_at_us: i64,
    pub provider: String,
    /// Path without the query string (queries can carry API keys), e.g. `/v1/messages`.
    pub endpoint: String,
    pub requested_model: Option<String>,
    pub model: Option<String>,
    /// HTTP status from the upstream, or the one gw answered with (502 when unreachable).
    pub status: u16,
    pub streamed: bool,
    /// The stream ended before its terminal event (client or upstream cut it).
    pub incomplete: bool,
    pub usage: Usage,
    /// Nano-dollars; `None` when the model has no price (never a silent zero).
    pub cost_nanos: Option<i64>,
    pub price_version: String,
    pub latency_us: i64,
    /// Time to the first response body byte; `None` when no body arrived.
    pub ttfb_us: Option<i64>,
    pub upstream_request_id: Option<String>,
    pub agent_session_id: Option<String>,
    pub error: Option<String>,
    pub billing: Billing,
    /// The cloud region that served it, where the route has one: Bedrock's (the signing or
    /// endpoint region) and Vertex's location.
    pub region: Option<String>,
    /// Shared: a proxy's rows all carry its session's, so a row costs a reference, not ten
    /// strings copied (and freed by the ledger writer's thread).
    pub attribution: Arc<Attribution>,
    /// Metered by gw's proxy, or imported from an agent's own log.
    pub source: Source,
    /// The provider's id of the answer: Anthropic's `msg_…`, OpenAI's `resp_…` or `chatcmpl-…`,
    /// Gemini's `responseId`. Agents' logs name calls by it.
    pub response_id: Option<String>,
    /// What the agent's own log says the call cost (opencode's `cost`), kept beside gw's.
    pub log_cost_nanos: Option<i64>,
}

/// Where a ledger row comes from.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Metered by gw's proxy: exact.
    #[default]
    Proxy,
    /// Read from an agent's own log by `gw import`.
    Import,
}

impl Source {
    pub fn is_proxy(&self) -> bool {
        *self == Source::Proxy
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Proxy => "proxy",
            Source::Import => "import",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        match s {
            "proxy" => Some(Source::Proxy),
            "import" => Some(Source::Import),
            _ => None,
        }
    }
}
