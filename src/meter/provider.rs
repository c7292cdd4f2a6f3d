//! The upstream providers gw knows, and everything gw knows about each, in one table:
//! [`PROVIDERS`].

use serde::{Deserialize, Serialize};

use super::usage::Billing;

/// Which upstream provider a request goes to; decided by the proxy path prefix. What gw knows
/// about each is its entry in [`PROVIDERS`] ([`Provider::info`]).
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
    /// Azure OpenAI: OpenAI's models in a company's Azure resource, by deployment name.
    Azure,
    /// Google Vertex AI: Gemini, and Anthropic's Claude, in a company's Google Cloud project.
    Vertex,
    /// Amazon Bedrock: Anthropic's Claude in a company's AWS account.
    Bedrock,
}

/// The shape of the error bodies a provider's clients read, so that an agent shows gw's message
/// (`proxy::route::error_body` builds them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorShape {
    /// `{"type": "error", "error": {"type", "message"}}`.
    Anthropic,
    /// `{"error": {"message", "type", "code"}}`; also the shape off every provider's route.
    OpenAi,
    /// Google's `{"error": {"code", "message", "status"}}`, `status` as `RESOURCE_EXHAUSTED`.
    Google,
    /// AWS's `{"message"}` with the kind in `x-amzn-ErrorType`.
    Aws,
}

/// What gw knows about one provider: its entry in [`PROVIDERS`].
#[derive(Debug)]
pub struct ProviderInfo {
    pub provider: Provider,
    /// The path prefix (`/anthropic/…`), the ledger's name for it, its key under `[upstream]` in
    /// the config file and under `[providers]` in the credentials file. The same as its serde
    /// name.
    pub name: &'static str,
    /// Whose models, prices and wire formats the route has: ChatGPT's backend serves OpenAI's
    /// models, Code Assist Google's. A family is a provider that is its own family.
    pub family: Provider,
    /// How requests on this route are paid for when nothing in them says otherwise.
    pub billing: Billing,
    /// The upstream base URL when neither the config file nor `upstream_var` names one.
    pub default_upstream: &'static str,
    /// The variable that overrides the upstream and `[upstream] <name>` (`GW_ANTHROPIC_UPSTREAM`).
    pub upstream_var: &'static str,
    /// `upstream_var` in `gw config --env`, before `(overrides [upstream] <name>)`.
    pub upstream_doc: &'static str,
    /// The variables gw reads the provider's API key from, in order, before the credentials
    /// file. None of them reaches the agent; where gw holds the key, `gw run -- cmd` and
    /// `gw proxy` set the first to the session key. Empty for a route without API keys.
    pub key_vars: &'static [&'static str],
    /// The first of `key_vars` in `gw config --env`.
    pub key_doc: &'static str,
    /// Variables with the user's own login for the provider (not an API key gw reads): removed
    /// from the agent's environment when gw holds the provider's key, passed on when it does not.
    pub login_vars: &'static [&'static str],
    /// The base-URL variables `gw run -- cmd` sets and `gw proxy` prints, each with the path
    /// that follows the provider's base URL (`/v1` for OpenAI's SDKs).
    pub base_url_vars: &'static [(&'static str, &'static str)],
    pub error_shape: ErrorShape,
}

