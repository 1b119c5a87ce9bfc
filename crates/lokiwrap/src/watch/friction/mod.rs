//! Friction: signs in the tool's stderr that it is stuck retrying, being rate-limited, or
//! failing a quality gate. [`FrictionWatch`] is fed the stderr bytes as they are relayed,
//! counts matching lines per kind, and says at the end which kind of friction fired.

mod rules;

use std::sync::Arc;

use memchr::{memchr, memchr2, memrchr2};
use regex::bytes::Regex;
use serde::Deserialize;

use rules::Matcher;

/// Lines are matched on at most this many leading bytes; the rest of a longer line is skipped,
/// so memory stays constant whatever the tool prints.
pub const MAX_LINE: usize = 1024;
/// A line longer than this is binary output or a blob: see `FrictionWatch::past_blob`.
const BLOB_LINE: u64 = 1024 * 1024;
/// How much of the end of a chunk is searched for the end of a blob.
const BLOB_PROBE: usize = 4096;

/// Output is searched for keywords this many bytes at a time rather than line by line: one
/// search per window instead of one per line is what makes short quiet lines cheap.
const WINDOW: usize = 16 * 1024;

/// What kind of friction a line signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrictionKind {
    /// The tool keeps retrying: "Retrying in 5 seconds",
    /// "spurious network error (2 tries remaining)".
    RetryLoop,
    /// The tool is being rate-limited: HTTP 429, "Too Many Requests", "rate limit exceeded",
    /// "overloaded".
    RateLimitLoop,
    /// A quality gate failed: a coverage threshold, a Quality Gate, a pre-commit or pre-push
    /// hook, a lint or type check.
    GateFailure,
}

impl FrictionKind {
    /// Highest priority first. A line that signals several kinds counts for the first of them
    /// only, and [`FrictionWatch::fired`] reports the first kind that fired. A rate limit is
    /// the root cause that usually explains the retries around it, and a retry loop is rarer
    /// and more telling than a failed gate, which is the everyday outcome of a check.
    const BY_PRIORITY: [FrictionKind; 3] = [
        FrictionKind::RateLimitLoop,
        FrictionKind::RetryLoop,
        FrictionKind::GateFailure,
    ];

    /// The name used in the config file and in reports.
    pub fn name(self) -> &'static str {
        match self {
            FrictionKind::RetryLoop => "retry_loop",
            FrictionKind::RateLimitLoop => "rate_limit_loop",
            FrictionKind::GateFailure => "gate_failure",
        }
    }

    fn index(self) -> usize {
        match self {
            FrictionKind::RetryLoop => 0,
            FrictionKind::RateLimitLoop => 1,
            FrictionKind::GateFailure => 2,
        }
    }

    fn rank(self) -> usize {
        match self {
            FrictionKind::RateLimitLoop => 0,
            FrictionKind::RetryLoop => 1,
            FrictionKind::GateFailure => 2,
        }
    }
}

/// A user rule from the config file, global or per tool:
/// `{ kind = "retry_loop", pattern = "(?i)waiting for lock", unless = "lock acquired" }`.
///
/// `pattern` and `unless` use the `regex` crate syntax and are matched against one line at a
/// time, with terminal escape sequences removed. A line counts when `pattern` matches and
/// `unless` does not. The built-in informational exclusions (rate-limit headers, help text,
/// "0 retries", "gate passed") apply to user rules too.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrictionRule {
    pub kind: FrictionKind,
    pub pattern: String,
    #[serde(default)]
    pub unless: Option<String>,
}

/// How many matching lines in one run make each kind fire. Zero disables the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub retry_loop: u32,
    pub rate_limit_loop: u32,
    pub gate_failure: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            retry_loop: 3,
            rate_limit_loop: 3,
            gate_failure: 1,
        }
    }
}

