//! The one scrubber every string passes through before it enters a report; the collector
//! runs the same code on ingest. It removes secrets and personal data (tokens, keys,
//! credentials, home paths, e-mail and IP addresses, the local repository's names) and
//! replaces each with a fixed marker, so its output is deterministic and scrubbing twice
//! changes nothing.
//!
//! How a string is scrubbed:
//! 1. ANSI escape sequences are removed: they are not content, and a colour code glued to a
//!    token (`\x1b[31mghp_…`) would hide it from the word-boundary checks.
//! 2. Invisible characters are removed (`invisible.rs`: control characters but line breaks and
//!    tabs, a `\r` kept only in `\r\n`; zero-width and bidi controls, the soft hyphen and the
//!    other format characters), not replaced: a token split by one (`ghp_…\x07…`,
//!    `AKIA…\u{200b}…`) is whole again for the rules below. Removal also glues a token to a
//!    word the character stood between (`node\u{200b}ghp_…` no longer starts at a word
//!    boundary), so in text that holds any, the first round's rules also run on the text as it
//!    was, and what they claim there is claimed at the same place in the text without them.
//! 3. One pass over the text finds every rule's keywords; a rule runs only on the lines
//!    holding one, and its regex is compiled the first time it is needed. Text without
//!    keywords costs that one pass.
//! 4. Every selected rule claims the spans it would replace. Overlapping claims merge into
//!    one span (nothing any rule wanted gone survives), named by the claim that starts
//!    first, then the longer, then the rule listed first in `rules.rs`. Text that already
//!    looks like a marker is never claimed again. Each replaced span counts as one
//!    redaction.
//! 5. A replacement can expose a neighbour that was glued to it (`sk_live_…/home/u` only
//!    shows `/home/u` once the key is a marker), so the lines touched are scanned again
//!    until nothing changes: the output is a fixed point, and scrubbing it again is a no-op.
//!
//! 6. Only for free text that leaves the machine and is asked for (`scrub_free_text`): a
//!    catch-all then replaces any long token that looks random although no rule knows its
//!    shape (`entropy.rs`), and the rules run again on the result.
//!
//! All regexes come from the `regex` crate, whose searches are linear in the input. Rules
//! run in byte mode with ASCII classes, which keeps them small and quick to compile; every
//! class either takes all non-ASCII bytes or none, so matches start and end on character
//! boundaries (checked all the same).

mod entropy;
mod invisible;
mod keywords;
mod literals;
mod rules;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use regex::bytes::{CaptureLocations, Regex, RegexBuilder};

use keywords::{KeywordIndex, RuleKeywords};
use literals::Literals;
use rules::{Hit, RULES};

pub use invisible::{is_invisible, remove_invisible};

/// Version of the rule set. Bump it whenever what gets redacted, or how, changes: it goes
/// into every report so that the collector can tell which rules a client ran.
pub const RULES_VERSION: u32 = 4;

/// A string after scrubbing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrubbed<'a> {
    /// The scrubbed text; borrowed when nothing had to change.
    pub text: Cow<'a, str>,
    /// How many spans were replaced by a marker.
    pub redactions: usize,
}

/// Names of all rules, for documentation and tests.
pub fn rule_names() -> Vec<&'static str> {
    RULES
        .iter()
        .map(|rule| rule.name)
        .chain([rules::LITERAL_RULE])
        .collect()
}

/// Redacts secrets and personal data from strings. Build one per report (construction
/// compiles the keyword search; rule regexes compile on first use) and share it: it is
/// `Send + Sync`.
pub struct Scrubber {
    /// Entry `i` is rule `i`; the entry after the last rule finds existing markers.
    keywords: KeywordIndex,
    compiled: Vec<OnceLock<Option<CompiledRule>>>,
    /// Entry `i` is `rules::window_bytes` of rule `i`.
    window_bytes: Vec<&'static [u8]>,
    markers: OnceLock<Option<Regex>>,
    literals: Literals,
}

struct CompiledRule {
    regex: Regex,
    /// Indices of the capture groups named `redact*`.
    redact_groups: Vec<usize>,
}

