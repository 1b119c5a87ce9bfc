//! The kernel's signed plugin inputs, for a collector registered as a kernel plugin. The kernel
//! posts `{stateId, eventName, eventPayload, settings, authToken, ubiquityKernelToken?, ref,
//! command, signature}`: `signature` is RSASSA-PKCS1-v1_5 with SHA-256 over `JSON.stringify`
//! of the other fields in exactly that order (`ubiquityKernelToken` left out when absent), and
//! `eventPayload` is the event's JSON, brotli-compressed, then base64-encoded.
//!
//! The signature is checked before anything is decompressed, so an unsigned sender cannot make
//! the collector inflate anything; the inflated payload is capped all the same. When the
//! inputs carry a `ubiquityKernelToken` (the kernel's RS256 attestation, signed with the same
//! key), it must be unexpired and name the same state and auth token. The auth token itself is
//! dropped here: it is a live installation token, and nothing downstream needs it.

use std::io::Read;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_NO_PAD_INDIFFERENT};
use rsa::RsaPublicKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The largest event payload accepted after decompression. A `kernel.plugin_error` is a few
/// kilobytes (its message and log lines are capped by the kernel).
pub const MAX_EVENT_PAYLOAD_BYTES: usize = 1 << 20;

/// Clock skew tolerated on the attestation's `exp` and `iat`, in seconds.
const CLOCK_SKEW_SECONDS: u64 = 60;

/// The kernel's public key, from the PEM the kernel publishes.
#[derive(Debug, Clone)]
pub struct KernelPublicKey {
    key: VerifyingKey<Sha256>,
}

impl KernelPublicKey {
    /// An RSA public key in PEM: `BEGIN PUBLIC KEY` (SPKI, what the kernel documents) or
    /// `BEGIN RSA PUBLIC KEY` (PKCS#1). A PEM pasted from an environment variable with literal
    /// `\n` for line breaks is accepted too.
    pub fn from_pem(pem: &str) -> Result<KernelPublicKey, KeyError> {
        let pem = pem.trim().replace("\\n", "\n");
        let key = RsaPublicKey::from_public_key_pem(&pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(&pem))
            .map_err(|error| {
                KeyError(format!(
                    "not an RSA public key in PEM ({error}): use the kernel's public key, \
                     starting with -----BEGIN PUBLIC KEY-----"
                ))
            })?;
        Ok(KernelPublicKey {
            key: VerifyingKey::new(key),
        })
    }

    /// Reads `hotfix.kernel_public_key_file`.
    pub fn from_pem_file(path: &Path) -> Result<KernelPublicKey, KeyError> {
        let pem = std::fs::read_to_string(path).map_err(|error| {
            KeyError(format!(
                "cannot read hotfix.kernel_public_key_file {}: {error}",
                path.display()
            ))
        })?;
        KernelPublicKey::from_pem(&pem).map_err(|KeyError(message)| {
            KeyError(format!("hotfix.kernel_public_key_file {}: {message}", path.display()))
        })
    }

    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::try_from(signature).is_ok_and(|signature| self.key.verify(message, &signature).is_ok())
    }
}

/// A kernel public key that cannot be used, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError(pub String);

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for KeyError {}

/// The inputs as posted. Every field is a string: `settings` and `command` are JSON text.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostedInputs {
    state_id: String,
    event_name: String,
    event_payload: String,
    settings: String,
    auth_token: String,
    /// Absent (`None`), `null` (`Some(None)`: the kernel could not mint one) or a token.
    #[serde(default, deserialize_with = "present")]
    ubiquity_kernel_token: Option<Option<String>>,
    #[serde(rename = "ref")]
    git_ref: String,
    command: String,
    signature: String,
}

