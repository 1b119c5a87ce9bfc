//! The local outbox: crash reports wait here, one file per report holding the exact bytes that
//! would be sent, until the flusher delivers and deletes them. The user can read them first; the
//! outbox stays bounded, and any number of lokiwrap processes may write to it at once.

mod private_dir;

use std::ffi::OsStr;
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use directories::ProjectDirs;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

pub use private_dir::{DirState, Refusal, UnsafeOutbox};

/// Serialises the step after a write (rename, dedupe, prune) between writers.
const PRUNE_LOCK_FILE: &str = ".lock";
/// Held by the one process that is sending reports.
const FLUSHER_LOCK_FILE: &str = ".flusher.lock";
/// Temporary files start with a dot and lack the report suffix, so no reader mistakes them for reports.
const TEMP_PREFIX: &str = ".tmp-";
const REPORT_SUFFIX: &str = ".json";
/// Width of the zero-padded capture time in a file name: enough digits for any `u64`, so the
/// names sort in the order of the numbers.
const TIME_WIDTH: usize = 20;
/// Keeps a file name well under the 255 bytes most file systems allow.
const MAX_ID_LEN: usize = 128;
/// A writer takes milliseconds; a temporary file this old belongs to a writer that died.
const STALE_TEMP_AGE: Duration = Duration::from_secs(60 * 60);
const FIX_PERMISSIONS: &str = "check the directory's permissions or set XDG_STATE_HOME to a writable directory";

/// The platform's place for the outbox: `$XDG_STATE_HOME/lokiwrap/outbox` on Linux
/// (`~/.local/state/lokiwrap/outbox` by default); where the platform has no state directory
/// (macOS, Windows), `outbox` in the local data directory. `None` when no home directory is known.
pub fn default_dir() -> Option<PathBuf> {
    let dirs = ProjectDirs::from("", "", "lokiwrap")?;
    Some(match dirs.state_dir() {
        Some(state) => state.join("outbox"),
        None => dirs.data_local_dir().join("outbox"),
    })
}

/// How much the outbox keeps; after each write the oldest reports are dropped until both hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most reports kept. Default 200.
    pub max_reports: usize,
    /// Most bytes kept, summed over the reports' files. Default 2 MiB.
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_reports: 200,
            max_bytes: 2 * 1024 * 1024,
        }
    }
}

/// One stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    /// Capture time, in seconds since the Unix epoch.
    pub captured_at: u64,
    pub path: PathBuf,
    /// The report exactly as it will be sent.
    pub bytes: Vec<u8>,
}

/// A directory of queued reports, each in `<captured_at, 20 digits>-<id>.json`, so that file
/// names sort by capture time, then id.
///
/// Nothing is created until the first write. Readers ignore any file whose name is not a report
/// name, and anything that is not a regular file (a symlink is never followed to a report).
/// Nobody else may write in the directory: readers and writers refuse one that is a link or
/// another user's, and tighten one of the user's own that others can write to (see `secure`).
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
    limits: Limits,
}

/// Proof that this process is the one flushing the outbox. Released when dropped, or by the
/// kernel when the process dies, so a crashed flusher never blocks the next one.
#[derive(Debug)]
pub struct FlusherLock {
    _lock: Flock<File>,
}

/// A report file found by a scan, before its contents are read.
struct Stored {
    captured_at: u64,
    id: String,
    path: PathBuf,
}

impl Outbox {
    /// An outbox in `dir` with the default limits.
    pub fn new(dir: PathBuf) -> Outbox {
        Outbox::with_limits(dir, Limits::default())
    }

    /// An outbox in `dir` that keeps at most what `limits` allow.
    pub fn with_limits(dir: PathBuf, limits: Limits) -> Outbox {
        Outbox { dir, limits }
    }