/// A span some rule wants replaced.
#[derive(Debug, Clone, Copy)]
struct Claim {
    start: usize,
    end: usize,
    /// Position in the rule table; the literal rule comes after all table rows.
    priority: usize,
    replacement: &'static str,
}

impl Default for Scrubber {
    fn default() -> Self {
        Scrubber::new()
    }
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber")
            .field("rules", &RULES.len())
            .field("literals", &self.literals.len())
            .finish()
    }
}

impl Scrubber {
    /// The built-in rules. Compiles regexes: callers build it only when a report is
    /// actually made.
    pub fn new() -> Scrubber {
        Scrubber::with_literals(&[])
    }

    /// Built-in rules plus literal words to redact wherever they appear as whole tokens,
    /// ASCII case-insensitively, e.g. the owner and repository names of the local git
    /// remote (`acme`, `secret-project`), which become `[name]`.
    ///
    /// Each entry is trimmed, split at `/` (so `acme/secret-project` may be passed whole) and
    /// loses a trailing `.git`. To avoid damaging ordinary text, words shorter than 3
    /// characters are ignored, and so are common words of stack traces and logs (`core`,
    /// `std`, `test`, `app`, `server`, ...): a repository called `core` gives nobody away,
    /// while redacting `core` would wreck every Rust backtrace. A token is a run of ASCII
    /// letters, digits and `_`: `acme` is redacted in `acme-tools` and `acme/x`, not in
    /// `acme_corp` or `acmeish`.
    pub fn with_literals(literals: &[String]) -> Scrubber {
        let keywords: Vec<RuleKeywords> = RULES
            .iter()
            .map(|rule| RuleKeywords {
                keywords: rule.keywords,
                long_run_hints: rules::long_run_hints(rule.name),
                crosses_lines: rule.crosses_lines,
            })
            .chain([RuleKeywords {
                keywords: rules::MARKER_KEYWORDS,
                long_run_hints: &[],
                crosses_lines: false,
            }])
            .collect();
        Scrubber {
            keywords: KeywordIndex::new(&keywords),
            compiled: RULES.iter().map(|_| OnceLock::new()).collect(),
            window_bytes: RULES.iter().map(|rule| rules::window_bytes(rule.name)).collect(),
            markers: OnceLock::new(),
            literals: Literals::new(literals),
        }
    }

