//! The scrubber's figures: recall per family of secrets, with the token alone on a line,
//! glued to a word before it, and in context; the share of lines of real program output it
//! leaves untouched; and idempotence over everything it scrubbed. Prints one table.
//!
//! Run with `cargo run --release -p lokiwrap-report --example scrub_figures`. Throughput is
//! measured by `cargo bench -p lokiwrap-report --bench scrub`.
//!
//! The secrets are generated from the providers' published token formats (prefix, alphabet,
//! length), written here independently of the rules in `src/scrub/rules.rs`; bodies are
//! random, so no real credential is stored. The benign lines are captured output of
//! compilers, test runners, git, package managers and the like
//! (`tests/fixtures/scrub/benign/capture.sh`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use lokiwrap_report::scrub::Scrubber;

#[path = "../benches/support/lcg.rs"]
mod lcg;
use lcg::Lcg;

/// Tokens generated per provider.
const SAMPLES: usize = 20;

fn alphabet(class: &str) -> &'static str {
    match class {
        "hex" => "0123456789abcdef",
        "HEX" => "0123456789ABCDEF",
        "alnum" => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "upper" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "lower" => "abcdefghijklmnopqrstuvwxyz",
        "upalnum" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "lowalnum" => "abcdefghijklmnopqrstuvwxyz0123456789",
        "digits" => "0123456789",
        "b64" => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        "b64url" => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        "base32" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
        "azure" => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-",
        _ => panic!("unknown class {class}"),
    }
}

/// Expands a format: literal text with `{class:n}` or `{class:min-max}` runs of random
/// characters, and `{uuid}`.
fn generate(format: &str, rng: &mut Lcg) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').expect("unclosed {");
        let spec = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if spec == "uuid" {
            let hex = |rng: &mut Lcg, n| generate(&format!("{{hex:{n}}}"), rng);
            let parts = [hex(rng, 8), hex(rng, 4), hex(rng, 4), hex(rng, 4), hex(rng, 12)];
            out.push_str(&parts.join("-"));
            continue;
        }
        let (class, len) = spec.split_once(':').expect("class:len");
        let (min, max) = match len.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()),
            None => (len.parse().unwrap(), len.parse().unwrap()),
        };
        let n = min + rng.below(max - min + 1);
        let chars: Vec<char> = alphabet(class).chars().collect();
        for _ in 0..n {
            out.push(chars[rng.below(chars.len())]);
        }
    }
    out.push_str(rest);
    out
}

