//! The snippets a tool author copies to obey lokiwrap's switch before sending the tool's own
//! telemetry (`packaging/tool-authors/`), each run in sh, Node and Python against the real
//! lokiwrap: installed, switched off every way, with a missing or invalid configuration, not
//! installed at all, and installed but broken. The README quotes each file verbatim.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Exit statuses the harnesses use for the snippet's answer, so a harness that crashed (1, 127)
/// is never read as an answer.
const ALLOWED: i32 = 10;
const NOT_ALLOWED: i32 = 11;

fn snippets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/tool-authors")
}

/// One way of asking: the language, and the command that loads the snippet and exits
/// `ALLOWED` or `NOT_ALLOWED`.
struct Snippet {
    language: &'static str,
    file: &'static str,
    harness: fn(&Path) -> Command,
}

const SNIPPETS: [Snippet; 3] = [
    Snippet {
        language: "sh",
        file: "telemetry_allowed.sh",
        harness: |file| {
            let mut cmd = Command::new("sh");
            cmd.args([
                "-c",
                &format!(". \"$1\" && if telemetry_allowed; then exit {ALLOWED}; else exit {NOT_ALLOWED}; fi"),
                "sh",
            ])
            .arg(file);
            cmd
        },
    },
    Snippet {
        language: "Node",
        file: "telemetry_allowed.cjs",
        harness: |file| {
            let mut cmd = Command::new("node");
            cmd.args([
                "-e",
                &format!("process.exit(require(process.argv[1]).telemetryAllowed() ? {ALLOWED} : {NOT_ALLOWED})"),
            ])
            .arg(file);
            cmd
        },
    },
    Snippet {
        language: "Python",
        file: "telemetry_allowed.py",
        harness: |file| {
            let mut cmd = Command::new("python3");
            cmd.args([
                "-c",
                &format!(
                    "import runpy, sys\nallowed = runpy.run_path(sys.argv[1])['telemetry_allowed']()\n\
                     sys.exit({ALLOWED} if allowed else {NOT_ALLOWED})"
                ),
            ])
            .arg(file);
            cmd
        },
    },
];

/// What is on PATH under the name `lokiwrap`.
#[derive(Clone, Copy, Debug)]
enum Lokiwrap {
    /// The real binary, as built for these tests.
    Installed,
    /// Nothing: PATH holds no lokiwrap.
    NotInstalled,
    /// A lokiwrap that fails with an error status (2) and a message.
    FailsWithError,
    /// A lokiwrap that dies of SIGSEGV.
    Crashes,
    /// A launcher whose interpreter is gone (as when Node was removed under an npm install).
    MissingInterpreter,
}

/// One situation a tool can find itself in, and whether the tool may send.
struct Case {
    name: &'static str,
    lokiwrap: Lokiwrap,
    env: &'static [(&'static str, &'static str)],
    config: Option<&'static str>,
    allowed: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "installed, nothing set, no configuration file",
        lokiwrap: Lokiwrap::Installed,
        env: &[],
        config: None,
        allowed: true,
    },
    Case {
        name: "installed, a configuration file that leaves telemetry on",
        lokiwrap: Lokiwrap::Installed,
        env: &[],
        config: Some("notice_shown = true\nreport_exit_codes = [2]\n"),
        allowed: true,
    },
    Case {
        name: "installed, DO_NOT_TRACK=1",
        lokiwrap: Lokiwrap::Installed,
        env: &[("DO_NOT_TRACK", "1")],
        config: None,
        allowed: false,
    },
    Case {
        name: "installed, DO_NOT_TRACK=0",
        lokiwrap: Lokiwrap::Installed,
        env: &[("DO_NOT_TRACK", "0")],
        config: None,
        allowed: true,
    },
    Case {
        name: "installed, LOKIWRAP_TELEMETRY=off",
        lokiwrap: Lokiwrap::Installed,
        env: &[("LOKIWRAP_TELEMETRY", "off")],
        config: None,
        allowed: false,
    },
    Case {
        name: "installed, LOKIWRAP_TELEMETRY mistyped",
        lokiwrap: Lokiwrap::Installed,
        env: &[("LOKIWRAP_TELEMETRY", "of")],
        config: None,
        allowed: false,
    },
    Case {
        name: "installed, config telemetry = \"off\"",
        lokiwrap: Lokiwrap::Installed,
        env: &[],
        config: Some("telemetry = \"off\"\n"),
        allowed: false,
    },
    Case {
        name: "installed, config off and LOKIWRAP_TELEMETRY=on (no switch turns another back on)",
        lokiwrap: Lokiwrap::Installed,
        env: &[("LOKIWRAP_TELEMETRY", "on")],
        config: Some("telemetry = \"off\"\n"),
        allowed: false,
    },
    Case {
        name: "installed, invalid configuration file",
        lokiwrap: Lokiwrap::Installed,
        env: &[],
        config: Some("telemetry = off\n"),
        allowed: false,
    },
    Case {
        name: "installed, configuration with an unknown value",
        lokiwrap: Lokiwrap::Installed,
        env: &[],
        config: Some("telemetry = \"of\"\n"),
        allowed: false,
    },
    Case {
        name: "not installed, nothing set",
        lokiwrap: Lokiwrap::NotInstalled,
        env: &[],
        config: None,
        allowed: true,
    },
    Case {
        name: "not installed, DO_NOT_TRACK=1",
        lokiwrap: Lokiwrap::NotInstalled,
        env: &[("DO_NOT_TRACK", "1")],
        config: None,
        allowed: false,
    },
    Case {
        name: "not installed, DO_NOT_TRACK=true",
        lokiwrap: Lokiwrap::NotInstalled,
        env: &[("DO_NOT_TRACK", "True")],
        config: None,
        allowed: false,
    },
    Case {
        name: "not installed, DO_NOT_TRACK=false",
        lokiwrap: Lokiwrap::NotInstalled,
        env: &[("DO_NOT_TRACK", "false")],
        config: None,
        allowed: true,
    },
    Case {
        name: "not installed, lokiwrap's own switches are not the tool's rules",
        lokiwrap: Lokiwrap::NotInstalled,
        env: &[("LOKIWRAP_TELEMETRY", "off")],
        config: Some("telemetry = \"off\"\n"),
        allowed: true,
    },
    Case {
        name: "installed but fails with an error",
        lokiwrap: Lokiwrap::FailsWithError,
        env: &[],
        config: None,
        allowed: false,
    },
    Case {
        name: "installed but crashes",
        lokiwrap: Lokiwrap::Crashes,
        env: &[],
        config: None,
        allowed: false,
    },
    Case {
        name: "installed but its interpreter is gone",
        lokiwrap: Lokiwrap::MissingInterpreter,
        env: &[],
        config: None,
        allowed: false,
    },
];

