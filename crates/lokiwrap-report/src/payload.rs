//! The report payload: a frozen whitelist of fields, documented one by one in PRIVACY.md.
//! Nothing else is ever written or sent: no message text, no paths, no argv, no environment,
//! no stderr lines. The collector parses the same type, strictly.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Reports carry their times in this form.
pub use crate::utc::rfc3339_utc;

pub const SCHEMA: u32 = 1;
/// At most this many frames in `stack_signature`.
pub const MAX_FRAMES: usize = 5;
/// Longest string accepted in any field: enough for a qualified JVM exception or Rust path.
pub const MAX_FIELD_CHARS: usize = 256;

/// One report, field for field as written to the outbox and sent. The order of the fields
/// here is the order in the JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub schema: u32,
    pub id: String,
    pub captured_at: String,
    pub os: String,
    pub arch: String,
    pub lokiwrap_version: String,
    pub tool: String,
    #[serde(deserialize_with = "present")]
    pub tool_version: Option<String>,
    #[serde(deserialize_with = "present")]
    pub runtime: Option<String>,
    pub error_class: String,
    pub stack_signature: Vec<String>,
    #[serde(deserialize_with = "present")]
    pub exit_code: Option<i32>,
    #[serde(deserialize_with = "present")]
    pub signal: Option<String>,
    #[serde(deserialize_with = "present")]
    pub friction_kind: Option<String>,
    #[serde(deserialize_with = "present")]
    pub phase: Option<String>,
    #[serde(deserialize_with = "present")]
    pub project_id_hash: Option<String>,
    pub fingerprint: String,
    pub rules_version: u32,
    pub redactions_count: u32,
}