/// (family, provider, token formats). Formats as the providers document them.
const PROVIDERS: &[(&str, &str, &[&str])] = &[
    // Cloud and hosting.
    ("cloud", "AWS access key id", &["AKIA{base32:16}", "ASIA{base32:16}"]),
    (
        "cloud",
        "AWS session token",
        &["IQoJb3JpZ2luX2VjE{b64:300-400}", "FwoGZXIvYXdzE{b64:200-300}"],
    ),
    ("cloud", "AWS Bedrock API key", &["ABSKQmVkcm9ja0FQSUtleS{b64:100-140}"]),
    ("cloud", "Google API key", &["AIza{b64url:35}"]),
    ("cloud", "Google OAuth access token", &["ya29.{b64url:100-160}"]),
    ("cloud", "Google OAuth client secret", &["GOCSPX-{b64url:28}"]),
    ("cloud", "Google OAuth refresh token", &["1//0{b64url:80-100}"]),
    (
        "cloud",
        "Firebase Cloud Messaging server key",
        &["AAAA{b64url:7}:APA91b{b64url:134}"],
    ),
    ("cloud", "Azure AD client secret", &["{azure:3}{digits:1}Q~{azure:34}"]),
    ("cloud", "Azure storage account key", &["{b64:86}=="]),
    (
        "cloud",
        "Alibaba Cloud access key",
        &["LTAI{alnum:20}", "LTAI{alnum:12}"],
    ),
    ("cloud", "Tencent Cloud secret id", &["AKID{alnum:32}"]),
    ("cloud", "Yandex Cloud API key", &["AQVN{b64url:36}"]),
    ("cloud", "Yandex Cloud IAM token", &["t1.{b64url:60}.{b64url:86}"]),
    ("cloud", "Scaleway access key", &["SCW{upalnum:17}"]),
    ("cloud", "DigitalOcean token", &["dop_v1_{hex:64}", "doo_v1_{hex:64}"]),
    ("cloud", "Cloudflare origin CA key", &["v1.0-{hex:24}-{hex:146}"]),
    ("cloud", "Fly.io token", &["fo1_{b64url:43}", "fm2_{b64:150-200}"]),
    ("cloud", "Netlify token", &["nfp_{alnum:36}"]),
    ("cloud", "Render API key", &["rnd_{alnum:32}"]),
    ("cloud", "Heroku API key", &["HRKU-{b64url:60}"]),
    ("cloud", "Supabase token", &["sbp_{hex:40}", "sb_secret_{b64url:31}"]),
    ("cloud", "Neon API key", &["napi_{lowalnum:64}"]),
    (
        "cloud",
        "PlanetScale token",
        &[
            "pscale_tkn_{b64url:43}",
            "pscale_pw_{b64url:43}",
            "pscale_oauth_{b64url:43}",
        ],
    ),
    ("cloud", "Aiven service password", &["AVNS_{b64url:24}"]),
    ("cloud", "Deno Deploy token", &["ddp_{alnum:36}"]),
    ("cloud", "OpenShift token", &["sha256~{b64url:43}"]),
    ("cloud", "Akamai client token", &["akab-{lowalnum:16}-{lowalnum:16}"]),
    (
        "cloud",
        "Tailscale key",
        &["tskey-auth-{alnum:12}-{alnum:30}", "tskey-api-{alnum:12}-{alnum:30}"],
    ),
    ("cloud", "Defined Networking key", &["dnkey-{upalnum:26}-{upalnum:52}"]),
    ("cloud", "Elastic Cloud API key", &["essu_{b64:80-100}"]),
    ("cloud", "ClickHouse Cloud key", &["4b1d{alnum:38}"]),
    ("cloud", "Scalingo token", &["tk-us-{b64url:48}"]),
    ("cloud", "Databricks token", &["dapi{hex:32}"]),
    ("cloud", "Dropbox token", &["sl.{b64url:138}", "sl.u.{b64url:200}"]),
    ("cloud", "Amazon MWS token", &["amzn.mws.{uuid}"]),
    // Code, packages and CI.
    (
        "code & CI",
        "GitHub token",
        &["ghp_{alnum:36}", "gho_{alnum:36}", "ghu_{alnum:36}", "ghr_{alnum:36}"],
    ),
    (
        "code & CI",
        "GitHub fine-grained token",
        &["github_pat_{alnum:22}_{alnum:59}"],
    ),
    (
        "code & CI",
        "GitHub installation token",
        &[
            "ghs_{alnum:36}",
            "ghs_{digits:6-8}_{b64url:36}.{b64url:100-140}.{b64url:43}",
        ],
    ),
    (
        "code & CI",
        "GitLab token",
        &[
            "glpat-{b64url:20}",
            "glpat-{b64url:38}.01.{lowalnum:9}",
            "glrt-{b64url:20}",
            "gldt-{b64url:20}",
            "glcbt-{b64url:20}",
        ],
    ),
    (
        "code & CI",
        "GitLab runner registration token",
        &["GR1348941{b64url:20}"],
    ),
    ("code & CI", "Bitbucket app password", &["ATBB{alnum:32}{HEX:8}"]),
    (
        "code & CI",
        "Atlassian API token",
        &[
            "ATATT3xFfGF0{b64url:170-190}={HEX:8}",
            "ATCTT3xFfGN0{b64url:170-190}={HEX:8}",
        ],
    ),
    (
        "code & CI",
        "Sourcegraph token",
        &["sgp_{hex:40}", "sgp_{hex:16}_{hex:40}", "sgp_local_{hex:40}"],
    ),
    ("code & CI", "npm token", &["npm_{alnum:36}"]),
    ("code & CI", "PyPI token", &["pypi-AgEIcHlwaS5vcmc{b64url:70-150}"]),
    ("code & CI", "RubyGems key", &["rubygems_{hex:48}"]),
    ("code & CI", "crates.io token", &["cio{alnum:32}"]),
    ("code & CI", "NuGet key", &["oy2{lowalnum:43}"]),
    (
        "code & CI",
        "Packagist token",
        &["packagist_ort_{hex:68}", "packagist_uut_{hex:68}"],
    ),
    ("code & CI", "Clojars token", &["CLOJARS_{lowalnum:60}"]),
    (
        "code & CI",
        "Docker Hub token",
        &["dckr_pat_{b64url:27}", "dckr_oat_{b64url:32}"],
    ),
    (
        "code & CI",
        "JFrog token",
        &["AKCp{alnum:69}", "cmVmdGtuOjAxOj{alnum:50}"],
    ),
    ("code & CI", "CircleCI token", &["CCIPAT_{alnum:22}_{hex:40}"]),
    ("code & CI", "Buildkite token", &["bkua_{hex:40}"]),
    (
        "code & CI",
        "SonarQube token",
        &["squ_{hex:40}", "sqp_{hex:40}", "sqa_{hex:40}"],
    ),
    (
        "code & CI",
        "Terraform Cloud token",
        &["{alnum:14}.atlasv1.{b64url:67}"],
    ),
    (
        "code & CI",
        "HashiCorp Vault token",
        &["hvs.{b64url:90-100}", "hvb.{b64url:130}", "hvr.{b64url:24}"],
    ),
    ("code & CI", "Pulumi token", &["pul-{hex:40}"]),
    (
        "code & CI",
        "Doppler token",
        &[
            "dp.pt.{alnum:43}",
            "dp.st.dev.{alnum:40}",
            "dp.sa.{alnum:43}",
            "dp.ct.{alnum:43}",
        ],
    ),
    ("code & CI", "Infisical token", &["st.{uuid}.{hex:32}.{hex:32}"]),
    (
        "code & CI",
        "1Password service account token",
        &["ops_eyJ{b64url:250-300}"],
    ),
    (
        "code & CI",
        "1Password secret key",
        &["A3-{upalnum:6}-{upalnum:6}-{upalnum:5}-{upalnum:5}-{upalnum:5}-{upalnum:5}"],
    ),
    ("code & CI", "Postman key", &["PMAK-{hex:24}-{hex:34}"]),
    ("code & CI", "Harness token", &["pat.{b64url:22}.{hex:24}.{alnum:20}"]),
    ("code & CI", "Octopus Deploy key", &["API-{upalnum:26}"]),
    (
        "code & CI",
        "TeamCity token",
        &["eyJ0eXAiOiAiVENWMiJ9.{b64url:36}.{b64url:48}"],
    ),
    ("code & CI", "Prefect key", &["pnu_{alnum:36}"]),
    ("code & CI", "ReadMe key", &["rdme_{lowalnum:70}"]),
    (
        "code & CI",
        "JetBrains Hub token",
        &["perm:{b64:12}.{b64:20}.{alnum:30}"],
    ),
    ("code & CI", "Frame.io token", &["fio-u-{b64url:64}"]),
    ("code & CI", "Figma token", &["figd_{b64url:40}"]),
    ("code & CI", "Linear API key", &["lin_api_{alnum:40}"]),
    (
        "code & CI",
        "Notion token",
        &["secret_{alnum:43}", "ntn_{digits:11}{alnum:35}"],
    ),
    ("code & CI", "Airtable token", &["pat{alnum:14}.{hex:64}"]),
    ("code & CI", "ClickUp token", &["pk_{digits:8}_{upalnum:32}"]),
    ("code & CI", "Typeform token", &["tfp_{b64url:44}_{b64url:14}"]),
    ("code & CI", "Contentful token", &["CFPAT-{b64url:43}"]),
    ("code & CI", "Apollo key", &["service:my-graph:{b64url:22}"]),
    ("code & CI", "StackHawk key", &["hawk.{alnum:20}.{alnum:20}"]),
    (
        "code & CI",
        "Trigger.dev key",
        &["tr_dev_{alnum:20}", "tr_prod_{alnum:20}"],
    ),
    ("code & CI", "Inngest signing key", &["signkey-prod-{hex:64}"]),
    ("code & CI", "Wix API key", &["IST.eyJ{b64url:200}.{b64url:40}"]),
    ("code & CI", "Adafruit IO key", &["aio_{alnum:28}"]),
    ("code & CI", "Ubidots token", &["BBFF-{alnum:30}"]),
    (
        "code & CI",
        "Matrix access token",
        &["syt_{b64url:8}_{alnum:20}_{alnum:6}"],
    ),
    ("code & CI", "Coralogix key", &["cxtp_{alnum:30}"]),
    ("code & CI", "Checkly key", &["cu_{hex:32}"]),
    ("code & CI", "age secret key", &["AGE-SECRET-KEY-1{upalnum:58}"]),
    // AI.
    (
        "AI",
        "OpenAI key",
        &[
            "sk-proj-{b64url:156}",
            "sk-{alnum:48}",
            "sk-svcacct-{b64url:120}",
            "sk-admin-{b64url:120}",
        ],
    ),
    (
        "AI",
        "Anthropic key",
        &["sk-ant-api03-{b64url:93}AA", "sk-ant-admin01-{b64url:93}AA"],
    ),
    ("AI", "OpenRouter key", &["sk-or-v1-{hex:64}"]),
    ("AI", "DeepSeek key", &["sk-{hex:32}"]),
    ("AI", "Hugging Face token", &["hf_{alnum:34}", "api_org_{alnum:34}"]),
    ("AI", "Groq key", &["gsk_{alnum:52}"]),
    ("AI", "xAI key", &["xai-{alnum:80}"]),
    ("AI", "Replicate token", &["r8_{alnum:37}"]),
    ("AI", "Perplexity key", &["pplx-{alnum:48}"]),
    (
        "AI",
        "LangSmith key",
        &["lsv2_pt_{hex:32}_{hex:10}", "lsv2_sk_{hex:32}_{hex:10}"],
    ),
    ("AI", "Pinecone key", &["pcsk_{alnum:5}_{b64url:60}"]),
    ("AI", "Tavily key", &["tvly-{alnum:32}", "tvly-dev-{alnum:32}"]),
    ("AI", "Fireworks key", &["fw_{alnum:24}"]),
    ("AI", "Voyage key", &["pa-{b64url:43}"]),
    ("AI", "ElevenLabs key", &["sk_{hex:48}"]),
    ("AI", "Anyscale key", &["esecret_{lowalnum:40}"]),
    ("AI", "Modal token", &["ak-{alnum:22}", "as-{alnum:22}"]),
    // Payments and commerce.
    (
        "payments",
        "Stripe key",
        &[
            "sk_live_{alnum:99}",
            "rk_live_{alnum:99}",
            "sk_test_{alnum:24}",
            "whsec_{alnum:32}",
        ],
    ),
    (
        "payments",
        "Square token",
        &["sq0atp-{b64url:22}", "sq0csp-{b64url:43}", "EAAA{b64url:60}"],
    ),
    (
        "payments",
        "Shopify token",
        &["shpat_{hex:32}", "shpss_{hex:32}", "shpca_{hex:32}", "shppa_{hex:32}"],
    ),
    (
        "payments",
        "Shippo token",
        &["shippo_live_{hex:40}", "shippo_test_{hex:40}"],
    ),
    (
        "payments",
        "Braintree token",
        &["access_token$production${lowalnum:16}${hex:32}"],
    ),
    (
        "payments",
        "Razorpay key",
        &["rzp_live_{alnum:14}", "rzp_test_{alnum:14}"],
    ),
    (
        "payments",
        "Flutterwave key",
        &["FLWSECK_TEST-{hex:32}-X", "FLWSECK-{hex:32}-X"],
    ),
    (
        "payments",
        "Plaid token",
        &["access-production-{uuid}", "access-sandbox-{uuid}"],
    ),
    (
        "payments",
        "Duffel token",
        &["duffel_live_{b64url:43}", "duffel_test_{b64url:43}"],
    ),
    ("payments", "EasyPost key", &["EZAK{alnum:54}", "EZTK{alnum:54}"]),
    ("payments", "WooCommerce key", &["ck_{hex:40}", "cs_{hex:40}"]),
    ("payments", "Klaviyo key", &["pk_{hex:34}"]),
    ("payments", "Paystack key", &["sk_live_{hex:40}"]),
    (
        "payments",
        "Mercury key",
        &["secret-token:mercury_production_wma_{alnum:40}"],
    ),
    (
        "payments",
        "Facebook token",
        &["EAACEdEose0cBA{alnum:100-150}", "EAAG{alnum:120-180}"],
    ),
    ("payments", "Instagram token", &["IGQV{b64url:150-200}"]),
    ("payments", "Pinterest token", &["pina_{upalnum:96}"]),
    (
        "payments",
        "Twitter bearer token",
        &["AAAAAAAAAAAAAAAAAAAAA{alnum:20}%3D{alnum:50}"],
    ),
    ("payments", "VK token", &["vk1.a.{b64url:200}"]),
    ("payments", "Foursquare key", &["fsq3{b64:40}"]),
    // Messaging and mail.
    (
        "messaging",
        "Slack token",
        &[
            "xoxb-{digits:12}-{digits:13}-{alnum:24}",
            "xoxp-{digits:12}-{digits:12}-{digits:13}-{hex:32}",
            "xapp-1-{upalnum:11}-{digits:13}-{hex:64}",
            "xoxe.xoxp-1-{alnum:150}",
        ],
    ),
    (
        "messaging",
        "Discord bot token",
        &[
            "MT{alnum:22}.{b64url:6}.{b64url:38}",
            "OD{alnum:22}.{b64url:6}.{b64url:27}",
            "Nz{alnum:22}.{b64url:6}.{b64url:38}",
        ],
    ),
    (
        "messaging",
        "Telegram bot token",
        &["{digits:9}:AA{b64url:33}", "{digits:10}:AA{b64url:33}"],
    ),
    ("messaging", "Twilio key", &["SK{hex:32}", "AC{hex:32}"]),
    ("messaging", "SendGrid key", &["SG.{b64url:22}.{b64url:43}"]),
    (
        "messaging",
        "Mailchimp key",
        &["{hex:32}-us{digits:2}", "{hex:32}-us{digits:1}"],
    ),
    (
        "messaging",
        "Mailgun key",
        &["key-{hex:32}", "{hex:32}-{hex:8}-{hex:8}"],
    ),
    (
        "messaging",
        "Brevo key",
        &["xkeysib-{hex:64}-{alnum:16}", "xsmtpsib-{hex:64}-{alnum:16}"],
    ),
    ("messaging", "Mandrill key", &["md-{b64url:22}"]),
    ("messaging", "Resend key", &["re_{alnum:8}_{alnum:24}"]),
    ("messaging", "OneSignal key", &["os_v2_app_{lowalnum:110}"]),
    ("messaging", "Zoho token", &["1000.{hex:32}.{hex:32}"]),
    ("messaging", "Salesforce token", &["00D{alnum:12}!{alnum:96}"]),
    ("messaging", "HubSpot token", &["pat-na1-{uuid}", "pat-eu1-{uuid}"]),
    ("messaging", "DeepL key", &["{uuid}:fx"]),
    ("messaging", "MaxMind license key", &["{alnum:6}_{alnum:29}_mmk"]),
    // Observability and developer SaaS.
    (
        "observability",
        "New Relic key",
        &[
            "NRAK-{upalnum:27}",
            "NRII-{b64url:32}",
            "NRJS-{hex:19}",
            "NRAA-{hex:27}",
        ],
    ),
    (
        "observability",
        "Dynatrace token",
        &["dt0c01.{upalnum:24}.{upalnum:64}", "dt0s01.{upalnum:24}.{upalnum:64}"],
    ),
    (
        "observability",
        "Grafana token",
        &["glsa_{alnum:32}_{hex:8}", "glc_{b64:80}"],
    ),
    (
        "observability",
        "Sentry token",
        &["sntryu_{hex:64}", "sntrys_eyJ{b64:120}"],
    ),
    (
        "observability",
        "Honeycomb key",
        &["hcaik_{lowalnum:58}", "hcxik_{lowalnum:58}"],
    ),
    ("observability", "Honeybadger token", &["hbp_{alnum:36}"]),
    ("observability", "PostHog key", &["phx_{alnum:43}", "phc_{alnum:43}"]),
    ("observability", "LaunchDarkly key", &["api-{uuid}", "sdk-{uuid}"]),
    ("observability", "Adobe client secret", &["p8e-{alnum:32}"]),
    (
        "observability",
        "Authress key",
        &["sc_{lowalnum:20}.{lowalnum:5}.acc_{lowalnum:20}.{b64url:60}"],
    ),
    ("observability", "LambdaTest key", &["LT_{alnum:47}"]),
    (
        "observability",
        "Mapbox secret token",
        &["sk.eyJ{b64url:60}.{b64url:22}"],
    ),
    (
        "observability",
        "Discord webhook",
        &["https://discord.com/api/webhooks/{digits:18}/{b64url:68}"],
    ),
    (
        "observability",
        "Slack webhook",
        &["https://hooks.slack.com/services/T{upalnum:8}/B{upalnum:8}/{alnum:24}"],
    ),
    (
        "observability",
        "Microsoft Teams webhook",
        &["https://acme.webhook.office.com/webhookb2/{uuid}@{uuid}/IncomingWebhook/{hex:32}/{uuid}"],
    ),
    (
        "observability",
        "Zapier webhook",
        &["https://hooks.zapier.com/hooks/catch/{digits:7}/{lowalnum:6}/"],
    ),
    (
        "observability",
        "JSON Web Token",
        &["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{b64url:60}.{b64url:43}"],
    ),
];

