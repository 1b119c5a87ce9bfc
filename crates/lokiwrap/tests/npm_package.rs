//! lokiwrap from npm, as a user gets it: `packaging/npm/build.sh` makes the packages from the
//! binaries built for these tests, `npm pack` turns them into tarballs, and npm installs those
//! into a project and into a global prefix with `--offline --ignore-scripts` (so nothing may
//! run or be downloaded at install time). Then real tools run through the launcher, a shim is
//! made from the npm-installed binary, and uninstalling leaves nothing behind.
//!
//! Needs npm; without it each test says so in one line and passes, unless
//! `LOKIWRAP_REQUIRE_NPM=1` (as in `.ci/run`).

mod common;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use common::{succeeded, text, wait_for_exit};

/// Whether npm is here; a missing npm fails the test when `LOKIWRAP_REQUIRE_NPM=1`.
fn npm_present(test: &str) -> bool {
    if Command::new("npm")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|out| out.status.success())
    {
        return true;
    }
    assert!(
        std::env::var("LOKIWRAP_REQUIRE_NPM").as_deref() != Ok("1"),
        "npm is not installed but LOKIWRAP_REQUIRE_NPM=1: install it (apt-get install npm)"
    );
    eprintln!("{test}: skipped, npm is not installed (apt-get install npm to run it)");
    false
}

/// The npm platform name of this machine, as `build.sh` knows it.
fn this_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => panic!("no npm package is defined for {other}"),
    };
    format!("linux-{arch}-gnu")
}

/// A user with a home of their own, the npm packages built and packed from the test binaries,
/// and an npm cache of their own that holds nothing from any registry.
struct NpmUser {
    scratch: tempfile::TempDir,
    /// The `lokiwrap` tarball, then the platform's.
    tarballs: Vec<PathBuf>,
}

impl NpmUser {
    fn new() -> NpmUser {
        let scratch = tempfile::tempdir().unwrap();
        for dir in ["home", "bins", "packages", "tarballs", "cache"] {
            std::fs::create_dir_all(scratch.path().join(dir)).unwrap();
        }
        let mut user = NpmUser {
            scratch,
            tarballs: Vec::new(),
        };
        user.build_and_pack();
        user
    }

