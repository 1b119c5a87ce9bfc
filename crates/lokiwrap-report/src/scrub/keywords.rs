//! Which rules can match where. All keywords of all rules are found in one pass over an
//! ASCII-lower-cased copy of the text; a rule then runs only on the lines that hold one of
//! its keywords, because no match crosses a line (a rule that can, runs from the first such
//! line to the end of the text).

use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use memchr::{memchr, memrchr};

/// Not a literal: a rule with this keyword runs on the lines that hold a run of at least
/// `LONG_RUN_CHARS` token characters (letters, digits, `_.~+/=-`), the cheap gate for token
/// shapes without a literal prefix.
pub(super) const LONG_RUN_KEYWORD: &str = "\0long run";
pub(super) const LONG_RUN_CHARS: usize = 32;

/// Texts at least this long are searched with a DFA, built the first time one comes: it
/// searches about twice as fast as the NFA but takes longer to build than a report takes to
/// scrub.
const DFA_TEXT_BYTES: usize = 256 << 10;

/// What one rule brings to the index.
pub(super) struct RuleKeywords {
    /// Lower-case ASCII. No keywords means the rule always runs on the whole text.
    pub keywords: &'static [&'static str],
    /// For a rule with `LONG_RUN_KEYWORD`: lower-case literals one of which every match holds.
    /// Of the lines with a long run it gets only those holding one. Empty: all of them.
    pub long_run_hints: &'static [&'static str],
    pub crosses_lines: bool,
}

pub(super) struct KeywordIndex {
    /// Every keyword longer than one byte, searched in one pass of one automaton that
    /// reports overlapping hits (a keyword inside or overhanging another is found too).
    /// `None` if it failed to build; then those rules run on the whole text.
    searcher: Option<AhoCorasick>,
    /// The keywords of `searcher` again, for `dfa`.
    texts: Vec<&'static str>,
    /// The same search as a DFA, for long texts; `None` inside if it failed to build.
    dfa: OnceLock<Option<AhoCorasick>>,
    /// The rules to run where keyword `i` of the searcher occurs.
    keyword_rules: Vec<Vec<usize>>,
    /// One-byte keywords (`@`, `:`) occur on nearly every line of a log; checking that they
    /// occur at all is cheaper than collecting positions, and the rule runs on all text.
    single_bytes: Vec<(u8, Vec<usize>)>,
    /// Rules that run on the whole text: no keywords, or no searcher to find them.
    always: Vec<usize>,
    /// Rules gated by a long run of token characters.
    long_run: Vec<usize>,
    /// The long-run hints of all rules, found in one pass over each line with a long run;
    /// built the first time there is one. `None` inside if it failed to build (then every
    /// such rule gets every such line).
    hints: OnceLock<Option<AhoCorasick>>,
    hint_texts: Vec<&'static str>,
    /// Entry `i` has bit `j` set if hint `j` is one of rule `i`'s; 0 for a rule without.
    hint_masks: Vec<u64>,
    crosses_lines: Vec<bool>,
}

impl KeywordIndex {
    pub fn new(rules: &[RuleKeywords]) -> KeywordIndex {
        let is_literal = |k: &&str| k.len() > 1 && *k != LONG_RUN_KEYWORD;
        let mut texts: Vec<&'static str> = rules
            .iter()
            .flat_map(|rule| rule.keywords.iter().copied())
            .filter(is_literal)
            .collect();
        texts.sort_unstable();
        texts.dedup();
        let keyword_rules: Vec<Vec<usize>> = texts
            .iter()
            .map(|text| {
                rules
                    .iter()
                    .enumerate()
                    .filter(|(_, rule)| rule.keywords.contains(text))
                    .map(|(index, _)| index)
                    .collect()
            })
            .collect();
        // An NFA builds in a third of the time of a DFA, which matters for a report of a few
        // KiB; long texts get the DFA (`DFA_TEXT_BYTES`).
        let searcher = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&texts)
            .or_else(|_| AhoCorasick::builder().match_kind(MatchKind::Standard).build(&texts))
            .ok();

        let mut hint_texts: Vec<&'static str> = rules
            .iter()
            .flat_map(|rule| rule.long_run_hints.iter().copied())
            .collect();
        hint_texts.sort_unstable();
        hint_texts.dedup();
        // A mask has 64 bits; more hints than that and every rule gets every line.
        if hint_texts.len() > 64 {
            hint_texts.clear();
        }
        let hint_masks = rules
            .iter()
            .map(|rule| {
                rule.long_run_hints
                    .iter()
                    .filter_map(|hint| hint_texts.iter().position(|h| h == hint))
                    .fold(0u64, |mask, bit| mask | 1 << bit)
            })
            .collect();