/// Where a token is found in the wild. `{tok}` is the token.
const CONTEXTS: &[&str] = &[
    "export SERVICE_TOKEN={tok}",
    "api_key = \"{tok}\"",
    "{\"apiKey\": \"{tok}\", \"region\": \"eu\"}",
    "curl -H \"Authorization: Bearer {tok}\" https://api.example.net/v1/items",
    "2026-11-21T05:25:34Z DEBUG client: using credential {tok} for upload",
    "    password: {tok}",
    "const token = '{tok}';",
    "deploy --token {tok} --region eu",
    "error: request with key {tok} was rejected (401)",
];

/// Prefixes a token may be glued to when a line is wrapped or a variable name runs into it.
const GLUES: &[&str] = &["open_", "0", "x_", "1", "id_"];

/// Secrets that are only secret because of the name in front of them.
const KEY_NAMES: &[&str] = &[
    "password",
    "password_super_secure",
    "db_passwd",
    "DB_PASSWORD",
    "x-api-key",
    "clientSecret",
    "client_secret",
    "SECRET_KEY_BASE",
    "auth_token",
    "AWS_SECRET_ACCESS_KEY",
    "github_token",
    "PRIVATE_KEY_PASSPHRASE",
    "access_key",
    "apiKey",
    "signing_secret",
    "webhookSecret",
    "jwt_secret",
    "master_key",
    "encryption_key",
    "Key",
    "passphrase",
    "adminPass",
    "pass",
    "pwd",
    "secret",
    "token",
    "credentials",
    "session_key",
];