/// Every provider gw knows, in the order of [`Provider`]'s variants (checked when compiling).
/// Every other place reads its provider knowledge here: the proxy's routes and error bodies, the
/// upstreams in the config and their variables, the key variables gw reads and keeps from agents,
/// and the variables `gw run -- cmd` and `gw proxy` export.
///
/// Adding a provider (Bedrock, Vertex, Azure…) is a [`Provider`] variant and an entry here, plus
/// an [`ErrorShape`] variant and its body in `proxy::route::error_body` if its clients read a
/// shape none of these is. That is all gw needs to route to it, set and keep its variables, and
/// answer in its shape. Metering it is its own work, not provider knowledge: its wire protocol in
/// `meter::Protocol::classify`, its free endpoints in `proxy::policy::endpoint` and, for a new
/// family, its prices in `pricing` (the compiler names the last two's matches).
pub const PROVIDERS: &[ProviderInfo] = &[
    ProviderInfo {
        provider: Provider::Anthropic,
        name: "anthropic",
        family: Provider::Anthropic,
        billing: Billing::Api,
        default_upstream: "https://api.anthropic.com",
        upstream_var: "GW_ANTHROPIC_UPSTREAM",
        upstream_doc: "Anthropic upstream base URL",
        key_vars: &["ANTHROPIC_API_KEY"],
        key_doc:
            "read by `gw run`: gw holds the key, swaps it in upstream and keeps it from the agent",
        login_vars: &["ANTHROPIC_AUTH_TOKEN"],
        base_url_vars: &[("ANTHROPIC_BASE_URL", "")],
        error_shape: ErrorShape::Anthropic,
    },
    ProviderInfo {
        provider: Provider::OpenAi,
        name: "openai",
        family: Provider::OpenAi,
        billing: Billing::Api,
        default_upstream: "https://api.openai.com",
        upstream_var: "GW_OPENAI_UPSTREAM",
        upstream_doc: "OpenAI upstream base URL",
        key_vars: &["OPENAI_API_KEY"],
        key_doc: "read by `gw run`: as ANTHROPIC_API_KEY, for OpenAI",
        login_vars: &[],
        base_url_vars: &[("OPENAI_BASE_URL", "/v1")],
        error_shape: ErrorShape::OpenAi,
    },
    ProviderInfo {
        provider: Provider::Gemini,
        name: "gemini",
        family: Provider::Gemini,
        billing: Billing::Api,
        default_upstream: "https://generativelanguage.googleapis.com",
        upstream_var: "GW_GEMINI_UPSTREAM",
        upstream_doc: "Gemini upstream base URL",
        key_vars: &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
        key_doc: "read by `gw run`: as ANTHROPIC_API_KEY, for Gemini (GOOGLE_API_KEY too)",
        login_vars: &[],
        base_url_vars: &[("GOOGLE_GEMINI_BASE_URL", ""), ("GEMINI_BASE_URL", "")],
        error_shape: ErrorShape::Google,
    },
    ProviderInfo {
        provider: Provider::ChatGpt,
        name: "chatgpt",
        family: Provider::OpenAi,
        billing: Billing::Subscription,
        default_upstream: "https://chatgpt.com",
        upstream_var: "GW_CHATGPT_UPSTREAM",
        upstream_doc: "ChatGPT backend base URL, for Codex on a ChatGPT plan",
        key_vars: &[],
        key_doc: "",
        login_vars: &[],
        base_url_vars: &[],
        error_shape: ErrorShape::OpenAi,
    },
    ProviderInfo {
        provider: Provider::CodeAssist,
        name: "codeassist",
        family: Provider::Gemini,
        billing: Billing::Subscription,
        default_upstream: "https://cloudcode-pa.googleapis.com",
        upstream_var: "GW_CODEASSIST_UPSTREAM",
        upstream_doc: "Code Assist base URL, for Gemini CLI on a Google login",
        key_vars: &[],
        key_doc: "",
        login_vars: &[],
        base_url_vars: &[],
        error_shape: ErrorShape::Google,
    },
    ProviderInfo {
        provider: Provider::Azure,
        name: "azure",
        family: Provider::OpenAi,
        billing: Billing::Api,
        // Each company's own resource: no default.
        default_upstream: "",
        upstream_var: "GW_AZURE_UPSTREAM",
        upstream_doc: "Azure OpenAI resource, e.g. https://<resource>.openai.azure.com",
        key_vars: &["AZURE_OPENAI_API_KEY"],
        key_doc:
            "read by `gw run`: as ANTHROPIC_API_KEY, for Azure OpenAI (sent upstream as `api-key`)",
        // A service principal gw gets Entra ID tokens with.
        login_vars: &["AZURE_CLIENT_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID"],
        base_url_vars: &[("AZURE_OPENAI_ENDPOINT", "")],
        error_shape: ErrorShape::OpenAi,
    },
    ProviderInfo {
        provider: Provider::Vertex,
        name: "vertex",
        // Gemini's unless the path names Anthropic's publisher (`Provider::priced_as`).
        family: Provider::Gemini,
        billing: Billing::Api,
        default_upstream: "https://aiplatform.googleapis.com",
        upstream_var: "GW_VERTEX_UPSTREAM",
        upstream_doc: "Vertex AI endpoint, e.g. https://us-east5-aiplatform.googleapis.com",
        // gw's Google credentials are a service-account key file ([vertex] credentials), not
        // an API key.
        key_vars: &[],
        key_doc: "",
        login_vars: &["GOOGLE_APPLICATION_CREDENTIALS"],
        base_url_vars: &[("GOOGLE_VERTEX_BASE_URL", "")],
        error_shape: ErrorShape::Google,
    },
    ProviderInfo {
        provider: Provider::Bedrock,
        name: "bedrock",
        family: Provider::Anthropic,
        billing: Billing::Api,
        // Each account's region: no default.
        default_upstream: "",
        upstream_var: "GW_BEDROCK_UPSTREAM",
        upstream_doc: "Bedrock runtime endpoint, e.g. https://bedrock-runtime.us-east-1.amazonaws.com",
        // A Bedrock API key; AWS access keys (signed SigV4) are read beside it.
        key_vars: &["AWS_BEARER_TOKEN_BEDROCK"],
        key_doc: "read by `gw run`: a Bedrock API key gw sends upstream (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, which gw signs with)",
        // And what points AWS's credential chain at a source gw reads them from.
        login_vars: &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ROLE_ARN",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "AWS_LOGIN_CACHE_DIRECTORY",
        ],
        base_url_vars: &[("ANTHROPIC_BEDROCK_BASE_URL", "")],
        error_shape: ErrorShape::Aws,
    },
];

