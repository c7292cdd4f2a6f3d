//! Who and where a session runs: developer, project, branch, cwd and host, read from git's files
//! and the environment without spawning `git` (it costs milliseconds at every launch).

use std::path::{Path, PathBuf};

use crate::ledger::Attribution;

/// What the caller knows; the rest is discovered from `cwd`.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub developer: Option<String>,
    pub project: Option<String>,
    pub task: Option<String>,
    pub agent: Option<String>,
    pub agent_version: Option<String>,
    pub key_id: Option<String>,
}

/// Builds the attribution of a new session started in `cwd`.
pub fn discover(
    cwd: &Path,
    overrides: Overrides,
    env: impl Fn(&str) -> Option<String>,
) -> Attribution {
    let repo = GitRepo::find(cwd);
    let home = env("HOME").map(PathBuf::from);
    let developer = overrides
        .developer
        .or_else(|| repo.as_ref().and_then(|r| r.config_value("user", "email")))
        .or_else(|| {
            global_git_config(home.as_deref(), env("XDG_CONFIG_HOME"))
                .and_then(|c| ini_value(&c, "user", "email"))
        })
        .or_else(|| env("USER"))
        .or_else(|| env("USERNAME"));
    let project = overrides
        .project
        .or_else(|| repo.as_ref().map(|r| r.project_name()));
    let branch = repo.as_ref().and_then(|r| r.branch());
    Attribution {
        session_id: uuid::Uuid::now_v7().to_string(),
        agent: overrides.agent,
        agent_version: overrides.agent_version,
        developer,
        project,
        branch,
        task: overrides.task,
        cwd: Some(cwd.display().to_string()),
        host: hostname(&env),
        key_id: overrides.key_id,
    }
}

fn hostname(env: &impl Fn(&str) -> Option<String>) -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| env("HOSTNAME"))
        .or_else(|| env("COMPUTERNAME"))
}

/// A git work tree: its top level and its git dir (which differs for worktrees).
struct GitRepo {
    top: PathBuf,
    git_dir: PathBuf,
    common_dir: PathBuf,
}

impl GitRepo {
    fn find(start: &Path) -> Option<GitRepo> {
        for dir in start.ancestors() {
            let dot_git = dir.join(".git");
            if dot_git.is_dir() {
                return Some(GitRepo {
                    top: dir.to_path_buf(),
                    common_dir: dot_git.clone(),
                    git_dir: dot_git,
                });
            }
            if dot_git.is_file() {
                // A worktree or submodule: `.git` holds `gitdir: <path>`.
                let text = std::fs::read_to_string(&dot_git).ok()?;
                let target = text.strip_prefix("gitdir:")?.trim();
                let git_dir = dir.join(target);
                let common_dir = std::fs::read_to_string(git_dir.join("commondir"))
                    .map(|c| git_dir.join(c.trim()))
                    .unwrap_or_else(|_| git_dir.clone());
                return Some(GitRepo {
                    top: dir.to_path_buf(),
                    git_dir,
                    common_dir,
                });
            }
        }
        None
    }

    fn config_value(&self, section: &str, key: &str) -> Option<String> {
        ini_value(
            &std::fs::read_to_string(self.common_dir.join("config")).ok()?,
            section,
            key,
        )
    }

    /// The normalised `origin` remote (`github.com/org/repo`), else the top-level directory name.
    fn project_name(&self) -> String {
        self.config_value("remote \"origin\"", "url")
            .and_then(|url| normalize_remote(&url))
            .unwrap_or_else(|| {
                self.top
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
    }

    fn branch(&self) -> Option<String> {
        let head = std::fs::read_to_string(self.git_dir.join("HEAD")).ok()?;
        let head = head.trim();
        match head.strip_prefix("ref:") {
            Some(r) => Some(r.trim().trim_start_matches("refs/heads/").to_string()),
            None => Some(format!("detached@{}", head.get(..12).unwrap_or(head))),
        }
    }
}

/// `git@github.com:org/repo.git`, `https://user@github.com/org/repo` → `github.com/org/repo`.
pub fn normalize_remote(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.to_string(),
        // scp-like syntax: user@host:path
        None => url.replacen(':', "/", 1),
    };
    let rest = rest
        .rsplit_once('@')
        .map(|(_, r)| r.to_string())
        .unwrap_or(rest);
    let (host, path) = rest.split_once('/')?;
    let host = host.split(':').next()?.to_lowercase();
    let path = path.trim_end_matches('/').trim_end_matches(".git");
    (!host.is_empty() && !path.is_empty()).then(|| format!("{host}/{path}"))
}

fn global_git_config(home: Option<&Path>, xdg: Option<String>) -> Option<String> {
    let mut candidates = Vec::new();
    if let Some(home) = home {
        candidates.push(home.join(".gitconfig"));
    }
    match xdg {
        Some(x) => candidates.push(PathBuf::from(x).join("git/config")),
        None => candidates.extend(home.map(|h| h.join(".config/git/config"))),
    }
    candidates
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
}

/// The last value of `key` in `[section]` of a git-style config file (enough for user.email
/// and remote URLs; includes and conditional sections are not followed).
fn ini_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let name = line.trim_start_matches('[').trim_end_matches(']').trim();
            in_section = name.eq_ignore_ascii_case(section) || name == section;
            continue;
        }
        if !in_section || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim().eq_ignore_ascii_case(key) {
                found = Some(v.trim().trim_matches('"').to_string());
            }
        }
    }
    found.filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_remotes() {
        assert_eq!(
            normalize_remote("git@github.com:Org/repo.git").as_deref(),
            Some("github.com/Org/repo")
        );
        assert_eq!(
            normalize_remote("https://user:tok@GitHub.com/org/repo/").as_deref(),
            Some("github.com/org/repo")
        );
        assert_eq!(
            normalize_remote("ssh://git@host:2222/a/b.git").as_deref(),
            Some("host/a/b")
        );
        assert_eq!(normalize_remote("nonsense"), None);
    }

    #[test]
    fn reads_repo_branch_remote_and_email() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("myrepo");
        std::fs::create_dir_all(top.join(".git")).unwrap();
        std::fs::create_dir_all(top.join("sub/deeper")).unwrap();
        std::fs::write(top.join(".git/HEAD"), "ref: refs/heads/feature/x\n").unwrap();
        std::fs::write(
            top.join(".git/config"),
            "[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@github.com:acme/widgets.git\n[user]\n\temail = dev@acme.io\n",
        )
        .unwrap();
        let a = discover(
            &top.join("sub/deeper"),
            Overrides {
                task: Some("t1".into()),
                ..Default::default()
            },
            |_| None,
        );
        assert_eq!(a.project.as_deref(), Some("github.com/acme/widgets"));
        assert_eq!(a.branch.as_deref(), Some("feature/x"));
        assert_eq!(a.developer.as_deref(), Some("dev@acme.io"));
        assert_eq!(a.task.as_deref(), Some("t1"));
        assert!(
            uuid::Uuid::parse_str(&a.session_id)
                .unwrap()
                .get_version_num()
                == 7
        );
    }

    #[test]
    fn falls_back_to_user_outside_a_repo() {
        let dir = tempfile::tempdir().unwrap();
        let a = discover(dir.path(), Overrides::default(), |k| {
            (k == "USER").then(|| "alice".to_string())
        });
        assert_eq!(a.developer.as_deref(), Some("alice"));
        assert_eq!(a.project, None);
    }
}
