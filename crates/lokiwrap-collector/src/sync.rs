//! The sync worker: the only code that writes to GitHub. One thread, one write at a time, paced
//! (`write_interval_ms` between writes, `notify_interval_ms` after a new issue or comment) and
//! within an hourly budget kept in the store. It files one issue per subject, updates its
//! counter at most once per `update_interval_secs`, reopens it when it recurs after being
//! closed, and finds its own issues again from their hidden markers when the store has lost
//! them, so that it never files a second issue for the same key.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::autofix;
use super::config::Config;
use super::github::{Failure, GitHub, Issue};
use super::hotfix::{self, FailureDetails};
use super::render;
use super::store::{IssueLink, Job, Kind, Store, StoreError, Subject};
use super::wake::{Wake, unix_now};
use lokiwrap_report::scrub::Scrubber;
use lokiwrap_report::utc::{parse_rfc3339_utc, rfc3339_utc_signed};
use std::sync::mpsc;

/// Why a sync did not finish: GitHub gave no answer to use, or the collector's own store
/// failed. Only the first is GitHub's doing, retried and logged as a GitHub failure.
enum Problem {
    GitHub(Failure),
    Store(StoreError),
}

impl From<Failure> for Problem {
    fn from(failure: Failure) -> Problem {
        Problem::GitHub(failure)
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Problem {
        Problem::Store(error)
    }
}

/// What a job came to.
enum Outcome {
    /// The issue shows `count` occurrences.
    Synced(u64),
    /// Too early to write again: come back then.
    Later(i64),
    /// No repository to file in.
    Unrouted,
    /// Counted on another subject from now on; its job went there.
    Merged,
}

/// One reading of a repository's labelled issues: when, and the ones with markers by key.
type Listing = (Instant, HashMap<String, Found>);

/// An issue found by its marker while recovering a repository's issues.
#[derive(Clone)]
struct Found {
    number: u64,
    state: String,
    state_reason: Option<String>,
    closed_at: Option<i64>,
    created_at: Option<i64>,
    /// The occurrences its body shows.
    count: Option<u64>,
}

pub struct Worker {
    store: Arc<dyn Store>,
    github: GitHub,
    config: Arc<Config>,
    wake: Arc<Wake>,
    last_write: Option<Instant>,
    last_notify: Option<Instant>,
    /// Rate limits in a row; each doubles the wait when GitHub names none.
    limited_streak: u32,
    /// Per repository, the collector's issues found by their markers, once per process (and
    /// again after an ambiguous create).
    recovered: HashMap<(String, String), Listing>,
    /// Whether this collector made the GitHub writes when it last asked (always, on a store
    /// of its own; on a shared store, while it holds the writer lock).
    leading: bool,
    /// Promoted subjects go here to be fixed, when auto-fix is on.
    autofix: Option<mpsc::Sender<autofix::Request>>,
    /// Built the first time a subject is promoted: public text is scrubbed once more.
    scrubber: Option<Scrubber>,
}

const PARK_SECS: i64 = 3600;

impl Worker {
    pub fn new(
        store: Arc<dyn Store>,
        github: GitHub,
        config: Arc<Config>,
        wake: Arc<Wake>,
        autofix: Option<mpsc::Sender<autofix::Request>>,
    ) -> Worker {
        Worker {
            store,
            github,
            config,
            wake,
            autofix,
            scrubber: None,
            last_write: None,
            last_notify: None,
            limited_streak: 0,
            recovered: HashMap::new(),
            leading: false,
        }
    }

    pub fn run(mut self) {
        tracing::info!("GitHub sync worker started");
        while !self.wake.stopping() {
            if !self.leads() {
                self.wake.sleep(Duration::from_secs(1));
                continue;
            }
            let now = unix_now();
            match self.store.due_job(now) {
                Ok(Some(job)) => self.run_job(job),
                Ok(None) => {
                    let next = self.store.next_due_at().ok().flatten();
                    // Other collectors sharing the store add jobs without waking this one.
                    let most = if self.store.shared() { 1 } else { 30 };
                    let wait = next.map_or(most, |due| (due - now).clamp(1, most));
                    self.wake.wait(Duration::from_secs(wait as u64));
                }
                Err(error) => {
                    tracing::error!(%error, "cannot read the sync queue; retrying in 5 s");
                    self.wake.sleep(Duration::from_secs(5));
                }
            }
        }
        tracing::info!("GitHub sync worker stopped");
    }

