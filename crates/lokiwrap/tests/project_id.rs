//! The project id: which URLs name one project, how the repository is found from a working
//! directory (plain, nested, worktree, submodule), and how its config file is read, checked
//! against git's own answers on real repositories.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;

use lokiwrap::report::project::{hash_project_url, normalize_remote_url, project_of};

/// Runs git in `dir`, isolated from the user's and the system's configuration and from any
/// repository the test itself runs in, and returns its trimmed output if it succeeded.
fn try_git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "init.defaultBranch=main", "-c", "protocol.file.allow=always"])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_COMMON_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_CEILING_DIRECTORIES")
        .output()
        .expect("git runs");
    let text = String::from_utf8(output.stdout).expect("git prints UTF-8");
    output.status.success().then(|| text.trim_end_matches('\n').to_string())
}

fn git(dir: &Path, args: &[&str]) -> String {
    try_git(dir, args).unwrap_or_else(|| panic!("git {args:?} failed in {}", dir.display()))
}

/// The raw `remote.origin.url` as git itself reads it from the repository at `dir`.
fn git_origin(dir: &Path) -> Option<String> {
    try_git(dir, &["config", "--get", "remote.origin.url"])
}

/// A fresh repository at `dir` with one commit and a local identity.
fn init_repository(dir: &Path) {
    fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["config", "user.name", "Test"]);
    git(dir, &["config", "user.email", "test@example.invalid"]);
    git(dir, &["config", "commit.gpgsign", "false"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", "start"]);
}

/// A temporary directory and its canonical path, the form in which git reports paths.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = fs::canonicalize(dir.path()).unwrap();
    (dir, path)
}

fn normalized(url: &str) -> String {
    normalize_remote_url(url).unwrap_or_else(|| panic!("{url:?} should normalise"))
}

/// Asserts that the project found from `dir` has `url` as its origin, and that git agrees on
/// the raw URL.
fn assert_origin(dir: &Path, url: &str) {
    assert_eq!(
        git_origin(dir).as_deref(),
        Some(url),
        "git's view from {}",
        dir.display()
    );
    let project = project_of(dir).unwrap_or_else(|| panic!("no project found from {}", dir.display()));
    assert_eq!(project.normalized_url, normalized(url));
    assert_eq!(project.id_hash, hash_project_url(&project.normalized_url));
}

#[test]
fn every_spelling_of_one_repository_hashes_the_same() {
    let classes: &[&[&str]] = &[
        &[
            "git@github.com:o/r.git",
            "ssh://git@github.com/o/r",
            "https://github.com/o/r",
            "https://user:token@GitHub.com/o/r.git/",
            "ssh://git@github.com:22/o/r.git",
            "git+ssh://git@github.com/o/r",
            "ssh+git://github.com/o/r.git",
            "git://github.com/o/r.git",
            "http://github.com/o/r",
            "HTTPS://GITHUB.COM//o/r/",
            "github.com:o/r",
            "user:pass@github.com:o/r.git",
            "https://github.com/o/r.git?ref=main#readme",
            "  https://github.com/o/r.git\n",
            "ssh://git@github.com:o/r.git",
        ],
        &[
            "git@gitlab.com:group/sub/repo.git",
            "https://gitlab.com/group/sub/repo",
            "ssh://git@gitlab.com:2222/group/sub/repo.git/",
        ],
        &[
            "ssh://git@[::1]:22/o/r",
            "[git@::1]:o/r",
            "git@[::1]:o/r.git",
            "https://[::1]:8443/o/r",
        ],
        &["[git@host:2222]:o/r", "ssh://git@HOST:2222/o/r"],
        &[
            "/srv/repos/x.git",
            "file:///srv/repos/x",
            "file://localhost/srv//repos/x.git/",
            "/srv/repos/x/.git",
        ],
    ];
    for class in classes {
        let first = hash_project_url(&normalized(class[0]));
        for url in &class[1..] {
            assert_eq!(hash_project_url(&normalized(url)), first, "{url:?} vs {:?}", class[0]);
        }
    }
}

