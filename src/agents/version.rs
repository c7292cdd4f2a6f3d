//! An npm-installed agent's version, read from its package.json next to the resolved binary:
//! running `agent --version` would start Node and cost hundreds of milliseconds.

use std::path::Path;

/// Follows `binary`'s symlinks and walks up to the `package.json` named `package`.
pub fn npm_package_version(binary: &Path, package: &str) -> Option<String> {
    let real = std::fs::canonicalize(binary).ok()?;
    for dir in real.ancestors().skip(1).take(8) {
        let Ok(text) = std::fs::read_to_string(dir.join("package.json")) else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        if json["name"] == package {
            return json["version"].as_str().map(str::to_string);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("lib/node_modules/@openai/codex");
        std::fs::create_dir_all(pkg.join("bin")).unwrap();
        std::fs::write(
            pkg.join("package.json"),
            r#"{"name":"@openai/codex","version":"0.171.0"}"#,
        )
        .unwrap();
        std::fs::write(pkg.join("bin/codex.js"), "").unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(pkg.join("bin/codex.js"), dir.path().join("bin/codex")).unwrap();
        #[cfg(unix)]
        assert_eq!(
            npm_package_version(&dir.path().join("bin/codex"), "@openai/codex").as_deref(),
            Some("0.171.0")
        );
        assert_eq!(
            npm_package_version(&pkg.join("bin/codex.js"), "@other/pkg"),
            None
        );
    }
}