const KEY_SYNTAXES: &[&str] = &[
    "{name} = \"{v}\"",
    "{name}={v}",
    "{name}: {v}",
    "  {name}: \"{v}\"",
    "{name} := \"{v}\"",
    "if ({name} == \"{v}\") {",
    "<{name}>{v}</{name}>",
    "\"{name}\": \"{v}\",",
    "set {name}={v}",
    "[DEBUG] Using {name}={v}",
    "{name} = '{v}'",
    "os.environ[\"{name}\"] = \"{v}\"",
    "config.{name} = \"{v}\";",
    "{name}=\"{v}\" ./run.sh",
    "    <add key=\"{name}\" value=\"{v}\" />",
];

const PASSWORD_FORMATS: &[&str] = &[
    "{alnum:12-20}",
    "{lower:6}{digits:2}{upper:1}!",
    "{b64:24}",
    "{hex:32}",
    "{lower:5} {lower:6} {lower:4} {lower:7}",
    "{alnum:8}#{alnum:6}",
];

const URL_SCHEMES: &[&str] = &[
    "postgres",
    "postgresql",
    "mysql",
    "mongodb+srv",
    "redis",
    "rediss",
    "amqp",
    "amqps",
    "ftp",
    "sftp",
    "smtp",
    "https",
    "http",
    "ldap",
    "jdbc:mysql",
    "git+https",
    "sqlserver",
    "nats",
    "mqtt",
    "socks5",
];

