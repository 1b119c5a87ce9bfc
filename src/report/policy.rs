//! Which runs make a report. A crash signal, a recognised crash in the tail of stderr after a
//! non-zero exit, or friction do; a user's interrupt never does, nor does a reader that went
//! away; any other non-zero exit only when the configuration asks, because many tools exit
//! non-zero by design (grep, diff, tests).

use nix::sys::signal::Signal;

use crate::config::ExitCodes;
use crate::launch::ExitReason;
use crate::watch::friction::FrictionKind;
use crate::watch::trace::Crash;

/// Signals by which a process crashes rather than being stopped by someone.
const CRASH_SIGNALS: &[Signal] = &[
    Signal::SIGSEGV,
    Signal::SIGBUS,
    Signal::SIGFPE,
    Signal::SIGILL,
    Signal::SIGABRT,
    Signal::SIGSYS,
    Signal::SIGTRAP,
];

/// Signals and exit codes by which a user (or a supervisor acting for one) ends a run.
const INTERRUPT_SIGNALS: &[Signal] = &[Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGPIPE];
const INTERRUPT_CODES: &[i32] = &[130, 143];
const INTERRUPT_EXCEPTIONS: &[&str] = &["KeyboardInterrupt"];
/// Error classes that are nothing but a write to a pipe with no reader.
const BROKEN_PIPE_CLASSES: &[&str] = &["BrokenPipeError", "Errno::EPIPE"];

/// What a report will say about the run, before scrubbing.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub error_class: String,
    pub runtime: Option<&'static str>,
    pub frames: Vec<String>,
    pub friction: Option<FrictionKind>,
}

/// Decides whether the run makes a report, and what it says. A crash wins over friction:
/// one run makes at most one report.
pub fn decide(
    reason: ExitReason,
    crash: impl FnOnce() -> Option<Crash>,
    friction: Option<FrictionKind>,
    report_exit_codes: &ExitCodes,
) -> Option<Finding> {
    match reason {
        ExitReason::Signal(signal) if INTERRUPT_SIGNALS.contains(&signal) => None,
        ExitReason::Signal(signal) if CRASH_SIGNALS.contains(&signal) => {
            // The signal names the crash; a trace printed just before it (a Rust panic that
            // aborts, a JVM's fatal error) still tells where.
            let crash = crash();
            if signal == Signal::SIGABRT && crash.as_ref().is_some_and(reader_went_away) {
                // A panic on a broken pipe in a program built to abort on panic.
                return None;
            }
            let crash = crash.filter(|c| !is_interrupt(c));
            Some(Finding {
                error_class: signal.as_str().to_string(),
                runtime: crash.as_ref().map(|c| c.runtime.name()),
                frames: crash.map(|c| c.frames).unwrap_or_default(),
                friction: None,
            })
        }
        ExitReason::Signal(_) => friction.map(friction_finding),
        ExitReason::Code(code) if INTERRUPT_CODES.contains(&code) => None,
        ExitReason::Code(0) => friction.map(friction_finding),
        ExitReason::Code(code) => match crash() {
            Some(crash) if is_interrupt(&crash) || reader_went_away(&crash) => None,
            Some(crash) => Some(Finding {
                error_class: crash.error_class,
                runtime: Some(crash.runtime.name()),
                frames: crash.frames,
                friction: None,
            }),
            None => match friction {
                Some(kind) => Some(friction_finding(kind)),
                None if report_exit_codes.includes(code) => Some(Finding {
                    error_class: format!("exit:{code}"),
                    runtime: None,
                    frames: Vec::new(),
                    friction: None,
                }),
                None => None,
            },
        },
    }
}

fn is_interrupt(crash: &Crash) -> bool {
    INTERRUPT_EXCEPTIONS.contains(&crash.error_class.as_str())
}

/// A crash that only says the tool's reader went away (`tool | head -1`, a pager quit early).
/// Most programs die of SIGPIPE then, which counts as an interrupt above; Python, Node and Rust
/// ignore SIGPIPE, so the same event surfaces as BrokenPipeError, `Error: write EPIPE` or a
/// "failed printing to stdout: Broken pipe" panic. Nothing in the tool broke, so it is no crash.
fn reader_went_away(crash: &Crash) -> bool {
    crash.broken_pipe || BROKEN_PIPE_CLASSES.contains(&crash.error_class.as_str())
}

