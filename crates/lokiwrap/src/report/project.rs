//! The project a report comes from. `project_id_hash` groups reports from one repository
//! without naming it, and the remote's owner and repository names go to the scrubber as words
//! to redact. Everything is read from the repository's own files: git itself is never run.

use std::fs::{self, File};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A config file is a few kilobytes; a bigger one is refused rather than read whole.
const MAX_CONFIG_BYTES: usize = 1 << 20;

/// `.git` files and `commondir` hold one path.
const MAX_POINTER_BYTES: usize = 64 << 10;

/// The project of a repository, as far as a report may know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Lowercase hex SHA-256 of `normalized_url`: the report's `project_id_hash`.
    pub id_hash: String,
    /// The origin as `host/owner/repo` (every group segment kept), or as an absolute path
    /// when the origin is a local repository. It stays on the machine: a report carries only
    /// the hash.
    pub normalized_url: String,
    /// The owner or group segments and the repository name, each once, to be redacted from
    /// report strings. Empty for a local origin: pieces of a path are not project names.
    pub names: Vec<String>,
}

/// The project of the repository containing `dir`, if any. Never panics; I/O errors mean None.
///
/// The repository is found as git finds it: walking up from `dir` (symlinks resolved) to the
/// first `.git` directory holding a `HEAD`, or `.git` file (`gitdir: <path>`, for worktrees
/// and submodules). The walk stops below the deepest `GIT_CEILING_DIRECTORIES` entry above
/// `dir`, and at a filesystem boundary unless `GIT_DISCOVERY_ACROSS_FILESYSTEM` is true.
/// `GIT_DIR` and bare repositories are not considered.
///
/// The URL is `remote.origin.url` from the shared config file (in the `commondir` of a
/// linked worktree), then from `config.worktree` when `extensions.worktreeConfig` is on;
/// the last value wins, as `git config --get` reports it. Not read: system and global
/// config, `[include]` and `[includeIf]` files, `url.<base>.insteadOf` rewrites (they are
/// per-user, so the URL as configured groups better), and the legacy `.git/remotes` files.
/// A config file git would reject yields None.
pub fn project_of(dir: &Path) -> Option<Project> {
    let repository = find_repository(dir, &Discovery::from_env())?;
    let normalized_url = normalize_remote_url(&repository.origin_url()?)?;
    Some(Project {
        id_hash: hash_project_url(&normalized_url),
        names: project_names(&normalized_url),
        normalized_url,
    })
}

/// Normalises a remote URL so that every spelling of one repository gives the same string:
/// `git@github.com:o/r.git`, `ssh://git@github.com:22/o/r`, `https://user:token@GitHub.com/o/r/`
/// all give `github.com/o/r`.
///
/// Network URLs lose their scheme, user and password, a numeric port, query and fragment;
/// the host is lower-cased and the path kept as written, without empty segments and without
/// a trailing `.git`. A non-numeric "port" (`ssh://host:o/r`, scp syntax inside a URL) is
/// read as the first path segment. Absolute local paths and `file://` URLs become the
/// absolute path, so they still group one machine's clones. Relative paths give None: the
/// same `../x` names a different repository in every project.
pub fn normalize_remote_url(url: &str) -> Option<String> {
    let url = url.trim();
    if let Some((scheme, rest)) = split_scheme(url) {
        if scheme.eq_ignore_ascii_case("file") {
            return normalize_local_path(&rest[rest.find('/')?..]);
        }
        let rest = rest.split(['?', '#']).next().unwrap_or_default();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        return network_form(authority, path);
    }
    if url.starts_with('/') {
        return normalize_local_path(url);
    }
    // git's own rule: a colon before any slash makes `host:path`, anything else is a path.
    let colon = url.find(':')?;
    if url.find('/').is_some_and(|slash| slash < colon) {
        return None;
    }
    let (authority, path) = split_scp(url)?;
    network_form(authority, path)
}

/// Lowercase hex SHA-256 of a normalised URL.
pub fn hash_project_url(normalized: &str) -> String {
    super::payload::hex(&Sha256::digest(normalized.as_bytes()))
}

/// The owner or group segments and the repository name of a normalised URL.
fn project_names(normalized: &str) -> Vec<String> {
    if normalized.starts_with('/') {
        return Vec::new();
    }
    let mut names: Vec<String> = Vec::new();
    for segment in normalized.split('/').skip(1) {
        // `~user/repo` (a home directory on an ssh host): the user is the name to redact.
        let name = segment.trim_start_matches('~');
        if !name.is_empty() && !names.iter().any(|known| known == name) {
            names.push(name.to_string());
        }
    }
    names
}

