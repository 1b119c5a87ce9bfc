//! Promotion by label: which `issues` webhooks confirm a subject. Only the label on an issue the
//! store links to a subject counts, found by the issue's repository and number, and, with
//! `github.creator` set, only on an issue that login wrote. The issue's body is never read for
//! this: anyone can quote a marker in an issue of their own.

use serde_json::Value;

use super::store::{Store, StoreResult};

/// The confirm label put on an issue, as an `issues` webhook tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// `owner/name` of the issue's repository.
    pub repo: String,
    pub number: u64,
    /// The login of the issue's author.
    pub author: Option<String>,
}

/// What came of a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The subject is confirmed now; its sync promotes it.
    Confirmed,
    /// It was confirmed before.
    Already,
    /// Not an issue of the collector's: no subject is linked to it, or another login wrote it.
    NotOurs,
}

/// The confirmation an `issues` event carries: `None` unless it is `labeled` with `confirm_label`
/// and names the issue's repository and number.
pub fn confirmation(event: &Value, confirm_label: &str) -> Option<Confirmation> {
    let text = |pointer: &str| event.pointer(pointer).and_then(Value::as_str);
    (text("/action")? == "labeled" && text("/label/name")? == confirm_label).then_some(())?;
    Some(Confirmation {
        repo: text("/repository/full_name")?.to_string(),
        number: event.pointer("/issue/number").and_then(Value::as_u64)?,
        author: text("/issue/user/login").map(String::from),
    })
}

/// Confirms the subject whose issue was labelled, when the issue is the collector's.
pub fn confirm(
    store: &dyn Store,
    confirmation: &Confirmation,
    creator: Option<&str>,
    now: i64,
) -> StoreResult<Verdict> {
    let written_by_creator = creator.is_none_or(|creator| {
        confirmation
            .author
            .as_deref()
            .is_some_and(|author| author.eq_ignore_ascii_case(creator))
    });
    if !written_by_creator {
        return Ok(Verdict::NotOurs);
    }
    let Some(subject) = store.subject_by_issue(&confirmation.repo, confirmation.number)? else {
        return Ok(Verdict::NotOurs);
    };
    Ok(if store.confirm(&subject.key, now)? {
        Verdict::Confirmed
    } else {
        Verdict::Already
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labelled(label: &str) -> Value {
        json!({
            "action": "labeled",
            "label": {"name": label},
            "issue": {"number": 7, "body": "<!-- lokiwrap-fingerprint: x -->", "user": {"login": "app[bot]"}},
            "repository": {"full_name": "acme/triage"}
        })
    }

    #[test]
    fn only_the_confirm_label_being_put_on_is_a_confirmation() {
        assert_eq!(
            confirmation(&labelled("confirmed"), "confirmed"),
            Some(Confirmation {
                repo: "acme/triage".into(),
                number: 7,
                author: Some("app[bot]".into())
            })
        );
        assert_eq!(confirmation(&labelled("wontfix"), "confirmed"), None);
        let mut unlabelled = labelled("confirmed");
        unlabelled["action"] = json!("unlabeled");
        assert_eq!(confirmation(&unlabelled, "confirmed"), None);
        let mut nameless = labelled("confirmed");
        nameless["repository"] = json!({});
        assert_eq!(confirmation(&nameless, "confirmed"), None);
    }
}
