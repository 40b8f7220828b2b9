//! The INI credentials file: `[profile]` sections of `key = value` lines, as Python's
//! `configparser` (which kdevops' helper used to write these files) reads them, with one
//! rule for values that every reader of the file shares:
//!
//! * a value is everything after the first `=` or `:` of its line, trimmed;
//! * one pair of matching surrounding quotes (`"…"` or `'…'`) is stripped;
//! * nothing else: no backslash escapes, no inline comments. `a\b#c=d` is those six
//!   characters. Only whole lines starting with `#` or `;` are comments.
//!
//! Keys are matched case-insensitively (configparser lowercases them); section names are
//! case-sensitive. A UTF-8 byte-order mark and CRLF line ends are accepted. A key twice in
//! a section, a section twice, or a line that is none of these is an error naming its
//! line, because a reader that silently picked one of two secrets would authenticate as
//! the wrong account.
//!
//! The writer ([`set_profile`]) follows the same rule, so whatever it writes reads back
//! as the exact value given.

use std::collections::HashMap;

/// One `key = value` line.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) value: String,
    /// 0-based index of the line in the file.
    line: usize,
}

/// One `[name]` section and its entries.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    pub(crate) name: String,
    pub(crate) entries: Vec<Entry>,
    /// 0-based index one past its last entry (before trailing blank/comment lines).
    end: usize,
}

/// A parsed file: its lines (BOM removed) and sections.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    lines: Vec<String>,
    pub(crate) sections: Vec<Section>,
}

/// A value as the file means it: trimmed, one pair of matching quotes removed.
pub(crate) fn decode_value(raw: &str) -> &str {
    let trimmed = raw.trim();
    for quote in ['"', '\''] {
        if trimmed.len() >= 2 && trimmed.starts_with(quote) && trimmed.ends_with(quote) {
            return &trimmed[1..trimmed.len() - 1];
        }
    }
    trimmed
}

/// How to write `value` so [`decode_value`] gives it back exactly; `None` when no line
/// can hold it (a line break).
pub(crate) fn encode_value(value: &str) -> Option<String> {
    if value.contains(['\n', '\r']) {
        return None;
    }
    Some(if decode_value(value) == value {
        value.to_owned()
    } else {
        format!("\"{value}\"")
    })
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t.starts_with(';')
}

