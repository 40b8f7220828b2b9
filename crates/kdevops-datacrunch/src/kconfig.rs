//! Reading a Kconfig `.config` file: `CONFIG_NAME=value` lines into a symbol table.
//!
//! The file is written by kconfiglib (`make menuconfig`, `make defconfig-*`), but users
//! also edit it by hand, so every problem is reported with the line number and what was
//! expected. Typed interpretation of the symbols lives in [`crate::settings`].
//!
//! A hand edit can also misspell a symbol's name, and Kconfig semantics would then
//! silently drop the setting (a price cap, say). [`defined_symbols`] reads which names
//! the Kconfig tree defines, so [`KconfigValues::unknown_symbols`] can point out a name
//! that is a near miss of one, with a "did you mean".

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use datacrunch_client::suggest::closest;

/// One `.config` file: symbol name (without `CONFIG_`) to value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KconfigValues {
    values: BTreeMap<String, Value>,
}

/// A symbol's value as written in `.config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `y`, `m` or `n` (`# CONFIG_X is not set` reads as `n`).
    Tristate(char),
    /// A quoted string, unescaped.
    Str(String),
    /// An unquoted value other than y/m/n: int and hex symbols.
    Number(String),
}

/// A malformed `.config` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

impl KconfigValues {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read {}: run `make menuconfig` or `make defconfig-NAME` first",
                path.display()
            )
        })?;
        Self::parse(&text).with_context(|| format!("{} is not a valid .config", path.display()))
    }

    /// Parses the text of a `.config` file.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut values = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let err = |message: String| ParseError {
                line: index + 1,
                message,
            };
            if line.is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                if let Some(name) = comment
                    .trim()
                    .strip_prefix("CONFIG_")
                    .and_then(|rest| rest.strip_suffix(" is not set"))
                {
                    values.insert(name.to_owned(), Value::Tristate('n'));
                }
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(err(format!("expected CONFIG_NAME=value, found {line:?}")));
            };
            let Some(name) = key.trim().strip_prefix("CONFIG_") else {
                return Err(err(format!(
                    "expected a name starting with CONFIG_, found {key:?}"
                )));
            };
            let value = value.trim();
            let parsed = if let Some(quoted) = value.strip_prefix('"') {
                Value::Str(unquote(quoted).map_err(|m| err(format!("CONFIG_{name}: {m}")))?)
            } else if let ["y" | "m" | "n"] = [value] {
                Value::Tristate(value.chars().next().unwrap_or('n'))
            } else if !value.is_empty() {
                Value::Number(value.to_owned())
            } else {
                return Err(err(format!("CONFIG_{name} has no value")));
            };
            values.insert(name.to_owned(), parsed);
        }
        Ok(Self { values })
    }

    /// Whether bool symbol `name` is `y` (absent means `n`, as in Kconfig).
    pub fn enabled(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(Value::Tristate('y')))
    }

    /// The value of string symbol `name`, if set.
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The raw value of an int symbol, if set.
    pub fn number(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(Value::Number(s)) => Some(s),
            _ => None,
        }
    }
}

/// A symbol set in `.config` that the Kconfig tree does not define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSymbol {
    /// The name without `CONFIG_`.
    pub name: String,
    /// The defined symbol it is a near miss of (a typo, or a renamed option).
    pub meant: Option<String>,
}

impl fmt::Display for UnknownSymbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CONFIG_{} in .config is not an option of this Kconfig tree, so it has no effect",
            self.name
        )?;
        if let Some(meant) = &self.meant {
            write!(f, ". Did you mean CONFIG_{meant}?")?;
        }
        Ok(())
    }
}

impl KconfigValues {
    /// The symbols set here that `defined` (see [`defined_symbols`]) lacks, each with
    /// the defined name it is nearest to, if any is near.
    pub fn unknown_symbols(&self, defined: &BTreeSet<String>) -> Vec<UnknownSymbol> {
        let names: Vec<&str> = defined.iter().map(String::as_str).collect();
        self.values
            .keys()
            .filter(|name| !defined.contains(*name))
            .map(|name| UnknownSymbol {
                name: name.clone(),
                meant: closest(name, &names).map(str::to_owned),
            })
            .collect()
    }
}

