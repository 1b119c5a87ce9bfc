//! Writes `packaging/man/lokiwrap-collector.1` from the collector's one command-line definition:
//! `cargo run -p lokiwrap-collector --example generate_docs`. A test checks the committed page
//! matches the definition.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

fn main() -> std::io::Result<()> {
    let man = man_path();
    std::fs::create_dir_all(man.parent().unwrap())?;
    std::fs::write(&man, man_page()?)?;
    println!("wrote {}", man.display());
    Ok(())
}

/// `packaging/man/lokiwrap-collector.1` at the repository root, two levels above this crate.
fn man_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/man/lokiwrap-collector.1")
}

fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(lokiwrap_collector::cli::Args::command()).render(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed man page is what the definition gives today: change the command line, then
    /// run `cargo run -p lokiwrap-collector --example generate_docs`.
    #[test]
    fn committed_man_page_matches_the_cli_definition() {
        let committed = std::fs::read(man_path()).unwrap();
        assert!(
            committed == man_page().unwrap(),
            "lokiwrap-collector.1 is stale: cargo run -p lokiwrap-collector --example generate_docs"
        );
    }
}
