//! Reads usage, model, id and completeness out of the payloads of one response.

use serde::de::DeserializeOwned;

use super::scan::{contains, has_usage_value, trim_json_start};
use super::wire::{
    AnthropicEvent, AnthropicMessage, AsSent, ChatChunk, CodeAssistChunk, ConverseUsageHolder,
    GeminiChunk, Kind, OpenAiUsage, ResponseObject, ResponsesEvent,
};
use super::{Protocol, Usage};

/// What the payloads of one response said so far. Fed streamed payloads (SSE event data or JSON
/// array elements) through [`on_chunk`](Self::on_chunk) and the top-level members of a single
/// JSON body through [`on_member`](Self::on_member); decides cheaply which are worth parsing.
#[derive(Debug, Clone)]
pub(crate) struct UsageExtractor {
    protocol: Protocol,
    pub(crate) usage: Usage,
    pub(crate) model: Option<String>,
    pub(crate) upstream_id: Option<String>,
    pub(crate) saw_usage: bool,
    pub(crate) complete: bool,
}

/// Anthropic stream events that can carry usage, ids or the end.
fn anthropic_event_matters(event: &[u8]) -> bool {
    matches!(
        event,
        b"message_start" | b"message_delta" | b"message_stop" | b"message"
    )
}

/// Responses stream events that can carry usage, ids or the end (not the many deltas).
fn responses_event_matters(event: &[u8]) -> bool {
    matches!(
        event,
        b"response.created" | b"response.completed" | b"response.incomplete" | b"response.failed"
    )
}

fn parse<T: DeserializeOwned>(json: &[u8]) -> Option<T> {
    super::wire::from_json(json).ok()
}

impl UsageExtractor {
    pub(crate) fn new(protocol: Protocol) -> Self {
        UsageExtractor {
            protocol,
            usage: Usage::default(),
            model: None,
            upstream_id: None,
            saw_usage: false,
            complete: false,
        }
    }

    /// Whether the data of an SSE event of this type is worth keeping; `event` is empty when the
    /// stream names none (the payload is then checked when it is complete).
    pub(crate) fn wants_event(&self, event: &[u8]) -> bool {
        match self.protocol {
            Protocol::Other => false,
            _ if event.is_empty() => true,
            Protocol::AnthropicMessages => anthropic_event_matters(event),
            Protocol::OpenAiResponses => responses_event_matters(event),
            Protocol::OpenAiChat | Protocol::Gemini | Protocol::CodeAssist => true,
            // Converse's stream names its events: `metadata` carries the usage.
            Protocol::BedrockConverse => event == b"metadata",
        }
    }

    /// One streamed payload: the data of an SSE event named `event` (empty if unnamed), or an
    /// element of a JSON-array stream.
    pub(crate) fn on_chunk(&mut self, event: &[u8], data: &[u8]) {
        if !self.wants_event(event) {
            return;
        }
        match self.protocol {
            Protocol::AnthropicMessages => self.anthropic_chunk(event, data),
            Protocol::OpenAiResponses => self.responses_chunk(event, data),
            Protocol::OpenAiChat => self.chat_chunk(data),
            Protocol::Gemini => self.gemini_chunk(data),
            Protocol::CodeAssist => self.code_assist_chunk(data),
            Protocol::BedrockConverse => {
                // The last event of a whole stream.
                if let Some(holder) = parse::<ConverseUsageHolder>(data) {
                    self.converse(holder);
                    self.complete = true;
                }
            }
            Protocol::Other => {}
        }
    }

    /// Whether the top-level member `key` (raw JSON, still escaped) of a single JSON body matters.
    pub(crate) fn wants_member(&self, key: &[u8]) -> bool {
        match self.protocol {
            Protocol::Other => false,
            Protocol::Gemini => matches!(key, b"usageMetadata" | b"modelVersion" | b"responseId"),
            Protocol::CodeAssist => matches!(key, b"response" | b"traceId"),
            Protocol::BedrockConverse => key == b"usage",
            _ => matches!(key, b"id" | b"model" | b"usage"),
        }
    }

    /// One wanted top-level member of a single JSON body, as the object `{"key":value}`.
    pub(crate) fn on_member(&mut self, json: &[u8]) {
        self.body_object(json);
    }

    /// Whether [`on_whole_body`](Self::on_whole_body) can read this protocol's single bodies:
    /// those whose body type reads the members [`wants_member`](Self::wants_member) names and
    /// applies nothing else (no alias either). Chat's also reads `choices`, which it does not
    /// apply: a `choices` that is not an array only sends the body to the member path.
    fn reads_whole_bodies(&self) -> bool {
        matches!(
            self.protocol,
            Protocol::AnthropicMessages | Protocol::OpenAiResponses | Protocol::OpenAiChat
        )
    }

    /// A whole single JSON body at once ([`reads_whole_bodies`](Self::reads_whole_bodies)):
    /// parsed whole, it says what its members say one by one. Whether it parsed; a body that
    /// does not (cut, malformed, a member repeated, a member of the wrong type) is for the
    /// member path.
    pub(crate) fn on_whole_body(&mut self, json: &[u8]) -> bool {
        self.reads_whole_bodies() && self.body_object(json)
    }

    /// `json` as the protocol's single body (whole, or one member of it), applied: whether it
    /// parsed. Nothing is applied from an object that does not. Its keys are compared as sent
    /// ([`AsSent`]), so a whole body and its members one by one say the same.
    fn body_object(&mut self, json: &[u8]) -> bool {
        match self.protocol {
            Protocol::AnthropicMessages => self.apply_body(json, Self::anthropic_message),
            Protocol::OpenAiResponses => self.apply_body(json, Self::response_object),
            Protocol::OpenAiChat => self.apply_body(json, Self::chat_object),
            Protocol::Gemini => self.apply_body(json, Self::gemini),
            Protocol::CodeAssist => self.apply_body(json, Self::code_assist),
            Protocol::BedrockConverse => self.apply_body(json, Self::converse),
            Protocol::Other => false,
        }
    }