    fn path(&self, name: &str) -> PathBuf {
        self.scratch.path().join(name)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    /// Runs `build.sh` as the release pipeline does, with this build's binaries (stripped, as
    /// release binaries are, so the tarball stays small), then `npm pack` in each package.
    fn build_and_pack(&mut self) {
        let bins = self.path("bins");
        for name in ["lokiwrap", "lokiwrap-flush"] {
            let built = if name == "lokiwrap" {
                env!("CARGO_BIN_EXE_lokiwrap")
            } else {
                env!("CARGO_BIN_EXE_lokiwrap-flush")
            };
            std::fs::copy(built, bins.join(name)).unwrap();
            // Debug symbols only make the tarball slower to pack; strip is optional.
            let _ = Command::new("strip")
                .arg(bins.join(name))
                .stderr(Stdio::null())
                .status();
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/npm/build.sh");
        let platform = this_platform();
        let built = succeeded(
            "build.sh",
            Command::new(&script)
                .arg(env!("CARGO_PKG_VERSION"))
                .arg(self.path("packages"))
                .arg(format!("{platform}={}", bins.join("lokiwrap").display()))
                .output()
                .unwrap(),
        );
        let dirs: Vec<PathBuf> = text(&built.stdout).lines().map(PathBuf::from).collect();
        assert_eq!(
            dirs,
            [
                self.path("packages/lokiwrap"),
                self.path(&format!("packages/lokiwrap-{platform}"))
            ],
            "build.sh prints the lokiwrap package, then the platform's"
        );
        for dir in dirs {
            let destination = format!("--pack-destination={}", self.path("tarballs").display());
            let packed = succeeded("npm pack", self.npm(&["pack", &destination], &dir).output().unwrap());
            let name = text(&packed.stdout)
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_string();
            let tarball = self.path("tarballs").join(&name);
            assert!(tarball.is_file(), "npm pack printed {name:?}, which is not a tarball");
            self.tarballs.push(tarball);
        }
    }

    /// `npm ARGS` as this user in `dir`, offline, with a cache of its own, and no update checks,
    /// audits or funding messages (which would go to the network).
    fn npm(&self, args: &[&str], dir: &Path) -> Command {
        let mut cmd = Command::new("npm");
        self.as_user(&mut cmd);
        cmd.args(args)
            .arg("--offline")
            .arg("--cache")
            .arg(self.path("cache"))
            .current_dir(dir);
        cmd
    }

    /// This user's environment: their home, no opt-out variables, no npm settings of the
    /// caller's, and npm's notices off.
    fn as_user<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        common::as_user(cmd, &self.home());
        for (name, _) in std::env::vars() {
            if name.to_ascii_lowercase().starts_with("npm_config_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("XDG_DATA_HOME", self.home().join(".local/share"))
            .env("npm_config_update_notifier", "false")
            .env("npm_config_audit", "false")
            .env("npm_config_fund", "false")
            .stdin(Stdio::null())
    }

    /// `sh -c SCRIPT` as this user in `dir`, with `path` in front of the caller's PATH, from
    /// which any other lokiwrap installed on this machine is left out.
    fn shell(&self, script: &str, dir: &Path, path: &[PathBuf]) -> Output {
        let mut cmd = Command::new("sh");
        self.as_user(&mut cmd);
        let mut dirs = path.to_vec();
        dirs.extend(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .filter(|dir| !dir.join("lokiwrap").exists()),
        );
        cmd.args(["-c", script])
            .env("PATH", std::env::join_paths(dirs).unwrap())
            .current_dir(dir)
            .output()
            .unwrap()
    }

    fn reports(&self, lokiwrap: &Path) -> Vec<Value> {
        let mut cmd = Command::new(lokiwrap);
        self.as_user(&mut cmd);
        let out = succeeded(
            "lokiwrap crash list --json",
            cmd.args(["crash", "list", "--json"]).output().unwrap(),
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Every file and link under `root` (directories left out), relative to it, sorted.
fn files_under(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(entry.path());
            } else {
                found.push(entry.path().strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// What plain node prints and exits with when it crashes, unwrapped.
const CRASH: &str = "node -e 'throw new TypeError(\"boom\")'";

#[test]
fn in_a_project_npx_runs_tools_unchanged_reports_a_crash_and_uninstall_leaves_nothing() {
    if !npm_present("in_a_project_npx_runs_tools_unchanged_reports_a_crash_and_uninstall_leaves_nothing") {
        return;
    }
    let user = NpmUser::new();
    let project = user.path("project");
    std::fs::create_dir_all(&project).unwrap();
    let manifest = "{\"name\": \"wrapped-tool-project\", \"version\": \"1.0.0\", \"private\": true}\n";
    std::fs::write(project.join("package.json"), manifest).unwrap();

    let mut install = user.npm(&["install", "--ignore-scripts"], &project);
    install.args(&user.tarballs);
    succeeded("npm install --offline --ignore-scripts", install.output().unwrap());
    let platform_package = project.join(format!("node_modules/@lokiwrap/{}", this_platform()));
    assert!(platform_package.join("bin/lokiwrap").is_file());
    assert!(platform_package.join("bin/lokiwrap-flush").is_file());

    // The tool's exit status, and nothing added to its streams.
    let exit3 = user.shell("npx --offline lokiwrap -- node -e 'process.exit(3)'", &project, &[]);
    assert_eq!(exit3.status.code(), Some(3), "stderr: {}", text(&exit3.stderr));
    assert_eq!(text(&exit3.stdout), "");
    assert_eq!(text(&exit3.stderr), "");
    let version = user.shell("npx --offline lokiwrap --version", &project, &[]);
    assert_eq!(
        text(&succeeded("npx lokiwrap --version", version).stdout),
        format!("lokiwrap {}\n", env!("CARGO_PKG_VERSION"))
    );

    // A crash: the same bytes as unwrapped, and one report.
    let unwrapped = user.shell(CRASH, &project, &[]);
    let wrapped = user.shell(&format!("npx --offline lokiwrap -- {CRASH}"), &project, &[]);
    assert_eq!(unwrapped.status.code(), Some(1));
    assert_eq!(wrapped.status.code(), Some(1));
    assert_eq!(text(&wrapped.stderr), text(&unwrapped.stderr));
    let native = platform_package.join("bin/lokiwrap");
    let reports = user.reports(&native);
    assert_eq!(reports.len(), 1, "one report for one crash: {reports:#?}");
    assert_eq!(reports[0]["tool"], "node");
    assert_eq!(reports[0]["error_class"], "TypeError");

    // A tool that dies of a signal: the launcher dies of the same one.
    let launcher = project.join("node_modules/.bin/lokiwrap");
    for (signal, name) in [(libc::SIGSEGV, "SEGV"), (libc::SIGTERM, "TERM")] {
        let mut cmd = Command::new(&launcher);
        user.as_user(&mut cmd);
        let status = cmd
            .args(["--", "sh", "-c", &format!("kill -{name} $$")])
            .status()
            .unwrap();
        assert_eq!(status.signal(), Some(signal), "{name}: {status:?}");
    }

    // The launcher's process is the native lokiwrap: SIGTERM sent to it alone, as a supervisor
    // sends it, reaches the tool, and the tool's death by it comes back.
    let started = user.path("started");
    let mut cmd = Command::new(&launcher);
    user.as_user(&mut cmd);
    let script = format!(
        "trap 'exit 9' TERM; : > {}; while :; do sleep 0.05; done",
        started.display()
    );
    let mut child = cmd.args(["--", "sh", "-c", &script]).spawn().unwrap();
    common::wait_for_file(&started);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = wait_for_exit(
        &mut child,
        Duration::from_secs(20),
        "SIGTERM to the launcher's process never reached the tool",
    );
    assert_eq!(
        status.code(),
        Some(9),
        "the tool's trap ran and its status came back: {status:?}"
    );

    // ^C reaches the whole job, the launcher included: a tool that catches it and goes on (a
    // REPL) or ends in its own way keeps the launcher waiting, and its exit status comes back.
    let ready = user.path("ready");
    let caught = user.path("caught");
    let mut cmd = Command::new(&launcher);
    user.as_user(&mut cmd);
    let script = format!(
        "trap 'echo INT >> {caught}; exit 7' INT; : > {ready}; while :; do sleep 0.05; done",
        caught = caught.display(),
        ready = ready.display()
    );
    // A job of its own, as a shell starts one, with SIGINT at its default.
    common::with_default_signals(&mut cmd).process_group(0);
    let mut child = cmd.args(["--", "sh", "-c", &script]).spawn().unwrap();
    common::wait_for_file(&ready);
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = wait_for_exit(&mut child, Duration::from_secs(20), "the tool never ended after SIGINT");
    assert_eq!(
        status.code(),
        Some(7),
        "the launcher waited for the tool and kept its status: {status:?}"
    );
    assert!(std::fs::read_to_string(&caught).unwrap().starts_with("INT\n"));

    // Without the platform package (here npm could not get it, as when optional dependencies
    // are left out), the launcher says which package is missing and how to get it.
    let bare = user.path("without-platform-package");
    std::fs::create_dir_all(&bare).unwrap();
    std::fs::write(bare.join("package.json"), manifest).unwrap();
    let mut install = user.npm(&["install", "--ignore-scripts"], &bare);
    install.arg(&user.tarballs[0]);
    succeeded("npm install of lokiwrap alone", install.output().unwrap());
    let missing = user.shell("npx --offline lokiwrap -- true", &bare, &[]);
    assert_eq!(missing.status.code(), Some(127));
    let message = text(&missing.stderr);
    for needed in [
        format!("@lokiwrap/{}", this_platform()),
        "npm install --include=optional".to_string(),
        "package-lock.json".to_string(),
    ] {
        assert!(message.contains(&needed), "the message names {needed}:\n{message}");
    }

    // Uninstalled (both tarballs were named at install, so both are named here): no file of
    // lokiwrap's, and no mention of it, is left in the project.
    let platform_name = format!("@lokiwrap/{}", this_platform());
    succeeded(
        "npm uninstall lokiwrap",
        user.npm(&["uninstall", "lokiwrap", &platform_name], &project)
            .output()
            .unwrap(),
    );
    for file in files_under(&project) {
        assert!(!file.contains("lokiwrap"), "{file} is left behind");
        let content = std::fs::read_to_string(project.join(&file)).unwrap_or_default();
        assert!(
            !content.contains("lokiwrap"),
            "{file} still mentions lokiwrap:\n{content}"
        );
    }
}

#[test]
fn installed_globally_it_runs_tools_makes_shims_to_the_native_binary_and_uninstalls_cleanly() {
    if !npm_present("installed_globally_it_runs_tools_makes_shims_to_the_native_binary_and_uninstalls_cleanly") {
        return;
    }
    let user = NpmUser::new();
    let prefix = user.path("prefix");
    std::fs::create_dir_all(&prefix).unwrap();
    let before = files_under(&prefix);

    let prefix_option = format!("--prefix={}", prefix.display());
    let mut install = user.npm(
        &["install", "--global", "--ignore-scripts", &prefix_option],
        &user.home(),
    );
    install.args(&user.tarballs);
    succeeded(
        "npm install --global --offline --ignore-scripts",
        install.output().unwrap(),
    );
    let bin = prefix.join("bin");
    let home = user.home();

    let found = user.shell("command -v lokiwrap", &home, std::slice::from_ref(&bin));
    assert_eq!(
        text(&succeeded("command -v lokiwrap", found).stdout).trim_end(),
        bin.join("lokiwrap").display().to_string()
    );
    let exit3 = user.shell(
        "lokiwrap -- node -e 'process.exit(3)'",
        &home,
        std::slice::from_ref(&bin),
    );
    assert_eq!(exit3.status.code(), Some(3), "stderr: {}", text(&exit3.stderr));
    assert_eq!(text(&exit3.stderr), "");

    // A shim made by the npm-installed lokiwrap points at the native binary, not the launcher:
    // a shimmed tool never starts Node for lokiwrap.
    let added = user.shell("lokiwrap shim add node", &home, std::slice::from_ref(&bin));
    assert!(text(&succeeded("lokiwrap shim add node", added).stderr).contains("node is wrapped"));
    let shims = home.join(".local/share/lokiwrap/shims");
    let target = std::fs::canonicalize(shims.join("node")).unwrap();
    assert!(
        target.starts_with(std::fs::canonicalize(&prefix).unwrap()) && target.ends_with("bin/lokiwrap"),
        "the shim leads to the native lokiwrap in the npm prefix, not {}",
        target.display()
    );
    let real_node = text(&user.shell("command -v node", &home, &[]).stdout)
        .trim_end()
        .to_string();
    let with_shims = [shims.clone(), bin.clone()];
    let found = user.shell("command -v node", &home, &with_shims);
    assert_eq!(text(&found.stdout).trim_end(), shims.join("node").display().to_string());
    let listed = user.shell("lokiwrap shim list", &home, &with_shims);
    assert_eq!(
        text(&succeeded("lokiwrap shim list", listed).stdout),
        format!("node\t{real_node}\n")
    );
    let exit3 = user.shell("node -e 'process.exit(3)'", &home, &with_shims);
    assert_eq!(exit3.status.code(), Some(3), "stderr: {}", text(&exit3.stderr));
    let crashed = user.shell(CRASH, &home, &with_shims);
    assert_eq!(crashed.status.code(), Some(1));
    let reports = user.reports(&target);
    assert_eq!(
        reports.len(),
        1,
        "one report for one crash through the shim: {reports:#?}"
    );
    assert_eq!(reports[0]["tool"], "node");

    let removed = user.shell("lokiwrap shim remove node", &home, &with_shims);
    succeeded("lokiwrap shim remove node", removed);
    let mut uninstall = user.npm(&["uninstall", "--global", &prefix_option], &home);
    uninstall.args(["lokiwrap", &format!("@lokiwrap/{}", this_platform())]);
    succeeded("npm uninstall --global", uninstall.output().unwrap());
    assert_eq!(
        files_under(&prefix),
        before,
        "uninstalling left files behind in the prefix"
    );
    let gone = user.shell("command -v lokiwrap", &home, std::slice::from_ref(&bin));
    assert!(
        !gone.status.success(),
        "lokiwrap is still on PATH: {}",
        text(&gone.stdout)
    );
}