    /// Scrub one string. Returns the scrubbed text and how many redactions were made.
    pub fn scrub<'a>(&self, text: &'a str) -> Scrubbed<'a> {
        let plain = strip_ansi(text);
        let hidden = invisible::spans(&plain);
        let (visible, carried) = if hidden.is_empty() {
            (plain, Ok(Vec::new()))
        } else {
            // What the rules find while the invisible characters still stand between a token
            // and its neighbours is kept, and joins what they find once they are gone.
            let carried = self
                .claims(&plain, Vec::new())
                .map(|claims| carry_over(claims, &hidden));
            (Cow::Owned(invisible::without(&plain, &hidden)), carried)
        };
        match carried.and_then(|carried| self.scrub_to_fixed_point(&visible, carried)) {
            Ok(None) => Scrubbed {
                text: visible,
                redactions: 0,
            },
            Ok(Some((text, redactions))) => Scrubbed {
                text: Cow::Owned(text),
                redactions,
            },
            Err(ScrubFailed) => Scrubbed {
                text: Cow::Borrowed(rules::FAILED_SCRUB_REPLACEMENT),
                redactions: 1,
            },
        }
    }

    /// [`Scrubber::scrub`], then the catch-all for free text: any token of 20 or more
    /// characters that mixes letters and digits with high entropy becomes
    /// `[REDACTED:high_entropy]`, unless it has the shape of something ordinary output is full
    /// of (hashes, UUIDs, identifiers, paths, base64 blocks and data URIs; see `entropy.rs`).
    /// For text that leaves the machine in full (an error message, a log line) where a secret
    /// with no known shape must not get through. It costs some damage to ordinary text (a
    /// random-looking id is redacted too), so it is chosen per field, never the default.
    pub fn scrub_free_text<'a>(&self, text: &'a str) -> Scrubbed<'a> {
        let first = self.scrub(text);
        let mut redactions = first.redactions;
        let mut current = first.text;
        for _ in 0..MAX_ROUNDS {
            let spans = entropy::claims(&current);
            if spans.is_empty() {
                return Scrubbed {
                    text: current,
                    redactions,
                };
            }
            redactions += spans.len();
            let mut replaced = String::with_capacity(current.len());
            let mut copied = 0;
            for span in spans {
                replaced.push_str(&current[copied..span.start]);
                replaced.push_str(entropy::REPLACEMENT);
                copied = span.end;
            }
            replaced.push_str(&current[copied..]);
            // A replacement can bring a key next to what follows it: the rules look again.
            let again = self.scrub(&replaced);
            redactions += again.redactions;
            current = Cow::Owned(again.text.into_owned());
        }
        Scrubbed {
            text: Cow::Borrowed(rules::FAILED_SCRUB_REPLACEMENT),
            redactions: redactions + 1,
        }
    }

    /// `None` when nothing needs replacing. `carried` are claims on `text` found elsewhere,
    /// sorted and disjoint.
    fn scrub_to_fixed_point(&self, text: &str, carried: Vec<Claim>) -> Result<Option<(String, usize)>, ScrubFailed> {
        let claims = self.claims(text, carried)?;
        if claims.is_empty() {
            return Ok(None);
        }
        let mut redactions = claims.len();
        let (mut current, mut replaced) = apply(text, &claims);
        for _ in 1..MAX_ROUNDS {
            let claims = self.claims_on_lines(&current, &touched_lines(&current, &replaced))?;
            if claims.is_empty() {
                return Ok(Some((current, redactions)));
            }
            redactions += claims.len();
            (current, replaced) = apply(&current, &claims);
        }
        Err(ScrubFailed)
    }

    /// The claims on the given lines of `text`. Only text around a replacement can have
    /// changed meaning, and no rule but `private_key` matches across lines, so a later round
    /// looks at the lines holding replacements only. They are gathered into one text (one
    /// search per rule however many lines), each still between line breaks as in `text`, and
    /// the claims are mapped back. A claim crossing a line in the gathered text would join
    /// lines that are not neighbours; then the whole text is searched instead.
    fn claims_on_lines(&self, text: &str, lines: &[Range<usize>]) -> Result<Vec<Claim>, ScrubFailed> {
        let mut gathered = String::with_capacity(lines.iter().map(|line| line.len() + 1).sum());
        let mut starts = Vec::with_capacity(lines.len());
        for line in lines {
            starts.push(gathered.len());
            gathered.push_str(&text[line.clone()]);
            gathered.push('\n');
        }
        let mut claims = self.claims(&gathered, Vec::new())?;
        for claim in &mut claims {
            let index = starts.partition_point(|&start| start <= claim.start) - 1;
            let (start, line) = (starts[index], &lines[index]);
            if claim.end > start + line.len() {
                return self.claims(text, Vec::new());
            }
            claim.start = claim.start - start + line.start;
            claim.end = claim.end - start + line.start;
        }
        Ok(claims)
    }

    /// The spans of `text` to replace, `carried` among them, sorted and disjoint.
    fn claims(&self, text: &str, carried: Vec<Claim>) -> Result<Vec<Claim>, ScrubFailed> {
        let mut claims = carried;
        if text.is_empty() {
            return Ok(claims);
        }
        // Lower-casing ASCII only keeps byte offsets equal to those in `text`.
        let lower = text.to_ascii_lowercase();
        let mut scopes = self.keywords.scopes(text.as_bytes(), lower.as_bytes());
        let marker_scope = scopes.pop().unwrap_or_default();

        for (index, (rule, mut windows)) in RULES.iter().zip(scopes).enumerate() {
            if windows.is_empty() {
                continue;
            }
            let needs = self.window_bytes[index];
            if !needs.is_empty() {
                windows.retain(|window| holds_any(&text.as_bytes()[window.clone()], needs));
                if windows.is_empty() {
                    continue;
                }
            }
            let compiled = self.compiled[index]
                .get_or_init(|| CompiledRule::new(rule.pattern))
                .as_ref()
                .ok_or(ScrubFailed)?;
            for window in windows {
                compiled.claims(text, window, index, rule, &mut claims);
            }
        }
        self.literals.claims(lower.as_bytes(), RULES.len(), &mut claims);
        if claims.is_empty() {
            return Ok(claims);
        }

        let mut existing_markers = Vec::new();
        for window in marker_scope {
            self.existing_markers(text, window, &mut existing_markers)?;
        }
        Ok(resolve(text, claims, &existing_markers))
    }

    /// Where the marker that starts at byte `start` of `text` ends, when one starts there.
    pub(crate) fn marker_end(&self, text: &str, start: usize) -> Option<usize> {
        let markers = self
            .markers
            .get_or_init(|| Regex::new(rules::MARKER_PATTERN).ok())
            .as_ref()?;
        markers
            .find_at(text.as_bytes(), start)
            .filter(|found| found.start() == start)
            .map(|found| found.end())
    }

    fn existing_markers(
        &self,
        text: &str,
        window: Range<usize>,
        out: &mut Vec<(usize, usize)>,
    ) -> Result<(), ScrubFailed> {
        let markers = self
            .markers
            .get_or_init(|| Regex::new(rules::MARKER_PATTERN).ok())
            .as_ref()
            .ok_or(ScrubFailed)?;
        let offset = window.start;
        out.extend(
            markers
                .find_iter(&text.as_bytes()[window])
                .map(|m| (offset + m.start(), offset + m.end())),
        );
        Ok(())
    }
}

