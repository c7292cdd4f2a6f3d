//! Vertex AI with the Google credentials gw holds: an OAuth access token from a service-account
//! key (fetched from the key's `token_uri` and refreshed before expiry by `gcp_auth`) replaces
//! whatever credential the agent sent, and an express-mode path (`/v1beta1/publishers/…`, what
//! Gemini CLI sends with an API key) gets the project and location a token needs.
//!
//! Without a service-account key, a developer's own Google login does: `gcloud`'s (`gcloud auth
//! print-access-token`, when `gcloud` is installed) or the application-default credentials
//! `gcloud auth application-default login` wrote, both through `gcp_auth` and set up at the
//! first Vertex request, so a session that never calls Vertex runs nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use gcp_auth::{
    ConfigDefaultCredentials, CustomServiceAccount, GCloudAuthorizedUser, TokenProvider,
};
use http::{header, HeaderMap, HeaderValue};

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// A token request never holds a request longer than this.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(15);

pub struct GoogleCredentials {
    tokens: Tokens,
    project: String,
    location: String,
}

enum Tokens {
    /// A service-account key.
    Account(Box<CustomServiceAccount>),
    /// The developer's own login, set up at first use.
    Login(tokio::sync::OnceCell<Arc<dyn TokenProvider>>),
}

/// Where `gcloud auth application-default login` keeps its credentials.
fn adc_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let dir = match env("CLOUDSDK_CONFIG") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env("HOME")?).join(".config/gcloud"),
    };
    Some(dir.join("application_default_credentials.json"))
}

/// Whether `gcloud` is on `PATH`.
fn has_gcloud(env: &dyn Fn(&str) -> Option<String>) -> bool {
    env("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("gcloud").is_file()))
}

impl std::fmt::Debug for GoogleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleCredentials")
            .field("project", &self.project)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl GoogleCredentials {
    /// Reads a service-account key file. The project is `project`, else the key's own.
    pub fn from_file(
        path: &Path,
        project: Option<&str>,
        location: &str,
    ) -> Result<GoogleCredentials, String> {
        let account = CustomServiceAccount::from_file(path).map_err(|e| {
            format!(
                "cannot use the Google service-account key {}: {e}\n  give the JSON key file of a service account \
                 ([vertex] credentials, or GOOGLE_APPLICATION_CREDENTIALS in gw's environment)",
                path.display()
            )
        })?;
        let project = project
            .map(str::to_string)
            .or_else(|| account.project_id().map(str::to_string))
            .ok_or_else(|| {
                format!(
                    "the key {} names no project: set [vertex] project in gw's config",
                    path.display()
                )
            })?;
        Ok(GoogleCredentials {
            tokens: Tokens::Account(Box::new(account)),
            project,
            location: location.to_string(),
        })
    }

    /// The developer's own Google login, when there is one: `gcloud` on `PATH`, or the
    /// application-default credentials file; for `project`, which gw's config must name (a
    /// developer's login opens everything they can reach, so gw never uses it by surprise).
    /// Nothing is run yet.
    pub fn from_login(
        env: &dyn Fn(&str) -> Option<String>,
        project: &str,
        location: &str,
    ) -> Option<GoogleCredentials> {
        let adc = adc_file(env).filter(|f| f.is_file());
        if (adc.is_none() && !has_gcloud(env)) || project.trim().is_empty() {
            return None;
        }
        Some(GoogleCredentials {
            tokens: Tokens::Login(tokio::sync::OnceCell::new()),
            project: project.to_string(),
            location: location.to_string(),
        })
    }

    /// An access token: the service account's, or the login's (set up on first use: `gcloud`
    /// when installed, else the application-default credentials).
    async fn token(&self) -> Result<Arc<gcp_auth::Token>, String> {
        let cell = match &self.tokens {
            Tokens::Account(account) => {
                return account
                    .token(&[SCOPE])
                    .await
                    .map_err(|e| format!("gw: cannot get a Google access token: {e}"))
            }
            Tokens::Login(cell) => cell,
        };
        let provider = cell
            .get_or_try_init(|| {
                on_blocking_thread(async {
                    let gcloud = GCloudAuthorizedUser::new().await;
                    match gcloud {
                        Ok(gcloud) => Ok(Arc::new(gcloud) as Arc<dyn TokenProvider>),
                        Err(gcloud_error) => match ConfigDefaultCredentials::new().await {
                            Ok(adc) => Ok(Arc::new(adc) as Arc<dyn TokenProvider>),
                            Err(adc_error) => Err(format!(
                                "gw: no Google login to get a token with (gcloud: {gcloud_error}; application-default credentials: {adc_error}): run `gcloud auth login` or `gcloud auth application-default login`, or set [vertex] credentials to a service-account key"
                            )),
                        },
                    }
                })
            })
            .await?
            .clone();
        on_blocking_thread(async move {
            provider
                .token(&[SCOPE])
                .await
                .map_err(|e| format!("gw: cannot get a Google access token: {e}"))
        })
        .await
    }

    pub fn project(&self) -> &str {
        &self.project
    }

    pub fn location(&self) -> &str {
        &self.location
    }

    /// An express-mode path with gw's project and location (see [`with_project`]).
    pub fn with_project(&self, path_and_query: &str) -> String {
        with_project(path_and_query, &self.project, &self.location)
    }

    /// Puts gw's access token on a Vertex request in place of the agent's credentials (its
    /// path already through [`GoogleCredentials::with_project`]). A token opens more than
    /// models, so only a model call of gw's project gets one: any other path is `Forbidden`,
    /// and no token is had.
    pub async fn authorize(
        &self,
        headers: &mut HeaderMap,
        path_and_query: &str,
    ) -> Result<(), Unauthorized> {
        if !is_model_call(path_and_query, &self.project) {
            return Err(Unauthorized::Forbidden(format!(
                "gw: with gw's Google credentials only model calls of project {} pass (…/projects/{}/locations/…/publishers/…/models/…)",
                self.project, self.project
            )));
        }
        let token = tokio::time::timeout(TOKEN_TIMEOUT, self.token())
            .await
            .map_err(|_| {
                Unauthorized::NoToken(format!(
                    "gw: no Google access token within {} s",
                    TOKEN_TIMEOUT.as_secs()
                ))
            })?
            .map_err(Unauthorized::NoToken)?;
        for name in [
            "x-goog-api-key",
            "x-api-key",
            header::AUTHORIZATION.as_str(),
        ] {
            headers.remove(name);
        }
        let mut value =
            HeaderValue::from_str(&format!("Bearer {}", token.as_str())).map_err(|_| {
                Unauthorized::NoToken("gw: the Google token endpoint sent an unusable token".into())
            })?;
        value.set_sensitive(true);
        headers.insert(header::AUTHORIZATION, value);
        Ok(())
    }
}

/// Runs `f` on a blocking thread: `gcp_auth` runs `gcloud` as a blocking child process (when
/// it is set up and when its token expires), which must not hold one of the proxy's threads.
async fn on_blocking_thread<T: Send + 'static>(
    f: impl std::future::Future<Output = Result<T, String>> + Send + 'static,
) -> Result<T, String> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(f))
        .await
        .map_err(|e| format!("gw: getting a Google token failed: {e}"))?
}

