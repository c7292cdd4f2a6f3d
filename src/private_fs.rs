//! gw's files are private to the user: the data dir is 0700 and the ledger, its WAL and shared
//! memory, the log and the server's database are 0600. They hold working directories, branches,
//! tasks, hosts and spend; other local users have no business reading them.
//!
//! New directories and files are created private. Ones an older gw created readable by others
//! are tightened, with a line in the log saying so.

use std::io;
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};

/// Mode bits of a private directory and file.
pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its parents) with mode 0700 for the last component, or tightens an
/// existing one that others can read. A directory shared by design (sticky, like `/tmp`) or
/// owned by another user is left as it is.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        if !dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true).mode(DIR_MODE);
            builder.create(dir)?;
            // `recursive` applies the mode to every component it creates; a umask can still
            // narrow it, never widen it.
            return Ok(());
        }
        let meta = std::fs::metadata(dir)?;
        let mode = meta.mode() & 0o7777;
        // The sticky bit: a directory shared on purpose.
        let shared = mode & 0o1000 != 0;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let ours = meta.uid() == unsafe { libc::geteuid() };
        if meta.is_dir() && !shared && ours && mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))?;
            tracing::warn!(
                path = %dir.display(),
                "tightened a gw data directory from mode {:o} to 0700: it holds your usage history",
                mode
            );
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Makes sure `file` exists with mode 0600 (created empty if missing, tightened if others could
/// read it), so a database or log opened on it afterwards is private from its first byte.
pub fn private_file(file: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(file)
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => tighten(file),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

/// Tightens `file` to 0600 if it exists and others can read or write it.
pub fn tighten(file: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let meta = match std::fs::symlink_metadata(file) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mode = meta.mode() & 0o7777;
        if meta.is_file() && mode & 0o077 != 0 {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(FILE_MODE))?;
            tracing::warn!(
                path = %file.display(),
                "tightened a gw file from mode {:o} to 0600: it holds your usage history",
                mode
            );
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Writes `bytes` to a temporary file (mode 0600) beside `path`, then renames it over `path`:
/// a reader sees the old file or the new one, never half of it, and never a readable one.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    // A fresh name, created new and never through a link: nothing planted beside the file in a
    // directory others can write to is written through.
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::now_v7().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(FILE_MODE).custom_flags(libc::O_NOFOLLOW);
    let result = (|| {
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Prepares an SQLite database at `path` to be private: its directory, the file, and the WAL
/// and shared-memory files an older gw may have left readable (SQLite gives new ones the
/// database file's mode).
pub fn private_database(path: &Path) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        private_dir(dir)?;
    }
    private_file(path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        tighten(Path::new(&side))?;
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o777
    }

    #[test]
    fn new_dirs_and_files_are_private_and_old_ones_tightened() {
        let top = tempfile::tempdir().unwrap();
        let data = top.path().join("a/gw");
        let db = data.join("ledger.db");
        private_database(&db).unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&db), 0o600);

        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let wal = data.join("ledger.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_database(&db).unwrap();
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&wal), 0o600);
    }

    #[test]
    fn shared_directories_are_left_alone() {
        let top = tempfile::tempdir().unwrap();
        let shared = top.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        private_dir(&shared).unwrap();
        assert_eq!(
            std::fs::metadata(&shared).unwrap().mode() & 0o7777,
            0o1777,
            "a sticky directory like /tmp is shared on purpose"
        );
    }
}
