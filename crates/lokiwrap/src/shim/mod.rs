//! PATH shims: links named like a tool, in a directory of their own, that run lokiwrap under
//! the tool's name. Adding one makes every invocation of the tool through PATH wrapped;
//! removing it undoes that. Only links to lokiwrap itself are ever created or removed.

use std::io;
use std::path::{Path, PathBuf};

use crate::launch::resolve::{self, FileId};

/// `$XDG_DATA_HOME/lokiwrap/shims` on Linux (`~/.local/share/lokiwrap/shims`).
pub fn default_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lokiwrap").map(|dirs| dirs.data_dir().join("shims"))
}

/// What `add` did for one tool.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    Created,
    AlreadyThere,
}

/// The shims directory and the lokiwrap binary its links point to.
pub struct Shims {
    pub dir: PathBuf,
    pub lokiwrap: PathBuf,
}

impl Shims {
    /// Creates a shim for `tool`. Refuses a name that is not a plain program name, a tool that
    /// is not on PATH (unless `force`), and a file in the way that is not a lokiwrap shim.
    pub fn add(&self, tool: &str, force: bool) -> Result<Added, String> {
        check_name(tool)?;
        let link = self.dir.join(tool);
        if self.is_shim(&link) {
            return Ok(Added::AlreadyThere);
        }
        if link.symlink_metadata().is_ok() {
            return Err(format!(
                "{} exists and is not a lokiwrap shim; move it away first",
                link.display()
            ));
        }
        if !force && self.real_tool(tool).is_none() {
            return Err(format!(
                "{tool} is not on PATH, so a shim would have nothing to run; install {tool} first, \
                 or add the shim anyway with --force"
            ));
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        std::os::unix::fs::symlink(&self.lokiwrap, &link)
            .map_err(|e| format!("cannot create {}: {e}", link.display()))?;
        Ok(Added::Created)
    }

    /// Removes the shim for `tool`. Never removes anything that is not a link to lokiwrap.
    pub fn remove(&self, tool: &str) -> Result<(), String> {
        check_name(tool)?;
        let link = self.dir.join(tool);
        if link.symlink_metadata().is_err() {
            return Err(format!("there is no shim for {tool} in {}", self.dir.display()));
        }
        if !self.is_shim(&link) {
            return Err(format!("{} is not a lokiwrap shim; it was left alone", link.display()));
        }
        std::fs::remove_file(&link).map_err(|e| format!("cannot remove {}: {e}", link.display()))
    }

    /// The shims, by name, with the real tool each one runs (None: nothing on PATH).
    pub fn list(&self) -> io::Result<Vec<(String, Option<PathBuf>)>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut shims: Vec<(String, Option<PathBuf>)> = entries
            .flatten()
            .filter(|entry| self.is_shim(&entry.path()))
            .filter_map(|entry| entry.file_name().into_string().ok())
            .map(|name| {
                let real = self.real_tool(&name);
                (name, real)
            })
            .collect();
        shims.sort();
        Ok(shims)
    }

    /// The tool a shim named `tool` runs: the first one on PATH that is not lokiwrap.
    pub fn real_tool(&self, tool: &str) -> Option<PathBuf> {
        resolve::find_program(std::ffi::OsStr::new(tool), FileId::of(&self.lokiwrap)).ok()
    }

    fn is_shim(&self, path: &Path) -> bool {
        let is_link = path.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink());
        is_link && FileId::of(path).is_some() && FileId::of(path) == FileId::of(&self.lokiwrap)
    }
}

fn check_name(tool: &str) -> Result<(), String> {
    let plain = !tool.is_empty() && !tool.contains('/') && tool != "." && tool != ".." && !tool.starts_with('-');
    if !plain {
        return Err(format!(
            "'{tool}' is not a program name; give the name you type, such as npm"
        ));
    }
    if tool.starts_with("lokiwrap") {
        return Err(format!(
            "a shim named {tool} would be lokiwrap itself; pick the tool to wrap, such as npm"
        ));
    }
    Ok(())
}

/// The line that puts the shims directory first on PATH, for `eval` in the given shell.
pub fn env_line(shell: &str, dir: &Path) -> Result<String, String> {
    let quoted = format!("'{}'", dir.display().to_string().replace('\'', r"'\''"));
    match shell {
        "bash" | "zsh" | "sh" => Ok(format!("export PATH={quoted}\":$PATH\"")),
        "fish" => Ok(format!("set -gx PATH {quoted} $PATH")),
        other => Err(format!(
            "no PATH line for the shell '{other}'; choose bash, zsh or fish"
        )),
    }
}