impl Thresholds {
    fn of(&self, kind: FrictionKind) -> u32 {
        match kind {
            FrictionKind::RetryLoop => self.retry_loop,
            FrictionKind::RateLimitLoop => self.rate_limit_loop,
            FrictionKind::GateFailure => self.gate_failure,
        }
    }
}

/// Watches one run's stderr for friction.
///
/// Matching is line by line: `\n` and `\r` both end a line. Each line is cut to its first
/// [`MAX_LINE`] bytes and cleared of terminal escape sequences before matching; a keyword
/// prefilter passes over most lines before the full rule set runs.
///
/// Repaints count once: a line that overwrites the previous one (it follows a `\r`, or starts
/// with a cursor-up or erase-line sequence) and matches the same kind with the same letters,
/// ignoring digits, spaces, punctuation and non-ASCII bytes, is one message redrawn by a
/// spinner or a countdown, not a new retry. Blank repaints (a cleared line) are ignored.
///
/// Construction is cheap: the keyword prefilter is compiled when the first line arrives, and
/// the full rule set when a line first passes the prefilter (at once if there are user rules,
/// since their patterns have no known keywords). A run that prints nothing compiles nothing.
/// A clone shares the compiled rules and continues from the same state.
#[derive(Debug, Clone)]
pub struct FrictionWatch {
    user_rules: Vec<FrictionRule>,
    thresholds: Thresholds,
    // Shared by clones, together with the regex engines' scratch caches.
    prefilter: Option<Arc<Regex>>,
    matcher: Option<Arc<Matcher>>,
    rule_errors: Vec<String>,
    /// The start of a line whose end has not arrived yet, at most `MAX_LINE` bytes.
    partial: Vec<u8>,
    /// Bytes of the current line so far, including those beyond `partial`.
    line_len: u64,
    /// Scratch space for a line with its escape sequences removed.
    stripped: Vec<u8>,
    /// Scratch space for a window of output, then for one line, in ASCII lowercase, for the
    /// keyword prefilter: a case-sensitive literal search on a lowercased copy is several
    /// times faster than a case-insensitive one.
    window_lowered: Vec<u8>,
    line_lowered: Vec<u8>,
    /// The previous line ended with `\r`, so the next one overwrites it on the terminal.
    after_carriage_return: bool,
    /// Kind and letter shape of the last non-blank line, if it counted toward a kind.
    last_match: Option<(FrictionKind, u64)>,
    counts: [u32; 3],
    /// The highest-priority enabled kind has fired: nothing later can change the outcome.
    settled: bool,
}

impl FrictionWatch {
    /// A watcher with the built-in rules plus `user_rules`. Compiles nothing.
    pub fn new(user_rules: Vec<FrictionRule>, thresholds: Thresholds) -> FrictionWatch {
        let settled = !FrictionKind::BY_PRIORITY.iter().any(|&kind| thresholds.of(kind) > 0);
        FrictionWatch {
            user_rules,
            thresholds,
            prefilter: None,
            matcher: None,
            rule_errors: Vec::new(),
            partial: Vec::new(),
            line_len: 0,
            stripped: Vec::new(),
            window_lowered: Vec::new(),
            line_lowered: Vec::new(),
            after_carriage_return: false,
            last_match: None,
            counts: [0; 3],
            settled,
        }
    }

    /// Feeds a chunk exactly as read from the tool's stderr: any size, lines may span chunks,
    /// and it may hold `\r` progress updates, invalid UTF-8 or NUL bytes.
    pub fn feed(&mut self, chunk: &[u8]) {
        let mut rest = self.past_blob(chunk);
        while !rest.is_empty() && !self.settled {
            let consumed = if self.may_skip_lines() {
                self.feed_window(rest)
            } else {
                self.feed_line(rest)
            };
            rest = &rest[consumed..];
        }
    }

