//! The outbox holds what the user's commands did, and its files are opened by name: it must be
//! a real directory of the user's that no one else can write to. One of the user's own that is
//! too open is tightened; anything else is refused, and no report is kept there.

use std::fmt;
use std::fs::{File, Metadata, OpenOptions, Permissions};
use std::io::{self, ErrorKind};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The mode lokiwrap creates the outbox with, and tightens a too open one to.
pub const PRIVATE_MODE: u32 = 0o700;
/// Permission bits that would let someone else plant, replace or delete files in the outbox.
const WRITE_BY_OTHERS: u32 = 0o022;
const FIX: &str = "or set XDG_STATE_HOME to a directory of your own";

/// What lokiwrap looks at to decide whether a directory may be the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirFacts {
    pub is_symlink: bool,
    pub owner: u32,
    /// Permission bits, including set-id and sticky bits.
    pub mode: u32,
}

impl From<&Metadata> for DirFacts {
    /// From metadata that does not follow a symlink (`symlink_metadata`, or `fstat` of a
    /// descriptor opened with `O_NOFOLLOW`).
    fn from(meta: &Metadata) -> DirFacts {
        DirFacts {
            is_symlink: meta.file_type().is_symlink(),
            owner: meta.uid(),
            mode: meta.mode() & 0o7777,
        }
    }
}

/// Why a directory cannot be the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A link could point the reports anywhere, and the target can change under us.
    Symlink,
    /// Its owner can read, replace or plant reports, whatever its mode.
    OwnedByOther { owner: u32, you: u32 },
}

/// What to do with a directory found where the outbox goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Private,
    /// Ours, but others may write in it: change its mode to `PRIVATE_MODE` first.
    Tighten,
    Refuse(Refusal),
}

/// The decision alone, on facts gathered elsewhere, so that every case can be tested without
/// being root.
pub fn judge(facts: DirFacts, you: u32) -> Verdict {
    if facts.is_symlink {
        Verdict::Refuse(Refusal::Symlink)
    } else if facts.owner != you {
        Verdict::Refuse(Refusal::OwnedByOther {
            owner: facts.owner,
            you,
        })
    } else if facts.mode & WRITE_BY_OTHERS != 0 {
        Verdict::Tighten
    } else {
        Verdict::Private
    }
}

/// An outbox lokiwrap will not use, with what is wrong and the fix. It travels inside an
/// `io::Error` (kind `PermissionDenied`); `UnsafeOutbox::of` finds it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeOutbox {
    pub dir: PathBuf,
    pub refusal: Refusal,
}

impl UnsafeOutbox {
    /// The refusal carried by `err`, if it is one.
    pub fn of(err: &io::Error) -> Option<&UnsafeOutbox> {
        err.get_ref()?.downcast_ref()
    }

    /// What is wrong, without the directory's name.
    pub fn problem(&self) -> String {
        match self.refusal {
            Refusal::Symlink => "is a symbolic link, not a directory of your own".to_owned(),
            Refusal::OwnedByOther { owner, you } => format!("is owned by uid {owner}, not you (uid {you})"),
        }
    }

    pub fn fix(&self) -> String {
        let what = match self.refusal {
            Refusal::Symlink => "remove the link",
            Refusal::OwnedByOther { .. } => "remove it (or have its owner remove it)",
        };
        format!("{what} {FIX}")
    }
}

impl fmt::Display for UnsafeOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the outbox {} {}: no report is kept there; {}",
            self.dir.display(),
            self.problem(),
            self.fix()
        )
    }
}

impl std::error::Error for UnsafeOutbox {}

impl From<UnsafeOutbox> for io::Error {
    fn from(refused: UnsafeOutbox) -> io::Error {
        io::Error::new(ErrorKind::PermissionDenied, refused)
    }
}

/// What `secure` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirState {
    /// Nothing there yet.
    Missing,
    Private,
    /// It was ours with this mode, which let others write in it; it is `PRIVATE_MODE` now.
    Tightened {
        was: u32,
    },
}

