//! Codex CLI: ignores `OPENAI_BASE_URL`, so gw adds a custom model provider with `-c` flags
//! (Responses wire API, key from `GW_SESSION_KEY`); MCP servers are `-c mcp_servers.<name>=…`.
//! Those flags are visible to every local user, so they carry no secret: the session key is
//! read from the environment, and MCP servers' env from a 0600 file.

use super::{Profile, Via, WireContext, WireError, Wiring};
use crate::meter::Provider;

pub const PROFILE: Profile = Profile {
    name: "codex",
    binary: "codex",
    npm_package: "@openai/codex",
    vias: &[Via::Azure],
    wire,
};

fn wire(ctx: &WireContext) -> Result<Wiring, WireError> {
    let mut w = Wiring::default();
    // Nothing secret goes on codex's command line, which any local user can read: the session
    // key travels in the environment (`env_key`, `env_http_headers`), never in the base URL.
    w.set("GW_SESSION_KEY", ctx.session_key);
    let provider = match ctx.via {
        // Vertex is not one of codex's routes (`PROFILE.vias`): its own API.
        None | Some(Via::Vertex | Via::Bedrock) => {
            let base = format!("{}/{}/v1", ctx.origin, Provider::OpenAi.as_str());
            let auth = if ctx.holds(Provider::OpenAi) {
                r#"env_key="GW_SESSION_KEY""#.to_string()
            } else {
                // The user's own ChatGPT login or key, passed through untouched; the session key
                // proves the request is this session's in a header of its own.
                format!(
                    r#"requires_openai_auth=true,env_http_headers={{{}="GW_SESSION_KEY"}}"#,
                    toml_str(super::SESSION_KEY_HEADER)
                )
            };
            format!(
                r#"model_providers.gw={{name="gw",base_url={},{auth},wire_api="responses"}}"#,
                toml_str(&base)
            )
        }
        // Azure's dated API: `<resource>/openai/responses?api-version=…`, the resource key in
        // `api-key` (here the session key, which gw swaps for the key it holds), the deployment
        // as the model (`-m`).
        Some(Via::Azure) => {
            if !ctx.holds(Provider::Azure) {
                return Err(WireError::Unsafe {
                    message: "gw run codex --via azure needs the Azure OpenAI key: set AZURE_OPENAI_API_KEY, or azure = \"…\" under [providers] in gw's credentials file, or a service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET) for Entra ID tokens".into(),
                });
            }
            let base = format!("{}/{}/openai", ctx.origin, Provider::Azure.as_str());
            format!(
                r#"model_providers.gw={{name="gw (Azure OpenAI)",base_url={},env_http_headers={{"api-key"="GW_SESSION_KEY"}},query_params={{api-version={}}},wire_api="responses"}}"#,
                toml_str(&base),
                toml_str(ctx.azure_api_version)
            )
        }
    };
    if takes_no_daemon(ctx.args) {
        // Codex's TUI warns on every launch that `-c` overrides keep it from its shared
        // background server; run it embedded, as those overrides need anyway.
        w.args.push("--no-daemon".into());
    }
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
                // The server's env comes from a private file, not from codex's argv.
                let (command, args) = super::command_with_env_file(ctx, name, s)?;
                let args: Vec<String> = args.iter().map(|a| toml_str(a)).collect();
                format!(
                    "{{command={},args=[{}]}}",
                    toml_str(&command),
                    args.join(",")
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

/// Whether codex accepts `--no-daemon` before these arguments: not with `--remote`, nor before
/// the subcommands that need the shared server.
/// (Any argument naming one of those subcommands counts: telling a subcommand from an option's
/// value would mean knowing every option of every codex version.)
fn takes_no_daemon(args: &[String]) -> bool {
    !args.iter().any(|a| {
        matches!(
            a.as_str(),
            "--remote" | "queue" | "remote-control" | "app-server"
        ) || a.starts_with("--remote=")
    })
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
            joined.contains(r#"mcp_servers.echo={command="/bin/echo-mcp",args=["--stdio"]}"#),
            "{joined}"
        );
        assert_eq!(w.args[0], "--no-daemon", "before any subcommand");
        // Every -c value parses as TOML.
        for pair in w.args[1..].chunks(2) {
            assert_eq!(pair[0], "-c");
            toml::from_str::<toml::Table>(&pair[1]).unwrap_or_else(|e| panic!("{}: {e}", pair[1]));
        }
    }
}

#[cfg(test)]
mod azure_tests {
    use super::*;
    use crate::agents::tests::Fixture;

    #[test]
    fn via_azure_sends_the_session_key_as_api_key_with_the_api_version() {
        let f = Fixture::new();
        let ctx = WireContext {
            via: Some(Via::Azure),
            ..f.context(&[Provider::Azure], &|_| None)
        };
        let w = PROFILE.wire(&ctx).unwrap();
        let provider = w
            .args
            .iter()
            .find(|a| a.starts_with("model_providers.gw="))
            .unwrap();
        let table: toml::Table = toml::from_str(provider).unwrap();
        let gw = &table["model_providers"]["gw"];
        assert_eq!(
            gw["base_url"].as_str(),
            Some("http://127.0.0.1:9/azure/openai")
        );
        assert_eq!(
            gw["env_http_headers"]["api-key"].as_str(),
            Some("GW_SESSION_KEY")
        );
        assert_eq!(
            gw["query_params"]["api-version"].as_str(),
            Some("2025-04-01-preview")
        );
        assert!(gw.get("env_key").is_none());

        let ctx = WireContext {
            via: Some(Via::Azure),
            ..f.context(&[], &|_| None)
        };
        let e = PROFILE.wire(&ctx).unwrap_err().to_string();
        assert!(e.contains("AZURE_OPENAI_API_KEY"), "{e}");
    }
}

#[cfg(test)]
mod daemon_tests {
    use super::takes_no_daemon;

    #[test]
    fn no_daemon_only_where_codex_takes_it() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(takes_no_daemon(&args(&[])));
        assert!(takes_no_daemon(&args(&["exec", "hi"])));
        assert!(takes_no_daemon(&args(&["resume", "--last"])));
        assert!(!takes_no_daemon(&args(&["--remote", "ws://x"])));
        assert!(!takes_no_daemon(&args(&["queue", "hi"])));
        assert!(!takes_no_daemon(&args(&["remote-control", "start"])));
        assert!(!takes_no_daemon(&args(&["-c", "k=v", "queue", "hi"])));
    }
}

