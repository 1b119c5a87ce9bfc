//! Golden vectors for the scrubber: for every rule, inputs it must redact (with the exact
//! output) and near misses it must leave alone, plus ordinary tool output that must pass
//! through untouched. Token bodies are generated, so no realistic credential is stored here.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use lokiwrap_report::scrub::{RULES_VERSION, Scrubber, rule_names};

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &str = "0123456789abcdef";
const UPPER_ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const BASE32_UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `token` with `invisible` put in at byte `at`, as a terminal or a copy and paste may leave it.
fn split(token: &str, at: usize, invisible: char) -> String {
    format!("{}{invisible}{}", &token[..at], &token[at..])
}

/// `prefix` followed by `len` characters of `charset`, the same on every run.
fn fake(prefix: &str, len: usize, charset: &str) -> String {
    let chars: Vec<char> = charset.chars().collect();
    let mut state = prefix
        .bytes()
        .chain(charset.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64 ^ len as u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    let body: String = (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            chars[(state >> 33) as usize % chars.len()]
        })
        .collect();
    format!("{prefix}{body}")
}

/// A PEM armour line, assembled so that this file holds no complete header.
fn pem(label: &str, edge: &str) -> String {
    format!("-----{edge} {label}PRIVATE KEY-----")
}

fn pem_block(label: &str, sep: &str) -> String {
    let body = fake("MII", 61, B64);
    format!(
        "{}{sep}{body}{sep}{}{sep}{}",
        pem(label, "BEGIN"),
        fake("", 40, B64),
        pem(label, "END")
    )
}

struct Golden {
    rule: &'static str,
    input: String,
    expected: String,
    redactions: usize,
}

fn redacts(rule: &'static str, input: impl Into<String>, expected: impl Into<String>) -> Golden {
    redacts_n(rule, 1, input, expected)
}

fn redacts_n(rule: &'static str, redactions: usize, input: impl Into<String>, expected: impl Into<String>) -> Golden {
    Golden {
        rule,
        input: input.into(),
        expected: expected.into(),
        redactions,
    }
}

fn keeps(rule: &'static str, input: impl Into<String>) -> Golden {
    let input = input.into();
    Golden {
        rule,
        expected: input.clone(),
        input,
        redactions: 0,
    }
}

/// The owner and repository of the local git remote in every golden test.
fn scrubber() -> Scrubber {
    Scrubber::with_literals(&["acme/secret-project.git".to_string()])
}

