//! Authentication as a GitHub App, for a collector that files into many repositories across
//! organisations (every plugin's own repository), which a personal token cannot do safely.
//!
//! The App signs a short JWT with its private key (RS256; `iat` 60 s in the past against clock
//! drift, `exp` 9 minutes after now, within GitHub's 10, `iss` the App id), finds the
//! installation that covers a repository (`GET /repos/{owner}/{repo}/installation`) and trades
//! the JWT for that installation's token (`POST /app/installations/{id}/access_tokens`), which
//! GitHub lets live an hour. This module keeps the key, signs, and caches installations and
//! tokens; `github.rs` makes the requests (only ever to `github.api_url`'s origin) and asks for
//! a new token once when GitHub refuses one with 401.
//!
//! Neither the key nor a token is ever logged or shown: [`InstallationToken`] and [`AppAuth`]
//! print as redacted, and errors name the file, never its content.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Deserializer, Serialize};

/// `[github.app]`: file as this App instead of with `github.token_env`'s token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// The App's numeric id ("App ID" on the App's settings page).
    #[serde(deserialize_with = "app_id")]
    pub app_id: u64,
    /// A private key of the App, as GitHub gives it (PEM, PKCS#1 or PKCS#8).
    pub private_key_file: PathBuf,
    /// How long the jobs for a repository the App is not installed on wait before it is looked
    /// up again.
    #[serde(default = "default_recheck", deserialize_with = "recheck_secs")]
    pub not_installed_recheck_secs: u64,
}

fn default_recheck() -> u64 {
    600
}

fn app_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let id = u64::deserialize(deserializer)?;
    if id == 0 {
        return Err(serde::de::Error::custom(
            "github.app.app_id = 0 is not an App id: copy the \"App ID\" number from the App's settings page \
             (Settings → Developer settings → GitHub Apps → the App)",
        ));
    }
    Ok(id)
}

fn recheck_secs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let secs = u64::deserialize(deserializer)?;
    if secs == 0 || secs > 86_400 {
        return Err(serde::de::Error::custom(format!(
            "github.app.not_installed_recheck_secs = {secs} must be between 1 and 86400 (seconds between two \
             looks at whether the App was installed)"
        )));
    }
    Ok(secs)
}

/// What the App proves itself with, and its caches. Shared by the sync worker and auto-fix.
pub struct AppAuth {
    app_id: u64,
    key: EncodingKey,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for AppAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppAuth")
            .field("app_id", &self.app_id)
            .field("key", &"<redacted>")
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Cache {
    /// Lower-cased `owner/repo` → the installation that covers it.
    installations: HashMap<String, u64>,
    /// By installation.
    tokens: HashMap<u64, InstallationToken>,
}

/// An installation token and when to stop using it.
#[derive(Clone)]
pub struct InstallationToken {
    value: String,
    /// Unix seconds after which a new one is asked for, shortly before GitHub's `expires_at`.
    refresh_at: i64,
}

impl std::fmt::Debug for InstallationToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InstallationToken(<redacted>, refresh at {})", self.refresh_at)
    }
}

#[derive(Serialize)]
struct Claims {
    iat: i64,
    exp: i64,
    iss: String,
}

/// Seconds `iat` is set in the past: GitHub refuses a JWT issued "in the future" by a clock
/// that runs a little ahead of its own.
const IAT_BACKDATE_SECS: i64 = 60;
/// Seconds after now that the JWT expires; GitHub refuses more than 600.
const JWT_LIFETIME_SECS: i64 = 540;
/// A token is replaced this long before it expires (or halfway through a shorter life), so a
/// request never leaves with one about to lapse.
const REFRESH_MARGIN_SECS: i64 = 300;

