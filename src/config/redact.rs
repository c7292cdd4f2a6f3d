//! Hiding secrets in what gw prints: passwords in URLs' user info, every query value (tokens
//! travel as `?token=`, `?key=`, `?password=`), and MCP servers' environment values.

use std::collections::BTreeMap;

use crate::agents::McpServer;

/// What a hidden value prints as.
pub const HIDDEN: &str = "***";

/// `url` with its password and every query value replaced by `***`; names are kept, so the
/// reader still sees which parameters are set. Text that is not a URL is returned as it is.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let (head, rest) = url.split_at(scheme_end + 3);
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    // User info ends at the last `@` of the authority (before the first `/`).
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    let (authority, path) = before_query.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:{HIDDEN}@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let mut out = format!("{head}{authority}{path}");
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) => format!("{name}={HIDDEN}"),
                None => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(HIDDEN);
    }
    out
}

/// MCP servers as `gw config` shows them: env values hidden (names kept), URLs redacted, and
/// arguments that are URLs redacted too.
pub fn redact_mcp(servers: &BTreeMap<String, McpServer>) -> BTreeMap<String, McpServer> {
    servers
        .iter()
        .map(|(name, server)| {
            let server = McpServer {
                command: server.command.clone(),
                args: server.args.iter().map(|a| redact_url(a)).collect(),
                env: server
                    .env
                    .keys()
                    .map(|k| (k.clone(), HIDDEN.to_string()))
                    .collect(),
                url: server.url.as_deref().map(redact_url),
            };
            (name.clone(), server)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_passwords_and_query_values_keeps_names() {
        assert_eq!(
            redact_url("postgres://gw:secret@db:5432/gw?sslmode=require&password=p"),
            "postgres://gw:***@db:5432/gw?sslmode=***&password=***"
        );
        assert_eq!(
            redact_url("https://mcp.corp/sse?token=abc&flag"),
            "https://mcp.corp/sse?token=***&flag"
        );
        assert_eq!(redact_url("https://user@h/p#frag"), "https://user@h/p#***");
        assert_eq!(
            redact_url("http://h/a@b"),
            "http://h/a@b",
            "an @ in the path is no user info"
        );
        assert_eq!(redact_url("--verbose"), "--verbose");
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
    }

    #[test]
    fn mcp_env_values_are_hidden() {
        let servers = BTreeMap::from([(
            "gh".to_string(),
            McpServer {
                command: Some("gh-mcp".into()),
                args: vec!["--url".into(), "https://x/?key=k1".into()],
                env: BTreeMap::from([("GITHUB_TOKEN".into(), "ghp_secret".into())]),
                url: None,
            },
        )]);
        let shown = redact_mcp(&servers);
        let gh = &shown["gh"];
        assert_eq!(gh.env["GITHUB_TOKEN"], HIDDEN);
        assert_eq!(gh.args, ["--url", "https://x/?key=***"]);
    }
}
