//! The rule table. Every redaction the scrubber makes comes from one row here: a name, the
//! keywords that must occur (ASCII case-insensitively) before the row's regex is even compiled
//! or run, the regex, the fixed marker that replaces what it matches, and an acceptance check
//! for what a linear-time regex cannot say (look-around, placeholders).
//!
//! A regex may name capture groups `redact`, `redact2`, ...: then only the first group that
//! took part in the match is replaced and the rest of the match is kept (`password=`,
//! `https://`, `AccountKey=`). Without such groups the whole match is replaced.
//!
//! Row order is priority: when two rules claim spans that start at the same place and are
//! equally long, the earlier row names the redaction. Specific formats therefore come first.
//!
//! | rule                   | replaced by                        |
//! |------------------------|------------------------------------|
//! | private_key            | `[REDACTED:private_key]`           |
//! | anthropic_key          | `[REDACTED:anthropic_key]`         |
//! | openai_key             | `[REDACTED:openai_key]`            |
//! | github_token           | `[REDACTED:github_token]`          |
//! | gitlab_token           | `[REDACTED:gitlab_token]`          |
//! | slack_token            | `[REDACTED:slack_token]`           |
//! | slack_webhook          | `[REDACTED:slack_webhook]` (path)  |
//! | stripe_key             | `[REDACTED:stripe_key]`            |
//! | aws_access_key_id      | `[REDACTED:aws_access_key_id]`     |
//! | aws_secret_key         | `[REDACTED:aws_secret_key]` (value)|
//! | google_api_key         | `[REDACTED:google_api_key]`        |
//! | google_oauth_token     | `[REDACTED:google_oauth_token]`    |
//! | azure_storage_key      | `[REDACTED:azure_storage_key]`     |
//! | digitalocean_token     | `[REDACTED:digitalocean_token]`    |
//! | npm_token              | `[REDACTED:npm_token]`             |
//! | pypi_token             | `[REDACTED:pypi_token]`            |
//! | huggingface_token      | `[REDACTED:huggingface_token]`     |
//! | sendgrid_key           | `[REDACTED:sendgrid_key]`          |
//! | twilio_key             | `[REDACTED:twilio_key]`            |
//! | shopify_token          | `[REDACTED:shopify_token]`         |
//! | age_secret_key         | `[REDACTED:age_secret_key]`        |
//! | atlassian_token        | `[REDACTED:atlassian_token]`       |
//! | databricks_token       | `[REDACTED:databricks_token]`      |
//! | doppler_token          | `[REDACTED:doppler_token]`         |
//! | grafana_token          | `[REDACTED:grafana_token]`         |
//! | hashicorp_vault_token  | `[REDACTED:hashicorp_vault_token]` |
//! | heroku_key             | `[REDACTED:heroku_key]`            |
//! | linear_api_key         | `[REDACTED:linear_api_key]`        |
//! | newrelic_key           | `[REDACTED:newrelic_key]`          |
//! | perplexity_key         | `[REDACTED:perplexity_key]`        |
//! | postman_key            | `[REDACTED:postman_key]`           |
//! | pulumi_token           | `[REDACTED:pulumi_token]`          |
//! | rubygems_token         | `[REDACTED:rubygems_token]`        |
//! | sentry_token           | `[REDACTED:sentry_token]`          |
//! | jwt                    | `[REDACTED:jwt]`                   |
//! | auth_header            | `[REDACTED:auth_header]` (value)   |
//! | bearer_token           | `[REDACTED:bearer_token]` (value)  |
//! | basic_auth             | `[REDACTED:basic_auth]` (value)    |
//! | cookie                 | `[REDACTED:cookie]` (value)        |
//! | curl_user              | `[REDACTED:curl_user]` (value)     |
//! | uri_credentials        | `[REDACTED:uri_credentials]` (userinfo; scheme and host kept) |
//! | git_remote_path        | `[repo]` (owner/repo; host kept)   |
//! | url_query_secret       | `[REDACTED:url_query_secret]` (value) |
//! | secret_flag            | `[REDACTED:secret_flag]` (value)   |
//! | secret_assignment      | `[REDACTED:secret_assignment]` (value) |
//! | home_path              | `~`                                |
//! | email                  | `[email]`                          |
//! | ip_address             | `[ip]` (IPv4 and IPv6; loopback and four-single-digit versions kept) |
//! | literal                | `[name]` (words from `Scrubber::with_literals`) |
//!
//! Besides these, about 120 provider rows written with `token!` (Sourcegraph, Alibaba, Square,
//! Dynatrace, Discord, Telegram, Azure AD, ...) each replace a token of one provider's
//! published shape by `[REDACTED:<row name>]`. A token may be glued to a word character before
//! it (`open_ghp_…`, `0ghp_…`) but not to a letter. Shapes without a literal prefix (Discord,
//! Twilio, a bare Azure storage key) run only on lines holding a long run of token characters.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// One match of a rule's regex, handed to the rule's acceptance check.
pub(super) struct Hit<'t> {
    pub text: &'t str,
    /// The whole regex match.
    pub whole: Range<usize>,
    /// The part that would be replaced: a `redact*` group, or the whole match.
    pub secret: Range<usize>,
}

impl Hit<'_> {
    pub fn secret(&self) -> &str {
        &self.text[self.secret.clone()]
    }

    pub fn before(&self) -> Option<char> {
        self.text[..self.whole.start].chars().next_back()
    }

    pub fn after(&self) -> Option<char> {
        self.text[self.whole.end..].chars().next()
    }
}

pub(super) type Accept = fn(&Hit<'_>) -> bool;

pub(super) struct Rule {
    pub name: &'static str,
    /// Lower-case ASCII; every match contains one of them, ignoring ASCII case. The rule
    /// runs only where one occurs. No keywords: the rule runs on all text.
    pub keywords: &'static [&'static str],
    pub pattern: &'static str,
    pub replacement: &'static str,
    pub accept: Accept,
    /// Whether a match can span lines. Such a rule searches from its first keyword to the
    /// end of the text; every other rule searches only the lines holding its keywords.
    pub crosses_lines: bool,
}

/// Name and marker of the rule for caller-supplied words, which has no regex row.
pub(super) const LITERAL_RULE: &str = "literal";
pub(super) const LITERAL_REPLACEMENT: &str = "[name]";

/// What the whole text becomes if it cannot be scrubbed (a built-in regex failed to
/// compile, or no fixed point was reached): failing closed beats emitting text that no
/// rule finished with.
pub(super) const FAILED_SCRUB_REPLACEMENT: &str = "[REDACTED:scrub_failed]";

/// Every marker a rule can write. Spans of the input that already look like one are left
/// alone and no rule may claim text overlapping them, which keeps scrubbing idempotent.
pub(super) const MARKER_PATTERN: &str = r"\[(?:REDACTED:[a-z0-9_]+|email|ip|repo|name)\]";
pub(super) const MARKER_KEYWORDS: &[&str] = &["[redacted:", "[email]", "[ip]", "[repo]", "[name]"];

/// Key words that make an assignment's value secret. Matched case-insensitively anywhere in
/// the key (`DB_PASSWORD`, `clientSecret`, `x-api-key`, `csrftoken`), followed by any suffix
/// after a separator or a capital (`SECRET_KEY_BASE`, `password_super_secure`, `authToken`)
/// but not by a lower-case letter (`author`, `tokens`, `secretary`). `auth` must start a word or
/// follow a separator (`NPM_AUTH`), or `xauth:amd64` in a package list would be a secret. The
/// weak words `key`, `pass` and `pwd` (`Key=…`, `adminPass`, `db_pwd`) count the same way,
/// but their value must look generated (see `is_weak_key`): `PWD=/srv`, `sort_key = "name"`
/// and `pass: 3` are not secrets. Suffixes that name something about the secret rather than
/// the secret (`token_count`, `password_file`, `secret_name`) are rejected by the check.
macro_rules! secret_word {
    () => {
        r"(?:passw(?:or)?d|passphrase|[_.-]pwd|secret|token|api[_.-]?key|access[_.-]?key|private[_.-]?key|credentials?|(?:(?-u:\b)|[_.-])(?:auth|key|pass|pwd)|(?-i:Key|Pass|Pwd))(?:[_.-]?(?:key|value|base|hash)|[_.-][A-Za-z][A-Za-z0-9]*|(?-i:[A-Z][a-z0-9]*))*"
    };
}

/// Keywords that select the rules built on `secret_word!`.
const SECRET_WORD_KEYWORDS: &[&str] = &[
    "pass",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
    "auth",
];

/// One path component naming a user, on a Unix-like system.
macro_rules! unix_user {
    () => {
        r#"[^/\\\s'"`:;,<>|()\[\]{}*?=&%]+"#
    };
}

/// One space-free path component naming a user, on Windows.
macro_rules! windows_user {
    () => {
        r#"[^\\/\s'"`:;,<>|*?]+"#
    };
}

