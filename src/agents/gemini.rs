//! Gemini CLI: `GOOGLE_GEMINI_BASE_URL`, key in `GEMINI_API_KEY`, and a system settings file
//! (in gw's 0700 runtime dir; Gemini refuses one under a world-writable dir) that selects API-key
//! auth and carries MCP servers, merged with any system settings the user already points at.

use super::{merge_json, write_private, Profile, Via, WireContext, WireError, Wiring};
use crate::meter::Provider;

pub const PROFILE: Profile = Profile {
    name: "gemini",
    binary: "gemini",
    npm_package: "@google/gemini-cli",
    vias: &[Via::Vertex],
    wire,
};

const SETTINGS_VAR: &str = "GEMINI_CLI_SYSTEM_SETTINGS_PATH";

fn wire(ctx: &WireContext) -> Result<Wiring, WireError> {
    if let Some(dir) = super::writable_by_others(ctx.runtime_dir) {
        return Err(WireError::Unsafe {
            message: format!(
                "Gemini CLI ignores a settings file below a directory others can write ({}); \
                 set GW_DATA_DIR to a directory outside it, e.g. ~/.local/share/gw",
                dir.display()
            ),
        });
    }
    let mut w = Wiring::default();
    let vertex = ctx.via == Some(Via::Vertex);
    if !vertex {
        w.set("GOOGLE_GEMINI_BASE_URL", ctx.base(Provider::Gemini));
    }
    let mut settings = match (ctx.env)(SETTINGS_VAR).and_then(|p| std::fs::read_to_string(p).ok()) {
        Some(text) => serde_json::from_str(&text).map_err(|e| WireError::UserJson {
            var: SETTINGS_VAR.into(),
            message: e.to_string(),
        })?,
        None => serde_json::json!({}),
    };
    // Signed in with Google, Gemini CLI talks to Code Assist instead of the Gemini API: through
    // gw too, whichever login it ends up using.
    w.set("CODE_ASSIST_ENDPOINT", ctx.base(Provider::CodeAssist));
    if vertex {
        // Vertex in express mode: the session key as its API key (`x-goog-api-key`), which
        // the proxy replaces with gw's Google token, adding gw's project to the path.
        if ctx.vertex.is_none() {
            return Err(super::no_google_credentials("gemini"));
        }
        w.set("GOOGLE_GENAI_USE_VERTEXAI", "true");
        w.set(
            "GOOGLE_VERTEX_BASE_URL",
            format!("{}/{}", ctx.origin, Provider::Vertex.as_str()),
        );
        w.set("GOOGLE_API_KEY", ctx.session_key);
        merge_json(
            &mut settings,
            serde_json::json!({"security": {"auth": {"selectedType": "vertex-ai"}}}),
        );
    } else if ctx.holds(Provider::Gemini) {
        w.set("GEMINI_API_KEY", ctx.session_key);
        merge_json(
            &mut settings,
            serde_json::json!({"security": {"auth": {"selectedType": "gemini-api-key"}}}),
        );
    }
    if !ctx.mcp.is_empty() {
        let servers: serde_json::Map<String, serde_json::Value> = ctx
            .mcp
            .iter()
            .map(|(name, s)| {
                let value = match &s.url {
                    Some(url) => serde_json::json!({"httpUrl": url}),
                    None => serde_json::json!({"command": s.command, "args": s.args, "env": s.env}),
                };
                (name.clone(), value)
            })
            .collect();
        merge_json(&mut settings, serde_json::json!({ "mcpServers": servers }));
    }
    let path = ctx.runtime_dir.join("gemini-settings.json");
    write_private(&path, &settings.to_string())?;
    w.set(SETTINGS_VAR, path.display().to_string());
    if !vertex
        && ctx.holds(Provider::Gemini)
        && !reads_system_settings(&path)
        && !user_chose_auth(ctx)
    {
        w.notices.push(format!(
            "gw: Gemini CLI reads the settings gw gives it only from files root owns, so it will ask how to sign in: pick \"Use Gemini API key\" once (gw has set the key), or add \"security\": {{\"auth\": {{\"selectedType\": \"gemini-api-key\"}}}} to {}. Until then gw's MCP servers do not reach it either",
            user_settings(ctx).display()
        ));
    }
    Ok(w)
}

/// Whether Gemini CLI takes a system settings file at `path`: on Unix only one that root owns,
/// below directories root owns, none of them writable by group or others.
fn reads_system_settings(path: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        super::writable_by_others(path).is_none()
            && path
                .ancestors()
                .filter(|p| !p.as_os_str().is_empty())
                .all(|p| std::fs::metadata(p).is_ok_and(|m| m.uid() == 0))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        true
    }
}

/// The user's own Gemini CLI settings file.
fn user_settings(ctx: &WireContext) -> std::path::PathBuf {
    let home = (ctx.env)("GEMINI_CLI_HOME")
        .or_else(|| (ctx.env)("HOME"))
        .unwrap_or_default();
    std::path::Path::new(&home).join(".gemini/settings.json")
}