impl Document {
    /// Parses `text`; the error says which line is wrong and why.
    pub(crate) fn parse(text: &str) -> Result<Document, String> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut sections: Vec<Section> = Vec::new();
        let mut seen_sections: HashMap<String, usize> = HashMap::new();
        for (index, line) in lines.iter().enumerate() {
            let number = index + 1;
            if is_comment_or_blank(line) {
                continue;
            }
            let t = line.trim();
            if let Some(rest) = t.strip_prefix('[') {
                let name = rest
                    .strip_suffix(']')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| {
                        format!(
                            "line {number}: expected a section header such as [default], got {t:?}"
                        )
                    })?;
                if let Some(first) = seen_sections.insert(name.to_owned(), number) {
                    return Err(format!(
                        "line {number}: section [{name}] appears twice (first on line {first})"
                    ));
                }
                sections.push(Section {
                    name: name.to_owned(),
                    entries: Vec::new(),
                    end: index + 1,
                });
                continue;
            }
            let Some(split) = t.find(['=', ':']) else {
                return Err(format!(
                    "line {number}: expected `key = value`, a [section] or a # comment"
                ));
            };
            let key = t[..split].trim();
            if key.is_empty() {
                return Err(format!("line {number}: a value without a key"));
            }
            let Some(section) = sections.last_mut() else {
                return Err(format!(
                    "line {number}: `{key}` is outside any section; put it under a header such as [default]"
                ));
            };
            if let Some(first) = section
                .entries
                .iter()
                .find(|e| e.key.eq_ignore_ascii_case(key))
            {
                return Err(format!(
                    "line {number}: `{key}` is set twice in [{}] (first on line {})",
                    section.name,
                    first.line + 1
                ));
            }
            section.entries.push(Entry {
                key: key.to_owned(),
                value: decode_value(&t[split + 1..]).to_owned(),
                line: index,
            });
            section.end = index + 1;
        }
        Ok(Document { lines, sections })
    }

    pub(crate) fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The text with `pairs` set in section `profile` (added at the end when missing).
    /// Keys in `replaces` (case-insensitive) are removed from that section first, so an
    /// older spelling of the same value cannot shadow or contradict the new one. Every
    /// other line is kept as it was.
    pub(crate) fn with_profile(
        &self,
        profile: &str,
        pairs: &[(&str, String)],
        replaces: &[&str],
    ) -> String {
        let mut out: Vec<String> = Vec::with_capacity(self.lines.len() + pairs.len() + 2);
        let new_lines = pairs.iter().map(|(k, v)| format!("{k} = {v}"));
        match self.section(profile) {
            Some(section) => {
                let dropped: Vec<usize> = section
                    .entries
                    .iter()
                    .filter(|e| replaces.iter().any(|r| r.eq_ignore_ascii_case(&e.key)))
                    .map(|e| e.line)
                    .collect();
                for (i, line) in self.lines.iter().enumerate() {
                    if i == section.end {
                        out.extend(new_lines.clone());
                    }
                    if !dropped.contains(&i) {
                        out.push(line.clone());
                    }
                }
                if section.end >= self.lines.len() {
                    out.extend(new_lines);
                }
            }
            None => {
                out.extend(self.lines.iter().cloned());
                if out.last().is_some_and(|l| !l.trim().is_empty()) {
                    out.push(String::new());
                }
                out.push(format!("[{profile}]"));
                out.extend(new_lines);
            }
        }
        let mut text = out.join("\n");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_literal_after_trimming_and_one_pair_of_quotes() {
        for (raw, want) in [
            ("  a\\b  ", "a\\b"),
            ("\"a b\"", "a b"),
            ("'x'", "x"),
            ("\"x'", "\"x'"),
            ("\"", "\""),
            ("a#b;c=d:e", "a#b;c=d:e"),
            ("\"\"q\"\"", "\"q\""),
        ] {
            assert_eq!(decode_value(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn encoding_round_trips_any_single_line_value() {
        for value in [
            "plain",
            " lead",
            "trail ",
            "\"quoted\"",
            "'q'",
            "a\\n",
            "",
            "#x",
        ] {
            let written = encode_value(value).unwrap();
            assert_eq!(decode_value(&written), value, "{value:?} as {written:?}");
        }
        assert_eq!(encode_value("two\nlines"), None);
    }

    #[test]
    fn errors_name_the_line() {
        for (text, want) in [
            (
                "client_id = a\n",
                "line 1: `client_id` is outside any section",
            ),
            (
                "[a]\nx=1\n[a]\n",
                "line 3: section [a] appears twice (first on line 1)",
            ),
            (
                "[a]\nX=1\nx = 2\n",
                "line 3: `x` is set twice in [a] (first on line 2)",
            ),
            ("[a]\njust words\n", "line 2: expected `key = value`"),
            ("[a\n", "line 1: expected a section header"),
        ] {
            let err = Document::parse(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn with_profile_replaces_in_place_and_keeps_everything_else() {
        let doc = Document::parse(
            "# mine\n[default]\nclient_id = old\napi_key = old-secret\n\n[work]\nclient_id = w\n",
        )
        .unwrap();
        let text = doc.with_profile(
            "default",
            &[("client_id", "new".into()), ("client_secret", "s".into())],
            &["client_id", "client_secret", "api_key"],
        );
        assert_eq!(
            text,
            "# mine\n[default]\nclient_id = new\nclient_secret = s\n\n[work]\nclient_id = w\n"
        );
        let text = doc.with_profile("other", &[("client_id", "o".into())], &[]);
        assert!(
            text.ends_with("client_id = w\n\n[other]\nclient_id = o\n"),
            "{text}"
        );
        let text = Document::parse("")
            .unwrap()
            .with_profile("p", &[("k", "v".into())], &[]);
        assert_eq!(text, "[p]\nk = v\n");
    }
}