/// `C:\Users\`, `C:/Users/`, JSON-escaped `C:\\Users\\`, and the pre-Vista profile folder.
macro_rules! windows_profiles {
    () => {
        r"[A-Za-z]:(?:\\\\|\\|/)+(?:Users|Documents and Settings)(?:\\\\|\\|/)+"
    };
}

/// A row for a provider token: its name is its marker, and by default a word character but
/// not a letter may be glued before it.
macro_rules! token {
    ($name:literal, [$($keyword:literal),*], $pattern:expr) => {
        token!($name, [$($keyword),*], $pattern, not_after_letter)
    };
    ($name:literal, [$($keyword:literal),*], $pattern:expr, $accept:expr) => {
        token!($name, &[$($keyword),*], $pattern, $accept)
    };
    ($name:literal, $keywords:expr, $pattern:expr, $accept:expr) => {
        Rule {
            name: $name,
            keywords: $keywords,
            pattern: $pattern,
            replacement: concat!("[REDACTED:", $name, "]"),
            accept: $accept,
            crosses_lines: false,
        }
    };
}

/// The keyword of rules for shapes without a literal prefix (Discord, Twilio): the keyword
/// index selects the lines holding a run of at least `keywords::LONG_RUN_CHARS` token
/// characters instead of a literal.
pub(super) const LONG_RUN: &[&str] = &[super::keywords::LONG_RUN_KEYWORD];

/// Bytes of which every match of a rule's regex holds one, for rules whose keywords are
/// common words: `token` or `key` is on many a line that assigns nothing. A window without
/// any of them is not searched. Empty for other rules.
pub(super) fn window_bytes(rule: &str) -> &'static [u8] {
    WINDOW_BYTES
        .iter()
        .find(|(name, _)| *name == rule)
        .map_or(&[], |(_, bytes)| bytes)
}

/// The table behind [`window_bytes`]: the assignment operators (`=`, `:`, and `<` of an XML
/// element), the separators before a URL query parameter, the dash of a flag.
const WINDOW_BYTES: &[(&str, &[u8])] = &[
    ("aws_secret_key", b"=:"),
    ("auth_header", b":="),
    ("cookie", b":"),
    ("url_query_secret", b"?&;"),
    ("secret_flag", b"-"),
    ("secret_assignment", b"=:<"),
];

/// For each rule gated by a long run: lower-case literals of which every match of its regex
/// holds one (its prefixes, in effect). Lines with a long run are common (paths, hashes,
/// base64), and rather than run every such rule's regex on each of them, one pass over the
/// line finds these literals and only the rules with one there run (and compile). A rule's
/// literals must cover every alternative of its regex, or matches would be missed.
pub(super) fn long_run_hints(rule: &str) -> &'static [&'static str] {
    LONG_RUN_HINTS
        .iter()
        .find(|(name, _)| *name == rule)
        .map_or(&[], |(_, hints)| hints)
}

/// The table behind [`long_run_hints`].
pub(super) const LONG_RUN_HINTS: &[(&str, &[&str])] = &[
    ("azure_storage_key", &["accountkey", "sharedaccesskey", "=="]),
    ("twilio_key", &["sk", "ac"]),
    ("tencent_secret_id", &["akid"]),
    ("yandex_token", &["aqvn", "t1."]),
    ("clickhouse_key", &["4b1d"]),
    ("dropbox_token", &["sl."]),
    ("crates_io_token", &["cio"]),
    ("nuget_key", &["oy2"]),
    ("infisical_token", &["st."]),
    ("airtable_token", &["pat"]),
    ("clickup_token", &["pk_"]),
    ("checkly_key", &["cu_"]),
    ("voyage_key", &["pa-"]),
    ("elevenlabs_key", &["sk_"]),
    ("woocommerce_key", &["ck_", "cs_"]),
    ("klaviyo_key", &["pk_"]),
    ("facebook_token", &["eaa"]),
    ("mailchimp_key", &["-us"]),
    ("mailgun_key", &["key-"]),
    ("resend_key", &["re_"]),
    ("zoho_token", &["1000."]),
    ("salesforce_token", &["00d"]),
    ("dynatrace_token", &["dt0"]),
    ("launchdarkly_key", &["api-", "sdk-", "mob-"]),
    ("lambdatest_key", &["lt_"]),
    // Both dots of a Discord token, and the dashes between Mailgun's hex groups.
    ("discord_bot_token", &["."]),
    ("mailgun_signing_key", &["-"]),
];