impl AppAuth {
    /// Reads and checks the key. Every error names the key of the configuration to fix and
    /// never quotes the file.
    pub fn load(config: &AppConfig) -> Result<AppAuth, String> {
        let path = &config.private_key_file;
        if config.app_id == 0 {
            return Err(
                "github.app.app_id = 0 is not an App id: copy the \"App ID\" number from the App's settings page"
                    .into(),
            );
        }
        let pem = std::fs::read(path).map_err(|e| {
            format!(
                "github.app.private_key_file = \"{}\" cannot be read ({e}); generate a private key on the App's \
                 settings page (Private keys → Generate a private key) and give the path of the downloaded .pem",
                path.display()
            )
        })?;
        let auth = AppAuth::from_pem(config.app_id, &pem, path)?;
        // Signing once proves the key is usable: a PEM that parses may still not be an RSA key.
        auth.jwt(0).map_err(|_| not_a_key(path))?;
        Ok(auth)
    }

    fn from_pem(app_id: u64, pem: &[u8], path: &Path) -> Result<AppAuth, String> {
        let key = EncodingKey::from_rsa_pem(pem).map_err(|_| not_a_key(path))?;
        Ok(AppAuth {
            app_id,
            key,
            cache: Mutex::new(Cache::default()),
        })
    }

    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    /// A JWT that proves the App for the next 9 minutes; `now` in Unix seconds.
    pub fn jwt(&self, now: i64) -> Result<String, String> {
        let claims = Claims {
            iat: now - IAT_BACKDATE_SECS,
            exp: now + JWT_LIFETIME_SECS,
            iss: self.app_id.to_string(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map_err(|e| format!("cannot sign the GitHub App's JWT with github.app.private_key_file: {e}"))
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The installation known to cover `repo` (lower-cased `owner/repo`).
    pub fn installation(&self, repo: &str) -> Option<u64> {
        self.cache().installations.get(repo).copied()
    }

    pub fn remember_installation(&self, repo: &str, installation: u64) {
        self.cache().installations.insert(repo.to_string(), installation);
    }

    /// After GitHub said the repository or installation is not there: look it up again next time.
    pub fn forget_installation(&self, repo: &str) {
        self.cache().installations.remove(repo);
    }

    /// The installation's cached token, unless it is due for replacing at `now`.
    pub fn token(&self, installation: u64, now: i64) -> Option<String> {
        self.cache()
            .tokens
            .get(&installation)
            .filter(|token| now < token.refresh_at)
            .map(|token| token.value.clone())
    }

    /// Keeps a token GitHub issued at `now` that expires at `expires_at` (Unix seconds).
    pub fn keep_token(&self, installation: u64, value: String, expires_at: i64, now: i64) {
        let refresh_at = refresh_at(expires_at, now);
        self.cache()
            .tokens
            .insert(installation, InstallationToken { value, refresh_at });
    }

    /// Drops `value` after GitHub refused it; a newer token another thread got is kept.
    pub fn forget_token(&self, installation: u64, value: &str) {
        let mut cache = self.cache();
        if cache
            .tokens
            .get(&installation)
            .is_some_and(|token| token.value == value)
        {
            cache.tokens.remove(&installation);
        }
    }
}

/// When a token issued at `now` and expiring at `expires_at` is replaced: `REFRESH_MARGIN_SECS`
/// before it expires, or halfway through its life when that is shorter.
fn refresh_at(expires_at: i64, now: i64) -> i64 {
    let life = (expires_at - now).max(0);
    expires_at - REFRESH_MARGIN_SECS.min(life / 2)
}

fn not_a_key(path: &Path) -> String {
    format!(
        "github.app.private_key_file = \"{}\" is not an RSA private key in PEM form; give the .pem file \
         GitHub generated for the App (it begins with -----BEGIN RSA PRIVATE KEY-----)",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, decode};

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/github_app")
            .join(name)
    }

    fn config(app_id: u64, key: PathBuf) -> AppConfig {
        AppConfig {
            app_id,
            private_key_file: key,
            not_installed_recheck_secs: 600,
        }
    }

    #[derive(Deserialize)]
    struct Seen {
        iat: i64,
        exp: i64,
        iss: String,
    }

    #[test]
    fn the_jwt_is_rs256_backdated_short_lived_and_names_the_app() {
        let auth = AppAuth::load(&config(4242, fixture("app_test_private_key.pem"))).expect("the test key");
        let now = 1_800_000_000;
        let jwt = auth.jwt(now).unwrap();
        let public = std::fs::read(fixture("app_test_public_key.pem")).unwrap();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let seen = decode::<Seen>(&jwt, &DecodingKey::from_rsa_pem(&public).unwrap(), &validation)
            .expect("signed with the App's key")
            .claims;
        assert_eq!(seen.iss, "4242");
        assert_eq!(seen.iat, now - 60);
        assert!(seen.exp > now && seen.exp - now <= 600, "{}", seen.exp - now);
        assert!(!format!("{auth:?}").contains("BEGIN"), "{auth:?}");
    }

    #[test]
    fn a_missing_file_a_public_key_or_garbage_is_refused_with_the_key_named() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n",
        )
        .unwrap();
        for path in [
            dir.path().join("absent.pem"),
            garbage,
            fixture("app_test_public_key.pem"),
        ] {
            let error = AppAuth::load(&config(1, path.clone())).expect_err(&path.display().to_string());
            assert!(error.contains("github.app.private_key_file"), "{error}");
            assert!(!error.contains("bm90IGEga2V5") && !error.contains("MII"), "{error}");
        }
        let error = AppAuth::load(&config(0, fixture("app_test_private_key.pem"))).expect_err("app id 0");
        assert!(error.contains("github.app.app_id"), "{error}");
    }

