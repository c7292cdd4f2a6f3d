//! One profile per agent: how it is pointed at the proxy (env, args, config files), where its
//! key goes, how it takes MCP servers, and how its version is found. A new agent is a new file.

mod child;
mod claude;
mod codex;
mod gemini;
mod generic;
mod opencode;
mod version;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::meter::Provider;

pub use child::{exit_code, run as run_child};
pub use generic::exports;
pub use version::npm_package_version;

/// A header an agent may carry the session key in when its own credentials pass through
/// (codex: `env_http_headers`); the proxy admits the request by it and removes it before
/// forwarding. Part of how agents are wired, so it lives here; the proxy reads it from here.
pub const SESSION_KEY_HEADER: &str = "x-gw-session-key";

/// An MCP server from gw's config (`[mcp.servers.<name>]`): a local command or a URL.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct McpServer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl McpServer {
    pub fn validate(&self) -> Result<(), String> {
        match (&self.command, &self.url) {
            (Some(_), None) | (None, Some(_)) => Ok(()),
            (Some(_), Some(_)) => {
                Err("give either `command` (a local server) or `url`, not both".into())
            }
            (None, None) => Err("give `command` (with optional `args`, `env`) or `url`".into()),
        }
    }
}

/// An enterprise route an agent can take instead of its provider's own API
/// (`gw run codex --via azure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Azure OpenAI, for Codex.
    Azure,
    /// Google Vertex AI, for Claude Code and Gemini CLI.
    Vertex,
    /// Amazon Bedrock, for Claude Code.
    Bedrock,
}

impl Via {
    pub const ALL: [Via; 3] = [Via::Azure, Via::Vertex, Via::Bedrock];

    pub fn as_str(self) -> &'static str {
        match self {
            Via::Azure => "azure",
            Via::Vertex => "vertex",
            Via::Bedrock => "bedrock",
        }
    }

    /// The route `name` names for the agent `profile`, or what to write instead.
    pub fn for_agent(profile: &Profile, name: &str) -> Result<Via, String> {
        let known: Vec<&str> = profile.vias.iter().map(|v| v.as_str()).collect();
        let via = Via::ALL.into_iter().find(|v| v.as_str() == name.trim());
        match via {
            Some(v) if profile.vias.contains(&v) => Ok(v),
            _ if known.is_empty() => Err(format!(
                "gw runs {} through its provider's own API only; `{name}` is not a route it takes (--via or [agents.{}] via)",
                profile.name, profile.name
            )),
            _ => Err(format!(
                "gw runs {} --via {} only; `{name}` is not one of them",
                profile.name,
                known.join(" or ")
            )),
        }
    }
}

#[cfg(test)]
mod via_tests {
    use super::*;

    #[test]
    fn routes_are_per_agent_and_unknown_ones_named() {
        assert_eq!(Via::for_agent(&codex::PROFILE, "azure"), Ok(Via::Azure));
        let e = Via::for_agent(&codex::PROFILE, "bedrock").unwrap_err();
        assert!(e.contains("--via azure only"), "{e}");
        let e = Via::for_agent(&claude::PROFILE, "azure").unwrap_err();
        assert!(e.contains("--via vertex or bedrock only"), "{e}");
        assert_eq!(
            Via::for_agent(&claude::PROFILE, "bedrock"),
            Ok(Via::Bedrock)
        );
        let e = Via::for_agent(&opencode::PROFILE, "vertex").unwrap_err();
        assert!(e.contains("--via bedrock only"), "{e}");
        assert_eq!(Via::for_agent(&gemini::PROFILE, "vertex"), Ok(Via::Vertex));
    }
}

/// The error for `--via vertex` when gw holds no Google credentials.
pub(crate) fn no_google_credentials(agent: &str) -> WireError {
    WireError::Unsafe {
        message: format!(
            "gw run {agent} --via vertex needs gw's Google credentials: set [vertex] credentials = \"<service-account key>.json\" in gw's config (or GOOGLE_APPLICATION_CREDENTIALS in gw's environment), or log in with gcloud and name the project ([vertex] project, or GOOGLE_CLOUD_PROJECT)"
        ),
    }
}