    /// The directory holding the reports; it may not exist yet.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The bounds applied after each write.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Stores a report atomically and returns its path; then drops the oldest reports until the
    /// outbox is within its limits, never the one just stored. Storing an id that is already
    /// stored replaces the earlier report.
    ///
    /// Fails, storing nothing, if the id is not lowercase hex and dashes, or if the report alone
    /// is over the byte limit.
    pub fn put(&self, id: &str, captured_at: u64, bytes: &[u8]) -> io::Result<PathBuf> {
        check_id(id)?;
        let len = bytes.len() as u64;
        if self.limits.max_reports == 0 || len > self.limits.max_bytes {
            return Err(io::Error::new(
                ErrorKind::FileTooLarge,
                format!(
                    "report {id} was not kept: it is {len} bytes and the outbox at {} keeps at most {} reports \
                     and {} bytes",
                    self.dir.display(),
                    self.limits.max_reports,
                    self.limits.max_bytes
                ),
            ));
        }
        self.create_dir()?;
        let temp = self.write_temp(bytes)?;
        let path = self.dir.join(report_file_name(id, captured_at));
        // Without the lock the outbox still works, only its bounds may be briefly overshot
        // (e.g. on a file system without flock support); a report is worth more than that.
        let lock = self.lock(PRUNE_LOCK_FILE, FlockArg::LockExclusive).ok().flatten();
        // Renaming under the lock makes replacing an id and pruning see one consistent set of
        // files, so two writers of the same id cannot delete each other's copy.
        if let Err(err) = fs::rename(&temp, &path) {
            remove_quietly(&temp);
            return Err(outbox_error("cannot write to the outbox", &self.dir, err));
        }
        self.tidy_after_write(captured_at, id);
        drop(lock);
        // Makes the rename itself durable; some file systems refuse to sync a directory, and the
        // report is in place either way.
        if let Ok(dir) = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(&self.dir)
        {
            let _ = dir.sync_all();
        }
        Ok(path)
    }