pub(super) static RULES: &[Rule] = &[
    Rule {
        name: "private_key",
        keywords: &["private key", "putty-user-key-file"],
        // A block with no END line is redacted to the end of the text: a truncated key is
        // still a key.
        pattern: r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\z)|PuTTY-User-Key-File-[0-9]+:(?s:.*?)(?:Private-MAC:[ \t]*[0-9A-Fa-f]+|\z)",
        replacement: "[REDACTED:private_key]",
        accept: always,
        crosses_lines: true,
    },
    Rule {
        name: "anthropic_key",
        keywords: &["sk-ant-"],
        pattern: r"sk-ant-[A-Za-z0-9_-]{20,}",
        replacement: "[REDACTED:anthropic_key]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "openai_key",
        keywords: &["sk-"],
        pattern: r"sk-[A-Za-z0-9_-]{20,}",
        replacement: "[REDACTED:openai_key]",
        accept: has_digit_not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "github_token",
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        pattern: r"(?:gh[pousr]_[A-Za-z0-9_-]{36,}(?:\.[A-Za-z0-9_-]{10,}){0,2}|github_pat_[A-Za-z0-9_]{22,})",
        replacement: "[REDACTED:github_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "gitlab_token",
        keywords: &[
            "glpat-",
            "glrt-",
            "gldt-",
            "glft-",
            "glsoat-",
            "glffct-",
            "glimt-",
            "glagent-",
            "gloas-",
            "glptt-",
            "glcbt-",
            "gr1348941",
        ],
        pattern: r"(?:(?:glpat|glrt|gldt|glft|glsoat|glffct|glimt|glagent|gloas|glptt|glcbt)-[A-Za-z0-9_.-]{20,}|GR1348941[A-Za-z0-9_-]{20,})",
        replacement: "[REDACTED:gitlab_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "slack_token",
        keywords: &["xox", "xapp-"],
        pattern: r"(?:xox[abeoprs]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]{10,}",
        replacement: "[REDACTED:slack_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "slack_webhook",
        keywords: &["hooks.slack.com"],
        pattern: r"(?i:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/(?P<redact>[A-Za-z0-9+/_-]{10,})",
        replacement: "[REDACTED:slack_webhook]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "discord_webhook",
        keywords: &["/api/webhooks/"],
        pattern: r"(?i:discord(?:app)?\.com)/api/webhooks/[0-9]+/(?P<redact>[A-Za-z0-9_-]{50,})",
        replacement: "[REDACTED:discord_webhook]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "teams_webhook",
        keywords: &["webhook.office.com", "outlook.office"],
        pattern: r#"(?i:[a-z0-9-]+\.webhook\.office\.com|outlook\.office(?:365)?\.com)/webhook(?:b2)?/(?P<redact>[^\s"'<>]+)"#,
        replacement: "[REDACTED:teams_webhook]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "zapier_webhook",
        keywords: &["hooks.zapier.com"],
        pattern: r"hooks\.zapier\.com/hooks/catch/(?P<redact>[0-9]+/[A-Za-z0-9]+)",
        replacement: "[REDACTED:zapier_webhook]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "stripe_key",
        keywords: &["_live_", "_test_", "_prod_", "whsec_"],
        pattern: r"(?:(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9+/=]{20,})",
        replacement: "[REDACTED:stripe_key]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "aws_access_key_id",
        keywords: &["akia", "asia", "abia", "acca", "a3t"],
        pattern: r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?-u:\b)",
        replacement: "[REDACTED:aws_access_key_id]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "aws_secret_key",
        keywords: &["secret"],
        pattern: r#"(?i)(?:aws[_.-]?secret[_.-]?(?:access[_.-]?)?key|secret[_.-]?access[_.-]?key)(?:\\?["'])?[ \t]*(?:=>|:=|=|:)[ \t]*(?:\\?["'])?(?P<redact>[A-Za-z0-9/+=]{16,})"#,
        replacement: "[REDACTED:aws_secret_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "google_api_key",
        keywords: &["aiza"],
        pattern: r"AIza[A-Za-z0-9_-]{35,}",
        replacement: "[REDACTED:google_api_key]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "google_oauth_token",
        keywords: &["ya29."],
        pattern: r"ya29\.[A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_-]{4,})*",
        replacement: "[REDACTED:google_oauth_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "azure_storage_key",
        keywords: &["accountkey", "sharedaccesskey", super::keywords::LONG_RUN_KEYWORD],
        pattern: r"(?i)(?:Account|SharedAccess)Key[ \t]*=[ \t]*(?P<redact>[A-Za-z0-9+/]{40,}={0,2})|(?P<redact2>[A-Za-z0-9+/]{86}==)",
        replacement: "[REDACTED:azure_storage_key]",
        accept: azure_key_stands_alone,
        crosses_lines: false,
    },
    Rule {
        name: "digitalocean_token",
        keywords: &["dop_v1_", "doo_v1_", "dor_v1_"],
        pattern: r"do[opr]_v1_[a-f0-9]{64}",
        replacement: "[REDACTED:digitalocean_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "npm_token",
        keywords: &["npm_"],
        pattern: r"npm_[A-Za-z0-9]{36,}",
        replacement: "[REDACTED:npm_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "pypi_token",
        keywords: &["pypi-age"],
        pattern: r"pypi-AgE[A-Za-z0-9_-]{50,}",
        replacement: "[REDACTED:pypi_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "huggingface_token",
        keywords: &["hf_", "api_org_"],
        pattern: r"(?:hf|api_org)_[A-Za-z0-9]{30,}",
        replacement: "[REDACTED:huggingface_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "sendgrid_key",
        keywords: &["sg."],
        pattern: r"SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
        replacement: "[REDACTED:sendgrid_key]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        // Account SIDs (`AC`) identify an account rather than unlock it, but they are as
        // personal as an e-mail address.
        name: "twilio_key",
        // `sk` and `ac` occur in every other English word: the rule runs only on lines with a
        // long run of token characters.
        keywords: LONG_RUN,
        pattern: r"(?:SK|AC)[0-9a-f]{32}(?-u:\b)",
        replacement: "[REDACTED:twilio_key]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "shopify_token",
        keywords: &["shpat_", "shpss_", "shpca_", "shppa_"],
        pattern: r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}",
        replacement: "[REDACTED:shopify_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "age_secret_key",
        keywords: &["age-secret-key-1"],
        pattern: r"AGE-SECRET-KEY-1[0-9A-Z]{58}",
        replacement: "[REDACTED:age_secret_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "atlassian_token",
        keywords: &["atatt3", "atctt3"],
        pattern: r"AT[AC]TT3[A-Za-z0-9_=-]{100,}",
        replacement: "[REDACTED:atlassian_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "databricks_token",
        keywords: &["dapi"],
        pattern: r"dapi[a-f0-9]{32}(?:-[0-9])?(?-u:\b)",
        replacement: "[REDACTED:databricks_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "doppler_token",
        keywords: &["dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."],
        pattern: r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9_.-]{40,}",
        replacement: "[REDACTED:doppler_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "grafana_token",
        keywords: &["glsa_", "glc_"],
        pattern: r"(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2})",
        replacement: "[REDACTED:grafana_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "hashicorp_vault_token",
        keywords: &["hvs.", "hvb.", "hvr."],
        pattern: r"hv[sbr]\.[A-Za-z0-9_-]{24,}",
        replacement: "[REDACTED:hashicorp_vault_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "heroku_key",
        keywords: &["hrku-"],
        pattern: r"HRKU-[A-Za-z0-9_-]{40,}",
        replacement: "[REDACTED:heroku_key]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "linear_api_key",
        keywords: &["lin_api_"],
        pattern: r"lin_api_[A-Za-z0-9]{40,}",
        replacement: "[REDACTED:linear_api_key]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "newrelic_key",
        keywords: &["nrak-", "nraa-", "nrra-", "nrii-", "nrjs-"],
        pattern: r"(?:NR(?:AK|AA|RA)-[A-Za-z0-9]{27}|NRII-[A-Za-z0-9_-]{32}|NRJS-[a-f0-9]{19})",
        replacement: "[REDACTED:newrelic_key]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "perplexity_key",
        keywords: &["pplx-"],
        pattern: r"pplx-[A-Za-z0-9]{40,}",
        replacement: "[REDACTED:perplexity_key]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "postman_key",
        keywords: &["pmak-"],
        pattern: r"PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}",
        replacement: "[REDACTED:postman_key]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "pulumi_token",
        keywords: &["pul-"],
        pattern: r"pul-[a-f0-9]{40}",
        replacement: "[REDACTED:pulumi_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "rubygems_token",
        keywords: &["rubygems_"],
        pattern: r"rubygems_[a-f0-9]{48}",
        replacement: "[REDACTED:rubygems_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        name: "sentry_token",
        keywords: &["sntryu_", "sntrys_"],
        pattern: r"(?:sntryu_[a-f0-9]{64}|sntrys_eyJ[A-Za-z0-9+/=_-]{30,})",
        replacement: "[REDACTED:sentry_token]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    // Provider tokens recognised by their published shape: a literal prefix the keyword index
    // finds, then the body's alphabet and length. A word character may be glued before the
    // prefix (`open_ghp_…`, `0ghp_…`) but a letter may not (`desk-…` is not `sk-…`).
    token!(
        "aws_session_token",
        ["iqojb3jpz2lu", "fwogzxivyxdz"],
        r"(?:IQoJb3JpZ2lu|FwoGZXIvYXdz)[A-Za-z0-9+/=]{80,}"
    ),
    token!("aws_bedrock_key", ["absk"], r"ABSK[A-Za-z0-9+/=]{60,}"),
    token!("google_oauth_secret", ["gocspx-"], r"GOCSPX-[A-Za-z0-9_-]{24,}"),
    token!("google_refresh_token", ["1//0"], r"1//0[A-Za-z0-9_-]{30,}"),
    token!(
        "firebase_server_key",
        [":apa91b"],
        r"AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{100,}"
    ),
    // Azure AD application secrets: three characters, a digit and `Q~`, then 31 to 34 more.
    token!(
        "azure_client_secret",
        ["q~"],
        r"[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
        always
    ),
    token!("alibaba_access_key", ["ltai"], r"LTAI[A-Za-z0-9]{12,30}(?-u:\b)"),
    token!(
        "tencent_secret_id",
        LONG_RUN,
        r"AKID[A-Za-z0-9]{32}(?-u:\b)",
        has_digit_not_after_letter
    ),
    token!(
        "yandex_token",
        LONG_RUN,
        r"AQVN[A-Za-z0-9_-]{35,38}|t1\.[A-Za-z0-9_-]{20,}={0,2}\.[A-Za-z0-9_-]{80,}={0,2}",
        not_after_letter
    ),
    token!(
        "scaleway_key",
        ["scw"],
        r"SCW[A-Z0-9]{17}(?-u:\b)",
        has_digit_not_after_letter
    ),
    token!(
        "cloudflare_origin_ca_key",
        ["v1.0-"],
        r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}"
    ),
    token!(
        "flyio_token",
        ["fo1_", "fm1r_", "fm1a_", "fm2_"],
        r"(?:fo1|fm1[ra]|fm2)_[A-Za-z0-9+/=_-]{40,}"
    ),
    token!(
        "netlify_token",
        ["nfp_", "nfc_", "nfo_", "nfu_", "nfb_"],
        r"nf[pcoub]_[A-Za-z0-9]{36,}",
        random_not_after_letter
    ),
    token!(
        "render_api_key",
        ["rnd_"],
        r"rnd_[A-Za-z0-9]{32,}",
        random_not_after_letter
    ),
    token!(
        "supabase_token",
        ["sbp_", "sb_secret_"],
        r"sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_-]{31,}"
    ),
    token!("neon_api_key", ["napi_"], r"napi_[a-z0-9]{64}"),
    token!(
        "planetscale_token",
        ["pscale_"],
        r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.=-]{32,}"
    ),
    token!("aiven_password", ["avns_"], r"AVNS_[A-Za-z0-9_-]{20,}"),
    token!(
        "deno_deploy_token",
        ["ddp_", "ddo_"],
        r"dd[po]_[A-Za-z0-9]{36}",
        random_not_after_letter
    ),
    token!("openshift_token", ["sha256~"], r"sha256~[A-Za-z0-9_-]{43}"),
    token!("akamai_token", ["akab-"], r"akab-[a-z0-9]{16}-[a-z0-9]{16}"),
    token!(
        "tailscale_key",
        ["tskey-"],
        r"tskey-[a-z]+-[A-Za-z0-9]{6,}-[A-Za-z0-9]{20,}"
    ),
    token!(
        "defined_networking_key",
        ["dnkey-"],
        r"dnkey-[A-Za-z0-9=_-]{26}-[A-Za-z0-9=_-]{52}"
    ),
    token!("elastic_cloud_key", ["essu_"], r"essu_[A-Za-z0-9+/=_-]{50,}"),
    token!(
        "clickhouse_key",
        LONG_RUN,
        r"4b1d[A-Za-z0-9]{38}(?-u:\b)",
        mixed_case_not_after_letter
    ),
    token!("scalingo_token", ["tk-us-"], r"tk-us-[A-Za-z0-9_-]{48}"),
    token!(
        "dropbox_token",
        LONG_RUN,
        r"sl\.(?:u\.)?[A-Za-z0-9_-]{130,}",
        not_after_letter
    ),
    token!(
        "amazon_mws_token",
        ["amzn.mws."],
        r"amzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    ),
    token!("bitbucket_token", ["atbb"], r"ATBB[A-Za-z0-9_=.-]{32,}"),
    token!(
        "sourcegraph_token",
        ["sgp_"],
        r"sgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40}"
    ),
    token!(
        "crates_io_token",
        LONG_RUN,
        r"cio[A-Za-z0-9]{32}(?-u:\b)",
        mixed_case_not_after_letter
    ),
    token!(
        "nuget_key",
        LONG_RUN,
        r"oy2[a-z0-9]{43}(?-u:\b)",
        has_digit_not_after_letter
    ),
    token!("packagist_token", ["packagist_"], r"packagist_[ou][ru]t_[a-f0-9]{68}"),
    token!("clojars_token", ["clojars_"], r"CLOJARS_[a-z0-9]{60}"),
    token!("docker_hub_token", ["dckr_"], r"dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,}"),
    token!(
        "jfrog_token",
        ["akcp", "cmvmdgtu"],
        r"AKCp[A-Za-z0-9]{69}|cmVmdGtu[A-Za-z0-9]{56,}"
    ),
    token!("circleci_token", ["ccipat_"], r"CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}"),
    token!("buildkite_token", ["bkua_"], r"bkua_[a-f0-9]{40}"),
    token!("sonarqube_token", ["squ_", "sqp_", "sqa_"], r"sq[upa]_[a-f0-9]{40}"),
    token!(
        "terraform_token",
        [".atlasv1."],
        r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,}"
    ),
    token!(
        "infisical_token",
        LONG_RUN,
        r"st\.[a-f0-9-]{36}\.[a-f0-9]{32}\.[a-f0-9]{32}",
        not_after_letter
    ),
    token!(
        "onepassword_secret",
        ["ops_eyj", "a3-"],
        r"ops_eyJ[A-Za-z0-9+/=_-]{100,}|A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}"
    ),
    token!(
        "harness_token",
        ["pat.", "sat."],
        r"(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[a-f0-9]{24}\.[A-Za-z0-9]{20}"
    ),
    token!(
        "octopus_key",
        ["api-"],
        r"API-[A-Z0-9]{26}(?-u:\b)",
        has_digit_not_after_letter
    ),
    token!(
        "teamcity_token",
        ["eyj0exaioiaivenwmij9"],
        r"eyJ0eXAiOiAiVENWMiJ9\.[A-Za-z0-9_-]{36}\.[A-Za-z0-9_-]{48}"
    ),
    token!("prefect_key", ["pnu_"], r"pnu_[A-Za-z0-9]{36}"),
    token!("readme_key", ["rdme_"], r"rdme_[a-z0-9]{70}"),
    token!(
        "jetbrains_token",
        ["perm:", "perm-"],
        r"perm[:-][A-Za-z0-9+/=_-]+\.[A-Za-z0-9+/=_-]+\.[A-Za-z0-9]{20,}"
    ),
    token!("frameio_token", ["fio-u-"], r"fio-u-[A-Za-z0-9_=-]{64}"),
    token!("figma_token", ["figd_", "figu_"], r"fig[du]_[A-Za-z0-9_-]{40,}"),
    token!(
        "notion_token",
        ["secret_", "ntn_"],
        r"secret_[A-Za-z0-9]{43}(?-u:\b)|ntn_[0-9]{11}[A-Za-z0-9]{35}",
        has_digit_not_after_letter
    ),
    token!(
        "airtable_token",
        LONG_RUN,
        r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}",
        not_after_letter
    ),
    token!(
        "clickup_token",
        LONG_RUN,
        r"pk_[0-9]{6,10}_[A-Z0-9]{32}",
        not_after_letter
    ),
    token!("typeform_token", ["tfp_"], r"tfp_[A-Za-z0-9_.=-]{50,}"),
    token!("contentful_token", ["cfpat-"], r"CFPAT-[A-Za-z0-9_-]{43}"),
    token!(
        "apollo_key",
        ["service:"],
        r"service:[A-Za-z0-9_-]+:[A-Za-z0-9_-]{22}(?-u:\b)",
        random_not_after_letter
    ),
    token!(
        "stackhawk_key",
        ["hawk."],
        r"hawk\.[A-Za-z0-9_-]{20}\.[A-Za-z0-9_-]{20}"
    ),
    token!(
        "trigger_dev_key",
        ["tr_dev_", "tr_prod_", "tr_stg_", "tr_pat_"],
        r"tr_(?:dev|prod|stg|pat)_[A-Za-z0-9]{20,}"
    ),
    token!(
        "inngest_key",
        ["signkey-"],
        r"signkey-(?:prod|test|branch)-[a-f0-9]{64}"
    ),
    token!("wix_key", ["ist.eyj"], r"IST\.eyJ[A-Za-z0-9_.-]{50,}"),
    token!(
        "adafruit_key",
        ["aio_"],
        r"aio_[A-Za-z0-9]{28}(?-u:\b)",
        random_not_after_letter
    ),
    token!("ubidots_token", ["bbff-"], r"BBFF-[A-Za-z0-9]{30}"),
    token!(
        "matrix_token",
        ["syt_"],
        r"syt_[A-Za-z0-9_-]+_[A-Za-z0-9]{20}_[A-Za-z0-9]{6}"
    ),
    token!("coralogix_key", ["cxtp_"], r"cxtp_[A-Za-z0-9]{30}"),
    token!("checkly_key", LONG_RUN, r"cu_[a-f0-9]{32}(?-u:\b)", not_after_letter),
    token!("groq_key", ["gsk_"], r"gsk_[A-Za-z0-9]{48,}"),
    token!("xai_key", ["xai-"], r"xai-[A-Za-z0-9]{70,}"),
    token!("replicate_token", ["r8_"], r"r8_[A-Za-z0-9]{37}"),
    token!("langsmith_key", ["lsv2_"], r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}"),
    token!("pinecone_key", ["pcsk_"], r"pcsk_[A-Za-z0-9_-]{40,}"),
    token!("tavily_key", ["tvly-"], r"tvly-(?:dev-|prod-)?[A-Za-z0-9]{32}"),
    token!(
        "fireworks_key",
        ["fw_"],
        r"fw_[A-Za-z0-9]{24}(?-u:\b)",
        random_not_after_letter
    ),
    token!(
        "voyage_key",
        LONG_RUN,
        r"pa-[A-Za-z0-9_-]{43,}",
        random_not_after_letter
    ),
    token!("elevenlabs_key", LONG_RUN, r"sk_[a-f0-9]{48}", not_after_letter),
    token!("anyscale_key", ["esecret_"], r"esecret_[A-Za-z0-9]{20,}"),
    token!(
        "modal_token",
        ["ak-", "as-"],
        r"a[ks]-[A-Za-z0-9]{22}(?-u:\b)",
        random_not_after_letter
    ),
    token!(
        "square_token",
        ["sq0atp-", "sq0csp-", "eaaa"],
        r"sq0atp-[A-Za-z0-9_-]{22}|sq0csp-[A-Za-z0-9_-]{43}|EAAA[A-Za-z0-9_-]{60}"
    ),
    token!("shippo_token", ["shippo_"], r"shippo_(?:live|test)_[a-f0-9]{40}"),
    token!(
        "braintree_token",
        ["access_token$"],
        r"access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32}"
    ),
    token!("razorpay_key", ["rzp_"], r"rzp_(?:live|test)_[A-Za-z0-9]{14}"),
    token!(
        "flutterwave_key",
        ["flwseck", "flwpubk"],
        r"FLW(?:SECK|PUBK)(?:_TEST)?-[a-f0-9]{32}-X"
    ),
    token!(
        "plaid_token",
        ["access-production-", "access-sandbox-", "access-development-"],
        r"access-(?:production|sandbox|development)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    ),
    token!("duffel_token", ["duffel_"], r"duffel_(?:test|live)_[A-Za-z0-9_=-]{43}"),
    token!("easypost_key", ["ezak", "eztk"], r"EZ[AT]K[A-Za-z0-9]{54}"),
    token!(
        "woocommerce_key",
        LONG_RUN,
        r"c[ks]_[a-f0-9]{40}(?-u:\b)",
        not_after_letter
    ),
    token!("klaviyo_key", LONG_RUN, r"pk_[a-f0-9]{34}(?-u:\b)", not_after_letter),
    token!(
        "mercury_key",
        ["mercury_"],
        r"mercury_(?:production|sandbox)_[a-z]{3}_[A-Za-z0-9]{30,}"
    ),
    token!(
        "facebook_token",
        LONG_RUN,
        r"EAA[A-Za-z0-9]{90,}",
        has_digit_not_after_letter
    ),
    token!("instagram_token", ["igqv"], r"IGQV[A-Za-z0-9_-]{100,}"),
    token!("pinterest_token", ["pina_"], r"pina_[A-Z0-9]{60,}"),
    token!(
        "twitter_bearer_token",
        ["aaaaaaaaaaaaaaaaaaaaa"],
        r"A{21,}[A-Za-z0-9%]{30,}"
    ),
    token!("vk_token", ["vk1.a."], r"vk1\.a\.[A-Za-z0-9_-]{100,}"),
    token!("foursquare_key", ["fsq3"], r"fsq3[A-Za-z0-9+/=]{40}"),
    token!("telegram_bot_token", [":aa"], r"[0-9]{8,10}:AA[A-Za-z0-9_-]{33}"),
    token!(
        "mailchimp_key",
        LONG_RUN,
        r"[a-f0-9]{32}-us[0-9]{1,2}(?-u:\b)",
        not_after_letter
    ),
    token!("mailgun_key", LONG_RUN, r"key-[a-f0-9]{32}", not_after_letter),
    token!(
        "brevo_key",
        ["xkeysib-", "xsmtpsib-"],
        r"x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}"
    ),
    token!(
        "mandrill_key",
        ["md-"],
        r"md-[A-Za-z0-9_-]{22}",
        random_not_after_letter
    ),
    token!(
        "resend_key",
        LONG_RUN,
        r"re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24}",
        not_after_letter
    ),
    token!("onesignal_key", ["os_v2_"], r"os_v2_(?:app|org)_[a-z0-9]{50,}"),
    token!(
        "zoho_token",
        LONG_RUN,
        r"1000\.[a-f0-9]{32}\.[a-f0-9]{32}",
        not_after_letter
    ),
    token!(
        "salesforce_token",
        LONG_RUN,
        r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{80,}",
        not_after_letter
    ),
    token!(
        "hubspot_token",
        ["pat-na", "pat-eu"],
        r"pat-(?:na|eu)[0-9]-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    ),
    token!(
        "deepl_key",
        [":fx"],
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:fx"
    ),
    token!("maxmind_key", ["_mmk"], r"[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk"),
    token!(
        "dynatrace_token",
        LONG_RUN,
        r"dt0[a-z][0-9]{2}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}",
        not_after_letter
    ),
    token!(
        "honeycomb_key",
        ["hcaik_", "hcxik_", "hcaak_", "hcxlk_", "hcxmk_"],
        r"hc[ax][a-z]k_[a-z0-9]{58}"
    ),
    token!("honeybadger_token", ["hbp_"], r"hbp_[A-Za-z0-9]{36}"),
    token!("posthog_key", ["phx_", "phc_", "phs_"], r"ph[xcs]_[A-Za-z0-9]{43}"),
    token!(
        "launchdarkly_key",
        LONG_RUN,
        r"(?:api|sdk|mob)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        not_after_letter
    ),
    token!("adobe_client_secret", ["p8e-"], r"p8e-[A-Za-z0-9_-]{32}"),
    token!(
        "authress_key",
        [".acc_", ".acc-"],
        r"(?:sc|ext|scauth|authress)_[a-z0-9]{5,30}\.[a-z0-9]{4,6}\.acc[_-][a-z0-9-]{10,32}\.[A-Za-z0-9+/_=-]{30,120}"
    ),
    token!(
        "lambdatest_key",
        LONG_RUN,
        r"LT_[A-Za-z0-9]{47}",
        random_not_after_letter
    ),
    token!(
        "mapbox_token",
        ["sk.eyj"],
        r"sk\.eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}"
    ),
    // Shapes without a literal prefix run only on lines with a long run of token characters.
    // Discord bot tokens: the user id in base64 (so `M`, `N` or `O` first), a timestamp, an HMAC.
    token!(
        "discord_bot_token",
        LONG_RUN,
        r"[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}",
        random_not_after_letter
    ),
    token!(
        "mailgun_signing_key",
        LONG_RUN,
        r"[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8}(?-u:\b)",
        not_after_letter
    ),
    Rule {
        // Header and payload are base64 of JSON objects, so both start with `eyJ` (`{"`).
        // Unsigned tokens end with the second dot.
        name: "jwt",
        keywords: &["eyj"],
        pattern: r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        replacement: "[REDACTED:jwt]",
        accept: not_after_letter,
        crosses_lines: false,
    },
    Rule {
        // The scheme is kept (it says what kind of credential it was); everything after it
        // up to the end of the line or quote goes, since Digest and AWS4 values have spaces.
        name: "auth_header",
        keywords: &["authorization"],
        pattern: r#"(?i)(?:proxy-)?authorization(?:\\?["'])?[ \t]*[:=][ \t]*(?:\\?["'])?(?:(?:bearer|basic|token|digest|negotiate|ntlm|apikey|aws4-hmac-sha256)[ \t]+)?(?P<redact>[^\s"'\\][^\r\n"'\\]*)"#,
        replacement: "[REDACTED:auth_header]",
        accept: value_is_not_placeholder,
        crosses_lines: false,
    },
    Rule {
        name: "bearer_token",
        keywords: &["bearer"],
        pattern: r"(?i)(?-u:\b)bearer[ \t]+(?P<redact>[A-Za-z0-9._~+/=-]{8,})",
        replacement: "[REDACTED:bearer_token]",
        accept: looks_like_credential,
        crosses_lines: false,
    },
    Rule {
        name: "basic_auth",
        keywords: &["basic"],
        pattern: r"(?i)(?-u:\b)basic[ \t]+(?P<redact>[A-Za-z0-9+/]{8,}={0,2})",
        replacement: "[REDACTED:basic_auth]",
        accept: looks_like_credential,
        crosses_lines: false,
    },
    Rule {
        name: "cookie",
        keywords: &["cookie"],
        pattern: r#"(?i)(?-u:\b)(?:set-)?cookie(?:\\?["'])?[ \t]*:[ \t]*(?P<redact>[^\s"'\\][^\r\n"'\\]*)"#,
        replacement: "[REDACTED:cookie]",
        accept: value_is_not_placeholder,
        crosses_lines: false,
    },
    Rule {
        // `curl -u user:pass`, `--user user:pass`.
        name: "curl_user",
        keywords: &["-u", "--user"],
        pattern: r#"(?m)(?:^|[ \t])(?:-u[ \t]*|--user(?:[ \t]+|=))(?:\\?["'])?(?P<redact>[^\s"'\\:]+:[^\s"'\\]+)"#,
        replacement: "[REDACTED:curl_user]",
        accept: is_not_numeric_ids,
        crosses_lines: false,
    },
    Rule {
        // Userinfo of any URI, up to the last `@` before the host, so that a raw `@` inside
        // a password does not leak its tail.
        name: "uri_credentials",
        keywords: &["://"],
        pattern: r#"(?i)(?-u:\b)[a-z][a-z0-9+.-]*://(?P<redact>[^\s/?#"'<>\[\]\\@]+(?:@[^\s/?#"'<>\[\]\\@]+)*)@"#,
        replacement: "[REDACTED:uri_credentials]",
        accept: userinfo_is_credential,
        crosses_lines: false,
    },
    Rule {
        name: "git_remote_path",
        keywords: &["git@", "ssh://"],
        pattern: r"(?-u:\b)git@[A-Za-z0-9.-]+:(?P<redact>[A-Za-z0-9_.~-]+/[A-Za-z0-9_.~/-]+)|(?i:ssh)://[^\s/@]+@[A-Za-z0-9.-]+(?::[0-9]+)?/(?P<redact2>[A-Za-z0-9_.~-]+/[A-Za-z0-9_.~/-]+)",
        replacement: "[repo]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "url_query_secret",
        keywords: &[
            "token=",
            "secret=",
            "passwd=",
            "password=",
            "pwd=",
            "key=",
            "sig=",
            "signature=",
            "credential=",
            "auth=",
            "code=",
            "state=",
            "session=",
            "sessionid=",
        ],
        pattern: r#"(?i)[?&;][A-Za-z0-9_.-]*(?:token|secret|passw(?:or)?d|pwd|key|sig|signature|credential|auth|code|state|session(?:id)?)=(?P<redact>[^&;#\s"'<>\\]+)"#,
        replacement: "[REDACTED:url_query_secret]",
        accept: value_is_not_placeholder,
        crosses_lines: false,
    },
    Rule {
        // `--token abc`, `--db-password hunter2`; the `=` form is a secret_assignment. The
        // value stops before brackets, which close usage text (`[--token TOKEN]`).
        name: "secret_flag",
        keywords: SECRET_WORD_KEYWORDS,
        pattern: concat!(
            r"(?im)(?:^|[ \t])--?(?:[A-Za-z0-9]+[_-])*",
            secret_word!(),
            r#"[ \t]+(?:\\?["'])?(?P<redact>[^\s"'\\\-\[\](){}<>,;][^\s"'\\\[\](){}<>,;]*)"#
        ),
        replacement: "[REDACTED:secret_flag]",
        accept: flag_value_is_secret,
        crosses_lines: false,
    },
    Rule {
        // Three shapes. A key that starts its line (env file, YAML, INI, `export X=`) owns
        // the rest of the line, so pass phrases with spaces go whole. Anywhere else the
        // value is one quoted string (JSON, JSON inside JSON, code; an unterminated one runs
        // to the end of the line) or one unquoted token, where `${VAR}` is taken whole so
        // that the placeholder check sees it. In XML it is an element's text, or the value
        // beside `key="…"` in .NET settings. A comparison (`if (secret == "…")`) gives its
        // quoted operand away too.
        // `Token::new` is not an assignment: a value never starts with `:`, `=` or `>`.
        name: "secret_assignment",
        keywords: SECRET_WORD_KEYWORDS,
        pattern: concat!(
            r"(?im)^[ \t]*(?:(?:export|set|declare)[ \t]+|-[ \t]+)?[A-Za-z0-9_.-]*",
            secret_word!(),
            r#"[ \t]*(?:=>|:=|=|:)[ \t]*(?P<redact>[^\s"'`#=:>\\{\[(][^\r\n]*)"#,
            r#"|(?-u:\b)key[ \t]*=[ \t]*["'][A-Za-z0-9_.:-]*"#,
            secret_word!(),
            r#"["'][ \t]+value[ \t]*=[ \t]*["'](?P<redact2>[^"'\r\n]+)"#,
            r"|",
            secret_word!(),
            r#"(?:\\?["'])?\]?[ \t]*(?:=>|:=|=|:)[ \t]*(?:"(?P<redact3>(?:[^"\\\r\n]|\\[^\r\n])+)(?:"|\r?$)|'(?P<redact4>[^'\r\n]+)(?:'|\r?$)|\\["'](?P<redact5>[^"'\\\r\n]+)|(?P<redact6>\$\{[^}\r\n]*\}|[^\s"'`,;&|(){}\[\]<>\\=:][^\s"'`,;&|(){}\[\]<>\\]*))"#,
            r"|<[A-Za-z0-9_.:-]*",
            secret_word!(),
            r"(?:[ \t][^>\r\n]*)?>(?P<redact7>[^<\r\n]+)<",
            r"|",
            secret_word!(),
            r#"(?:\\?["'])?\]?\)?[ \t]*(?:===?|!==?)[ \t]*(?:"(?P<redact8>[^"\r\n]+)"|'(?P<redact9>[^'\r\n]+)')"#
        ),
        replacement: "[REDACTED:secret_assignment]",
        accept: assigned_value_is_secret,
        crosses_lines: false,
    },
    Rule {
        // The home directory prefix becomes `~`; the rest of the path stays.
        name: "home_path",
        keywords: &[
            "/home/",
            "/users/",
            "\\users\\",
            "\\users/",
            "/users\\",
            "/root",
            "documents and settings",
            "~",
        ],
        pattern: concat!(
            r"(?i)(?P<redact>",
            windows_profiles!(),
            windows_user!(),
            r"(?: ",
            windows_user!(),
            r")+)(?:\\|/)",
            r"|(?P<redact2>",
            windows_profiles!(),
            windows_user!(),
            r")",
            r"|(?P<redact3>/mnt/[a-z]/Users/",
            unix_user!(),
            r")",
            r"|(?P<redact4>(?:/var)?/home/",
            unix_user!(),
            r")",
            r"|(?P<redact5>/Users/",
            unix_user!(),
            r")",
            r"|(?P<redact6>/root)",
            r"|(?P<redact7>~[a-z_][a-z0-9_.-]*)/"
        ),
        replacement: "~",
        accept: home_starts_a_path,
        crosses_lines: false,
    },
    Rule {
        name: "email",
        keywords: &["@"],
        // Non-ASCII bytes count as letters: names and domains need not be English. The end
        // of the domain is left to the check, since `\b` does not see such letters.
        pattern: r"[A-Za-z0-9._%+\x80-\xFF-]+@[A-Za-z0-9\x80-\xFF](?:[A-Za-z0-9\x80-\xFF-]*[A-Za-z0-9\x80-\xFF])?(?:\.[A-Za-z0-9\x80-\xFF](?:[A-Za-z0-9\x80-\xFF-]*[A-Za-z0-9\x80-\xFF])?)*\.[A-Za-z\x80-\xFF]{2,24}",
        replacement: "[email]",
        accept: email_is_personal,
        crosses_lines: false,
    },
    Rule {
        // IPv6 candidates first: a compressed form (with `::`), or three to eight
        // colon-separated groups, either with an IPv4 tail; then IPv4 dotted quads. One
        // regex for both costs one scan instead of two. `\b`/`\B` keep IPv6 candidates
        // from starting inside an identifier; IPv4 boundaries are left to the check, as
        // assertions there halve the scan's speed. The check parses what was found.
        name: "ip_address",
        keywords: &[":", "."],
        pattern: concat!(
            r"(?:(?:(?-u:\b)[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*|(?-u:\B))::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*(?:\.[0-9]{1,3}){0,3}(?-u:\b))?",
            r"|(?-u:\b)(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{1,4}(?:\.[0-9]{1,3}){0,3}(?-u:\b))",
            r"(?:%[0-9A-Za-z_.-]+)?",
            r"|[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"
        ),
        replacement: "[ip]",
        accept: ip_address_stands_alone,
        crosses_lines: false,
    },
];

fn always(_: &Hit<'_>) -> bool {
    true
}

/// Random key bodies of this length practically always hold a digit; hyphenated words
/// after `sk-` (package names, CSS classes) practically never do.
fn has_digit(hit: &Hit<'_>) -> bool {
    hit.secret().bytes().any(|b| b.is_ascii_digit())
}

/// A letter glued before a prefix makes it part of a word (`desk-…` holds no `sk-` key); a
/// digit or `_` does not (`0ghp_…`, `open_ghp_…`, `x_sk-ant-…`).
fn not_after_letter(hit: &Hit<'_>) -> bool {
    !hit.before().is_some_and(char::is_alphabetic)
}

fn has_digit_not_after_letter(hit: &Hit<'_>) -> bool {
    has_digit(hit) && not_after_letter(hit)
}

/// Generated bodies have a digit or both cases; words and kebab-case names rarely do.
fn random_not_after_letter(hit: &Hit<'_>) -> bool {
    let secret = hit.secret();
    let mixed_case = secret.bytes().any(|b| b.is_ascii_uppercase()) && secret.bytes().any(|b| b.is_ascii_lowercase());
    (has_digit(hit) || mixed_case) && not_after_letter(hit)
}

/// Short prefixes that also occur inside hex digests and words (`4b1d`, `cio`): the body
/// must mix cases, which hex never does, and hold a digit.
fn mixed_case_not_after_letter(hit: &Hit<'_>) -> bool {
    let secret = hit.secret();
    let upper = secret.bytes().any(|b| b.is_ascii_uppercase());
    let lower = secret.bytes().any(|b| b.is_ascii_lowercase());
    upper && lower && has_digit_not_after_letter(hit)
}

/// A bare 88-character base64 value ending in `==` is an Azure storage key only if it stands
/// alone and looks random (digits and both cases); after `AccountKey=` it always is.
fn azure_key_stands_alone(hit: &Hit<'_>) -> bool {
    if hit.secret != hit.whole {
        return true;
    }
    // `sha512-…==` is a content hash (npm's `integrity`), not a key.
    let glued = hit
        .before()
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-'));
    let after = hit
        .after()
        .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
    let secret = hit.secret();
    let random = secret.bytes().any(|b| b.is_ascii_uppercase())
        && secret.bytes().any(|b| b.is_ascii_lowercase())
        && secret.bytes().any(|b| b.is_ascii_digit());
    !glued && !after && random
}

/// Template variables, environment references and well-known dummies are not secrets,
/// and redacting them would hide where a value was meant to come from.
fn is_placeholder(value: &str) -> bool {
    const DUMMIES: &[&str] = &[
        "",
        "true",
        "false",
        "null",
        "nil",
        "none",
        "undefined",
        "changeme",
        "redacted",
        "<redacted>",
        "example",
    ];
    let v = value.trim();
    if DUMMIES.iter().any(|dummy| v.eq_ignore_ascii_case(dummy)) {
        return true;
    }
    let starts_var = v.starts_with("${") || v.starts_with("$(") || v.starts_with("{{");
    // `$DB_PASS`; a lower-case `$ecret` is more likely a password than a variable.
    let env_ref = v.len() > 1
        && v.starts_with('$')
        && v[1..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    let windows_var = v.len() > 2 && v.starts_with('%') && v.ends_with('%');
    let angle = v.starts_with('<') && v.ends_with('>');
    let masked = v.len() >= 3 && v.bytes().all(|b| matches!(b, b'*' | b'x' | b'X' | b'.'));
    starts_var || env_ref || windows_var || angle || masked
}

fn value_is_not_placeholder(hit: &Hit<'_>) -> bool {
    !is_placeholder(hit.secret())
}

/// In `https://x-access-token:abc@host` the "assignment" is URL userinfo, which
/// `uri_credentials` redacts while keeping the host.
fn assigned_value_is_secret(hit: &Hit<'_>) -> bool {
    let value = hit.secret();
    let key = &hit.text[hit.whole.start..hit.secret.start];
    !is_placeholder(value)
        && !starts_with_prose_word(value)
        && !in_url_authority(&hit.text[..hit.whole.start])
        && !names_something_else(key)
        && (!is_weak_key(key) || looks_generated(value))
}

/// The last word of a key (`count` in `token_count` and `tokenCount`), lower-cased.
fn last_key_word(key: &str) -> String {
    key_words(key).pop().unwrap_or_default()
}

/// Keys that name a property of a secret, not the secret: `token_count = 3`,
/// `password_file: /run/secrets/db`, `secret_name = "prod"`.
fn names_something_else(key: &str) -> bool {
    const ABOUT: &[&str] = &[
        "count",
        "len",
        "length",
        "size",
        "type",
        "kind",
        "file",
        "path",
        "dir",
        "url",
        "uri",
        "endpoint",
        "name",
        "names",
        "id",
        "ids",
        "env",
        "var",
        "header",
        "field",
        "prefix",
        "suffix",
        "format",
        "ttl",
        "expiry",
        "expires",
        "expiration",
        "timeout",
        "limit",
        "required",
        "enabled",
        "disabled",
        "version",
        "hint",
        "label",
        "policy",
        "scope",
        "scopes",
        "usage",
        "mode",
        "store",
        "manager",
        "provider",
        "source",
        "location",
        "ref",
        "rotation",
        "min",
        "max",
        "regex",
        "pattern",
        "index",
        "position",
        "offset",
        "error",
        "errors",
        "message",
        "status",
        "valid",
        "invalid",
        "strength",
        "prompt",
        "placeholder",
        "attempts",
        "retries",
        "used",
        "left",
        "reset",
    ];
    let word = last_key_word(key);
    ABOUT.contains(&word.as_str())
}

/// Whether the key's only secret word is a weak one (`key`, `pass`, `pwd`).
fn is_weak_key(key: &str) -> bool {
    const STRONG: &[&str] = &[
        "passw",
        "passphrase",
        "secret",
        "token",
        "apikey",
        "accesskey",
        "privatekey",
        "credential",
        "auth",
    ];
    let squeezed: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if !STRONG.iter().any(|word| squeezed.contains(word)) {
        return true;
    }
    // Two or more words after the last secret word make a name about something else as often
    // as not (`secret_markers_name_their_rule: test`, `password_super_secure = "…"`).
    let words = key_words(key);
    let is_secret_word =
        |w: &String| STRONG.iter().any(|s| w.contains(s)) || matches!(w.as_str(), "key" | "pass" | "pwd");
    words
        .iter()
        .rposition(is_secret_word)
        .is_some_and(|last| words.len() - 1 - last >= 2)
}

/// The words of the last identifier in `key`, lower-cased: split at `_ . -` and where a
/// capital follows a lower-case letter or digit.
fn key_words(key: &str) -> Vec<String> {
    let key = key.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    let start = key
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        .map_or(0, |i| i + 1);
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_small = false;
    for c in key[start..].chars() {
        let boundary = matches!(c, '_' | '.' | '-') || (c.is_ascii_uppercase() && previous_small);
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        }
        previous_small = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// A value that looks generated rather than chosen: at least 8 characters without spaces or
/// path shape, mixing three of lower case, capitals, digits and symbols, or at least 16 with
/// digits and letters.
pub(super) fn looks_generated(value: &str) -> bool {
    let v = value.trim();
    if v.chars().count() < 8 || v.contains(char::is_whitespace) || v.starts_with(['/', '~', '.']) || v.contains("://") {
        return false;
    }
    let lower = v.bytes().any(|b| b.is_ascii_lowercase());
    let upper = v.bytes().any(|b| b.is_ascii_uppercase());
    let digit = v.bytes().any(|b| b.is_ascii_digit());
    let symbol = v.chars().any(|c| !c.is_alphanumeric());
    let classes = [lower, upper, digit, symbol].iter().filter(|&&x| x).count();
    classes >= 3 || (v.len() >= 16 && digit && (lower || upper))
}

/// Help text names a flag's value in capitals (`--token TOKEN`, `--api-key API_KEY`);
/// generated secrets have digits.
fn flag_value_is_secret(hit: &Hit<'_>) -> bool {
    let value = hit.secret();
    let metavar = value.bytes().all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-');
    !metavar && assigned_value_is_secret(hit)
}

/// Documentation and messages talk about secrets: "use --password to set it", "password:
/// is required". A value starting with a function word is prose, not a secret.
fn starts_with_prose_word(value: &str) -> bool {
    let first = value.split_whitespace().next().unwrap_or("");
    PROSE_WORDS.iter().any(|word| first.eq_ignore_ascii_case(word))
}

const PROSE_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "be", "by", "can", "for", "from", "if", "in", "instead", "is", "must", "not", "of",
    "on", "or", "should", "that", "the", "this", "to", "when", "which", "will", "with",
];

/// Free text after `Bearer`/`Basic` ("Basic authentication") is not a credential; encoded
/// credentials have a digit, a base64/base64url symbol, or capitals inside the word.
fn looks_like_credential(hit: &Hit<'_>) -> bool {
    let v = hit.secret();
    let has_digit = v.bytes().any(|b| b.is_ascii_digit());
    let has_symbol = v.bytes().any(|b| b"+/=._~-".contains(&b));
    let inner_capital = v.bytes().skip(1).any(|b| b.is_ascii_uppercase());
    !is_placeholder(v) && (has_digit || has_symbol || inner_capital)
}

/// `docker run -u 1000:1000` passes ids, not a password.
fn is_not_numeric_ids(hit: &Hit<'_>) -> bool {
    !hit.secret().bytes().all(|b| b.is_ascii_digit() || b == b':')
}

/// `ssh://git@host` names the conventional account of every git host, not a person.
fn userinfo_is_credential(hit: &Hit<'_>) -> bool {
    let v = hit.secret();
    !v.eq_ignore_ascii_case("git") && !is_placeholder(v)
}

pub(super) fn is_path_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '~' | '$' | '@' | '+' | '%')
}