    /// Whether this collector is to make the GitHub writes now. On a shared store only the
    /// holder of the writer lock does. One that has just taken over forgets what it read of
    /// each repository's issues (its predecessor may have filed one since, just before it went)
    /// and waits a whole write interval first, since the last write may have been its
    /// predecessor's.
    fn leads(&mut self) -> bool {
        let leading = match self.store.lead() {
            Ok(leading) => leading,
            Err(error) => {
                tracing::error!(%error, "cannot ask whether this collector makes the GitHub writes; asking again in 1 s");
                false
            }
        };
        if leading && !self.leading && self.store.shared() {
            self.recovered.clear();
            let now = Instant::now();
            self.last_write = Some(now);
            self.last_notify = Some(now);
        }
        self.leading = leading;
        leading
    }

    fn run_job(&mut self, job: Job) {
        let subject = match self.store.subject(&job.key) {
            Ok(Some(subject)) => subject,
            Ok(None) => {
                let _ = self.store.drop_job(&job.key);
                return;
            }
            Err(error) => {
                tracing::error!(%error, "cannot read a fingerprint");
                self.wake.sleep(Duration::from_secs(5));
                return;
            }
        };
        let result = match subject.issue.clone() {
            None => self.file(&subject),
            Some(link) => self.update(&subject, link),
        };
        let now = unix_now();
        let stored = match result {
            Ok(Outcome::Synced(count)) => match self.promote(&job.key) {
                Ok(()) => {
                    self.limited_streak = 0;
                    let next = now + self.config.github.update_interval_secs as i64;
                    self.store.finish_job(&job.key, count, now, next)
                }
                Err(failure) => self.failed(&job, &subject, failure),
            },
            Ok(Outcome::Later(due)) => self.store.reschedule(&job.key, due, job.attempts),
            Ok(Outcome::Unrouted) => self.store.drop_job(&job.key),
            Ok(Outcome::Merged) => Ok(()),
            Err(failure) => self.failed(&job, &subject, failure),
        };
        if let Err(error) = stored {
            tracing::error!(%error, "cannot update the sync queue");
        }
    }

    fn failed(&mut self, job: &Job, subject: &Subject, problem: Problem) -> Result<(), StoreError> {
        let now = unix_now();
        let failure = match problem {
            Problem::GitHub(failure) => failure,
            Problem::Store(error) => {
                // Not GitHub's failure: the job keeps its attempts and comes back soon.
                tracing::error!(key = %job.key, %error, "the store failed during a GitHub sync; retrying in 5 s");
                return self.store.reschedule(&job.key, now + 5, job.attempts);
            }
        };
        let attempts = job.attempts + 1;
        let wait = match &failure {
            Failure::Limited { .. } | Failure::Unauthorized(_) if !self.wake.stopping() => {
                if let Failure::Unauthorized(_) = failure {
                    match &self.config.github.app {
                        Some(_) => tracing::error!(
                            %failure,
                            "GitHub refused the App's credentials: give the App Issues: write, and check \
                             github.app.app_id and github.app.private_key_file"
                        ),
                        None => tracing::error!(
                            "GitHub refused the token in {}: give it Issues: write on the routed repositories",
                            self.config.github.token_env
                        ),
                    }
                }
                self.wait_out(&failure);
                0
            }
            Failure::Ambiguous(_) => {
                // The write may have happened: look before writing again.
                if let Some(repo) = subject
                    .issue
                    .as_ref()
                    .map(|l| l.repo.clone())
                    .or_else(|| self.route(subject))
                {
                    self.recovered.retain(|(listed, _), _| *listed != repo);
                }
                // GitHub's lists can lag behind a create: give the issue time to show before looking.
                let settle = self.config.github.ambiguous_retry_secs as i64;
                (5i64 << (attempts - 1).min(10)).max(settle).min(PARK_SECS)
            }
            Failure::NotInstalled(repo) => {
                // Not the job's fault: it keeps its attempts and waits for the App to be installed.
                let recheck = self
                    .config
                    .github
                    .app
                    .as_ref()
                    .map_or(PARK_SECS as u64, |app| app.not_installed_recheck_secs);
                tracing::error!(
                    key = %job.key,
                    %repo,
                    recheck_secs = recheck,
                    "the GitHub App is not installed on {repo}, so its issues wait: install the App there (the \
                     App's public page, Install App, choose the owner, select {repo}); it is looked up again \
                     every {recheck} s"
                );
                self.count("github_app_not_installed");
                return self.store.park(
                    &job.key,
                    now + recheck as i64,
                    "the GitHub App is not installed on its repository",
                );
            }
            Failure::OffOrigin(_) => {
                // Asking again soon would only be sent the same place: wait as long as a job that
                // keeps failing does.
                tracing::error!(key = %job.key, %failure, "a redirect away from github.api_url; parked for an hour");
                return self.store.park(
                    &job.key,
                    now + PARK_SECS,
                    "GitHub redirected it away from github.api_url",
                );
            }
            _ => (5i64 << attempts.min(10)).min(PARK_SECS),
        };
        tracing::warn!(key = %job.key, %failure, attempts, "GitHub sync failed; the job stays queued");
        if attempts >= self.config.github.max_attempts {
            tracing::error!(key = %job.key, "GitHub sync keeps failing; parked for an hour");
            return self.store.park(&job.key, now + PARK_SECS, "GitHub sync kept failing");
        }
        self.store.reschedule(&job.key, now + wait, attempts)
    }

