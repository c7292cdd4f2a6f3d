//! opencode: `OPENCODE_CONFIG_CONTENT` (merged with any the user set) gives each provider a
//! base URL (`/v1`, `/v1beta` included) and the session key; MCP servers go under `mcp`.

use super::{merge_json, user_json, Profile, Via, WireContext, WireError, Wiring};
use crate::meter::Provider;

pub const PROFILE: Profile = Profile {
    name: "opencode",
    binary: "opencode",
    npm_package: "opencode-ai",
    vias: &[Via::Bedrock],
    wire,
};

const CONFIG_VAR: &str = "OPENCODE_CONFIG_CONTENT";

fn wire(ctx: &WireContext) -> Result<Wiring, WireError> {
    let mut w = Wiring::default();
    let mut config = user_json(ctx, CONFIG_VAR)?;
    for (id, provider, suffix) in [
        ("anthropic", Provider::Anthropic, "/v1"),
        ("openai", Provider::OpenAi, "/v1"),
        ("google", Provider::Gemini, "/v1beta"),
    ] {
        let mut options =
            serde_json::json!({ "baseURL": format!("{}{suffix}", ctx.base(provider)) });
        if ctx.holds(provider) {
            options["apiKey"] = "{env:GW_SESSION_KEY}".into();
        }
        merge_json(
            &mut config,
            serde_json::json!({ "provider": { id: { "options": options } } }),
        );
    }
    if !ctx.held.is_empty() {
        w.set("GW_SESSION_KEY", ctx.session_key);
    }
    if ctx.via == Some(Via::Bedrock) {
        // Bedrock through its Converse API, the session key as the Bedrock API key (a bearer
        // token), which gw replaces with its own key or signature.
        let Some(region) = ctx.aws_region.filter(|_| ctx.holds(Provider::Bedrock)) else {
            return Err(WireError::Unsafe {
                message: "gw run opencode --via bedrock needs gw's AWS credentials and region: an AWS profile (AWS_PROFILE, ~/.aws/config), AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_BEARER_TOKEN_BEDROCK, with AWS_REGION, in gw's environment, and [upstream] bedrock".into(),
            });
        };
        let endpoint = format!("{}/{}", ctx.origin, Provider::Bedrock.as_str());
        merge_json(
            &mut config,
            serde_json::json!({"provider": {"amazon-bedrock": {"options": {"region": region, "endpoint": endpoint}}}}),
        );
        if config.get("model").is_none() {
            config["model"] = "amazon-bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0".into();
        }
        w.set("AWS_BEARER_TOKEN_BEDROCK", ctx.session_key);
    }
    for (name, s) in ctx.mcp {
        let value = match &s.url {
            Some(url) => serde_json::json!({"type": "remote", "url": url, "enabled": true}),
            None => {
                let mut command = vec![s.command.clone().unwrap_or_default()];
                command.extend(s.args.iter().cloned());
                serde_json::json!({"type": "local", "command": command, "environment": s.env, "enabled": true})
            }
        };
        merge_json(&mut config, serde_json::json!({ "mcp": { name: value } }));
    }
    w.set(CONFIG_VAR, config.to_string());
    w.set("OPENCODE_DISABLE_MODELS_FETCH", "1");
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::tests::{get, Fixture};

    #[test]
    fn via_bedrock_points_opencodes_bedrock_provider_at_gw() {
        let f = Fixture::new();
        let ctx = WireContext {
            via: Some(Via::Bedrock),
            ..f.context(&[Provider::Bedrock], &|_| None)
        };
        let w = PROFILE.wire(&ctx).unwrap();
        let config: serde_json::Value = serde_json::from_str(get(&w, CONFIG_VAR).unwrap()).unwrap();
        let options = &config["provider"]["amazon-bedrock"]["options"];
        assert_eq!(options["endpoint"], "http://127.0.0.1:9/bedrock");
        assert_eq!(options["region"], "us-east-1");
        assert_eq!(
            config["model"],
            "amazon-bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0"
        );
        assert_eq!(get(&w, "AWS_BEARER_TOKEN_BEDROCK"), Some("gws-key"));
        let ctx = WireContext {
            aws_region: None,
            ..ctx
        };
        assert!(PROFILE.wire(&ctx).is_err());
    }

    #[test]
    fn config_content_merges_with_the_users() {
        let f = Fixture::new();
        let w = f.wire(PROFILE, &[Provider::Anthropic], &|k| {
            (k == CONFIG_VAR).then(|| {
                r#"{"theme":"x","provider":{"anthropic":{"models":{"m":{}}}}}"#.to_string()
            })
        });
        let config: serde_json::Value = serde_json::from_str(get(&w, CONFIG_VAR).unwrap()).unwrap();
        assert_eq!(config["theme"], "x");
        assert!(config["provider"]["anthropic"]["models"]["m"].is_object());
        assert_eq!(
            config["provider"]["anthropic"]["options"]["baseURL"],
            "http://127.0.0.1:9/anthropic/v1"
        );
        assert_eq!(
            config["provider"]["anthropic"]["options"]["apiKey"],
            "{env:GW_SESSION_KEY}"
        );
        assert!(config["provider"]["openai"]["options"]
            .get("apiKey")
            .is_none());
        assert_eq!(
            config["provider"]["google"]["options"]["baseURL"],
            "http://127.0.0.1:9/gemini/v1beta"
        );
        assert_eq!(
            config["mcp"]["echo"]["command"],
            serde_json::json!(["/bin/echo-mcp", "--stdio"])
        );
        assert_eq!(get(&w, "GW_SESSION_KEY"), Some("gws-key"));
    }
}