/// An optional field must still be present, as `null`: serde would otherwise accept a report
/// with the field missing, and the collector's parse is meant to be exact.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// The grouping key: the same tool, error class and frames give the same fingerprint on
/// every machine. Computed from scrubbed values, so home directories and user names cannot
/// split one crash into many.
pub fn fingerprint(tool: &str, error_class: &str, frames: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(tool.as_bytes());
    hasher.update(b"\n");
    hasher.update(error_class.as_bytes());
    hasher.update(b"\n");
    hasher.update(frames.join("\n").as_bytes());
    hex(&hasher.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random report id in the UUID version 4 form.
pub fn new_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let h = hex(&bytes);
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

pub fn is_valid_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

fn is_rfc3339_utc(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

impl Report {
    /// Checks everything a receiver must be able to rely on; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_fields()?;
        if self.fingerprint != fingerprint(&self.tool, &self.error_class, &self.stack_signature) {
            return Err("fingerprint does not match tool, error_class and stack_signature".into());
        }
        Ok(())
    }

    /// Every check but the fingerprint's: the collector recomputes that itself after scrubbing.
    pub fn validate_fields(&self) -> Result<(), String> {
        if self.schema != SCHEMA {
            return Err(format!("schema is {}, expected {SCHEMA}", self.schema));
        }
        if !is_valid_id(&self.id) {
            return Err("id is not a lowercase UUID".into());
        }
        if !is_rfc3339_utc(&self.captured_at) {
            return Err("captured_at is not UTC RFC 3339 in whole seconds".into());
        }
        let strings = [
            ("os", Some(&self.os)),
            ("arch", Some(&self.arch)),
            ("lokiwrap_version", Some(&self.lokiwrap_version)),
            ("tool", Some(&self.tool)),
            ("tool_version", self.tool_version.as_ref()),
            ("runtime", self.runtime.as_ref()),
            ("error_class", Some(&self.error_class)),
            ("signal", self.signal.as_ref()),
            ("friction_kind", self.friction_kind.as_ref()),
            ("phase", self.phase.as_ref()),
        ];
        for (name, value) in strings {
            if let Some(value) = value {
                check_text(name, value)?;
            }
        }
        for (name, value) in [("tool", &self.tool), ("error_class", &self.error_class)] {
            if value.is_empty() {
                return Err(format!("{name} is empty"));
            }
        }
        if self.stack_signature.len() > MAX_FRAMES {
            return Err(format!(
                "stack_signature has {} frames, at most {MAX_FRAMES}",
                self.stack_signature.len()
            ));
        }
        for frame in &self.stack_signature {
            check_text("stack_signature", frame)?;
        }
        if let Some(code) = self.exit_code
            && !(0..=255).contains(&code)
        {
            return Err(format!("exit_code {code} is outside 0..=255"));
        }
        if let Some(hash) = &self.project_id_hash
            && !is_sha256_hex(hash)
        {
            return Err("project_id_hash is not a SHA-256 in lowercase hex".into());
        }
        Ok(())
    }

    /// The exact bytes written to the outbox and sent.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses and validates, rejecting unknown and missing fields.
    pub fn from_bytes(bytes: &[u8]) -> Result<Report, String> {
        let report: Report = serde_json::from_slice(bytes).map_err(|e| format!("not a schema-1 report: {e}"))?;
        report.validate()?;
        Ok(report)
    }
}

fn check_text(name: &str, value: &str) -> Result<(), String> {
    if value.chars().count() > MAX_FIELD_CHARS {
        return Err(format!("{name} is longer than {MAX_FIELD_CHARS} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{name} contains a control character"));
    }
    Ok(())
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A valid report of `tool` failing with `error_class` in `frames`, for tests: this crate's, and
/// the collector's through the `test-support` feature.
#[cfg(any(test, feature = "test-support"))]
pub fn sample_report(tool: &str, error_class: &str, frames: &[&str]) -> Report {
    let frames: Vec<String> = frames.iter().map(|frame| frame.to_string()).collect();
    Report {
        schema: SCHEMA,
        id: new_id().unwrap(),
        captured_at: rfc3339_utc(1_795_000_000),
        os: "linux".into(),
        arch: "x86_64".into(),
        lokiwrap_version: "0.1.0".into(),
        tool: tool.into(),
        tool_version: None,
        runtime: Some("python".into()),
        error_class: error_class.into(),
        fingerprint: fingerprint(tool, error_class, &frames),
        stack_signature: frames,
        exit_code: Some(1),
        signal: None,
        friction_kind: None,
        phase: None,
        project_id_hash: None,
        rules_version: 1,
        redactions_count: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Report {
        sample_report("python3", "ValueError", &["helper", "main", "<module>"])
    }

    #[test]
    fn the_fingerprint_is_sha256_of_tool_class_and_frames() {
        let frames = ["helper", "main", "<module>"].map(String::from);
        let expected = {
            let mut h = Sha256::new();
            h.update(b"python3\nValueError\nhelper\nmain\n<module>");
            hex(&h.finalize())
        };
        assert_eq!(fingerprint("python3", "ValueError", &frames), expected);
    }

    #[test]
    fn a_report_round_trips_and_validates() {
        let report = sample();
        assert_eq!(Report::from_bytes(&report.to_bytes()).unwrap(), report);
    }

    #[test]
    fn unknown_missing_and_forged_fields_are_rejected() {
        let mut value: serde_json::Value = serde_json::from_slice(&sample().to_bytes()).unwrap();
        value["argv"] = serde_json::json!(["secret"]);
        assert!(
            Report::from_bytes(value.to_string().as_bytes())
                .unwrap_err()
                .contains("argv")
        );
        let mut value: serde_json::Value = serde_json::from_slice(&sample().to_bytes()).unwrap();
        value.as_object_mut().unwrap().remove("fingerprint");
        assert!(Report::from_bytes(value.to_string().as_bytes()).is_err());
        let mut value: serde_json::Value = serde_json::from_slice(&sample().to_bytes()).unwrap();
        value.as_object_mut().unwrap().remove("tool_version");
        let missing = Report::from_bytes(value.to_string().as_bytes()).unwrap_err();
        assert!(missing.contains("missing field `tool_version`"), "{missing}");
        let mut forged = sample();
        forged.fingerprint = "0".repeat(64);
        assert!(forged.validate().unwrap_err().contains("fingerprint"));
        let mut long = sample();
        long.stack_signature = vec!["f".into(); 6];
        assert!(long.validate().is_err());
    }

    #[test]
    fn ids_are_unique_uuids() {
        let a = new_id().unwrap();
        assert!(is_valid_id(&a), "{a}");
        assert_ne!(a, new_id().unwrap());
        assert!(!is_valid_id("../../etc/passwd"));
    }
}
