//! Codex CLI: ignores `OPENAI_BASE_URL`, so gw adds a custom model provider with `-c` flags
//! (Responses wire API, key from `GW_SESSION_KEY`); MCP servers are `-c mcp_servers.<name>=…`.

use super::{Profile, WireContext, WireError, Wiring};
use crate::meter::Provider;

pub const PROFILE: Profile = Profile {
    name: "codex",
    binary: "codex",
    npm_package: "@openai/codex",
    wire,
};

fn wire(ctx: &WireContext) -> Result<Wiring, WireError> {
    let mut w = Wiring::default();
    let base = format!("{}/v1", ctx.base(Provider::OpenAi));
    let auth = if ctx.holds(Provider::OpenAi) {
        w.set("GW_SESSION_KEY", ctx.session_key);
        r#"env_key="GW_SESSION_KEY""#.to_string()
    } else {
        // The user's own ChatGPT login or key, passed through untouched.
        "requires_openai_auth=true".to_string()
    };
    let provider = format!(
        r#"model_providers.gw={{name="gw",base_url={},{auth},wire_api="responses"}}"#,
        toml_str(&base)
    );
    for flag in [
        r#"model_provider="gw""#.to_string(),
        provider,
        "analytics.enabled=false".to_string(),
    ] {
        w.args.extend(["-c".to_string(), flag]);
    }
    for (name, s) in ctx.mcp {
        let value = match &s.url {
            Some(url) => format!("{{url={}}}", toml_str(url)),
            None => {
                let args: Vec<String> = s.args.iter().map(|a| toml_str(a)).collect();
                let env: Vec<String> = s
                    .env
                    .iter()
                    .map(|(k, v)| format!("{}={}", toml_str(k), toml_str(v)))
                    .collect();
                format!(
                    "{{command={},args=[{}],env={{{}}}}}",
                    toml_str(s.command.as_deref().unwrap_or_default()),
                    args.join(","),
                    env.join(",")
                )
            }
        };
        w.args.extend([
            "-c".to_string(),
            format!("mcp_servers.{}={value}", toml_key(name)),
        ]);
    }
    Ok(w)
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn toml_key(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        s.to_string()
    } else {
        toml_str(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::tests::{get, Fixture};

    #[test]
    fn adds_a_custom_provider_and_mcp_servers() {
        let f = Fixture::new();
        let w = f.wire(PROFILE, &[Provider::OpenAi], &|_| None);
        assert_eq!(get(&w, "GW_SESSION_KEY"), Some("gws-key"));
        let joined = w.args.join(" ");
        assert!(
            joined.contains(r#"base_url="http://127.0.0.1:9/openai/v1""#),
            "{joined}"
        );
        assert!(joined.contains(r#"env_key="GW_SESSION_KEY""#), "{joined}");
        assert!(
            joined
                .contains(r#"mcp_servers.echo={command="/bin/echo-mcp",args=["--stdio"],env={}}"#),
            "{joined}"
        );
        // Every -c value parses as TOML.
        for pair in w.args.chunks(2) {
            assert_eq!(pair[0], "-c");
            toml::from_str::<toml::Table>(&pair[1]).unwrap_or_else(|e| panic!("{}: {e}", pair[1]));
        }
    }
}
