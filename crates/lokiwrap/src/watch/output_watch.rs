//! The observer that sits on the relay: it reads what the relay carries (stderr, or stdout and
//! stderr together when they lead to one place), keeps a bounded tail for crash recognition
//! and feeds the friction matcher. Nothing is set up before the tool's first relayed byte, so
//! a quiet run pays for nothing.

use super::friction::{FrictionKind, FrictionRule, FrictionWatch, Thresholds};
use super::trace::{self, Crash};
use crate::launch::OutputObserver;

/// How much of the end of the relayed output is kept for crash recognition: memory stays bounded however
/// much the tool prints, and a trace longer than this is cut at its start, not its end.
pub const TAIL_BYTES: usize = 64 * 1024;

/// What the friction matcher needs, asked for only when the tool's first output is relayed
/// (reading the configuration then, not before the tool starts).
pub type FrictionSetup = Box<dyn FnOnce() -> (Vec<FrictionRule>, Thresholds)>;

pub struct OutputWatch {
    tail: Vec<u8>,
    friction: Option<FrictionWatch>,
    setup: Option<FrictionSetup>,
}

impl OutputWatch {
    pub fn new(setup: FrictionSetup) -> OutputWatch {
        OutputWatch {
            tail: Vec::new(),
            friction: None,
            setup: Some(setup),
        }
    }

    /// The end of the relayed output: at least its last [`TAIL_BYTES`] (at most twice that).
    pub fn tail(&self) -> &[u8] {
        &self.tail
    }

    /// The last crash printed in the tail, if any.
    pub fn crash(&self) -> Option<Crash> {
        trace::parse_last_crash(&self.tail)
    }

    /// The friction that fired, after the last line is counted.
    pub fn friction(&mut self) -> Option<FrictionKind> {
        let friction = self.friction.as_mut()?;
        friction.finish();
        friction.fired()
    }

    /// Problems with the user's friction rules (skipped rules), for one warning line.
    pub fn rule_errors(&self) -> &[String] {
        self.friction.as_ref().map_or(&[], |f| f.rule_errors())
    }

    fn keep_tail(&mut self, chunk: &[u8]) {
        if chunk.len() >= TAIL_BYTES {
            self.tail.clear();
            self.tail.extend_from_slice(&chunk[chunk.len() - TAIL_BYTES..]);
            return;
        }
        // Drop from the front only once the buffer holds twice the tail: amortised, every byte
        // is moved at most once more.
        if self.tail.len() + chunk.len() > 2 * TAIL_BYTES {
            let excess = self.tail.len() + chunk.len() - TAIL_BYTES;
            self.tail.drain(..excess);
        }
        self.tail.extend_from_slice(chunk);
    }
}

impl OutputObserver for OutputWatch {
    fn observe(&mut self, chunk: &[u8]) {
        if let Some(setup) = self.setup.take() {
            let (rules, thresholds) = setup();
            self.friction = Some(FrictionWatch::new(rules, thresholds));
        }
        if let Some(friction) = &mut self.friction {
            friction.feed(chunk);
        }
    }

    /// The relay holds the most recent output until the end: the tail is copied once, here,
    /// rather than with every read.
    fn finish(&mut self, earlier: &[u8], latest: &[u8]) {
        self.tail.clear();
        self.keep_tail(earlier);
        self.keep_tail(latest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch() -> OutputWatch {
        OutputWatch::new(Box::new(|| (Vec::new(), Thresholds::default())))
    }

    #[test]
    fn the_tail_is_the_end_of_what_the_relay_still_holds() {
        let mut w = watch();
        let earlier: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        w.finish(&earlier, b"last words\n");
        let mut expected = earlier[earlier.len() - TAIL_BYTES..].to_vec();
        expected.extend_from_slice(b"last words\n");
        assert_eq!(w.tail(), &expected[..]);
        w.finish(&[], b"short");
        assert_eq!(w.tail(), b"short");
    }

    #[test]
    fn a_huge_chunk_leaves_exactly_its_end() {
        let mut w = watch();
        let chunk: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        w.finish(&[], &chunk);
        assert_eq!(w.tail(), &chunk[chunk.len() - TAIL_BYTES..]);
    }

    #[test]
    fn friction_after_a_blob_still_counts() {
        let mut w = watch();
        let blob = vec![0u8; 256 * 1024];
        for _ in 0..8 {
            w.observe(&blob);
        }
        let mut tail = vec![0u8; 1000];
        tail.extend_from_slice(b"\nRetrying in 5 seconds\nRetrying in 5 seconds\nRetrying in 5 seconds\n");
        w.observe(&tail);
        assert_eq!(w.friction(), Some(FrictionKind::RetryLoop));
    }

    #[test]
    fn nothing_is_set_up_until_output_arrives() {
        let w = OutputWatch::new(Box::new(|| panic!("configuration read before any output")));
        assert!(w.tail().is_empty());
    }

    #[test]
    fn friction_is_counted_across_chunks() {
        let mut w = watch();
        for _ in 0..3 {
            w.observe(b"Retrying in 5 seconds");
            w.observe(b"...\n");
        }
        assert_eq!(w.friction(), Some(FrictionKind::RetryLoop));
    }

    /// A measurement, not a check: `cargo test --release --lib watch_throughput -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn watch_throughput() {
        let zeros = vec![0u8; 256 * 1024];
        let log: Vec<u8> = b"Compiling serde v1.0.229 (registry)\n".repeat(256 * 1024 / 37);
        for (name, chunk) in [("NUL bytes, no line ends", &zeros), ("build log lines", &log)] {
            let mut w = watch();
            let rounds = (1usize << 30) / chunk.len();
            let started = std::time::Instant::now();
            for _ in 0..rounds {
                w.observe(chunk);
            }
            let secs = started.elapsed().as_secs_f64();
            println!("{name}: {:.0} MB/s", (rounds * chunk.len()) as f64 / secs / 1e6);
            let started = std::time::Instant::now();
            for _ in 0..rounds {
                w.keep_tail(chunk);
            }
            println!(
                "  tail alone: {:.0} MB/s",
                (rounds * chunk.len()) as f64 / started.elapsed().as_secs_f64() / 1e6
            );
        }
    }
}