/// Inputs whose signature checked out, with the event payload decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedInputs {
    pub state_id: String,
    /// `kernel.plugin_error` for the events this route handles.
    pub event_name: String,
    pub git_ref: String,
    /// Whether a `ubiquityKernelToken` came with the inputs (and was valid).
    pub attested: bool,
    /// The inputs said `"ubiquityKernelToken": null`: the kernel is meant to attest but could
    /// not (a configuration problem of the kernel's, not an attack).
    pub token_missing: bool,
    /// The event's JSON, at most `MAX_EVENT_PAYLOAD_BYTES`.
    pub event_payload: Vec<u8>,
}

/// Why signed inputs were refused; `as_str` is a short name for a metric.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputsRejected {
    /// Not the kernel's input shape: the message says which field.
    Malformed(String),
    /// The signature does not verify under the configured kernel key.
    BadSignature,
    /// The `ubiquityKernelToken` is expired, not yet valid, forged or for other inputs.
    StaleToken(String),
    /// The decompressed payload is over the cap.
    PayloadTooLarge,
    /// `eventPayload` is not base64 of a brotli stream.
    PayloadUndecodable(String),
    /// `hotfix.require_kernel_token` is on and the inputs carry no `ubiquityKernelToken`, so
    /// nothing says when they were signed: they could be replayed for ever.
    Unattested,
    /// `ref` is not `hotfix.kernel_ref`: inputs signed for another plugin.
    WrongRef,
}

impl InputsRejected {
    pub fn as_str(&self) -> &'static str {
        match self {
            InputsRejected::Malformed(_) => "inputs_malformed",
            InputsRejected::BadSignature => "inputs_bad_signature",
            InputsRejected::StaleToken(_) => "inputs_stale_token",
            InputsRejected::PayloadTooLarge => "inputs_payload_too_large",
            InputsRejected::PayloadUndecodable(_) => "inputs_payload_undecodable",
            InputsRejected::Unattested => "inputs_unattested",
            InputsRejected::WrongRef => "inputs_wrong_ref",
        }
    }
}

impl std::fmt::Display for InputsRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InputsRejected::Malformed(why) => write!(f, "not kernel plugin inputs: {why}"),
            InputsRejected::BadSignature => f.write_str(
                "the plugin inputs' signature does not verify: hotfix.kernel_public_key_file must hold the public key \
                 of the kernel that sends them",
            ),
            InputsRejected::StaleToken(why) => write!(f, "the ubiquityKernelToken is not valid: {why}"),
            InputsRejected::PayloadTooLarge => write!(
                f,
                "the event payload inflates to more than {MAX_EVENT_PAYLOAD_BYTES} bytes"
            ),
            InputsRejected::PayloadUndecodable(why) => write!(f, "eventPayload cannot be decoded: {why}"),
            InputsRejected::Unattested => f.write_str(
                "the inputs carry no ubiquityKernelToken and hotfix.require_kernel_token is on: signed inputs \
                 without one never expire",
            ),
            InputsRejected::WrongRef => {
                f.write_str("the inputs' ref is not hotfix.kernel_ref: they were signed for another plugin")
            }
        }
    }
}

impl std::error::Error for InputsRejected {}

/// Verifies the kernel's signed plugin inputs (the raw request body) and returns them with the
/// event payload decompressed. `now_unix` is the current time, for the attestation's expiry.
pub fn verify_kernel_inputs(
    body: &[u8],
    key: &KernelPublicKey,
    now_unix: u64,
) -> Result<VerifiedInputs, InputsRejected> {
    // serde's messages may quote the offending value: scrubbed like any event text.
    let inputs: PostedInputs = serde_json::from_slice(body)
        .map_err(|error| InputsRejected::Malformed(super::clean_line(&error.to_string(), 300)))?;
    let signature = STANDARD_PAD_INDIFFERENT
        .decode(inputs.signature.trim())
        .map_err(|_| InputsRejected::Malformed("signature is not base64".to_string()))?;
    let signed = key.verifies(signed_text(&inputs, false).as_bytes(), &signature)
        // A null token is either in the signed text as `null` or left out, as JSON.stringify
        // does with `undefined`: both are the kernel's signature.
        || (inputs.ubiquity_kernel_token == Some(None) && key.verifies(signed_text(&inputs, true).as_bytes(), &signature));
    if !signed {
        return Err(InputsRejected::BadSignature);
    }
    if let Some(Some(token)) = &inputs.ubiquity_kernel_token {
        check_attestation(token, &inputs, key, now_unix)?;
    }
    let event_payload = decode_event_payload(&inputs.event_payload, MAX_EVENT_PAYLOAD_BYTES)?;
    Ok(VerifiedInputs {
        state_id: inputs.state_id,
        event_name: inputs.event_name,
        git_ref: inputs.git_ref,
        attested: matches!(inputs.ubiquity_kernel_token, Some(Some(_))),
        token_missing: inputs.ubiquity_kernel_token == Some(None),
        event_payload,
    })
}

