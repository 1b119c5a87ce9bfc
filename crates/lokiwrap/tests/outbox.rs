//! The outbox on a real file system: file layout, atomic writes, bounds, id handling, locks, and
//! many writers at once (as threads, and as processes that re-run this test binary).

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, ErrorKind};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use lokiwrap::outbox::{Limits, Outbox};
use proptest::prelude::*;
use tempfile::TempDir;

/// Set in a child process to the role it plays; see `child_process_entry_point`.
const CHILD_ROLE: &str = "LOKIWRAP_OUTBOX_TEST_ROLE";

fn temp_outbox() -> (TempDir, Outbox) {
    let temp = tempfile::tempdir().unwrap();
    let outbox = Outbox::new(temp.path().join("outbox"));
    (temp, outbox)
}

fn limited_outbox(max_reports: usize, max_bytes: u64) -> (TempDir, Outbox) {
    let temp = tempfile::tempdir().unwrap();
    let outbox = Outbox::with_limits(temp.path().join("outbox"), Limits { max_reports, max_bytes });
    (temp, outbox)
}

/// A JSON report that names its own id, padded to about `size` bytes, so a reader can tell a
/// whole report from a torn one.
fn report(id: &str, size: usize) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "id": id, "pad": "x".repeat(size) })).unwrap()
}

fn is_whole_report_for(id: &str, bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|value| value["id"] == id)
}

fn ids(outbox: &Outbox) -> Vec<String> {
    outbox.list().unwrap().into_iter().map(|entry| entry.id).collect()
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn temp_files(dir: &Path) -> Vec<String> {
    file_names(dir)
        .into_iter()
        .filter(|name| name.starts_with(".tmp"))
        .collect()
}

#[test]
fn a_report_is_stored_as_its_exact_bytes_under_a_sortable_name() {
    let (_temp, outbox) = temp_outbox();
    let bytes = report("0a1b-2c", 10);
    let path = outbox.put("0a1b-2c", 1_700_000_000, &bytes).unwrap();

    assert_eq!(path, outbox.dir().join("00000000001700000000-0a1b-2c.json"));
    assert_eq!(fs::read(&path).unwrap(), bytes);
    let entries = outbox.list().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].id, "0a1b-2c");
    assert_eq!(entries[0].captured_at, 1_700_000_000);
    assert_eq!(entries[0].path, path);
    assert_eq!(entries[0].bytes, bytes);
}

#[test]
fn list_is_oldest_first_by_capture_time_then_id() {
    let (_temp, outbox) = temp_outbox();
    outbox.put("cc", 20, b"{}").unwrap();
    outbox.put("bb", 9, b"{}").unwrap();
    outbox.put("aa", 20, b"{}").unwrap();
    outbox.put("dd", 100, b"{}").unwrap();
    assert_eq!(ids(&outbox), ["bb", "aa", "cc", "dd"]);
}

#[test]
fn a_missing_directory_reads_as_empty_and_is_not_created_by_reading() {
    let (_temp, outbox) = temp_outbox();
    assert!(outbox.list().unwrap().is_empty());
    assert_eq!(outbox.get("ab").unwrap(), None);
    assert!(!outbox.remove("ab").unwrap());
    assert_eq!(outbox.clear().unwrap(), 0);
    assert_eq!(outbox.count(), 0);
    assert_eq!(outbox.total_bytes(), 0);
    assert!(!outbox.dir().exists());
}