/// A home directory only where a path starts: `/srv/app/home/x` and `~/home/x` are not
/// homes, `file:///home/x` is.
fn home_starts_a_path(hit: &Hit<'_>) -> bool {
    let starts_path = match hit.before() {
        None => true,
        Some('/') => {
            let head = &hit.text[..hit.whole.start];
            head.ends_with("file://") || head.ends_with("file:///")
        }
        Some(c) => !is_path_char(c),
    };
    let secret = hit.secret();
    // `/root` must be a whole component: not `/rootfs`.
    let whole_component = !secret.eq_ignore_ascii_case("/root") || !hit.after().is_some_and(is_path_char);
    starts_path && whole_component
}

/// `git@github.com` is the SSH account of a host, `icon@2x.png` is a file name, and in
/// `https://alice@host` the name is URL userinfo, which `uri_credentials` redacts while
/// keeping the host. A domain glued to a digit or `_` (`a@b.com1`) is something else.
fn email_is_personal(hit: &Hit<'_>) -> bool {
    let glued = hit.after().is_some_and(|c| c.is_alphanumeric() || c == '_');
    if glued || in_url_authority(&hit.text[..hit.whole.start]) {
        return false;
    }
    let text = &hit.text[hit.whole.clone()];
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let first_label = domain.split('.').next().unwrap_or("");
    let retina = first_label.len() > 1
        && first_label.ends_with(['x', 'X'])
        && first_label[..first_label.len() - 1].bytes().all(|b| b.is_ascii_digit());
    let top_level = domain.rsplit('.').next().unwrap_or("");
    !local.eq_ignore_ascii_case("git") && !retina && !SYSTEMD_UNIT_TYPES.contains(&top_level)
}