// `Provider::info` indexes the table by variant: entry `i` must be variant `i`.
const _: () = {
    let mut i = 0;
    while i < PROVIDERS.len() {
        assert!(
            PROVIDERS[i].provider as usize == i,
            "PROVIDERS must list the providers in the order of Provider's variants"
        );
        i += 1;
    }
};

impl Provider {
    /// Every provider, in the table's order.
    pub const ALL: [Provider; PROVIDERS.len()] = {
        let mut all = [Provider::Anthropic; PROVIDERS.len()];
        let mut i = 0;
        while i < PROVIDERS.len() {
            all[i] = PROVIDERS[i].provider;
            i += 1;
        }
        all
    };

    /// This provider's entry in [`PROVIDERS`].
    pub fn info(self) -> &'static ProviderInfo {
        &PROVIDERS[self as usize]
    }

    /// The path prefix and ledger name: `anthropic`, `openai`, `gemini`, `chatgpt`,
    /// `codeassist`, `azure`, `vertex`, `bedrock`.
    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    /// Whose models, prices and error shapes a route has (see [`ProviderInfo::family`]).
    pub fn family(self) -> Provider {
        self.info().family
    }

    /// The route a request to `path` is priced as: Vertex serves Anthropic's models under
    /// `/publishers/anthropic/`, priced as Anthropic's; otherwise the route itself (its family's
    /// prices, with its own aliases such as Azure's deployments).
    pub fn priced_as(self, path: &str) -> Provider {
        match self {
            Provider::Vertex if path.contains("/publishers/anthropic/") => Provider::Anthropic,
            _ => self,
        }
    }

    /// How requests on this route are paid for when nothing in them says otherwise.
    pub fn billing(self) -> Billing {
        self.info().billing
    }

    pub fn from_prefix(s: &str) -> Option<Provider> {
        PROVIDERS.iter().find(|p| p.name == s).map(|p| p.provider)
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_serde_names_and_families_are_their_own() {
        for info in PROVIDERS {
            let p = info.provider;
            assert_eq!(serde_json::to_value(p).unwrap(), info.name);
            assert_eq!(Provider::from_prefix(info.name), Some(p));
            assert_eq!(p.family().family(), p.family(), "{p}: a family is its own");
            assert!(info.key_vars.is_empty() || !info.key_doc.is_empty(), "{p}");
        }
        assert_eq!(Provider::from_prefix("nope"), None);
    }
}