const URL_CONTEXTS: &[&str] = &[
    "{url}",
    "DATABASE_URL={url}",
    "connecting to {url} failed: timeout",
    "\"dsn\": \"{url}\"",
    "PROXY_AUTH={user}:{pass}",
    "BASIC_AUTH_CREDENTIALS={user}:{pass}",
    "export HTTP_CREDENTIALS=\"{user}:{pass}\"",
];

/// Keys with no recognisable shape: what only the catch-all for free text can find.
const SHAPELESS: &[&str] = &[
    "{alnum:40}",
    "{alnum:32}",
    "{b64url:64}",
    "{b64:44}",
    "{alnum:24}",
    "{hex:32}",
    "{hex:40}",
    "{lowalnum:32}",
    "{b64:86}==",
];

const SHAPELESS_CONTEXTS: &[&str] = &[
    "{tok}",
    "upstream rejected the request: invalid signature {tok}",
    "retrying with {tok} after 401",
    "[kernel] plugin call failed ({tok})",
];

#[derive(Default)]
struct Tally {
    caught: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, caught: bool) {
        self.total += 1;
        self.caught += usize::from(caught);
    }

    fn percent(&self) -> String {
        if self.total == 0 {
            return "-".into();
        }
        format!("{:.1}%", 100.0 * self.caught as f64 / self.total as f64)
    }
}

