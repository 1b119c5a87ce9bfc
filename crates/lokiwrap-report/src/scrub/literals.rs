//! Caller-supplied words to redact, such as the owner and repository names of the local git
//! remote. They are found with a plain substring search over an ASCII-lower-cased copy of
//! the text, which cannot fail to build and costs one fast pass per word.

use memchr::memmem;

use super::Claim;
use super::rules::LITERAL_REPLACEMENT;

/// Shorter words would hit inside ordinary text everywhere.
const MIN_LITERAL_CHARS: usize = 3;

/// Words that are everyday vocabulary of stack traces, paths and logs. A repository with
/// one of these names is not identified by it, and redacting them would damage ordinary
/// text (`core::slice`, `src/main.rs`, `std::rt`), so they are never literals. The marker
/// words are here too so that a literal can never eat into a marker.
const COMMON_WORDS: &[&str] = &[
    "alloc", "and", "api", "app", "apps", "bin", "build", "cargo", "cli", "client", "cmd", "code", "com", "config",
    "core", "crate", "data", "debug", "dev", "docs", "email", "error", "examples", "for", "git", "github", "gitlab",
    "go", "home", "http", "https", "info", "java", "lib", "main", "name", "net", "node", "not", "org", "panic", "pkg",
    "python", "redacted", "release", "repo", "root", "rust", "server", "src", "std", "target", "test", "tests", "the",
    "thread", "tmp", "tools", "user", "users", "utils", "var", "web", "www",
];

pub(super) struct Literals {
    /// ASCII-lower-cased, longest first, without duplicates.
    words: Vec<Vec<u8>>,
}

impl Literals {
    pub fn new(literals: &[String]) -> Literals {
        let mut words: Vec<Vec<u8>> = literals
            .iter()
            .flat_map(|literal| literal.split('/'))
            .map(|part| {
                let part = part.trim();
                let part = strip_suffix_ignore_ascii_case(part, ".git").unwrap_or(part);
                part.trim().to_ascii_lowercase()
            })
            .filter(|word| word.chars().count() >= MIN_LITERAL_CHARS)
            .filter(|word| !COMMON_WORDS.contains(&word.as_str()))
            .map(String::into_bytes)
            .collect();
        words.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        words.dedup();
        Literals { words }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// `haystack` is the text with ASCII letters lower-cased.
    pub fn claims(&self, haystack: &[u8], priority: usize, out: &mut Vec<Claim>) {
        for word in &self.words {
            for start in memmem::find_iter(haystack, word) {
                let end = start + word.len();
                if stands_alone(haystack, start, end) {
                    out.push(Claim {
                        start,
                        end,
                        priority,
                        replacement: LITERAL_REPLACEMENT,
                    });
                }
            }
        }
    }
}

fn strip_suffix_ignore_ascii_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let tail = s.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &s[..cut])
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whole token: the word is not glued to letters, digits or `_` on a side where it itself
/// ends in one. Non-ASCII neighbours count as separators, erring towards redaction.
fn stands_alone(haystack: &[u8], start: usize, end: usize) -> bool {
    let glued_before = is_token_byte(haystack[start]) && start > 0 && is_token_byte(haystack[start - 1]);
    let glued_after = is_token_byte(haystack[end - 1]) && haystack.get(end).copied().is_some_and(is_token_byte);
    !glued_before && !glued_after
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(literals: &[&str]) -> Vec<String> {
        let owned: Vec<String> = literals.iter().map(|s| s.to_string()).collect();
        Literals::new(&owned)
            .words
            .into_iter()
            .map(|w| String::from_utf8(w).unwrap())
            .collect()
    }

    #[test]
    fn owner_and_repo_may_come_as_one_path() {
        assert_eq!(words(&["Acme/Secret-Project.git"]), ["secret-project", "acme"]);
    }

    #[test]
    fn short_and_common_words_are_ignored() {
        assert!(words(&["ab", " x ", "", "core", "std", "Test"]).is_empty());
    }

    #[test]
    fn duplicates_collapse() {
        assert_eq!(words(&["acme", "ACME", "acme/acme"]), ["acme"]);
    }
}