    /// Stops the whole worker for as long as GitHub asked (nothing at all is sent while limited),
    /// or, when it named no time, for `rate_limit_wait_secs` doubled with each limit in a row.
    fn wait_out(&mut self, failure: &Failure) {
        let named = if let Failure::Limited { wait } = failure {
            *wait
        } else {
            None
        };
        let fallback = self
            .config
            .github
            .rate_limit_wait_secs
            .saturating_mul(1 << self.limited_streak.min(6));
        self.limited_streak += 1;
        let wait = named.unwrap_or(fallback).min(PARK_SECS as u64);
        tracing::warn!(%failure, wait_secs = wait, "GitHub asked the collector to slow down");
        self.wake.sleep(Duration::from_secs(wait));
    }

    fn route(&self, subject: &Subject) -> Option<String> {
        if let Some(repo) = &subject.repo {
            return Some(repo.clone());
        }
        let tool = subject.details.get("tool").and_then(|v| v.as_str()).unwrap_or("");
        self.config.repo_for_tool(tool).map(String::from)
    }

    fn render(&self, subject: &Subject) -> Result<(String, String), Problem> {
        if subject.kind == Kind::Crash {
            let tallies = self.store.tallies(&subject.key)?;
            return Ok((render::crash_title(subject), render::crash_body(subject, &tallies)));
        }
        let details: FailureDetails = serde_json::from_value(subject.details.clone())
            .map_err(|e| Failure::Refused(0, format!("stored failure details are unreadable: {e}")))?;
        let seen = |at: i64| rfc3339_utc_signed(at);
        let mut body = hotfix::issue_body(
            &details,
            subject.count,
            &seen(subject.first_seen),
            &seen(subject.last_seen),
            &self.config.hotfix.notify,
        );
        let merged = self.store.merged_keys(&subject.key)?;
        if !merged.is_empty() {
            body.push_str(&format!(
                "\n\nAlso counted here: {} other failure clusters in this repository that arrived after its limit \
                 of {} new issues an hour.\n",
                merged.len(),
                self.config.hotfix.max_new_issues_per_repo_per_hour
            ));
        }
        Ok((hotfix::issue_title(&details), body))
    }

    /// The labels of the subject's issues; the first finds them again.
    fn labels(&self, subject: &Subject) -> Vec<String> {
        match subject.kind {
            Kind::Crash => self.config.github.labels.clone(),
            // The kernel's own failures are never for auto-fix, whatever the labels say; with
            // `autofix` the only label, `bug` is the one they are found again by.
            Kind::PluginFailure if hotfix::is_kernel_failure(&subject.details) => {
                let labels = &self.config.hotfix.issue_labels;
                let kept: Vec<String> = labels
                    .iter()
                    .filter(|l| !l.eq_ignore_ascii_case("autofix"))
                    .cloned()
                    .collect();
                if kept.is_empty() { vec!["bug".to_string()] } else { kept }
            }
            Kind::PluginFailure | Kind::WorkflowFailure => self.config.hotfix.issue_labels.clone(),
        }
    }