/// Makes sure `dir`, if it exists, is a private directory of the user's, tightening its mode
/// if it is theirs but too open; a file in its place is a plain `NotADirectory` error. The
/// directory is opened without following a link, and its owner and mode are read and changed
/// through that descriptor, so a link swapped in after a check is never what gets judged or
/// changed.
pub fn secure(dir: &Path) -> io::Result<DirState> {
    let refuse = |refusal| -> io::Error {
        UnsafeOutbox {
            dir: dir.to_path_buf(),
            refusal,
        }
        .into()
    };
    let opened = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(dir);
    let handle = match opened {
        Ok(handle) => handle,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(DirState::Missing),
        // A link, or no directory: `O_NOFOLLOW` and `O_DIRECTORY` report either as ELOOP or
        // ENOTDIR depending on the system, so look at the name itself to say which.
        Err(err) => {
            return match std::fs::symlink_metadata(dir) {
                Ok(meta) if meta.file_type().is_symlink() => Err(refuse(Refusal::Symlink)),
                Ok(meta) if !meta.is_dir() => Err(ErrorKind::NotADirectory.into()),
                _ => Err(err),
            };
        }
    };
    let facts = DirFacts::from(&handle.metadata()?);
    match judge(facts, effective_uid()) {
        Verdict::Private => Ok(DirState::Private),
        Verdict::Tighten => {
            tighten(&handle)?;
            Ok(DirState::Tightened { was: facts.mode })
        }
        Verdict::Refuse(refusal) => Err(refuse(refusal)),
    }
}

fn tighten(handle: &File) -> io::Result<()> {
    handle.set_permissions(Permissions::from_mode(PRIVATE_MODE))
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, touches no memory of ours and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YOU: u32 = 1000;

    fn dir(owner: u32, mode: u32) -> DirFacts {
        DirFacts {
            is_symlink: false,
            owner,
            mode,
        }
    }

    #[test]
    fn a_private_directory_of_yours_is_used_as_it_is() {
        assert_eq!(judge(dir(YOU, 0o700), YOU), Verdict::Private);
        // Others may read and list it: reports are 0600, and nobody else can change a thing.
        assert_eq!(judge(dir(YOU, 0o755), YOU), Verdict::Private);
    }

    #[test]
    fn a_directory_of_yours_that_others_can_write_to_is_tightened() {
        for mode in [0o777, 0o1777, 0o770, 0o702, 0o720] {
            assert_eq!(judge(dir(YOU, mode), YOU), Verdict::Tighten, "{mode:o}");
        }
    }

    #[test]
    fn a_directory_owned_by_someone_else_is_refused_whatever_its_mode() {
        for mode in [0o700, 0o755, 0o777] {
            assert_eq!(
                judge(dir(1001, mode), YOU),
                Verdict::Refuse(Refusal::OwnedByOther { owner: 1001, you: YOU }),
                "{mode:o}"
            );
        }
        // Not even root's own directory is used by another user.
        assert_eq!(
            judge(dir(0, 0o700), YOU),
            Verdict::Refuse(Refusal::OwnedByOther { owner: 0, you: YOU })
        );
    }

    #[test]
    fn a_link_is_refused_even_when_it_is_yours() {
        let link = DirFacts {
            is_symlink: true,
            ..dir(YOU, 0o777)
        };
        assert_eq!(judge(link, YOU), Verdict::Refuse(Refusal::Symlink));
    }

    #[test]
    fn an_outbox_owned_by_someone_else_is_named_with_its_owner_and_the_fix() {
        let err: io::Error = UnsafeOutbox {
            dir: PathBuf::from("/x"),
            refusal: Refusal::OwnedByOther { owner: 1001, you: 1000 },
        }
        .into();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert_eq!(
            err.to_string(),
            "the outbox /x is owned by uid 1001, not you (uid 1000): no report is kept there; remove it \
             (or have its owner remove it) or set XDG_STATE_HOME to a directory of your own"
        );
        assert_eq!(
            UnsafeOutbox::of(&err).map(|u| u.refusal),
            Some(Refusal::OwnedByOther { owner: 1001, you: 1000 })
        );
    }

    #[test]
    fn secure_tightens_a_world_writable_directory_and_refuses_a_link() {
        let temp = tempfile::tempdir().unwrap();
        let outbox = temp.path().join("outbox");
        assert_eq!(secure(&outbox).unwrap(), DirState::Missing);
        std::fs::create_dir(&outbox).unwrap();
        std::fs::set_permissions(&outbox, Permissions::from_mode(0o777)).unwrap();
        assert_eq!(secure(&outbox).unwrap(), DirState::Tightened { was: 0o777 });
        assert_eq!(std::fs::metadata(&outbox).unwrap().mode() & 0o7777, PRIVATE_MODE);
        assert_eq!(secure(&outbox).unwrap(), DirState::Private);

        let link = temp.path().join("link");
        std::os::unix::fs::symlink(&outbox, &link).unwrap();
        let err = secure(&link).unwrap_err();
        assert_eq!(UnsafeOutbox::of(&err).map(|u| u.refusal), Some(Refusal::Symlink));
        let file = temp.path().join("file");
        std::fs::write(&file, "").unwrap();
        let err = secure(&file).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotADirectory);
        assert!(UnsafeOutbox::of(&err).is_none());
    }
}