/// `getty@tty1.service` is an instance of a systemd unit, not an address.
const SYSTEMD_UNIT_TYPES: &[&str] = &[
    "service",
    "socket",
    "target",
    "timer",
    "mount",
    "automount",
    "slice",
    "scope",
    "path",
    "device",
    "swap",
];

/// Whether text ending here is inside `scheme://…` before the host: no whitespace, quote or
/// path separator since the `://`.
fn in_url_authority(head: &str) -> bool {
    let word = head
        .rsplit(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '(' | '`'))
        .next()
        .unwrap_or(head);
    word.rfind("://")
        .is_some_and(|i| !word[i + 3..].contains(['/', '?', '#']))
}

fn ip_address_stands_alone(hit: &Hit<'_>) -> bool {
    if hit.text[hit.whole.clone()].contains(':') {
        ipv6_stands_alone(hit)
    } else {
        ipv4_stands_alone(hit)
    }
}

/// Without look-around the regex cannot tell `fe80::1` from `Face::add`, `e::f32` inside
/// `core::f32` or a time of day: the run must parse as an address, stand alone (no
/// identifier, path or marker glued on either side; a colon is glue only when a path
/// continues after it, as in `a::b::c`, not in `refused by ::1: timeout`), and a compressed
/// form needs a digit, which hex-looking identifiers rarely have.
fn ipv6_stands_alone(hit: &Hit<'_>) -> bool {
    let candidate = &hit.text[hit.whole.clone()];
    let address = candidate.split('%').next().unwrap_or(candidate);
    let Ok(parsed) = address.parse::<Ipv6Addr>() else {
        return false;
    };
    let mapped = parsed.to_ipv4_mapped().map(IpAddr::V4);
    if mapped.map_or(is_nobodys(IpAddr::V6(parsed)), is_nobodys) {
        return false;
    }
    let identifier = |c: char| c.is_alphanumeric() || c == '_';
    let head = &hit.text[..hit.whole.start];
    let mut tail = hit.text[hit.whole.end..].chars();
    let glued_before = match head.chars().next_back() {
        Some(':') => head[..head.len() - 1].ends_with(':'),
        Some(c) => identifier(c) || matches!(c, '.' | '>' | '$' | ']'),
        None => false,
    };
    let glued_after = match tail.next() {
        Some(':') => tail.next().is_some_and(|c| c == ':' || identifier(c)),
        Some(c) => identifier(c) || matches!(c, '(' | '<' | '['),
        None => false,
    };
    let plausible = !address.contains("::") || address.bytes().any(|b| b.is_ascii_digit());
    !glued_before && !glued_after && plausible
}

