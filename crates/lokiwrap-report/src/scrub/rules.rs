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
/// the key (`DB_PASSWORD`, `clientSecret`, `x-api-key`, `csrftoken`), optionally followed by
/// a suffix such as `_key` or `_base` (`SECRET_KEY_BASE`). `auth` must start a word or
/// follow a separator (`NPM_AUTH`), or `xauth:amd64` in a package list would be a secret. A
/// bare `pwd` is not one: `PWD` is the working directory far more often than a password.
macro_rules! secret_word {
    () => {
        r"(?:passw(?:or)?d|passphrase|[_.-]pwd|secret|token|api[_.-]?key|access[_.-]?key|private[_.-]?key|credentials?|(?:(?-u:\b)|[_.-])auth)(?:[_.-]?(?:key|value|base|hash))*"
    };
}

/// Keywords that select the rules built on `secret_word!`.
const SECRET_WORD_KEYWORDS: &[&str] = &[
    "passw",
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
        pattern: r"(?-u:\b)sk-ant-[A-Za-z0-9_-]{20,}",
        replacement: "[REDACTED:anthropic_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "openai_key",
        keywords: &["sk-"],
        pattern: r"(?-u:\b)sk-[A-Za-z0-9_-]{20,}",
        replacement: "[REDACTED:openai_key]",
        accept: has_digit,
        crosses_lines: false,
    },
    Rule {
        name: "github_token",
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        pattern: r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
        replacement: "[REDACTED:github_token]",
        accept: always,
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
        pattern: r"(?-u:\b)(?:(?:glpat|glrt|gldt|glft|glsoat|glffct|glimt|glagent|gloas|glptt|glcbt)-[A-Za-z0-9_.-]{20,}|GR1348941[A-Za-z0-9_-]{20,})",
        replacement: "[REDACTED:gitlab_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "slack_token",
        keywords: &["xox", "xapp-"],
        pattern: r"(?-u:\b)(?:xox[abeoprs]|xapp|xoxe\.xox[bp])-[A-Za-z0-9-]{10,}",
        replacement: "[REDACTED:slack_token]",
        accept: always,
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
        name: "stripe_key",
        keywords: &["_live_", "_test_", "_prod_", "whsec_"],
        pattern: r"(?-u:\b)(?:(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9+/=]{20,})",
        replacement: "[REDACTED:stripe_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "aws_access_key_id",
        keywords: &["akia", "asia", "abia", "acca", "a3t"],
        pattern: r"(?-u:\b)(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?-u:\b)",
        replacement: "[REDACTED:aws_access_key_id]",
        accept: always,
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
        pattern: r"(?-u:\b)AIza[A-Za-z0-9_-]{35,}",
        replacement: "[REDACTED:google_api_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "google_oauth_token",
        keywords: &["ya29."],
        pattern: r"(?-u:\b)ya29\.[A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_-]{4,})*",
        replacement: "[REDACTED:google_oauth_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "azure_storage_key",
        keywords: &["accountkey"],
        pattern: r"(?i)AccountKey[ \t]*=[ \t]*(?P<redact>[A-Za-z0-9+/]{40,}={0,2})",
        replacement: "[REDACTED:azure_storage_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "digitalocean_token",
        keywords: &["dop_v1_", "doo_v1_", "dor_v1_"],
        pattern: r"(?-u:\b)do[opr]_v1_[a-f0-9]{64}",
        replacement: "[REDACTED:digitalocean_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "npm_token",
        keywords: &["npm_"],
        pattern: r"(?-u:\b)npm_[A-Za-z0-9]{36,}",
        replacement: "[REDACTED:npm_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "pypi_token",
        keywords: &["pypi-age"],
        pattern: r"(?-u:\b)pypi-AgE[A-Za-z0-9_-]{50,}",
        replacement: "[REDACTED:pypi_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "huggingface_token",
        keywords: &["hf_"],
        pattern: r"(?-u:\b)hf_[A-Za-z0-9]{30,}",
        replacement: "[REDACTED:huggingface_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "sendgrid_key",
        keywords: &["sg."],
        pattern: r"(?-u:\b)SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}",
        replacement: "[REDACTED:sendgrid_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        // Account SIDs (`AC`) identify an account rather than unlock it, but they are as
        // personal as an e-mail address.
        name: "twilio_key",
        // `sk` and `ac` occur in every other English word; the regex's own case-sensitive
        // `SK`/`AC` prefix search is the better filter.
        keywords: &[],
        pattern: r"(?-u:\b)(?:SK|AC)[0-9a-f]{32}(?-u:\b)",
        replacement: "[REDACTED:twilio_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "shopify_token",
        keywords: &["shpat_", "shpss_", "shpca_", "shppa_"],
        pattern: r"(?-u:\b)shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}",
        replacement: "[REDACTED:shopify_token]",
        accept: always,
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
        keywords: &["atatt3"],
        pattern: r"(?-u:\b)ATATT3[A-Za-z0-9_=-]{100,}",
        replacement: "[REDACTED:atlassian_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "databricks_token",
        keywords: &["dapi"],
        pattern: r"(?-u:\b)dapi[a-f0-9]{32}(?:-[0-9])?(?-u:\b)",
        replacement: "[REDACTED:databricks_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "doppler_token",
        keywords: &["dp.pt."],
        pattern: r"(?-u:\b)dp\.pt\.[A-Za-z0-9]{40,}",
        replacement: "[REDACTED:doppler_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "grafana_token",
        keywords: &["glsa_", "glc_"],
        pattern: r"(?-u:\b)(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2})",
        replacement: "[REDACTED:grafana_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "hashicorp_vault_token",
        keywords: &["hvs.", "hvb."],
        pattern: r"(?-u:\b)hv[sb]\.[A-Za-z0-9_-]{24,}",
        replacement: "[REDACTED:hashicorp_vault_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "heroku_key",
        keywords: &["hrku-"],
        pattern: r"(?-u:\b)HRKU-[A-Za-z0-9_-]{40,}",
        replacement: "[REDACTED:heroku_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "linear_api_key",
        keywords: &["lin_api_"],
        pattern: r"(?-u:\b)lin_api_[A-Za-z0-9]{40,}",
        replacement: "[REDACTED:linear_api_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "newrelic_key",
        keywords: &["nrak-", "nrii-", "nrjs-"],
        pattern: r"(?-u:\b)(?:NRAK-[A-Z0-9]{27}|NRII-[A-Za-z0-9-]{32}|NRJS-[a-f0-9]{19})",
        replacement: "[REDACTED:newrelic_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "perplexity_key",
        keywords: &["pplx-"],
        pattern: r"(?-u:\b)pplx-[A-Za-z0-9]{40,}",
        replacement: "[REDACTED:perplexity_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "postman_key",
        keywords: &["pmak-"],
        pattern: r"(?-u:\b)PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}",
        replacement: "[REDACTED:postman_key]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "pulumi_token",
        keywords: &["pul-"],
        pattern: r"(?-u:\b)pul-[a-f0-9]{40}",
        replacement: "[REDACTED:pulumi_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "rubygems_token",
        keywords: &["rubygems_"],
        pattern: r"(?-u:\b)rubygems_[a-f0-9]{48}",
        replacement: "[REDACTED:rubygems_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        name: "sentry_token",
        keywords: &["sntryu_", "sntrys_"],
        pattern: r"(?-u:\b)(?:sntryu_[a-f0-9]{64}|sntrys_eyJ[A-Za-z0-9+/=_-]{30,})",
        replacement: "[REDACTED:sentry_token]",
        accept: always,
        crosses_lines: false,
    },
    Rule {
        // Header and payload are base64 of JSON objects, so both start with `eyJ` (`{"`).
        // Unsigned tokens end with the second dot.
        name: "jwt",
        keywords: &["eyj"],
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        replacement: "[REDACTED:jwt]",
        accept: always,
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
        // that the placeholder check sees it. In XML it is an element's text.
        // `Token::new` is not an assignment: a value never starts with `:`, `=` or `>`.
        name: "secret_assignment",
        keywords: SECRET_WORD_KEYWORDS,
        pattern: concat!(
            r"(?im)^[ \t]*(?:(?:export|set|declare)[ \t]+|-[ \t]+)?[A-Za-z0-9_.-]*",
            secret_word!(),
            r#"[ \t]*(?:=>|:=|=|:)[ \t]*(?P<redact>[^\s"'`#=:>\\{\[(][^\r\n]*)"#,
            r"|",
            secret_word!(),
            r#"(?:\\?["'])?[ \t]*(?:=>|:=|=|:)[ \t]*(?:"(?P<redact2>(?:[^"\\\r\n]|\\[^\r\n])+)(?:"|\r?$)|'(?P<redact3>[^'\r\n]+)(?:'|\r?$)|\\["'](?P<redact4>[^"'\\\r\n]+)|(?P<redact5>\$\{[^}\r\n]*\}|[^\s"'`,;&|(){}\[\]<>\\=:][^\s"'`,;&|(){}\[\]<>\\]*))"#,
            r"|<[A-Za-z0-9_.:-]*",
            secret_word!(),
            r"(?:[ \t][^>\r\n]*)?>(?P<redact6>[^<\r\n]+)<"
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
    !is_placeholder(value) && !starts_with_prose_word(value) && !in_url_authority(&hit.text[..hit.whole.start])
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