/// A built-in regex did not compile, or replacements kept exposing new matches for
/// `MAX_ROUNDS` rounds. Either way the text is withheld whole: failing closed.
struct ScrubFailed;

/// Rounds of scanning before giving up on reaching a fixed point. Each round that changes
/// anything turns unscrubbed text into markers or shortens it, so the process ends; in
/// practice a second round finds nothing.
const MAX_ROUNDS: usize = 8;

impl CompiledRule {
    fn new(pattern: &str) -> Option<CompiledRule> {
        let regex = RegexBuilder::new(pattern)
            .unicode(false)
            .size_limit(1 << 22)
            .build()
            .ok()?;
        let redact_groups = regex
            .capture_names()
            .enumerate()
            .filter(|(_, name)| name.is_some_and(|n| n.starts_with("redact")))
            .map(|(index, _)| index)
            .collect();
        Some(CompiledRule { regex, redact_groups })
    }

    /// Claims for matches inside `window`; the text around it is context for anchors,
    /// word boundaries and the rule's check.
    fn claims(&self, text: &str, window: Range<usize>, priority: usize, rule: &rules::Rule, out: &mut Vec<Claim>) {
        let haystack = &text.as_bytes()[..window.end];
        let mut locations = self.regex.capture_locations();
        let mut at = window.start;
        while at <= haystack.len() {
            let Some(whole) = self.regex.captures_read_at(&mut locations, haystack, at) else {
                break;
            };
            let whole = whole.range();
            let secret = self.secret(&locations).unwrap_or(whole.clone());
            let on_boundaries = [whole.start, whole.end, secret.start, secret.end]
                .iter()
                .all(|&i| text.is_char_boundary(i));
            if on_boundaries && !secret.is_empty() {
                let hit = Hit {
                    text,
                    whole: whole.clone(),
                    secret: secret.clone(),
                };
                if (rule.accept)(&hit) {
                    out.push(Claim {
                        start: secret.start,
                        end: secret.end,
                        priority,
                        replacement: rule.replacement,
                    });
                }
            }
            // Resuming after the whole match keeps every rule linear: nothing inside a
            // rejected match is retried.
            at = if whole.end > whole.start {
                whole.end
            } else {
                next_char_boundary(text, whole.end)
            };
        }
    }

    /// The first `redact*` group that took part in the match.
    fn secret(&self, locations: &CaptureLocations) -> Option<Range<usize>> {
        self.redact_groups
            .iter()
            .find_map(|&group| locations.get(group))
            .map(|(start, end)| start..end)
    }
}