/// `scheme://rest`, when `url` has a scheme as git recognises one.
fn split_scheme(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let mut chars = scheme.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_well = chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    (starts_well && rest_well).then_some((scheme, rest))
}

/// Splits scp syntax, `[user@]host:path`, into the part before the colon and the path.
fn split_scp(url: &str) -> Option<(&str, &str)> {
    let head = &url[..url.find('/').unwrap_or(url.len())];
    let first_colon = head.find(':')?;
    let separator = if head[..first_colon].contains('[') {
        // `[::1]:o/r` or `[user@host:22]:o/r`: the separator is the first colon after `]`.
        let close = head.find(']')?;
        close + head[close..].find(':')?
    } else {
        // A user part may hold a colon itself (`user:token@host:o/r`), so the host starts
        // after the last `@` that a colon follows.
        let host_start = head
            .rfind('@')
            .filter(|&at| head[at..].contains(':'))
            .map_or(0, |at| at + 1);
        host_start + head[host_start..].find(':')?
    };
    Some((&url[..separator], &url[separator + 1..]))
}

/// `host/segment/...` from an authority (`[user[:password]@]host[:port]`) and a path.
fn network_form(authority: &str, path: &str) -> Option<String> {
    let (host, port) = host_and_port(authority);
    if host.is_empty() {
        return None;
    }
    let leading = port.filter(|port| !port.bytes().all(|b| b.is_ascii_digit()));
    let segments = path_segments(leading.into_iter().chain(path.split('/')));
    let mut normalized = host.to_ascii_lowercase();
    for segment in segments {
        normalized.push('/');
        normalized.push_str(segment);
    }
    Some(normalized)
}

/// The host (brackets kept around an IPv6 address) and the port, if any.
fn host_and_port(authority: &str) -> (String, Option<&str>) {
    if let Some(open) = authority.find('[')
        && let Some(close) = authority[open..].find(']').map(|close| open + close)
    {
        let inner = after_last_at(&authority[open + 1..close]);
        let port = authority[close + 1..].strip_prefix(':');
        return match inner.matches(':').count() {
            0 => (inner.to_string(), port),
            // scp syntax's way to give a port: `[host:22]:path`.
            1 => inner
                .split_once(':')
                .map_or((inner.to_string(), port), |(host, p)| (host.to_string(), Some(p))),
            _ => (format!("[{inner}]"), port),
        };
    }
    let host_port = after_last_at(authority);
    match host_port.split_once(':') {
        Some((host, port)) => (host.to_string(), Some(port)),
        None => (host_port.to_string(), None),
    }
}

fn after_last_at(text: &str) -> &str {
    text.rfind('@').map_or(text, |at| &text[at + 1..])
}

/// Non-empty segments, the last without its `.git` (dropped if nothing else is left of it).
fn path_segments<'a>(segments: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut kept: Vec<&str> = segments.filter(|segment| !segment.is_empty()).collect();
    if let Some(last) = kept.last_mut()
        && let Some(stem) = last.strip_suffix(".git")
    {
        *last = stem;
        if stem.is_empty() {
            kept.pop();
        }
    }
    kept
}

/// An absolute path without empty segments or a trailing `.git`; None for `/` alone.
fn normalize_local_path(path: &str) -> Option<String> {
    let segments = path_segments(path.split('/'));
    if segments.is_empty() {
        return None;
    }
    Some(segments.iter().fold(String::new(), |mut normalized, segment| {
        normalized.push('/');
        normalized.push_str(segment);
        normalized
    }))
}

/// Where the walk up from a directory must stop, from git's environment variables.
struct Discovery {
    /// `GIT_CEILING_DIRECTORIES`: absolute, resolved as git resolves them.
    ceilings: Vec<PathBuf>,
    across_filesystems: bool,
}

impl Discovery {
    fn from_env() -> Discovery {
        let ceilings = std::env::var_os("GIT_CEILING_DIRECTORIES");
        let across = std::env::var_os("GIT_DISCOVERY_ACROSS_FILESYSTEM");
        Discovery {
            ceilings: ceilings.map(|value| ceiling_dirs(&value)).unwrap_or_default(),
            across_filesystems: across.is_some_and(|value| parse_bool(Some(value.as_bytes())) == Some(true)),
        }
    }
}