/// Loopback and unspecified addresses (`127.0.0.1`, `0.0.0.0`, `::1`, `::`) are the same on
/// every machine: they identify nobody, and "connection refused 127.0.0.1:8080" is worth
/// keeping.
fn is_nobodys(address: IpAddr) -> bool {
    address.is_loopback() || address.is_unspecified()
}

/// A dotted quad that parses as an address is taken for one, even when it was meant as a
/// version (`10.2.0.1`): privacy wins over fidelity. Except:
/// - four single digits (`1.2.3.4`, `Git 1.8.1.4`) are a version. No private network is
///   numbered so (they start at 10, 172 and 192), and the public few (`1.1.1.1`,
///   `8.8.8.8`) are well-known resolvers that identify nobody;
/// - octets above 255 or with leading zeros, or anything glued on (`v1.2.3.4`,
///   `1.2.3.4a`), make it something else;
/// - inside a longer dotted number (`1.2.3.4.5`) or before a package revision
///   (`1.2.5.10-2`, `1.2.3.40+b1`, `2.0.0.10~rc1`) it is part of a version.
fn ipv4_stands_alone(hit: &Hit<'_>) -> bool {
    let quad = &hit.text[hit.whole.clone()];
    let Ok(parsed) = quad.parse::<Ipv4Addr>() else {
        return false;
    };
    if quad.split('.').all(|part| part.len() == 1) || is_nobodys(IpAddr::V4(parsed)) {
        return false;
    }
    let rest = &hit.text[hit.whole.end..];
    let mut next = rest.chars();
    let continues = match (next.next(), next.next()) {
        (Some('.'), Some(c)) => c.is_ascii_digit(),
        (Some('-' | '+' | '~'), Some(c)) => c.is_ascii_alphanumeric(),
        _ => false,
    };
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    !glued(hit.before()) && !glued(hit.after()) && hit.before() != Some('.') && !continues
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_compiles() {
        for rule in RULES {
            regex::bytes::RegexBuilder::new(rule.pattern)
                .unicode(false)
                .build()
                .unwrap_or_else(|e| panic!("{}: {e}", rule.name));
        }
        regex::Regex::new(MARKER_PATTERN).unwrap();
    }

    #[test]
    fn only_dot_matches_newline_patterns_cross_lines() {
        for rule in RULES {
            assert_eq!(rule.crosses_lines, rule.pattern.contains("(?s"), "{}", rule.name);
        }
    }

    #[test]
    fn every_rule_gated_by_a_long_run_has_hints() {
        let gated: Vec<&str> = RULES
            .iter()
            .filter(|rule| rule.keywords.contains(&super::super::keywords::LONG_RUN_KEYWORD))
            .map(|rule| rule.name)
            .collect();
        let hinted: Vec<&str> = LONG_RUN_HINTS.iter().map(|(name, _)| *name).collect();
        assert_eq!(gated, hinted);
        for (name, hints) in LONG_RUN_HINTS {
            assert!(!hints.is_empty(), "{name}");
            for hint in *hints {
                assert!(hint.is_ascii() && *hint == hint.to_ascii_lowercase(), "{name}: {hint}");
            }
        }
    }

    /// Each hint is a literal every match holds: a rule's regex, searched on text without any
    /// of its hints (as far as the sample shows), finds nothing where it found something.
    #[test]
    fn long_run_hints_are_in_every_sample_match() {
        let samples = [
            (
                "azure_storage_key",
                "AccountKey=abcdefghijABCDEFGHIJ0123456789abcdefghij+/",
            ),
            ("twilio_key", "SK0123456789abcdef0123456789abcdef"),
            (
                "discord_bot_token",
                "MTAxMjM0NTY3ODkwMTIzNDU2Nzg5.Gh1Abc.abcdefghijklmnopqrstuvwxyzABCD",
            ),
            (
                "mailgun_signing_key",
                "0123456789abcdef0123456789abcdef-01234567-89abcdef",
            ),
            (
                "dynatrace_token",
                "dt0c01.ABCDEFGHIJKLMNOPQRSTUVWX.0123456789012345678901234567890123456789012345678901234567890123",
            ),
        ];
        for (name, sample) in samples {
            let rule = RULES.iter().find(|rule| rule.name == name).unwrap();
            let regex = regex::bytes::RegexBuilder::new(rule.pattern)
                .unicode(false)
                .build()
                .unwrap();
            assert!(regex.is_match(sample.as_bytes()), "{name}");
            let hints = LONG_RUN_HINTS.iter().find(|(n, _)| *n == name).unwrap().1;
            let lower = sample.to_ascii_lowercase();
            assert!(hints.iter().any(|hint| lower.contains(hint)), "{name}");
        }
    }

    #[test]
    fn window_bytes_name_rules_and_are_in_their_matches() {
        let samples = [
            ("aws_secret_key", "aws_secret_access_key = abcdefghij0123456789"),
            ("auth_header", "Authorization: Bearer abc.def"),
            ("cookie", "Cookie: session=abc123"),
            ("url_query_secret", "https://x/?token=abc123"),
            ("secret_flag", "--token abc123"),
            ("secret_assignment", "<password>hunter2</password>"),
            ("secret_assignment", "DB_PASSWORD=hunter2"),
            ("secret_assignment", "token: abc123"),
        ];
        for (name, bytes) in WINDOW_BYTES {
            assert!(RULES.iter().any(|rule| rule.name == *name), "{name}");
            assert!(!bytes.is_empty(), "{name}");
        }
        for (name, sample) in samples {
            let rule = RULES.iter().find(|rule| rule.name == name).unwrap();
            let regex = regex::bytes::RegexBuilder::new(rule.pattern)
                .unicode(false)
                .build()
                .unwrap();
            let found = regex
                .find(sample.as_bytes())
                .unwrap_or_else(|| panic!("{name}: {sample}"));
            assert!(
                found.as_bytes().iter().any(|b| window_bytes(name).contains(b)),
                "{name}: {sample}"
            );
        }
    }

    #[test]
    fn keywords_are_lower_case_ascii() {
        for rule in RULES {
            for k in rule.keywords {
                assert!(k.is_ascii() && *k == k.to_ascii_lowercase(), "{}: {k}", rule.name);
            }
        }
    }

    #[test]
    fn secret_markers_name_their_rule() {
        for rule in RULES {
            if rule.replacement.starts_with("[REDACTED:") {
                assert_eq!(rule.replacement, format!("[REDACTED:{}]", rule.name));
            }
        }
    }

    #[test]
    fn markers_match_the_marker_pattern() {
        let marker = regex::Regex::new(&format!("^(?:{MARKER_PATTERN})$")).unwrap();
        for replacement in RULES
            .iter()
            .map(|r| r.replacement)
            .chain([LITERAL_REPLACEMENT, FAILED_SCRUB_REPLACEMENT])
            .filter(|r| *r != "~")
        {
            assert!(marker.is_match(replacement), "{replacement}");
        }
    }

    #[test]
    fn url_authority_is_found_after_any_whitespace() {
        assert!(in_url_authority("see https://user:"));
        assert!(!in_url_authority("https://host/path?to="));
        assert!(in_url_authority("\u{2000}https://u"));
        assert!(!in_url_authority("\u{2000}!+"));
    }

    #[test]
    fn placeholders_are_recognised() {
        for v in [
            "${DB_PASS}",
            "$TOKEN",
            "{{ vault.pw }}",
            "%PASSWORD%",
            "<redacted>",
            "****",
            "xxxx",
            "null",
        ] {
            assert!(is_placeholder(v), "{v}");
        }
        for v in ["hunter2", "$ecret", "x", "abc"] {
            assert!(!is_placeholder(v), "{v}");
        }
    }
}