#[test]
fn different_repositories_hash_differently() {
    let urls = [
        "https://github.com/o/r",
        "https://github.com/o/r2",
        "https://github.com/o2/r",
        "https://github.com/O/r",
        "https://gitlab.com/o/r",
        "https://github.com/o/r/sub",
        "https://github.com/o",
        "/o/r",
        "/github.com/o/r",
    ];
    let mut hashes: Vec<String> = urls.iter().map(|url| hash_project_url(&normalized(url))).collect();
    hashes.sort();
    hashes.dedup();
    assert_eq!(hashes.len(), urls.len());
}

#[test]
fn urls_normalise_to_host_and_path() {
    let cases = [
        ("git@github.com:o/r.git", Some("github.com/o/r")),
        (
            "https://user:tok@en@GitHub.com:443/Owner/Repo.git",
            Some("github.com/Owner/Repo"),
        ),
        ("ssh://host:o/r", Some("host/o/r")),
        ("ssh://git@host:/o/r", Some("host/o/r")),
        ("ssh://host/~alice/r.git", Some("host/~alice/r")),
        ("host:~alice/r", Some("host/~alice/r")),
        ("host:/abs/o/r.git", Some("host/abs/o/r")),
        ("git@[::1]:o/r", Some("[::1]/o/r")),
        ("https://host/o/r.git.git", Some("host/o/r.git")),
        ("https://host/o/.git", Some("host/o")),
        ("https://host", Some("host")),
        ("codecommit://repo", Some("repo")),
        ("/srv/repos/x.git/", Some("/srv/repos/x")),
        ("file:///home/u/x", Some("/home/u/x")),
        ("file://", None),
        ("/", None),
        ("../x", None),
        ("./x.git", None),
        ("x", None),
        ("~/repos/x", None),
        ("dir/sub:x", None),
        ("https://", None),
        ("https:///o/r", None),
        ("@:o/r", None),
        ("", None),
        ("   ", None),
    ];
    for (url, expected) in cases {
        assert_eq!(normalize_remote_url(url).as_deref(), expected, "{url:?}");
    }
}