/// What the operator requires of verified inputs beyond their signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelChecks {
    /// Refuse inputs without a `ubiquityKernelToken` (`hotfix.require_kernel_token`).
    pub require_token: bool,
    /// The `ref` the kernel dispatches this collector with (`hotfix.kernel_ref`); any other is
    /// refused.
    pub expected_ref: Option<String>,
}

impl KernelChecks {
    pub fn check(&self, inputs: &VerifiedInputs) -> Result<(), InputsRejected> {
        if self.require_token && !inputs.attested {
            return Err(InputsRejected::Unattested);
        }
        if let Some(expected) = &self.expected_ref
            && inputs.git_ref.trim() != expected
        {
            return Err(InputsRejected::WrongRef);
        }
        Ok(())
    }
}

/// The signed inputs, in the order the kernel writes them into the signed text.
pub const SIGNED_FIELDS: [&str; 8] = [
    "stateId",
    "eventName",
    "eventPayload",
    "settings",
    "authToken",
    "ubiquityKernelToken",
    "ref",
    "command",
];

/// `JSON.stringify` of the inputs in the kernel's key order. With string values only, serde's
/// escaping is JavaScript's: `"`, `\` and control characters escaped (`\n`, `\u001b`), all
/// else, `/` and non-ASCII included, left as it is. A null token is written as `null`, or left
/// out when `omit_null`.
fn signed_text(inputs: &PostedInputs, omit_null: bool) -> String {
    let text = |value: &String| Some(serde_json::Value::from(value.as_str()));
    let token = match &inputs.ubiquity_kernel_token {
        Some(Some(token)) => text(token),
        Some(None) if !omit_null => Some(serde_json::Value::Null),
        _ => None,
    };
    // In `SIGNED_FIELDS`' order.
    let values = [
        text(&inputs.state_id),
        text(&inputs.event_name),
        text(&inputs.event_payload),
        text(&inputs.settings),
        text(&inputs.auth_token),
        token,
        text(&inputs.git_ref),
        text(&inputs.command),
    ];
    let mut out = String::from("{");
    for (name, value) in SIGNED_FIELDS.into_iter().zip(values) {
        let Some(value) = value else { continue };
        if out.len() > 1 {
            out.push(',');
        }
        out.push('"');
        out.push_str(name);
        out.push_str("\":");
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

/// Plugin inputs for `payload` (an event's JSON) signed with `key` the way the kernel signs
/// them: `eventPayload` brotli-compressed and base64-encoded, the signature over
/// [`SIGNED_FIELDS`] in order. Without a `ubiquityKernelToken` (only the kernel can mint one),
/// and with an empty `authToken` (an installation token is never kept), so a receiver with
/// `require_kernel_token` refuses them.
pub fn sign_inputs(
    key: &rsa::RsaPrivateKey,
    state_id: &str,
    event_name: &str,
    payload: &[u8],
    git_ref: &str,
) -> Result<serde_json::Value, String> {
    use rsa::signature::{SignatureEncoding, Signer};
    let mut compressed = Vec::new();
    let params = brotli::enc::BrotliEncoderParams::default();
    brotli::BrotliCompress(&mut &payload[..], &mut compressed, &params)
        .map_err(|error| format!("cannot compress the event: {error}"))?;
    let inputs = PostedInputs {
        state_id: state_id.to_string(),
        event_name: event_name.to_string(),
        event_payload: base64::engine::general_purpose::STANDARD.encode(compressed),
        settings: "{}".to_string(),
        auth_token: String::new(),
        ubiquity_kernel_token: None,
        git_ref: git_ref.to_string(),
        command: "null".to_string(),
        signature: String::new(),
    };
    let text = signed_text(&inputs, false);
    let signer = rsa::pkcs1v15::SigningKey::<Sha256>::new(key.clone());
    let signature = signer
        .try_sign(text.as_bytes())
        .map_err(|error| format!("cannot sign the inputs with this key: {error}"))?;
    let mut value: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|error| format!("cannot sign the inputs: {error}"))?;
    value.insert(
        "signature".into(),
        base64::engine::general_purpose::STANDARD
            .encode(signature.to_bytes())
            .into(),
    );
    Ok(serde_json::Value::Object(value))
}

/// Keeps a present `null` apart from an absent field.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

/// The claims of the kernel's attestation that are checked.
#[derive(Deserialize)]
struct Attestation {
    exp: u64,
    #[serde(default)]
    iat: Option<u64>,
    state_id: String,
    auth_token_sha256: String,
}

/// `header.claims.signature`, base64url without padding, RS256 with the kernel key.
fn check_attestation(
    token: &str,
    inputs: &PostedInputs,
    key: &KernelPublicKey,
    now_unix: u64,
) -> Result<(), InputsRejected> {
    let stale = |why: &str| InputsRejected::StaleToken(why.to_string());
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(stale("not three dot-separated parts"));
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD_INDIFFERENT
            .decode(part)
            .map_err(|_| stale("not base64url"))
    };
    let header_json: serde_json::Value =
        serde_json::from_slice(&decode(header)?).map_err(|_| stale("the header is not JSON"))?;
    if header_json.get("alg").and_then(|alg| alg.as_str()) != Some("RS256") {
        return Err(stale("the header's alg is not RS256"));
    }
    let signing_input = &token[..header.len() + 1 + claims.len()];
    if !key.verifies(signing_input.as_bytes(), &decode(signature)?) {
        return Err(stale("its signature does not verify under the kernel key"));
    }
    let claims: Attestation = serde_json::from_slice(&decode(claims)?)
        .map_err(|_| stale("the claims lack exp, state_id or auth_token_sha256"))?;
    if now_unix > claims.exp.saturating_add(CLOCK_SKEW_SECONDS) {
        return Err(stale("it has expired"));
    }
    if claims
        .iat
        .is_some_and(|iat| iat > now_unix.saturating_add(CLOCK_SKEW_SECONDS))
    {
        return Err(stale("it was issued in the future: check the collector's clock"));
    }
    if claims.state_id != inputs.state_id {
        return Err(stale("it was issued for another stateId"));
    }
    let token_hash = URL_SAFE_NO_PAD_INDIFFERENT.encode(Sha256::digest(inputs.auth_token.as_bytes()));
    if claims.auth_token_sha256 != token_hash {
        return Err(stale("it was issued for another authToken"));
    }
    Ok(())
}