#[cfg(test)]
mod secret_tests {
    use super::*;
    use crate::agents::tests::{get, Fixture};
    use crate::agents::McpServer;

    #[test]
    fn no_secret_on_the_command_line() {
        let mut f = Fixture::new();
        f.mcp.insert(
            "gh".into(),
            McpServer {
                command: Some("gh-mcp".into()),
                args: vec!["--stdio".into()],
                env: [("GITHUB_TOKEN".to_string(), "ghp_it's-secret".to_string())].into(),
                url: None,
            },
        );
        // Passthrough (the user's own login): the key must not ride in the base URL.
        f.bases
            .insert(Provider::OpenAi, "http://127.0.0.1:9/gws-key/openai".into());
        for held in [&[][..], &[Provider::OpenAi][..]] {
            let w = f.wire(PROFILE, held, &|_| None);
            let argv = w.args.join(" ");
            assert!(!argv.contains("gws-key"), "{argv}");
            assert!(!argv.contains("ghp_"), "{argv}");
            assert_eq!(get(&w, "GW_SESSION_KEY"), Some("gws-key"));
        }
        let w = f.wire(PROFILE, &[], &|_| None);
        assert!(w.args.join(" ").contains("env_http_headers"));
        let file = f.dir.path().join("mcp-6768.env"); // "gh" in hex
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text, "GITHUB_TOKEN='ghp_it'\\''s-secret'\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            // The wrapper really passes the env to the server.
            let out = std::process::Command::new("/bin/sh")
                .args(["-c", r#"set -a; . "$0"; set +a; exec "$@""#])
                .arg(&file)
                .args(["/bin/sh", "-c", "printf %s \"$GITHUB_TOKEN\""])
                .env_clear()
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), "ghp_it's-secret");
        }
    }

    #[test]
    fn servers_whose_names_differ_get_files_of_their_own() {
        let f = Fixture::new();
        let server = |token: &str| McpServer {
            command: Some("mcp".into()),
            env: [("TOKEN".to_string(), token.to_string())].into(),
            ..Default::default()
        };
        let ctx = f.context(&[], &|_| None);
        let (_, dotted) =
            crate::agents::command_with_env_file(&ctx, "a.b", &server("one")).unwrap();
        let (_, under) = crate::agents::command_with_env_file(&ctx, "a_b", &server("two")).unwrap();
        assert_ne!(dotted[2], under[2]);
        assert!(std::path::Path::new(&dotted[2]).is_absolute());
        assert_eq!(
            std::fs::read_to_string(&dotted[2]).unwrap(),
            "TOKEN='one'\n"
        );
        assert_eq!(std::fs::read_to_string(&under[2]).unwrap(), "TOKEN='two'\n");
        // A name that is no variable name could inject shell: refused.
        let mut hostile = server("x");
        hostile.env = [("X=1;touch /tmp/p;Y".to_string(), "v".to_string())].into();
        assert!(crate::agents::command_with_env_file(&ctx, "h", &hostile).is_err());
    }
}
