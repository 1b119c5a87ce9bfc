//! Replacing a small file so that a reader sees the old content or the new, never half of
//! either: a fresh temporary file in the same directory, synced, renamed over the target, then
//! the directory synced where the file system allows it. The configuration file and the
//! delivery schedule are written this way; the outbox writes reports with its own naming and
//! de-duplication (`outbox/`).

use std::fs::{File, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Replaces `path` with `bytes`. The temporary file's name starts with `temp_prefix`, so that
/// whoever cleans the directory can recognise one left by a process that died; it is removed on
/// any failure here. `mode` is the new file's permissions, less the umask.
pub fn replace(path: &Path, bytes: &[u8], temp_prefix: &str, mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::Builder::new()
        .prefix(temp_prefix)
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|failed| failed.error)?;
    // Makes the rename durable where the file system allows it; the new file is in place either way.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_replaced_whole_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        replace(&path, b"old", ".tmp-", 0o600).unwrap();
        replace(&path, b"new", ".tmp-", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"]);
    }
}