    /// All reports, oldest first. A missing directory is an empty outbox.
    pub fn list(&self) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for stored in self.scan()? {
            if let Some(entry) = self.read(stored)? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// The report with this id, or with the only id that starts with it (as with git commit ids).
    /// Fails if the prefix matches several reports.
    pub fn get(&self, id_or_prefix: &str) -> io::Result<Option<Entry>> {
        check_id(id_or_prefix)?;
        let mut stored = self.scan()?;
        // An exact id wins even when it is also the prefix of a longer one.
        if let Some(exact) = stored.iter().rposition(|s| s.id == id_or_prefix) {
            return self.read(stored.swap_remove(exact));
        }
        let mut matching: Vec<Stored> = stored.into_iter().filter(|s| s.id.starts_with(id_or_prefix)).collect();
        match matching.len() {
            0 => Ok(None),
            1 => self.read(matching.remove(0)),
            n => {
                let shown: Vec<&str> = matching.iter().take(5).map(|s| s.id.as_str()).collect();
                let more = if n > shown.len() {
                    format!(" and {} more", n - shown.len())
                } else {
                    String::new()
                };
                Err(io::Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "report id prefix {id_or_prefix:?} is ambiguous: it matches {}{more}; give more characters",
                        shown.join(", ")
                    ),
                ))
            }
        }
    }

    /// Removes the report with exactly this id (no prefixes: a deletion must name its report).
    /// Returns whether there was one.
    pub fn remove(&self, id: &str) -> io::Result<bool> {
        check_id(id)?;
        let mut removed = false;
        for stored in self.scan()?.into_iter().filter(|s| s.id == id) {
            removed |= self.delete(&stored)?;
        }
        Ok(removed)
    }

    /// Removes every report and returns how many there were.
    pub fn clear(&self) -> io::Result<usize> {
        let mut removed = 0;
        for stored in self.scan()? {
            if self.delete(&stored)? {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Number of reports, from the directory listing alone; 0 if it cannot be read.
    pub fn count(&self) -> usize {
        self.scan().map_or(0, |stored| stored.len())
    }

    /// The ids of the stored reports, oldest first, from file names alone (no report is
    /// opened). Empty if the outbox cannot be read.
    pub fn ids(&self) -> Vec<String> {
        self.scan()
            .map_or_else(|_| Vec::new(), |stored| stored.into_iter().map(|s| s.id).collect())
    }

    /// Size of all reports in bytes, from file metadata alone; 0 if it cannot be read.
    pub fn total_bytes(&self) -> u64 {
        self.scan()
            .map_or(0, |stored| stored.iter().filter_map(|s| file_len(&s.path)).sum())
    }

    /// Becomes the one flusher of this outbox: `None` if another process (or another guard in
    /// this one) already is. Creates the directory if needed.
    pub fn try_lock_flusher(&self) -> io::Result<Option<FlusherLock>> {
        self.create_dir()?;
        let lock = self
            .lock(FLUSHER_LOCK_FILE, FlockArg::LockExclusiveNonblock)
            .map_err(|err| outbox_error("cannot lock the outbox", &self.dir, err))?;
        Ok(lock.map(|lock| FlusherLock { _lock: lock }))
    }

    /// Checks that the directory, if it exists, is the user's own and that nobody else can write
    /// in it; one of the user's own that others can write to is first made private (0700).
    /// Fails, with an error carrying an `UnsafeOutbox`, if it is a symlink or another user's.
    pub fn secure(&self) -> io::Result<DirState> {
        self.secure_for("cannot read the outbox")
    }

    /// `secure`, with other failures named as failures to do `action`.
    fn secure_for(&self, action: &str) -> io::Result<DirState> {
        private_dir::secure(&self.dir).map_err(|err| {
            if UnsafeOutbox::of(&err).is_some() {
                err
            } else {
                outbox_error(action, &self.dir, err)
            }
        })
    }

    fn create_dir(&self) -> io::Result<()> {
        const ACTION: &str = "cannot create the outbox";
        if self.secure_for(ACTION)? != DirState::Missing {
            return Ok(());
        }
        // Reports describe the user's commands, so only the user may read them.
        DirBuilder::new()
            .recursive(true)
            .mode(private_dir::PRIVATE_MODE)
            .create(&self.dir)
            .map_err(|err| {
                // `create` only reports this when a file, not a directory, holds the name.
                let err = if err.kind() == ErrorKind::AlreadyExists {
                    ErrorKind::NotADirectory.into()
                } else {
                    err
                };
                outbox_error(ACTION, &self.dir, err)
            })?;
        // Whatever holds the name now (someone may have raced us to it) must pass too.
        self.secure_for(ACTION).map(|_| ())
    }

    /// Writes `bytes` to a fresh temporary file in the outbox and syncs it to disk, so that the
    /// rename that follows publishes a complete report or nothing.
    fn write_temp(&self, bytes: &[u8]) -> io::Result<PathBuf> {
        let mut attempts = 0;
        loop {
            let path = self
                .dir
                .join(format!("{TEMP_PREFIX}{}-{:016x}", std::process::id(), unique_u64()));
            let opened = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path);
            match opened {
                Ok(mut file) => {
                    return match file.write_all(bytes).and_then(|()| file.sync_all()) {
                        Ok(()) => Ok(path),
                        Err(err) => {
                            remove_quietly(&path);
                            Err(outbox_error("cannot write to the outbox", &self.dir, err))
                        }
                    };
                }
                // Only a leftover of a dead writer with the same pid and random number.
                Err(err) if err.kind() == ErrorKind::AlreadyExists && attempts < 8 => attempts += 1,
                Err(err) => return Err(outbox_error("cannot write to the outbox", &self.dir, err)),
            }
        }
    }

    /// Runs under the prune lock after a report was renamed into place: removes other copies of
    /// its id, drops the oldest reports until within limits, and deletes stale temporary files.
    /// Failures here are left for the next write: the report is already stored.
    fn tidy_after_write(&self, captured_at: u64, id: &str) {
        let Ok(stored) = self.scan() else { return };
        let is_new = |s: &Stored| s.captured_at == captured_at && s.id == id;
        let mut kept = Vec::with_capacity(stored.len());
        for s in stored {
            if s.id == id && !is_new(&s) {
                remove_quietly(&s.path);
            } else if let Some(len) = file_len(&s.path) {
                kept.push((s, len));
            }
        }
        let mut count = kept.len();
        let mut total: u64 = kept.iter().map(|(_, len)| len).sum();
        for (s, len) in &kept {
            if count <= self.limits.max_reports && total <= self.limits.max_bytes {
                break;
            }
            if is_new(s) {
                continue;
            }
            remove_quietly(&s.path);
            count -= 1;
            total -= len;
        }
        self.remove_stale_temps();
    }

    fn remove_stale_temps(&self) {
        let Ok(dir) = fs::read_dir(&self.dir) else { return };
        let now = SystemTime::now();
        for entry in dir.flatten() {
            let is_temp = entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with(TEMP_PREFIX));
            let Ok(meta) = entry.metadata() else { continue };
            let age = meta
                .modified()
                .ok()
                .and_then(|modified| now.duration_since(modified).ok());
            if is_temp && meta.is_file() && age.is_some_and(|age| age > STALE_TEMP_AGE) {
                remove_quietly(&entry.path());
            }
        }
    }

    /// The report files, oldest first, without reading them.
    fn scan(&self) -> io::Result<Vec<Stored>> {
        self.secure()?;
        let dir = match fs::read_dir(&self.dir) {
            Ok(dir) => dir,
            Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(outbox_error("cannot read the outbox", &self.dir, err)),
        };
        let mut stored = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|err| outbox_error("cannot read the outbox", &self.dir, err))?;
            let name = entry.file_name();
            let Some((captured_at, id)) = parse_report_file_name(&name) else {
                continue;
            };
            // `file_type` does not follow symlinks: a link in the outbox must not make some other
            // file into a report that gets sent.
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                stored.push(Stored {
                    captured_at,
                    id: id.to_owned(),
                    path: entry.path(),
                });
            }
        }
        stored.sort_by(|a, b| (a.captured_at, &a.id).cmp(&(b.captured_at, &b.id)));
        Ok(stored)
    }

    /// Reads a scanned report; `None` if it was removed meanwhile (by the flusher or a prune).
    fn read(&self, stored: Stored) -> io::Result<Option<Entry>> {
        let opened = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&stored.path);
        let mut bytes = Vec::new();
        match opened.and_then(|mut file| file.read_to_end(&mut bytes)) {
            Ok(_) => Ok(Some(Entry {
                id: stored.id,
                captured_at: stored.captured_at,
                path: stored.path,
                bytes,
            })),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
            Err(err) => Err(outbox_error("cannot read the outbox", &self.dir, err)),
        }
    }

    /// Deletes a scanned report; `false` if it was already gone.
    fn delete(&self, stored: &Stored) -> io::Result<bool> {
        match fs::remove_file(&stored.path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(false),
            Err(err) => Err(outbox_error(
                &format!("cannot remove report {} from the outbox", stored.id),
                &self.dir,
                err,
            )),
        }
    }

    /// Takes an exclusive flock on a file in the outbox; `Ok(None)` when `arg` is non-blocking and
    /// someone else holds it. The lock file is never a link: one planted while the directory was
    /// open to others is replaced by a file of our own, and the file it named is left alone.
    fn lock(&self, name: &str, arg: FlockArg) -> io::Result<Option<Flock<File>>> {
        let path = self.dir.join(name);
        let open = || {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
        };
        let mut file = match open() {
            Err(err) if err.raw_os_error() == Some(libc::ELOOP) => {
                // Only a link fails this way; removing a name removes the link, never its target.
                fs::remove_file(&path)?;
                open()?
            }
            opened => opened?,
        };
        loop {
            match Flock::lock(file, arg) {
                Ok(lock) => return Ok(Some(lock)),
                Err((_, Errno::EWOULDBLOCK)) => return Ok(None),
                Err((unlocked, Errno::EINTR)) => file = unlocked,
                Err((_, errno)) => return Err(errno.into()),
            }
        }
    }
}