#[test]
fn the_directory_and_reports_are_private_to_the_user() {
    let temp = tempfile::tempdir().unwrap();
    let outbox = Outbox::new(temp.path().join("state/lokiwrap/outbox"));
    let path = outbox.put("ab", 1, b"{}").unwrap();
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(outbox.dir()), 0o700);
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn readers_ignore_temporary_and_foreign_files() {
    let (_temp, outbox) = temp_outbox();
    outbox.put("ab", 5, &report("ab", 10)).unwrap();
    let dir = outbox.dir();
    // A torn write by a writer that crashed, under the name a writer gives its temporary file.
    fs::write(dir.join(".tmp-4242-00112233aabbccdd"), b"{\"id\":\"ab").unwrap();
    fs::write(dir.join("notes.txt"), b"mine").unwrap();
    fs::write(dir.join("1-ab.json"), b"{}").unwrap();
    fs::write(dir.join("00000000000000000001-AB.json"), b"{}").unwrap();
    fs::write(dir.join(OsStr::from_bytes(b"00000000000000000001-\xff.json")), b"{}").unwrap();
    fs::create_dir(dir.join("00000000000000000002-cd.json")).unwrap();
    fs::write(dir.parent().unwrap().join("secret"), b"not a report").unwrap();
    symlink(
        dir.parent().unwrap().join("secret"),
        dir.join("00000000000000000003-ef.json"),
    )
    .unwrap();

    assert_eq!(ids(&outbox), ["ab"]);
    assert_eq!(outbox.count(), 1);
    assert_eq!(outbox.total_bytes(), report("ab", 10).len() as u64);
    assert_eq!(outbox.get("ef").unwrap(), None);
    assert_eq!(outbox.clear().unwrap(), 1);
    // Clearing reports leaves other people's files alone.
    assert!(dir.join("notes.txt").exists());
    assert!(dir.join("00000000000000000003-ef.json").symlink_metadata().is_ok());
}

#[test]
fn stale_temporary_files_are_removed_by_the_next_write_and_fresh_ones_kept() {
    let (_temp, outbox) = temp_outbox();
    outbox.put("aa", 1, b"{}").unwrap();
    let stale = outbox.dir().join(".tmp-1-0000000000000001");
    let fresh = outbox.dir().join(".tmp-2-0000000000000002");
    fs::write(&stale, b"{").unwrap();
    fs::write(&fresh, b"{").unwrap();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 60 * 60);
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();

    outbox.put("bb", 2, b"{}").unwrap();
    assert!(!stale.exists());
    assert!(
        fresh.exists(),
        "a temporary file under an hour old may belong to a writer at work"
    );
}

#[test]
fn readers_never_see_a_partial_report() {
    let (_temp, outbox) = limited_outbox(3, 1 << 20);
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let outbox = outbox.clone();
        let done = Arc::clone(&done);
        thread::spawn(move || {
            for n in 0..300u64 {
                let id = format!("{n:x}");
                // Sizes vary so that a torn file would show as a truncated document.
                outbox
                    .put(&id, n, &report(&id, 1000 + (n as usize * 37) % 60_000))
                    .unwrap();
                // The same id rewritten replaces the report in one step, too.
                outbox
                    .put("f00d", n, &report("f00d", (n as usize * 53) % 30_000))
                    .unwrap();
            }
            done.store(true, Ordering::Release);
        })
    };
    let mut reads = 0;
    while !done.load(Ordering::Acquire) {
        for entry in outbox.list().unwrap() {
            assert!(
                is_whole_report_for(&entry.id, &entry.bytes),
                "partial report {}",
                entry.path.display()
            );
            reads += 1;
        }
        if let Some(entry) = outbox.get("f00d").unwrap() {
            assert!(is_whole_report_for("f00d", &entry.bytes));
        }
    }
    writer.join().unwrap();
    assert!(reads > 0);
    assert!(temp_files(outbox.dir()).is_empty());
}

#[test]
fn the_oldest_reports_are_dropped_beyond_the_count_limit() {
    let (_temp, outbox) = limited_outbox(3, 1 << 20);
    for (n, id) in ["a1", "a2", "a3", "a4", "a5"].iter().enumerate() {
        outbox.put(id, 100 + n as u64, b"{}").unwrap();
    }
    assert_eq!(ids(&outbox), ["a3", "a4", "a5"]);
}

#[test]
fn the_oldest_reports_are_dropped_beyond_the_byte_limit() {
    let (_temp, outbox) = limited_outbox(100, 1000);
    outbox.put("a1", 1, &[b' '; 400]).unwrap();
    outbox.put("a2", 2, &[b' '; 400]).unwrap();
    outbox.put("a3", 3, &[b' '; 100]).unwrap();
    assert_eq!(ids(&outbox), ["a1", "a2", "a3"]);
    outbox.put("a4", 4, &[b' '; 300]).unwrap();
    assert_eq!(ids(&outbox), ["a2", "a3", "a4"]);
    assert_eq!(outbox.total_bytes(), 800);
}