#[test]
fn the_hash_is_lowercase_hex_sha256() {
    assert_eq!(
        hash_project_url(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hash_project_url("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn a_repository_is_found_from_a_nested_directory() {
    let (_guard, root) = scratch();
    let repo = root.join("repo");
    init_repository(&repo);
    git(&repo, &["remote", "add", "origin", "git@github.com:Acme/Widget.git"]);
    let nested = repo.join("src/deep/er");
    fs::create_dir_all(&nested).unwrap();

    assert_origin(&nested, "git@github.com:Acme/Widget.git");
    let project = project_of(&nested).unwrap();
    assert_eq!(project.normalized_url, "github.com/Acme/Widget");
    assert_eq!(project.names, ["Acme", "Widget"]);
    assert_eq!(project, project_of(&repo).unwrap());
    // From inside the git directory, as a hook runs, the answer is the same.
    assert_eq!(project_of(&repo.join(".git/refs")), Some(project));
}

#[test]
fn subgroups_give_every_segment_as_a_name() {
    let (_guard, root) = scratch();
    init_repository(&root);
    git(
        &root,
        &[
            "remote",
            "add",
            "origin",
            "https://gitlab.example.com/group/sub/team/repo.git",
        ],
    );
    let project = project_of(&root).unwrap();
    assert_eq!(project.normalized_url, "gitlab.example.com/group/sub/team/repo");
    assert_eq!(project.names, ["group", "sub", "team", "repo"]);
}

#[test]
fn a_linked_worktree_reads_the_shared_config() {
    let (_guard, root) = scratch();
    let repo = root.join("repo");
    init_repository(&repo);
    git(&repo, &["remote", "add", "origin", "https://github.com/o/r.git"]);
    let worktree = root.join("wt");
    git(&repo, &["worktree", "add", "-q", worktree.to_str().unwrap()]);
    assert!(worktree.join(".git").is_file(), "a linked worktree has a .git file");
    let nested = worktree.join("a/b");
    fs::create_dir_all(&nested).unwrap();

    assert_origin(&nested, "https://github.com/o/r.git");
    assert_eq!(project_of(&nested).unwrap().names, ["o", "r"]);
}

#[test]
fn a_worktree_config_overrides_the_shared_one_when_enabled() {
    let (_guard, root) = scratch();
    let repo = root.join("repo");
    init_repository(&repo);
    git(&repo, &["remote", "add", "origin", "https://github.com/o/shared"]);
    let worktree = root.join("wt");
    git(&repo, &["worktree", "add", "-q", worktree.to_str().unwrap()]);
    git(&repo, &["config", "extensions.worktreeConfig", "true"]);
    git(
        &worktree,
        &["config", "--worktree", "remote.origin.url", "https://github.com/o/own"],
    );

    assert_origin(&worktree, "https://github.com/o/own");
    assert_origin(&repo, "https://github.com/o/shared");
}

#[test]
fn a_git_file_with_a_relative_gitdir_is_followed() {
    let (_guard, root) = scratch();
    let module = root.join("super/sub");
    init_repository(&module);
    git(&module, &["remote", "add", "origin", "git@example.org:team/module.git"]);
    // Move the git directory aside, as `git submodule` does, and point to it from a file.
    fs::create_dir_all(root.join("super/.git/modules")).unwrap();
    fs::rename(module.join(".git"), root.join("super/.git/modules/sub")).unwrap();
    fs::write(module.join(".git"), "gitdir: ../.git/modules/sub\n").unwrap();
    let nested = module.join("x");
    fs::create_dir_all(&nested).unwrap();

    assert_origin(&nested, "git@example.org:team/module.git");
    assert_eq!(project_of(&nested).unwrap().names, ["team", "module"]);
}

#[test]
fn a_real_submodule_is_its_own_project() {
    let (_guard, root) = scratch();
    let upstream = root.join("upstream.git");
    init_repository(&upstream);
    let main = root.join("main");
    init_repository(&main);
    git(&main, &["remote", "add", "origin", "https://github.com/o/main"]);
    git(
        &main,
        &["submodule", "add", "-q", upstream.to_str().unwrap(), "libs/dep"],
    );
    let submodule = main.join("libs/dep");
    assert!(submodule.join(".git").is_file(), "a submodule has a .git file");

    // The submodule's origin is the local path it was cloned from: hashed, with no names.
    let upstream_url = upstream.to_str().unwrap();
    assert_origin(&submodule, upstream_url);
    let project = project_of(&submodule).unwrap();
    assert_eq!(project.normalized_url, upstream_url.strip_suffix(".git").unwrap());
    assert!(project.names.is_empty());
    assert_eq!(
        project_of(&main.join("libs")).unwrap().normalized_url,
        "github.com/o/main"
    );
}

#[test]
fn a_repository_without_origin_has_no_project() {
    let (_guard, root) = scratch();
    init_repository(&root);
    git(&root, &["remote", "add", "upstream", "https://github.com/o/r"]);
    assert_eq!(git_origin(&root), None);
    assert_eq!(project_of(&root), None);
}

#[test]
fn a_directory_outside_any_repository_has_no_project() {
    let (_guard, root) = scratch();
    let nested = root.join("a/b");
    fs::create_dir_all(&nested).unwrap();
    if let Some(above) = try_git(&nested, &["rev-parse", "--absolute-git-dir"]) {
        eprintln!("skipped: the temporary directory is inside the repository {above}");
        return;
    }
    assert_eq!(project_of(&nested), None);
    assert_eq!(project_of(&root.join("missing")), None);
}

#[test]
fn a_git_directory_without_head_is_walked_past() {
    let (_guard, root) = scratch();
    init_repository(&root);
    git(&root, &["remote", "add", "origin", "https://github.com/o/outer"]);
    let inner = root.join("inner");
    fs::create_dir_all(inner.join(".git")).unwrap();
    assert_origin(&inner, "https://github.com/o/outer");
}

#[test]
fn a_dot_git_that_is_neither_file_nor_directory_is_walked_past() {
    let (_guard, root) = scratch();
    init_repository(&root);
    git(&root, &["remote", "add", "origin", "https://github.com/o/outer"]);
    let inner = root.join("inner");
    fs::create_dir_all(&inner).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(inner.join(".git")).unwrap();
    assert_origin(&inner, "https://github.com/o/outer");
}

#[test]
fn a_broken_git_file_ends_the_search() {
    let (_guard, root) = scratch();
    init_repository(&root);
    git(&root, &["remote", "add", "origin", "https://github.com/o/outer"]);
    for content in ["not a pointer\n", "gitdir: missing\n", "gitdir:missing\n"] {
        let inner = root.join("inner");
        fs::create_dir_all(&inner).unwrap();
        fs::write(inner.join(".git"), content).unwrap();
        assert_eq!(git_origin(&inner), None, "git rejects {content:?}");
        assert_eq!(project_of(&inner), None, "{content:?}");
    }
}

/// Writes `config` as the repository's config file and returns what git and this module
/// read from it, as normalised URLs.
fn read_both(repo: &Path, config: &str) -> (Option<String>, Option<String>) {
    fs::write(repo.join(".git/config"), config).unwrap();
    let ours = project_of(repo).map(|project| project.normalized_url);
    let gits = git_origin(repo).and_then(|url| normalize_remote_url(&url));
    (ours, gits)
}

#[test]
fn the_config_file_is_read_as_git_reads_it() {
    let (_guard, root) = scratch();
    init_repository(&root);
    let cases = [
        (
            "[remote \"origin\"]\n\turl = https://github.com/o/r\n",
            Some("github.com/o/r"),
        ),
        (
            "[remote \"origin\"]\n\turl = \"git@github.com:o/r \\\"x\\\\y\"\n",
            Some("github.com/o/r \"x\\y"),
        ),
        (
            "[remote \"origin\"]\n\turl = \"git@github.com:o/r;#x\" ; comment\n",
            Some("github.com/o/r;#x"),
        ),
        (
            "# [remote \"origin\"] url = git@a:commented/out\n[remote \"origin\"]\n; url = git@a:no\n  url = git@github.com:o/r # yes\n",
            Some("github.com/o/r"),
        ),
        (
            "[remote \"origin\"]\n\turl = https://github.com/\\\no/r\n",
            Some("github.com/o/r"),
        ),
        (
            "[remote \"origin\"]\n\turl = \"https://github.com/\\\no/r\"\n",
            Some("github.com/o/r"),
        ),
        (
            "[remote \"origin\"]\n\turl = git@github.com:o/first\n\turl = git@github.com:o/last\n",
            Some("github.com/o/last"),
        ),
        (
            "[remote \"origin\"]\n\turl = git@github.com:o/first\n[core]\n\tbare = false\n[remote \"origin\"]\n\turl = git@github.com:o/last\n",
            Some("github.com/o/last"),
        ),
        (
            "[remote \"upstream\"]\n\turl = git@github.com:up/r\n[remote \"origin\"]\n\turl = git@github.com:o/r\n[remote \"fork\"]\n\turl = git@github.com:f/r\n",
            Some("github.com/o/r"),
        ),
        (
            "[Remote \"origin\"]\n\tURL = git@github.com:o/r\n",
            Some("github.com/o/r"),
        ),
        (
            "[REMOTE \"origin\"]\n\tUrl=git@github.com:o/r\n",
            Some("github.com/o/r"),
        ),
        ("[remote \"Origin\"]\n\turl = git@github.com:o/r\n", None),
        ("[remote \"ORIGIN\"]\n\turl = git@github.com:o/r\n", None),
        ("[remote.origin]\n\turl = git@github.com:o/r\n", Some("github.com/o/r")),
        ("[remote.Origin]\n\turl = git@github.com:o/r\n", Some("github.com/o/r")),
        ("[remote \"origin\"] url = git@github.com:o/r\n", Some("github.com/o/r")),
        (
            "[remote \"origin\"]\r\n\turl = git@github.com:o/r\r\n",
            Some("github.com/o/r"),
        ),
        (
            "[remote \"origin\"]\n\turl = git@github.com:o/r",
            Some("github.com/o/r"),
        ),
        (
            "[remote \"origin\"]\n\tpushurl = git@github.com:o/push\n\turl = git@github.com:o/r\n",
            Some("github.com/o/r"),
        ),
        (
            "[remote \"origin\"]\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
            None,
        ),
        ("[remote \"origin\"]\n\turl = \"git@github.com:o/unterminated\n", None),
        ("[remote \"origin\"]\n\turl = git@github.com:o/r\n[broken\n", None),
        ("[remote \"origin\"]\n\turl = git@github.com:o/r\\q\n", None),
        ("", None),
    ];
    for (config, expected) in cases {
        let (ours, gits) = read_both(&root, config);
        assert_eq!(ours.as_deref(), expected, "ours, for {config:?}");
        assert_eq!(gits.as_deref(), expected, "git's, for {config:?}");
    }
}

#[test]
fn includes_are_not_followed() {
    let (_guard, root) = scratch();
    init_repository(&root);
    fs::write(
        root.join(".git/extra"),
        "[remote \"origin\"]\n\turl = git@github.com:o/included\n",
    )
    .unwrap();
    let config = "[include]\n\tpath = extra\n";
    let (ours, gits) = read_both(&root, config);
    assert_eq!(
        gits.as_deref(),
        Some("github.com/o/included"),
        "git follows the include"
    );
    assert_eq!(ours, None);
}

#[test]
fn a_config_that_is_not_a_regular_file_is_not_read() {
    let (_guard, root) = scratch();
    init_repository(&root);
    fs::remove_file(root.join(".git/config")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", root.join(".git/config")).unwrap();
    assert_eq!(project_of(&root), None);
}

/// Parts of a URL that survive normalisation unchanged.
fn host() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9-]{0,10}(\\.[a-z0-9-]{1,8}){0,2}"
}

fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-][A-Za-z0-9_.-]{0,12}".prop_filter("not ending in .git", |n| !n.ends_with(".git"))
}

