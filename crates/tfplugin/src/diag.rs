//! Diagnostics: the only way anything a user can fix is reported to Terraform. Every failure a resource meets becomes a
//! [`Diagnostic`], optionally pointing at an [`AttributePath`] so Terraform can
//! underline the offending line of configuration. gRPC errors are never used
//! for user-facing problems (Terraform would only say "Plugin error").

use std::fmt;

pub use crate::path::{AttributePath, PathStep};

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem (or warning) reported to Terraform.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub path: Option<AttributePath>,
}

impl Diagnostic {
    /// An error without a path.
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            path: None,
        }
    }

    /// A warning without a path.
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(summary, detail)
        }
    }

    /// The same diagnostic pointing at `path`.
    pub fn at(mut self, path: AttributePath) -> Self {
        self.path = Some(path);
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}", self.summary)?;
        if let Some(p) = &self.path {
            write!(f, " (at {p})")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// `text` as Terraform's renderer must receive it to print it as written.
///
/// Terraform (1.15 at least, with colour and with `-no-color` alike) passes diagnostic
/// text through its colour markup (mitchellh/colorstring), which replaces `[NAME]` with
/// an escape sequence (or nothing) whenever NAME is one of its colour or attribute
/// names: "add a [default] section" prints as "add a  section". colorstring has no
/// escape syntax, so a WORD JOINER (U+2060, invisible, zero width) goes after the `[`
/// of such a tag: the tag no longer matches, and the text reads the same in a
/// terminal, in a `-no-color` log and in `-json` output, on every Terraform version.
/// Other bracketed text (`[work]`, `[0]`) is left byte for byte.
pub fn shield_from_colour_markup(text: String) -> String {
    if !text.contains('[') {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text.as_str();
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        if rest[name_len..].starts_with(']') && COLOUR_TAGS.contains(&&rest[..name_len]) {
            out.push('\u{2060}');
        }
    }
    out.push_str(rest);
    out
}

/// The names colorstring's default palette (which Terraform uses) replaces.
const COLOUR_TAGS: &[&str] = &[
    "default",
    "_default_",
    "black",
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "light_gray",
    "dark_gray",
    "light_red",
    "light_green",
    "light_yellow",
    "light_blue",
    "light_magenta",
    "light_cyan",
    "white",
    "_black_",
    "_red_",
    "_green_",
    "_yellow_",
    "_blue_",
    "_magenta_",
    "_cyan_",
    "_light_gray_",
    "_dark_gray_",
    "_light_red_",
    "_light_green_",
    "_light_yellow_",
    "_light_blue_",
    "_light_magenta_",
    "_light_cyan_",
    "_white_",
    "bold",
    "dim",
    "underline",
    "blink_slow",
    "blink_fast",
    "invert",
    "hidden",
    "reset",
    "reset_bold",
];

/// An ordered collection of diagnostics. Resource methods return
/// `Result<T, Diagnostics>`; any `std::error::Error` converts into a single
/// error diagnostic with `?`.
///
/// A failed `create` or `update` may also say what the remote object now is
/// with [`Diagnostics::with_state`]: the server then records that state next
/// to the errors instead of the prior one. For a create this is how an object
/// that exists but did not become ready (a machine that never booted) stays
/// in state: Terraform marks it tainted, and the next apply replaces it or
/// the next destroy deletes it, instead of leaving it unknown and billing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>, Option<Box<crate::Value>>);

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Attaches the state the remote object is in despite these errors (see
    /// the type's docs). Only `create` and `update` failures use it.
    pub fn with_state(mut self, state: crate::Value) -> Self {
        self.1 = Some(Box::new(state));
        self
    }

    /// Takes the state attached with [`Diagnostics::with_state`], if any.
    pub fn take_state(&mut self) -> Option<crate::Value> {
        self.1.take().map(|b| *b)
    }

    /// Adds one diagnostic.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// Adds an error without a path.
    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::error(summary, detail));
    }

    /// Adds an error pointing at `path`.
    pub fn error_at(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Diagnostic::error(summary, detail).at(path));
    }

    /// Adds a warning without a path.
    pub fn warning(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::warning(summary, detail));
    }

    /// Appends every diagnostic of `other`.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
        if self.1.is_none() {
            self.1 = other.1;
        }
    }

    /// True when at least one diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// `Err(self)` when there are errors, else `Ok(())`; handy after validation.
    pub fn into_result(self) -> Result<(), Diagnostics> {
        if self.has_errors() {
            Err(self)
        } else {
            Ok(())
        }
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Self(vec![d], None)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl From<crate::value::ValueError> for Diagnostics {
    fn from(e: crate::value::ValueError) -> Self {
        let d = Diagnostic::error("Invalid value", e.to_string());
        match e.path() {
            Some(p) if !p.is_root() => d.at(p.clone()).into(),
            _ => d.into(),
        }
    }
}

impl From<anyhow::Error> for Diagnostics {
    fn from(e: anyhow::Error) -> Self {
        Diagnostic::error(e.to_string(), format!("{e:#}")).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attached_state_survives_extend_and_is_taken_once() {
        let mut d: Diagnostics = Diagnostic::error("boom", "").into();
        assert_eq!(d.take_state(), None);
        let mut outer = Diagnostics::new();
        outer.extend(d.with_state(crate::Value::string("x")));
        assert!(outer.has_errors());
        assert_eq!(outer.take_state(), Some(crate::Value::string("x")));
        assert_eq!(outer.take_state(), None);
    }

    #[test]
    fn colour_tags_are_shielded_and_other_brackets_kept() {
        let shield = |t: &str| shield_from_colour_markup(t.to_owned());
        assert_eq!(
            shield("add a [default] section, not [work] or [0]"),
            "add a [\u{2060}default] section, not [work] or [0]"
        );
        assert_eq!(
            shield("[bold][[red]] [Default] [reset"),
            "[\u{2060}bold][[\u{2060}red]] [Default] [reset"
        );
        assert_eq!(shield("no brackets"), "no brackets");
        assert_eq!(shield("ends with ["), "ends with [");
    }

    #[test]
    fn errors_vs_warnings() {
        let mut d = Diagnostics::new();
        d.warning("w", "");
        assert!(!d.has_errors());
        assert!(d.clone().into_result().is_ok());
        d.error_at(AttributePath::new("x"), "bad", "detail");
        assert!(d.has_errors());
        assert_eq!(d.len(), 2);
        assert!(d.into_result().is_err());
    }
}