        let mut single_bytes: Vec<(u8, Vec<usize>)> = Vec::new();
        let mut always = Vec::new();
        let mut long_run = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            if rule.keywords.contains(&LONG_RUN_KEYWORD) {
                long_run.push(index);
            }
            let needs_searcher = rule.keywords.iter().any(is_literal);
            if rule.keywords.is_empty() || (needs_searcher && searcher.is_none()) {
                always.push(index);
                continue;
            }
            for byte in rule.keywords.iter().filter(|k| k.len() == 1).map(|k| k.as_bytes()[0]) {
                match single_bytes.iter_mut().find(|(b, _)| *b == byte) {
                    Some((_, selected)) => selected.push(index),
                    None => single_bytes.push((byte, vec![index])),
                }
            }
        }

        KeywordIndex {
            searcher,
            texts,
            dfa: OnceLock::new(),
            keyword_rules,
            single_bytes,
            always,
            long_run,
            hints: OnceLock::new(),
            hint_texts,
            hint_masks,
            crosses_lines: rules.iter().map(|rule| rule.crosses_lines).collect(),
        }
    }

    /// For every rule, the ranges of `text` it must search, sorted; empty if it cannot
    /// match. `lower` is `text` with ASCII letters lower-cased.
    pub fn scopes(&self, text: &[u8], lower: &[u8]) -> Vec<Vec<Range<usize>>> {
        let everything = 0..text.len();
        let mut scopes: Vec<Vec<Range<usize>>> = vec![Vec::new(); self.crosses_lines.len()];
        for &index in &self.always {
            scopes[index].push(everything.clone());
        }
        for (byte, selected) in &self.single_bytes {
            if memchr(*byte, lower).is_some() {
                for &index in selected {
                    if scopes[index].is_empty() {
                        scopes[index].push(everything.clone());
                    }
                }
            }
        }
        let dfa = || {
            self.dfa
                .get_or_init(|| {
                    AhoCorasick::builder()
                        .match_kind(MatchKind::Standard)
                        .kind(Some(AhoCorasickKind::DFA))
                        .build(&self.texts)
                        .ok()
                })
                .as_ref()
        };
        let searcher = match &self.searcher {
            Some(_) if text.len() >= DFA_TEXT_BYTES => dfa().or(self.searcher.as_ref()),
            Some(nfa) => self.dfa.get().and_then(Option::as_ref).or(Some(nfa)),
            None => None,
        };
        if let Some(searcher) = searcher {
            // Overlapping hits arrive ordered by where they end; starts within one keyword's
            // length of each other may come out of order, which `select` tolerates.
            for hit in searcher.find_overlapping_iter(lower) {
                self.select(
                    &mut scopes,
                    &self.keyword_rules[hit.pattern().as_usize()],
                    text,
                    hit.start(),
                );
            }
        }
        if !self.long_run.is_empty() {
            let lines: Vec<Range<usize>> = long_run_lines(text).collect();
            if !lines.is_empty() {
                let found = self.hints_on(lower, &lines);
                for &index in &self.long_run {
                    let scope = &mut scopes[index];
                    if scope.first() == Some(&everything) {
                        continue;
                    }
                    let mask = self.hint_masks[index];
                    let wanted = lines
                        .iter()
                        .zip(&found)
                        .filter(|(_, found)| mask == 0 || **found & mask != 0)
                        .map(|(line, _)| line.clone());
                    if scope.is_empty() {
                        scope.extend(wanted);
                        continue;
                    }
                    scope.extend(wanted);
                    scope.sort_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
                    scope.dedup_by(|later, earlier| later.start < earlier.end);
                }
            }
        }
        scopes
    }

    /// For each of `lines`, the mask of the long-run hints in it; all bits set if the
    /// hints' search failed to build.
    fn hints_on(&self, lower: &[u8], lines: &[Range<usize>]) -> Vec<u64> {
        let hints = self
            .hints
            .get_or_init(|| {
                AhoCorasick::builder()
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(&self.hint_texts)
                    .ok()
            })
            .as_ref();
        lines
            .iter()
            .map(|line| match hints {
                Some(hints) => hints
                    .find_overlapping_iter(&lower[line.clone()])
                    .fold(0, |mask, hit| mask | 1 << hit.pattern().as_usize()),
                None => u64::MAX,
            })
            .collect()
    }

    /// Adds the line holding byte `at` to each rule's scope, unless already there. Hits
    /// arrive nearly in order: a line already selected is one of the last two ranges.
    fn select(&self, scopes: &mut [Vec<Range<usize>>], rules: &[usize], text: &[u8], at: usize) {
        for &index in rules {
            let scope = &mut scopes[index];
            if scope.iter().rev().take(2).any(|covered| covered.contains(&at)) {
                continue;
            }
            let line = line_around(text, at);
            let end = if self.crosses_lines[index] {
                text.len()
            } else {
                line.end
            };
            let range = line.start..end;
            // A hit that ends later but starts on an earlier line than the last one selected.
            match scope.last() {
                Some(last) if range.start < last.start => {
                    let at = scope.partition_point(|r| r.start < range.start);
                    if scope.get(at).is_none_or(|r| r.start != range.start) {
                        scope.insert(at, range);
                    }
                }
                _ => scope.push(range),
            }
        }
    }
}