    /// For failures, a repository over its hourly share of new issues has the subject counted
    /// on its newest failure issue instead. `Some` is the outcome when that applies.
    fn over_repo_limit(&self, subject: &Subject, repo: &str) -> Result<Option<Outcome>, Problem> {
        if subject.kind == Kind::Crash {
            return Ok(None);
        }
        let now = unix_now();
        let limit = self.config.hotfix.max_new_issues_per_repo_per_hour;
        let created = self.store.creations_since(repo, now - 3600)?;
        if created < limit {
            return Ok(None);
        }
        let kinds = [Kind::PluginFailure, Kind::WorkflowFailure];
        match self.store.newest_with_issue(repo, &kinds)? {
            Some(newest) => {
                self.store.merge_into(&subject.key, &newest, now)?;
                self.count("hotfix_merged");
                tracing::info!(key = %subject.key, into = %newest, %repo,
                    "over the repository's limit of new issues; counted on its newest");
                Ok(Some(Outcome::Merged))
            }
            None => Ok(Some(Outcome::Later(now + 3600))),
        }
    }

    /// Promotes a subject that a maintainer confirmed or that reached the threshold: a
    /// sanitised issue in the public repository, a comment on the triage issue linking it, and
    /// the auto-fix request when that is on. Once per subject; never while the kill switch is on.
    fn promote(&mut self, key: &str) -> Result<(), Problem> {
        let promotion = &self.config.promotion;
        let Some(public_repo) = promotion.public_repo.clone() else {
            return Ok(());
        };
        if promotion.stopped() {
            return Ok(());
        }
        let Some(subject) = self.store.subject(key)? else {
            return Ok(());
        };
        let Some(triage) = subject.issue.clone() else {
            return Ok(());
        };
        // Distinct sources, not occurrences: one sender repeating itself must not promote.
        let reached = promotion.threshold > 0 && subject.sources >= promotion.threshold;
        if subject.public_issue.is_some() || !(subject.confirmed || reached) {
            return Ok(());
        }
        let tallies = self.store.tallies(key)?;
        let (title, _) = self.render(&subject)?;
        let scrubber = self.scrubber.get_or_insert_with(Scrubber::new);
        let title = render::public_title(&scrubber.scrub(&title).text);
        let body = scrubber
            .scrub(&render::public_body(&subject, &tallies))
            .text
            .into_owned();
        let short: String = key.chars().take(12).collect();
        let body = format!(
            "{}\n\n{body}\nTracked by lokiwrap-collector as `{short}`.\n",
            render::public_marker(key)
        );
        let labels = promotion.labels.clone();
        self.pace(true)?;
        let created = self.github.create_issue(&public_repo, &title, &body, &labels);
        self.wrote(true);
        let (public, _) = created?;
        self.store.link_public(key, &public_repo, public.number)?;
        self.count("issues_promoted");
        let url = public
            .html_url
            .clone()
            .unwrap_or_else(|| format!("https://github.com/{public_repo}/issues/{}", public.number));
        tracing::info!(%key, %url, "promoted to a public issue");
        self.pace(true)?;
        let commented = self.github.comment(
            &triage.repo,
            triage.number,
            &format!("Promoted to a public issue: {url}"),
        );
        self.wrote(true);
        commented?;
        if let Some(autofix) = &self.autofix
            && self.config.autofix_on()
            && !hotfix::is_kernel_failure(&subject.details)
        {
            let request = autofix::Request {
                key: key.to_string(),
                what: if subject.kind == Kind::Crash {
                    "crash"
                } else {
                    "failure"
                },
                public_repo,
                public_number: public.number,
                issue_url: url,
            };
            if autofix.send(request).is_err() {
                tracing::error!("the auto-fix thread has stopped");
            }
        }
        Ok(())
    }

