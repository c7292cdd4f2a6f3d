//! `gw run -- <command>`: every provider's base-URL variable, and the session key as the API key
//! for each provider whose key gw holds.

use super::{WireContext, WireError, Wiring};
use crate::meter::Provider;

pub fn wire(ctx: &WireContext) -> Result<Wiring, WireError> {
    let mut w = Wiring::default();
    w.set("ANTHROPIC_BASE_URL", ctx.base(Provider::Anthropic));
    w.set(
        "OPENAI_BASE_URL",
        format!("{}/v1", ctx.base(Provider::OpenAi)),
    );
    w.set("GOOGLE_GEMINI_BASE_URL", ctx.base(Provider::Gemini));
    w.set("GEMINI_BASE_URL", ctx.base(Provider::Gemini));
    for (provider, var) in KEY_VARS {
        if ctx.holds(provider) {
            w.set(var, ctx.session_key);
        }
    }
    w.set("GW_SESSION_KEY", ctx.session_key);
    Ok(w)
}

/// The variable each provider's SDKs read their key from.
pub const KEY_VARS: [(Provider, &str); 3] = [
    (Provider::Anthropic, "ANTHROPIC_API_KEY"),
    (Provider::OpenAi, "OPENAI_API_KEY"),
    (Provider::Gemini, "GEMINI_API_KEY"),
];