/// Accepts ids of lowercase hex digits and dashes, which can never name another path.
fn check_id(id: &str) -> io::Result<()> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(io::Error::new(
            ErrorKind::InvalidInput,
            format!("invalid report id {id:?}: an id is 1 to {MAX_ID_LEN} lowercase hex digits and dashes"),
        ))
    }
}

fn is_valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len()) && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f' | b'-'))
}

fn report_file_name(id: &str, captured_at: u64) -> String {
    format!("{captured_at:0TIME_WIDTH$}-{id}{REPORT_SUFFIX}")
}

/// The capture time and id in a report's file name; `None` for any other name.
fn parse_report_file_name(name: &OsStr) -> Option<(u64, &str)> {
    let stem = name.to_str()?.strip_suffix(REPORT_SUFFIX)?;
    let (time, rest) = stem.split_at_checked(TIME_WIDTH)?;
    let id = rest.strip_prefix('-')?;
    if !time.bytes().all(|b| b.is_ascii_digit()) || !is_valid_id(id) {
        return None;
    }
    Some((time.parse().ok()?, id))
}

fn file_len(path: &Path) -> Option<u64> {
    fs::symlink_metadata(path).ok().map(|meta| meta.len())
}

/// For cleanup whose failure changes nothing for the caller: the next write tries again.
fn remove_quietly(path: &Path) {
    let _ = fs::remove_file(path);
}

