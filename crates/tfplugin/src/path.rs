//! Attribute paths: where in a resource's value something is. Its own module because
//! both values (decode errors carry the path) and diagnostics (which point Terraform at
//! the offending line) need it, while neither needs the other for it.

use std::fmt;

/// One step into a value: an attribute of an object, a map key or a list index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    /// An attribute (or nested block) of an object.
    Attribute(String),
    /// A key of a map (or of a map-nested block).
    Key(String),
    /// An index into a list or tuple.
    Index(i64),
}

/// A path from the root of a resource's value to one attribute or element,
/// built with a fluent API: `AttributePath::root().attr("disks").index(0).attr("size")`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributePath {
    steps: Vec<PathStep>,
}

impl AttributePath {
    /// The whole value (an empty path).
    pub fn root() -> Self {
        Self::default()
    }

    /// A top-level attribute.
    pub fn new(attribute: impl Into<String>) -> Self {
        Self::root().attr(attribute)
    }

    /// This path extended by an attribute name.
    pub fn attr(mut self, name: impl Into<String>) -> Self {
        self.steps.push(PathStep::Attribute(name.into()));
        self
    }

    /// This path extended by a map key.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.steps.push(PathStep::Key(key.into()));
        self
    }

    /// This path extended by a list index.
    pub fn index(mut self, index: i64) -> Self {
        self.steps.push(PathStep::Index(index));
        self
    }

    /// The steps from the root.
    pub fn steps(&self) -> &[PathStep] {
        &self.steps
    }

    /// True for the root path.
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// True when `self` starts with every step of `prefix`.
    pub fn starts_with(&self, prefix: &AttributePath) -> bool {
        self.steps.starts_with(&prefix.steps)
    }
}

impl fmt::Display for AttributePath {
    /// Terraform-like rendering: `disks[0].size`, `tags["env"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.steps.is_empty() {
            return f.write_str("(root)");
        }
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                PathStep::Attribute(a) if i == 0 => f.write_str(a)?,
                PathStep::Attribute(a) => write!(f, ".{a}")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
                PathStep::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_display_and_prefix() {
        let p = AttributePath::new("disks").index(0).attr("size");
        assert_eq!(p.to_string(), "disks[0].size");
        let t = AttributePath::new("tags").key("env");
        assert_eq!(t.to_string(), "tags[\"env\"]");
        assert!(p.starts_with(&AttributePath::new("disks")));
        assert!(!p.starts_with(&t));
    }
}
