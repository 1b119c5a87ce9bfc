//! The built-in friction rules, the keyword prefilter that guards them, and their compilation
//! together with the user rules into one `RegexSet` that classifies a line in a single scan.

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::{FrictionKind, FrictionRule};

use FrictionKind::{GateFailure, RateLimitLoop, RetryLoop};

/// A built-in rule. `example` is a real-looking line it must classify as `kind`; the unit
/// tests below hold every rule to its example.
pub(super) struct Builtin {
    pub kind: FrictionKind,
    pub pattern: &'static str,
    pub unless: Option<&'static str>,
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the unit tests"))]
    pub example: &'static str,
}

/// A line shape that looks like friction but only informs: it keeps the line from counting
/// toward `kinds`, whichever rule matched, built-in or user.
pub(super) struct Informational {
    pub kinds: &'static [FrictionKind],
    pub pattern: &'static str,
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the unit tests"))]
    pub example: &'static str,
}

/// Built-in patterns are ASCII-only and case-insensitive. Unicode mode stays off so that the
/// lazy DFA handles `\b` on lines with non-ASCII bytes instead of falling back to a slower engine.
const BUILTIN_FLAGS: &str = "(?i-u)";

/// Every built-in rule needs one of these in the lowercased line to match. Lines with none of
/// them, nearly all lines, never reach the full rule set. Kept next to the rules so that the
/// unit tests can hold each rule's example to it. Words that are common inside other words
/// are avoided: "gate" alone would let every "aggregate" through.
pub(super) const KEYWORDS: &[&str] = &[
    // retry_loop
    "spurious",
    // Not "retr": it would let through every "retrieving".
    "retry",
    "retries",
    "retried",
    "re-try",
    "tries remaining",
    "tries left",
    "try remaining",
    "try left",
    "attempt",
    "backing off",
    "trying again",
    "reconnect",
    // rate_limit_loop
    "too many",
    "toomany",
    "too_many",
    "too-many",
    "429",
    "529",
    "rate limit",
    "ratelimit",
    "rate-limit",
    "rate_limit",
    "exceeded",
    "throttl",
    "slowdown",
    "request rate",
    "exhausted",
    "overload",
    // gate_failure
    "coverage",
    "violated",
    "quality gate",
    "quality_gate",
    "quality-gate",
    "qualitygate",
    "gate f",
    "gates f",
    "gate has f",
    "gates have f",
    "hook",
    "husky",
    ".failed",
    "found 1",
    "found 2",
    "found 3",
    "found 4",
    "found 5",
    "found 6",
    "found 7",
    "found 8",
    "found 9",
    "problem",
    "error, ",
    "errors, ",
    "reformatted",
    "style issues",
    "offense",
    "result: failed",
];

