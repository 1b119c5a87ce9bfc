//! Interactive programs side by side: each test runs one scenario twice, in two real
//! terminals (tmux), once unwrapped and once through lokiwrap, types the same keys into both,
//! and compares what a person sees at each step: the screen with its colours and attributes,
//! the cursor and the terminal's modes, and `stty -a`. Exit statuses are on the screen
//! (`echo rc=$?`).
//!
//! Both terminals type the very same command line: the shell has `W` set to `lokiwrap --` on
//! the wrapped side and to nothing on the other, and the scenarios type `$W tool ...`. Each
//! side works in a fresh directory with the same files, and has a fresh home of its own (so
//! no history or configuration of the user's, and lokiwrap's reports stay in the test's home).
//!
//! Set `LOKIWRAP_TEST_BOTH_UNWRAPPED=1` to run the second side unwrapped too: every test must
//! then pass, which shows that it compares only what is the same between any two runs.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Tmux, View, lokiwrap_as, program, write_config};

/// A screen counts as settled when it has not changed for this long.
const SETTLE: Duration = Duration::from_millis(200);
/// How long the unwrapped side may take to reach a step: past this the scenario itself is
/// wrong (or the machine is far too slow), not lokiwrap.
const REFERENCE_DEADLINE: Duration = Duration::from_secs(20);
/// How long the wrapped side may take to show what the unwrapped one showed.
const COMPARED_DEADLINE: Duration = Duration::from_secs(10);
/// A wrapped screen that shows the step's end but differs, unchanged for this long, differs
/// for good; so does any differing screen unchanged for `GIVE_UP_UNCHANGED`.
const GIVE_UP_READY: Duration = Duration::from_secs(1);
const GIVE_UP_UNCHANGED: Duration = Duration::from_secs(3);

fn both_unwrapped() -> bool {
    std::env::var_os("LOKIWRAP_TEST_BOTH_UNWRAPPED").is_some_and(|v| !v.is_empty() && v != "0")
}

/// What one side looked like at one step, as compared: the (shaped) screen and modes, then
/// `stty -a`.
type Shot = String;

/// One of the two terminals.
struct Side {
    tmux: Tmux,
    root: tempfile::TempDir,
    wrapped: bool,
    /// The unwrapped side's shots, by step name; `None` on the unwrapped side itself.
    reference: Option<HashMap<String, Shot>>,
    /// This side's shots, by step name (the last one, for a step taken several times).
    shots: HashMap<String, Shot>,
    stty_before: String,
}

/// How a step's screen is turned into what is compared: the whole view by default.
type Shape<'a> = &'a dyn Fn(&View) -> String;

fn whole(view: &View) -> String {
    format!("{}\n--- cursor and modes\n{}", view.screen, view.modes)
}

impl Side {
    fn new(wrapped: bool, reference: Option<HashMap<String, Shot>>, scenario: &Scenario) -> Side {
        let root = tempfile::tempdir().unwrap();
        let (home, work) = (root.path().join("home"), root.path().join("work"));
        std::fs::create_dir_all(&work).unwrap();
        write_config(&home, "notice_shown = true\n");
        std::fs::write(
            home.join(".gitconfig"),
            "[user]\n\tname = A U Thor\n\temail = author@example.com\n[init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        (scenario.prepare)(&work, &home);
        let home_var = home.to_str().unwrap().to_string();
        let mut env: Vec<(&str, &str)> = vec![
            ("HOME", &home_var),
            ("W", if wrapped { "lokiwrap --" } else { "" }),
            // The system's git configuration is not the test's business.
            ("GIT_CONFIG_NOSYSTEM", "1"),
        ];
        env.extend(scenario.env.iter().copied());
        let tmux = Tmux::start_in(&work, &env);
        let stty_before = tmux.stty();
        let mut side = Side {
            tmux,
            root,
            wrapped,
            reference,
            shots: HashMap::new(),
            stty_before,
        };
        side.snap("the shell's first prompt", at_shell_prompt);
        side
    }

    fn label(&self) -> &'static str {
        match (&self.reference, self.wrapped) {
            (None, _) => "unwrapped",
            (Some(_), true) => "lokiwrap",
            (Some(_), false) => "unwrapped (second run)",
        }
    }