/// base64, then brotli, reading at most `max_bytes` of output.
pub fn decode_event_payload(encoded: &str, max_bytes: usize) -> Result<Vec<u8>, InputsRejected> {
    let compressed = STANDARD_PAD_INDIFFERENT
        .decode(encoded.trim())
        .map_err(|error| InputsRejected::PayloadUndecodable(format!("not base64 ({error})")))?;
    let mut inflated = Vec::new();
    brotli_decompressor::Decompressor::new(compressed.as_slice(), 4096)
        .take(u64::try_from(max_bytes).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut inflated)
        .map_err(|error| InputsRejected::PayloadUndecodable(format!("not a brotli stream ({error})")))?;
    if inflated.len() > max_bytes {
        return Err(InputsRejected::PayloadTooLarge);
    }
    Ok(inflated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::RsaPrivateKey;
    use rsa::pkcs1v15::SigningKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};

    const PRIVATE_PEM: &str = include_str!("../../tests/fixtures/hotfix/kernel_test_private_key.pem");
    const PUBLIC_PEM: &str = include_str!("../../tests/fixtures/hotfix/kernel_test_public_key.pem");
    const OTHER_PUBLIC_PEM: &str = include_str!("../../tests/fixtures/hotfix/other_public_key.pem");
    /// Made by `generate_signed_inputs.mjs` with Node's WebCrypto, as the kernel signs.
    const SIGNED: &str = include_str!("../../tests/fixtures/hotfix/signed_inputs.json");
    const SIGNED_WITHOUT_TOKEN: &str = include_str!("../../tests/fixtures/hotfix/signed_inputs_without_token.json");
    const PAYLOAD: &str = include_str!("../../tests/fixtures/hotfix/kernel_plugin_error.json");
    /// The fixtures' attestation is valid for an hour from this time.
    const ISSUED_AT: u64 = 1_768_209_243;

    fn public_key() -> KernelPublicKey {
        KernelPublicKey::from_pem(PUBLIC_PEM).expect("test public key")
    }

    fn signer() -> SigningKey<Sha256> {
        SigningKey::new(RsaPrivateKey::from_pkcs8_pem(PRIVATE_PEM).expect("test private key"))
    }

    fn sign_b64(text: &str) -> String {
        STANDARD_PAD_INDIFFERENT.encode(signer().sign(text.as_bytes()).to_bytes())
    }

    fn compress(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        let params = brotli::enc::BrotliEncoderParams::default();
        brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("brotli");
        STANDARD_PAD_INDIFFERENT.encode(out)
    }

    /// Inputs signed here the way the kernel does, as a JSON object in the kernel's order.
    fn signed_inputs(token: Option<&str>) -> serde_json::Map<String, serde_json::Value> {
        let mut ordered = vec![
            ("stateId", "state-1".to_string()),
            ("eventName", "kernel.plugin_error".to_string()),
            ("eventPayload", compress(PAYLOAD.as_bytes())),
            ("settings", "{\"note\":\"é \\u001b / <>\"}".to_string()),
            ("authToken", "ghs_test".to_string()),
        ];
        if let Some(token) = token {
            ordered.push(("ubiquityKernelToken", token.to_string()));
        }
        ordered.push(("ref", "https://collector.example.dev/v1/events".to_string()));
        ordered.push(("command", "null".to_string()));
        let text = format!(
            "{{{}}}",
            ordered
                .iter()
                .map(|(k, v)| format!("\"{k}\":{}", serde_json::Value::from(v.as_str())))
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut map: serde_json::Map<String, serde_json::Value> =
            ordered.into_iter().map(|(k, v)| (k.to_string(), v.into())).collect();
        map.insert("signature".into(), sign_b64(&text).into());
        map
    }

    fn body(map: &serde_json::Map<String, serde_json::Value>) -> Vec<u8> {
        serde_json::to_vec(map).expect("json")
    }

    fn attestation(exp: u64, state_id: &str, auth_token: &str) -> String {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD_INDIFFERENT.encode(bytes);
        let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = b64(serde_json::json!({
            "iss": "ubiquity-os-kernel", "aud": "ai.ubq.fi", "iat": exp - 3600, "exp": exp, "jti": "j",
            "owner": "o", "repo": "r", "installation_id": 1,
            "auth_token_sha256": b64(&Sha256::digest(auth_token.as_bytes())), "state_id": state_id,
        })
        .to_string()
        .as_bytes());
        let input = format!("{header}.{claims}");
        format!("{input}.{}", b64(&signer().sign(input.as_bytes()).to_bytes()))
    }

    #[test]
    fn inputs_signed_by_node_webcrypto_verify_with_and_without_a_token() {
        let verified = verify_kernel_inputs(SIGNED.as_bytes(), &public_key(), ISSUED_AT + 10).expect("signed");
        assert!(verified.attested);
        assert_eq!(verified.event_name, "kernel.plugin_error");
        assert_eq!(verified.git_ref, "https://collector.example.dev/v1/events");
        let inflated: serde_json::Value = serde_json::from_slice(&verified.event_payload).expect("payload json");
        let original: serde_json::Value = serde_json::from_str(PAYLOAD).expect("fixture json");
        assert_eq!(inflated, original);

        let verified =
            verify_kernel_inputs(SIGNED_WITHOUT_TOKEN.as_bytes(), &public_key(), ISSUED_AT + 10).expect("signed");
        assert!(!verified.attested);
    }

    #[test]
    fn the_fixtures_attestation_goes_stale_after_its_hour() {
        let result = verify_kernel_inputs(SIGNED.as_bytes(), &public_key(), ISSUED_AT + 3600 + 61);
        assert!(matches!(result, Err(InputsRejected::StaleToken(_))), "{result:?}");
        // Without a token there is nothing to expire.
        let unattested = verify_kernel_inputs(SIGNED_WITHOUT_TOKEN.as_bytes(), &public_key(), u64::MAX).unwrap();
        assert_eq!(KernelChecks::default().check(&unattested), Ok(()));
        let strict = KernelChecks {
            require_token: true,
            expected_ref: None,
        };
        assert_eq!(strict.check(&unattested), Err(InputsRejected::Unattested));
        let attested = verify_kernel_inputs(SIGNED.as_bytes(), &public_key(), ISSUED_AT + 10).unwrap();
        assert_eq!(strict.check(&attested), Ok(()));
        let elsewhere = KernelChecks {
            require_token: false,
            expected_ref: Some("https://other.example.dev/v1/events".into()),
        };
        assert_eq!(elsewhere.check(&attested), Err(InputsRejected::WrongRef));
    }

    #[test]
    fn the_wrong_key_is_a_bad_signature() {
        let other = KernelPublicKey::from_pem(OTHER_PUBLIC_PEM).expect("other key");
        assert_eq!(
            verify_kernel_inputs(SIGNED.as_bytes(), &other, ISSUED_AT),
            Err(InputsRejected::BadSignature)
        );
    }

    #[test]
    fn a_change_to_any_signed_field_is_a_bad_signature() {
        let original = signed_inputs(None);
        assert!(verify_kernel_inputs(&body(&original), &public_key(), 0).is_ok());
        for field in SIGNED_FIELDS.into_iter().filter(|f| *f != "ubiquityKernelToken") {
            let mut tampered = original.clone();
            let value = tampered[field].as_str().expect("string").to_string();
            tampered.insert(field.to_string(), format!("{value}x").into());
            assert_eq!(
                verify_kernel_inputs(&body(&tampered), &public_key(), 0),
                Err(InputsRejected::BadSignature),
                "{field}"
            );
        }
    }

    #[test]
    fn the_token_is_signed_only_when_present() {
        let token = attestation(ISSUED_AT + 3600, "state-1", "ghs_test");
        let with_token = signed_inputs(Some(&token));
        assert!(verify_kernel_inputs(&body(&with_token), &public_key(), ISSUED_AT).is_ok());

        // Dropping the token from inputs signed with it breaks the signature.
        let mut dropped = with_token.clone();
        dropped.remove("ubiquityKernelToken");
        assert_eq!(
            verify_kernel_inputs(&body(&dropped), &public_key(), ISSUED_AT),
            Err(InputsRejected::BadSignature)
        );
        // Adding one to inputs signed without it does too.
        let mut added = signed_inputs(None);
        added.insert("ubiquityKernelToken".into(), token.into());
        assert_eq!(
            verify_kernel_inputs(&body(&added), &public_key(), ISSUED_AT),
            Err(InputsRejected::BadSignature)
        );
    }

    #[test]
    fn a_token_for_other_inputs_or_forged_is_refused() {
        for (token, now) in [
            (attestation(ISSUED_AT + 3600, "another-state", "ghs_test"), ISSUED_AT),
            (attestation(ISSUED_AT + 3600, "state-1", "ghs_other"), ISSUED_AT),
            (attestation(ISSUED_AT + 3600, "state-1", "ghs_test"), ISSUED_AT + 7200),
            (
                attestation(ISSUED_AT + 3600, "state-1", "ghs_test"),
                ISSUED_AT - 3600 - 120,
            ),
            ("a.b".to_string(), ISSUED_AT),
            ("eyJhbGciOiJub25lIn0.e30.".to_string(), ISSUED_AT),
        ] {
            let inputs = signed_inputs(Some(&token));
            let result = verify_kernel_inputs(&body(&inputs), &public_key(), now);
            assert!(
                matches!(result, Err(InputsRejected::StaleToken(_))),
                "{token}: {result:?}"
            );
        }
        let mut forged = attestation(ISSUED_AT + 3600, "state-1", "ghs_test");
        forged.replace_range(forged.len() - 4.., "AAAA");
        let result = verify_kernel_inputs(&body(&signed_inputs(Some(&forged))), &public_key(), ISSUED_AT);
        assert!(matches!(result, Err(InputsRejected::StaleToken(_))), "{result:?}");
    }

    #[test]
    fn a_null_token_verifies_signed_either_way_and_says_it_is_missing() {
        for null_in_signed_text in [true, false] {
            let mut map = signed_inputs(None);
            map.insert("ubiquityKernelToken".into(), serde_json::Value::Null);
            if null_in_signed_text {
                let text = SIGNED_FIELDS
                    .iter()
                    .map(|k| format!("\"{k}\":{}", map[*k]))
                    .collect::<Vec<_>>();
                map.insert("signature".into(), sign_b64(&format!("{{{}}}", text.join(","))).into());
            }
            let verified = verify_kernel_inputs(&body(&map), &public_key(), ISSUED_AT).expect("signed, token null");
            assert!(verified.token_missing && !verified.attested, "{null_in_signed_text}");
            map.insert("stateId".into(), "tampered".into());
            let result = verify_kernel_inputs(&body(&map), &public_key(), ISSUED_AT);
            assert_eq!(result, Err(InputsRejected::BadSignature));
        }
        let absent = verify_kernel_inputs(&body(&signed_inputs(None)), &public_key(), ISSUED_AT).expect("signed");
        assert!(!absent.token_missing);
    }

    #[test]
    fn the_signed_text_is_json_stringify_in_kernel_order() {
        let inputs: PostedInputs = serde_json::from_str(
            r#"{"command":"null","ref":"r","signature":"s","authToken":"t","settings":"{\"a\":\"\u00e9\/\u001b\"}",
                "eventPayload":"p","eventName":"n","stateId":"i"}"#,
        )
        .expect("inputs");
        assert_eq!(
            signed_text(&inputs, false),
            concat!(
                r#"{"stateId":"i","eventName":"n","eventPayload":"p","#,
                r#""settings":"{\"a\":\"é/\u001b\"}","authToken":"t","ref":"r","command":"null"}"#
            )
        );
    }

    #[test]
    fn malformed_inputs_are_named_and_do_not_echo_values() {
        for body in [
            &b""[..],
            b"[]",
            b"{\"stateId\":1}",
            br#"{"stateId":"ghp_0123456789abcdefghijABCDEFGHIJ012345"}"#,
        ] {
            let result = verify_kernel_inputs(body, &public_key(), 0);
            let Err(InputsRejected::Malformed(why)) = &result else {
                panic!("{result:?}");
            };
            assert!(!why.contains("ghp_"), "{why}");
        }
        let result = verify_kernel_inputs(br#"{"stateId":"s","eventName":"e"}"#, &public_key(), 0);
        assert!(
            matches!(&result, Err(InputsRejected::Malformed(why)) if why.contains("missing field")),
            "{result:?}"
        );
        let mut inputs = signed_inputs(None);
        inputs.insert("signature".into(), "not base64!".into());
        assert!(matches!(
            verify_kernel_inputs(&body(&inputs), &public_key(), 0),
            Err(InputsRejected::Malformed(_))
        ));
    }

    #[test]
    fn payloads_inflate_within_the_cap_only() {
        let big = vec![b'a'; 4096];
        let encoded = compress(&big);
        assert_eq!(decode_event_payload(&encoded, 4096).expect("at the cap"), big);
        assert_eq!(
            decode_event_payload(&encoded, 4095),
            Err(InputsRejected::PayloadTooLarge)
        );
        // A small bomb: 8 MiB of zeros compresses to a few bytes.
        let bomb = compress(&vec![0u8; 8 << 20]);
        assert!(bomb.len() < 1024);
        assert_eq!(
            decode_event_payload(&bomb, MAX_EVENT_PAYLOAD_BYTES),
            Err(InputsRejected::PayloadTooLarge)
        );
        assert!(matches!(
            decode_event_payload("%%%", 10),
            Err(InputsRejected::PayloadUndecodable(_))
        ));
        assert!(matches!(
            decode_event_payload(&STANDARD_PAD_INDIFFERENT.encode(b"not brotli at all"), 1024),
            Err(InputsRejected::PayloadUndecodable(_))
        ));
    }

    #[test]
    fn keys_load_from_spki_pkcs1_and_escaped_pem() {
        assert!(KernelPublicKey::from_pem(&PUBLIC_PEM.replace('\n', "\\n")).is_ok());
        let pkcs1 = {
            use rsa::pkcs1::EncodeRsaPublicKey;
            RsaPublicKey::from_public_key_pem(PUBLIC_PEM)
                .expect("spki")
                .to_pkcs1_pem(rsa::pkcs1::LineEnding::LF)
                .expect("pkcs1")
        };
        assert!(KernelPublicKey::from_pem(&pkcs1).is_ok());
        let err = KernelPublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
            .expect_err("garbage");
        assert!(err.0.contains("BEGIN PUBLIC KEY"), "{err}");
        let err = KernelPublicKey::from_pem_file(Path::new("/nonexistent/kernel.pem")).expect_err("missing");
        assert!(err.0.contains("hotfix.kernel_public_key_file"), "{err}");
    }

    #[test]
    fn inputs_signed_for_a_replay_verify_under_the_kernel_key() {
        let key = RsaPrivateKey::from_pkcs8_pem(PRIVATE_PEM).unwrap();
        let inputs = sign_inputs(
            &key,
            "replay-7",
            "kernel.plugin_error",
            PAYLOAD.as_bytes(),
            "http://x/v1/events",
        )
        .unwrap();
        let body = serde_json::to_vec(&inputs).unwrap();
        let verified = verify_kernel_inputs(&body, &public_key(), ISSUED_AT).unwrap();
        assert_eq!(verified.event_payload, PAYLOAD.as_bytes());
        assert_eq!(verified.state_id, "replay-7");
        assert_eq!(verified.git_ref, "http://x/v1/events");
        assert!(!verified.attested);
        let other = KernelPublicKey::from_pem(OTHER_PUBLIC_PEM).unwrap();
        assert_eq!(
            verify_kernel_inputs(&body, &other, ISSUED_AT),
            Err(InputsRejected::BadSignature)
        );
    }
}
