//! Plugin inputs signed the way the UbiquityOS kernel signs them (RSASSA-PKCS1-v1_5 / SHA-256
//! over `JSON.stringify` of the inputs in the kernel's order), with the test key pair in
//! `tests/fixtures/hotfix`, so a test can send the kernel's dispatch for any event.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::RsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Map, Value};
use sha2::Sha256;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hotfix")
        .join(name)
}

/// The public half, for `hotfix.kernel_public_key_file`.
pub fn public_key_file() -> PathBuf {
    fixture("kernel_test_public_key.pem")
}

/// What the inputs say about `ubiquityKernelToken`.
#[derive(Clone, Copy)]
pub enum Token {
    Absent,
    /// `"ubiquityKernelToken": null`, signed as `null`.
    Null,
}

/// The kernel's inputs for `payload` (the event's JSON), signed.
pub fn signed_inputs(event_name: &str, payload: &Value, token: Token) -> Value {
    let mut compressed = Vec::new();
    let params = brotli::enc::BrotliEncoderParams::default();
    brotli::BrotliCompress(&mut payload.to_string().as_bytes(), &mut compressed, &params).unwrap();
    let mut fields: Vec<(&str, Value)> = vec![
        ("stateId", "state-signed-in-test".into()),
        ("eventName", event_name.into()),
        ("eventPayload", STANDARD.encode(compressed).into()),
        ("settings", "{}".into()),
        ("authToken", "ghs_kernel_installation_token_for_tests".into()),
    ];
    if let Token::Null = token {
        fields.push(("ubiquityKernelToken", Value::Null));
    }
    fields.push(("ref", "https://collector.example.dev/v1/events".into()));
    fields.push(("command", "null".into()));
    let text = fields
        .iter()
        .map(|(name, value)| format!("\"{name}\":{value}"))
        .collect::<Vec<_>>()
        .join(",");
    let pem = std::fs::read_to_string(fixture("kernel_test_private_key.pem")).unwrap();
    let signer = SigningKey::<Sha256>::new(RsaPrivateKey::from_pkcs8_pem(&pem).unwrap());
    let signature = STANDARD.encode(signer.sign(format!("{{{text}}}").as_bytes()).to_bytes());
    let mut inputs: Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    inputs.insert("signature".into(), signature.into());
    Value::Object(inputs)
}