/// What a profile is given to wire its agent.
pub struct WireContext<'a> {
    /// Base URL per provider, without any version path, e.g. `http://127.0.0.1:P/anthropic` (or
    /// with the session's secret path segment when the agent uses its own login).
    pub base_urls: &'a BTreeMap<Provider, String>,
    /// The proxy's origin (`http://127.0.0.1:P`), for an agent that sends the session key in
    /// [`SESSION_KEY_HEADER`] rather than in its base URL's path, where `ps` would show it.
    pub origin: &'a str,
    /// Providers whose key gw holds: the agent gets `session_key` as its API key for them.
    pub held: &'a [Provider],
    pub session_key: &'a str,
    pub session_id: &'a str,
    /// A private (0700) directory for this session's files, removed at exit.
    pub runtime_dir: &'a Path,
    pub mcp: &'a BTreeMap<String, McpServer>,
    /// The user's environment, to merge with rather than replace.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The user's own arguments, which follow the wiring's.
    pub args: &'a [String],
    /// The enterprise route, when the agent takes one.
    pub via: Option<Via>,
    /// `[azure] api_version`.
    pub azure_api_version: &'a str,
    /// The Google Cloud project and location of gw's Vertex credentials, when it holds some.
    pub vertex: Option<(&'a str, &'a str)>,
    /// The AWS region of gw's Bedrock credentials, when it holds some.
    pub aws_region: Option<&'a str>,
}

impl WireContext<'_> {
    pub fn base(&self, provider: Provider) -> &str {
        self.base_urls
            .get(&provider)
            .map(String::as_str)
            .unwrap_or_default()
    }

    pub fn holds(&self, provider: Provider) -> bool {
        self.held.contains(&provider)
    }
}

/// How to launch the agent: env to set and remove, args to put before the user's, files written.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Wiring {
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    /// What the user must know before the agent starts (gw prints it, then the agent owns the
    /// terminal): a setting of theirs gw cannot make for them.
    pub notices: Vec<String>,
}

impl Wiring {
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.env.push((name.to_string(), value.into()));
    }
}

/// A supported agent.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    pub name: &'static str,
    /// The executable looked up on PATH.
    pub binary: &'static str,
    /// The npm package that installs it (for the "not installed" message and its version).
    pub npm_package: &'static str,
    /// The enterprise routes gw can point it at.
    pub vias: &'static [Via],
    wire: fn(&WireContext) -> Result<Wiring, WireError>,
}

impl Profile {
    pub fn wire(&self, ctx: &WireContext) -> Result<Wiring, WireError> {
        (self.wire)(ctx)
    }
}

/// A local MCP server's command whose environment comes from a 0600 file in the session's
/// private directory instead of the agent's command line (which any local user can read in
/// `/proc/<pid>/cmdline`): `/bin/sh -c 'set -a; . "$0"; set +a; exec "$@"' <file> <command>
/// <args>…`. Returns the command and its arguments.
pub fn command_with_env_file(
    ctx: &WireContext,
    name: &str,
    server: &McpServer,
) -> Result<(String, Vec<String>), WireError> {
    let command = server.command.clone().unwrap_or_default();
    if server.env.is_empty() {
        return Ok((command, server.args.clone()));
    }
    let mut text = String::new();
    for (key, value) in &server.env {
        let valid = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(WireError::Unsafe {
                message: format!("MCP server `{name}`: `{key}` is not an environment variable name; use letters, digits and _ only"),
            });
        }
        text.push_str(&format!("{key}='{}'\n", value.replace('\'', "'\\''")));
    }
    // One file per server name, whatever characters it holds (`a.b` and `a_b` differ), at an
    // absolute path: codex may start the server in another directory.
    let hex: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    let path =
        std::path::absolute(ctx.runtime_dir.join(format!("mcp-{hex}.env"))).map_err(|source| {
            WireError::Write {
                path: ctx.runtime_dir.to_path_buf(),
                source,
            }
        })?;
    write_private(&path, &text)?;
    let mut args = vec![
        "-c".to_string(),
        r#"set -a; . "$0"; set +a; exec "$@""#.to_string(),
        path.display().to_string(),
        command,
    ];
    args.extend(server.args.iter().cloned());
    Ok(("/bin/sh".to_string(), args))
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{message}")]
    Unsafe { message: String },
    #[error("{var} holds invalid JSON ({message}); fix or unset it, since gw merges its own settings into it")]
    UserJson { var: String, message: String },
}

pub const AGENTS: [Profile; 4] = [
    claude::PROFILE,
    codex::PROFILE,
    gemini::PROFILE,
    opencode::PROFILE,
];

/// The profile of a named agent.
pub fn profile(name: &str) -> Option<Profile> {
    AGENTS.into_iter().find(|p| p.name == name)
}

/// For `gw run -- <command>`: every provider's variables.
pub fn generic(ctx: &WireContext) -> Result<Wiring, WireError> {
    generic::wire(ctx)
}