/// Whether no recognisable part of `secret` is left in `out`: neither the whole nor its last
/// 12 characters (the random end of every format; the start is often a fixed prefix or a
/// host name).
fn gone(secret: &str, out: &str) -> bool {
    let core = secret.trim_end_matches(['/', '=']);
    let chars: Vec<char> = core.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(12)..].iter().collect();
    let caught = !out.contains(secret) && !out.contains(&tail);
    if !caught && show() > 0 {
        println!("  missed: {out}");
    }
    caught
}

/// How many changed benign lines to print, and whether to print every miss:
/// `SCRUB_FIGURES_SHOW=20`.
fn show() -> usize {
    std::env::var("SCRUB_FIGURES_SHOW")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Measure<'a> {
    scrubber: &'a Scrubber,
    free_text: bool,
    idempotent: Tally,
}

impl Measure<'_> {
    fn scrub(&mut self, text: &str) -> String {
        let once = self.run(text);
        let twice = self.run(&once);
        self.idempotent.add(twice == once);
        once
    }

    fn run(&self, text: &str) -> String {
        if self.free_text {
            free_text(self.scrubber, text)
        } else {
            self.scrubber.scrub(text).text.into_owned()
        }
    }
}

fn free_text(scrubber: &Scrubber, text: &str) -> String {
    scrubber.scrub_free_text(text).text.into_owned()
}

