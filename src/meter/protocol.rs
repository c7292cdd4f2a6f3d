//! Which wire protocol a request speaks, decided from its provider and path.

use super::Provider;

/// Which wire protocol a request speaks, from the provider and the path after gw's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    AnthropicMessages,
    OpenAiResponses,
    OpenAiChat,
    Gemini,
    /// Google's Code Assist API: Gemini's methods on `/v1internal`, the model in the body and
    /// each response wrapped in `{"response": …}`.
    CodeAssist,
    /// Bedrock's Converse API: the model in the path, usage in the response's `usage` (or the
    /// stream's `metadata` event) as `inputTokens`, `outputTokens`, cache reads and writes.
    BedrockConverse,
    /// Anything that carries no billed usage: token counting, model lists, `HEAD /`.
    Other,
}

impl Protocol {
    /// Classifies `path_and_query` (e.g. `/v1/messages?beta=true`,
    /// `/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse`) sent to `provider`.
    /// A Bedrock call of `model` (the path's id, or the model id an application inference
    /// profile's ARN is configured to run): Claude by InvokeModel, streamed (an AWS event stream
    /// of Anthropic events) or not (Anthropic's message), and by Converse (usage in its own
    /// shape). Other publishers' models are not metered: refused under a budget.
    pub fn bedrock(path_and_query: &str, model: &str) -> Protocol {
        let path = strip_query(path_and_query).trim_end_matches('/');
        if !model.contains("anthropic.") {
            return Protocol::Other;
        }
        if path.ends_with("/invoke") || path.ends_with("/invoke-with-response-stream") {
            Protocol::AnthropicMessages
        } else if path.ends_with("/converse") || path.ends_with("/converse-stream") {
            Protocol::BedrockConverse
        } else {
            Protocol::Other
        }
    }

    pub fn classify(provider: Provider, path_and_query: &str) -> Protocol {
        let path = strip_query(path_and_query).trim_end_matches('/');
        match provider {
            Provider::Anthropic if path.ends_with("/messages") => Protocol::AnthropicMessages,
            Provider::OpenAi if path.ends_with("/responses") => Protocol::OpenAiResponses,
            // The subscription routes meter their one turn endpoint each, exactly: anything
            // else there is not a model call gw knows the shape of.
            Provider::ChatGpt if path == "/backend-api/codex/responses" => {
                Protocol::OpenAiResponses
            }
            Provider::CodeAssist
                if matches!(
                    path.replace("%3A", ":").replace("%3a", ":").as_str(),
                    "/v1internal:generateContent" | "/v1internal:streamGenerateContent"
                ) =>
            {
                Protocol::CodeAssist
            }
            // Azure OpenAI: `/openai/responses?api-version=…`, `/openai/v1/responses`, and the
            // deployment-based `/openai/deployments/<name>/…` of both.
            Provider::Azure if path.starts_with("/openai/") && path.ends_with("/responses") => {
                Protocol::OpenAiResponses
            }
            // Gemini also serves an OpenAI-compatible endpoint under `/v1beta/openai/`.
            Provider::OpenAi | Provider::Gemini if path.ends_with("/chat/completions") => {
                Protocol::OpenAiChat
            }
            Provider::Azure
                if path.starts_with("/openai/") && path.ends_with("/chat/completions") =>
            {
                Protocol::OpenAiChat
            }
            Provider::Gemini
                if matches!(
                    gemini_method(path),
                    Some("generateContent" | "streamGenerateContent")
                ) =>
            {
                Protocol::Gemini
            }
            // Bedrock: Claude through InvokeModel, streamed (an AWS event stream of Anthropic
            // events) or not (Anthropic's message). Other publishers' models and the Converse
            // API are metered below (Converse); other publishers' models are not: refused under
            // a budget.
            Provider::Bedrock => match bedrock_model(path) {
                Some(model) => Protocol::bedrock(path, &model),
                None => Protocol::Other,
            },
            // Vertex: Claude by `rawPredict` (Anthropic's Messages in and out, the model in the
            // path), Gemini by its own methods. `count-tokens:rawPredict` is not a model call.
            Provider::Vertex
                if path.contains("/publishers/anthropic/models/")
                    && gemini_path_model(path).is_some_and(|m| m != "count-tokens")
                    && matches!(gemini_method(path), Some("rawPredict" | "streamRawPredict")) =>
            {
                Protocol::AnthropicMessages
            }
            Provider::Vertex
                if path.contains("/publishers/google/models/")
                    && matches!(
                        gemini_method(path),
                        Some("generateContent" | "streamGenerateContent")
                    ) =>
            {
                Protocol::Gemini
            }
            _ => Protocol::Other,
        }
    }

