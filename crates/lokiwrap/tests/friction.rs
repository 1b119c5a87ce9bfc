//! The friction matcher against real-looking stderr: fixtures under `tests/fixtures/friction/`,
//! one folder per expected outcome (`retry_loop`, `rate_limit_loop`, `gate_failure`, `none`).

use std::path::{Path, PathBuf};

use lokiwrap::watch::friction::{FrictionKind, FrictionRule, FrictionWatch, MAX_LINE, Thresholds};
use proptest::prelude::*;

use FrictionKind::{GateFailure, RateLimitLoop, RetryLoop};

fn new_watch() -> FrictionWatch {
    FrictionWatch::new(Vec::new(), Thresholds::default())
}

fn run_chunks<'a>(watch: &mut FrictionWatch, chunks: impl IntoIterator<Item = &'a [u8]>) {
    for chunk in chunks {
        watch.feed(chunk);
    }
    watch.finish();
}

fn fired(input: &[u8]) -> Option<FrictionKind> {
    let mut watch = new_watch();
    run_chunks(&mut watch, [input]);
    watch.fired()
}

fn counts(watch: &FrictionWatch) -> [u32; 3] {
    [
        watch.count(RetryLoop),
        watch.count(RateLimitLoop),
        watch.count(GateFailure),
    ]
}

fn rule(kind: FrictionKind, pattern: &str, unless: Option<&str>) -> FrictionRule {
    FrictionRule {
        kind,
        pattern: pattern.to_string(),
        unless: unless.map(str::to_string),
    }
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/friction")
}

/// Every fixture with the outcome its folder names.
fn fixtures() -> Vec<(PathBuf, Option<FrictionKind>, Vec<u8>)> {
    let mut all = Vec::new();
    for (folder, expected) in [
        ("retry_loop", Some(RetryLoop)),
        ("rate_limit_loop", Some(RateLimitLoop)),
        ("gate_failure", Some(GateFailure)),
        ("none", None),
    ] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir().join(folder))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        paths.sort();
        assert!(paths.len() >= 5, "too few fixtures in {folder}");
        for path in paths {
            let bytes = std::fs::read(&path).unwrap();
            all.push((path, expected, bytes));
        }
    }
    all
}

#[test]
fn each_fixture_fires_what_its_folder_says() {
    for (path, expected, bytes) in fixtures() {
        assert_eq!(fired(&bytes), expected, "{}", path.display());
    }
}

#[test]
fn each_fixture_gives_the_same_result_fed_one_byte_at_a_time() {
    for (path, expected, bytes) in fixtures() {
        let mut watch = new_watch();
        run_chunks(&mut watch, bytes.chunks(1));
        assert_eq!(watch.fired(), expected, "{}", path.display());
    }
}

#[test]
fn the_keyword_prefilter_changes_no_count() {
    // A user rule that never matches makes every line go through the full rule set.
    let never = || vec![rule(GateFailure, r"\A\x00never\x00", None)];
    let no_threshold = Thresholds {
        retry_loop: u32::MAX,
        rate_limit_loop: u32::MAX,
        gate_failure: u32::MAX,
    };
    for (path, _, bytes) in fixtures() {
        let mut filtered = FrictionWatch::new(Vec::new(), no_threshold);
        run_chunks(&mut filtered, [&bytes[..]]);
        let mut unfiltered = FrictionWatch::new(never(), no_threshold);
        run_chunks(&mut unfiltered, [&bytes[..]]);
        assert_eq!(counts(&filtered), counts(&unfiltered), "{}", path.display());
    }
}

#[test]
fn informational_fixtures_count_nothing_at_all() {
    for name in [
        "informational_lines.txt",
        "look_alikes.txt",
        "help_and_usage_text.txt",
        "gh_api_include_headers.txt",
        "cargo_build_clean.txt",
        "pytest_passing_with_coverage.txt",
    ] {
        let bytes = std::fs::read(fixtures_dir().join("none").join(name)).unwrap();
        let mut watch = new_watch();
        run_chunks(&mut watch, [&bytes[..]]);
        assert_eq!(counts(&watch), [0, 0, 0], "{name}");
    }
}

#[test]
fn two_retry_lines_fire_nothing_and_three_fire_a_retry_loop() {
    let line = b"warning: spurious network error (2 tries remaining): [28] Timeout was reached\n";
    assert_eq!(fired(&line.repeat(2)), None);
    assert_eq!(fired(&line.repeat(3)), Some(RetryLoop));
}