proptest! {
    #[test]
    fn normalising_never_panics(url in any::<String>()) {
        let _ = normalize_remote_url(&url);
    }

    #[test]
    fn url_like_text_normalises_cleanly(url in "[a-z+]{0,6}(://)?[@:/\\[\\]a-zA-Z0-9.~ ?#-]{0,30}") {
        if let Some(normalized) = normalize_remote_url(&url) {
            prop_assert!(!normalized.ends_with('/'));
            prop_assert!(!normalized.contains("//"));
            if !normalized.starts_with('/') {
                let host = normalized.split('/').next().unwrap_or_default();
                prop_assert!(!host.contains('@'), "no user part in {}", normalized);
                prop_assert_eq!(host, host.to_ascii_lowercase());
            }
        }
    }

    #[test]
    fn every_spelling_normalises_alike(host in host(), groups in prop::collection::vec(name(), 1..4), repo in name(),
                                       port in 1u16..) {
        let path = format!("{}/{repo}", groups.join("/"));
        let expected = format!("{host}/{path}");
        let upper = host.to_ascii_uppercase();
        let spellings = [
            format!("git@{host}:{path}.git"),
            format!("{upper}:{path}"),
            format!("ssh://git@{host}:{port}/{path}"),
            format!("https://user:secret@{upper}/{path}.git/"),
            format!("git://{host}/{path}"),
        ];
        for url in &spellings {
            prop_assert_eq!(normalize_remote_url(url), Some(expected.clone()), "{}", url);
        }
    }
}