pub(super) const BUILTIN_RULES: &[Builtin] = &[
    // ---- retry_loop ----
    Builtin {
        kind: RetryLoop,
        pattern: r"spurious network error",
        unless: None,
        example: "warning: spurious network error (2 tries remaining): [7] Couldn't connect to server (Failed to connect to index.crates.io port 443 after 1 ms: Connection refused)",
    },
    Builtin {
        kind: RetryLoop,
        pattern: r"\bre-?trying\b",
        unless: Some(
            r"\b(not|stop|stopped|stopping|no longer|without|skip|skipping|disable|disables|disabled)\s+re-?trying\b",
        ),
        example: "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f1c2b3d4e50>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/requests/",
    },
    Builtin {
        kind: RetryLoop,
        pattern: r"\bwill (be )?retr(y|ied)\b",
        unless: None,
        example: "npm WARN retry will retry, error on last attempt: Error: socket hang up",
    },
    Builtin {
        kind: RetryLoop,
        pattern: r"\b[1-9][0-9]* (more )?(tries|try|retries|retry|attempts?) (remaining|left)\b",
        unless: None,
        example: "Download failed: connection reset by peer (2 attempts left)",
    },
    Builtin {
        kind: RetryLoop,
        pattern: r"\bretry (again )?(in|after) [0-9]",
        unless: None,
        example: "upload of part 3 failed: connection reset by peer; retry in 4s",
    },
    Builtin {
        kind: RetryLoop,
        pattern: r"\bretry (attempt )?(#[0-9]+|[0-9]+ ?(/|of) ?[0-9]+)",
        unless: None,
        example: "fetching https://proxy.golang.org/golang.org/x/sys/@v/list failed: i/o timeout (retry 2/5)",
    },
    Builtin {
        kind: RetryLoop,
        pattern: r"\battempt #?[0-9]+( ?(/|of) ?[0-9]+)? (has )?failed",
        unless: None,
        example: "npm http fetch GET https://registry.npmjs.org/lodash attempt 1 failed with ECONNRESET",
    },
    Builtin {
        kind: RetryLoop,
        pattern: r"\bbacking off\b",
        unless: None,
        example: "Backing off fetch_page(...) for 0.8s (requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.example.com', port=443): Read timed out. (read timeout=10))",
    },
    Builtin {
        kind: RetryLoop,
        pattern: r"\btrying again\b",
        unless: Some(r"\bbefore trying again\b"),
        example: "Connection timed out, trying again in 5 seconds",
    },
    Builtin {
        kind: RetryLoop,
        pattern: r"\bretry needed\b",
        unless: None,
        example: "2024-05-02 09:14:03,512 - MainThread - botocore.retryhandler - DEBUG - Retry needed, action of: 0.9146",
    },
    Builtin {
        kind: RetryLoop,
        pattern: r"\b(reconnecting|attempting to reconnect)\b",
        unless: None,
        example: "lost connection to the build daemon, reconnecting in 2s",
    },
    Builtin {
        kind: RetryLoop,
        pattern: r"\bbefore (the )?next (retry|attempt)\b",
        unless: None,
        example: "request timed out; sleeping 2s before next attempt",
    },
    // ---- rate_limit_loop ----
    Builtin {
        kind: RateLimitLoop,
        pattern: r"too[ _-]?many[ _-]?requests",
        unless: None,
        example: "Error response from daemon: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
    },
    Builtin {
        kind: RateLimitLoop,
        pattern: r"\bhttps?(/[0-9.]+)?:? (error |status |code )?[45]29\b",
        unless: None,
        example: "< HTTP/2 429",
    },
    Builtin {
        kind: RateLimitLoop,
        pattern: r"\b(status|code|error|response|statuscode|status_code|status code)\b\W{0,3}e?[45]29\b",
        unless: None,
        example: "npm ERR! code E429",
    },
    // "got 429 rows" is not a rate limit: the status must end the phrase.
    Builtin {
        kind: RateLimitLoop,
        pattern: r"\b(returned|got|received)( (http )?status( code)?)?\W{0,3}[45]29\s*([^a-z0-9 ]|$)",
        unless: None,
        example: "  failed to get successful HTTP response from `https://index.crates.io/config.json` (18.154.227.73), got 429",
    },
    Builtin {
        kind: RateLimitLoop,
        pattern: r"rate[ _-]?limits?[ _-]?(exceeded|reached|hit|error|exception)",
        unless: None,
        example: "openai.RateLimitError: Error code: 429 - {'error': {'message': 'Rate limit reached for gpt-4o in organization org-AbC123 on tokens per min (TPM): Limit 30000, Used 29831, Requested 1644.', 'type': 'tokens', 'param': None, 'code': 'rate_limit_exceeded'}}",
    },
    Builtin {
        kind: RateLimitLoop,
        pattern: r"\brate[ _-]?limited\b",
        unless: Some(r"\bnot (being )?rate[ _-]?limited\b"),
        example: "You are being rate limited. Please wait 5 seconds.",
    },
    Builtin {
        kind: RateLimitLoop,
        pattern: r"\b(exceeded|reached|hit|hitting|exceeding)\b.{0,30}\brate[ _-]?limits?\b",
        unless: None,
        example: "gh: You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    },
    Builtin {
        kind: RateLimitLoop,
        pattern: r"(\brate|\brequest[ _-]?limit|throughput) ?exceeded",
        unless: None,
        example: "An error occurred (RequestLimitExceeded) when calling the DescribeInstances operation (reached max retries: 4): Request limit exceeded.",
    },
    Builtin {
        kind: RateLimitLoop,
        pattern: r"\bthrottl(ed|ing)",
        unless: Some(r"\bthrottl(ed|ing)\s*(is )?(enabled|disabled|[:=])"),
        example: "An error occurred (ThrottlingException) when calling the GetParameter operation (reached max retries: 4): Rate exceeded",
    },
    Builtin {
        kind: RateLimitLoop,
        pattern: r"\(slowdown\)|reduce your request rate",
        unless: None,
        example: "upload failed: ./dist/app.tar.gz to s3://acme-artifacts/app.tar.gz An error occurred (SlowDown) when calling the PutObject operation (reached max retries: 4): Please reduce your request rate.",
    },
    Builtin {
        kind: RateLimitLoop,
        pattern: r"resource[ _]?exhausted|resource has been exhausted",
        unless: None,
        example: "google.api_core.exceptions.ResourceExhausted: 429 Resource has been exhausted (e.g. check quota).",
    },
    Builtin {
        kind: RateLimitLoop,
        pattern: r"\bquota exceeded\b|\bexceeded (your |the )?(current )?quota\b",
        // The errno EDQUOT: "Disk quota exceeded", "Disc quota exceeded".
        unless: Some(r"\bdis[ck] quota\b"),
        example: "Error: You exceeded your current quota, please check your plan and billing details.",
    },
    // "overloaded" alone would catch "call of overloaded 'f(int)' is ambiguous".
    Builtin {
        kind: RateLimitLoop,
        pattern: r#"overloaded[ _]?error|["']message["']\s*:\s*["']overloaded\b"#,
        unless: None,
        example: r#"API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    },
    Builtin {
        kind: RateLimitLoop,
        pattern: r"\b(server|servers|service|api|model|engine|backend|upstream|cluster|system) (is |are )?(currently |temporarily )?overloaded\b|\boverloaded with (other )?requests\b",
        unless: None,
        example: "openai.InternalServerError: Error code: 503 - {'error': {'message': 'That model is currently overloaded with other requests.', 'type': 'server_error'}}",
    },
    Builtin {
        kind: RateLimitLoop,
        pattern: r"^\W*(error\W*)?overloaded\W*$",
        unless: None,
        example: "Error: Overloaded",
    },
    // ---- gate_failure ----
    Builtin {
        kind: GateFailure,
        pattern: r"\bcoverage failure\b",
        unless: None,
        example: "Coverage failure: total of 71 is less than fail-under=80",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\brequired test coverage of [0-9.]+%? (is )?not (been )?(reached|met)\b",
        unless: None,
        example: "FAIL Required test coverage of 80% not reached. Total coverage: 71.23%",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\bcoverage threshold\b.{0,80}\bnot met\b",
        unless: None,
        example: r#"Jest: "global" coverage threshold for lines (80%) not met: 71.42%"#,
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\bcoverage for [a-z]+ \([0-9.]+%\) does not meet\b",
        unless: None,
        example: "ERROR: Coverage for lines (62.5%) does not meet global threshold (90%)",
    },
    // Help text describes the gate conditionally: "Exit with status 2 if the total coverage is less than MIN".
    Builtin {
        kind: GateFailure,
        pattern: r"\bcoverage\b.{0,60}\b(is|was) (below|less than|lower than)\b",
        unless: Some(r"\b(if|when|whether|unless)\b"),
        example: "Line coverage (71.23%) is below the expected minimum coverage (80.00%).",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\bcoverage checks? (have |has )?(not been met|failed)\b",
        unless: None,
        example: "[ERROR] Failed to execute goal org.jacoco:jacoco-maven-plugin:0.8.11:check (default-check) on project app: Coverage checks have not been met. See log messages for details. -> [Help 1]",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\brule violated for (bundle|package|class|sourcefile|method)\b",
        unless: None,
        example: "[WARNING] Rule violated for bundle app: lines covered ratio is 0.71, but expected minimum is 0.80",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\bquality[ _-]?gate\b.{0,40}\b(failed|failure|fail|error|red|not passed)\b",
        unless: None,
        example: "ERROR: QUALITY GATE STATUS: FAILED - View details on https://sonarcloud.io/dashboard?id=acme_app",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\bgates? (has |have )?(failed|failure)\b",
        unless: None,
        example: "Error: 2 of 5 release gates failed: lint, typecheck",
    },
    // Git hooks only: a failed Helm or build-system hook is not a quality gate.
    Builtin {
        kind: GateFailure,
        pattern: r"\b(pre-commit|pre-push|commit-msg|prepare-commit-msg|pre-merge-commit|pre-rebase|pre-receive|update|proc-receive) hooks?\b.{0,30}\b(failed|declined)\b|\(hook declined\)",
        unless: None,
        example: "husky > pre-push hook failed (add --no-verify to bypass)",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\bhook exited with code [1-9]",
        unless: None,
        example: "husky - pre-commit hook exited with code 1 (error)",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\bhusky\b.{0,40}\b(failed|exited with code [1-9])",
        unless: None,
        example: "husky - pre-commit script failed (code 1)",
    },
    // pre-commit's status line, padded with dots: "flake8.......Failed" (colours already
    // stripped). wget's "Connecting to host... failed: refused." has a space and goes on.
    Builtin {
        kind: GateFailure,
        pattern: r"\.{5,}failed\s*$",
        unless: None,
        example: "flake8...................................................................Failed",
    },
    // mypy, tsc, ruff; "Found 2 errors (2 fixed, 0 remaining)." means ruff fixed them all.
    Builtin {
        kind: GateFailure,
        pattern: r"\bfound [1-9][0-9]* errors?\b",
        unless: Some(r"\([0-9]+ fixed, 0 remaining\)"),
        example: "Found 2 errors in 1 file (checked 12 source files)",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\b[1-9][0-9]* problems? \([1-9][0-9]* errors?\b|\bfound [1-9][0-9]* problems?, [0-9]+ warnings?\b",
        unless: None,
        example: "\u{2716} 4 problems (2 errors, 2 warnings)",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\beslint found too many warnings\b",
        unless: None,
        example: "ESLint found too many warnings (maximum: 0).",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\b[1-9][0-9]* errors?, [0-9]+ warnings?, [0-9]+ informations?\b",
        unless: None,
        example: "3 errors, 1 warning, 0 informations ",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\b[1-9][0-9]* files? would be reformatted\b",
        unless: None,
        example: "2 files would be reformatted, 14 files would be left unchanged.",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\bcode style issues found\b",
        unless: None,
        example: "[warn] Code style issues found in 2 files. Run Prettier with --write to fix.",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\b[1-9][0-9]* offenses? detected\b",
        unless: None,
        example: "23 files inspected, 4 offenses detected, 2 offenses autocorrectable",
    },
    Builtin {
        kind: GateFailure,
        pattern: r"\bresult: failed \(minimum:",
        unless: None,
        example: "RESULT: FAILED (minimum: 80.0%, actual: 62.5%)",
    },
];

pub(super) const INFORMATIONAL: &[Informational] = &[
    // Help and usage text: "  --retries <retries>  Maximum number of retries ...".
    Informational {
        kinds: &[RetryLoop, RateLimitLoop, GateFailure],
        pattern: r"^\s*(usage:|-{1,2}[a-z0-9][a-z0-9-]*([ =,<\[]|$))",
        example: "  --max-retries <n>   Attempts before giving up; 0 disables retrying (default: 3)",
    },
    // The retry option named in a command line, an error about it, or a hint.
    Informational {
        kinds: &[RetryLoop],
        pattern: r"--retr",
        example: "+ curl -fsSL --retry 5 --retry-delay 2 https://example.com/install.sh",
    },
    Informational {
        kinds: &[RetryLoop],
        pattern: r"\b(0|no|zero) (more )?(retries|retry|retried|attempts?)\b",
        example: "Uploaded 12 artifacts in 3.1s with 0 retries",
    },
    Informational {
        kinds: &[RateLimitLoop],
        pattern: r"\b(0|no|zero) (requests? )?(throttled|throttles|throttling|rate[ _-]?limited)\b",
        example: "Completed 480 requests: 0 retries, 0 throttled",
    },
    // Settings: "retries: 3", "max_retries=5", "retry_delay = 2".
    Informational {
        kinds: &[RetryLoop],
        pattern: r"\b(max[ _-]?)?retr(y|ies)[ _-]?(count|limit|max|policy|delay|interval)?\s*[:=]\s*[0-9]",
        example: "Config: max_retries=5, backoff_factor=0.5",
    },
    // Quota headers: "x-ratelimit-remaining: 4999", "RateLimit-Remaining: 10",
    // "anthropic-ratelimit-requests-remaining: 49".
    Informational {
        kinds: &[RateLimitLoop],
        pattern: r"ratelimit-[a-z-]*\s*[:=]|\brate[ _-]?limit[ _-]?remaining\b",
        example: "< x-ratelimit-remaining: 4999",
    },
    Informational {
        kinds: &[GateFailure],
        pattern: r"\bgates? (status:?\s*)?(has |have )?(passed|ok|green|succeeded)\b",
        example: "INFO: Quality Gate passed (0 conditions failed)",
    },
];

/// The keyword prefilter, for lowercased text: an alternation of literals, which the regex
/// engine runs as a vectorised multi-literal search (Teddy). A keyword shorter than three
/// bytes would make it fall back to a much slower automaton.
pub(super) fn compile_prefilter() -> Regex {
    let alternation = KEYWORDS
        .iter()
        .map(|keyword| regex::escape(keyword))
        .collect::<Vec<_>>()
        .join("|");
    RegexBuilder::new(&alternation)
        .unicode(false)
        .build()
        .expect("the built-in friction keywords compile")
}

/// What a pattern of the set means when it matches a line.
#[derive(Debug, Clone, Copy)]
enum Role {
    /// The line counts toward `kind`, unless the pattern at index `unless` matched too.
    Signal { kind: FrictionKind, unless: Option<usize> },
    /// The exclusion of some `Signal`; it means nothing on its own.
    Exclusion,
    /// The line does not count toward these kinds.
    Informational { kinds: &'static [FrictionKind] },
}

/// All rules, built-in and user, compiled into one set.
#[derive(Debug)]
pub(super) struct Matcher {
    set: RegexSet,
    roles: Vec<Role>,
    has_user_rules: bool,
}

struct SetPatterns {
    patterns: Vec<String>,
    roles: Vec<Role>,
}

impl SetPatterns {
    fn push(&mut self, pattern: String, role: Role) -> usize {
        self.patterns.push(pattern);
        self.roles.push(role);
        self.patterns.len() - 1
    }

    fn push_rule(&mut self, kind: FrictionKind, pattern: String, unless: Option<String>) {
        let unless = unless.map(|unless| self.push(unless, Role::Exclusion));
        self.push(pattern, Role::Signal { kind, unless });
    }

    fn builtins() -> SetPatterns {
        let mut set = SetPatterns {
            patterns: Vec::new(),
            roles: Vec::new(),
        };
        for rule in BUILTIN_RULES {
            set.push_rule(
                rule.kind,
                format!("{BUILTIN_FLAGS}{}", rule.pattern),
                rule.unless.map(|unless| format!("{BUILTIN_FLAGS}{unless}")),
            );
        }
        for info in INFORMATIONAL {
            set.push(
                format!("{BUILTIN_FLAGS}{}", info.pattern),
                Role::Informational { kinds: info.kinds },
            );
        }
        set
    }

    fn build(&self) -> Result<RegexSet, regex::Error> {
        RegexSetBuilder::new(&self.patterns).build()
    }
}

impl Matcher {
    /// Compiles the built-in rules and the valid user rules. Each skipped user rule yields
    /// one line in the returned errors.
    pub(super) fn compile(user_rules: &[FrictionRule]) -> (Matcher, Vec<String>) {
        let mut errors = Vec::new();
        let mut patterns = SetPatterns::builtins();
        let mut has_user_rules = false;
        for rule in user_rules {
            match check_user_rule(rule) {
                Ok(()) => {
                    patterns.push_rule(rule.kind, rule.pattern.clone(), rule.unless.clone());
                    has_user_rules = true;
                }
                Err(reason) => errors.push(describe_rule(rule, &reason)),
            }
        }
        let set = match patterns.build() {
            Ok(set) => set,
            // Each user pattern compiles alone, but together they can exceed the size limit.
            Err(error) => {
                let reason = match error {
                    regex::Error::CompiledTooBig(limit) => {
                        format!("together they exceed the size limit of {limit} bytes")
                    }
                    other => one_line(&other),
                };
                errors.push(format!("friction rules from the config ignored: {reason}"));
                has_user_rules = false;
                patterns = SetPatterns::builtins();
                patterns.build().expect("the built-in friction rules compile")
            }
        };
        let matcher = Matcher {
            set,
            roles: patterns.roles,
            has_user_rules,
        };
        (matcher, errors)
    }

    /// Whether every line must go through the set, because valid user rules, which have no
    /// known keywords, are in it.
    pub(super) fn scans_every_line(&self) -> bool {
        self.has_user_rules
    }

    /// The kind this line counts toward, if any: the highest-priority kind among the rules
    /// that match, leaving out rules whose exclusion matches and kinds an informational
    /// pattern silences.
    pub(super) fn classify(&self, line: &[u8]) -> Option<FrictionKind> {
        // Most lines that get here match nothing (a keyword inside another word, or any line
        // when there are user rules); `is_match` rejects them faster than `matches`, which
        // must scan the whole line for every pattern.
        if !self.set.is_match(line) {
            return None;
        }
        let matches = self.set.matches(line);
        let mut silenced = [false; 3];
        for index in matches.iter() {
            if let Role::Informational { kinds } = self.roles[index] {
                for kind in kinds {
                    silenced[kind.index()] = true;
                }
            }
        }
        matches
            .iter()
            .filter_map(|index| match self.roles[index] {
                Role::Signal { kind, unless } => Some((kind, unless)),
                _ => None,
            })
            .filter(|&(kind, unless)| !silenced[kind.index()] && !unless.is_some_and(|unless| matches.matched(unless)))
            .map(|(kind, _)| kind)
            .min_by_key(|kind| kind.rank())
    }
}

fn check_user_rule(rule: &FrictionRule) -> Result<(), String> {
    let pattern = RegexBuilder::new(&rule.pattern)
        .build()
        .map_err(|error| format!("invalid pattern: {}", one_line(&error)))?;
    if pattern.is_match(b"") {
        return Err("the pattern matches an empty line; it must require some text".into());
    }
    if let Some(unless) = &rule.unless {
        RegexBuilder::new(unless)
            .build()
            .map_err(|error| format!("invalid unless pattern {unless:?}: {}", one_line(&error)))?;
    }
    Ok(())
}

fn describe_rule(rule: &FrictionRule, reason: &str) -> String {
    format!(
        "friction rule skipped: {} {:?}: {reason}",
        rule.kind.name(),
        rule.pattern
    )
}

/// A regex error on one line. Syntax errors span several lines (the pattern, a caret, then
/// "error: ..."); the last line is the message.
fn one_line(error: &regex::Error) -> String {
    let text = error.to_string();
    let message = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("unknown error");
    message.strip_prefix("error: ").unwrap_or(message).to_string()
}

/// Copies `raw` into `out` without terminal escape sequences: CSI (`ESC [ ... final`), OSC
/// (`ESC ] ... BEL` or `ESC ] ... ESC \`), and two-byte escapes.
pub(super) fn strip_escapes(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut rest = raw;
    while let Some(esc) = memchr::memchr(0x1b, rest) {
        out.extend_from_slice(&rest[..esc]);
        let body = &rest[esc + 1..];
        rest = &body[escape_body_len(body)..];
    }
    out.extend_from_slice(rest);
}

/// The length of an escape sequence after its ESC byte; an unterminated one runs to the end.
fn escape_body_len(body: &[u8]) -> usize {
    match body.first() {
        Some(b'[') => body[1..]
            .iter()
            .position(|byte| (0x40..=0x7e).contains(byte))
            .map_or(body.len(), |end| end + 2),
        Some(b']') => {
            let mut index = 1;
            while index < body.len() {
                match body[index] {
                    0x07 => return index + 1,
                    0x1b if body.get(index + 1) == Some(&b'\\') => return index + 2,
                    _ => index += 1,
                }
            }
            body.len()
        }
        // nF escapes such as `ESC ( B`: intermediate bytes, then one final byte.
        Some(_) => {
            let intermediates = body.iter().take_while(|byte| (0x20..=0x2f).contains(*byte)).count();
            (intermediates + 1).min(body.len())
        }
        None => 0,
    }
}

/// Whether a line starts by moving the cursor up or erasing the line: it redraws an earlier
/// line instead of adding one, as a `\r` does.
pub(super) fn starts_with_repaint_escape(line: &[u8]) -> bool {
    let Some(params) = line.strip_prefix(b"\x1b[") else {
        return false;
    };
    let digits = params.iter().take_while(|byte| byte.is_ascii_digit()).count();
    matches!(params.get(digits), Some(b'A' | b'F' | b'K'))
}

/// Whether a line holds nothing readable: spaces, spinner glyphs, punctuation.
pub(super) fn is_blank(line: &[u8]) -> bool {
    !line.iter().any(u8::is_ascii_alphanumeric)
}

/// A hash of the line's ASCII letters, lowercased. Digits, spaces, punctuation and non-ASCII
/// bytes are left out, so the frames of a spinner or a countdown share one shape.
pub(super) fn letter_shape(line: &[u8]) -> u64 {
    // FNV-1a: a collision only merges two repaints of different messages, once.
    line.iter()
        .filter(|byte| byte.is_ascii_alphabetic())
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builtin_matcher() -> Matcher {
        let (matcher, errors) = Matcher::compile(&[]);
        assert!(errors.is_empty());
        matcher
    }

    #[test]
    fn keywords_are_lowercase_and_long_enough_for_the_fast_search() {
        for keyword in KEYWORDS {
            assert_eq!(*keyword, keyword.to_ascii_lowercase());
            assert!(keyword.len() >= 3, "{keyword:?}");
        }
    }

    #[test]
    fn every_builtin_example_passes_the_prefilter_and_classifies_as_its_kind() {
        let prefilter = compile_prefilter();
        let matcher = builtin_matcher();
        for rule in BUILTIN_RULES {
            let example = rule.example.as_bytes();
            assert!(
                prefilter.is_match(&example.to_ascii_lowercase()),
                "prefilter misses {:?}",
                rule.example
            );
            let own = Regex::new(&format!("{BUILTIN_FLAGS}{}", rule.pattern)).unwrap();
            assert!(own.is_match(example), "{:?} misses its example", rule.pattern);
            assert_eq!(matcher.classify(example), Some(rule.kind), "{:?}", rule.example);
        }
    }

    #[test]
    fn every_informational_example_is_silenced() {
        let matcher = builtin_matcher();
        for info in INFORMATIONAL {
            let own = Regex::new(&format!("{BUILTIN_FLAGS}{}", info.pattern)).unwrap();
            assert!(own.is_match(info.example.as_bytes()), "{:?}", info.pattern);
            let kind = matcher.classify(info.example.as_bytes());
            assert!(
                kind.is_none_or(|kind| !info.kinds.contains(&kind)),
                "{:?} still counts as {kind:?}",
                info.example
            );
        }
    }

    #[test]
    fn informational_examples_would_count_without_their_exclusion() {
        // Otherwise the exclusion is untested. Broad rules, like a hasty user rule, stand in
        // for whatever could match the example.
        let mut patterns = SetPatterns {
            patterns: Vec::new(),
            roles: Vec::new(),
        };
        for rule in BUILTIN_RULES {
            patterns.push_rule(
                rule.kind,
                format!("{BUILTIN_FLAGS}{}", rule.pattern),
                rule.unless.map(|unless| format!("{BUILTIN_FLAGS}{unless}")),
            );
        }
        patterns.push_rule(RetryLoop, "(?i)retr".into(), None);
        patterns.push_rule(RateLimitLoop, "(?i)rate.?limit".into(), None);
        patterns.push_rule(GateFailure, "(?i)gate|coverage".into(), None);
        let unguarded = Matcher {
            set: patterns.build().unwrap(),
            roles: patterns.roles,
            has_user_rules: false,
        };
        for info in INFORMATIONAL {
            let kind = unguarded.classify(info.example.as_bytes());
            assert!(
                kind.is_some_and(|kind| info.kinds.contains(&kind)),
                "{:?} gives {kind:?}",
                info.example
            );
        }
    }

    #[test]
    fn strips_csi_osc_and_short_escapes() {
        let mut out = Vec::new();
        strip_escapes(
            b"\x1b[1;31mFailed\x1b[0m \x1b]8;;https://x\x07link\x1b]8;;\x1b\\ \x1b(Bok\x1b[",
            &mut out,
        );
        assert_eq!(out, b"Failed link ok");
    }

    #[test]
    fn repaint_escapes_are_cursor_up_and_erase_line() {
        assert!(starts_with_repaint_escape(b"\x1b[1Afoo"));
        assert!(starts_with_repaint_escape(b"\x1b[2Kfoo"));
        assert!(starts_with_repaint_escape(b"\x1b[Kfoo"));
        assert!(!starts_with_repaint_escape(b"\x1b[31mfoo"));
        assert!(!starts_with_repaint_escape(b"foo"));
    }

    #[test]
    fn countdown_frames_share_a_shape() {
        assert_eq!(
            letter_shape("⠋ Retrying in 3s...".as_bytes()),
            letter_shape("⠙ Retrying in 2s.".as_bytes())
        );
        assert_ne!(
            letter_shape(b"Retrying in 3s"),
            letter_shape(b"Retrying download in 3s")
        );
    }

    #[test]
    #[expect(clippy::invalid_regex, reason = "the regex error is what is tested")]
    fn regex_errors_fit_on_one_line() {
        let error = Regex::new("retry(").unwrap_err();
        assert_eq!(one_line(&error), "unclosed group");
    }
}