    /// Ends the run: counts a last line that had no line end. Calling it again does nothing.
    pub fn finish(&mut self) {
        if !self.partial.is_empty() && !self.settled {
            let partial = std::mem::take(&mut self.partial);
            self.on_line(&partial, false);
            self.partial = partial;
        }
        self.partial.clear();
        self.after_carriage_return = false;
        self.last_match = None;
    }

    /// The friction that fired in this run, if any. When several kinds reached their
    /// thresholds, the first in the order rate_limit_loop, retry_loop, gate_failure wins.
    pub fn fired(&self) -> Option<FrictionKind> {
        FrictionKind::BY_PRIORITY.into_iter().find(|&kind| {
            let threshold = self.thresholds.of(kind);
            threshold > 0 && self.counts[kind.index()] >= threshold
        })
    }

    /// How many lines counted toward `kind` so far. Counting may stop early once the
    /// outcome of [`fired`](Self::fired) can no longer change.
    pub fn count(&self, kind: FrictionKind) -> u32 {
        self.counts[kind.index()]
    }

    /// One line per user rule that was skipped because a pattern is invalid or matches every
    /// line, naming the rule and the reason. Known once the rules are compiled: with user
    /// rules, when the first non-empty line of output arrives.
    pub fn rule_errors(&self) -> &[String] {
        &self.rule_errors
    }

