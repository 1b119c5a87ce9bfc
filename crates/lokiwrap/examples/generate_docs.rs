//! Writes the shell completions and the man page from the one command-line definition:
//! `cargo run --example generate_docs` refreshes `packaging/completions/` and
//! `packaging/man/lokiwrap.1` (the collector's man page has an example of the same name in
//! its own crate). A test checks the committed files match the definition.

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

fn main() -> std::io::Result<()> {
    let root = packaging();
    for (shell, file) in [
        (Shell::Bash, "lokiwrap.bash"),
        (Shell::Zsh, "_lokiwrap"),
        (Shell::Fish, "lokiwrap.fish"),
    ] {
        let path = root.join("completions").join(file);
        std::fs::create_dir_all(path.parent().unwrap())?;
        std::fs::write(&path, completions(shell))?;
        println!("wrote {}", path.display());
    }
    let man = root.join("man/lokiwrap.1");
    std::fs::create_dir_all(man.parent().unwrap())?;
    std::fs::write(&man, man_page()?)?;
    println!("wrote {}", man.display());
    Ok(())
}

/// `packaging/` at the repository root, two levels above this crate.
fn packaging() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging")
}

fn completions(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut lokiwrap::cli::Cli::command(), "lokiwrap", &mut out);
    out
}

fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(lokiwrap::cli::Cli::command()).render(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed completions and man page are what the definition gives today: change
    /// the CLI, then run `cargo run --example generate_docs`.
    #[test]
    fn committed_completions_and_man_page_match_the_cli_definition() {
        let root = packaging();
        for (shell, file) in [
            (Shell::Bash, "lokiwrap.bash"),
            (Shell::Zsh, "_lokiwrap"),
            (Shell::Fish, "lokiwrap.fish"),
        ] {
            let committed = std::fs::read(root.join("completions").join(file)).unwrap();
            assert!(
                committed == completions(shell),
                "{file} is stale: cargo run --example generate_docs"
            );
        }
        let committed = std::fs::read(root.join("man/lokiwrap.1")).unwrap();
        assert!(
            committed == man_page().unwrap(),
            "lokiwrap.1 is stale: cargo run --example generate_docs"
        );
    }
}
