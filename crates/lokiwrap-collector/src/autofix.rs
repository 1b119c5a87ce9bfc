//! Guarded auto-fix for promoted subjects. One run at a time, on its own thread so that a slow
//! fixer never holds up issue sync: a fresh worktree of the public repository's clone, the
//! configured fixer, the configured tests (which must pass), a pushed branch and a pull request
//! with the reasoning and risk notes. There is no code path that merges, approves or enables
//! auto-merge. The daily cap is counted in the store, and the kill switch is checked before
//! every step and while a command runs, so flipping it ends a run and prevents the next ones.
//! The commands are contained (`command`); no report text reaches their arguments, a commit
//! subject or the pull request's title, and what they print is quoted in the pull request as
//! data that cannot close its quote.

mod command;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use super::config::Config;
use super::github::GitHub;
use super::render::{code, fenced};
use super::store::Store;
use super::wake::unix_now;
use lokiwrap_report::scrub::Scrubber;

/// A promoted subject to try to fix, with its public issue. Nothing in it is report text.
pub struct Request {
    pub key: String,
    /// `crash` or `failure`, for the commit and pull request titles.
    pub what: &'static str,
    pub public_repo: String,
    pub public_number: u64,
    pub issue_url: String,
}

pub struct Autofixer {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    github: GitHub,
}

/// Why a run ended without a pull request; stored as the subject's auto-fix state.
type Stop = String;

impl Autofixer {
    /// Starts the auto-fix thread; requests are taken one at a time, in order.
    pub fn start(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        github: GitHub,
    ) -> Result<(mpsc::Sender<Request>, std::thread::JoinHandle<()>), String> {
        let (sender, requests) = mpsc::channel::<Request>();
        if let Err(error) = command::adopt_orphans() {
            tracing::warn!(%error, "a process an auto-fix command starts in a session of its own may outlive its run");
        }
        let fixer = Autofixer { config, store, github };
        let thread = std::thread::Builder::new()
            .name("autofix".into())
            .spawn(move || {
                while let Ok(request) = requests.recv() {
                    fixer.handle(&request);
                }
            })
            .map_err(|e| format!("cannot start the auto-fix thread: {e}"))?;
        Ok((sender, thread))
    }

    fn handle(&self, request: &Request) {
        let state = match self.run(request) {
            Ok(state) | Err(state) => state,
        };
        tracing::info!(key = %request.key, %state, "auto-fix finished");
        if let Err(error) = self.store.set_autofix(&request.key, &state) {
            tracing::error!(%error, "cannot record an auto-fix");
        }
    }

    fn guard(&self) -> Result<(), Stop> {
        if self.config.promotion.stopped() {
            return Err("stopped: the kill switch is on".into());
        }
        Ok(())
    }

    /// Why a step failed: the kill switch, when it is on (it may be what ended the step), else
    /// `failure`.
    fn stop_or(&self, failure: String) -> Stop {
        self.guard().err().unwrap_or(failure)
    }

    /// Runs an auto-fix command in `dir`, contained: see `command::run`.
    fn contained(&self, command: &[String], dir: &Path) -> Result<String, String> {
        let timeout = Duration::from_secs(self.config.autofix.timeout_secs.max(1));
        let env = self.config.autofix_env(|name| std::env::var_os(name));
        command::run(command, dir, &env, timeout, &|| self.config.promotion.stopped())
    }

