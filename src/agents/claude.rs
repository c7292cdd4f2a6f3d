//! Claude Code: `ANTHROPIC_BASE_URL` (no `/v1`), the session key in `ANTHROPIC_AUTH_TOKEN`,
//! MCP through `--mcp-config <file>`.

use super::{write_private, Profile, WireContext, WireError, Wiring};
use crate::meter::Provider;

pub const PROFILE: Profile = Profile {
    name: "claude",
    binary: "claude",
    npm_package: "@anthropic-ai/claude-code",
    vias: &[],
    wire,
};

fn wire(ctx: &WireContext) -> Result<Wiring, WireError> {
    let mut w = Wiring::default();
    w.set("ANTHROPIC_BASE_URL", ctx.base(Provider::Anthropic));
    if ctx.holds(Provider::Anthropic) {
        // As `ANTHROPIC_API_KEY`, a key Claude Code has not seen before makes it ask the user
        // to approve it (and Enter picks "No"), on every launch as the key is new each session.
        // As a bearer token it is used without a question; the proxy swaps it for the held key
        // in `x-api-key`.
        w.set("ANTHROPIC_AUTH_TOKEN", ctx.session_key);
    }
    // No telemetry or update checks past the proxy: they would leave the machine unmetered.
    w.set("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1");
    if !ctx.mcp.is_empty() {
        let servers: serde_json::Map<String, serde_json::Value> = ctx
            .mcp
            .iter()
            .map(|(name, s)| {
                let value = match &s.url {
                    Some(url) => serde_json::json!({"type": "http", "url": url}),
                    None => serde_json::json!({"type": "stdio", "command": s.command, "args": s.args, "env": s.env}),
                };
                (name.clone(), value)
            })
            .collect();
        let path = ctx.runtime_dir.join("claude-mcp.json");
        write_private(
            &path,
            &serde_json::json!({ "mcpServers": servers }).to_string(),
        )?;
        w.args
            .extend(["--mcp-config".to_string(), path.display().to_string()]);
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::tests::{get, Fixture};

    #[test]
    fn points_claude_at_the_proxy_with_the_session_key() {
        let f = Fixture::new();
        let w = f.wire(PROFILE, &[Provider::Anthropic], &|_| None);
        assert_eq!(
            get(&w, "ANTHROPIC_BASE_URL"),
            Some("http://127.0.0.1:9/anthropic")
        );
        assert_eq!(get(&w, "ANTHROPIC_AUTH_TOKEN"), Some("gws-key"));
        assert_eq!(get(&w, "ANTHROPIC_API_KEY"), None);
        assert_eq!(w.args[0], "--mcp-config");
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&w.args[1]).unwrap()).unwrap();
        assert_eq!(file["mcpServers"]["echo"]["command"], "/bin/echo-mcp");
        assert_eq!(file["mcpServers"]["echo"]["type"], "stdio");
    }

    #[test]
    fn own_login_leaves_the_key_alone() {
        let w = Fixture::new().wire(PROFILE, &[], &|_| None);
        assert_eq!(get(&w, "ANTHROPIC_API_KEY"), None);
        assert_eq!(get(&w, "ANTHROPIC_AUTH_TOKEN"), None);
    }
}