/// Whether the user's own settings already say how Gemini CLI signs in.
fn user_chose_auth(ctx: &WireContext) -> bool {
    std::fs::read_to_string(user_settings(ctx)).is_ok_and(|text| text.contains("\"selectedType\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::tests::{get, Fixture};

    #[test]
    fn via_vertex_takes_express_mode_with_the_session_key() {
        let f = Fixture::new();
        let ctx = WireContext {
            via: Some(Via::Vertex),
            ..f.context(&[Provider::Gemini, Provider::Vertex], &|_| None)
        };
        let w = PROFILE.wire(&ctx).unwrap();
        assert_eq!(get(&w, "GOOGLE_GENAI_USE_VERTEXAI"), Some("true"));
        assert_eq!(
            get(&w, "GOOGLE_VERTEX_BASE_URL"),
            Some("http://127.0.0.1:9/vertex")
        );
        assert_eq!(get(&w, "GOOGLE_API_KEY"), Some("gws-key"));
        assert_eq!(get(&w, "GEMINI_API_KEY"), None);
        assert_eq!(get(&w, "GOOGLE_GEMINI_BASE_URL"), None);
        let settings = std::fs::read_to_string(get(&w, SETTINGS_VAR).unwrap()).unwrap();
        assert!(settings.contains("vertex-ai"), "{settings}");
        let ctx = WireContext {
            vertex: None,
            ..ctx
        };
        assert!(PROFILE.wire(&ctx).is_err());
    }

    #[test]
    fn refuses_a_runtime_dir_below_a_world_writable_one() {
        let f = Fixture::new();
        let open = f.dir.path().join("open");
        let run = open.join("run");
        std::fs::create_dir_all(&run).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
            let ctx = WireContext {
                runtime_dir: &run,
                ..f.context(&[Provider::Gemini], &|_| None)
            };
            let err = PROFILE.wire(&ctx).unwrap_err().to_string();
            assert!(
                err.contains("GW_DATA_DIR") && err.contains(&open.display().to_string()),
                "{err}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn says_what_to_do_when_gemini_will_not_read_gws_settings() {
        use std::os::unix::fs::MetadataExt;
        let f = Fixture::new();
        if crate::agents::writable_by_others(f.dir.path()).is_some() {
            eprintln!("no directory without world-writable ancestors for this test; skipped");
            return;
        }
        let home = f.dir.path().join("home");
        std::fs::create_dir_all(home.join(".gemini")).unwrap();
        let home_text = home.display().to_string();
        let env = |k: &str| (k == "HOME").then(|| home_text.clone());
        if std::fs::metadata(f.dir.path()).unwrap().uid() == 0 {
            // As root: a directory root does not own, as every other user's.
            std::os::unix::fs::chown(f.dir.path(), Some(12345), None).unwrap();
        }
        let w = f.wire(PROFILE, &[Provider::Gemini], &env);
        assert_eq!(w.notices.len(), 1, "{:?}", w.notices);
        assert!(
            w.notices[0].contains("Use Gemini API key"),
            "{}",
            w.notices[0]
        );
        // Once the user's own settings choose, nothing to say; nor without a key gw holds.
        std::fs::write(
            home.join(".gemini/settings.json"),
            r#"{"security":{"auth":{"selectedType":"gemini-api-key"}}}"#,
        )
        .unwrap();
        assert!(f
            .wire(PROFILE, &[Provider::Gemini], &env)
            .notices
            .is_empty());
        std::fs::remove_file(home.join(".gemini/settings.json")).unwrap();
        assert!(f.wire(PROFILE, &[], &env).notices.is_empty());
    }

    #[test]
    fn writes_settings_merged_with_the_users() {
        let f = Fixture::new();
        if crate::agents::writable_by_others(f.dir.path()).is_some() {
            eprintln!("no directory without world-writable ancestors for this test; skipped");
            return;
        }
        let user = f.dir.path().join("user-system.json");
        std::fs::write(
            &user,
            r#"{"ui":{"theme":"dark"},"mcpServers":{"mine":{"command":"x"}}}"#,
        )
        .unwrap();
        let user_path = user.display().to_string();
        let w = f.wire(PROFILE, &[Provider::Gemini], &|k| {
            (k == SETTINGS_VAR).then(|| user_path.clone())
        });
        assert_eq!(get(&w, "GEMINI_API_KEY"), Some("gws-key"));
        // A Google login (the user's choice in their own settings) goes to Code Assist, through gw.
        assert_eq!(
            get(&w, "CODE_ASSIST_ENDPOINT"),
            Some("http://127.0.0.1:9/codeassist")
        );
        let settings: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(get(&w, SETTINGS_VAR).unwrap()).unwrap())
                .unwrap();
        assert_eq!(
            settings["security"]["auth"]["selectedType"],
            "gemini-api-key"
        );
        assert_eq!(settings["ui"]["theme"], "dark");
        assert_eq!(settings["mcpServers"]["mine"]["command"], "x");
        assert_eq!(settings["mcpServers"]["echo"]["command"], "/bin/echo-mcp");
    }
}