/// Parses `GIT_CEILING_DIRECTORIES` as git does: relative entries are ignored, entries are
/// resolved through symlinks (and dropped if that fails) except after an empty entry, which
/// tells git to take the rest as written.
fn ceiling_dirs(value: &std::ffi::OsStr) -> Vec<PathBuf> {
    let mut resolve = true;
    let mut ceilings = Vec::new();
    for entry in std::env::split_paths(value) {
        if entry.as_os_str().is_empty() {
            resolve = false;
        } else if entry.is_absolute() {
            let entry = if resolve {
                fs::canonicalize(&entry).ok()
            } else {
                Some(entry)
            };
            ceilings.extend(entry);
        }
    }
    ceilings
}

/// A repository as found from a working directory.
#[derive(Debug, PartialEq, Eq)]
struct Repository {
    /// This worktree's git directory (`.git`, or `.git/worktrees/<name>` for a linked one).
    git_dir: PathBuf,
    /// Where the shared `config` lives: the git directory itself unless a `commondir` file
    /// points elsewhere.
    common_dir: PathBuf,
}

/// What a directory's `.git` entry turned out to be.
enum DotGit {
    /// No `.git`, a `.git` directory that is not a repository, or a `.git` that is neither
    /// a directory nor a file: git walks on past all of them.
    Absent,
    Found(Repository),
    /// A `.git` file git would reject; git stops there with an error, so there is no project.
    Broken,
}

fn find_repository(dir: &Path, discovery: &Discovery) -> Option<Repository> {
    let start = fs::canonicalize(dir).ok()?;
    // git never looks at a ceiling directory or above it, and a ceiling counts only if it
    // is strictly above the starting directory.
    let ceiling = discovery
        .ceilings
        .iter()
        .filter(|ceiling| start.starts_with(ceiling) && start != **ceiling)
        .max_by_key(|ceiling| ceiling.components().count());
    let start_device = device_of(&start);
    let mut current = start.as_path();
    loop {
        match dot_git_in(current) {
            DotGit::Found(repository) => return Some(repository),
            DotGit::Broken => return None,
            DotGit::Absent => {}
        }
        let parent = current.parent()?;
        if ceiling.is_some_and(|ceiling| ceiling.starts_with(parent)) {
            return None;
        }
        if !discovery.across_filesystems && device_of(parent) != start_device {
            return None;
        }
        current = parent;
    }
}

fn device_of(path: &Path) -> Option<u64> {
    fs::metadata(path).ok().map(|metadata| metadata.dev())
}

fn dot_git_in(dir: &Path) -> DotGit {
    let dot_git = dir.join(".git");
    let Ok(metadata) = fs::metadata(&dot_git) else {
        return DotGit::Absent;
    };
    if metadata.is_dir() {
        return match repository_at(dot_git) {
            Some(repository) => DotGit::Found(repository),
            None => DotGit::Absent,
        };
    }
    if !metadata.is_file() {
        return DotGit::Absent;
    }
    let target = read_small_file(&dot_git, MAX_POINTER_BYTES).and_then(|bytes| gitdir_target(&bytes));
    match target.and_then(|target| repository_at(dir.join(target))) {
        Some(repository) => DotGit::Found(repository),
        None => DotGit::Broken,
    }
}

/// The path in a `.git` file, which git requires to read exactly `gitdir: <path>`.
fn gitdir_target(bytes: &[u8]) -> Option<PathBuf> {
    let path = trim_line_end(bytes.strip_prefix(b"gitdir: ")?);
    (!path.is_empty()).then(|| PathBuf::from(std::ffi::OsStr::from_bytes(path)))
}

/// The repository whose git directory is `git_dir`, if it looks like one (has a `HEAD`).
fn repository_at(git_dir: PathBuf) -> Option<Repository> {
    fs::symlink_metadata(git_dir.join("HEAD")).ok()?;
    let commondir = git_dir.join("commondir");
    let common_dir = if fs::symlink_metadata(&commondir).is_ok() {
        // Relative to the git directory; `join` keeps an absolute path as it is.
        let bytes = read_small_file(&commondir, MAX_POINTER_BYTES)?;
        git_dir.join(std::ffi::OsStr::from_bytes(trim_line_end(&bytes)))
    } else {
        git_dir.clone()
    };
    Some(Repository { git_dir, common_dir })
}

