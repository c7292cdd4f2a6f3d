//! The normalised usage of one request, the same for every provider.

use serde::{Deserialize, Serialize};

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
