//! The normalised usage of one request, the same for every provider.

use serde::{Deserialize, Serialize};

/// Which upstream provider a request goes to; decided by the proxy path prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Anthropic,
    OpenAi,
    Gemini,
    /// ChatGPT's backend, where Codex signed in with a ChatGPT plan sends its turns.
    #[serde(rename = "chatgpt")]
    ChatGpt,
    /// Google's Code Assist API, where Gemini CLI signed in with a Google account sends its.
    #[serde(rename = "codeassist")]
    CodeAssist,
}

impl Provider {
    pub const ALL: [Provider; 5] = [
        Provider::Anthropic,
        Provider::OpenAi,
        Provider::Gemini,
        Provider::ChatGpt,
        Provider::CodeAssist,
    ];

    /// The path prefix and ledger name: `anthropic`, `openai`, `gemini`, `chatgpt`,
    /// `codeassist`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Anthropic => "anthropic",
            Provider::OpenAi => "openai",
            Provider::Gemini => "gemini",
            Provider::ChatGpt => "chatgpt",
            Provider::CodeAssist => "codeassist",
        }
    }

    /// Whose models, prices and error shapes a route has: ChatGPT's backend serves OpenAI's
    /// models, Code Assist Google's.
    pub fn family(self) -> Provider {
        match self {
            Provider::ChatGpt => Provider::OpenAi,
            Provider::CodeAssist => Provider::Gemini,
            p => p,
        }
    }

    /// How requests on this route are paid for when nothing in them says otherwise.
    pub fn billing(self) -> Billing {
        match self {
            Provider::ChatGpt | Provider::CodeAssist => Billing::Subscription,
            _ => Billing::Api,
        }
    }

    pub fn from_prefix(s: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a request is paid for: per token on an API key (`api`), or by a plan the agent logged in
/// with (`subscription`: ChatGPT, claude.ai, Google), whose usage gw still prices at API rates.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Billing {
    #[default]
    Api,
    Subscription,
}

impl Billing {
    pub fn as_str(self) -> &'static str {
        match self {
            Billing::Api => "api",
            Billing::Subscription => "subscription",
        }
    }

    pub fn parse(s: &str) -> Option<Billing> {
        match s {
            "api" => Some(Billing::Api),
            "subscription" => Some(Billing::Subscription),
            _ => None,
        }
    }
}

/// Token counts normalised across providers (see DESIGN.md, `gw spend --json`):
/// - `input`: uncached input only (Anthropic `input_tokens`; OpenAI/Gemini prompt minus cached),
/// - `cache_read`: cached input read,
/// - `cache_write_5m` / `cache_write_1h`: cache writes by TTL (Anthropic only),
/// - `output`: all output, including reasoning / thoughts,
/// - `reasoning`: the reasoning part of `output` (already counted in it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write_5m: u64,
    pub cache_write_1h: u64,
    pub reasoning: u64,
}

impl Usage {
    /// Every input token the request was billed for: uncached, cache reads and cache writes.
    /// This is what long-context price tiers are chosen on.
    pub fn total_input(&self) -> u64 {
        self.input
            .saturating_add(self.cache_read)
            .saturating_add(self.cache_write_5m)
            .saturating_add(self.cache_write_1h)
    }

    pub fn cache_write(&self) -> u64 {
        self.cache_write_5m.saturating_add(self.cache_write_1h)
    }

    pub fn total(&self) -> u64 {
        self.total_input().saturating_add(self.output)
    }

    pub fn is_zero(&self) -> bool {
        *self == Usage::default()
    }

    /// Every count capped at [`crate::limits::MAX_TOKENS`] (sums of capped fields, such as
    /// Gemini's output plus thoughts, can pass it), so a recorded row is one the server takes.
    pub fn capped(self) -> Usage {
        let cap = crate::limits::cap_tokens;
        Usage {
            input: cap(self.input),
            output: cap(self.output),
            cache_read: cap(self.cache_read),
            cache_write_5m: cap(self.cache_write_5m),
            cache_write_1h: cap(self.cache_write_1h),
            reasoning: cap(self.reasoning),
        }
    }
}