fn friction_finding(kind: FrictionKind) -> Finding {
    Finding {
        error_class: format!("friction:{}", kind.name()),
        runtime: None,
        frames: Vec::new(),
        friction: Some(kind),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::trace::Runtime;

    fn python(class: &str) -> Option<Crash> {
        Some(Crash {
            runtime: Runtime::Python,
            error_class: class.into(),
            frames: vec!["main".into()],
            broken_pipe: false,
        })
    }

    /// A crash whose message said a write found no reader.
    fn on_broken_pipe(runtime: Runtime, class: &str) -> Option<Crash> {
        Some(Crash {
            runtime,
            error_class: class.into(),
            frames: vec!["main".into()],
            broken_pipe: true,
        })
    }

    fn decide_simple(reason: ExitReason, crash: Option<Crash>, friction: Option<FrictionKind>) -> Option<String> {
        decide(reason, || crash, friction, &ExitCodes::None).map(|f| f.error_class)
    }

    #[test]
    fn crash_signals_report_with_the_signal_name() {
        assert_eq!(
            decide_simple(ExitReason::Signal(Signal::SIGSEGV), None, None).as_deref(),
            Some("SIGSEGV")
        );
        assert_eq!(
            decide_simple(ExitReason::Signal(Signal::SIGABRT), None, None).as_deref(),
            Some("SIGABRT")
        );
    }

    #[test]
    fn interrupts_never_report() {
        let friction = Some(FrictionKind::RetryLoop);
        for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGPIPE] {
            assert_eq!(
                decide_simple(ExitReason::Signal(signal), python("ValueError"), friction),
                None
            );
        }
        assert_eq!(
            decide_simple(ExitReason::Code(130), python("ValueError"), friction),
            None
        );
        assert_eq!(decide_simple(ExitReason::Code(143), None, friction), None);
        assert_eq!(
            decide_simple(ExitReason::Code(1), python("KeyboardInterrupt"), None),
            None
        );
    }

    #[test]
    fn a_non_zero_exit_reports_only_a_recognised_crash_unless_configured() {
        assert_eq!(
            decide_simple(ExitReason::Code(1), python("ValueError"), None).as_deref(),
            Some("ValueError")
        );
        assert_eq!(decide_simple(ExitReason::Code(1), None, None), None);
        let any = decide(ExitReason::Code(2), || None, None, &ExitCodes::Any);
        assert_eq!(any.unwrap().error_class, "exit:2");
        assert!(decide(ExitReason::Code(2), || None, None, &ExitCodes::Only(vec![3])).is_none());
    }

    #[test]
    fn a_trace_printed_by_a_successful_run_is_not_a_crash() {
        assert_eq!(decide_simple(ExitReason::Code(0), python("ValueError"), None), None);
    }

    #[test]
    fn friction_reports_whatever_the_exit_code_but_a_crash_wins() {
        let friction = Some(FrictionKind::RateLimitLoop);
        assert_eq!(
            decide_simple(ExitReason::Code(0), None, friction).as_deref(),
            Some("friction:rate_limit_loop")
        );
        assert_eq!(
            decide_simple(ExitReason::Code(4), None, friction).as_deref(),
            Some("friction:rate_limit_loop")
        );
        assert_eq!(
            decide_simple(ExitReason::Code(1), python("OSError"), friction).as_deref(),
            Some("OSError")
        );
    }

    #[test]
    fn a_reader_that_went_away_is_not_a_crash() {
        let friction = Some(FrictionKind::RetryLoop);
        let cases = [
            // Python: BrokenPipeError, recognised by its class whatever its message.
            python("BrokenPipeError"),
            on_broken_pipe(Runtime::Python, "BrokenPipeError"),
            // Rust: "failed printing to stdout: Broken pipe (os error 32)".
            on_broken_pipe(Runtime::Rust, "panic"),
            // Node: "Error: write EPIPE".
            on_broken_pipe(Runtime::Node, "Error"),
            // Ruby: "Broken pipe (Errno::EPIPE)".
            Some(Crash {
                runtime: Runtime::Ruby,
                error_class: "Errno::EPIPE".into(),
                frames: Vec::new(),
                broken_pipe: false,
            }),
        ];
        for crash in cases {
            let class = crash.as_ref().unwrap().error_class.clone();
            assert_eq!(decide_simple(ExitReason::Code(1), crash.clone(), None), None, "{class}");
            assert_eq!(decide_simple(ExitReason::Code(1), crash, friction), None, "{class}");
        }
        // Death by SIGPIPE, the same event in a program that does not ignore the signal.
        assert_eq!(decide_simple(ExitReason::Signal(Signal::SIGPIPE), None, None), None);
        // A Rust program built with panic = "abort".
        assert_eq!(
            decide_simple(
                ExitReason::Signal(Signal::SIGABRT),
                on_broken_pipe(Runtime::Rust, "panic"),
                None
            ),
            None
        );
    }

    #[test]
    fn other_crashes_of_the_same_runtimes_still_report() {
        assert_eq!(
            decide_simple(
                ExitReason::Code(101),
                Some(Crash {
                    runtime: Runtime::Rust,
                    error_class: "panic".into(),
                    frames: vec!["main".into()],
                    broken_pipe: false,
                }),
                None
            )
            .as_deref(),
            Some("panic")
        );
        assert_eq!(
            decide_simple(ExitReason::Code(1), python("ConnectionResetError"), None).as_deref(),
            Some("ConnectionResetError")
        );
        // A segfault is a crash whatever was printed before it.
        assert_eq!(
            decide_simple(
                ExitReason::Signal(Signal::SIGSEGV),
                on_broken_pipe(Runtime::Rust, "panic"),
                None
            )
            .as_deref(),
            Some("SIGSEGV")
        );
    }
}