/// Why a Vertex request did not get gw's token.
#[derive(Debug, PartialEq, Eq)]
pub enum Unauthorized {
    /// Not a model call of gw's project (403).
    Forbidden(String),
    /// The token endpoint failed (502).
    NoToken(String),
}

/// `/{v1,v1beta1}/projects/<project>/locations/<l>/publishers/<p>/models/<m>:<method>` for the
/// methods agents call (generating and counting tokens), nothing else: a token opens more
/// (long-running predictions, tuning, endpoints) than gw meters.
fn is_model_call(path_and_query: &str, project: &str) -> bool {
    let path = path_and_query.split(['?', '#']).next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').collect();
    let method_ok = |model: &str| {
        model.rsplit_once(':').is_some_and(|(name, method)| {
            !name.is_empty()
                && matches!(
                    method,
                    "generateContent"
                        | "streamGenerateContent"
                        | "rawPredict"
                        | "streamRawPredict"
                        | "countTokens"
                )
        })
    };
    matches!(
        segments.as_slice(),
        ["", "v1" | "v1beta1", "projects", p, "locations", l, "publishers", publisher, "models", model]
            if *p == project
                && !l.is_empty()
                && !publisher.is_empty()
                && method_ok(model)
    )
}

/// `/v1beta1/publishers/google/models/m:x` → `/v1beta1/projects/p/locations/l/publishers/…`
/// (an express-mode path; a token needs the project one). Other paths are returned as they are.
pub fn with_project(path_and_query: &str, project: &str, location: &str) -> String {
    for version in ["/v1beta1", "/v1"] {
        if let Some(rest) = path_and_query
            .strip_prefix(version)
            .filter(|rest| rest.starts_with("/publishers/"))
        {
            return format!("{version}/projects/{project}/locations/{location}{rest}");
        }
    }
    path_and_query.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_model_calls_of_the_project_are_model_calls() {
        for ok in [
            "/v1/projects/p/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict",
            "/v1beta1/projects/p/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
        ] {
            assert!(is_model_call(ok, "p"), "{ok}");
        }
        for refused in [
            "/v1/projects/other/locations/l/publishers/google/models/m:generateContent",
            "/v1/projects/p/locations/l/endpoints/e:predict",
            "/v1/projects/p/locations/l/publishers/google/models",
            "/v1/projects/p/locations//publishers/google/models/m:x",
            "/v1/projects/p/locations/l/datasets",
            "/v2/projects/p/locations/l/publishers/google/models/m:x",
            "/v1/projects/p/locations/l/publishers/google/models/m:predictLongRunning",
            "/v1/projects/p/locations/l/publishers/google/models/m:generateContent/x",
            "/v1/projects/p/locations/l/publishers/google/models/:generateContent",
            "/",
        ] {
            assert!(!is_model_call(refused, "p"), "{refused}");
        }
    }

    #[test]
    fn express_paths_get_the_project_and_others_stay() {
        assert_eq!(
            with_project(
                "/v1beta1/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
                "p",
                "global"
            ),
            "/v1beta1/projects/p/locations/global/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            with_project(
                "/v1/publishers/google/models/m:generateContent",
                "p",
                "us-central1"
            ),
            "/v1/projects/p/locations/us-central1/publishers/google/models/m:generateContent"
        );
        for kept in [
            "/v1/projects/q/locations/l/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict",
            "/v1beta1/publishersx/google",
            "/v2/publishers/google/models/m:generateContent",
        ] {
            assert_eq!(with_project(kept, "p", "l"), kept);
        }
    }
}