/// Every symbol (`config NAME`, `menuconfig NAME`) defined by the Kconfig file `root`
/// and the files it sources. `source` paths are relative to `root`'s directory (the
/// tree's top, as kconfiglib's `srctree`), `rsource` ones to the sourcing file; a path
/// with a `$` (an expansion) is skipped, as is an `osource`/`orsource` that is missing.
pub fn defined_symbols(root: &Path) -> std::io::Result<BTreeSet<String>> {
    let top = root.parent().unwrap_or(Path::new("."));
    let mut symbols = BTreeSet::new();
    let mut pending = vec![(root.to_path_buf(), false)];
    let mut seen = BTreeSet::new();
    while let Some((file, optional)) = pending.pop() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if optional && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let here = file.parent().unwrap_or(top);
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("config" | "menuconfig"), Some(name)) => {
                    symbols.insert(name.to_owned());
                }
                (Some(keyword @ ("source" | "rsource" | "osource" | "orsource")), Some(path)) => {
                    let path = path.trim_matches('"');
                    if path.contains('$') {
                        continue;
                    }
                    let base = if keyword.starts_with('r') || keyword.starts_with("or") {
                        here
                    } else {
                        top
                    };
                    pending.push((base.join(path), keyword.starts_with('o')));
                }
                _ => {}
            }
        }
    }
    Ok(symbols)
}

/// Undoes kconfiglib's string escaping (`\"` and `\\`); `rest` is the text after the
/// opening quote.
fn unquote(rest: &str) -> Result<String, String> {
    let mut out = String::with_capacity(rest.len());
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => out.push(escaped),
                None => return Err("string ends with a lone backslash".into()),
            },
            '"' => {
                let trailing: String = chars.collect();
                if !trailing.trim().is_empty() {
                    return Err(format!(
                        "unexpected text after the closing quote: {trailing:?}"
                    ));
                }
                return Ok(out);
            }
            other => out.push(other),
        }
    }
    Err("string has no closing quote".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kconfiglib_output() {
        let text = "#\n# Nodes\n#\nCONFIG_TERRAFORM=y\n# CONFIG_TERRAFORM_DATACRUNCH_SPOT is not set\n\
                    CONFIG_KDEVOPS_NODE_COUNT=3\nCONFIG_KDEVOPS_HOSTS_PREFIX=\"kd \\\"q\\\" \\\\x\"\n";
        let v = KconfigValues::parse(text).unwrap();
        assert!(v.enabled("TERRAFORM"));
        assert!(!v.enabled("TERRAFORM_DATACRUNCH_SPOT"));
        assert!(!v.enabled("NEVER_MENTIONED"));
        assert_eq!(v.number("KDEVOPS_NODE_COUNT"), Some("3"));
        assert_eq!(v.string("KDEVOPS_HOSTS_PREFIX"), Some("kd \"q\" \\x"));
        assert_eq!(v.string("TERRAFORM"), None);
    }

    #[test]
    fn finds_the_symbols_of_a_sourced_tree_and_near_misses() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("Kconfig"),
            "mainmenu \"x\"\nconfig TERRAFORM\n\tbool\nsource \"sub/Kconfig.a\"\nosource \"sub/missing\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sub/Kconfig.a"),
            "menuconfig KDEVOPS_NODE_COUNT\n  int\nrsource \"Kconfig.b\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("sub/Kconfig.b"),
            "choice\nconfig TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR\n\tstring\nendchoice\n",
        )
        .unwrap();
        let defined = defined_symbols(&dir.path().join("Kconfig")).unwrap();
        assert_eq!(
            defined.iter().map(String::as_str).collect::<Vec<_>>(),
            [
                "KDEVOPS_NODE_COUNT",
                "TERRAFORM",
                "TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR"
            ]
        );
        let values = KconfigValues::parse(
            "CONFIG_TERRAFORM=y\nCONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOR=\"1\"\nCONFIG_WORKFLOWS=y\n",
        )
        .unwrap();
        let unknown = values.unknown_symbols(&defined);
        assert_eq!(unknown.len(), 2, "{unknown:?}");
        assert_eq!(
            unknown[0].to_string(),
            "CONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOR in .config is not an option of this \
             Kconfig tree, so it has no effect. Did you mean CONFIG_TERRAFORM_DATACRUNCH_MAX_PRICE_PER_HOUR?"
        );
        assert_eq!(unknown[1].name, "WORKFLOWS");
        assert_eq!(unknown[1].meant, None);
    }

    #[test]
    fn reports_the_line_of_a_bad_entry() {
        let err = KconfigValues::parse("CONFIG_A=y\nnonsense\n").unwrap_err();
        assert_eq!(err.line, 2);
        let err = KconfigValues::parse("CONFIG_A=\"open\n").unwrap_err();
        assert!(err.message.contains("no closing quote"), "{err}");
        let err = KconfigValues::parse("A=y\n").unwrap_err();
        assert!(err.message.contains("CONFIG_"), "{err}");
    }
}
