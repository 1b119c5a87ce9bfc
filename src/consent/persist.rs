//! Changing the configuration file on the user's behalf (`telemetry off` and `on`, the
//! notice's sentinel) without disturbing the rest of it: comments and order are kept, and the file is
//! replaced atomically.

use std::io::Write;
use std::path::Path;

use toml_edit::{DocumentMut, value};

use crate::config::Config;

/// Sets `key` to a string or boolean at the top level of the configuration file.
pub fn set(key: &str, new: impl Into<toml_edit::Value>) -> Result<(), String> {
    edit(|doc| {
        doc[key] = value(new);
    })
}

/// Sets some top-level keys and removes others in one replacement of the file, so a wrapped
/// run reading it at the same time sees all of the change or none.
pub fn update(set: &[(&str, toml_edit::Value)], remove: &[&str]) -> Result<(), String> {
    edit(|doc| {
        for key in remove {
            doc.remove(key);
        }
        for (key, new) in set {
            doc[*key] = value(new.clone());
        }
    })
}

fn edit(change: impl FnOnce(&mut DocumentMut)) -> Result<(), String> {
    let path = Config::path().ok_or("no configuration directory: set HOME or XDG_CONFIG_HOME")?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("{} is not valid TOML ({e}); fix or remove it first", path.display()))?;
    change(&mut doc);
    write_atomically(&path, doc.to_string().as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the path has no directory"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".config.toml.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