fn main() {
    let scrubber = Scrubber::new();
    for free in [false, true] {
        let mut m = Measure {
            scrubber: &scrubber,
            free_text: free,
            idempotent: Tally::default(),
        };
        println!(
            "\n## {}\n",
            if free {
                "with the catch-all for free text (`Scrubber::scrub_free_text`)"
            } else {
                "ordinary fields (`Scrubber::scrub`)"
            }
        );
        report(&mut m);
    }
}

fn report(m: &mut Measure<'_>) {
    let mut rng = Lcg(0x5eed);
    let mut families: BTreeMap<&str, [Tally; 3]> = BTreeMap::new();
    let mut weakest: Vec<(f64, &str)> = Vec::new();
    for (family, provider, formats) in PROVIDERS {
        let mut mine = Tally::default();
        for i in 0..SAMPLES {
            let token = generate(formats[i % formats.len()], &mut rng);
            let tallies = families.entry(family).or_default();
            let alone = gone(&token, &m.scrub(&token));
            tallies[0].add(alone);
            mine.add(alone);
            let glued = format!("{}{token}", rng.pick(GLUES));
            tallies[1].add(gone(&token, &m.scrub(&glued)));
            let context = rng.pick(CONTEXTS).replace("{tok}", &token);
            tallies[2].add(gone(&token, &m.scrub(&context)));
        }
        weakest.push((mine.caught as f64 / mine.total as f64, provider));
    }
    println!(
        "{} providers, {} formats, {SAMPLES} tokens each\n",
        PROVIDERS.len(),
        PROVIDERS.iter().map(|p| p.2.len()).sum::<usize>()
    );
    println!("| family | providers | alone | glued to a word | in context |");
    println!("|---|---|---|---|---|");
    let mut all = [Tally::default(), Tally::default(), Tally::default()];
    for (family, t) in &families {
        let count = PROVIDERS.iter().filter(|p| p.0 == *family).count();
        println!(
            "| {family} | {count} | {} | {} | {} |",
            t[0].percent(),
            t[1].percent(),
            t[2].percent()
        );
        for (sum, part) in all.iter_mut().zip(t) {
            sum.caught += part.caught;
            sum.total += part.total;
        }
    }
    println!(
        "| **all token formats** | {} | **{}** | **{}** | **{}** |",
        PROVIDERS.len(),
        all[0].percent(),
        all[1].percent(),
        all[2].percent()
    );

    let mut names = Tally::default();
    for name in KEY_NAMES {
        for syntax in KEY_SYNTAXES {
            let value = generate(rng.pick(PASSWORD_FORMATS), &mut rng);
            let line = syntax.replace("{name}", name).replace("{v}", &value);
            names.add(gone(&value, &m.scrub(&line)));
        }
    }
    let mut urls = Tally::default();
    for scheme in URL_SCHEMES {
        for context in URL_CONTEXTS {
            let user = generate("{lower:5-8}", &mut rng);
            let pass = generate(
                rng.pick(&["{alnum:10-16}", "{lower:4}%40{alnum:8}", "{alnum:6}!{alnum:6}"]),
                &mut rng,
            );
            let url = format!("{scheme}://{user}:{pass}@db{}.example.net:5432/app", rng.below(9));
            let line = context
                .replace("{url}", &url)
                .replace("{user}", &user)
                .replace("{pass}", &pass);
            urls.add(gone(&pass, &m.scrub(&line)));
        }
    }
    let mut shapeless = [Tally::default(), Tally::default()];
    for format in SHAPELESS {
        for i in 0..SAMPLES {
            let token = generate(format, &mut rng);
            let context = SHAPELESS_CONTEXTS[i % SHAPELESS_CONTEXTS.len()];
            let line = context.replace("{tok}", &token);
            shapeless[usize::from(i % SHAPELESS_CONTEXTS.len() != 0)].add(gone(&token, &m.scrub(&line)));
        }
    }
    println!(
        "| key names ({} names × {} syntaxes) | | | | {} |",
        KEY_NAMES.len(),
        KEY_SYNTAXES.len(),
        names.percent()
    );
    println!(
        "| user:password in URLs and env values ({} schemes) | | | | {} |",
        URL_SCHEMES.len(),
        urls.percent()
    );
    println!(
        "| keys with no recognisable shape ({} formats) | | {} | | {} |",
        SHAPELESS.len(),
        shapeless[0].percent(),
        shapeless[1].percent()
    );

    weakest.sort_by(|a, b| a.0.total_cmp(&b.0));
    let missed: Vec<String> = weakest
        .iter()
        .filter(|(rate, _)| *rate < 0.95)
        .map(|(rate, name)| format!("{name} {:.0}%", rate * 100.0))
        .collect();
    println!(
        "\nproviders below 95% alone: {}",
        if missed.is_empty() {
            "none".into()
        } else {
            missed.join(", ")
        }
    );

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scrub");
    let mut files: Vec<_> = fs::read_dir(dir.join("benign"))
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.push(dir.join("ordinary_stderr.txt"));
    files.retain(|p| p.extension().is_some_and(|e| e == "txt"));
    files.sort();
    let mut benign = Tally::default();
    let mut changed_examples = Vec::new();
    for path in &files {
        let text = fs::read_to_string(path).unwrap_or_default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let out = m.scrub(line);
            benign.add(out == line);
            if out != line && changed_examples.len() < show() {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                let shown: String = out.chars().take(140).collect();
                changed_examples.push(format!("  {name}: {shown}"));
            }
        }
    }
    // The same files scrubbed whole, as a message or a stack arrives: lines then have their
    // neighbours (a base64 block is recognised as one).
    let mut whole_files = Tally::default();
    for path in &files {
        let text = fs::read_to_string(path).unwrap_or_default();
        let out = m.run(&text);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let out_lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() == out_lines.len() {
            for (a, b) in lines.iter().zip(&out_lines) {
                whole_files.add(a == b);
            }
        } else {
            whole_files.total += lines.len();
        }
    }
    println!(
        "\nbenign lines of real program output left untouched, each file scrubbed whole: {:.2}% of {} lines",
        100.0 * whole_files.caught as f64 / whole_files.total.max(1) as f64,
        whole_files.total
    );
    println!(
        "benign lines of real program output left untouched, scrubbed line by line: {:.2}% of {} lines ({} files)",
        100.0 * benign.caught as f64 / benign.total.max(1) as f64,
        benign.total,
        files.len()
    );
    for example in &changed_examples {
        println!("{example}");
    }
    println!(
        "idempotent (scrubbing the output again changes nothing): {} of {} scrubs",
        m.idempotent.percent(),
        m.idempotent.total
    );
}