    /// Files the subject's first issue, unless recovery finds one already.
    fn file(&mut self, subject: &Subject) -> Result<Outcome, Problem> {
        let Some(repo) = self.route(subject) else {
            return Ok(Outcome::Unrouted);
        };
        let labels = self.labels(subject);
        let label = labels.first().cloned().unwrap_or_default();
        self.recover(&repo, &label)?;
        let listing = (repo.clone(), label);
        if let Some(found) = self
            .recovered
            .get(&listing)
            .and_then(|(_, issues)| issues.get(&subject.key))
            .cloned()
        {
            tracing::info!(key = %subject.key, %repo, number = found.number, "found the issue by its marker");
            let link = IssueLink {
                repo,
                number: found.number,
                state: found.state,
                state_reason: found.state_reason,
                closed_at: found.closed_at,
                etag: None,
            };
            self.store.link_issue(&subject.key, Some(&link))?;
            // Filed before this store first saw the subject: the store was lost, and the issue's
            // count is of occurrences the store never had. (An issue filed after the first
            // occurrence is this store's own, from a create whose answer was lost.)
            let mut subject = subject.clone();
            if let (Some(count), Some(created_at)) = (found.count, found.created_at)
                && created_at < subject.first_seen
            {
                self.store.add_occurrences(&subject.key, count, created_at)?;
                subject.count += count;
                subject.first_seen = created_at;
                tracing::info!(key = %subject.key, count, "carried the issue's earlier occurrences over");
            }
            // The found issue's counter is stale; update it as a repeat would.
            let mut relinked = subject.clone();
            relinked.issue = Some(link.clone());
            relinked.synced_at = None;
            return self.update(&relinked, link);
        }
        if let Some(outcome) = self.over_repo_limit(subject, &repo)? {
            return Ok(outcome);
        }
        let (title, body) = self.render(subject)?;
        self.pace(true)?;
        let created = self.github.create_issue(&repo, &title, &body, &labels);
        self.wrote(true);
        let (issue, etag) = created?;
        tracing::info!(key = %subject.key, %repo, number = issue.number, "filed an issue");
        if let Err(error) = self.store.record_creation(&repo, unix_now()) {
            tracing::error!(%error, "cannot record a new issue");
        }
        // Known from now on, whether or not GitHub's lists show it yet.
        if let Some((_, issues)) = self.recovered.get_mut(&listing) {
            issues.insert(subject.key.clone(), found_from(&issue));
        }
        let link = link_from(&repo, &issue, etag);
        self.store.link_issue(&subject.key, Some(&link))?;
        self.count("issues_created");
        Ok(Outcome::Synced(subject.count))
    }

    /// Brings an existing issue up to date: the counter, and a reopen if it recurred after
    /// being closed.
    fn update(&mut self, subject: &Subject, mut link: IssueLink) -> Result<Outcome, Problem> {
        if subject.count <= subject.synced_count {
            return Ok(Outcome::Synced(subject.synced_count));
        }
        if let Some(synced_at) = subject.synced_at {
            let due = synced_at + self.config.github.update_interval_secs as i64;
            if due > unix_now() {
                return Ok(Outcome::Later(due));
            }
        }
        match self.refresh(&mut link) {
            Ok(()) => {}
            Err(Problem::GitHub(Failure::NotFound | Failure::Gone)) => {
                tracing::warn!(key = %subject.key, repo = %link.repo, number = link.number,
                    "the issue was deleted; filing it again");
                self.store.link_issue(&subject.key, None)?;
                // Forget it in every repository: the one it was first filed in still remembers the
                // address it moved from, which leads here again.
                for (_, issues) in self.recovered.values_mut() {
                    issues.remove(&subject.key);
                }
                self.count("issues_recreated");
                let mut orphan = subject.clone();
                orphan.issue = None;
                return self.file(&orphan);
            }
            Err(other) => return Err(other),
        }
        self.store.link_issue(&subject.key, Some(&link))?;
        let (_, body) = self.render(subject)?;
        let closed = link.state == "closed";
        let not_planned = link.state_reason.as_deref() == Some("not_planned");
        let recurred = link.closed_at.is_none_or(|closed_at| subject.last_seen > closed_at);
        let reopen = closed && recurred && (!not_planned || self.config.github.reopen_not_planned);
        let changes = if reopen {
            json!({ "state": "open", "state_reason": "reopened", "body": body })
        } else {
            json!({ "body": body })
        };
        self.pace(false)?;
        let updated = self.github.update_issue(&link.repo, link.number, &changes);
        self.wrote(false);
        let (issue, etag) = updated?;
        let new_link = link_from(&link.repo, &issue, etag);
        self.store.link_issue(&subject.key, Some(&new_link))?;
        if reopen {
            self.count("issues_reopened");
            tracing::info!(key = %subject.key, repo = %link.repo, number = link.number, "reopened an issue");
            let note = format!(
                "This happened again after the issue was closed (last seen {}; {} occurrences in all), so \
                 lokiwrap-collector reopened it.",
                rfc3339_utc_signed(subject.last_seen),
                subject.count
            );
            self.pace(true)?;
            let mut commented = self.github.comment(&link.repo, link.number, &note);
            self.wrote(true);
            if let Err(limited @ Failure::Limited { .. }) = &commented {
                // Nothing is sent while limited, this comment included: wait as GitHub asks, then
                // post it once more.
                self.wait_out(limited);
                self.pace(true)?;
                commented = self.github.comment(&link.repo, link.number, &note);
                self.wrote(true);
            }
            // The reopen is done; a lost comment is not worth a second reopen. A second rate limit
            // still stops the worker, as any other does.
            match commented {
                Ok(()) => self.count("comments_created"),
                Err(limited @ Failure::Limited { .. }) => return Err(limited.into()),
                Err(failure) => tracing::warn!(%failure, "the reopen comment was not posted"),
            }
        } else {
            self.count("issues_updated");
            if let Some(gap) = subject.quiet_return.filter(|_| new_link.state == "open") {
                let note = format!(
                    "This failure is back after {} hours without one (longer than hotfix.window_hours = {}): \
                     {} occurrences in all, the latest at {}.",
                    gap / 3600,
                    self.config.hotfix.window_hours,
                    subject.count,
                    rfc3339_utc_signed(subject.last_seen)
                );
                self.pace(true)?;
                let commented = self.github.comment(&link.repo, link.number, &note);
                self.wrote(true);
                commented?;
                self.count("comments_created");
            }
        }
        if subject.quiet_return.is_some() {
            self.store.clear_quiet_return(&subject.key)?;
        }
        Ok(Outcome::Synced(subject.count))
    }