/// Whether `b` can be part of a token (the run the long-run gate looks for).
const fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'~' | b'+' | b'/' | b'=' | b'-')
}

static TOKEN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = is_token_byte(i as u8);
        i += 1;
    }
    table
};

/// The lines (without line breaks) holding a run of at least `LONG_RUN_CHARS` token bytes, in
/// order, each once. Runs of hex digits and dashes alone are commit and content hashes and
/// UUIDs, which fill logs and are no provider's token, except Twilio's account ids (`AC` and
/// 32 hex digits) and the shape of 32, 8 and 8 hex digits (Mailgun's signing keys).
///
/// Most runs in a log are short words, so the search looks ahead: a run of `LONG_RUN_CHARS`
/// starting at `at` needs a token byte `LONG_RUN_CHARS - 1` further on, and where there is
/// none, nothing before it can start one.
fn long_run_lines(text: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let token = |i: usize| TOKEN_BYTES[usize::from(text[i])];
    // Always at the start of the text or just after a byte that is not a token byte.
    let mut at = 0;
    std::iter::from_fn(move || {
        while at + LONG_RUN_CHARS <= text.len() {
            let last = at + LONG_RUN_CHARS - 1;
            if !token(last) {
                at = last + 1;
                continue;
            }
            let mut start = last;
            while start > at && token(start - 1) {
                start -= 1;
            }
            if start > at {
                // A run starts at `start`; look ahead from there.
                at = start;
                continue;
            }
            let mut end = last + 1;
            while end < text.len() && token(end) {
                end += 1;
            }
            let run = &text[start..end];
            let dashes = run.iter().filter(|&&b| b == b'-').count();
            let other = run.iter().any(|&b| !(b.is_ascii_hexdigit() || b == b'-'));
            let twilio_account = run.len() == 34 && run.starts_with(b"AC");
            if other || twilio_account || (run.len() == 50 && dashes == 2) {
                let line = line_around(text, start);
                at = line.end + 1;
                return Some(line);
            }
            at = end + 1;
        }
        None
    })
}