#[test]
fn the_default_limits_are_200_reports_and_2_mib() {
    assert_eq!(
        Limits::default(),
        Limits {
            max_reports: 200,
            max_bytes: 2 * 1024 * 1024
        }
    );
    let (_temp, outbox) = temp_outbox();
    for n in 0..205u64 {
        outbox.put(&format!("{n:x}"), n, b"{}").unwrap();
    }
    assert_eq!(outbox.count(), 200);
    assert_eq!(outbox.list().unwrap()[0].captured_at, 5);
}

#[test]
fn the_report_just_written_is_kept_even_when_it_is_the_oldest() {
    let (_temp, outbox) = limited_outbox(2, 1000);
    outbox.put("b1", 50, b"{}").unwrap();
    outbox.put("b2", 60, b"{}").unwrap();
    // Captured earlier than anything stored, e.g. written late after a slow crash dump.
    outbox.put("a0", 10, b"{}").unwrap();
    assert_eq!(ids(&outbox), ["a0", "b2"]);

    outbox.put("c1", 5, &[b' '; 1000]).unwrap();
    assert_eq!(ids(&outbox), ["c1"], "a report at exactly the byte limit fits alone");
}

#[test]
fn a_report_over_the_byte_limit_alone_is_rejected_and_nothing_is_dropped() {
    let (_temp, outbox) = limited_outbox(10, 1000);
    outbox.put("a1", 1, b"{}").unwrap();
    let err = outbox.put("b2", 2, &[b' '; 1001]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FileTooLarge);
    let message = err.to_string();
    assert!(
        message.contains("b2") && message.contains("1001") && message.contains("1000"),
        "{message}"
    );
    assert_eq!(ids(&outbox), ["a1"]);
    assert!(temp_files(outbox.dir()).is_empty());
}

#[test]
fn ids_that_are_not_lowercase_hex_and_dashes_are_rejected() {
    let (temp, outbox) = temp_outbox();
    let too_long = "a".repeat(129);
    for id in [
        "../etc/passwd",
        "..",
        "",
        "ABC",
        "a/b",
        "ab.json",
        "ab cd",
        "g1",
        "ab\0",
        too_long.as_str(),
    ] {
        let err = outbox.put(id, 1, b"{}").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{id:?}");
        assert!(err.to_string().contains("invalid report id"), "{err}");
        assert_eq!(outbox.get(id).unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(outbox.remove(id).unwrap_err().kind(), ErrorKind::InvalidInput);
    }
    assert!(!outbox.dir().exists(), "a rejected put writes nothing");
    assert_eq!(file_names(temp.path()), Vec::<String>::new());
    outbox.put(&"a".repeat(128), 1, b"{}").unwrap();
    outbox.put("-0-", 1, b"{}").unwrap();
}

#[test]
fn putting_an_id_again_replaces_the_earlier_report() {
    let (_temp, outbox) = temp_outbox();
    outbox.put("ab", 10, b"{\"v\":1}").unwrap();
    outbox.put("cd", 11, b"{}").unwrap();
    outbox.put("ab", 10, b"{\"v\":2}").unwrap();
    outbox.put("ab", 12, b"{\"v\":3}").unwrap();
    let entries = outbox.list().unwrap();
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.id.as_str(), e.captured_at))
            .collect::<Vec<_>>(),
        [("cd", 11), ("ab", 12)]
    );
    assert_eq!(entries[1].bytes, b"{\"v\":3}");
}

#[test]
fn get_finds_a_report_by_a_unique_prefix_of_its_id() {
    let (_temp, outbox) = temp_outbox();
    outbox.put("abc123", 1, b"{\"n\":1}").unwrap();
    outbox.put("abd456", 2, b"{\"n\":2}").unwrap();
    assert_eq!(outbox.get("abc").unwrap().unwrap().id, "abc123");
    assert_eq!(outbox.get("abd456").unwrap().unwrap().bytes, b"{\"n\":2}");
    assert_eq!(outbox.get("abe").unwrap(), None);
    assert_eq!(outbox.get("abc1234").unwrap(), None);
}

#[test]
fn an_ambiguous_prefix_is_an_error_naming_the_matches() {
    let (_temp, outbox) = temp_outbox();
    outbox.put("abc123", 1, b"{}").unwrap();
    outbox.put("abd456", 2, b"{}").unwrap();
    let err = outbox.get("ab").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let message = err.to_string();
    assert!(
        message.contains("ambiguous") && message.contains("abc123") && message.contains("abd456"),
        "{message}"
    );
    assert!(message.contains("more characters"), "{message}");
}

