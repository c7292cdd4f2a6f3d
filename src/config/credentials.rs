//! The credentials file: provider keys gw holds, readable by the user alone (mode 0600).
//!
//! ```toml
//! [providers]
//! anthropic = "sk-ant-..."
//! openai = "sk-..."
//! gemini = "..."
//!
//! [server]            # team mode, written by `gw login`
//! url = "https://gw.example.com"
//! key = "gwk_..."
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::per_provider::ProviderKeys;
use crate::meter::{Provider, PROVIDERS};

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Credentials {
    pub providers: ProviderKeys,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerLogin>,
}

/// The gw server, the developer's virtual key on it, and how its certificate is trusted when
/// not by the public roots.
#[derive(Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerLogin {
    pub url: String,
    pub key: String,
    /// The server's CA, copied beside this file by `gw login --ca-cert` (0600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// The server certificate's pinned SHA-256 fingerprint (`gw login --fingerprint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

impl ServerLogin {
    /// A login trusting the public roots.
    pub fn new(url: impl Into<String>, key: impl Into<String>) -> ServerLogin {
        ServerLogin {
            url: url.into(),
            key: key.into(),
            ca_cert: None,
            fingerprint: None,
        }
    }
}

impl std::fmt::Debug for ServerLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLogin")
            .field("url", &self.url)
            .field("key", &"<redacted>")
            .field("ca_cert", &self.ca_cert)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
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
    #[error("cannot write the credentials file {path}: {source}\n  check the directory's permissions, or set GW_CREDENTIALS to another path")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
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

    /// Sets (or with `None` removes) the `[server]` section, keeping every other section, and
    /// writes the file atomically with mode 0600.
    pub fn save_server(path: &Path, login: Option<&ServerLogin>) -> Result<(), CredentialsError> {
        // Validates the file (and its mode) before touching it.
        Credentials::load(path)?;
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(CredentialsError::Read {
                    path: path.into(),
                    source,
                })
            }
        };
        let mut table: toml::Table =
            toml::from_str(&text).map_err(|e| CredentialsError::Parse {
                path: path.into(),
                message: e.to_string().trim_end().into(),
            })?;
        match login {
            Some(login) => {
                let value = toml::Table::try_from(login).map_err(|e| CredentialsError::Parse {
                    path: path.into(),
                    message: e.to_string(),
                })?;
                table.insert("server".into(), toml::Value::Table(value));
            }
            None => {
                table.remove("server");
            }
        }
        let text = toml::to_string_pretty(&table).map_err(|e| CredentialsError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        crate::private_fs::write_private(path, text.as_bytes()).map_err(|source| {
            CredentialsError::Write {
                path: path.into(),
                source,
            }
        })
    }

    /// The provider keys gw holds: from gw's own environment first, then this file.
    pub fn provider_keys(&self, env: &dyn Fn(&str) -> Option<String>) -> HashMap<Provider, String> {
        let mut keys = HashMap::new();
        // A blank key is no key, from either place.
        let given = |k: &str| !k.trim().is_empty();
        for info in PROVIDERS.iter().filter(|p| !p.key_vars.is_empty()) {
            // The first of its variables that is set, as the provider's own SDKs read them.
            let from_env = info
                .key_vars
                .iter()
                .find_map(|n| env(n))
                .filter(|k| given(k));
            let from_file = || self.providers.get(info.provider).filter(|k| given(k));
            if let Some(key) = from_env.or_else(|| from_file().map(str::to_string)) {
                keys.insert(info.provider, key);
            }
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_section_is_written_private_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/credentials.toml");
        let login = ServerLogin::new("http://127.0.0.1:1", "gwk_a_b");
        Credentials::save_server(&path, Some(&login)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("\n[providers]\nopenai = \"sk-1\"\n");
        std::fs::write(&path, text).unwrap();
        let creds = Credentials::load(&path).unwrap();
        assert_eq!(creds.server.as_ref(), Some(&login));
        assert!(!format!("{login:?}").contains("gwk_a_b"));
        Credentials::save_server(&path, None).unwrap();
        let creds = Credentials::load(&path).unwrap();
        assert!(creds.server.is_none());
        assert_eq!(creds.providers.get(Provider::OpenAi), Some("sk-1"));
    }

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
        let keys = creds.provider_keys(&|k| (k == "GOOGLE_API_KEY").then(|| "env-g".to_string()));
        assert_eq!(keys[&Provider::Gemini], "env-g", "Gemini's second variable");
        assert!(Credentials::load(&dir.path().join("missing.toml"))
            .unwrap()
            .providers
            .get(Provider::Anthropic)
            .is_none());
    }
}
