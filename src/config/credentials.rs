//! The credentials file: provider keys gw holds, readable by the user alone (mode 0600).
//!
//! ```toml
//! [providers]
//! anthropic = "sk-ant-..."
//! openai = "sk-..."
//! gemini = "..."
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::meter::Provider;

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Credentials {
    pub providers: ProviderKeys,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderKeys {
    pub anthropic: Option<String>,
    pub openai: Option<String>,
    pub gemini: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("the credentials file {path} can be read by other users (mode {mode:o}); run `chmod 600 {path}`")]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("cannot read the credentials file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid credentials file {path}: {message}")]
    Parse { path: PathBuf, message: String },
}

impl Credentials {
    /// Reads the file; a missing file is empty credentials. Refuses a file others can read.
    pub fn load(path: &Path) -> Result<Credentials, CredentialsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Credentials::default()),
            Err(source) => {
                return Err(CredentialsError::Read {
                    path: path.into(),
                    source,
                })
            }
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            if mode & 0o077 != 0 {
                return Err(CredentialsError::TooOpen {
                    path: path.into(),
                    mode,
                });
            }
        }
        toml::from_str(&text).map_err(|e| CredentialsError::Parse {
            path: path.into(),
            message: e.to_string().trim_end().into(),
        })
    }

    /// The provider keys gw holds: from gw's own environment first, then this file.
    pub fn provider_keys(&self, env: &dyn Fn(&str) -> Option<String>) -> HashMap<Provider, String> {
        let mut keys = HashMap::new();
        let from_env = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| env(n))
                .filter(|k| !k.trim().is_empty())
        };
        let entries = [
            (
                Provider::Anthropic,
                from_env(&["ANTHROPIC_API_KEY"]),
                &self.providers.anthropic,
            ),
            (
                Provider::OpenAi,
                from_env(&["OPENAI_API_KEY"]),
                &self.providers.openai,
            ),
            (
                Provider::Gemini,
                from_env(&["GEMINI_API_KEY", "GOOGLE_API_KEY"]),
                &self.providers.gemini,
            ),
        ];
        for (provider, env_key, file_key) in entries {
            if let Some(key) = env_key.or_else(|| file_key.clone().filter(|k| !k.trim().is_empty()))
            {
                keys.insert(provider, key);
            }
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_wins_over_the_file_and_open_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.toml");
        std::fs::write(
            &path,
            "[providers]\nanthropic = \"file-a\"\nopenai = \"file-o\"\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = Credentials::load(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{err}");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let creds = Credentials::load(&path).unwrap();
        let keys = creds.provider_keys(&|k| (k == "OPENAI_API_KEY").then(|| "env-o".to_string()));
        assert_eq!(keys[&Provider::Anthropic], "file-a");
        assert_eq!(keys[&Provider::OpenAi], "env-o");
        assert!(!keys.contains_key(&Provider::Gemini));
        assert!(Credentials::load(&dir.path().join("missing.toml"))
            .unwrap()
            .providers
            .anthropic
            .is_none());
    }
}