#[test]
fn two_rate_limit_lines_fire_nothing_and_three_fire_a_rate_limit_loop() {
    let line = b"npm ERR! 429 Too Many Requests - GET https://registry.npmjs.org/react\n";
    assert_eq!(fired(&line.repeat(2)), None);
    assert_eq!(fired(&line.repeat(3)), Some(RateLimitLoop));
}

#[test]
fn one_gate_line_fires_a_gate_failure() {
    assert_eq!(
        fired(b"Coverage failure: total of 71 is less than fail-under=80\n"),
        Some(GateFailure)
    );
}

#[test]
fn a_line_with_a_rate_limit_and_a_retry_counts_as_rate_limit_only() {
    let line = b"HTTP 429 Too Many Requests, retrying in 5 seconds\n";
    let mut watch = new_watch();
    run_chunks(&mut watch, [&line.repeat(3)[..]]);
    assert_eq!(watch.fired(), Some(RateLimitLoop));
    assert_eq!(counts(&watch), [0, 3, 0]);
}

#[test]
fn rate_limit_wins_over_retry_and_retry_over_gate() {
    let retry = b"Retrying in 5 seconds\n".repeat(3);
    let rate = b"rate limit exceeded\n".repeat(3);
    let gate = b"husky > pre-push hook failed (add --no-verify to bypass)\n".to_vec();
    assert_eq!(fired(&[&gate[..], &retry].concat()), Some(RetryLoop));
    assert_eq!(fired(&[&retry[..], &gate].concat()), Some(RetryLoop));
    assert_eq!(fired(&[&gate[..], &rate, &retry].concat()), Some(RateLimitLoop));
}

#[test]
fn custom_thresholds_apply_and_zero_disables_a_kind() {
    let thresholds = Thresholds {
        retry_loop: 5,
        rate_limit_loop: 1,
        gate_failure: 0,
    };
    let run = |input: &[u8]| {
        let mut watch = FrictionWatch::new(Vec::new(), thresholds);
        run_chunks(&mut watch, [input]);
        watch.fired()
    };
    assert_eq!(run(&b"Retrying in 5 seconds\n".repeat(4)), None);
    assert_eq!(run(&b"Retrying in 5 seconds\n".repeat(5)), Some(RetryLoop));
    assert_eq!(run(b"rate limit exceeded\n"), Some(RateLimitLoop));
    assert_eq!(run(&b"Quality Gate failed\n".repeat(9)), None);
}

#[test]
fn thresholds_default_to_three_three_one() {
    let thresholds = Thresholds::default();
    assert_eq!(
        (
            thresholds.retry_loop,
            thresholds.rate_limit_loop,
            thresholds.gate_failure
        ),
        (3, 3, 1)
    );
}

#[test]
fn informational_lines_do_not_count() {
    let lines: &[&[u8]] = &[
        b"x-ratelimit-remaining: 4999\n",
        b"RateLimit-Remaining: 10\n",
        b"  --retry <num>   Retry request if transient problems occur\n",
        b"  --retries N     Give up after N retries; retrying stops on 4xx\n",
        b"usage: fetch [--retries N] [--timeout S] URL\n",
        b"lint gate passed\n",
        b"INFO: Quality Gate passed (0 conditions failed)\n",
        b"Finished in 2.3s with 0 retries\n",
    ];
    for line in lines {
        let mut watch = new_watch();
        run_chunks(&mut watch, [&line.repeat(5)[..]]);
        assert_eq!(counts(&watch), [0, 0, 0], "{}", String::from_utf8_lossy(line));
    }
}

#[test]
fn user_rules_add_matches() {
    let rules = vec![
        rule(GateFailure, r"deploy blocked by policy \S+", None),
        rule(RetryLoop, r"(?i)waiting for (the )?lock", Some("lock acquired")),
    ];
    let mut watch = FrictionWatch::new(rules.clone(), Thresholds::default());
    run_chunks(
        &mut watch,
        [&b"checking...\ndeploy blocked by policy require-approval\n"[..]],
    );
    assert_eq!(watch.fired(), Some(GateFailure));

    let mut watch = FrictionWatch::new(rules, Thresholds::default());
    let input =
        b"Waiting for the lock on build dir\nwaiting for lock\nwaiting for lock: lock acquired\nWAITING FOR LOCK\n";
    run_chunks(&mut watch, [&input[..]]);
    assert_eq!(watch.count(RetryLoop), 3);
    assert_eq!(watch.fired(), Some(RetryLoop));
    assert!(watch.rule_errors().is_empty());
}