    /// `json` read as `T` with its keys compared as sent ([`AsSent`]) and handed to `apply`:
    /// whether it parsed.
    fn apply_body<T: DeserializeOwned>(&mut self, json: &[u8], apply: fn(&mut Self, T)) -> bool {
        parse::<AsSent<T>>(json)
            .map(|AsSent(body)| apply(self, body))
            .is_some()
    }

    /// The single JSON body (or the JSON array) closed: the response is whole.
    pub(crate) fn body_closed(&mut self) {
        self.complete = true;
    }

    fn note(&mut self, id: Option<String>, model: Option<String>) {
        if self.upstream_id.is_none() {
            self.upstream_id = id.filter(|s| !s.is_empty());
        }
        if self.model.is_none() {
            self.model = model.filter(|s| !s.is_empty());
        }
    }

    fn converse(&mut self, holder: ConverseUsageHolder) {
        if let Some(usage) = holder.usage {
            usage.apply(&mut self.usage);
            self.saw_usage = true;
        }
    }

    fn anthropic_chunk(&mut self, event: &[u8], data: &[u8]) {
        // Unnamed events: only those whose type starts with `message` matter.
        if event.is_empty() && !contains(data, b"message") {
            return;
        }
        let Some(ev) = parse::<AnthropicEvent>(data) else {
            return;
        };
        match ev.kind {
            Some(Kind::MessageStart) => {
                if let Some(message) = ev.message {
                    self.anthropic_message(message);
                }
            }
            Some(Kind::MessageDelta) => {
                if let Some(usage) = ev.usage {
                    usage.apply(&mut self.usage, true);
                    self.saw_usage = true;
                }
            }
            Some(Kind::MessageStop) => self.complete = true,
            Some(Kind::Message) => {
                self.anthropic_message(AnthropicMessage {
                    id: ev.id,
                    model: ev.model,
                    usage: ev.usage,
                });
                self.complete = true;
            }
            _ => {}
        }
    }

    fn anthropic_message(&mut self, message: AnthropicMessage) {
        self.note(message.id, message.model);
        if let Some(usage) = message.usage {
            usage.apply(&mut self.usage, false);
            self.saw_usage = true;
        }
    }

    fn responses_chunk(&mut self, event: &[u8], data: &[u8]) {
        if event.is_empty()
            && !(contains(data, b"response.c")
                || contains(data, b"response.incomplete")
                || contains(data, b"response.failed"))
        {
            return;
        }
        let Some(ev) = parse::<ResponsesEvent>(data) else {
            return;
        };
        let terminal = match ev.kind {
            Some(Kind::ResponseCreated | Kind::ResponseInProgress) => false,
            Some(Kind::ResponseCompleted | Kind::ResponseIncomplete | Kind::ResponseFailed) => true,
            _ => return,
        };
        if let Some(response) = ev.response {
            self.response_object(response);
        }
        self.complete |= terminal;
    }

    fn response_object(&mut self, response: ResponseObject) {
        self.note(response.id, response.model);
        if let Some(usage) = &response.usage {
            self.set_openai(usage);
        }
    }

    fn chat_chunk(&mut self, data: &[u8]) {
        let data = trim_json_start(data);
        if data.starts_with(b"[DONE]") {
            self.complete = true;
            return;
        }
        // Every chunk repeats id and model; after the first only a usage chunk matters.
        let known = self.upstream_id.is_some() && self.model.is_some();
        if known && !has_usage_value(data) {
            return;
        }
        let Some(chunk) = parse::<ChatChunk>(data) else {
            return;
        };
        let terminal = chunk.is_usage_only();
        self.chat_object(chunk);
        self.complete |= terminal;
    }

    /// A Chat chunk's or completion's id, model and usage.
    fn chat_object(&mut self, chunk: ChatChunk) {
        self.note(chunk.id, chunk.model);
        if let Some(usage) = &chunk.usage {
            self.set_openai(usage);
        }
    }

    fn set_openai(&mut self, usage: &OpenAiUsage) {
        self.usage = usage.to_usage();
        self.saw_usage = true;
    }

    fn gemini_chunk(&mut self, data: &[u8]) {
        if let Some(chunk) = parse::<GeminiChunk>(data) {
            let terminal = chunk.has_finish_reason();
            self.gemini(chunk);
            self.complete |= terminal;
        }
    }

    fn code_assist_chunk(&mut self, data: &[u8]) {
        if let Some(wrapped) = parse::<CodeAssistChunk>(data) {
            let terminal = wrapped
                .response
                .as_ref()
                .is_some_and(GeminiChunk::has_finish_reason);
            self.code_assist(wrapped);
            self.complete |= terminal;
        }
    }

    /// The wrapped response's own id is kept, as for Gemini; the trace id stands in without one.
    fn code_assist(&mut self, wrapped: CodeAssistChunk) {
        if let Some(chunk) = wrapped.response {
            self.gemini(chunk);
        }
        if self.upstream_id.is_none() {
            self.upstream_id = wrapped
                .trace_id
                .as_ref()
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
        }
    }

    fn gemini(&mut self, chunk: GeminiChunk) {
        self.note(chunk.response_id, chunk.model_version);
        // Each chunk restates the whole usage so far: the last one wins.
        if let Some(usage) = &chunk.usage_metadata {
            self.usage = usage.to_usage();
            self.saw_usage = true;
        }
    }
}