    /// `git -C dir ARGS`, with no hooks and without the collector's secrets in its environment:
    /// a fixer can write the repository's hooks and configuration, and what git then runs may be
    /// its. Housekeeping runs in the foreground, so that git leaves nothing running either.
    fn git(&self, dir: &Path, args: &[&str]) -> Result<String, String> {
        let mut git = Command::new("git");
        git.arg("-C")
            .arg(dir)
            .args(["-c", "core.hooksPath=/dev/null", "-c", "gc.autoDetach=false"])
            .args(["-c", "maintenance.autoDetach=false"])
            .args(args)
            .stdin(Stdio::null());
        for (_, secret) in self.config.secret_env() {
            git.env_remove(secret);
        }
        let output = git.output().map_err(|e| format!("cannot run git: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "git {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    fn run(&self, request: &Request) -> Result<String, Stop> {
        self.guard()?;
        let cap = self.config.hotfix.risk_policy.max_autofix_per_day;
        let day = unix_now().div_euclid(86_400);
        match self.store.count_daily("autofix", day, cap) {
            Ok(Some(_)) => {}
            Ok(None) => return Err(format!("skipped: the daily cap of {cap} auto-fix runs is reached")),
            Err(error) => return Err(format!("skipped: {error}")),
        }
        let _ = self.store.set_autofix(&request.key, "running");
        let autofix = &self.config.autofix;
        let clone = autofix.repo_dir.clone().ok_or("autofix.repo_dir is not set")?;
        let short: String = request.key.chars().take(12).collect();
        let branch = format!("lokiwrap/fix-{short}");
        // A directory of the run's own (private, and unique even for two collectors fixing the same
        // subject at once), removed with it.
        let scratch = tempfile::Builder::new()
            .prefix(&format!("lokiwrap-autofix-{short}-"))
            .tempdir()
            .map_err(|e| format!("failed: cannot make a directory for the worktree: {e}"))?;
        let worktree = scratch.path().join("worktree");
        let base = format!("origin/{}", autofix.base_branch);
        // The newest base, if the remote answers; the local one otherwise.
        let _ = self.git(&clone, &["fetch", "--quiet", "origin", &autofix.base_branch]);
        self.git(
            &clone,
            &["worktree", "add", "--quiet", "-B", &branch, path_str(&worktree)?, &base],
        )
        .map_err(|e| format!("failed: cannot make a worktree: {e}"))?;
        let result = self.fix_in(request, &worktree, &branch, &base);
        let _ = self.git(&clone, &["worktree", "remove", "--force", path_str(&worktree)?]);
        // Whatever git's configuration, which the fixer could change, left running.
        command::end_descendants();
        result
    }

    fn fix_in(&self, request: &Request, worktree: &Path, branch: &str, base: &str) -> Result<String, Stop> {
        let autofix = &self.config.autofix;
        // Values the collector made, none of them report text.
        let fill = |arg: &String| {
            arg.replace("{issue_url}", &request.issue_url)
                .replace("{issue_number}", &request.public_number.to_string())
                .replace("{repo}", &request.public_repo)
                .replace("{key}", &request.key)
        };
        let command: Vec<String> = autofix.command.iter().map(fill).collect();
        let fixer = self
            .contained(&command, worktree)
            .map_err(|e| self.stop_or(format!("failed: the fixer {e}")))?;
        self.guard()?;
        let tests = self
            .contained(&autofix.test_command, worktree)
            .map_err(|e| self.stop_or(format!("failed: the tests did not pass, so no pull request: {e}")))?;
        self.guard()?;
        // The fixer's own commits, if any, become one whose subject is the collector's: what the
        // fixer wrote in them is quoted in the pull request, not published as the branch's history.
        let failed = |e: String| format!("failed: {e}");
        let commits = self
            .git(worktree, &["log", "--format=- %s", &format!("{base}..HEAD")])
            .map_err(failed)?;
        self.git(worktree, &["reset", "--quiet", "--soft", base])
            .map_err(failed)?;
        self.git(worktree, &["add", "-A"]).map_err(failed)?;
        let staged = self
            .git(worktree, &["diff", "--cached", "--name-only"])
            .map_err(failed)?;
        if staged.trim().is_empty() {
            return Err("no change: the fixer changed nothing".into());
        }
        let short: String = request.key.chars().take(12).collect();
        let title = format!("Fix lokiwrap {} {short}", request.what);
        self.git(
            worktree,
            &[
                "-c",
                "user.name=lokiwrap-collector",
                "-c",
                "user.email=lokiwrap-collector@localhost",
                "commit",
                "--quiet",
                "-m",
                &title,
            ],
        )
        .map_err(|e| format!("failed: cannot commit the fix: {e}"))?;
        let stat = self
            .git(worktree, &["diff", "--stat", base, "HEAD"])
            .unwrap_or_default();
        if autofix.dry_run {
            return Ok(format!(
                "dry run: a fix on {branch} passed its tests; nothing pushed (autofix.dry_run)"
            ));
        }
        self.guard()?;
        self.git(
            worktree,
            &[
                "push",
                "--quiet",
                "--force",
                "origin",
                &format!("HEAD:refs/heads/{branch}"),
            ],
        )
        .map_err(|e| format!("failed: cannot push {branch}: {e}"))?;
        self.guard()?;
        let scrubber = Scrubber::new();
        // What the fixer and the tests wrote (commit subjects, output, file names) may repeat the
        // report: it is quoted, never part of the text around it.
        let body = format!(
            "Proposed by lokiwrap-collector's guarded auto-fix for #{number}.\n\n\
             ### Reasoning\n\nThe fixer ({fixer_cmd}) ran in a fresh worktree of {base}. Its own commits, which \
             this pull request has as one:\n\n{commits}\n\nIts last output:\n\n{fixer_tail}\n\n\
             ### Tests\n\n{test_cmd} passed after the change:\n\n{test_tail}\n\n\
             ### Risk notes\n\n{stat}\n\n\
             - This pull request is **not** merged automatically: a maintainer must review and merge it.\n\
             - It was written by a program from a crash or failure report; check that it fixes the cause and not only \
             the symptom.\n\nFixes #{number}\n",
            number = request.public_number,
            fixer_cmd = code(&command.join(" ")),
            test_cmd = code(&autofix.test_command.join(" ")),
            base = code(base),
            commits = if commits.trim().is_empty() {
                "none (the collector committed its changes)".to_string()
            } else {
                fenced(&commits)
            },
            fixer_tail = fenced(&tail(&fixer, 20)),
            test_tail = fenced(&tail(&tests, 20)),
            stat = fenced(&stat),
        );
        let body = scrubber.scrub(&body).text.into_owned();
        if let Err(error) = self.store.record_write(unix_now()) {
            tracing::error!(%error, "cannot record a GitHub write");
        }
        let number = self
            .github
            .create_pull(&request.public_repo, &title, branch, &autofix.base_branch, &body)
            .map_err(|e| format!("failed: the pull request was not opened: {e}"))?;
        Ok(format!("pr #{number}"))
    }
}

fn path_str(path: &Path) -> Result<&str, Stop> {
    path.to_str()
        .ok_or_else(|| format!("failed: {} is not UTF-8", path.display()))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
