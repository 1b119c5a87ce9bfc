//! The kernel's signed plugin inputs as the events endpoint receives them, checked with the
//! collector's test key (`crates/lokiwrap-collector/tests/fixtures/hotfix/`).
//!
//! The first byte picks what the rest is. Even: the raw request body, as any sender can post
//! it; only the signature check and what precedes it are reachable, since the mutator cannot
//! forge a signature. Odd: a JSON object of inputs that the target signs with the test private
//! key first (and, for a `ubiquityKernelToken` with a header and claims, its RS256 signature
//! too), so that the attestation's claims, the payload's base64 and brotli and then the
//! `kernel.plugin_error` inside are reached as well.
//!
//! No panic; inputs signed the kernel's way verify; a verified payload is within the cap; and
//! the event it carries is then routed like any plugin error.
#![no_main]

#[path = "common/hotfix.rs"]
mod hotfix;

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use lokiwrap_collector::fuzzing::{
    InputsRejected, KernelPublicKey, MAX_EVENT_PAYLOAD_BYTES, SIGNED_FIELDS, VerifiedInputs, verify_kernel_inputs,
};
use lokiwrap_collector::hotfix::{HotfixConfig, from_plugin_error};
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Map, Value};
use sha2::Sha256;

const FIXTURES: &str = "../crates/lokiwrap-collector/tests/fixtures/hotfix";
const PUBLIC_PEM: &str =
    include_str!("../../crates/lokiwrap-collector/tests/fixtures/hotfix/kernel_test_public_key.pem");
/// The throwaway key the collector's fixtures are signed with; never any kernel's.
const PRIVATE_PEM: &str =
    include_str!("../../crates/lokiwrap-collector/tests/fixtures/hotfix/kernel_test_private_key.pem");
/// Within the hour the fixtures' attestation is valid.
const NOW: u64 = 1_768_209_253;

static PUBLIC: LazyLock<KernelPublicKey> =
    LazyLock::new(|| KernelPublicKey::from_pem(PUBLIC_PEM).unwrap_or_else(|e| panic!("{FIXTURES}: {e}")));
static SIGNER: LazyLock<SigningKey<Sha256>> = LazyLock::new(|| {
    SigningKey::new(RsaPrivateKey::from_pkcs8_pem(PRIVATE_PEM).unwrap_or_else(|e| panic!("{FIXTURES}: {e}")))
});
static CONFIG: LazyLock<HotfixConfig> = LazyLock::new(hotfix::config);

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        check(verify_kernel_inputs(rest, &PUBLIC, NOW), false);
        return;
    }
    let Ok(Value::Object(mut inputs)) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    if let Some(Value::String(token)) = inputs.get_mut("ubiquityKernelToken") {
        let mut parts = token.splitn(3, '.');
        if let (Some(header), Some(claims)) = (parts.next(), parts.next()) {
            let input = format!("{header}.{claims}");
            let signature = URL_SAFE_NO_PAD.encode(SIGNER.sign(input.as_bytes()).to_bytes());
            *token = format!("{input}.{signature}");
        }
    }
    let Some(text) = signed_text(&inputs) else {
        return;
    };
    let signature = STANDARD.encode(SIGNER.sign(text.as_bytes()).to_bytes());
    inputs.insert("signature".into(), signature.into());
    let body = serde_json::to_vec(&Value::Object(inputs)).expect("JSON of JSON");
    check(verify_kernel_inputs(&body, &PUBLIC, NOW), true);
});

/// `JSON.stringify` of the inputs as the kernel signs them; `None` unless every field is there
/// and a string (`ubiquityKernelToken` may be absent).
fn signed_text(inputs: &Map<String, Value>) -> Option<String> {
    let mut members = Vec::new();
    for name in SIGNED_FIELDS {
        match inputs.get(name) {
            Some(Value::String(value)) => members.push(format!("\"{name}\":{}", Value::from(value.as_str()))),
            None if name == "ubiquityKernelToken" => {}
            _ => return None,
        }
    }
    Some(format!("{{{}}}", members.join(",")))
}

fn check(result: Result<VerifiedInputs, InputsRejected>, signed: bool) {
    match result {
        Ok(verified) => {
            assert!(verified.event_payload.len() <= MAX_EVENT_PAYLOAD_BYTES);
            hotfix::check(from_plugin_error(&verified.event_payload, &CONFIG));
        }
        Err(InputsRejected::BadSignature) => {
            assert!(!signed, "inputs signed the kernel's way did not verify")
        }
        Err(_) => {}
    }
}
