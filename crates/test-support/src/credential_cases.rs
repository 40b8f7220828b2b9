//! One table of tricky credentials files and environments
//! (`data/credential_cases.json`), run through every reader of credentials (the client's
//! credentials module, the provider's adapter, the workflow's adapter), so they are seen
//! to give the same result for the same input.
//!
//! Each case lays out its files in a fresh temp dir (`~/…` under its own HOME, mode
//! 0600), and says what must come out: a client id and secret, or an error containing
//! every listed fragment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TABLE: &str = include_str!("../data/credential_cases.json");

/// One case, laid out on disk.
pub struct Case {
    pub name: String,
    /// The environment to resolve with; `HOME` points at the case's own home.
    pub env: BTreeMap<String, String>,
    /// The file named by an option (provider `credentials_file`, workflow `--file`).
    pub file: Option<String>,
    /// The profile named by an option.
    pub profile: Option<String>,
    expect: serde_json::Value,
    _dir: tempfile::TempDir,
}

fn text(v: &serde_json::Value, what: &str) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("credential_cases.json: {what} must be a string"))
        .to_owned()
}

fn place(dir: &Path, home: &Path, name: &str) -> PathBuf {
    match name.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => dir.join(name),
    }
}

/// Every case of the table, each in its own temp dir.
pub fn load() -> Vec<Case> {
    let table: serde_json::Value =
        serde_json::from_str(TABLE).expect("credential_cases.json is valid JSON");
    let cases = table.as_array().expect("credential_cases.json is an array");
    cases.iter().map(materialize).collect()
}

fn materialize(case: &serde_json::Value) -> Case {
    use std::os::unix::fs::PermissionsExt;
    let name = text(&case["name"], "name");
    let dir = tempfile::tempdir().expect("temp dir");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("create home");
    let files = case["files"].as_object().cloned().unwrap_or_default();
    for (file, contents) in files {
        let path = place(dir.path(), &home, &file);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dirs");
        std::fs::write(&path, text(&contents, "file contents")).expect("write case file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .expect("chmod case file");
    }
    let mut env: BTreeMap<String, String> = case["env"]
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), text(v, k))).collect())
        .unwrap_or_default();
    env.insert("HOME".into(), home.display().to_string());
    // A file named in the environment is relative to the case dir, like one named by option.
    if let Some(named) = env.get_mut("DATACRUNCH_CREDENTIALS_FILE") {
        *named = place(dir.path(), &home, named).display().to_string();
    }
    let file = case["file"]
        .as_str()
        .map(|f| place(dir.path(), &home, f).display().to_string());
    Case {
        name,
        env,
        file,
        profile: case["profile"].as_str().map(str::to_owned),
        expect: case["expect"].clone(),
        _dir: dir,
    }
}

impl Case {
    /// Panics unless `got` (client id and secret, or the error message) is what the
    /// table expects; `reader` names who produced it.
    #[track_caller]
    pub fn check(&self, reader: &str, got: Result<(String, String), String>) {
        let name = &self.name;
        match (&got, self.expect.get("error")) {
            (Err(message), Some(fragments)) => {
                for fragment in fragments.as_array().expect("error: a list") {
                    let fragment = text(fragment, "error fragment");
                    assert!(
                        message.contains(&fragment),
                        "{reader}, case {name:?}: error lacks {fragment:?}:\n{message}"
                    );
                }
            }
            (Ok((id, secret)), None) => {
                let want = (
                    text(&self.expect["client_id"], "client_id"),
                    text(&self.expect["client_secret"], "client_secret"),
                );
                assert_eq!((id, secret), (&want.0, &want.1), "{reader}, case {name:?}");
            }
            _ => panic!(
                "{reader}, case {name:?}: expected {}, got {got:?}",
                self.expect
            ),
        }
    }
}
