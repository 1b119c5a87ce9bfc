//! No input panics the hotfix parsers: random bytes, random text and random values in the
//! fixtures' fields each get an answer, a `Failure` or a reason.

use base64::Engine;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::signature::{KernelPublicKey, MAX_EVENT_PAYLOAD_BYTES, decode_event_payload, verify_kernel_inputs};
use super::*;

const PLUGIN_ERROR: &str = include_str!("../../tests/fixtures/hotfix/kernel_plugin_error.json");
const WORKFLOW_RUN: &str = include_str!("../../tests/fixtures/hotfix/workflow_run_failure.json");
const PUBLIC_PEM: &str = include_str!("../../tests/fixtures/hotfix/kernel_test_public_key.pem");

fn enabled() -> HotfixConfig {
    HotfixConfig {
        enabled: true,
        allowlist_repos: vec!["ubiquity-os-marketplace/daemon-pricing".to_string()],
        ..HotfixConfig::default()
    }
}

fn render(result: Result<Failure, Ignored>) {
    if let Ok(failure) = result {
        let body = issue_body(&failure.details, 1, "a", "b", &["@x".to_string()]);
        assert_eq!(
            crate::render::marker_key(&body).as_deref(),
            Some(failure.cluster_key.as_str())
        );
    }
}

/// Strings that exercise the normaliser, the scrubber and the markdown guards.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,80}",
        "HTTP \\(target: [a-z:/.]{0,20}\\) [0-9]{3}: .{0,40}",
        "(`{1,5}|@[a-z]{1,5}|::|[0-9a-f:.]{1,20}|https?://[^ ]{0,20}| |\n| ghp_[A-Za-z0-9]{36} ){0,12}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        nasty_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Every object member path of a JSON value, as pointers.
fn pointers(value: &Value, prefix: String, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (key, child) in map {
            let pointer = format!("{prefix}/{key}");
            out.push(pointer.clone());
            pointers(child, pointer, out);
        }
    }
}

fn mutate(text: &str, index: usize, replacement: Value) -> Vec<u8> {
    let mut event: Value = serde_json::from_str(text).expect("fixture");
    let mut paths = Vec::new();
    pointers(&event, String::new(), &mut paths);
    let pointer = &paths[index % paths.len()];
    if let Some(slot) = event.pointer_mut(pointer) {
        *slot = replacement;
    }
    serde_json::to_vec(&event).expect("json")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_the_parsers(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let cfg = enabled();
        render(from_plugin_error(&bytes, &cfg));
        render(from_workflow_run(&bytes, &cfg));
        let key = KernelPublicKey::from_pem(PUBLIC_PEM).expect("key");
        let _ = verify_kernel_inputs(&bytes, &key, 0);
        let text = String::from_utf8_lossy(&bytes);
        let _ = webhook::verify_signature(b"secret", &bytes, Some(&text));
        let _ = decode_event_payload(&text, MAX_EVENT_PAYLOAD_BYTES);
        let _ = decode_event_payload(&base64::engine::general_purpose::STANDARD.encode(&bytes), 4096);
        let _ = KernelPublicKey::from_pem(&text);
        let _ = crate::render::marker_key(&text);
    }

    #[test]
    fn random_text_never_panics_normalising_or_routing(text in nasty_text(), status in any::<Option<u64>>()) {
        let _ = cluster::normalise_message(&text);
        let _ = cluster::http_status(status, &text);
        let _ = names::normalise_plugin_id(&text);
        let _ = names::normalise_url(&text);
        let _ = names::self_id(&text);
    }

    #[test]
    fn any_value_in_any_field_gets_an_answer(index in any::<usize>(), value in json_value()) {
        let cfg = enabled();
        render(from_plugin_error(&mutate(PLUGIN_ERROR, index, value.clone()), &cfg));
        render(from_workflow_run(&mutate(WORKFLOW_RUN, index, value), &cfg));
    }

    #[test]
    fn random_messages_are_filed_and_scrubbed(message in nasty_text(), line in nasty_text()) {
        let mut event: Value = serde_json::from_str(PLUGIN_ERROR).expect("fixture");
        event["error"]["message"] = json!(message);
        event["logTrail"]["lines"] = json!([line]);
        let failure = from_plugin_error(&serde_json::to_vec(&event).expect("json"), &enabled());
        let failure = failure.expect("a routable event is always filed");
        let body = issue_body(&failure.details, 1, "a", "b", &[]);
        prop_assert!(!body.contains("ghp_"), "{}", body);
        prop_assert_eq!(body.matches("lokiwrap-cluster:").count(), 1);
    }
}