    /// Reads the issue's state (a 304 keeps the cached one); follows a transfer, once, and only
    /// on the API's origin (`Failure::OffOrigin` otherwise: nothing is sent there).
    fn refresh(&mut self, link: &mut IssueLink) -> Result<(), Problem> {
        let mut answer = self.github.get_issue(&link.repo, link.number, link.etag.as_deref());
        if let Err(Failure::Moved(to)) = &answer {
            let to = to.clone();
            answer = self.github.get_issue_at(&to, None);
            if answer.is_ok()
                && let Some((repo, number)) = issue_location(&to)
            {
                tracing::info!(from = %link.repo, to = %repo, number, "the issue moved; followed it");
                link.repo = repo;
                link.number = number;
            }
        }
        match answer {
            Ok((issue, etag)) => {
                *link = link_from(&link.repo, &issue, etag);
                Ok(())
            }
            Err(Failure::NotModified) => Ok(()),
            Err(failure) => Err(failure.into()),
        }
    }

    /// Lists the repository's labelled issues once and reads their markers. Of two issues with
    /// the same marker, the store's (or else the older) one stays and the other is closed.
    fn recover(&mut self, repo: &str, label: &str) -> Result<(), Problem> {
        let listing = (repo.to_string(), label.to_string());
        // Listed again after a while, so that a duplicate filed while GitHub's lists lagged is
        // found and closed.
        let fresh = Duration::from_secs(self.config.github.relist_secs);
        if self.recovered.get(&listing).is_some_and(|(at, _)| at.elapsed() < fresh) {
            return Ok(());
        }
        let mut by_key: HashMap<String, Vec<Issue>> = HashMap::new();
        let mut page = 1;
        loop {
            let creator = self.config.github.creator.as_deref();
            let listed = self.github.list_issues(repo, label, creator, page)?;
            for issue in listed.items {
                // A person's issue that quotes a marker is not the collector's to adopt or close.
                let ours = creator.is_none_or(|login| issue.user.as_ref().is_some_and(|u| u.login == login));
                if ours && let Some(key) = issue.body.as_deref().and_then(render::marker_key) {
                    by_key.entry(key).or_default().push(issue);
                }
            }
            if !listed.more || page >= 100 {
                break;
            }
            page += 1;
        }
        let mut found = HashMap::new();
        for (key, mut issues) in by_key {
            issues.sort_by_key(|issue| issue.number);
            let linked = self
                .store
                .subject(&key)
                .ok()
                .flatten()
                .and_then(|s| s.issue)
                .map(|l| l.number);
            let keep = linked
                .filter(|n| issues.iter().any(|i| i.number == *n))
                .unwrap_or(issues[0].number);
            for stray in issues.iter().filter(|i| i.number != keep && i.state == "open") {
                self.pace(false)?;
                let closed = self.github.update_issue(
                    repo,
                    stray.number,
                    &json!({"state": "closed", "state_reason": "not_planned"}),
                );
                self.wrote(false);
                closed?;
                self.count("duplicates_closed");
                tracing::info!(%repo, number = stray.number, keep, "closed a duplicate issue");
            }
            if let Some(kept) = issues.iter().find(|i| i.number == keep) {
                found.insert(key, found_from(kept));
            }
        }
        tracing::info!(%repo, issues = found.len(), "read the collector's issues in the repository");
        self.recovered.insert(listing, (Instant::now(), found));
        Ok(())
    }