impl Repository {
    /// `remote.origin.url` as git would read it from this repository's own config files.
    fn origin_url(&self) -> Option<String> {
        let shared = read_config(&self.common_dir.join("config"))?;
        let mut url = shared.origin_url;
        if shared.worktree_config
            && let Some(bytes) = read_small_file(&self.git_dir.join("config.worktree"), MAX_CONFIG_BYTES)
        {
            let own = settings_of(&bytes)?;
            url = own.origin_url.or(url);
        }
        String::from_utf8(url?).ok()
    }
}

/// The two settings this module needs from one config file.
#[derive(Debug, Default, PartialEq, Eq)]
struct Settings {
    /// The last `remote.origin.url`; a bare `url` (no `=`) counts as empty.
    origin_url: Option<Vec<u8>>,
    worktree_config: bool,
}

fn read_config(path: &Path) -> Option<Settings> {
    settings_of(&read_small_file(path, MAX_CONFIG_BYTES)?)
}

fn settings_of(config: &[u8]) -> Option<Settings> {
    let mut settings = Settings::default();
    parse_git_config(config, |name, value| {
        if name == b"remote.origin.url" {
            // git hands values on as C strings, so a NUL ends the value for it.
            let value = value.unwrap_or_default();
            let value = value.split(|&b| b == 0).next().unwrap_or_default();
            settings.origin_url = Some(value.to_vec());
        } else if name == b"extensions.worktreeconfig" {
            settings.worktree_config = parse_bool(value) == Some(true);
        }
    })
    .ok()?;
    Some(settings)
}

/// git's boolean: a bare key is true; `true`/`yes`/`on`, `false`/`no`/`off`/empty, or an
/// integer (non-zero is true), case-insensitive.
fn parse_bool(value: Option<&[u8]>) -> Option<bool> {
    let Some(value) = value else {
        return Some(true);
    };
    let value = std::str::from_utf8(value).ok()?.to_ascii_lowercase();
    match value.as_str() {
        "true" | "yes" | "on" => Some(true),
        "false" | "no" | "off" | "" => Some(false),
        number => number.parse::<i64>().ok().map(|n| n != 0),
    }
}

/// Reads a regular file of at most `limit` bytes. Anything else is refused: a FIFO or device
/// planted as `.git/config` in an untrusted checkout would block or never end.
fn read_small_file(path: &Path, limit: usize) -> Option<Vec<u8>> {
    let metadata = fs::metadata(path).ok()?;
    if !metadata.is_file() || metadata.len() > limit as u64 {
        return None;
    }
    let mut bytes = Vec::new();
    File::open(path)
        .ok()?
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    (bytes.len() <= limit).then_some(bytes)
}

fn trim_line_end(mut bytes: &[u8]) -> &[u8] {
    while let Some(rest) = bytes.strip_suffix(b"\n").or_else(|| bytes.strip_suffix(b"\r")) {
        bytes = rest;
    }
    bytes
}

/// A config file git would refuse to read.
#[derive(Debug)]
struct Malformed;

/// Parses git's config format as git's own parser does, calling `on_entry` with each
/// setting's full name and its value (`None` for a bare key, which git reads as true).
///
/// The name is what git matches against: the section lower-cased, the subsection as written
/// in `[section "subsection"]` (lower-cased in the old `[section.subsection]` form), the key
/// lower-cased, joined by dots. Values lose unquoted leading and trailing blanks and their
/// comments, keep quoted text as is, and honour `\"`, `\\`, `\t`, `\n`, `\b` and a
/// backslash before the end of a line (a continuation). Includes are not followed.
fn parse_git_config(config: &[u8], mut on_entry: impl FnMut(&[u8], Option<&[u8]>)) -> Result<(), Malformed> {
    let mut reader = ConfigReader {
        bytes: config.strip_prefix(b"\xef\xbb\xbf").unwrap_or(config),
        pos: 0,
        eof: false,
    };
    let mut name = Vec::new();
    let mut section_len = 0;
    let mut in_comment = false;
    loop {
        let c = reader.next_char();
        if c == b'\n' {
            if reader.eof {
                return Ok(());
            }
            in_comment = false;
        } else if in_comment || is_config_space(c) {
            // Comment text and blank lines carry nothing.
        } else if c == b'#' || c == b';' {
            in_comment = true;
        } else if c == b'[' {
            name.clear();
            reader.section_header(&mut name)?;
            if name.is_empty() {
                return Err(Malformed);
            }
            name.push(b'.');
            section_len = name.len();
        } else if c.is_ascii_alphabetic() {
            name.truncate(section_len);
            name.push(c.to_ascii_lowercase());
            let value = reader.key_and_value(&mut name)?;
            on_entry(&name, value.as_deref());
        } else {
            return Err(Malformed);
        }
    }
}