    #[test]
    fn the_app_table_loads_and_refuses_app_id_zero_and_unknown_keys() {
        let parse = |text: &str| crate::config::Config::parse(text).map(|c| c.github.app);
        let app = parse("[github.app]\napp_id = 12\nprivate_key_file = \"/etc/lokiwrap/app.pem\"\n")
            .unwrap()
            .expect("the table");
        assert_eq!((app.app_id, app.not_installed_recheck_secs), (12, 600));
        assert!(parse("").unwrap().is_none());
        for (text, key) in [
            ("app_id = 0\nprivate_key_file = \"k.pem\"\n", "github.app.app_id"),
            ("app_id = 1\n", "private_key_file"),
            ("app_id = 1\nprivate_key_file = \"k.pem\"\nkey = \"x\"\n", "key"),
            (
                "app_id = 1\nprivate_key_file = \"k.pem\"\nnot_installed_recheck_secs = 0\n",
                "github.app.not_installed_recheck_secs",
            ),
        ] {
            let error = parse(&format!("[github.app]\n{text}")).expect_err(text);
            assert!(error.contains(key), "{text}: {error}");
        }
    }

    #[test]
    fn tokens_are_cached_per_installation_until_shortly_before_they_expire() {
        let auth = AppAuth::load(&config(1, fixture("app_test_private_key.pem"))).unwrap();
        let now = 1_000;
        auth.keep_token(7, "ghs_seven".into(), now + 3600, now);
        auth.keep_token(8, "ghs_eight".into(), now + 3600, now);
        assert_eq!(auth.token(7, now + 3299).as_deref(), Some("ghs_seven"));
        assert_eq!(auth.token(8, now).as_deref(), Some("ghs_eight"));
        assert_eq!(auth.token(7, now + 3300), None, "five minutes before it expires");
        // A short-lived token is replaced halfway.
        auth.keep_token(9, "ghs_nine".into(), now + 10, now);
        assert!(auth.token(9, now + 4).is_some() && auth.token(9, now + 5).is_none());
        // A refused token is forgotten, a newer one is not.
        auth.forget_token(7, "ghs_older");
        assert!(auth.token(7, now).is_some());
        auth.forget_token(7, "ghs_seven");
        assert_eq!(auth.token(7, now), None);
        assert!(!format!("{:?}", auth.cache().tokens).contains("ghs_"));
    }
}
