//! Finding the program to run, as a shell does: a name with a slash is used as given, any
//! other name is looked up on PATH. lokiwrap itself is skipped wherever it appears (a PATH
//! shim is lokiwrap under another name), compared by file identity, never by name.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A file's identity: device and inode, the same through every link and symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    pub fn of(path: &Path) -> Option<FileId> {
        std::fs::metadata(path).ok().map(|m| FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    /// The running lokiwrap binary.
    pub fn current_exe() -> Option<FileId> {
        #[cfg(target_os = "linux")]
        if let Some(id) = FileId::of(Path::new("/proc/self/exe")) {
            return Some(id);
        }
        std::env::current_exe().ok().and_then(|exe| FileId::of(&exe))
    }
}

#[derive(Debug)]
pub enum ResolveError {
    /// Nothing by that name on PATH.
    NotFound,
    /// Found, but not executable (the first such candidate, as a shell reports it).
    NotExecutable(PathBuf),
    /// The only matches on PATH are lokiwrap itself.
    OnlyLokiwrap(PathBuf),
}

/// Resolves `name` to the path to execute. The returned path is the PATH entry as found, not
/// its canonical target: multi-call binaries (busybox, clang++, rustup proxies) read their name.
pub fn find_program(name: &OsStr, skip: Option<FileId>) -> Result<PathBuf, ResolveError> {
    let path_var = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/local/bin:/usr/bin:/bin"));
    find_program_in(name, &path_var, skip)
}

/// `find_program` with an explicit PATH value.
pub fn find_program_in(name: &OsStr, path_var: &OsStr, skip: Option<FileId>) -> Result<PathBuf, ResolveError> {
    if name.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(name));
    }
    let mut not_executable = None;
    let mut saw_self = None;
    for dir in path_var.as_bytes().split(|&b| b == b':') {
        // An empty PATH entry means the current directory, as in every POSIX shell.
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let candidate = dir.join(name);
        let Ok(meta) = std::fs::metadata(&candidate) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if skip
            == Some(FileId {
                dev: meta.dev(),
                ino: meta.ino(),
            })
        {
            saw_self.get_or_insert(candidate);
            continue;
        }
        if nix::unistd::access(&candidate, nix::unistd::AccessFlags::X_OK).is_ok() {
            return Ok(candidate);
        }
        not_executable.get_or_insert(candidate);
    }
    if let Some(path) = not_executable {
        return Err(ResolveError::NotExecutable(path));
    }
    match saw_self {
        Some(path) => Err(ResolveError::OnlyLokiwrap(path)),
        None => Err(ResolveError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn executable(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn a_name_with_a_slash_is_used_as_given() {
        assert_eq!(find_program(OsStr::new("./x/y"), None).unwrap(), PathBuf::from("./x/y"));
    }

    #[test]
    fn self_is_skipped_by_identity_through_a_symlink() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let real = executable(b.path(), "tool");
        let me = executable(a.path(), "lokiwrap");
        std::os::unix::fs::symlink(&me, a.path().join("tool")).unwrap();
        let skip = FileId::of(&me);
        let path = OsString::from(format!("{}:{}", a.path().display(), b.path().display()));
        assert_eq!(find_program_in(OsStr::new("tool"), &path, skip).unwrap(), real);
        assert!(matches!(
            find_program_in(OsStr::new("lokiwrap"), &path, skip),
            Err(ResolveError::OnlyLokiwrap(_))
        ));
        assert!(matches!(
            find_program_in(OsStr::new("nope"), &path, skip),
            Err(ResolveError::NotFound)
        ));
    }

    #[test]
    fn a_non_executable_match_is_reported_when_nothing_else_is_found() {
        let a = tempfile::tempdir().unwrap();
        std::fs::write(a.path().join("tool"), "x").unwrap();
        let path = a.path().as_os_str().to_owned();
        assert!(matches!(
            find_program_in(OsStr::new("tool"), &path, None),
            Err(ResolveError::NotExecutable(_))
        ));
    }
}