/// Whether `haystack` holds one of the bytes in `needles`.
fn holds_any(haystack: &[u8], needles: &[u8]) -> bool {
    match *needles {
        [] => true,
        [a] => memchr::memchr(a, haystack).is_some(),
        [a, b] => memchr::memchr2(a, b, haystack).is_some(),
        [a, b, c] => memchr::memchr3(a, b, c, haystack).is_some(),
        _ => haystack.iter().any(|b| needles.contains(b)),
    }
}

/// Claims on a text moved to where they fall once the `hidden` spans (sorted, disjoint) are
/// cut out of it; a claim on hidden characters alone is dropped.
fn carry_over(claims: Vec<Claim>, hidden: &[Range<usize>]) -> Vec<Claim> {
    let (mut gone, mut next) = (0, 0);
    // Claims are sorted and disjoint, so their starts and ends only grow.
    let mut land = |at: usize| {
        while next < hidden.len() && hidden[next].end <= at {
            gone += hidden[next].len();
            next += 1;
        }
        at - gone
    };
    claims
        .into_iter()
        .map(|claim| Claim {
            start: land(claim.start),
            end: land(claim.end),
            ..claim
        })
        .filter(|claim| claim.start < claim.end)
        .collect()
}

fn next_char_boundary(text: &str, at: usize) -> usize {
    (at + 1..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len() + 1)
}

/// Merges overlapping claims, then carves existing markers out of them. A merged claim
/// keeps the replacement of its first claim in (start, longest, rule order) order.
fn resolve(text: &str, mut claims: Vec<Claim>, existing_markers: &[(usize, usize)]) -> Vec<Claim> {
    claims.sort_by_key(|c| (c.start, std::cmp::Reverse(c.end), c.priority));
    let mut merged: Vec<Claim> = Vec::with_capacity(claims.len());
    for claim in claims {
        match merged.last_mut() {
            Some(last) if claim.start < last.end => last.end = last.end.max(claim.end),
            _ => merged.push(claim),
        }
    }
    if existing_markers.is_empty() {
        return merged;
    }
    let mut carved = Vec::with_capacity(merged.len());
    for claim in merged {
        // Markers are sorted and disjoint: start at the first one ending inside the claim.
        let first = existing_markers.partition_point(|&(_, end)| end <= claim.start);
        let mut start = claim.start;
        for &(marker_start, marker_end) in &existing_markers[first..] {
            if marker_start >= claim.end {
                break;
            }
            push_unless_blank(
                text,
                &mut carved,
                Claim {
                    start,
                    end: marker_start,
                    ..claim
                },
            );
            start = start.max(marker_end);
        }
        push_unless_blank(text, &mut carved, Claim { start, ..claim });
    }
    carved
}

/// What a claim covers between markers, without the whitespace around it: whitespace is
/// not worth a marker.
fn push_unless_blank(text: &str, out: &mut Vec<Claim>, claim: Claim) {
    if claim.start >= claim.end {
        return;
    }
    let span = &text[claim.start..claim.end];
    let trimmed = span.trim_start();
    let start = claim.start + (span.len() - trimmed.len());
    let end = start + trimmed.trim_end().len();
    if start < end {
        out.push(Claim { start, end, ..claim });
    }
}

/// The text with each claim replaced, and where the replacements landed in it.
fn apply(text: &str, claims: &[Claim]) -> (String, Vec<Range<usize>>) {
    let mut out = String::with_capacity(text.len());
    let mut replaced = Vec::with_capacity(claims.len());
    let mut copied = 0;
    for claim in claims {
        out.push_str(&text[copied..claim.start]);
        let start = out.len();
        out.push_str(claim.replacement);
        replaced.push(start..out.len());
        copied = claim.end;
    }
    out.push_str(&text[copied..]);
    (out, replaced)
}

/// The lines holding the given sorted ranges, without line breaks, each once, in order.
fn touched_lines(text: &str, ranges: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut lines: Vec<Range<usize>> = Vec::new();
    for range in ranges {
        if lines.last().is_some_and(|line| range.start <= line.end) {
            continue;
        }
        let start = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
        let end = text[range.end..].find('\n').map_or(text.len(), |i| range.end + i);
        lines.push(start..end);
    }
    lines
}

