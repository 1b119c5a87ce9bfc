//! A small deterministic generator, so that every run of the scrubber's bench and figures works
//! on the same text. Shared by `benches/scrub.rs` and `examples/scrub_figures.rs`.
#![allow(dead_code)]

pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n.max(1)
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// `prefix` followed by `len` random letters and digits.
    pub fn token(&mut self, prefix: &str, len: usize) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let body: String = (0..len).map(|_| char::from(ALNUM[self.below(ALNUM.len())])).collect();
        format!("{prefix}{body}")
    }
}