    /// The directory the shell works in.
    fn work(&self) -> PathBuf {
        self.root.path().join("work")
    }

    fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// Whether this side is the one that the other is compared with.
    fn is_reference(&self) -> bool {
        self.reference.is_none()
    }

    fn type_line(&self, line: &str) {
        self.tmux.type_line(line);
    }

    fn type_text(&self, text: &str) {
        self.tmux.type_text(text);
    }

    fn key(&self, key: &str) {
        self.tmux.key(key);
    }

    fn shot(&self, shape: Shape) -> (View, Shot) {
        let view = self.tmux.view();
        let shot = format!("{}\n--- stty -a\n{}", shape(&view), self.tmux.stty());
        (view, shot)
    }

    /// Waits for the step's screen to settle and compares it with the unwrapped side's.
    fn snap(&mut self, step: &str, ready: impl Fn(&View) -> bool) {
        self.snap_shaped(step, ready, &whole, SETTLE);
    }

    /// `snap`, comparing `shape` of the screen instead of all of it, and taking the wrapped
    /// side's screen once it has matched for `hold` (the unwrapped side always settles).
    fn snap_shaped(&mut self, step: &str, ready: impl Fn(&View) -> bool, shape: Shape, hold: Duration) {
        let start = Instant::now();
        let (mut last, mut since) = (String::new(), Instant::now());
        let expected = self.reference.as_ref().map(|shots| {
            shots
                .get(step)
                .unwrap_or_else(|| panic!("the unwrapped side has no step {step:?}"))
                .clone()
        });
        loop {
            let (view, shot) = self.shot(shape);
            let now = Instant::now();
            if shot != last {
                (last, since) = (shot.clone(), now);
            }
            let unchanged = now - since;
            match &expected {
                None => {
                    if ready(&view) && unchanged >= SETTLE {
                        break;
                    }
                    assert!(
                        now - start < REFERENCE_DEADLINE,
                        "the unwrapped side never settled at step {step:?}; the scenario is wrong:\n{}",
                        view.text()
                    );
                }
                Some(expected) => {
                    if shot == *expected && unchanged >= hold {
                        break;
                    }
                    if shot != *expected
                        && ((ready(&view) && unchanged >= GIVE_UP_READY)
                            || unchanged >= GIVE_UP_UNCHANGED
                            || now - start >= COMPARED_DEADLINE)
                    {
                        panic!("{}", differences(step, self.label(), expected, &shot, &view));
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.shots.insert(step.to_string(), last);
    }

    /// Types `stty -a` at the shell prompt and compares what it prints, and checks that the
    /// terminal's settings are those it had before the scenario. Returns the shots.
    fn finish(mut self) -> HashMap<String, Shot> {
        self.type_line("stty -a");
        self.snap("stty -a typed at the end", |v| {
            v.text().contains("eol2") && at_shell_prompt(v)
        });
        let after = self.tmux.stty();
        assert_eq!(
            self.stty_before,
            after,
            "{}: stty -a differs before and after the scenario",
            self.label()
        );
        std::mem::take(&mut self.shots)
    }
}

/// Where the two sides' shots of one step differ, as a line diff with the escapes shown.
fn differences(step: &str, label: &str, expected: &str, got: &str, view: &View) -> String {
    let mut out =
        format!("step {step:?}: the {label} side differs from the unwrapped side (- unwrapped, + {label}):\n");
    for line in line_diff(expected, got) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!("the {label} screen, as text:\n{}", view.text()));
    out
}

/// A line diff (longest common subsequence), with two lines of context around each change.
fn line_diff(old: &str, new: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // common[i][j]: the length of the longest common subsequence of a[i..] and b[j..].
    let mut common = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            common[i][j] = if a[i] == b[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut edits = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            edits.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || common[i][j + 1] >= common[i + 1][j]) {
            edits.push(('+', b[j]));
            j += 1;
        } else {
            edits.push(('-', a[i]));
            i += 1;
        }
    }
    let near_change = |k: usize| {
        edits[k.saturating_sub(2)..(k + 3).min(edits.len())]
            .iter()
            .any(|(mark, _)| *mark != ' ')
    };
    let mut lines = Vec::new();
    let mut skipped = false;
    for (k, (mark, line)) in edits.iter().enumerate() {
        if near_change(k) {
            if skipped {
                lines.push("  ...".to_string());
            }
            skipped = false;
            lines.push(format!("{mark} {line:?}"));
        } else {
            skipped = true;
        }
    }
    lines
}

/// The files each side starts with, and environment for its shell.
struct Scenario<'a> {
    prepare: &'a dyn Fn(&Path, &Path),
    env: &'a [(&'a str, &'a str)],
}

fn no_files(_: &Path, _: &Path) {}

/// Runs `steps` unwrapped, then wrapped, comparing each step's screen with the unwrapped one.
fn side_by_side(scenario: Scenario, steps: impl Fn(&mut Side)) {
    let mut reference = Side::new(false, None, &scenario);
    steps(&mut reference);
    let recorded = reference.finish();
    let mut compared = Side::new(!both_unwrapped(), Some(recorded.clone()), &scenario);
    steps(&mut compared);
    let shots = compared.finish();
    let mut missing: Vec<&String> = recorded.keys().filter(|step| !shots.contains_key(*step)).collect();
    missing.sort();
    assert!(missing.is_empty(), "steps never taken on the second side: {missing:?}");
}

fn at_shell_prompt(view: &View) -> bool {
    view.last_line() == "$"
}

/// The shell prompt is back after a command that ends with `echo rc=$?`.
fn rc_and_prompt(view: &View) -> bool {
    view.text().lines().any(|l| l.starts_with("rc=")) && at_shell_prompt(view)
}

fn at(prompt: &'static str) -> impl Fn(&View) -> bool {
    move |view| view.last_line() == prompt
}

fn count(view: &View, needle: &str) -> usize {
    view.text().matches(needle).count()
}

// ---------------------------------------------------------------------------------------------
// Interactive programs

#[test]
fn python_repl_traceback_reads_as_unwrapped() {
    side_by_side(
        Scenario {
            prepare: &no_files,
            env: &[],
        },
        |side| {
            side.type_line("$W python3 -q; echo rc=$?");
            side.snap("python's first prompt", at(">>>"));
            side.type_line("1/0");
            side.snap("a ZeroDivisionError traceback", |v| {
                v.text().contains("ZeroDivisionError: division by zero") && v.last_line() == ">>>"
            });
            side.key("C-c");
            side.snap("Ctrl-C at the prompt", |v| {
                count(v, "KeyboardInterrupt") == 1 && v.last_line() == ">>>"
            });
            side.type_line("import time; time.sleep(5)");
            side.tmux.wait_until_sleeping("python3");
            side.key("C-c");
            side.snap("Ctrl-C during time.sleep", |v| {
                count(v, "KeyboardInterrupt") == 2 && v.last_line() == ">>>"
            });
            // Python remembers the KeyboardInterrupt it printed and, on leaving, dies of SIGINT as
            // its exit status: the shell then drops the rest of the line (no `rc=`) and says so
            // in `$?`.
            side.key("C-d");
            side.snap("Ctrl-D ends python", at_shell_prompt);
            side.type_line("echo rc=$?");
            side.snap("python's exit status", rc_and_prompt);
        },
    );
}