/// A number no other temporary file name in flight should share; the counter keeps names unique
/// within this process even if the system's random source fails.
fn unique_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let random = getrandom::u64().unwrap_or_else(|_| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64)
    });
    random ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(32)
}

/// An error naming what failed, where, why in plain words, and what the user can do about it.
/// It keeps the original kind, so callers can still tell a full disk from a permission problem.
fn outbox_error(action: &str, dir: &Path, err: io::Error) -> io::Error {
    let (cause, fix) = match err.kind() {
        ErrorKind::PermissionDenied => ("permission denied".to_owned(), Some(FIX_PERMISSIONS)),
        ErrorKind::ReadOnlyFilesystem => ("the file system is read-only".to_owned(), Some(FIX_PERMISSIONS)),
        ErrorKind::NotADirectory => (
            "a file is in the way where a directory should be".to_owned(),
            Some("move that file away or set XDG_STATE_HOME to another directory"),
        ),
        ErrorKind::StorageFull => ("the disk is full".to_owned(), Some("free some disk space")),
        ErrorKind::QuotaExceeded => ("the disk quota is used up".to_owned(), Some("free some disk space")),
        ErrorKind::Unsupported => (err.to_string(), Some("put the outbox on a local file system")),
        _ => (err.to_string(), None),
    };
    let message = match fix {
        Some(fix) => format!("{action} at {}: {cause}; {fix}", dir.display()),
        None => format!("{action} at {}: {cause}", dir.display()),
    };
    io::Error::new(err.kind(), message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_sort_by_time_then_id() {
        let names = [
            report_file_name("b", 9),
            report_file_name("a", 10),
            report_file_name("0", u64::MAX),
        ];
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(sorted, names);
        assert_eq!(parse_report_file_name(OsStr::new(&names[2])), Some((u64::MAX, "0")));
    }

    #[test]
    fn names_that_are_not_report_names_are_not_parsed() {
        for name in [
            "1-abc.json",
            "0000000000000000000x-abc.json",
            "99999999999999999999-abc.json", // more than u64::MAX
            "00000000000000000001-ABC.json",
            "00000000000000000001-.json",
            "00000000000000000001abc.json",
            "00000000000000000001-abc.json.tmp",
            ".tmp-1-00000000000000000001-abc.json",
        ] {
            assert_eq!(parse_report_file_name(OsStr::new(name)), None, "{name}");
        }
    }

    #[test]
    fn a_full_disk_is_named_with_its_fix_and_keeps_its_kind() {
        let err = outbox_error(
            "cannot write to the outbox",
            Path::new("/x"),
            ErrorKind::StorageFull.into(),
        );
        assert_eq!(err.kind(), ErrorKind::StorageFull);
        assert_eq!(
            err.to_string(),
            "cannot write to the outbox at /x: the disk is full; free some disk space"
        );
    }
}