#[test]
fn an_exact_id_wins_over_a_longer_id_it_prefixes() {
    let (_temp, outbox) = temp_outbox();
    outbox.put("ab", 1, b"{\"short\":1}").unwrap();
    outbox.put("abcd", 2, b"{}").unwrap();
    assert_eq!(outbox.get("ab").unwrap().unwrap().bytes, b"{\"short\":1}");
}

#[test]
fn remove_deletes_only_the_report_with_exactly_that_id() {
    let (_temp, outbox) = temp_outbox();
    outbox.put("abc123", 1, b"{}").unwrap();
    outbox.put("abd456", 2, b"{}").unwrap();
    assert!(!outbox.remove("abc").unwrap(), "a prefix does not delete");
    assert!(outbox.remove("abc123").unwrap());
    assert!(!outbox.remove("abc123").unwrap());
    assert_eq!(ids(&outbox), ["abd456"]);
}

#[test]
fn clear_removes_every_report_and_counts_them() {
    let (_temp, outbox) = temp_outbox();
    for (n, id) in ["a1", "a2", "a3"].iter().enumerate() {
        outbox.put(id, n as u64, b"{}").unwrap();
    }
    assert_eq!(outbox.clear().unwrap(), 3);
    assert_eq!(outbox.count(), 0);
    assert_eq!(outbox.clear().unwrap(), 0);
}

#[test]
fn count_and_total_bytes_match_the_stored_reports() {
    let (_temp, outbox) = temp_outbox();
    outbox.put("a1", 1, &[b' '; 123]).unwrap();
    outbox.put("a2", 2, &[b' '; 77]).unwrap();
    assert_eq!(outbox.count(), 2);
    assert_eq!(outbox.total_bytes(), 200);
}

#[test]
fn the_flusher_lock_is_held_by_one_guard_until_it_drops() {
    let (_temp, outbox) = temp_outbox();
    let first = outbox.try_lock_flusher().unwrap();
    assert!(first.is_some());
    let other = Outbox::new(outbox.dir().to_path_buf());
    assert!(other.try_lock_flusher().unwrap().is_none());
    assert!(outbox.try_lock_flusher().unwrap().is_none());
    drop(first);
    assert!(other.try_lock_flusher().unwrap().is_some());
}

#[test]
fn a_flusher_lock_file_that_is_a_symlink_is_not_followed() {
    let (temp, outbox) = temp_outbox();
    fs::create_dir(outbox.dir()).unwrap();
    let victim = temp.path().join("victim");
    fs::write(&victim, "precious\n").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o644)).unwrap();
    symlink(&victim, outbox.dir().join(".flusher.lock")).unwrap();

    let guard = outbox.try_lock_flusher().unwrap();
    assert!(guard.is_some());
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(fs::metadata(&victim).unwrap().permissions().mode() & 0o7777, 0o644);
    // The lock we hold is on our own file, not on the file the link named.
    if let Ok(status) = Command::new("flock")
        .args(["-n", "-E", "99"])
        .arg(&victim)
        .arg("true")
        .status()
    {
        assert!(status.success(), "the flusher locked the file the link named");
    }
    assert!(
        !fs::symlink_metadata(outbox.dir().join(".flusher.lock"))
            .unwrap()
            .is_symlink(),
        "the planted link gave way to a lock file of our own"
    );
}

