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
//! then pass, which shows that it compares only what is the same between any two runs. Set
//! `LOKIWRAP_TEST_SHOW_STEPS=1` to see every step's shot as it is taken.

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

/// How a step's view is turned into what is compared.
type Shape = fn(&View) -> String;

/// The whole view: screen and scrollback with escapes, cursor and modes.
fn whole(view: &View) -> String {
    format!("{}\n--- cursor and modes\n{}", view.screen, view.modes)
}

/// One of the two terminals.
struct Side {
    tmux: Tmux,
    root: tempfile::TempDir,
    wrapped: bool,
    /// The unwrapped side's shots, by step name; `None` on the unwrapped side itself.
    reference: Option<HashMap<String, Shot>>,
    /// This side's shots, by step name (the last one, for a step taken several times).
    shots: HashMap<String, Shot>,
    /// How `snap` shapes the view, for every step of the scenario.
    shape: Shape,
    /// Where the scenario is, for a failure's message (e.g. which of several runs).
    context: String,
    stty_before: String,
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
            shape: scenario.shape,
            context: String::new(),
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
        // Each side has a temporary directory of its own, and a program may show its path
        // (vim names the file it edits): the one text that must differ between two runs.
        let root = self.root.path().to_str().unwrap();
        let shaped = shape(&view).replace(root, "<the side's temporary directory>");
        (view, format!("{shaped}\n--- stty -a\n{}", self.tmux.stty()))
    }

    /// Waits for the step's screen to settle and compares it with the unwrapped side's.
    fn snap(&mut self, step: &str, ready: impl Fn(&View) -> bool) {
        self.snap_shaped(step, ready, self.shape, SETTLE);
    }

    /// `snap` with `shape` for this step, taking the wrapped side's screen once it has
    /// matched for `hold` (the unwrapped side's always settles first). A step whose screen the
    /// next step compares in full can hold for less than `SETTLE`.
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
                        let step = format!("{step}{}", self.context);
                        panic!("{}", differences(&step, self.label(), expected, &shot, &view));
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if std::env::var_os("LOKIWRAP_TEST_SHOW_STEPS").is_some() {
            eprintln!("--- {} side, step {step:?}:\n{last}", self.label());
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
    let diff = line_diff(expected, got);
    for line in diff.iter().take(80) {
        out.push_str(line);
        out.push('\n');
    }
    if diff.len() > 80 {
        out.push_str(&format!("  ... and {} more lines of the diff\n", diff.len() - 80));
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

/// A scenario's set-up: the files each side starts with (in its working directory and its
/// home), more environment for its shell, and how its screens are compared.
struct Scenario<'a> {
    prepare: &'a dyn Fn(&Path, &Path),
    env: &'a [(&'a str, &'a str)],
    shape: Shape,
}

impl<'a> Scenario<'a> {
    fn new() -> Scenario<'a> {
        Scenario {
            prepare: &|_, _| {},
            env: &[],
            shape: whole,
        }
    }

    fn files(self, prepare: &'a dyn Fn(&Path, &Path)) -> Scenario<'a> {
        Scenario { prepare, ..self }
    }

    fn env(self, env: &'a [(&'a str, &'a str)]) -> Scenario<'a> {
        Scenario { env, ..self }
    }

    fn shape(self, shape: Shape) -> Scenario<'a> {
        Scenario { shape, ..self }
    }

    /// Runs `steps` unwrapped, then wrapped, comparing each step's screen with the unwrapped
    /// one.
    fn run(self, steps: impl Fn(&mut Side)) {
        let mut reference = Side::new(false, None, &self);
        steps(&mut reference);
        let recorded = reference.finish();
        let mut compared = Side::new(!both_unwrapped(), Some(recorded.clone()), &self);
        steps(&mut compared);
        let shots = compared.finish();
        let mut missing: Vec<&String> = recorded.keys().filter(|step| !shots.contains_key(*step)).collect();
        missing.sort();
        assert!(missing.is_empty(), "steps never taken on the second side: {missing:?}");
    }
}

fn at_shell_prompt(view: &View) -> bool {
    view.last_line() == "$"
}

/// The shell prompt is back after a command that ends with `echo rc=$?`.
fn rc_and_prompt(view: &View) -> bool {
    rc_lines(view) > 0 && at_shell_prompt(view)
}

/// How many exit statuses (`rc=` lines) the screen shows.
fn rc_lines(view: &View) -> usize {
    view.text().lines().filter(|l| l.starts_with("rc=")).count()
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
    Scenario::new().run(|side| {
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
    });
}

#[test]
fn node_repl_errors_and_ctrl_c_read_as_unwrapped() {
    Scenario::new().run(|side| {
        side.type_line("$W node; echo rc=$?");
        side.snap("node's first prompt", |v| {
            v.text().contains(".help") && v.last_line() == ">"
        });
        // node previews what a line will give (here the error, in grey, below it) while it is
        // typed: press Enter once the preview is drawn, as a person reading it would. An Enter
        // that meets the preview half drawn can leave a blank line even unwrapped.
        side.type_text("null.x");
        side.snap("node previews the error", |v| count(v, "TypeError") == 1);
        side.key("Enter");
        side.snap("a TypeError", |v| {
            v.text().contains("Uncaught TypeError") && v.last_line() == ">"
        });
        side.key("C-c");
        side.snap("Ctrl-C at the prompt", |v| {
            v.text().contains("press Ctrl+C again") && v.last_line() == ">"
        });
        side.key("C-c");
        side.snap("a second Ctrl-C ends node", rc_and_prompt);
        side.type_line("$W node; echo rc=$?");
        side.snap("node's prompt again", |v| {
            count(v, ".help") == 2 && v.last_line() == ">"
        });
        side.type_text(".exit");
        side.snap(".exit typed", |v| v.last_line() == "> .exit");
        side.key("Enter");
        side.snap(".exit ends node", |v| rc_lines(v) == 2 && at_shell_prompt(v));
    });
}

/// 200 lines, `line 1` to `line 200`, in `lines.txt`.
fn lines_file(work: &Path, _: &Path) {
    let text: String = (1..=200).map(|n| format!("line {n}\n")).collect();
    std::fs::write(work.join("lines.txt"), text).unwrap();
}

#[test]
fn vim_screen_and_modes_are_as_unwrapped() {
    let prepare = |work: &Path, _: &Path| {
        let text: String = (1..=20).map(|n| format!("line {n} of a small file\n")).collect();
        std::fs::write(work.join("small.txt"), text).unwrap();
    };
    Scenario::new().files(&prepare).run(|side| {
        side.type_line("$W vim small.txt; echo rc=$?");
        side.snap("vim shows the file", |v| v.text().contains("\"small.txt\" 20L"));
        side.key("G");
        side.snap("G goes to the last line", |v| v.text().contains("20,1"));
        side.type_line(":q!");
        side.snap(":q! leaves vim", rc_and_prompt);
    });
}

#[test]
fn less_screen_and_modes_are_as_unwrapped() {
    Scenario::new().files(&lines_file).run(|side| {
        side.type_line("$W less lines.txt; echo rc=$?");
        side.snap("less shows the first page", |v| {
            v.text().contains("line 39") && v.last_line() == "lines.txt"
        });
        side.key("G");
        side.snap("G goes to the end", |v| {
            v.text().contains("line 200") && v.last_line() == "(END)"
        });
        side.key("q");
        side.snap("q leaves less", rc_and_prompt);
    });
}

/// Each row of a `capture-pane -e` screen in a canonical form: every run of text preceded by
/// all the attributes it is shown with, spelled out. tmux writes only the changes from one cell
/// to the next, across rows too, so a row's own escapes depend on how the row above ended.
fn canonical_rows(screen: &str) -> Vec<String> {
    let mut state: Vec<(String, String)> = Vec::new();
    let mut rows = Vec::new();
    for line in screen.lines() {
        let mut row = String::new();
        let mut written: Option<Vec<(String, String)>> = None;
        let mut rest = line;
        loop {
            let (text, escape) = match rest.find('\x1b') {
                Some(at) => (&rest[..at], Some(&rest[at + 1..])),
                None => (rest, None),
            };
            if !text.is_empty() {
                if written.as_ref() != Some(&state) {
                    let shown: Vec<String> = state.iter().map(|(kind, value)| format!("{kind}={value}")).collect();
                    row.push_str(&format!("<{}>", shown.join(",")));
                    written = Some(state.clone());
                }
                row.push_str(text);
            }
            let Some(escape) = escape else { break };
            let Some(csi) = escape.strip_prefix('[') else {
                rest = escape.get(1..).unwrap_or("");
                continue;
            };
            let Some(end) = csi.find(|c: char| ('@'..='~').contains(&c)) else {
                break;
            };
            if csi[end..].starts_with('m') {
                apply_sgr(&mut state, &csi[..end]);
            }
            rest = &csi[end + 1..];
        }
        rows.push(row);
    }
    rows
}

/// Applies one SGR sequence's parameters to `state`: (kind, value) pairs, kept sorted.
fn apply_sgr(state: &mut Vec<(String, String)>, params: &str) {
    let mut set = |kind: &str, value: Option<String>| {
        state.retain(|(k, _)| k != kind);
        if let Some(value) = value {
            state.push((kind.to_string(), value));
            state.sort();
        }
    };
    let params: Vec<&str> = params.split(';').collect();
    let mut i = 0;
    while i < params.len() {
        let code = params[i];
        let number: u32 = code.split(':').next().unwrap_or("").parse().unwrap_or(0);
        let on = Some(code.to_string());
        match number {
            0 => {
                set("fg", None);
                set("bg", None);
                set("ul-colour", None);
                for n in 1..=9 {
                    set(&format!("attr{n}"), None);
                }
                set("attr53", None);
            }
            1..=9 => set(&format!("attr{number}"), on),
            21 => set("attr4", on),
            22 => {
                set("attr1", None);
                set("attr2", None);
            }
            23..=29 => set(&format!("attr{}", number - 20), None),
            53 => set("attr53", on),
            55 => set("attr53", None),
            30..=37 | 90..=97 => set("fg", on),
            39 => set("fg", None),
            40..=47 | 100..=107 => set("bg", on),
            49 => set("bg", None),
            59 => set("ul-colour", None),
            38 | 48 | 58 => {
                // 38;5;N or 38;2;R;G;B: the colour is in the parameters that follow.
                let extra = match params.get(i + 1) {
                    Some(&"5") => 2,
                    Some(&"2") => 4,
                    _ => 0,
                };
                let end = (i + 1 + extra).min(params.len());
                let kind = match number {
                    38 => "fg",
                    48 => "bg",
                    _ => "ul-colour",
                };
                set(kind, Some(params[i..end].join(";")));
                i = end;
                continue;
            }
            _ => set(&format!("sgr{number}"), on),
        }
        i += 1;
    }
}

/// The modes without the cursor position, for a screen whose cursor follows changing text.
fn modes_without_cursor(view: &View) -> String {
    view.modes
        .split(' ')
        .filter(|mode| !mode.starts_with("cursor="))
        .collect::<Vec<_>>()
        .join(" ")
}

/// htop's screen while it runs, reduced to what does not change from one moment to the next:
/// the row its column header is on and that header (with colours), and the key bar at the
/// bottom. The meters, the process list and the cursor's place follow the machine's activity.
fn htop_layout(view: &View) -> String {
    let text: Vec<String> = view.text().lines().map(str::to_string).collect();
    let rows = canonical_rows(&view.screen);
    let header = text.iter().position(|row| row.contains("PID USER"));
    let bottom = text.iter().rposition(|row| !row.trim().is_empty());
    format!(
        "column header on row {header:?}: {}\nbottom row {bottom:?}: {}\n--- modes\n{}",
        header.map_or("", |i| &rows[i]),
        bottom.map_or("", |i| &rows[i]),
        modes_without_cursor(view)
    )
}

#[test]
fn htop_layout_and_the_terminal_after_quitting_are_as_unwrapped() {
    Scenario::new().run(|side| {
        side.type_line("$W htop; echo rc=$?");
        side.snap_shaped(
            "htop's layout while it runs",
            |v| v.text().contains("PID USER") && v.text().contains("F10"),
            htop_layout,
            SETTLE,
        );
        side.key("q");
        side.snap("q leaves htop", rc_and_prompt);
    });
}

#[test]
fn man_page_reads_as_unwrapped() {
    // Debian's `man ls` where the system has its pages; else a page of the tests' own.
    let has_ls_page = Command::new("man")
        .args(["-w", "ls"])
        .output()
        .is_ok_and(|out| out.status.success());
    let prepare = |work: &Path, _: &Path| {
        std::fs::copy(program("sample-page.1"), work.join("sample-page.1")).unwrap();
    };
    let (command, title) = if has_ls_page {
        ("$W man ls; echo rc=$?", "Manual page ls(1)")
    } else {
        ("$W man ./sample-page.1; echo rc=$?", "Manual page sample-page.1")
    };
    Scenario::new().files(&prepare).run(|side| {
        side.type_line(command);
        side.snap("man shows the page", |v| v.last_line().contains(title));
        side.key("q");
        side.snap("q leaves man", rc_and_prompt);
    });
}

/// Runs git in `work` as the side's user (its `home`), and fails the test if git does.
fn git(work: &Path, home: &Path, args: &[&str], stdin: Option<&[u8]>) {
    use std::io::Write;
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(work)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("git runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    let status = child.wait().unwrap();
    assert!(status.success(), "git {args:?} failed");
}

/// Author and committer time of every commit the tests make: commit ids are then the same
/// on both sides.
const COMMIT_TIME: &str = "1700000000 +0000";

/// A repository with 100 commits whose log (about 250 KB) is far more than a pipe holds: git
/// is still writing when the pager quits.
fn hundred_commits(work: &Path, home: &Path) {
    git(work, home, &["init", "-q"], None);
    let mut stream = String::new();
    for n in 1..=100 {
        let mut message = format!("Change number {n}\n\n");
        for line in 1..=30 {
            message.push_str(&format!(
                "Line {line} of the description of change {n}, long enough to fill a terminal row.\n"
            ));
        }
        let content = format!("version {n}\n");
        stream.push_str(&format!(
            "commit refs/heads/main\nauthor A U Thor <author@example.com> {COMMIT_TIME}\n\
             committer A U Thor <author@example.com> {COMMIT_TIME}\ndata {}\n{message}\n\
             M 644 inline file.txt\ndata {}\n{content}\n",
            message.len(),
            content.len()
        ));
    }
    git(work, home, &["fast-import", "--quiet"], Some(stream.as_bytes()));
}

#[test]
fn git_log_pager_quit_at_once_keeps_the_exit_status() {
    Scenario::new().files(&hundred_commits).run(|side| {
        side.type_line("$W git log; echo rc=$?");
        side.snap("git log's first page", |v| {
            v.text().contains("Change number 100") && v.last_line() == ":"
        });
        side.key("q");
        side.snap("q at once leaves git log", rc_and_prompt);
    });
}

#[test]
fn git_log_pager_to_the_end_reads_as_unwrapped() {
    Scenario::new().files(&hundred_commits).run(|side| {
        side.type_line("$W git log; echo rc=$?");
        side.snap("git log's first page", |v| {
            v.text().contains("Change number 100") && v.last_line() == ":"
        });
        side.key("G");
        side.snap("G shows the first commit", |v| {
            v.text().contains("Change number 1\n") && v.last_line() == "(END)"
        });
        side.key("q");
        side.snap("q leaves git log", rc_and_prompt);
    });
}

#[test]
fn git_commit_with_an_editor_makes_the_commit_as_unwrapped() {
    let prepare = |work: &Path, home: &Path| {
        git(work, home, &["init", "-q"], None);
        std::fs::write(work.join("hello.txt"), "hello\n").unwrap();
        git(work, home, &["add", "hello.txt"], None);
    };
    let env = [
        ("GIT_EDITOR", "vim"),
        ("GIT_AUTHOR_DATE", COMMIT_TIME),
        ("GIT_COMMITTER_DATE", COMMIT_TIME),
    ];
    Scenario::new().files(&prepare).env(&env).run(|side| {
        side.type_line("$W git commit; echo rc=$?");
        side.snap("vim shows the commit message", |v| {
            v.text().contains("COMMIT_EDITMSG") && v.text().contains("new file:")
        });
        side.type_text("iAdd a greeting");
        side.key("Escape");
        side.type_line(":wq");
        side.snap("the commit is made", rc_and_prompt);
        let log = Command::new("git")
            .args(["log", "--format=%s"])
            .current_dir(side.work())
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&log.stdout),
            "Add a greeting\n",
            "{}: the commit",
            side.label()
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Keep what the full-pty wrappers break

#[test]
fn a_pager_reading_a_wrapped_commands_output_gets_every_search_key() {
    Scenario::new().run(|side| {
        // The unwrapped run is the reference; the wrapped one must match it every time. Keys
        // are lost to a reader that competes with less for the terminal only while less is
        // not waiting in read (starting up, drawing, reading the pipe), so the search is typed
        // as soon as less has the keyboard and then a little later in each run (0 to 190 ms),
        // across less's start-up and the wrapper's own.
        let runs = if side.is_reference() { 1 } else { 20 };
        for run in 0..runs {
            side.context = format!(
                " (run {} of {runs}, search typed {} ms after less took the keyboard)",
                run + 1,
                10 * run
            );
            side.type_line("$W seq 200000 | less; echo rc=$?");
            side.tmux.wait_until_reading_keys("less");
            std::thread::sleep(Duration::from_millis(10 * run));
            side.type_text("/199999");
            side.key("Enter");
            side.snap_shaped(
                "the search finds 199999",
                |v| v.text().lines().any(|l| l.trim_end() == "199999") && v.last_line() == "(END)",
                whole,
                Duration::ZERO,
            );
            side.key("q");
            side.snap("q leaves less", rc_and_prompt);
            side.type_line("clear");
            side.snap_shaped(
                "a cleared screen",
                |v| v.text().trim_end() == "$",
                whole,
                Duration::ZERO,
            );
        }
    });
}

#[test]
fn keys_typed_before_a_wrapped_command_reach_the_next_read() {
    Scenario::new().run(|side| {
        side.type_line("sleep 1; $W true; read x; echo got=$x");
        // Typed while sleep runs, so the terminal echoes them as it does for any typeahead;
        // typed earlier, they could still meet the shell's own line editor.
        side.tmux.wait_until_sleeping("sleep");
        side.type_line("typed ahead");
        side.snap("read got the typed line", |v| {
            v.text().contains("got=") && at_shell_prompt(v)
        });
    });
}

/// The screen with every number made `N` and every run of `=` one `=`: pv's figures (bytes,
/// time, rate) differ from run to run, and its bar's length with their widths.
fn without_figures(view: &View) -> String {
    let mut out = String::new();
    let text = view.text();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars.next_if(|c| c.is_ascii_digit() || *c == '.').is_some() {}
            out.push('N');
        } else if c == '=' {
            while chars.next_if_eq(&'=').is_some() {}
            out.push('=');
        } else {
            out.push(c);
        }
    }
    format!("{out}\n--- modes\n{}", view.modes)
}

#[test]
fn pv_progress_line_shows_as_unwrapped() {
    let prepare = |work: &Path, _: &Path| {
        std::fs::write(work.join("data.bin"), vec![0u8; 4 << 20]).unwrap();
    };
    Scenario::new().files(&prepare).shape(without_figures).run(|side| {
        // Rate-limited to run about a second, so the progress line is drawn as it goes.
        side.type_line("$W pv -L 4m -i 0.2 data.bin >/dev/null; echo rc=$?");
        side.snap("pv's final progress line", rc_and_prompt);
        let text = side.tmux.view().text();
        assert!(
            text.lines()
                .any(|l| l.contains("4.00MiB") && l.trim_end().ends_with("100%")),
            "{}: no finished progress line on the screen:\n{text}",
            side.label()
        );
    });
}

#[test]
fn ctrl_z_in_a_pager_shows_the_status_line_as_unwrapped_and_fg_resumes() {
    Scenario::new().files(&lines_file).run(|side| {
        // No `; echo` after it: the shell would run that as soon as the job stops.
        side.type_line("$W less lines.txt");
        side.snap("less shows the first page", |v| {
            v.text().contains("line 39") && v.last_line() == "lines.txt"
        });
        side.key("C-z");
        side.snap("Ctrl-Z stops less", |v| {
            v.text().contains("Stopped") && at_shell_prompt(v)
        });
        side.type_line("fg");
        side.snap("fg brings less back", |v| {
            v.text().contains("line 39") && !at_shell_prompt(v)
        });
        side.key("G");
        side.snap("less reads keys again", |v| {
            v.text().contains("line 200") && v.last_line() == "(END)"
        });
        side.key("q");
        side.snap("q leaves less", at_shell_prompt);
        side.type_line("echo rc=$?");
        side.snap("less's exit status", rc_and_prompt);
    });
}

// ---------------------------------------------------------------------------------------------
// Smaller differences

#[test]
fn a_broken_pipe_reads_as_unwrapped_and_makes_no_crash_report() {
    Scenario::new().run(|side| {
        // head exits after one line while python still writes: python's next write fails with
        // EPIPE, and it prints BrokenPipeError. The reader went away; nothing crashed.
        side.type_line(r#"$W python3 -c 'print("x\n" * 100000)' | head -1; echo rc=${PIPESTATUS[*]}"#);
        side.snap("python's BrokenPipeError", |v| {
            v.text().contains("BrokenPipeError") && rc_and_prompt(v)
        });
        let reports = crash_reports(&side.home());
        assert_eq!(reports, 0, "{}: a broken pipe made a crash report", side.label());
        // A real crash in the same set-up is reported: the check above can see reports.
        side.type_line("$W python3 -c '1/0'; echo rc=$?");
        side.snap("python's ZeroDivisionError", |v| rc_lines(v) == 2 && at_shell_prompt(v));
        if side.wrapped {
            assert_eq!(crash_reports(&side.home()), 1, "the ZeroDivisionError was not reported");
        }
    });
}

/// How many crash reports the user whose home is `home` has (`lokiwrap crash list --json`).
fn crash_reports(home: &Path) -> usize {
    let out = lokiwrap_as(home, &["crash", "list", "--json"], &[]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout)
        .expect("crash list --json prints a list")
        .len()
}

#[test]
fn shim_list_with_no_shims_says_so_and_how_to_add_one() {
    let home = tempfile::tempdir().unwrap();
    write_config(home.path(), "notice_shown = true\n");
    let out = lokiwrap_as(home.path(), &["shim", "list"], &[]).output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "shim list failed: {stderr}");
    // A script reading the list (one `name<TAB>tool` line per shim) still finds no shim.
    assert!(!stdout.contains('\t'), "a shim is listed: {stdout}");
    let said = format!("{stdout}{stderr}");
    assert!(
        said.to_lowercase().contains("no shim") && said.contains("lokiwrap shim add"),
        "shim list with no shims says nothing of it, or not how to add one: {said:?}"
    );
}