/// git's notion of a blank in config files.
fn is_config_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

struct ConfigReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    eof: bool,
}

impl ConfigReader<'_> {
    /// The next byte, with `\r\n` read as `\n` and the end of the file as a final `\n`
    /// (setting `eof`), so that every construct ends at a newline.
    fn next_char(&mut self) -> u8 {
        let Some(&c) = self.bytes.get(self.pos) else {
            self.eof = true;
            return b'\n';
        };
        self.pos += 1;
        if c == b'\r' && self.bytes.get(self.pos) == Some(&b'\n') {
            self.pos += 1;
            return b'\n';
        }
        c
    }

    /// After `[`: the section name, and a quoted subsection if a blank follows the name.
    fn section_header(&mut self, name: &mut Vec<u8>) -> Result<(), Malformed> {
        loop {
            let c = self.next_char();
            if self.eof {
                return Err(Malformed);
            }
            if c == b']' {
                return Ok(());
            }
            if is_config_space(c) {
                return self.subsection(name, c);
            }
            if !is_key_char(c) && c != b'.' {
                return Err(Malformed);
            }
            name.push(c.to_ascii_lowercase());
        }
    }

    /// ` "subsection"]`, whose text is kept as written: only `\` escapes the next byte.
    fn subsection(&mut self, name: &mut Vec<u8>, mut c: u8) -> Result<(), Malformed> {
        while is_config_space(c) {
            if c == b'\n' {
                return Err(Malformed);
            }
            c = self.next_char();
        }
        if c != b'"' {
            return Err(Malformed);
        }
        name.push(b'.');
        loop {
            let mut c = self.next_char();
            if c == b'\\' {
                c = self.next_char();
            } else if c == b'"' {
                break;
            }
            if c == b'\n' {
                return Err(Malformed);
            }
            name.push(c);
        }
        if self.next_char() != b']' {
            return Err(Malformed);
        }
        Ok(())
    }

    /// The rest of a key (its first letter is already in `name`), then `= value` or nothing.
    fn key_and_value(&mut self, name: &mut Vec<u8>) -> Result<Option<Vec<u8>>, Malformed> {
        let mut c;
        loop {
            c = self.next_char();
            if self.eof || !is_key_char(c) {
                break;
            }
            name.push(c.to_ascii_lowercase());
        }
        while c == b' ' || c == b'\t' {
            c = self.next_char();
        }
        match c {
            b'\n' => Ok(None),
            b'=' => self.value().map(Some),
            _ => Err(Malformed),
        }
    }

    fn value(&mut self) -> Result<Vec<u8>, Malformed> {
        let mut value = Vec::new();
        let mut quoted = false;
        let mut in_comment = false;
        // While `value` ends in unquoted blanks, its length before them (0 if there was
        // nothing before them): trailing blanks are dropped, inner ones kept.
        let mut trimmed_len = 0;
        loop {
            let c = self.next_char();
            if c == b'\n' {
                if quoted {
                    return Err(Malformed);
                }
                if trimmed_len > 0 {
                    value.truncate(trimmed_len);
                }
                return Ok(value);
            }
            if in_comment {
                continue;
            }
            if is_config_space(c) && !quoted {
                if trimmed_len == 0 {
                    trimmed_len = value.len();
                }
                if !value.is_empty() {
                    value.push(c);
                }
                continue;
            }
            if !quoted && (c == b'#' || c == b';') {
                in_comment = true;
                continue;
            }
            trimmed_len = 0;
            match c {
                b'\\' => {
                    let escaped = match self.next_char() {
                        b'\n' => continue,
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'n' => b'\n',
                        same @ (b'\\' | b'"') => same,
                        _ => return Err(Malformed),
                    };
                    value.push(escaped);
                }
                b'"' => quoted = !quoted,
                _ => value.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(config: &str) -> Result<Vec<(String, Option<String>)>, Malformed> {
        let mut found = Vec::new();
        parse_git_config(config.as_bytes(), |name, value| {
            let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
            found.push((text(name), value.map(text)));
        })?;
        Ok(found)
    }

    fn origin(config: &str) -> Option<String> {
        let url = settings_of(config.as_bytes())?.origin_url?;
        Some(String::from_utf8(url).unwrap())
    }

    #[test]
    fn names_are_built_as_git_matches_them() {
        let config =
            "[Core]\n\tBare = false\n[remote \"Up\\\"x\"]\nURL=a\n[branch.Main]\nremote\n[remote \"origin\"] url = b";
        let expected = [
            ("core.bare", Some("false")),
            ("remote.Up\"x.url", Some("a")),
            ("branch.main.remote", None),
            ("remote.origin.url", Some("b")),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.map(String::from)))
            .collect();
        assert_eq!(entries(config).unwrap(), expected);
    }

    #[test]
    fn values_are_read_as_git_reads_them() {
        let cases = [
            ("[remote \"origin\"]\n  url =   a b  \n", "a b"),
            ("[remote \"origin\"]\nurl = \" a \" b ; comment\n", " a  b"),
            ("[remote \"origin\"]\nurl = \"a;b#c\" # comment\n", "a;b#c"),
            ("[remote \"origin\"]\nurl = a\\\\b\\\"c\\td\n", "a\\b\"c\td"),
            (
                "[remote \"origin\"]\nurl = https://host/\\\n  o/r\n",
                "https://host/  o/r",
            ),
            ("[remote \"origin\"]\r\nurl = a\r\n", "a"),
            ("[remote \"origin\"]\nurl = a\nurl = b\n", "b"),
            ("[remote \"origin\"]\nurl\n", ""),
            ("\u{feff}[remote.ORIGIN]\nurl = a", "a"),
        ];
        for (config, expected) in cases {
            assert_eq!(origin(config).as_deref(), Some(expected), "{config:?}");
        }
    }

    #[test]
    fn malformed_files_are_refused() {
        let cases = [
            "[remote \"origin\"]\nurl = \"open\n",
            "[remote \"origin\"\nurl = a\n",
            "[remote origin]\nurl = a\n",
            "[remote \"origin\"]\nurl = a\\q\n",
            "[remote \"origin\"]\nurl # comment\n",
            "[remote \"origin\"]\n1url = a\n",
            "[]\n",
            "[remote",
        ];
        for config in cases {
            assert!(entries(config).is_err(), "{config:?}");
        }
    }

    #[test]
    fn booleans_follow_git() {
        assert_eq!(parse_bool(None), Some(true));
        assert_eq!(parse_bool(Some(b"Yes")), Some(true));
        assert_eq!(parse_bool(Some(b"2")), Some(true));
        assert_eq!(parse_bool(Some(b"off")), Some(false));
        assert_eq!(parse_bool(Some(b"")), Some(false));
        assert_eq!(parse_bool(Some(b"maybe")), None);
    }

    #[test]
    fn names_skip_the_host_and_home_markers() {
        assert_eq!(project_names("gitlab.com/group/sub/repo"), ["group", "sub", "repo"]);
        assert_eq!(project_names("host/~alice/alice"), ["alice"]);
        assert!(project_names("/srv/repos/x").is_empty());
        assert!(project_names("host").is_empty());
    }

    fn init_repository(dir: &Path) {
        fs::create_dir_all(dir.join(".git")).unwrap();
        fs::write(dir.join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
    }

    #[test]
    fn ceilings_stop_the_walk_below_them() {
        let root = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(root.path()).unwrap();
        init_repository(&root.join("repo"));
        let nested = root.join("repo/a/b");
        fs::create_dir_all(&nested).unwrap();
        let discovery = |ceilings: Vec<PathBuf>| Discovery {
            ceilings,
            across_filesystems: false,
        };
        let found = |ceilings| find_repository(&nested, &discovery(ceilings)).map(|r| r.git_dir);
        let git_dir = Some(root.join("repo/.git"));
        assert_eq!(found(vec![]), git_dir);
        assert_eq!(found(vec![root.clone()]), git_dir);
        assert_eq!(found(vec![root.join("repo")]), None);
        assert_eq!(found(vec![root.join("repo/a")]), None);
        // A ceiling equal to the starting directory does not count.
        assert_eq!(found(vec![nested.clone()]), git_dir);
        assert_eq!(found(vec![root.join("elsewhere"), root.join("repo/a")]), None);
    }

    #[test]
    fn ceiling_entries_are_parsed_as_git_parses_them() {
        let root = tempfile::tempdir().unwrap();
        let real = fs::canonicalize(root.path()).unwrap();
        let value = format!("relative:{}:/no/such/dir::/no/such/dir", root.path().display());
        let ceilings = ceiling_dirs(std::ffi::OsStr::new(&value));
        assert_eq!(ceilings, [real, PathBuf::from("/no/such/dir")]);
    }
}