#[test]
fn the_flusher_lock_excludes_other_processes() {
    let (_temp, outbox) = temp_outbox();
    let lock_file = outbox.dir().join(".flusher.lock");
    let guard = outbox.try_lock_flusher().unwrap().unwrap();
    let Ok(status) = Command::new("flock")
        .args(["-n", "-E", "99"])
        .arg(&lock_file)
        .arg("true")
        .status()
    else {
        eprintln!("skipped: util-linux `flock` is not installed");
        return;
    };
    assert_eq!(status.code(), Some(99), "another process took the flusher lock we hold");
    drop(guard);
    let status = Command::new("flock")
        .args(["-n", "-E", "99"])
        .arg(&lock_file)
        .arg("true")
        .status()
        .unwrap();
    assert!(status.success());

    // And the other way round: while another process holds it, we cannot take it.
    // `-F` makes the shell itself (then `sleep`, by exec) hold the lock, so killing it frees the lock.
    let mut holder = Command::new("flock")
        .arg("-F")
        .arg(&lock_file)
        .args(["-c", "echo locked; exec sleep 60"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    assert!(outbox.try_lock_flusher().unwrap().is_none());
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(
        outbox.try_lock_flusher().unwrap().is_some(),
        "the lock goes with the process that held it"
    );
}

#[test]
fn a_file_in_the_way_of_the_directory_gives_an_error_naming_the_fix() {
    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("file");
    fs::write(&file, b"").unwrap();

    for dir in [file.join("outbox"), file.clone()] {
        let outbox = Outbox::new(dir.clone());
        let err = outbox.put("ab", 1, b"{}").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotADirectory);
        let message = err.to_string();
        assert!(
            message.contains(&format!("cannot create the outbox at {}", dir.display())),
            "{message}"
        );
        assert!(message.contains("XDG_STATE_HOME"), "{message}");
        assert!(outbox.try_lock_flusher().is_err());
    }
    let err = Outbox::new(file.join("outbox")).list().unwrap_err();
    assert!(err.to_string().starts_with("cannot read the outbox at "), "{err}");
    assert_eq!(Outbox::new(file.join("outbox")).count(), 0);
}

#[test]
fn an_unwritable_directory_gives_an_error_naming_the_fix() {
    let (_temp, outbox) = temp_outbox();
    fs::create_dir(outbox.dir()).unwrap();
    fs::set_permissions(outbox.dir(), fs::Permissions::from_mode(0o500)).unwrap();
    // Permission bits do not bind root (as in many containers); then there is nothing to test.
    if fs::write(outbox.dir().join("probe"), b"").is_ok() {
        eprintln!("skipped: running with privileges that ignore directory permissions");
        return;
    }
    let err = outbox.put("ab", 1, b"{}").unwrap_err();
    fs::set_permissions(outbox.dir(), fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        err.to_string(),
        format!(
            "cannot write to the outbox at {}: permission denied; check the directory's permissions or set \
             XDG_STATE_HOME to a writable directory",
            outbox.dir().display()
        )
    );
}

#[test]
fn reports_survive_twenty_concurrent_writer_threads() {
    let (_temp, outbox) = temp_outbox();
    let start = Arc::new(Barrier::new(20));
    let writers: Vec<_> = (0..20u64)
        .map(|n| {
            // Each thread has its own Outbox and its own lock file handles, as a process would.
            let outbox = Outbox::new(outbox.dir().to_path_buf());
            let start = Arc::clone(&start);
            thread::spawn(move || {
                let id = format!("{n:02x}");
                start.wait();
                outbox.put(&id, 1000 + n, &report(&id, 20_000)).unwrap();
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    assert_well_formed(&outbox, 20);
}

#[test]
fn reports_survive_twenty_concurrent_writer_processes() {
    let (_temp, outbox) = temp_outbox();
    run_writer_processes(&outbox, 20);
    assert_well_formed(&outbox, 20);
}

#[test]
fn twenty_concurrent_writer_processes_leave_exactly_the_count_limit() {
    let (_temp, outbox) = limited_outbox(5, 1 << 20);
    run_writer_processes(&outbox, 20);
    assert_well_formed(&outbox, 5);
}

/// Asserts the outbox holds exactly `expected` whole reports and no temporary files.
fn assert_well_formed(outbox: &Outbox, expected: usize) {
    let entries = outbox.list().unwrap();
    assert_eq!(entries.len(), expected);
    for entry in &entries {
        assert!(is_whole_report_for(&entry.id, &entry.bytes), "{}", entry.path.display());
    }
    assert!(temp_files(outbox.dir()).is_empty(), "{:?}", file_names(outbox.dir()));
}

/// Starts `writers` copies of this test binary, each writing one report, and releases them all
/// at once through a gate file.
fn run_writer_processes(outbox: &Outbox, writers: u64) {
    let gate = outbox.dir().with_file_name("gate");
    let limits = outbox.limits();
    let children: Vec<_> = (0..writers)
        .map(|n| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "child_process_entry_point",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ROLE, "write")
                .env("OUTBOX_DIR", outbox.dir())
                .env("OUTBOX_GATE", &gate)
                .env("OUTBOX_ID", format!("{n:02x}"))
                .env("OUTBOX_CAPTURED_AT", (1000 + n).to_string())
                .env("OUTBOX_MAX_REPORTS", limits.max_reports.to_string())
                .env("OUTBOX_MAX_BYTES", limits.max_bytes.to_string())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    fs::write(&gate, b"").unwrap();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a writer process failed");
    }
}

/// Does nothing in a normal test run. The tests above re-run this binary with only this test
/// selected and `LOKIWRAP_OUTBOX_TEST_ROLE` set, to get a separate process playing one role.
#[test]
fn child_process_entry_point() {
    let var = |name: &str| std::env::var(name).unwrap();
    match std::env::var(CHILD_ROLE).as_deref() {
        Ok("write") => {
            let limits = Limits {
                max_reports: var("OUTBOX_MAX_REPORTS").parse().unwrap(),
                max_bytes: var("OUTBOX_MAX_BYTES").parse().unwrap(),
            };
            let outbox = Outbox::with_limits(PathBuf::from(var("OUTBOX_DIR")), limits);
            let gate = PathBuf::from(var("OUTBOX_GATE"));
            let deadline = Instant::now() + Duration::from_secs(60);
            while !gate.exists() {
                assert!(Instant::now() < deadline, "the gate never opened");
                thread::sleep(Duration::from_millis(1));
            }
            let id = var("OUTBOX_ID");
            outbox
                .put(&id, var("OUTBOX_CAPTURED_AT").parse().unwrap(), &report(&id, 20_000))
                .unwrap();
        }
        Ok("print-default-dir") => {
            println!("DEFAULT_DIR={}", lokiwrap::outbox::default_dir().unwrap().display());
        }
        Ok(role) => panic!("unknown role {role}"),
        Err(_) => {}
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_default_directory_is_under_the_xdg_state_directory() {
    let default_dir_with = |env: &[(&str, &str)]| {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.args([
            "--exact",
            "child_process_entry_point",
            "--nocapture",
            "--test-threads=1",
        ]);
        command
            .env_remove("XDG_STATE_HOME")
            .env(CHILD_ROLE, "print-default-dir");
        command.envs(env.iter().copied());
        let output = command.output().unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8(output.stdout).unwrap();
        stdout
            .lines()
            .find_map(|line| line.split_once("DEFAULT_DIR=").map(|(_, dir)| dir))
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        default_dir_with(&[("XDG_STATE_HOME", "/xdg/state")]),
        "/xdg/state/lokiwrap/outbox"
    );
    assert_eq!(
        default_dir_with(&[("HOME", "/home/u")]),
        "/home/u/.local/state/lokiwrap/outbox"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn any_valid_ids_and_times_list_in_time_then_id_order(
        keys in prop::collection::btree_map("[0-9a-f-]{1,12}", any::<u64>(), 1..12)
    ) {
        let (_temp, outbox) = temp_outbox();
        for (id, captured_at) in &keys {
            outbox.put(id, *captured_at, id.as_bytes()).unwrap();
        }
        let mut expected: Vec<(u64, String)> = keys.iter().map(|(id, at)| (*at, id.clone())).collect();
        expected.sort();
        let listed: Vec<(u64, String)> =
            outbox.list().unwrap().into_iter().map(|entry| (entry.captured_at, entry.id)).collect();
        prop_assert_eq!(listed, expected);
        for id in keys.keys() {
            prop_assert_eq!(outbox.get(id).unwrap().unwrap().bytes, id.as_bytes());
        }
    }

    #[test]
    fn ids_with_any_other_character_are_rejected(
        before in "[0-9a-f-]{0,4}", bad in "[^0-9a-f-]", after in "[0-9a-f-]{0,4}"
    ) {
        let (_temp, outbox) = temp_outbox();
        let id = format!("{before}{bad}{after}");
        prop_assert_eq!(outbox.put(&id, 1, b"{}").unwrap_err().kind(), ErrorKind::InvalidInput);
        prop_assert!(!outbox.dir().exists());
    }
}
