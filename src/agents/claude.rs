//! Claude Code: `ANTHROPIC_BASE_URL` (no `/v1`), the session key in `ANTHROPIC_AUTH_TOKEN`,
//! MCP through `--mcp-config <file>`.

use super::{write_private, Profile, Via, WireContext, WireError, Wiring};
use crate::meter::Provider;

pub const PROFILE: Profile = Profile {
    name: "claude",
    binary: "claude",
    npm_package: "@anthropic-ai/claude-code",
    vias: &[Via::Vertex, Via::Bedrock],
    wire,
};

fn wire(ctx: &WireContext) -> Result<Wiring, WireError> {
    let mut w = Wiring::default();
    match ctx.via {
        // Vertex: Claude's own Google auth is skipped (gw's token goes upstream); the session
        // key travels in a header of its own, in the environment, never in argv. The project
        // and location in its paths are gw's, which the proxy checks.
        Some(Via::Vertex) => {
            let Some((project, location)) = ctx.vertex else {
                return Err(super::no_google_credentials("claude"));
            };
            w.set("CLAUDE_CODE_USE_VERTEX", "1");
            w.set("CLAUDE_CODE_SKIP_VERTEX_AUTH", "1");
            w.set(
                "ANTHROPIC_VERTEX_BASE_URL",
                format!("{}/{}/v1", ctx.origin, Provider::Vertex.as_str()),
            );
            w.set("ANTHROPIC_VERTEX_PROJECT_ID", project);
            w.set("CLOUD_ML_REGION", location);
            w.set(
                "ANTHROPIC_CUSTOM_HEADERS",
                format!("{}: {}", super::SESSION_KEY_HEADER, ctx.session_key),
            );
        }
        // Bedrock: the session key as its Bedrock API key (a bearer token on every call, the
        // inference-profile list too), which gw replaces with its own key or signature. The
        // three model tiers are pinned, or Claude probes each with a billable call at start.
        Some(Via::Bedrock) => {
            let Some(region) = ctx.aws_region.filter(|_| ctx.holds(Provider::Bedrock)) else {
                return Err(WireError::Unsafe {
                    message: "gw run claude --via bedrock needs gw's AWS credentials and region: an AWS profile (AWS_PROFILE, ~/.aws/config), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_BEARER_TOKEN_BEDROCK, with AWS_REGION, in gw's environment, and [upstream] bedrock".into(),
                });
            };
            w.set("CLAUDE_CODE_USE_BEDROCK", "1");
            w.set(
                "ANTHROPIC_BEDROCK_BASE_URL",
                format!("{}/{}", ctx.origin, Provider::Bedrock.as_str()),
            );
            w.set("AWS_BEARER_TOKEN_BEDROCK", ctx.session_key);
            w.set("AWS_REGION", region);
            let geo = bedrock_geo(region);
            for (var, model) in [
                (
                    "ANTHROPIC_DEFAULT_HAIKU_MODEL",
                    "claude-haiku-4-5-20251001-v1:0",
                ),
                (
                    "ANTHROPIC_DEFAULT_SONNET_MODEL",
                    "claude-sonnet-4-5-20250929-v1:0",
                ),
                ("ANTHROPIC_DEFAULT_OPUS_MODEL", "claude-opus-4-6-v1"),
            ] {
                if (ctx.env)(var).is_none() {
                    w.set(var, format!("{geo}.anthropic.{model}"));
                }
            }
        }
        _ => {
            w.set("ANTHROPIC_BASE_URL", ctx.base(Provider::Anthropic));
            if ctx.holds(Provider::Anthropic) {
                // As `ANTHROPIC_API_KEY`, a key Claude Code has not seen before makes it ask the user
                // to approve it (and Enter picks "No"), on every launch as the key is new each session.
                // As a bearer token it is used without a question; the proxy swaps it for the held key
                // in `x-api-key`.
                w.set("ANTHROPIC_AUTH_TOKEN", ctx.session_key);
            }
        }
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

/// The inference-profile prefix Claude Code picks for a region: `us.` for `us-east-1`.
fn bedrock_geo(region: &str) -> &'static str {
    match region.split('-').next().unwrap_or_default() {
        "us" => "us",
        "eu" => "eu",
        "ap" => "apac",
        _ => "global",
    }
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
    fn via_vertex_skips_claudes_google_auth_and_sends_the_session_key_in_a_header() {
        let f = Fixture::new();
        let ctx = WireContext {
            via: Some(Via::Vertex),
            ..f.context(&[Provider::Anthropic, Provider::Vertex], &|_| None)
        };
        let w = PROFILE.wire(&ctx).unwrap();
        assert_eq!(get(&w, "CLAUDE_CODE_USE_VERTEX"), Some("1"));
        assert_eq!(get(&w, "CLAUDE_CODE_SKIP_VERTEX_AUTH"), Some("1"));
        assert_eq!(
            get(&w, "ANTHROPIC_VERTEX_BASE_URL"),
            Some("http://127.0.0.1:9/vertex/v1")
        );
        assert_eq!(get(&w, "ANTHROPIC_VERTEX_PROJECT_ID"), Some("proj"));
        assert_eq!(get(&w, "CLOUD_ML_REGION"), Some("global"));
        assert_eq!(
            get(&w, "ANTHROPIC_CUSTOM_HEADERS"),
            Some("x-gw-session-key: gws-key")
        );
        assert_eq!(get(&w, "ANTHROPIC_AUTH_TOKEN"), None);
        assert_eq!(get(&w, "ANTHROPIC_BASE_URL"), None);
        assert!(!w.args.join(" ").contains("gws-key"));

        let ctx = WireContext {
            vertex: None,
            ..ctx
        };
        let e = PROFILE.wire(&ctx).unwrap_err().to_string();
        assert!(e.contains("[vertex] credentials"), "{e}");
    }

    #[test]
    fn via_bedrock_takes_the_session_key_as_its_api_key_and_pins_the_tiers() {
        let f = Fixture::new();
        let env = |k: &str| (k == "ANTHROPIC_DEFAULT_OPUS_MODEL").then(|| "mine".to_string());
        let ctx = WireContext {
            via: Some(Via::Bedrock),
            aws_region: Some("eu-west-1"),
            ..f.context(&[Provider::Bedrock], &env)
        };
        let w = PROFILE.wire(&ctx).unwrap();
        assert_eq!(get(&w, "CLAUDE_CODE_USE_BEDROCK"), Some("1"));
        assert_eq!(
            get(&w, "ANTHROPIC_BEDROCK_BASE_URL"),
            Some("http://127.0.0.1:9/bedrock")
        );
        assert_eq!(get(&w, "AWS_BEARER_TOKEN_BEDROCK"), Some("gws-key"));
        assert_eq!(get(&w, "AWS_REGION"), Some("eu-west-1"));
        assert_eq!(
            get(&w, "ANTHROPIC_DEFAULT_SONNET_MODEL"),
            Some("eu.anthropic.claude-sonnet-4-5-20250929-v1:0")
        );
        assert_eq!(
            get(&w, "ANTHROPIC_DEFAULT_OPUS_MODEL"),
            None,
            "the user's own stays"
        );
        assert_eq!(get(&w, "ANTHROPIC_BASE_URL"), None);
        let ctx = WireContext {
            aws_region: None,
            ..ctx
        };
        assert!(PROFILE.wire(&ctx).is_err());
    }

    #[test]
    fn own_login_leaves_the_key_alone() {
        let w = Fixture::new().wire(PROFILE, &[], &|_| None);
        assert_eq!(get(&w, "ANTHROPIC_API_KEY"), None);
        assert_eq!(get(&w, "ANTHROPIC_AUTH_TOKEN"), None);
    }
}