/// The line holding byte `at`, without its line break.
fn line_around(text: &[u8], at: usize) -> Range<usize> {
    let start = memrchr(b'\n', &text[..at]).map_or(0, |i| i + 1);
    let end = memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i);
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> KeywordIndex {
        KeywordIndex::new(&[
            RuleKeywords {
                keywords: &["sk-ant-"],
                long_run_hints: &[],
                crosses_lines: false,
            },
            RuleKeywords {
                keywords: &["sk-"],
                long_run_hints: &[],
                crosses_lines: false,
            },
            RuleKeywords {
                keywords: &["-u", "--user"],
                long_run_hints: &[],
                crosses_lines: false,
            },
            RuleKeywords {
                keywords: &["@"],
                long_run_hints: &[],
                crosses_lines: false,
            },
            RuleKeywords {
                keywords: &["private key"],
                long_run_hints: &[],
                crosses_lines: true,
            },
            RuleKeywords {
                keywords: &[],
                long_run_hints: &[],
                crosses_lines: false,
            },
        ])
    }

    /// Each rule's scope as (start, end) pairs.
    fn scopes(text: &str) -> Vec<Vec<(usize, usize)>> {
        let scopes = index().scopes(text.as_bytes(), text.to_ascii_lowercase().as_bytes());
        scopes
            .into_iter()
            .map(|scope| scope.into_iter().map(|r| (r.start, r.end)).collect())
            .collect()
    }

    #[test]
    fn a_rule_runs_on_the_lines_holding_its_keywords() {
        let s = scopes("a\nkey SK-ANT-x\nb\nsk-y sk-z\n");
        assert_eq!(s[0], [(2, 14)]);
        assert_eq!(s[1], [(2, 14), (17, 26)]);
        assert!(s[2].is_empty());
    }

    #[test]
    fn keywords_starting_inside_another_are_found() {
        // The hit `sk-` hides `-u`, which starts inside it.
        assert_eq!(scopes("desk-user")[2], [(0, 9)]);
    }

    #[test]
    fn one_byte_keywords_and_keywordless_rules_run_on_all_text() {
        let s = scopes("x\ny@z\n");
        assert_eq!(s[3], [(0, 6)]);
        assert_eq!(s[5], [(0, 6)]);
        assert!(scopes("x")[3].is_empty());
    }

    #[test]
    fn a_rule_crossing_lines_runs_to_the_end() {
        assert_eq!(scopes("a\nBEGIN PRIVATE KEY\nbody\nend")[4], [(2, 28)]);
    }

    /// Long texts are searched by the DFA, short ones by the NFA: both select the same lines.
    #[test]
    fn long_texts_select_the_lines_short_ones_do() {
        let index = index();
        let piece = "a\nkey SK-ANT-x\nb\nsk-y sk-z desk-user\n--user\n";
        let short = piece.repeat(3);
        let long = piece.repeat(DFA_TEXT_BYTES / piece.len() + 1);
        let select = |text: &str| {
            let scopes = index.scopes(text.as_bytes(), text.to_ascii_lowercase().as_bytes());
            scopes
                .into_iter()
                .take(3)
                .map(|scope| scope.into_iter().filter(|r| r.end <= short.len()).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        };
        let before = select(&short);
        assert!(index.dfa.get().is_none());
        assert_eq!(select(&long), before);
        assert!(index.dfa.get().is_some_and(Option::is_some));
        assert_eq!(select(&short), before);
    }

    /// The look-ahead search finds the lines a byte-by-byte search finds.
    #[test]
    fn long_run_lines_match_a_scan_of_every_byte() {
        fn slow(text: &[u8]) -> Vec<Range<usize>> {
            let mut out: Vec<Range<usize>> = Vec::new();
            let mut at = 0;
            while at < text.len() {
                if !TOKEN_BYTES[usize::from(text[at])] {
                    at += 1;
                    continue;
                }
                let start = at;
                while at < text.len() && TOKEN_BYTES[usize::from(text[at])] {
                    at += 1;
                }
                let run = &text[start..at];
                let dashes = run.iter().filter(|&&b| b == b'-').count();
                let other = run.iter().any(|&b| !(b.is_ascii_hexdigit() || b == b'-'));
                let twilio = run.len() == 34 && run.starts_with(b"AC");
                if run.len() >= LONG_RUN_CHARS && (other || twilio || (run.len() == 50 && dashes == 2)) {
                    let line = line_around(text, start);
                    if out.last() != Some(&line) {
                        out.push(line);
                    }
                }
            }
            out
        }
        let pieces: [&[u8]; 12] = [
            b"a",
            b"Zz9",
            b"0123456789abcdef",
            b"-",
            b"AC",
            b" ",
            b"\n",
            b":",
            b"/x.y=",
            b"ffffffff",
            b"\xc3\xa9",
            b"q",
        ];
        let mut seed = 11u64;
        for _ in 0..5000 {
            let mut text = Vec::new();
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            for _ in 0..(seed >> 33) % 60 {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                text.extend_from_slice(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            let fast: Vec<Range<usize>> = long_run_lines(&text).collect();
            assert_eq!(fast, slow(&text), "{:?}", String::from_utf8_lossy(&text));
        }
    }

    #[test]
    fn many_keywords_are_all_found() {
        let names: Vec<String> = (0..40).map(|i| format!("kw{i:02}x")).collect();
        let names: &'static [String] = names.leak();
        let keywords: Vec<[&'static str; 1]> = names.iter().map(|name| [name.as_str()]).collect();
        let keywords: &'static [[&'static str; 1]] = keywords.leak();
        let rules: Vec<RuleKeywords> = keywords
            .iter()
            .map(|k| RuleKeywords {
                keywords: k,
                long_run_hints: &[],
                crosses_lines: false,
            })
            .collect();
        let index = KeywordIndex::new(&rules);
        let text = "kw00x kw17x\nkw39x";
        let s = index.scopes(text.as_bytes(), text.as_bytes());
        let selected: Vec<usize> = (0..40).filter(|&i| !s[i].is_empty()).collect();
        assert_eq!(selected, [0, 17, 39]);
    }
}