#[test]
fn builtin_informational_exclusions_apply_to_user_rules() {
    let rules = vec![rule(RateLimitLoop, "(?i)ratelimit", None)];
    let mut watch = FrictionWatch::new(rules, Thresholds::default());
    run_chunks(
        &mut watch,
        [&b"X-RateLimit-Remaining: 4999\nX-RateLimit-Remaining: 4998\nX-RateLimit-Remaining: 4997\n"[..]],
    );
    assert_eq!(watch.count(RateLimitLoop), 0);
    run_chunks(&mut watch, [&b"ratelimit hit\n".repeat(3)[..]]);
    assert_eq!(watch.fired(), Some(RateLimitLoop));
}

#[test]
fn an_invalid_user_rule_is_reported_and_skipped() {
    let rules = vec![
        rule(RetryLoop, "stalled (waiting", None),
        rule(GateFailure, "policy check failed", Some("dry[-run")),
        rule(GateFailure, "x*", None),
        rule(GateFailure, "license check failed", None),
    ];
    let mut watch = FrictionWatch::new(rules, Thresholds::default());
    assert!(
        watch.rule_errors().is_empty(),
        "nothing is compiled before output arrives"
    );
    run_chunks(&mut watch, [&b"stalled (waiting\npolicy check failed\nsomething\n"[..]]);
    assert_eq!(watch.fired(), None);
    let errors = watch.rule_errors();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(errors[0].contains("retry_loop") && errors[0].contains("stalled (waiting"));
    assert!(errors[0].contains("unclosed group"), "{}", errors[0]);
    assert!(errors[1].contains("dry[-run"), "{}", errors[1]);
    assert!(errors[2].contains("empty line"), "{}", errors[2]);
    assert!(errors.iter().all(|error| !error.contains('\n')));

    // The valid user rule and the built-ins still work.
    run_chunks(&mut watch, [&b"license check failed: GPL-3.0 in deps\n"[..]]);
    assert_eq!(watch.fired(), Some(GateFailure));
    run_chunks(&mut watch, [&b"rate limit exceeded\n".repeat(3)[..]]);
    assert_eq!(watch.fired(), Some(RateLimitLoop));
}

#[test]
fn user_rules_too_large_together_are_reported_and_the_builtins_still_work() {
    // Each compiles alone; together with the built-ins they exceed the regex size limit.
    let rules = vec![rule(RetryLoop, r"\w{200}", None), rule(RetryLoop, r"\w{200}x", None)];
    let mut watch = FrictionWatch::new(rules, Thresholds::default());
    run_chunks(&mut watch, [&b"Quality Gate failed\n"[..]]);
    assert_eq!(watch.fired(), Some(GateFailure));
    let errors = watch.rule_errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("size limit"), "{}", errors[0]);
}