    /// Waits for the next write: the hourly budget, then the spacing between writes.
    fn pace(&mut self, notifies: bool) -> Result<(), Problem> {
        let budget = self.config.github.hourly_budget;
        loop {
            let now = unix_now();
            let (used, oldest) = self.store.writes_since(now - 3600)?;
            if used < budget {
                break;
            }
            let wait = oldest.map_or(60, |oldest| (oldest + 3600 - now).max(1));
            tracing::warn!(
                used,
                budget,
                wait_secs = wait,
                "the hourly GitHub budget is spent; waiting"
            );
            if !self.wake.sleep(Duration::from_secs(wait as u64)) {
                return Err(Failure::Ambiguous("stopping".into()).into());
            }
        }
        let spacing = |last: Option<Instant>, ms: u64| {
            last.and_then(|at| (at + Duration::from_millis(ms)).checked_duration_since(Instant::now()))
        };
        let mut wait = spacing(self.last_write, self.config.github.write_interval_ms).unwrap_or_default();
        if notifies {
            wait = wait.max(spacing(self.last_notify, self.config.github.notify_interval_ms).unwrap_or_default());
        }
        if !self.wake.sleep(wait) {
            return Err(Failure::Ambiguous("stopping".into()).into());
        }
        // Asked again right before the write: a collector that lost the writer lock while it
        // waited writes nothing more, and the job waits for the one that holds it now.
        if self.store.shared() && !self.leads() {
            return Err(StoreError::Busy("this collector no longer holds the GitHub writer lock".into()).into());
        }
        Ok(())
    }

    /// Counts a write, whatever its answer: GitHub counts it too.
    fn wrote(&mut self, notifies: bool) {
        let now = Instant::now();
        self.last_write = Some(now);
        if notifies {
            self.last_notify = Some(now);
        }
        if let Err(error) = self.store.record_write(unix_now()) {
            tracing::error!(%error, "cannot record a GitHub write");
        }
    }

    fn count(&self, counter: &str) {
        if let Err(error) = self.store.bump(counter, 1) {
            tracing::error!(%error, counter, "cannot count");
        }
    }
}

fn found_from(issue: &Issue) -> Found {
    Found {
        number: issue.number,
        state: issue.state.clone(),
        state_reason: issue.state_reason.clone(),
        closed_at: issue.closed_at_unix(),
        created_at: issue.created_at.as_deref().and_then(parse_rfc3339_utc),
        count: issue.body.as_deref().and_then(render::count_in_body),
    }
}

fn link_from(repo: &str, issue: &Issue, etag: Option<String>) -> IssueLink {
    IssueLink {
        repo: repo.to_string(),
        number: issue.number,
        state: issue.state.clone(),
        state_reason: issue.state_reason.clone(),
        closed_at: issue.closed_at_unix(),
        etag,
    }
}

/// `owner/name` and number from an issue's API URL (`.../repos/o/r/issues/12`).
fn issue_location(url: &str) -> Option<(String, u64)> {
    let path = url.split("/repos/").nth(1)?;
    let mut parts = path.trim_end_matches('/').split('/');
    let (owner, name, issues, number) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let repo = format!("{owner}/{name}");
    (issues == "issues" && hotfix::names::valid_repo_name(&repo)).then_some(())?;
    Some((repo, number.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_issue_is_found_at_its_new_address() {
        assert_eq!(
            issue_location("https://api.github.com/repos/acme/new-home/issues/42"),
            Some(("acme/new-home".to_string(), 42))
        );
        assert_eq!(issue_location("https://api.github.com/repos/acme/x/pulls/42"), None);
    }
}