    /// Inside a line longer than [`BLOB_LINE`] (binary output, not a message), the part of
    /// `chunk` worth scanning: from the first line end in its last [`BLOB_PROBE`] bytes, or
    /// nothing. Only a line's first [`MAX_LINE`] bytes are ever matched, so its middle needs no
    /// scan; lines that start and end within one chunk right after a blob may go unseen.
    fn past_blob<'c>(&mut self, chunk: &'c [u8]) -> &'c [u8] {
        if self.line_len < BLOB_LINE {
            return chunk;
        }
        let probe = chunk.len().saturating_sub(BLOB_PROBE);
        match memchr2(b'\n', b'\r', &chunk[probe..]) {
            Some(end) => {
                self.line_len += (probe + end) as u64;
                &chunk[probe + end..]
            }
            None => {
                self.line_len += chunk.len() as u64;
                &[]
            }
        }
    }

    /// Whether lines without keywords can be skipped unseen: no line is half read, no chain
    /// of repaints is being followed, and no user rule needs to see every line.
    fn may_skip_lines(&self) -> bool {
        self.partial.is_empty() && self.last_match.is_none() && !self.scans_every_line()
    }

    fn scans_every_line(&self) -> bool {
        match &self.matcher {
            Some(matcher) => matcher.scans_every_line(),
            None => !self.user_rules.is_empty(),
        }
    }

    fn prefilter(&mut self) -> Arc<Regex> {
        let prefilter = self
            .prefilter
            .get_or_insert_with(|| Arc::new(rules::compile_prefilter()));
        Arc::clone(prefilter)
    }

    /// Consumes whole lines from `bytes`, which starts at a line start, up to about `WINDOW`
    /// bytes: lines without a keyword are passed over, the others go to `feed_line`. Returns
    /// how many bytes were consumed, at least one.
    fn feed_window(&mut self, bytes: &[u8]) -> usize {
        let Some(last_end) = memrchr2(b'\n', b'\r', &bytes[..bytes.len().min(WINDOW)]) else {
            // No line ends in the window: a partial line, or one too long to care about.
            return self.feed_line(bytes);
        };
        let window = &bytes[..=last_end];
        let prefilter = self.prefilter();
        let mut lowered = std::mem::take(&mut self.window_lowered);
        lowered.clear();
        lowered.extend_from_slice(window);
        lowered.make_ascii_lowercase();
        // An escape sequence can split a keyword ("rate\x1b[0m limit"), so a line with ESC
        // is looked at on its own, once its escapes are removed. Found with memchr rather
        // than in the prefilter, where a one-byte literal would slow the search down.
        let mut next_escape = memchr(0x1b, window);
        let mut position = 0;
        while position < window.len() && !self.settled {
            if !self.may_skip_lines() {
                position += self.feed_line(&window[position..]);
                continue;
            }
            if next_escape.is_some_and(|escape| escape < position) {
                next_escape = memchr(0x1b, &window[position..]).map(|offset| position + offset);
            }
            // Passing over lines leaves no trace: the repaint state only matters right after
            // a line that counted, and lines are never passed over then.
            let keyword = prefilter.find_at(&lowered, position).map(|hit| hit.start());
            let Some(hit) = keyword.into_iter().chain(next_escape).min() else {
                position = window.len();
                break;
            };
            let line_start = memrchr2(b'\n', b'\r', &window[position..hit]).map_or(position, |end| position + end + 1);
            position = line_start + self.feed_line(&window[line_start..]);
        }
        self.window_lowered = lowered;
        position
    }

    /// Consumes `bytes` up to and including the first line end and matches that line, or
    /// keeps all of it as the start of a line. Returns how many bytes were consumed.
    fn feed_line(&mut self, bytes: &[u8]) -> usize {
        let Some(end) = memchr2(b'\n', b'\r', bytes) else {
            self.keep_partial(bytes);
            return bytes.len();
        };
        let ended_by_carriage_return = bytes[end] == b'\r';
        let line = &bytes[..end];
        self.line_len = 0;
        if self.partial.is_empty() {
            self.on_line(&line[..line.len().min(MAX_LINE)], ended_by_carriage_return);
        } else {
            self.keep_partial(line);
            let partial = std::mem::take(&mut self.partial);
            self.on_line(&partial, ended_by_carriage_return);
            self.partial = partial;
            self.partial.clear();
        }
        end + 1
    }

    fn keep_partial(&mut self, bytes: &[u8]) {
        self.line_len += bytes.len() as u64;
        let room = MAX_LINE - self.partial.len();
        self.partial.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn on_line(&mut self, raw: &[u8], ended_by_carriage_return: bool) {
        let repaint = self.after_carriage_return || rules::starts_with_repaint_escape(raw);
        self.after_carriage_return = ended_by_carriage_return;
        if raw.is_empty() {
            return;
        }
        let mut stripped = std::mem::take(&mut self.stripped);
        let text = if memchr(0x1b, raw).is_some() {
            rules::strip_escapes(raw, &mut stripped);
            &stripped[..]
        } else {
            raw
        };
        match self.classify(text) {
            Some(kind) => {
                let shape = rules::letter_shape(text);
                if !(repaint && self.last_match == Some((kind, shape))) {
                    self.record(kind);
                }
                self.last_match = Some((kind, shape));
            }
            // A blank line (a cleared spinner) does not break a chain of repaints.
            None if self.last_match.is_some() && !rules::is_blank(text) => self.last_match = None,
            None => {}
        }
        self.stripped = stripped;
    }

    fn classify(&mut self, text: &[u8]) -> Option<FrictionKind> {
        if !self.scans_every_line() {
            let prefilter = self.prefilter();
            self.line_lowered.clear();
            self.line_lowered.extend(text.iter().map(u8::to_ascii_lowercase));
            if !prefilter.is_match(&self.line_lowered) {
                return None;
            }
        }
        let matcher = match &self.matcher {
            Some(matcher) => matcher,
            None => {
                let (matcher, errors) = Matcher::compile(&self.user_rules);
                self.rule_errors = errors;
                self.matcher.insert(Arc::new(matcher))
            }
        };
        matcher.classify(text)
    }

    fn record(&mut self, kind: FrictionKind) {
        let count = &mut self.counts[kind.index()];
        *count = count.saturating_add(1);
        let top_enabled = FrictionKind::BY_PRIORITY
            .into_iter()
            .find(|&kind| self.thresholds.of(kind) > 0);
        self.settled = top_enabled.is_some() && self.fired() == top_enabled;
    }
}