/// Finds `binary` on `path` (a `PATH`-style list).
pub fn find_on_path(binary: &str, path: Option<&str>) -> Option<PathBuf> {
    let candidate = Path::new(binary);
    if candidate.components().count() > 1 {
        return is_executable(candidate).then(|| candidate.to_path_buf());
    }
    std::env::split_paths(path?)
        .map(|dir| dir.join(binary))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    path.is_file()
}

/// The first of `dir` and its ancestors that group or others may write, if any.
pub fn writable_by_others(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        dir.ancestors()
            .find(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o022 != 0))
            .map(|d| d.to_path_buf())
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// Writes a session file readable only by the user.
pub(crate) fn write_private(path: &Path, contents: &str) -> Result<(), WireError> {
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(&mut options.open(path)?, contents.as_bytes())
    };
    write().map_err(|source| WireError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Deep-merges `ours` into `theirs`: objects merge key by key, anything else from `ours` wins.
pub(crate) fn merge_json(theirs: &mut serde_json::Value, ours: serde_json::Value) {
    match (theirs, ours) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge_json(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (slot, value) => *slot = value,
    }
}

/// The user's own JSON from an env var (empty object when unset), for merging.
pub(crate) fn user_json(ctx: &WireContext, var: &str) -> Result<serde_json::Value, WireError> {
    match (ctx.env)(var) {
        None => Ok(serde_json::json!({})),
        Some(text) => serde_json::from_str(&text).map_err(|e| WireError::UserJson {
            var: var.into(),
            message: e.to_string(),
        }),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub struct Fixture {
        pub dir: tempfile::TempDir,
        pub bases: BTreeMap<Provider, String>,
        pub mcp: BTreeMap<String, McpServer>,
    }

    impl Fixture {
        pub fn new() -> Fixture {
            let bases = Provider::ALL
                .into_iter()
                .map(|p| (p, format!("http://127.0.0.1:9/{}", p.as_str())))
                .collect();
            let mcp = BTreeMap::from([(
                "echo".to_string(),
                McpServer {
                    command: Some("/bin/echo-mcp".into()),
                    args: vec!["--stdio".into()],
                    ..Default::default()
                },
            )]);
            Fixture {
                dir: secure_tempdir(),
                bases,
                mcp,
            }
        }

        pub fn context<'a>(
            &'a self,
            held: &'a [Provider],
            env: &'a dyn Fn(&str) -> Option<String>,
        ) -> WireContext<'a> {
            WireContext {
                base_urls: &self.bases,
                origin: "http://127.0.0.1:9",
                held,
                session_key: "gws-key",
                session_id: "sess-1",
                runtime_dir: self.dir.path(),
                mcp: &self.mcp,
                env,
                args: &[],
                via: None,
                azure_api_version: "2025-04-01-preview",
                vertex: Some(("proj", "global")),
                aws_region: Some("us-east-1"),
            }
        }

        pub fn wire(
            &self,
            profile: Profile,
            held: &[Provider],
            env: &dyn Fn(&str) -> Option<String>,
        ) -> Wiring {
            profile.wire(&self.context(held, env)).unwrap()
        }
    }

    /// A temporary directory no other user can write above (Gemini CLI insists), when the
    /// home or target directory offers one; else an ordinary one.
    pub fn secure_tempdir() -> tempfile::TempDir {
        let candidates = [
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/gw-tests")),
            Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/gw-tests")),
        ];
        for base in candidates.into_iter().flatten() {
            if std::fs::create_dir_all(&base).is_ok() && writable_by_others(&base).is_none() {
                if let Ok(dir) = tempfile::tempdir_in(&base) {
                    return dir;
                }
            }
        }
        tempfile::tempdir().unwrap()
    }

    pub fn get<'a>(w: &'a Wiring, name: &str) -> Option<&'a str> {
        w.env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn merge_keeps_theirs_and_adds_ours() {
        let mut theirs = serde_json::json!({"a": {"x": 1}, "b": 2});
        merge_json(&mut theirs, serde_json::json!({"a": {"y": 3}, "c": 4}));
        assert_eq!(
            theirs,
            serde_json::json!({"a": {"x": 1, "y": 3}, "b": 2, "c": 4})
        );
    }

    #[test]
    fn mcp_needs_command_or_url() {
        assert!(McpServer::default().validate().is_err());
        assert!(McpServer {
            command: Some("x".into()),
            url: Some("http://y".into()),
            ..Default::default()
        }
        .validate()
        .is_err());
        assert!(McpServer {
            url: Some("http://y".into()),
            ..Default::default()
        }
        .validate()
        .is_ok());
    }
}