    /// The ledger name: `anthropic.messages`, `openai.responses`, `openai.chat`,
    /// `gemini.generate`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::AnthropicMessages => "anthropic.messages",
            Protocol::OpenAiResponses => "openai.responses",
            Protocol::OpenAiChat => "openai.chat",
            Protocol::Gemini => "gemini.generate",
            Protocol::CodeAssist => "codeassist.generate",
            Protocol::BedrockConverse => "bedrock.converse",
            Protocol::Other => "other",
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The model a request's path names, where its provider puts one there: Gemini's
/// `/models/<model>:<method>`, Azure's `/openai/deployments/<deployment>/…`.
pub fn path_model(provider: Provider, path: &str) -> Option<String> {
    match provider {
        Provider::Gemini | Provider::Vertex => gemini_path_model(path),
        Provider::Azure => azure_path_deployment(path),
        Provider::Bedrock => bedrock_model(path),
        _ => None,
    }
}

/// A Bedrock runtime path, `/model/<id>/<operation>`: the id decoded (`%3A` is `:`, `%2F` in
/// an inference-profile ARN is `/`) and the operation. The one reading of these paths, for
/// metering and for what gw's AWS credentials may sign.
pub fn bedrock_call(path: &str) -> Option<(String, &str)> {
    let rest = strip_query(path).strip_prefix("/model/")?;
    let (id, operation) = rest.rsplit_once('/')?;
    if id.is_empty() || operation.is_empty() || id.contains('/') {
        return None;
    }
    let mut out = Vec::with_capacity(id.len());
    let bytes = id.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some((String::from_utf8(out).ok()?, operation))
}

/// The model id of a Bedrock runtime path (see [`bedrock_call`]).
fn bedrock_model(path: &str) -> Option<String> {
    bedrock_call(path).map(|(id, _)| id)
}

/// The deployment an Azure OpenAI path names (`/openai/deployments/<name>/…`), if any: there the
/// body may carry no model, and the deployment stands for it.
fn azure_path_deployment(path: &str) -> Option<String> {
    let rest = strip_query(path).strip_prefix("/openai/deployments/")?;
    let name = rest.split('/').next().unwrap_or_default();
    (!name.is_empty() && rest.len() > name.len()).then(|| name.to_owned())
}

/// The model named in a Gemini URL path (`/v1beta/models/<model>:<method>`), if any.
pub fn gemini_path_model(path: &str) -> Option<String> {
    const MODELS: &str = "/models/";
    let path = strip_query(path);
    let rest = &path[path.rfind(MODELS)? + MODELS.len()..];
    let rest = rest.split('/').next().unwrap_or_default();
    let model = split_method(rest).map_or(rest, |(model, _)| model);
    (!model.is_empty()).then(|| model.to_owned())
}

fn strip_query(path_and_query: &str) -> &str {
    path_and_query.split(['?', '#']).next().unwrap_or_default()
}

/// The `<method>` of a Gemini path's last segment `<model>:<method>`.
fn gemini_method(path: &str) -> Option<&str> {
    let last = path.rsplit('/').next().unwrap_or_default();
    split_method(last).map(|(_, method)| method)
}

/// Splits `<model>:<method>`, also when a client percent-encoded the colon.
fn split_method(segment: &str) -> Option<(&str, &str)> {
    if let Some(split) = segment.split_once(':') {
        return Some(split);
    }
    let at = segment.to_ascii_lowercase().find("%3a")?;
    Some((&segment[..at], &segment[at + 3..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bedrock_paths() {
        use Protocol::*;
        let id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
        for (path, want) in [
            (
                format!("/model/{id}/invoke-with-response-stream"),
                AnthropicMessages,
            ),
            (format!("/model/{id}/invoke"), AnthropicMessages),
            (
                format!("/model/{}/invoke", id.replace(':', "%3A")),
                AnthropicMessages,
            ),
            (format!("/model/{id}/converse-stream"), BedrockConverse),
            (
                format!("/model/{}/converse", id.replace(':', "%3A")),
                BedrockConverse,
            ),
            (
                "/model/meta.llama3-70b-instruct-v1:0/converse".to_string(),
                Other,
            ),
            (format!("/model/{id}/count-tokens"), Other),
            (
                "/model/meta.llama3-70b-instruct-v1:0/invoke".to_string(),
                Other,
            ),
            ("/inference-profiles?type=SYSTEM_DEFINED".to_string(), Other),
        ] {
            assert_eq!(Protocol::classify(Provider::Bedrock, &path), want, "{path}");
        }
        assert_eq!(
            path_model(
                Provider::Bedrock,
                &format!("/model/{}/invoke", id.replace(':', "%3A"))
            ),
            Some(id.to_string())
        );
        let arn = "/model/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile%2Fabc123/invoke";
        assert_eq!(
            path_model(Provider::Bedrock, arn),
            Some(
                "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
                    .into()
            )
        );
        assert_eq!(path_model(Provider::Bedrock, "/model//invoke"), None);
    }

    #[test]
    fn vertex_paths() {
        use Protocol::*;
        let p = "/v1/projects/p/locations/us-east5/publishers";
        for (path, want) in [
            (
                format!("{p}/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"),
                AnthropicMessages,
            ),
            (
                format!("{p}/anthropic/models/claude-opus-4-6:rawPredict"),
                AnthropicMessages,
            ),
            (
                format!("{p}/anthropic/models/count-tokens:rawPredict"),
                Other,
            ),
            (
                format!("{p}/anthropic/models/claude-opus-4-6:predict"),
                Other,
            ),
            (
                format!("{p}/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"),
                Gemini,
            ),
            (
                format!("{p}/google/models/gemini-2.5-pro%3AgenerateContent"),
                Gemini,
            ),
            (
                format!("{p}/google/models/gemini-2.5-pro:countTokens"),
                Other,
            ),
            (
                "/v1beta1/publishers/google/models/gemini-2.5-pro:generateContent".to_string(),
                Gemini,
            ),
        ] {
            assert_eq!(Protocol::classify(Provider::Vertex, &path), want, "{path}");
        }
        assert_eq!(
            path_model(
                Provider::Vertex,
                &format!("{p}/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict")
            ),
            Some("claude-sonnet-4-5@20250929".into())
        );
        assert_eq!(
            Provider::Vertex.priced_as(&format!("{p}/anthropic/models/x:rawPredict")),
            Provider::Anthropic
        );
        assert_eq!(
            Provider::Vertex.priced_as(&format!("{p}/google/models/x:generateContent")),
            Provider::Vertex
        );
        assert_eq!(Provider::Vertex.family(), Provider::Gemini);
        assert_eq!(
            Provider::Azure.priced_as("/openai/responses"),
            Provider::Azure
        );
    }

    #[test]
    fn azure_paths_and_deployments() {
        use Protocol::*;
        for (path, want) in [
            (
                "/openai/responses?api-version=2025-04-01-preview",
                OpenAiResponses,
            ),
            ("/openai/v1/responses", OpenAiResponses),
            (
                "/openai/deployments/my-gpt5/responses?api-version=x",
                OpenAiResponses,
            ),
            (
                "/openai/deployments/my-gpt5/chat/completions?api-version=x",
                OpenAiChat,
            ),
            ("/openai/v1/chat/completions", OpenAiChat),
            ("/openai/v1/models", Other),
            ("/v1/responses", Other),
            ("/responses", Other),
        ] {
            assert_eq!(Protocol::classify(Provider::Azure, path), want, "{path}");
        }
        assert_eq!(
            path_model(
                Provider::Azure,
                "/openai/deployments/my-gpt5/chat/completions?x=1"
            ),
            Some("my-gpt5".into())
        );
        for path in [
            "/openai/deployments/my-gpt5",
            "/openai/deployments//x",
            "/openai/responses",
        ] {
            assert_eq!(path_model(Provider::Azure, path), None, "{path}");
        }
        assert_eq!(
            path_model(Provider::OpenAi, "/openai/deployments/d/x"),
            None
        );
    }

    #[test]
    fn classifies_paths() {
        use Protocol::*;
        use Provider::{Anthropic, Gemini as G, OpenAi};
        let cases = [
            (Anthropic, "/v1/messages", AnthropicMessages),
            (Anthropic, "/v1/messages?beta=true", AnthropicMessages),
            (Anthropic, "/messages", AnthropicMessages),
            (Anthropic, "/v1/messages/count_tokens?beta=true", Other),
            (Anthropic, "/", Other),
            (Anthropic, "", Other),
            (Anthropic, "/v1/models", Other),
            (OpenAi, "/v1/responses", OpenAiResponses),
            (OpenAi, "/v1/responses/", OpenAiResponses),
            (OpenAi, "/v1/chat/completions", OpenAiChat),
            (OpenAi, "/v1/chat/completions?x=1", OpenAiChat),
            (OpenAi, "/v1/models", Other),
            (OpenAi, "/v1/responses/resp_123", Other),
            (OpenAi, "/v1/messages", Other),
            (
                G,
                "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
                Gemini,
            ),
            (G, "/v1beta/models/gemini-2.5-pro:generateContent", Gemini),
            (G, "/v1beta/models/gemini-2.5-pro%3AgenerateContent", Gemini),
            (G, "/v1beta/models/gemini-2.5-pro:countTokens", Other),
            (G, "/v1beta/models", Other),
            (G, "/v1beta/openai/chat/completions", OpenAiChat),
            (G, "/v1/messages", Other),
            (
                Provider::ChatGpt,
                "/backend-api/codex/responses",
                OpenAiResponses,
            ),
            (Provider::ChatGpt, "/backend-api/other/responses", Other),
            (
                Provider::ChatGpt,
                "/backend-api/codex/responses/compact",
                Other,
            ),
            (
                Provider::CodeAssist,
                "/v1internal:streamGenerateContent?alt=sse",
                CodeAssist,
            ),
            (
                Provider::CodeAssist,
                "/v1internal%3AgenerateContent",
                CodeAssist,
            ),
            (Provider::CodeAssist, "/v1internal:loadCodeAssist", Other),
            (
                Provider::CodeAssist,
                "/v1beta/models/gemini-2.5-pro:generateContent",
                Other,
            ),
        ];
        for (provider, path, want) in cases {
            assert_eq!(
                Protocol::classify(provider, path),
                want,
                "{provider} {path}"
            );
        }
    }

    #[test]
    fn names() {
        assert_eq!(Protocol::AnthropicMessages.as_str(), "anthropic.messages");
        assert_eq!(Protocol::OpenAiResponses.as_str(), "openai.responses");
        assert_eq!(Protocol::OpenAiChat.as_str(), "openai.chat");
        assert_eq!(Protocol::Gemini.as_str(), "gemini.generate");
        assert_eq!(Protocol::Other.to_string(), "other");
    }

    #[test]
    fn gemini_models_from_paths() {
        let model = |p| gemini_path_model(p);
        assert_eq!(
            model("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse").as_deref(),
            Some("gemini-2.5-pro")
        );
        assert_eq!(
            model("/v1beta/models/gemini-2.5-flash:generateContent").as_deref(),
            Some("gemini-2.5-flash")
        );
        assert_eq!(
            model("/v1beta/models/gemini-2.5-flash%3AgenerateContent").as_deref(),
            Some("gemini-2.5-flash")
        );
        assert_eq!(model("/v1beta/models/x").as_deref(), Some("x"));
        assert_eq!(model("/v1beta/models/"), None);
        assert_eq!(model("/v1beta/models/:generateContent"), None);
        assert_eq!(model("/v1/messages"), None);
        assert_eq!(model(""), None);
    }
}