#[test]
fn rules_deserialize_from_config() {
    let rule: FrictionRule =
        serde_json::from_str(r#"{ "kind": "retry_loop", "pattern": "waiting for lock", "unless": "acquired" }"#)
            .unwrap();
    assert_eq!(rule.kind, RetryLoop);
    assert_eq!(rule.unless.as_deref(), Some("acquired"));
    let rule: FrictionRule = serde_json::from_str(r#"{ "kind": "gate_failure", "pattern": "x" }"#).unwrap();
    assert_eq!((rule.kind, rule.unless), (GateFailure, None));
    assert!(serde_json::from_str::<FrictionRule>(r#"{ "kind": "flaky", "pattern": "x" }"#).is_err());
    assert!(serde_json::from_str::<FrictionRule>(r#"{ "kind": "retry_loop", "pattern": "x", "unles": "y" }"#).is_err());
    let thresholds: Thresholds = serde_json::from_str(r#"{ "gate_failure": 2 }"#).unwrap();
    assert_eq!(
        thresholds,
        Thresholds {
            gate_failure: 2,
            ..Thresholds::default()
        }
    );
}

#[test]
fn kinds_have_config_names() {
    assert_eq!(RetryLoop.name(), "retry_loop");
    assert_eq!(RateLimitLoop.name(), "rate_limit_loop");
    assert_eq!(GateFailure.name(), "gate_failure");
    for kind in [RetryLoop, RateLimitLoop, GateFailure] {
        let parsed: FrictionKind = serde_json::from_str(&format!("\"{}\"", kind.name())).unwrap();
        assert_eq!(parsed, kind);
    }
}

#[test]
fn repaints_of_one_message_count_once() {
    let spinner = "⠋ Retrying in 3s\r⠙ Retrying in 2s.\r⠹ Retrying in 1s..\r   \r⠸ Retrying in 0s\r";
    let mut watch = new_watch();
    run_chunks(&mut watch, [spinner.as_bytes()]);
    assert_eq!(watch.count(RetryLoop), 1);

    // A cursor-up and erase-line redraw is a repaint too, even after a newline.
    let redraw = b"layer 3f1b: Retrying in 5 seconds\n\x1b[1A\x1b[2Klayer 3f1b: Retrying in 4 seconds\n";
    let mut watch = new_watch();
    run_chunks(&mut watch, [&redraw[..]]);
    assert_eq!(watch.count(RetryLoop), 1);
}

#[test]
fn distinct_messages_on_one_terminal_line_each_count() {
    let input = b"Retrying download of serde\rRetrying download of regex\rRetrying download of memchr\r";
    let mut watch = new_watch();
    run_chunks(&mut watch, [&input[..]]);
    assert_eq!(watch.fired(), Some(RetryLoop));
}

#[test]
fn crlf_line_ends_are_separate_lines_not_repaints() {
    let mut watch = new_watch();
    run_chunks(&mut watch, [&b"Retrying in 5 seconds\r\n".repeat(3)[..]]);
    assert_eq!(watch.count(RetryLoop), 3);
}

#[test]
fn a_keyword_split_by_colour_codes_still_counts() {
    let input = b"check yaml.............\x1b[42mPassed\x1b[m\nmypy...................\x1b[41mFailed\x1b[m\n";
    assert_eq!(fired(input), Some(GateFailure));
    let input = b"Error: \x1b[1mtoo\x1b[22m many requests\n".repeat(3);
    assert_eq!(fired(&input), Some(RateLimitLoop));
}

#[test]
fn a_last_line_without_newline_counts_at_finish() {
    let mut watch = new_watch();
    watch.feed(b"Quality Gate failed");
    assert_eq!(watch.fired(), None);
    watch.finish();
    assert_eq!(watch.fired(), Some(GateFailure));
    watch.finish();
    assert_eq!(watch.count(GateFailure), 1);
}

#[test]
fn invalid_utf8_and_nul_bytes_do_not_hide_a_match() {
    let line = b"\xff\xfe\x00 [w\xe9b] rate limit exceeded \x00\xc3\n";
    assert_eq!(fired(&line.repeat(3)), Some(RateLimitLoop));
}

#[test]
fn only_the_first_kib_of_a_long_line_is_matched() {
    let mut late = vec![b'x'; MAX_LINE];
    late.extend_from_slice(b" Quality Gate failed\n");
    assert_eq!(fired(&late), None);

    let mut early = b"Quality Gate failed ".to_vec();
    early.extend(std::iter::repeat_n(b'x', 10 * MAX_LINE));
    early.push(b'\n');
    assert_eq!(fired(&early), Some(GateFailure));
}

#[test]
fn a_huge_line_without_newline_is_skipped_and_matching_resumes_after_it() {
    let mut watch = new_watch();
    let junk = vec![0u8; 64 * 1024];
    for _ in 0..160 {
        watch.feed(&junk);
    }
    watch.feed(b"\nRetrying in 5 seconds\nRetrying in 5 seconds\nRetrying in 5 seconds\n");
    watch.finish();
    assert_eq!(watch.fired(), Some(RetryLoop));
}

/// Input with every kind, `\r` repaints, CRLF, escapes and a long line: the result must not
/// depend on where the chunks split it.
fn mixed_input() -> Vec<u8> {
    let mut input = Vec::new();
    input.extend_from_slice(b"\x1b[33mwarning\x1b[0m: spurious network error (2 tries remaining)\r\n");
    input.extend_from_slice("⠋ Retrying in 2s\r⠙ Retrying in 1s\r\x1b[2K\n".as_bytes());
    input.extend_from_slice(b"< HTTP/2 429\n< x-ratelimit-remaining: 0\n");
    input.extend_from_slice(&[b'z'; 1500]);
    input.extend_from_slice(b" rate limit exceeded\nWill retry in 1 seconds. 3 retries left.\n");
    input.extend_from_slice(b"flake8..........\x1b[41mFailed\x1b[m\r\nrate limit exceeded");
    input
}

#[test]
fn splitting_the_input_at_any_byte_boundary_gives_the_same_counts() {
    let input = mixed_input();
    let mut whole = new_watch();
    run_chunks(&mut whole, [&input[..]]);
    // spurious + Retrying (once) + Will retry; 429 + trailing line; pre-commit.
    assert_eq!(counts(&whole), [3, 2, 1]);
    assert_eq!(whole.fired(), Some(RetryLoop));
    // Compiling the rules once and cloning keeps this test fast in debug builds. The
    // informational warm-up line counts nothing.
    let mut warm = new_watch();
    warm.feed(b"INFO: Quality Gate passed\n");
    assert_eq!(counts(&warm), [0, 0, 0]);
    for split in 0..=input.len() {
        let (head, tail) = input.split_at(split);
        let mut watch = warm.clone();
        run_chunks(&mut watch, [head, tail]);
        assert_eq!(counts(&watch), counts(&whole), "split at {split}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_chunking_gives_the_same_result(
        fixture_index in 0usize..64,
        cuts in proptest::collection::vec(0usize..4096, 0..24),
    ) {
        let fixtures = fixtures();
        let (path, expected, bytes) = &fixtures[fixture_index % fixtures.len()];
        let mut cuts: Vec<usize> = cuts.into_iter().map(|cut| cut % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut watch = new_watch();
        let mut start = 0;
        for cut in cuts {
            watch.feed(&bytes[start..cut]);
            start = cut;
        }
        watch.feed(&bytes[start..]);
        watch.finish();
        prop_assert_eq!(watch.fired(), *expected, "{}", path.display());
    }
}

/// Throughput, for `cargo test --release --test friction -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_throughput() {
    use std::time::Instant;

    fn measure(label: &str, chunk: &[u8], repeat: usize, rules: Vec<FrictionRule>) {
        let mut watch = FrictionWatch::new(rules, Thresholds::default());
        watch.feed(b"warm-up: compile the rules\n");
        let start = Instant::now();
        for _ in 0..repeat {
            watch.feed(chunk);
        }
        watch.finish();
        let seconds = start.elapsed().as_secs_f64();
        let megabytes = (chunk.len() * repeat) as f64 / 1e6;
        println!(
            "{label}: {:.0} MB/s ({megabytes:.0} MB in {seconds:.3}s, fired {:?})",
            megabytes / seconds,
            watch.fired()
        );
    }

    let nul = vec![0u8; 64 * 1024];
    measure("1 GiB of NUL bytes, no newline", &nul, 16 * 1024, Vec::new());

    // A build log: compiler and test lines, a few warnings, now and then a keyword.
    let mut log = String::new();
    for index in 0..400 {
        log.push_str(&format!("   Compiling dependency-{index} v1.{index}.0\n"));
        log.push_str(&format!(
            "test watch::friction::tests::case_{index} ... ok\n2024-05-02T09:14:03.{index:03}Z INFO worker{}: processed batch {index} of 400 (12 items, 3.2 ms)\n",
            index % 8
        ));
        if index % 20 == 0 {
            log.push_str("warning: unused variable: `retries`\n  --> src/fetch.rs:42:9\n");
            log.push_str("note: webhook delivery is queued; see the coverage report for details\n");
        }
    }
    let log = log.into_bytes();
    let repeat = (256 << 20) / log.len();
    measure("typical build log, built-in rules", &log, repeat, Vec::new());
    let user_rules = vec![
        rule(RetryLoop, r"(?i)waiting for (the )?lock", None),
        rule(GateFailure, r"deploy blocked by policy \S+", None),
    ];
    measure("typical build log, built-in + 2 user rules", &log, repeat, user_rules);

    // Worst case short of friction: every line holds a keyword, so every line reaches the
    // full rule set, and none matches.
    let near_misses =
        b"2024-05-02T09:14:03.123Z INFO worker3: webhook delivered, 12 items, aggregate state updated\n".repeat(2000);
    measure(
        "a keyword on every line, no friction",
        &near_misses,
        (256 << 20) / near_misses.len(),
        Vec::new(),
    );

    let noisy = b"WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'ProtocolError'\n".repeat(200);
    let thresholds_never = Thresholds {
        retry_loop: u32::MAX,
        ..Thresholds::default()
    };
    let mut watch = FrictionWatch::new(Vec::new(), thresholds_never);
    let start = Instant::now();
    for _ in 0..500 {
        watch.feed(&noisy);
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "every line a retry line: {:.0} MB/s",
        (noisy.len() * 500) as f64 / 1e6 / seconds
    );
}