/// The caller's PATH without any directory that holds a `lokiwrap`, so "not installed" is true
/// on a machine where lokiwrap is installed.
fn path_without_lokiwrap() -> Vec<PathBuf> {
    let dirs: Vec<PathBuf> = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .filter(|dir| !dir.join("lokiwrap").exists())
        .collect();
    for tool in ["sh", "node", "python3"] {
        assert!(
            dirs.iter().any(|dir| dir.join(tool).is_file()),
            "{tool} is not on PATH: the snippet tests need sh, node and python3 \
             (apt-get install nodejs python3)"
        );
    }
    dirs
}

fn write_executable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A directory holding what `lokiwrap` on PATH is in this case, if anything.
fn lokiwrap_dir(kind: Lokiwrap, scratch: &Path) -> Option<PathBuf> {
    let dir = scratch.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let lokiwrap = dir.join("lokiwrap");
    match kind {
        Lokiwrap::NotInstalled => return None,
        Lokiwrap::Installed => std::os::unix::fs::symlink(common::lokiwrap(), &lokiwrap).unwrap(),
        Lokiwrap::FailsWithError => write_executable(
            &lokiwrap,
            "#!/bin/sh\necho 'lokiwrap: cannot read the configuration' >&2\nexit 2\n",
        ),
        Lokiwrap::Crashes => write_executable(&lokiwrap, "#!/bin/sh\nkill -SEGV $$\n"),
        Lokiwrap::MissingInterpreter => write_executable(&lokiwrap, "#!/nonexistent/bin/node\n"),
    }
    Some(dir)
}

/// Runs `cmd` as a user of its own (home, configuration) in this case's situation; returns the
/// exit code.
fn run_in_case(mut cmd: Command, case: &Case, home: &Path, path: &[PathBuf], lokiwrap: Option<&Path>) -> Option<i32> {
    common::as_user(&mut cmd, home);
    let mut dirs: Vec<PathBuf> = lokiwrap.map(Path::to_path_buf).into_iter().collect();
    dirs.extend(path.iter().cloned());
    cmd.env("PATH", std::env::join_paths(dirs).unwrap())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null());
    for (name, value) in case.env {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    out.status.code()
}

#[test]
fn each_snippet_gives_lokiwraps_answer_and_falls_back_or_refuses_as_documented() {
    // Make sure the test process's own isolation is set before anything runs.
    let _ = common::lokiwrap();
    let path = path_without_lokiwrap();
    let mut wrong = Vec::new();
    for case in CASES {
        let scratch = tempfile::tempdir().unwrap();
        let home = scratch.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        if let Some(config) = case.config {
            common::write_config(&home, config);
        }
        let lokiwrap = lokiwrap_dir(case.lokiwrap, scratch.path());

        // The one source of truth: when lokiwrap is installed, what it says itself.
        if let Lokiwrap::Installed = case.lokiwrap {
            let mut direct = Command::new("lokiwrap");
            direct.args(["telemetry", "enabled"]);
            // Command::new looks the program up in the PATH given to the child.
            let code = run_in_case(direct, case, &home, &path, lokiwrap.as_deref());
            assert_eq!(
                code,
                Some(if case.allowed { 0 } else { 1 }),
                "{}: lokiwrap telemetry enabled itself",
                case.name
            );
        }

        for snippet in &SNIPPETS {
            let file = snippets_dir().join(snippet.file);
            let code = run_in_case((snippet.harness)(&file), case, &home, &path, lokiwrap.as_deref());
            let expected = if case.allowed { ALLOWED } else { NOT_ALLOWED };
            if code != Some(expected) {
                wrong.push(format!(
                    "{} in {}: exit {code:?}, expected {} ({expected})",
                    snippet.language,
                    case.name,
                    if case.allowed { "allowed" } else { "not allowed" }
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "snippets that answered wrongly:\n{}",
        wrong.join("\n")
    );
}

/// The fenced code blocks of a Markdown text.
fn code_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.starts_with("```")) {
            (None, true) => current = Some(String::new()),
            (Some(block), true) => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), false) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, false) => {}
        }
    }
    blocks
}

#[test]
fn the_readme_quotes_each_snippet_verbatim() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let blocks = code_blocks(&readme);
    for snippet in &SNIPPETS {
        let text = std::fs::read_to_string(snippets_dir().join(snippet.file)).unwrap();
        assert!(
            blocks.contains(&text),
            "README.md has no code block equal to packaging/tool-authors/{}: copy the file into its \
             block under \"For tool authors\"",
            snippet.file
        );
    }
}
