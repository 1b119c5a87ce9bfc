//! What `/v1/stats` shows. Counts on the request path are kept in memory (since the process
//! started: a write per request would halve throughput); counts of GitHub work and the queue
//! are read from the store and survive restarts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use super::ingest::Rejected;
use super::store::Figures;

/// Why a request was answered without storing anything, besides a rejected body.
pub const DROPS: [&str; 6] = [
    "dropped_oversize",
    "dropped_rate_ip",
    "dropped_rate_project",
    "dropped_slow_body",
    "connections_refused_total",
    "connections_refused_address",
];
/// The other request-path counts.
pub const COUNTS: [&str; 5] = [
    "accepted",
    "duplicate_id",
    "scrub_misses",
    "fingerprint_replaced",
    "store_errors",
];
/// The GitHub counts, kept in the store by the sync worker.
pub const ISSUE_COUNTS: [&str; 9] = [
    "issues_created",
    "issues_updated",
    "issues_reopened",
    "issues_recreated",
    "duplicates_closed",
    "comments_created",
    "hotfix_merged",
    "issues_promoted",
    // Jobs parked because the GitHub App is not installed on their repository.
    "github_app_not_installed",
];

/// Counts of `/v1/events` and `/github/webhook`.
pub const HOTFIX_COUNTS: [&str; 18] = [
    "hotfix_accepted",
    "confirmed",
    "confirm_refused",
    "hotfix_bad_signature",
    "hotfix_other_event",
    "hotfix_ignored_disabled",
    "hotfix_ignored_malformed",
    "hotfix_ignored_loop_event",
    "hotfix_ignored_self_failure",
    "hotfix_ignored_own_bot",
    "hotfix_ignored_not_allowlisted",
    "hotfix_ignored_not_completed",
    "hotfix_ignored_conclusion_not_failure",
    "hotfix_ignored_no_target_repo",
    "hotfix_ignored_not_in_target_repos",
    "hotfix_ignored_no_kernel_repo",
    "hotfix_missing_kernel_token",
    "hotfix_ignored_missing_token",
];

pub struct Stats {
    started: String,
    counts: BTreeMap<&'static str, AtomicU64>,
}

impl super::connections::Counts for Stats {
    fn add(&self, name: &str) {
        Stats::add(self, name);
    }
}

impl Stats {
    pub fn new(started: String) -> Stats {
        let names = DROPS
            .iter()
            .chain(COUNTS.iter())
            .chain(HOTFIX_COUNTS.iter())
            .copied()
            .chain(Rejected::ALL.map(Rejected::name));
        Stats {
            started,
            counts: names.map(|name| (name, AtomicU64::new(0))).collect(),
        }
    }

    pub fn add(&self, name: &str) {
        debug_assert!(self.counts.contains_key(name), "{name} is not a known count");
        if let Some(count) = self.counts.get(name) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn get(&self, name: &str) -> u64 {
        self.counts.get(name).map_or(0, |count| count.load(Ordering::Relaxed))
    }

    pub fn to_json(&self, figures: &Figures) -> Value {
        let dropped: BTreeMap<&str, u64> = DROPS
            .iter()
            .copied()
            .chain(Rejected::ALL.map(Rejected::name))
            .map(|name| (name, self.get(name)))
            .collect();
        let issues: BTreeMap<&str, u64> = ISSUE_COUNTS
            .iter()
            .map(|name| (*name, figures.counters.get(*name).copied().unwrap_or(0)))
            .collect();
        json!({
            "since": self.started,
            "accepted": self.get("accepted"),
            "duplicate_id": self.get("duplicate_id"),
            "dropped": dropped,
            "scrub_misses": self.get("scrub_misses"),
            "fingerprint_replaced": self.get("fingerprint_replaced"),
            "store_errors": self.get("store_errors"),
            "hotfix": HOTFIX_COUNTS.iter().map(|name| (*name, self.get(name))).collect::<BTreeMap<_, _>>(),
            "fingerprints": figures.subjects,
            "issues": issues,
            "github_queue_depth": figures.queue_depth,
        })
    }
}
