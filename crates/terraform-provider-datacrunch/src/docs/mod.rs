//! Registry documentation generated from the provider's own schema, in the layout of
//! HashiCorp's tfplugindocs: `index.md`, `resources/<name>.md`, `data-sources/<name>.md`
//! (names without the `datacrunch_` prefix), each with front matter, the description,
//! "Example Usage" from `examples/`, the schema (Required / Optional / Read-Only, nested
//! objects below) and "Import". `--check` compares instead of writing, for CI.

mod render;

use anyhow::{Context as _, Result};
use std::path::{Path, PathBuf};

/// The `examples/` directory of the workspace this binary was built from.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Writes (or with `check`, compares) every page under `out`. Returns the pages that
/// differ from what is on disk (always empty when writing).
pub fn run(out: &Path, examples: &Path, check: bool) -> Result<Vec<PathBuf>> {
    let pages = render::pages(examples)?;
    let mut drift = Vec::new();
    for (rel, text) in pages {
        let path = out.join(&rel);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(text.as_str()) {
            continue;
        }
        if check {
            drift.push(path);
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(drift)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed docs/ are what the schema and examples produce (CI runs the same
    /// check through `make docs-check`).
    #[test]
    fn committed_docs_are_current() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
        let drift = run(&docs, &examples_dir(), true).unwrap();
        assert!(drift.is_empty(), "run `make docs`: {drift:?}");
    }

    #[test]
    fn check_reports_a_changed_page_and_write_fixes_it() {
        let out = tempfile::tempdir().unwrap();
        assert!(!run(out.path(), &examples_dir(), true).unwrap().is_empty());
        assert!(run(out.path(), &examples_dir(), false).unwrap().is_empty());
        assert!(run(out.path(), &examples_dir(), true).unwrap().is_empty());
        std::fs::write(out.path().join("resources/instance.md"), "stale").unwrap();
        let drift = run(out.path(), &examples_dir(), true).unwrap();
        assert_eq!(drift, vec![out.path().join("resources/instance.md")]);
    }
}
