//! Which rules can match where. All keywords of all rules are found in one pass over an
//! ASCII-lower-cased copy of the text; a rule then runs only on the lines that hold one of
//! its keywords, because no match crosses a line (a rule that can, runs from the first such
//! line to the end of the text).

use std::ops::Range;

use memchr::{memchr, memrchr};
use regex::bytes::{Regex, RegexBuilder};

/// Keywords per searcher. The regex engine runs an alternation of literals as a SIMD
/// (Teddy) search while it is small; past a few dozen it falls back to a general automaton
/// several times slower, so a few small groups are searched quicker than one large one.
const KEYWORDS_PER_SEARCHER: usize = 16;

/// What one rule brings to the index.
pub(super) struct RuleKeywords {
    /// Lower-case ASCII. No keywords means the rule always runs on the whole text.
    pub keywords: &'static [&'static str],
    pub crosses_lines: bool,
}

pub(super) struct KeywordIndex {
    /// Every keyword longer than one byte, in groups, each searched as one alternation of
    /// literals, longest first. Empty if one failed to build; then those rules run on the
    /// whole text.
    searchers: Vec<Regex>,
    /// The searchers' keywords sorted by their bytes, to name a hit.
    keywords: Vec<Keyword>,
    /// One-byte keywords (`@`, `:`) occur on nearly every line of a log; checking that they
    /// occur at all is cheaper than collecting positions, and the rule runs on all text.
    single_bytes: Vec<(u8, Vec<usize>)>,
    /// Rules that run on the whole text: no keywords, or no searcher to find them.
    always: Vec<usize>,
    crosses_lines: Vec<bool>,
}

struct Keyword {
    text: &'static [u8],
    /// The rules to run where it occurs: its own and those of every keyword inside it, since
    /// at one position a searcher reports only its longest keyword.
    rules: Vec<usize>,
    /// Keywords that can start inside this one and end after it, with their offset: a
    /// searcher resumes after each hit and would not see them.
    overhangs: Vec<(usize, usize)>,
}

impl KeywordIndex {
    pub fn new(rules: &[RuleKeywords]) -> KeywordIndex {
        let mut texts: Vec<&'static str> = rules
            .iter()
            .flat_map(|rule| rule.keywords.iter().copied())
            .filter(|k| k.len() > 1)
            .collect();
        texts.sort_unstable();
        texts.dedup();

        let keywords: Vec<Keyword> = texts
            .iter()
            .map(|&text| Keyword {
                text: text.as_bytes(),
                rules: rules
                    .iter()
                    .enumerate()
                    .filter(|(_, rule)| rule.keywords.iter().any(|k| k.len() > 1 && text.contains(k)))
                    .map(|(index, _)| index)
                    .collect(),
                overhangs: (1..text.len())
                    .flat_map(|offset| {
                        let tail = &text[offset..];
                        texts
                            .iter()
                            .enumerate()
                            .filter(move |(_, other)| other.len() > tail.len() && other.starts_with(tail))
                            .map(move |(index, _)| (offset, index))
                    })
                    .collect(),
            })
            .collect();

        let mut longest_first = texts.clone();
        longest_first.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        let searchers: Option<Vec<Regex>> = longest_first
            .chunks(KEYWORDS_PER_SEARCHER)
            .map(|group| {
                let alternation: Vec<String> = group.iter().map(|k| regex::escape(k)).collect();
                RegexBuilder::new(&alternation.join("|")).unicode(false).build().ok()
            })
            .collect();
        let searchers = searchers.unwrap_or_default();

        let mut single_bytes: Vec<(u8, Vec<usize>)> = Vec::new();
        let mut always = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            let needs_searcher = rule.keywords.iter().any(|k| k.len() > 1);
            if rule.keywords.is_empty() || (needs_searcher && searchers.is_empty()) {
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
            searchers,
            keywords,
            single_bytes,
            always,
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

        // Each searcher reports the longest of its keywords at a position and resumes after
        // it; keywords inside a hit share its rules, and those overhanging it are checked.
        let mut hits: Vec<(usize, usize)> = Vec::new();
        for searcher in &self.searchers {
            for hit in searcher.find_iter(lower) {
                if let Ok(found) = self.keywords.binary_search_by(|k| k.text.cmp(hit.as_bytes())) {
                    hits.push((hit.start(), found));
                }
            }
        }
        hits.sort_unstable();
        for (at, found) in hits {
            let keyword = &self.keywords[found];
            self.select(&mut scopes, &keyword.rules, text, at);
            for &(offset, other) in &keyword.overhangs {
                let other = &self.keywords[other];
                if lower[at + offset..].starts_with(other.text) {
                    self.select(&mut scopes, &other.rules, text, at + offset);
                }
            }
        }
        scopes
    }

    /// Adds the line holding byte `at` to each rule's scope, unless already there. Hits
    /// arrive in order, so only the last range can cover `at`.
    fn select(&self, scopes: &mut [Vec<Range<usize>>], rules: &[usize], text: &[u8], at: usize) {
        for &index in rules {
            let scope = &mut scopes[index];
            if scope.last().is_some_and(|covered| at < covered.end) {
                continue;
            }
            let line = line_around(text, at);
            let end = if self.crosses_lines[index] {
                text.len()
            } else {
                line.end
            };
            scope.push(line.start..end);
        }
    }
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
                crosses_lines: false,
            },
            RuleKeywords {
                keywords: &["sk-"],
                crosses_lines: false,
            },
            RuleKeywords {
                keywords: &["-u", "--user"],
                crosses_lines: false,
            },
            RuleKeywords {
                keywords: &["@"],
                crosses_lines: false,
            },
            RuleKeywords {
                keywords: &["private key"],
                crosses_lines: true,
            },
            RuleKeywords {
                keywords: &[],
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

    #[test]
    fn keywords_in_different_searchers_are_all_found() {
        let names: Vec<String> = (0..40).map(|i| format!("kw{i:02}x")).collect();
        let names: &'static [String] = names.leak();
        let keywords: Vec<[&'static str; 1]> = names.iter().map(|name| [name.as_str()]).collect();
        let keywords: &'static [[&'static str; 1]] = keywords.leak();
        let rules: Vec<RuleKeywords> = keywords
            .iter()
            .map(|k| RuleKeywords {
                keywords: k,
                crosses_lines: false,
            })
            .collect();
        let index = KeywordIndex::new(&rules);
        assert!(index.searchers.len() > 1);
        let text = "kw00x kw17x\nkw39x";
        let s = index.scopes(text.as_bytes(), text.as_bytes());
        let selected: Vec<usize> = (0..40).filter(|&i| !s[i].is_empty()).collect();
        assert_eq!(selected, [0, 17, 39]);
    }
}