fn secrets() -> Vec<Golden> {
    let aws_secret = fake("", 40, B64);
    let jwt = format!(
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.{}",
        fake("", 43, B64URL)
    );
    vec![
        // private_key
        redacts(
            "private_key",
            format!("key:\n{}\ndone", pem_block("RSA ", "\n")),
            "key:\n[REDACTED:private_key]\ndone",
        ),
        redacts(
            "private_key",
            format!("{}\r\n", pem_block("OPENSSH ", "\r\n")),
            "[REDACTED:private_key]\r\n",
        ),
        redacts(
            "private_key",
            format!(r#"{{"pem": "{}\n"}}"#, pem_block("", r"\n")),
            r#"{"pem": "[REDACTED:private_key]\n"}"#,
        ),
        redacts(
            "private_key",
            format!("{}\n{}\nProc-Type", pem("EC ", "BEGIN"), fake("", 64, B64)),
            "[REDACTED:private_key]",
        ),
        redacts(
            "private_key",
            format!(
                "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{}\n-----END PGP PRIVATE KEY BLOCK-----",
                fake("lQ", 62, B64)
            ),
            "[REDACTED:private_key]",
        ),
        redacts(
            "private_key",
            format!(
                "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\n{}\nPrivate-MAC: {}\nnext",
                fake("", 44, B64),
                fake("", 64, HEX)
            ),
            "[REDACTED:private_key]\nnext",
        ),
        keeps(
            "private_key",
            format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
                fake("MII", 61, B64)
            ),
        ),
        keeps("private_key", "error: private key file ./id_ed25519 not found"),
        // anthropic_key
        redacts(
            "anthropic_key",
            format!("ANTHROPIC said {}AA.", fake("sk-ant-api03-", 93, B64URL)),
            "ANTHROPIC said [REDACTED:anthropic_key].",
        ),
        redacts(
            "anthropic_key",
            format!("'{}AA'", fake("sk-ant-admin01-", 93, B64URL)),
            "'[REDACTED:anthropic_key]'",
        ),
        keeps("anthropic_key", "prefix sk-ant-api03-short only"),
        keeps("anthropic_key", fake("desk-ant-api03-", 40, ALNUM)),
        // openai_key
        redacts(
            "openai_key",
            format!("key {} used", fake("sk-proj-", 156, B64URL)),
            "key [REDACTED:openai_key] used",
        ),
        redacts(
            "openai_key",
            format!("({})", fake("sk-", 48, ALNUM)),
            "([REDACTED:openai_key])",
        ),
        keeps("openai_key", "uses sk-learn-style-hyphenated-package-name here"),
        keeps("openai_key", "sk-abc123 is too short"),
        // github_token
        redacts(
            "github_token",
            format!("push {} ok", fake("ghp_", 36, ALNUM)),
            "push [REDACTED:github_token] ok",
        ),
        redacts_n(
            "github_token",
            4,
            format!(
                "{} {} {} {}",
                fake("gho_", 36, ALNUM),
                fake("ghu_", 36, ALNUM),
                fake("ghs_", 36, ALNUM),
                fake("ghr_", 36, ALNUM)
            ),
            "[REDACTED:github_token] [REDACTED:github_token] [REDACTED:github_token] [REDACTED:github_token]",
        ),
        redacts(
            "github_token",
            format!(
                "\"{}\"",
                fake("github_pat_", 82, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_abcdef")
            ),
            "\"[REDACTED:github_token]\"",
        ),
        // webhooks: the path is the secret, the host says what it was.
        redacts(
            "discord_webhook",
            format!(
                "POST https://discord.com/api/webhooks/123456789012345678/{}",
                fake("", 68, B64URL)
            ),
            "POST https://discord.com/api/webhooks/123456789012345678/[REDACTED:discord_webhook]",
        ),
        keeps(
            "discord_webhook",
            "see https://discord.com/developers/docs/resources/webhook",
        ),
        redacts(
            "teams_webhook",
            format!(
                "url: https://contoso.webhook.office.com/webhookb2/{}@x/IncomingWebhook/{}",
                fake("", 36, HEX),
                fake("", 32, HEX)
            ),
            "url: https://contoso.webhook.office.com/webhookb2/[REDACTED:teams_webhook]",
        ),
        keeps("teams_webhook", "docs at https://learn.microsoft.com/office/webhooks"),
        redacts(
            "zapier_webhook",
            "POST https://hooks.zapier.com/hooks/catch/1234567/abc9de/ failed",
            "POST https://hooks.zapier.com/hooks/catch/[REDACTED:zapier_webhook]/ failed",
        ),
        keeps("zapier_webhook", "https://hooks.zapier.com/hooks/ is the base"),
        // Key names as people write them.
        redacts(
            "secret_assignment",
            format!("password_super_secure = \"{}\"", fake("", 16, ALNUM)),
            "password_super_secure = \"[REDACTED:secret_assignment]\"",
        ),
        redacts(
            "secret_assignment",
            "db_passwd := \"hunter2!\"",
            "db_passwd := \"[REDACTED:secret_assignment]\"",
        ),
        redacts(
            "secret_assignment",
            "if (secret == \"hunter2\") {",
            "if (secret == \"[REDACTED:secret_assignment]\") {",
        ),
        redacts(
            "secret_assignment",
            "  <password>correct horse battery</password>",
            "  <password>[REDACTED:secret_assignment]</password>",
        ),
        redacts(
            "secret_assignment",
            "[DEBUG] Using Key=qsCG7rT2xV9mK4pL",
            "[DEBUG] Using Key=[REDACTED:secret_assignment]",
        ),
        redacts(
            "secret_assignment",
            "<add key=\"DbPassword\" value=\"s3cr3t-Value\" />",
            "<add key=\"DbPassword\" value=\"[REDACTED:secret_assignment]\" />",
        ),
        redacts(
            "secret_assignment",
            "os.environ[\"API_TOKEN\"] = \"abc123def456\"",
            "os.environ[\"API_TOKEN\"] = \"[REDACTED:secret_assignment]\"",
        ),
        keeps(
            "secret_assignment",
            "token_count = 3; password_file: /run/secrets/db; sort_key = \"name\"",
        ),
        keeps(
            "secret_assignment",
            "pass: 3 tests, author: alice, tokens: 1234, PWD=/srv/app",
        ),
        // Split by an invisible character, the token is glued back and caught whole.
        redacts(
            "github_token",
            format!("push {} ok", split(&fake("ghp_", 36, ALNUM), 20, '\u{7}')),
            "push [REDACTED:github_token] ok",
        ),
        redacts(
            "github_token",
            format!("push {} ok", split(&fake("ghp_", 36, ALNUM), 9, '\u{200b}')),
            "push [REDACTED:github_token] ok",
        ),
        // Next to a word, the character still separates the token from it.
        redacts(
            "github_token",
            format!("node\u{61c}{}", fake("ghp_", 36, ALNUM)),
            "node[REDACTED:github_token]",
        ),
        keeps("github_token", "ghp_tooShort123 is not a token"),
        keeps("github_token", fake("xghp_", 36, ALNUM)),
        keeps("github_token", fake("ghx_", 36, ALNUM)),
        // gitlab_token
        redacts(
            "gitlab_token",
            format!("using {}", fake("glpat-", 20, B64URL)),
            "using [REDACTED:gitlab_token]",
        ),
        redacts_n(
            "gitlab_token",
            2,
            format!("{}, {}", fake("glrt-", 20, ALNUM), fake("GR1348941", 20, ALNUM)),
            "[REDACTED:gitlab_token], [REDACTED:gitlab_token]",
        ),
        keeps("gitlab_token", "glpat-short and glpat- alone"),
        // slack_token
        redacts(
            "slack_token",
            format!("bot {}", fake("xoxb-123456789012-1234567890123-", 24, ALNUM)),
            "bot [REDACTED:slack_token]",
        ),
        redacts(
            "slack_token",
            fake("xapp-1-A0123456789-", 40, ALNUM),
            "[REDACTED:slack_token]",
        ),
        keeps("slack_token", "xoxb-short xoxz-123456789012-abcdef"),
        // slack_webhook
        redacts(
            "slack_webhook",
            format!(
                "POST {}",
                fake("https://hooks.slack.com/services/T01234567/B01234567/", 24, ALNUM)
            ),
            "POST https://hooks.slack.com/services/[REDACTED:slack_webhook]",
        ),
        keeps("slack_webhook", "see https://hooks.slack.com/ for docs"),
        // stripe_key
        redacts(
            "stripe_key",
            format!("{} {}", fake("sk_live_", 24, ALNUM), fake("rk_test_", 24, ALNUM)),
            "[REDACTED:stripe_key] [REDACTED:stripe_key]",
        )
        .with_redactions(2),
        redacts("stripe_key", fake("whsec_", 32, B64), "[REDACTED:stripe_key]"),
        keeps("stripe_key", "sk_live_short"),
        keeps("stripe_key", fake("pk_live_", 24, ALNUM)),
        // aws_access_key_id
        redacts(
            "aws_access_key_id",
            format!("id {} ", fake("AKIA", 16, BASE32_UPPER)),
            "id [REDACTED:aws_access_key_id] ",
        ),
        redacts(
            "aws_access_key_id",
            format!("\"{}\"", fake("ASIA", 16, BASE32_UPPER)),
            "\"[REDACTED:aws_access_key_id]\"",
        ),
        redacts(
            "aws_access_key_id",
            format!("id {} ", split(&fake("AKIA", 16, BASE32_UPPER), 10, '\u{0}')),
            "id [REDACTED:aws_access_key_id] ",
        ),
        keeps("aws_access_key_id", fake("AKIA", 15, BASE32_UPPER)),
        keeps("aws_access_key_id", fake("XAKIA", 16, BASE32_UPPER)),
        keeps("aws_access_key_id", "AKIAabcdefghijklmnop"),
        // aws_secret_key
        redacts(
            "aws_secret_key",
            format!("aws_secret_access_key = {aws_secret}"),
            "aws_secret_access_key = [REDACTED:aws_secret_key]",
        ),
        redacts(
            "aws_secret_key",
            format!(r#"{{"SecretAccessKey": "{aws_secret}"}}"#),
            r#"{"SecretAccessKey": "[REDACTED:aws_secret_key]"}"#,
        ),
        keeps("aws_secret_key", "aws_secret_access_key is not set"),
        // google_api_key
        redacts(
            "google_api_key",
            format!("maps?v=3&client={}", fake("AIza", 35, B64URL)),
            "maps?v=3&client=[REDACTED:google_api_key]",
        ),
        keeps("google_api_key", fake("AIza", 20, ALNUM)),
        // google_oauth_token
        redacts(
            "google_oauth_token",
            format!("got {} back", fake("ya29.", 60, B64URL)),
            "got [REDACTED:google_oauth_token] back",
        ),
        keeps("google_oauth_token", "ya29.short"),
        // azure_storage_key
        redacts(
            "azure_storage_key",
            format!(
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={}==;EndpointSuffix=core.windows.net",
                fake("", 86, B64)
            ),
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[REDACTED:azure_storage_key];EndpointSuffix=core.windows.net",
        ),
        keeps("azure_storage_key", "AccountName=acct;EndpointSuffix=core.windows.net"),
        // digitalocean_token
        redacts(
            "digitalocean_token",
            format!(
                "{} {} {}",
                fake("dop_v1_", 64, HEX),
                fake("doo_v1_", 64, HEX),
                fake("dor_v1_", 64, HEX)
            ),
            "[REDACTED:digitalocean_token] [REDACTED:digitalocean_token] [REDACTED:digitalocean_token]",
        )
        .with_redactions(3),
        keeps("digitalocean_token", fake("dop_v1_", 63, HEX)),
        // npm_token
        redacts(
            "npm_token",
            format!("//registry.npmjs.org/:_auth {}", fake("npm_", 36, ALNUM)),
            "//registry.npmjs.org/:_auth [REDACTED:npm_token]",
        ),
        keeps("npm_token", "npm_config_cache is /tmp/npm"),
        // pypi_token
        redacts(
            "pypi_token",
            format!("upload with {}", fake("pypi-AgEIcHlwaS5vcmc", 70, B64URL)),
            "upload with [REDACTED:pypi_token]",
        ),
        keeps("pypi_token", "pypi-AgEshort"),
        // huggingface_token
        redacts(
            "huggingface_token",
            format!("hub {}", fake("hf_", 34, LETTERS)),
            "hub [REDACTED:huggingface_token]",
        ),
        keeps("huggingface_token", "from huggingface_hub import hf_hub_download"),
        // sendgrid_key
        redacts(
            "sendgrid_key",
            format!("{}.{}", fake("SG.", 22, B64URL), fake("", 43, B64URL)),
            "[REDACTED:sendgrid_key]",
        ),
        keeps("sendgrid_key", "SG.short.value"),
        // twilio_key
        redacts(
            "twilio_key",
            format!("{} {}", fake("SK", 32, HEX), fake("AC", 32, HEX)),
            "[REDACTED:twilio_key] [REDACTED:twilio_key]",
        )
        .with_redactions(2),
        keeps("twilio_key", fake("SK", 31, HEX)),
        keeps("twilio_key", fake("ac", 38, HEX)),
        // shopify_token
        redacts(
            "shopify_token",
            format!("{} {}", fake("shpat_", 32, HEX), fake("shpss_", 32, HEX)),
            "[REDACTED:shopify_token] [REDACTED:shopify_token]",
        )
        .with_redactions(2),
        keeps("shopify_token", fake("shpat_", 31, HEX)),
        // age_secret_key
        redacts(
            "age_secret_key",
            fake("AGE-SECRET-KEY-1", 58, UPPER_ALNUM),
            "[REDACTED:age_secret_key]",
        ),
        keeps("age_secret_key", "AGE-SECRET-KEY-1SHORT"),
        // atlassian_token
        redacts(
            "atlassian_token",
            fake("ATATT3", 186, B64URL),
            "[REDACTED:atlassian_token]",
        ),
        keeps("atlassian_token", fake("ATATT3", 20, ALNUM)),
        // databricks_token
        redacts("databricks_token", fake("dapi", 32, HEX), "[REDACTED:databricks_token]"),
        keeps("databricks_token", "dapi_docs and dapi1234"),
        // doppler_token
        redacts("doppler_token", fake("dp.pt.", 43, ALNUM), "[REDACTED:doppler_token]"),
        keeps("doppler_token", "dp.pt.short"),
        // grafana_token
        redacts(
            "grafana_token",
            format!("{}_{}", fake("glsa_", 32, ALNUM), fake("", 8, HEX)),
            "[REDACTED:grafana_token]",
        ),
        redacts("grafana_token", fake("glc_", 48, B64), "[REDACTED:grafana_token]"),
        keeps("grafana_token", "glsa_short"),
        // hashicorp_vault_token
        redacts(
            "hashicorp_vault_token",
            fake("hvs.", 90, B64URL),
            "[REDACTED:hashicorp_vault_token]",
        ),
        keeps("hashicorp_vault_token", "hvs.short"),
        // heroku_key
        redacts("heroku_key", fake("HRKU-AA", 58, B64URL), "[REDACTED:heroku_key]"),
        keeps("heroku_key", "HRKU-short"),
        // linear_api_key
        redacts(
            "linear_api_key",
            fake("lin_api_", 40, ALNUM),
            "[REDACTED:linear_api_key]",
        ),
        keeps("linear_api_key", "lin_api_short"),
        // newrelic_key
        redacts(
            "newrelic_key",
            fake("NRAK-", 27, UPPER_ALNUM),
            "[REDACTED:newrelic_key]",
        ),
        keeps("newrelic_key", "NRAK-SHORT"),
        // perplexity_key
        redacts("perplexity_key", fake("pplx-", 48, ALNUM), "[REDACTED:perplexity_key]"),
        keeps("perplexity_key", "pplx-short"),
        // postman_key
        redacts(
            "postman_key",
            format!("{}-{}", fake("PMAK-", 24, HEX), fake("", 34, HEX)),
            "[REDACTED:postman_key]",
        ),
        keeps("postman_key", "PMAK-abc-def"),
        // pulumi_token
        redacts("pulumi_token", fake("pul-", 40, HEX), "[REDACTED:pulumi_token]"),
        keeps("pulumi_token", "pul-request"),
        // rubygems_token
        redacts(
            "rubygems_token",
            fake("rubygems_", 48, HEX),
            "[REDACTED:rubygems_token]",
        ),
        keeps("rubygems_token", "rubygems_version 3.5"),
        // sentry_token
        redacts("sentry_token", fake("sntryu_", 64, HEX), "[REDACTED:sentry_token]"),
        redacts(
            "sentry_token",
            format!("{}_{}", fake("sntrys_eyJpYXQiO", 60, B64), fake("", 43, B64URL)),
            "[REDACTED:sentry_token]",
        ),
        keeps("sentry_token", "sntryu_short"),
        // jwt
        redacts("jwt", format!("id_token {jwt}"), "id_token [REDACTED:jwt]"),
        redacts(
            "jwt",
            "unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiIxMjM0In0. ok",
            "unsigned [REDACTED:jwt] ok",
        ),
        redacts(
            "jwt",
            format!("id_token {}", split(&jwt, 40, '\u{7f}')),
            "id_token [REDACTED:jwt]",
        ),
        keeps("jwt", "header only eyJhbGciOiJIUzI1NiJ9 here"),
        keeps("jwt", "eyJ.eyJ.x"),
        // auth_header
        redacts(
            "auth_header",
            "Authorization: Bearer 0a1b2c3d4e5f6071",
            "Authorization: Bearer [REDACTED:auth_header]",
        ),
        redacts(
            "auth_header",
            r#"curl -H "Authorization: token abc.def.ghi" https://api.example.com"#,
            r#"curl -H "Authorization: token [REDACTED:auth_header]" https://api.example.com"#,
        ),
        redacts(
            "auth_header",
            "proxy-authorization: Basic dXNlcjpwYXNz",
            "proxy-authorization: Basic [REDACTED:auth_header]",
        ),
        redacts(
            "auth_header",
            format!(
                "Authorization: AWS4-HMAC-SHA256 Credential={}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature={}",
                fake("AKIA", 16, BASE32_UPPER),
                fake("", 64, HEX)
            ),
            "Authorization: AWS4-HMAC-SHA256 [REDACTED:auth_header]",
        ),
        redacts(
            "auth_header",
            r#"{"Authorization": "Bearer abcdefgh12345678"}"#,
            r#"{"Authorization": "Bearer [REDACTED:auth_header]"}"#,
        ),
        keeps("auth_header", "authorization failed for this request"),
        keeps("auth_header", "Authorization: ${AUTH_HEADER}"),
        // bearer_token
        redacts(
            "bearer_token",
            "sending Bearer 0a1b2c3d4e5f6a7b to upstream",
            "sending Bearer [REDACTED:bearer_token] to upstream",
        ),
        keeps(
            "bearer_token",
            "the Bearer token expired; Bearer authentication required",
        ),
        // basic_auth
        redacts(
            "basic_auth",
            "retrying with Basic dXNlcjpwYXNzd29yZA==",
            "retrying with Basic [REDACTED:basic_auth]",
        ),
        keeps("basic_auth", "Basic authentication failed; Basic Authentication"),
        // cookie
        redacts(
            "cookie",
            "Cookie: sessionid=abc123; csrftoken=def456",
            "Cookie: [REDACTED:cookie]",
        ),
        redacts(
            "cookie",
            "Set-Cookie: id=a3fWa; Expires=Thu, 21 Oct 2026 07:28:00 GMT",
            "Set-Cookie: [REDACTED:cookie]",
        ),
        keeps("cookie", "the cookie jar is empty"),
        // curl_user
        redacts(
            "curl_user",
            "curl -u admin:hunter2 https://example.com",
            "curl -u [REDACTED:curl_user] https://example.com",
        ),
        redacts(
            "curl_user",
            "curl --user=bob:pa55word -sS",
            "curl --user=[REDACTED:curl_user] -sS",
        ),
        keeps("curl_user", "docker run -u 1000:1000 image"),
        keeps("curl_user", "sort -u names.txt"),
        // uri_credentials
        redacts(
            "uri_credentials",
            "postgres://app:s3cret@db.internal:5432/app",
            "postgres://[REDACTED:uri_credentials]@db.internal:5432/app",
        ),
        redacts(
            "uri_credentials",
            "git clone https://x-access-token:abc123@github.com/o/r.git",
            "git clone https://[REDACTED:uri_credentials]@github.com/o/r.git",
        ),
        redacts(
            "uri_credentials",
            "redis://:pw123@cache:6379",
            "redis://[REDACTED:uri_credentials]@cache:6379",
        ),
        redacts(
            "uri_credentials",
            "amqp://user:p@ss@broker.example.com/",
            "amqp://[REDACTED:uri_credentials]@broker.example.com/",
        ),
        redacts(
            "uri_credentials",
            "https://tok3n@example.com",
            "https://[REDACTED:uri_credentials]@example.com",
        ),
        keeps("uri_credentials", "https://example.com/a@b"),
        keeps("uri_credentials", "https://git@example.com/x"),
        keeps("uri_credentials", "https://${TOKEN}@github.com/x"),
        // git_remote_path
        redacts(
            "git_remote_path",
            "remote: git@github.com:widgets/gears.git",
            "remote: git@github.com:[repo]",
        ),
        redacts(
            "git_remote_path",
            "ssh://git@gitlab.example.com:2222/group/sub/repo.git",
            "ssh://git@gitlab.example.com:2222/[repo]",
        ),
        keeps("git_remote_path", "git@github.com: Permission denied (publickey)."),
        // url_query_secret
        redacts_n(
            "url_query_secret",
            2,
            "GET /callback?code=4/0AX4XfWh&state=af0ifjsldkj HTTP/1.1",
            "GET /callback?code=[REDACTED:url_query_secret]&state=[REDACTED:url_query_secret] HTTP/1.1",
        ),
        redacts_n(
            "url_query_secret",
            3,
            "https://example.com/x?access_token=abc&api_key=def&sig=ghi%3D&page=2",
            "https://example.com/x?access_token=[REDACTED:url_query_secret]&api_key=[REDACTED:url_query_secret]&sig=[REDACTED:url_query_secret]&page=2",
        ),
        redacts(
            "url_query_secret",
            "b.s3.amazonaws.com/k?X-Amz-Date=20260101T000000Z&X-Amz-Signature=0f1e2d3c",
            "b.s3.amazonaws.com/k?X-Amz-Date=20260101T000000Z&X-Amz-Signature=[REDACTED:url_query_secret]",
        ),
        keeps("url_query_secret", "https://example.com/search?page=2&sort=asc"),
        keeps("url_query_secret", "https://example.com/?token=${TOKEN}"),
        // secret_flag
        redacts(
            "secret_flag",
            "mysql --password hunter2 --host db",
            "mysql --password [REDACTED:secret_flag] --host db",
        ),
        redacts(
            "secret_flag",
            "tool --github-token 'abc123'",
            "tool --github-token '[REDACTED:secret_flag]'",
        ),
        keeps("secret_flag", "tool --token-file /tmp/t --password --verbose"),
        keeps(
            "secret_flag",
            "usage: tool [--token TOKEN] [--api-key API_KEY] [--password <PASSWORD>]",
        ),
        keeps(
            "secret_flag",
            "a new option --smtp-auth to limit the SMTP AUTH mechanisms",
        ),
        // secret_assignment
        redacts(
            "secret_assignment",
            "password=hunter2",
            "password=[REDACTED:secret_assignment]",
        ),
        redacts(
            "secret_assignment",
            "export API_KEY=abc123def",
            "export API_KEY=[REDACTED:secret_assignment]",
        ),
        redacts(
            "secret_assignment",
            "config:\n  db_password: correct horse battery staple\n  host: db",
            "config:\n  db_password: [REDACTED:secret_assignment]\n  host: db",
        ),
        redacts(
            "secret_assignment",
            r#"{"user": "bob", "client_secret": "s3cr3t value", "n": 1}"#,
            r#"{"user": "bob", "client_secret": "[REDACTED:secret_assignment]", "n": 1}"#,
        ),
        redacts(
            "secret_assignment",
            r#"body: {\"password\":\"hunter2\"}"#,
            r#"body: {\"password\":\"[REDACTED:secret_assignment]\"}"#,
        ),
        redacts(
            "secret_assignment",
            "failed: token=abc123, retrying",
            "failed: token=[REDACTED:secret_assignment], retrying",
        ),
        redacts(
            "secret_assignment",
            "$cfg = ['auth_key' => 'k3y'];",
            "$cfg = ['auth_key' => '[REDACTED:secret_assignment]'];",
        ),
        redacts(
            "secret_assignment",
            r#"apiKey := "abc""#,
            r#"apiKey := "[REDACTED:secret_assignment]""#,
        ),
        redacts(
            "secret_assignment",
            "SECRET_KEY_BASE=0123abcd",
            "SECRET_KEY_BASE=[REDACTED:secret_assignment]",
        ),
        redacts(
            "secret_assignment",
            "<config><db_password>hunter2</db_password></config>",
            "<config><db_password>[REDACTED:secret_assignment]</db_password></config>",
        ),
        redacts(
            "secret_assignment",
            r#"creds = {'api_key': 'k3y', "n": 1}"#,
            r#"creds = {'api_key': '[REDACTED:secret_assignment]', "n": 1}"#,
        ),
        redacts(
            "secret_assignment",
            r#"    private static final String PASSWORD = "p4ss word";"#,
            r#"    private static final String PASSWORD = "[REDACTED:secret_assignment]";"#,
        ),
        redacts(
            "secret_assignment",
            "password=abc\r\nuser=bob",
            "password=[REDACTED:secret_assignment]\r\nuser=bob",
        ),
        keeps("secret_assignment", "<token_count>5</token_count> <password/>"),
        keeps("secret_assignment", r#"{"max_tokens": 4096, "token_count": 5}"#),
        keeps("secret_assignment", "Token::new(); token::Token; tokenizer=bpe"),
        keeps("secret_assignment", "password=${DB_PASS} token: {{ vault.token }}"),
        keeps("secret_assignment", r#"{"token": null, "password": ""}"#),
        keeps("secret_assignment", "author: bob\nPWD=/srv/app\npassword: is required"),
        keeps("secret_assignment", "install xauth:amd64 1:1.1.2-1 and oauthlib: 3.2"),
        redacts(
            "secret_assignment",
            "NPM_AUTH=dXNlcjpw\nsent x-auth: s3cret",
            "NPM_AUTH=[REDACTED:secret_assignment]\nsent x-auth: [REDACTED:secret_assignment]",
        )
        .with_redactions(2),
        keeps("secret_assignment", r#""secrets": {"#),
    ]
}

fn personal_data() -> Vec<Golden> {
    vec![
        // home_path
        redacts(
            "home_path",
            "at /home/alice/proj/src/main.rs:3:5",
            "at ~/proj/src/main.rs:3:5",
        ),
        redacts("home_path", "/Users/bob/Library/Caches", "~/Library/Caches"),
        redacts("home_path", r"C:\Users\Carol Smith\AppData\Local", r"~\AppData\Local"),
        redacts(
            "home_path",
            r#"{"path": "C:\\Users\\dave\\x.txt"}"#,
            r#"{"path": "~\\x.txt"}"#,
        ),
        redacts("home_path", "c:/users/erin/x", "~/x"),
        redacts("home_path", "/root/.cargo/registry", "~/.cargo/registry"),
        redacts("home_path", "file:///home/frank/x.html", "file://~/x.html"),
        redacts("home_path", "/mnt/c/Users/gina/x", "~/x"),
        redacts("home_path", "/var/home/hana/x", "~/x"),
        redacts("home_path", "cd ~ivan/src", "cd ~/src"),
        redacts("home_path", "PATH=/usr/bin:/home/josé/bin", "PATH=/usr/bin:~/bin"),
        redacts_n("home_path", 2, "cp '/home/kim/a' \"/Users/lee/b\"", "cp '~/a' \"~/b\""),
        keeps("home_path", "/srv/home/x and https://example.com/home/alice"),
        keeps("home_path", "/rootfs/etc and ~/x and HEAD~1 and /home/"),
        // email
        redacts(
            "email",
            "contact alice.smith+tag@example.co.uk now",
            "contact [email] now",
        ),
        redacts("email", "<bob@mail.example.org>", "<[email]>"),
        redacts("email", "from josé.müller@exämple.de:", "from [email]:"),
        keeps(
            "email",
            "git@github.com icon@2x.png user@localhost a@b.com1 getty@tty1.service",
        ),
        keeps("email", "npm i @scope/pkg@1.2.3 and golang.org/x/sys@v0.1.0"),
        // ip_address: IPv6
        redacts("ip_address", "listen [fe80::1%eth0]:80", "listen [[ip]]:80"),
        redacts("ip_address", "connect to fd00::5 failed", "connect to [ip] failed"),
        redacts("ip_address", "refused by fe80::1: timeout", "refused by [ip]: timeout"),
        redacts("ip_address", "addr:fe80::2", "addr:[ip]"),
        redacts("ip_address", "prefix fe80:: only", "prefix [ip] only"),
        redacts("ip_address", "from 2001:db8:85a3:0:0:8a2e:370:7334.", "from [ip]."),
        redacts("ip_address", "peer ::ffff:192.0.2.1 reset", "peer [ip] reset"),
        redacts("ip_address", "https://[2001:db8::42]:443/", "https://[[ip]]:443/"),
        keeps(
            "ip_address",
            "Face::add dead::beef core::f32::EPSILON std::u8::MAX a::b::c <T as Foo>::f1",
        ),
        keeps("ip_address", "12:34:56 and 00:1a:2b:3c:4d:5e"),
        keeps(
            "ip_address",
            "refused: [::1]:8080, 127.0.0.1:8080, 0.0.0.0:80, ::ffff:127.0.0.1 and ::",
        ),
        // ip_address: IPv4
        redacts("ip_address", "connect 10.0.0.1:5432", "connect [ip]:5432"),
        redacts_n(
            "ip_address",
            2,
            "from 192.168.1.254 to 172.16.0.9.",
            "from [ip] to [ip].",
        ),
        redacts("ip_address", "version 10.2.0.1", "version [ip]"),
        keeps(
            "ip_address",
            "v10.2.3.4 10.2.3.4.5 10.0.19041.1 256.1.1.1 1.2.3 010.0.0.1",
        ),
        keeps(
            "ip_address",
            "Git 1.8.1.4 release notes, version 1.2.3.4, resolver 8.8.8.8",
        ),
        keeps(
            "ip_address",
            "alsa-topology-conf (1.2.5.10-2) and libfoo 1.2.3.40+b1, 2.0.0.10~rc1",
        ),
        // literal
        redacts_n("literal", 2, "cloning acme/secret-project", "cloning [name]/[name]"),
        redacts_n(
            "literal",
            2,
            "ACME-tools and Secret-Project.git",
            "[name]-tools and [name].git",
        ),
        redacts(
            "literal",
            "panicked in secret_project::run at acme",
            "panicked in secret_project::run at [name]",
        ),
        keeps("literal", "acme_corp acmeish secret-projection"),
    ]
}

/// Ordinary output that looks a little like secrets or personal data.
fn ordinary() -> Vec<Golden> {
    [
        "<core::slice::Iter<T> as core::iter::Iterator>::fold",
        "Face::add",
        "std::rt::lang_start::{{closure}}",
        "<alloc::boxed::Box<F,A> as core::ops::function::FnOnce<Args>>::call_once::h0be520bdeb30de61",
        "versions 1.2.3 v20.11.1 3.11.7 1.75.0-nightly",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
        "at 2026-11-21T05:25:34Z and 2026-11-21 05:25:34.123+00:00",
        "12:34:56.789",
        "src/report/mod.rs:12:5",
        "ValueError: invalid literal for int() with base 10: 'x'",
        "0x7ffd5e8c and 0x0000000800c03000",
        "main.(*Server).ServeHTTP(0xc000010000, {0x6d0f20, 0xc00001c0e0})",
        "java.base/java.lang.Thread.run(Thread.java:833)",
        "Foo$$Lambda$14/0x0000000800c03000.run",
        "at Object.<anonymous> (/srv/app/index.js:3:9)",
        "SyntaxError: Unexpected token '}'",
        "thread 'main' (12345) panicked at src/main.rs:2:5:",
    ]
    .into_iter()
    .map(|text| keeps("ordinary", text))
    .collect()
}

impl Golden {
    fn with_redactions(mut self, n: usize) -> Golden {
        self.redactions = n;
        self
    }
}

/// One positive and one near-miss vector per provider row.
fn provider_vectors() -> Vec<Golden> {
    PROVIDER_TOKENS
        .iter()
        .flat_map(|(rule, parts)| {
            [
                redacts(
                    rule,
                    format!("token {} rejected", provider_token(parts, false)),
                    format!("token [REDACTED:{rule}] rejected"),
                ),
                keeps(rule, format!("see {} here", provider_token(parts, true))),
            ]
        })
        .collect()
}

fn all_vectors() -> Vec<Golden> {
    let mut all = secrets();
    all.extend(provider_vectors());
    all.extend(personal_data());
    all.extend(ordinary());
    all
}

#[test]
fn every_positive_vector_is_redacted_exactly() {
    let scrubber = scrubber();
    let failures: Vec<String> = all_vectors()
        .iter()
        .filter(|g| g.redactions > 0)
        .filter_map(|g| {
            let out = scrubber.scrub(&g.input);
            (out.text != g.expected || out.redactions != g.redactions).then(|| {
                format!(
                    "[{}]\n  input:    {:?}\n  expected: {:?} ({})\n  got:      {:?} ({})",
                    g.rule, g.input, g.expected, g.redactions, out.text, out.redactions
                )
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_near_miss_is_left_alone() {
    let scrubber = scrubber();
    let failures: Vec<String> = all_vectors()
        .iter()
        .filter(|g| g.redactions == 0)
        .filter_map(|g| {
            let out = scrubber.scrub(&g.input);
            let untouched = matches!(out.text, Cow::Borrowed(_)) && out.redactions == 0;
            (!untouched).then(|| format!("[{}] {:?}\n  became {:?}", g.rule, g.input, out.text))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_positive_and_negative_vectors() {
    let vectors = all_vectors();
    let with = |positive: bool| -> BTreeSet<&str> {
        vectors
            .iter()
            .filter(|g| (g.redactions > 0) == positive)
            .map(|g| g.rule)
            .collect()
    };
    let (positive, negative) = (with(true), with(false));
    for rule in rule_names() {
        assert!(positive.contains(rule), "no positive vector for {rule}");
        assert!(negative.contains(rule), "no near-miss vector for {rule}");
    }
    let known: BTreeSet<&str> = rule_names().into_iter().chain(["ordinary"]).collect();
    for g in &vectors {
        assert!(known.contains(g.rule), "vector for unknown rule {}", g.rule);
    }
}

#[test]
fn scrubbed_vectors_do_not_change_when_scrubbed_again() {
    let scrubber = scrubber();
    for g in all_vectors() {
        let once = scrubber.scrub(&g.input);
        let twice = scrubber.scrub(&once.text);
        assert_eq!(twice.text, once.text, "[{}] {:?}", g.rule, g.input);
        assert_eq!(twice.redactions, 0, "[{}] {:?}", g.rule, g.input);
    }
}

#[test]
fn markers_are_never_matched_again() {
    let text = [
        "[REDACTED:github_token] [email] [ip] [repo] [name] ~ [REDACTED:secret_assignment]",
        "password=[REDACTED:secret_assignment]",
        "\"secret\": \"[REDACTED:secret_assignment]\"",
        "https://[REDACTED:uri_credentials]@x.com ~/x git@github.com:[repo]",
        "Authorization: Bearer [REDACTED:auth_header]",
        "[[ip]]:80 [email]::1 [email]@[ip] [REDACTED:jwt].x",
    ]
    .join("\n");
    let out = Scrubber::with_literals(&["redacted".into(), "github_token".into()]).scrub(&text);
    assert_eq!(out.text, text);
    assert_eq!(out.redactions, 0);
}

#[test]
fn text_between_existing_markers_is_still_scrubbed() {
    let out = Scrubber::new().scrub("\"secret\": \"[ip] hunter2 [ip]\"");
    assert_eq!(out.text, "\"secret\": \"[ip] [REDACTED:secret_assignment] [ip]\"");
    assert_eq!(out.redactions, 1);
}

#[test]
fn ordinary_stderr_passes_through_unchanged() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scrub/ordinary_stderr.txt");
    let text = fs::read_to_string(&path).unwrap();
    let out = scrubber().scrub(&text);
    if out.text != text {
        let changed: Vec<String> = text
            .lines()
            .zip(out.text.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("  {a}\n  {b}"))
            .collect();
        panic!("ordinary lines were changed:\n{}", changed.join("\n"));
    }
    assert_eq!(out.redactions, 0);
}

/// The report fixture names fake tokens as `{{rule}}`; they are generated here.
fn fill_report_template(template: &str) -> String {
    let tokens = [
        ("{{github_token}}", fake("ghp_", 36, ALNUM)),
        ("{{anthropic_key}}", format!("{}AA", fake("sk-ant-api03-", 93, B64URL))),
        ("{{aws_access_key_id}}", fake("AKIA", 16, BASE32_UPPER)),
        ("{{stripe_key}}", fake("sk_live_", 24, ALNUM)),
        ("{{slack_token}}", fake("xoxb-123456789012-1234567890123-", 24, ALNUM)),
        ("{{private_key}}", pem_block("RSA ", "\n")),
    ];
    tokens
        .iter()
        .fold(template.to_string(), |text, (name, token)| text.replace(name, token))
}

#[test]
fn a_whole_report_scrubs_to_the_expected_text() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scrub");
    let template = fs::read_to_string(dir.join("report.in.txt")).unwrap();
    let expected = fs::read_to_string(dir.join("report.out.txt")).unwrap();
    let input = fill_report_template(&template);
    assert!(!input.contains("{{"), "unfilled placeholder in report.in.txt");
    let out = scrubber().scrub(&input);
    assert_eq!(out.text, expected);
    let markers = expected.matches("[REDACTED:").count()
        + ["[email]", "[ip]", "[repo]", "[name]"]
            .iter()
            .map(|m| expected.matches(m).count())
            .sum::<usize>()
        + expected.matches('~').count();
    assert_eq!(out.redactions, markers);
}

#[test]
fn ansi_colour_codes_do_not_shield_a_token() {
    let token = fake("ghp_", 36, ALNUM);
    let coloured = format!("\u{1b}[31m{token}\u{1b}[0m");
    let out = Scrubber::new().scrub(&coloured);
    assert_eq!(out.text, "[REDACTED:github_token]");
}

#[test]
fn invisible_characters_never_survive_and_line_breaks_do() {
    let out = Scrubber::new().scrub("Error\u{202e})gnp.exe(\u{2066} at\u{ad} x\u{feff}\r\n\tnext\r");
    assert_eq!(out.text, "Error)gnp.exe( at x\r\n\tnext");
    assert_eq!(out.redactions, 0);
    let twice = Scrubber::new().scrub(&out.text);
    assert!(matches!(twice.text, Cow::Borrowed(_)));
}

#[test]
fn multi_byte_whitespace_before_an_at_sign_is_handled() {
    // Found by the property tests: a three-byte space right before a would-be e-mail used
    // to make a check slice inside a character. Non-ASCII characters count as letters of
    // an address, so one glued to it goes with it.
    let out = Scrubber::new().scrub("\u{2000}!+@𝐀.ﹶ and \u{3000}bob@example.com");
    assert_eq!(out.text, "\u{2000}![email] and [email]");
}

#[test]
fn text_without_anything_to_redact_is_borrowed() {
    let out = Scrubber::default().scrub("all quiet on stderr");
    assert!(matches!(out.text, Cow::Borrowed("all quiet on stderr")));
    assert_eq!(out.redactions, 0);
    assert_eq!(Scrubber::new().scrub("").text, "");
}

#[test]
fn short_and_common_literals_are_ignored() {
    let scrubber = Scrubber::with_literals(&["ab/core".into(), "io".into(), "x".into()]);
    let text = "ab io x core::slice std::io::Error";
    assert_eq!(scrubber.scrub(text).text, text);
}

#[test]
fn literals_match_whole_tokens_case_insensitively() {
    let scrubber = Scrubber::with_literals(&["Widget-Co".into()]);
    let out = scrubber.scrub("WIDGET-CO/widget-co.git widget-cool widget-co_x");
    assert_eq!(out.text, "[name]/[name].git widget-cool widget-co_x");
    assert_eq!(out.redactions, 2);
}

/// Rule versions start at 1 and only go up.
const _: () = assert!(RULES_VERSION >= 1);

#[test]
fn rules_have_unique_snake_case_names() {
    let names = rule_names();
    let unique: BTreeSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "duplicate rule names");
    assert!(names.iter().all(|n| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }));
}

/// Provider formats, one row per rule: a token assembled from `(text, count, alphabet)`
/// parts, which must be replaced whole wherever it stands (alone, glued to a word character,
/// in a sentence); and the same token with its random parts cut to a fifth, which must not be.
/// Literal text, then that many random characters of the alphabet.
type Part = (&'static str, usize, &'static str);

const PROVIDER_TOKENS: &[(&str, &[Part])] = &[
    ("aws_session_token", &[("IQoJb3JpZ2luX2VjE", 120, B64)]),
    ("aws_bedrock_key", &[("ABSKQmVkcm9ja0FQSUtleS", 100, B64)]),
    ("google_oauth_secret", &[("GOCSPX-", 28, B64URL)]),
    ("google_refresh_token", &[("1//0", 60, B64URL)]),
    ("firebase_server_key", &[("AAAA", 7, ALNUM), (":APA91b", 134, B64URL)]),
    ("azure_client_secret", &[("", 3, ALNUM), ("8Q~", 34, ALNUM)]),
    ("alibaba_access_key", &[("LTAI", 20, ALNUM)]),
    ("tencent_secret_id", &[("AKID", 32, ALNUM)]),
    ("yandex_token", &[("AQVN", 36, B64URL)]),
    ("scaleway_key", &[("SCW", 17, UPPER_ALNUM)]),
    ("cloudflare_origin_ca_key", &[("v1.0-", 24, HEX), ("-", 146, HEX)]),
    ("flyio_token", &[("fo1_", 43, B64URL)]),
    ("netlify_token", &[("nfp_", 36, ALNUM)]),
    ("render_api_key", &[("rnd_", 32, ALNUM)]),
    ("supabase_token", &[("sbp_", 40, HEX)]),
    ("neon_api_key", &[("napi_", 64, "abcdefghijklmnopqrstuvwxyz0123456789")]),
    ("planetscale_token", &[("pscale_tkn_", 43, B64URL)]),
    ("aiven_password", &[("AVNS_", 24, B64URL)]),
    ("deno_deploy_token", &[("ddp_", 36, ALNUM)]),
    ("openshift_token", &[("sha256~", 43, B64URL)]),
    ("akamai_token", &[("akab-", 16, HEX), ("-", 16, HEX)]),
    ("tailscale_key", &[("tskey-auth-", 12, ALNUM), ("-", 30, ALNUM)]),
    (
        "defined_networking_key",
        &[("dnkey-", 26, UPPER_ALNUM), ("-", 52, UPPER_ALNUM)],
    ),
    ("elastic_cloud_key", &[("essu_", 80, B64)]),
    ("clickhouse_key", &[("4b1d", 38, ALNUM)]),
    ("scalingo_token", &[("tk-us-", 48, B64URL)]),
    ("dropbox_token", &[("sl.", 138, B64URL)]),
    (
        "amazon_mws_token",
        &[
            ("amzn.mws.", 8, HEX),
            ("-", 4, HEX),
            ("-", 4, HEX),
            ("-", 4, HEX),
            ("-", 12, HEX),
        ],
    ),
    ("bitbucket_token", &[("ATBB", 40, ALNUM)]),
    ("sourcegraph_token", &[("sgp_", 16, HEX), ("_", 40, HEX)]),
    ("crates_io_token", &[("cio", 32, ALNUM)]),
    ("nuget_key", &[("oy2", 43, "abcdefghijklmnopqrstuvwxyz0123456789")]),
    ("packagist_token", &[("packagist_ort_", 68, HEX)]),
    (
        "clojars_token",
        &[("CLOJARS_", 60, "abcdefghijklmnopqrstuvwxyz0123456789")],
    ),
    ("docker_hub_token", &[("dckr_pat_", 27, B64URL)]),
    ("jfrog_token", &[("AKCp", 69, ALNUM)]),
    ("circleci_token", &[("CCIPAT_", 22, ALNUM), ("_", 40, HEX)]),
    ("buildkite_token", &[("bkua_", 40, HEX)]),
    ("sonarqube_token", &[("squ_", 40, HEX)]),
    ("terraform_token", &[("", 14, ALNUM), (".atlasv1.", 67, B64URL)]),
    (
        "infisical_token",
        &[("st.", 8, HEX), ("-", 27, HEX), (".", 32, HEX), (".", 32, HEX)],
    ),
    ("onepassword_secret", &[("ops_eyJ", 250, B64URL)]),
    (
        "harness_token",
        &[("pat.", 22, B64URL), (".", 24, HEX), (".", 20, ALNUM)],
    ),
    ("octopus_key", &[("API-", 26, UPPER_ALNUM)]),
    (
        "teamcity_token",
        &[("eyJ0eXAiOiAiVENWMiJ9.", 36, B64URL), (".", 48, B64URL)],
    ),
    ("prefect_key", &[("pnu_", 36, ALNUM)]),
    ("readme_key", &[("rdme_", 70, "abcdefghijklmnopqrstuvwxyz0123456789")]),
    (
        "jetbrains_token",
        &[("perm:", 12, ALNUM), (".", 20, ALNUM), (".", 30, ALNUM)],
    ),
    ("frameio_token", &[("fio-u-", 64, B64URL)]),
    ("figma_token", &[("figd_", 40, B64URL)]),
    ("notion_token", &[("ntn_", 11, "0123456789"), ("", 35, ALNUM)]),
    ("airtable_token", &[("pat", 14, ALNUM), (".", 64, HEX)]),
    ("clickup_token", &[("pk_", 8, "0123456789"), ("_", 32, UPPER_ALNUM)]),
    ("typeform_token", &[("tfp_", 59, B64URL)]),
    ("contentful_token", &[("CFPAT-", 43, B64URL)]),
    ("apollo_key", &[("service:my-graph:", 22, ALNUM)]),
    ("stackhawk_key", &[("hawk.", 20, ALNUM), (".", 20, ALNUM)]),
    ("trigger_dev_key", &[("tr_dev_", 20, ALNUM)]),
    ("inngest_key", &[("signkey-prod-", 64, HEX)]),
    ("wix_key", &[("IST.eyJ", 200, B64URL)]),
    ("adafruit_key", &[("aio_", 28, ALNUM)]),
    ("ubidots_token", &[("BBFF-", 30, ALNUM)]),
    ("matrix_token", &[("syt_", 8, ALNUM), ("_", 20, ALNUM), ("_", 6, ALNUM)]),
    ("coralogix_key", &[("cxtp_", 30, ALNUM)]),
    ("checkly_key", &[("cu_", 32, HEX)]),
    ("groq_key", &[("gsk_", 52, ALNUM)]),
    ("xai_key", &[("xai-", 80, ALNUM)]),
    ("replicate_token", &[("r8_", 37, ALNUM)]),
    ("langsmith_key", &[("lsv2_pt_", 32, HEX), ("_", 10, HEX)]),
    ("pinecone_key", &[("pcsk_", 60, B64URL)]),
    ("tavily_key", &[("tvly-", 32, ALNUM)]),
    ("fireworks_key", &[("fw_", 24, ALNUM)]),
    ("voyage_key", &[("pa-", 43, B64URL)]),
    ("elevenlabs_key", &[("sk_", 48, HEX)]),
    ("anyscale_key", &[("esecret_", 40, ALNUM)]),
    ("modal_token", &[("ak-", 22, ALNUM)]),
    ("square_token", &[("sq0csp-", 43, B64URL)]),
    ("shippo_token", &[("shippo_live_", 40, HEX)]),
    (
        "braintree_token",
        &[
            ("access_token$production$", 16, "abcdefghijklmnopqrstuvwxyz0123456789"),
            ("$", 32, HEX),
        ],
    ),
    ("razorpay_key", &[("rzp_live_", 14, ALNUM)]),
    ("flutterwave_key", &[("FLWSECK_TEST-", 32, HEX), ("-X", 0, HEX)]),
    (
        "plaid_token",
        &[
            ("access-sandbox-", 8, HEX),
            ("-", 4, HEX),
            ("-", 4, HEX),
            ("-", 4, HEX),
            ("-", 12, HEX),
        ],
    ),
    ("duffel_token", &[("duffel_test_", 43, B64URL)]),
    ("easypost_key", &[("EZAK", 54, ALNUM)]),
    ("woocommerce_key", &[("ck_", 40, HEX)]),
    ("klaviyo_key", &[("pk_", 34, HEX)]),
    ("mercury_key", &[("mercury_production_wma_", 40, ALNUM)]),
    ("facebook_token", &[("EAACEdEose0cBA", 120, ALNUM)]),
    ("instagram_token", &[("IGQV", 160, B64URL)]),
    ("pinterest_token", &[("pina_", 96, UPPER_ALNUM)]),
    (
        "twitter_bearer_token",
        &[("AAAAAAAAAAAAAAAAAAAAA", 20, ALNUM), ("%3D", 50, ALNUM)],
    ),
    ("vk_token", &[("vk1.a.", 200, B64URL)]),
    ("foursquare_key", &[("fsq3", 40, ALNUM)]),
    ("telegram_bot_token", &[("", 9, "0123456789"), (":AA", 33, B64URL)]),
    ("mailchimp_key", &[("", 32, HEX), ("-us12", 0, HEX)]),
    ("mailgun_key", &[("key-", 32, HEX)]),
    ("brevo_key", &[("xkeysib-", 64, HEX), ("-", 16, ALNUM)]),
    ("mandrill_key", &[("md-", 22, ALNUM)]),
    ("resend_key", &[("re_", 8, ALNUM), ("_", 24, ALNUM)]),
    (
        "onesignal_key",
        &[("os_v2_app_", 110, "abcdefghijklmnopqrstuvwxyz0123456789")],
    ),
    ("zoho_token", &[("1000.", 32, HEX), (".", 32, HEX)]),
    ("salesforce_token", &[("00D", 12, ALNUM), ("!", 96, ALNUM)]),
    (
        "hubspot_token",
        &[
            ("pat-na1-", 8, HEX),
            ("-", 4, HEX),
            ("-", 4, HEX),
            ("-", 4, HEX),
            ("-", 12, HEX),
        ],
    ),
    (
        "deepl_key",
        &[
            ("", 8, HEX),
            ("-", 4, HEX),
            ("-", 4, HEX),
            ("-", 4, HEX),
            ("-", 12, HEX),
            (":fx", 0, HEX),
        ],
    ),
    ("maxmind_key", &[("", 6, ALNUM), ("_", 29, ALNUM), ("_mmk", 0, HEX)]),
    (
        "dynatrace_token",
        &[("dt0c01.", 24, UPPER_ALNUM), (".", 64, UPPER_ALNUM)],
    ),
    (
        "honeycomb_key",
        &[("hcaik_", 58, "abcdefghijklmnopqrstuvwxyz0123456789")],
    ),
    ("honeybadger_token", &[("hbp_", 36, ALNUM)]),
    ("posthog_key", &[("phx_", 43, ALNUM)]),
    (
        "launchdarkly_key",
        &[
            ("sdk-", 8, HEX),
            ("-", 4, HEX),
            ("-", 4, HEX),
            ("-", 4, HEX),
            ("-", 12, HEX),
        ],
    ),
    ("adobe_client_secret", &[("p8e-", 32, ALNUM)]),
    (
        "authress_key",
        &[("sc_", 20, HEX), (".", 5, HEX), (".acc_", 20, HEX), (".", 60, B64URL)],
    ),
    ("lambdatest_key", &[("LT_", 47, ALNUM)]),
    ("mapbox_token", &[("sk.eyJ", 60, B64URL), (".", 22, B64URL)]),
    (
        "discord_bot_token",
        &[("MT", 24, ALNUM), (".", 6, B64URL), (".", 38, B64URL)],
    ),
    ("mailgun_signing_key", &[("", 32, HEX), ("-", 8, HEX), ("-", 8, HEX)]),
];

fn provider_token(parts: &[Part], shorten: bool) -> String {
    parts
        .iter()
        .map(|&(text, len, charset)| {
            let len = if shorten { len / 5 } else { len };
            if len == 0 {
                text.to_string()
            } else {
                fake(text, len, charset)
            }
        })
        .collect()
}

#[test]
fn provider_tokens_are_redacted_alone_glued_and_in_a_sentence() {
    let scrubber = Scrubber::new();
    let mut failures = Vec::new();
    for (rule, parts) in PROVIDER_TOKENS {
        assert!(rule_names().contains(rule), "unknown rule {rule}");
        let token = provider_token(parts, false);
        let marker = format!("[REDACTED:{rule}]");
        for (input, expected) in [
            (token.clone(), marker.clone()),
            (format!("open_{token}"), format!("open_{marker}")),
            (
                format!("error: upstream rejected {token} (401)"),
                format!("error: upstream rejected {marker} (401)"),
            ),
        ] {
            let out = scrubber.scrub(&input);
            if out.text != expected {
                failures.push(format!("[{rule}] {input}\n  became {}", out.text));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn provider_tokens_cut_short_are_left_alone() {
    let scrubber = Scrubber::new();
    let mut failures = Vec::new();
    for (rule, parts) in PROVIDER_TOKENS {
        let near_miss = format!("see {} here", provider_token(parts, true));
        let out = scrubber.scrub(&near_miss);
        if out.redactions != 0 {
            failures.push(format!("[{rule}] {near_miss}\n  became {}", out.text));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_catch_all_runs_only_when_asked_for() {
    let scrubber = Scrubber::new();
    let line = "plugin call failed: upstream said aZ3kP9qL2xW7mN4vB8cR1tY6 is invalid";
    let ordinary = scrubber.scrub(line);
    assert_eq!(ordinary.text, line);
    let free = scrubber.scrub_free_text(line);
    assert_eq!(
        free.text,
        "plugin call failed: upstream said [REDACTED:high_entropy] is invalid"
    );
    assert_eq!(free.redactions, 1);
    assert_eq!(scrubber.scrub_free_text(&free.text).text, free.text);
}

#[test]
fn the_catch_all_leaves_ordinary_output_alone() {
    let scrubber = Scrubber::new();
    for line in [
        "commit 9fceb02d0ae598e95dc970b74767f19372d61af8 (uuid 123e4567-e89b-12d3-a456-426614174000)",
        "   Compiling lokiwrap-report v0.1.0 (/srv/build/lokiwrap) -C metadata=b7d11b783e7a3b70",
        "  at Object.<anonymous> (/srv/app/node_modules/@scope/pkg/dist/index.js:3:9)",
        "\"integrity\": \"sha512-Xy8Qp3Lm7Zr2Kd9Tn4Wb6Hc1Fv5Gs0Je8AaXy8Qp3Lm7Zr2Kd9Tn4Wb6Hc1==\"",
        "go: downloading golang.org/x/sys v0.0.0-20210101120000-abcdef123456",
    ] {
        assert_eq!(scrubber.scrub_free_text(line).text, line);
    }
}

#[test]
fn the_catch_all_keeps_the_rules_markers() {
    let token = fake("ghp_", 36, ALNUM);
    let text = format!("push {token} and q7x2m9p4k8w3z6v1n5b0c7x2");
    let out = Scrubber::new().scrub_free_text(&text);
    assert_eq!(out.text, "push [REDACTED:github_token] and [REDACTED:high_entropy]");
    assert_eq!(out.redactions, 2);
}