/// Removes CSI (`ESC [ … final`), OSC (`ESC ] … BEL` or `ESC \`) and two-byte escape
/// sequences. Borrows when there is no ESC at all.
pub fn strip_ansi(text: &str) -> Cow<'_, str> {
    const ESC: char = '\u{1b}';
    if !text.contains(ESC) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != ESC {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                // Parameters and intermediates, then one final byte in @..~.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == ESC && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            // White space is never part of an escape: keep it, or the words on both sides would
            // be glued together (a token after "ESC " would no longer stand alone).
            Some(c) if c.is_whitespace() => out.push(c),
            // Any other escape is ESC plus one character.
            Some(_) | None => {}
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_colour_codes_are_removed() {
        assert_eq!(strip_ansi("\u{1b}[1;31merror\u{1b}[0m: x"), "error: x");
        assert_eq!(strip_ansi("\u{1b}]8;;http://x\u{7}link\u{1b}]8;;\u{1b}\\"), "link");
        assert_eq!(strip_ansi("trailing \u{1b}"), "trailing ");
        assert!(matches!(strip_ansi("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn a_lone_escape_before_a_space_does_not_glue_the_words_around_it() {
        assert_eq!(strip_ansi("http://a\u{1b} ghp_x"), "http://a ghp_x");
        assert_eq!(strip_ansi("end\u{1b}\nnext"), "end\nnext");
        let token = "ghp_AaAaa0aAaA0aAaaaAaAa000AAA0AaaAAA0A0";
        assert!(
            !Scrubber::new()
                .scrub(&format!("http://a\u{1b} {token} "))
                .text
                .contains("ghp_")
        );
    }

    fn claim(start: usize, end: usize, priority: usize) -> Claim {
        Claim {
            start,
            end,
            priority,
            replacement: "",
        }
    }

    fn spans(claims: &[Claim]) -> Vec<(usize, usize, usize)> {
        claims.iter().map(|c| (c.start, c.end, c.priority)).collect()
    }

    #[test]
    fn overlapping_claims_merge_under_the_first_one() {
        let text = "x".repeat(20);
        let kept = resolve(
            &text,
            vec![
                claim(5, 9, 0),
                claim(2, 6, 3),
                claim(2, 4, 1),
                claim(10, 12, 2),
                claim(12, 14, 4),
            ],
            &[],
        );
        assert_eq!(spans(&kept), [(2, 9, 3), (10, 12, 2), (12, 14, 4)]);
    }

    #[test]
    fn equal_spans_go_to_the_earlier_rule() {
        let kept = resolve("xxxx", vec![claim(0, 4, 7), claim(0, 4, 2)], &[]);
        assert_eq!(spans(&kept), [(0, 4, 2)]);
    }

    #[test]
    fn existing_markers_are_carved_out_of_claims() {
        let text = "ab[ip] cd [ip]  [ip]";
        let kept = resolve(text, vec![claim(0, text.len(), 0)], &[(2, 6), (10, 14), (16, 20)]);
        assert_eq!(spans(&kept), [(0, 2, 0), (7, 9, 0)]);
        assert!(resolve(text, vec![claim(2, 6, 0)], &[(2, 6)]).is_empty());
    }

    #[test]
    fn touched_lines_cover_whole_lines_once() {
        let text = "one\ntwo [x] [y]\nthree\nfour [z]";
        let lines = touched_lines(text, &[8..11, 12..15, 27..30]);
        let lines: Vec<&str> = lines.into_iter().map(|r| &text[r]).collect();
        assert_eq!(lines, ["two [x] [y]", "four [z]"]);
    }

    #[test]
    fn claims_on_lines_map_back_to_the_text() {
        let text = "a 10.0.0.1\nplain\nb 10.0.0.2";
        let claims = Scrubber::new().claims_on_lines(text, &[0..10, 17..27]).ok().unwrap();
        let spans: Vec<&str> = claims.iter().map(|c| &text[c.start..c.end]).collect();
        assert_eq!(spans, ["10.0.0.1", "10.0.0.2"]);
    }

    #[test]
    fn scrubber_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Scrubber>();
    }
}
