//! An Anthropic SSE body as Bedrock streams it, for tests (the unit tests of the tap include
//! this file too): one AWS event-stream message per event, its payload `{"bytes": base64(event
//! JSON), "p": padding}`.

pub fn bedrock_stream(sse: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let mut out = Vec::new();
    for line in sse.split(|b| *b == b'\n') {
        let Some(data) = line.strip_prefix(b"data: ") else {
            continue;
        };
        let payload = serde_json::json!({
            "bytes": base64::engine::general_purpose::STANDARD.encode(data),
            "p": "abcdefghij",
        });
        event_message("chunk", payload.to_string().as_bytes(), &mut out);
    }
    out
}

/// Appends one AWS event-stream message: an `event` of type `event_type` with a JSON payload.
pub fn event_message(event_type: &str, payload: &[u8], out: &mut Vec<u8>) {
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
    let message = Message::new(payload.to_vec())
        .add_header(Header::new(
            ":event-type",
            HeaderValue::String(event_type.to_string().into()),
        ))
        .add_header(Header::new(
            ":content-type",
            HeaderValue::String("application/json".into()),
        ))
        .add_header(Header::new(
            ":message-type",
            HeaderValue::String("event".into()),
        ));
    write_message_to(&message, out).unwrap();
}
