//! Markdown rendering of schemas (filled in later).

use anyhow::Result;
use std::path::{Path, PathBuf};

pub fn pages(_examples: &Path) -> Result<Vec<(PathBuf, String)>> {
    Ok(Vec::new())
}
