//! The client secret never reaches the state, the plan file or a `TF_LOG=trace` log.

use std::os::unix::fs::PermissionsExt;
use test_support::datacrunch::*;

const SENTINEL: &str = "SENTINEL-c1f0e7-never-log-me";

#[test]
fn secret_sentinel_appears_nowhere() {
    let emu = emulator_with(|b| b.client_credentials("sentinel-client", SENTINEL));
    let mut ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.remove_env(|k| k.starts_with("DATACRUNCH_CLIENT"));
    let creds = ws.root().join("credentials");
    std::fs::write(
        &creds,
        format!("[default]\nclient_id = sentinel-client\nclient_secret = {SENTINEL}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    ws.write(&format!(
        r#"
provider "datacrunch" {{
  credentials_file = "{}"
}}

resource "datacrunch_ssh_key" "k" {{
  name       = "sentinel-key"
  public_key = "{PUBKEY}"
}}

resource "datacrunch_instance" "n" {{
  hostname      = "sentinel-1"
  description   = "secret test"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  ssh_key_ids   = [datacrunch_ssh_key.k.id]
}}

data "datacrunch_locations" "all" {{}}
"#,
        creds.display()
    ));
    let log = ws.root().join("trace.log");
    ws.set_env("TF_LOG_PATH", &log.display().to_string());
    ws.init();
    let run = |args: &[&str]| {
        let out = ws.command(args).env("TF_LOG", "trace").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let mut seen = run(&["plan", "-input=false", "-no-color", "-out=tfplan"]);
    seen += &run(&["apply", "-input=false", "-no-color", "tfplan"]);
    seen += &run(&["show", "-json"]);
    seen += &run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);

    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("datacrunch"), "the trace log is empty?");
    assert!(
        !log_text.contains(SENTINEL),
        "secret in the TF_LOG=trace log"
    );
    assert!(!seen.contains(SENTINEL), "secret in Terraform's output");
    let state = std::fs::read_to_string(ws.work_dir().join("terraform.tfstate")).unwrap();
    assert!(!state.contains(SENTINEL), "secret in the state");
    let backup =
        std::fs::read_to_string(ws.work_dir().join("terraform.tfstate.backup")).unwrap_or_default();
    assert!(!backup.contains(SENTINEL), "secret in the state backup");
    // The plan file is a zip: look at the raw bytes and every member.
    let plan = std::fs::read(ws.work_dir().join("tfplan")).unwrap();
    assert!(!plan
        .windows(SENTINEL.len())
        .any(|w| w == SENTINEL.as_bytes()));
    // python3 (which `make deps` needs anyway) reads the zip; no unzip on CI machines.
    let unzipped = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nz = zipfile.ZipFile('tfplan')\nfor n in z.namelist(): sys.stdout.buffer.write(z.read(n))",
        ])
        .current_dir(ws.work_dir())
        .output()
        .unwrap();
    assert!(unzipped.status.success() && !unzipped.stdout.is_empty());
    assert!(
        !unzipped
            .stdout
            .windows(SENTINEL.len())
            .any(|w| w == SENTINEL.as_bytes()),
        "secret in the plan file"
    );
}

/// A secret with backslashes, `=` and `#`: once read with escapes by one tool and
/// literally by another. Taken literally, it must log in from an INI file named by
/// `credentials_file`, and from the original integration's `~/datacrunch-credentials.json`
/// (secret only, the id from DATACRUNCH_CLIENT_ID), found with no provider attribute.
#[test]
fn backslash_secret_and_the_original_json_file_authenticate() {
    const TRICKY: &str = r"bs\secret\\n=#x\";
    let emu = emulator_with(|b| b.client_credentials("bs-client", TRICKY));
    let mut ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.remove_env(|k| k.starts_with("DATACRUNCH_CLIENT"));
    let private = |path: &std::path::Path, text: &str| {
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let ini = ws.root().join("credentials");
    private(
        &ini,
        &format!("[default]\nclient_id = bs-client\nclient_secret = {TRICKY}\n"),
    );
    let read_locations = r#"
data "datacrunch_locations" "all" {}
output "locations" { value = length(data.datacrunch_locations.all.locations) }
"#;
    ws.write(&format!(
        "provider \"datacrunch\" {{\n  credentials_file = \"{}\"\n}}\n{read_locations}",
        ini.display()
    ));
    ws.init();
    ws.apply();

    // Nothing configured: the provider finds ~/datacrunch-credentials.json itself.
    std::fs::remove_file(&ini).unwrap();
    ws.write(&format!("provider \"datacrunch\" {{}}\n{read_locations}"));
    let home = ws.home();
    let json = home.join("datacrunch-credentials.json");
    private(
        &json,
        &serde_json::json!({ "client_secret": TRICKY }).to_string(),
    );
    let refused = ws.fails(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    let flat = refused.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("datacrunch-credentials.json has client_secret but no `client_id`")
            && flat.contains("DATACRUNCH_CLIENT_ID"),
        "{refused}"
    );
    ws.set_env("DATACRUNCH_CLIENT_ID", "bs-client");
    ws.apply();
}

/// Terraform reads `[default]` in a diagnostic as colour markup and drops it; the
/// credentials error must still name the section, with colour and without, on every
/// Terraform tested. What a reader sees is checked: escape sequences and zero-width
/// characters (which print as nothing) are removed first.
#[test]
fn bracketed_profile_names_survive_terraforms_colour_markup() {
    let emu = emulator();
    for tf in terraforms() {
        let mut ws = EmulatedWorkspace::new(&tf, &emu);
        ws.remove_env(|k| k.starts_with("DATACRUNCH_CLIENT"));
        let creds = ws.root().join("credentials");
        std::fs::write(&creds, "[work]\nclient_id = a\nclient_secret = b\n").unwrap();
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
        ws.write(&format!(
            "provider \"datacrunch\" {{\n  credentials_file = \"{}\"\n}}\n\ndata \"datacrunch_locations\" \"all\" {{}}\n",
            creds.display()
        ));
        ws.init();
        for colour in [true, false] {
            let mut args = vec!["plan", "-input=false"];
            if !colour {
                args.push("-no-color");
            }
            let seen = flat(&as_read(&ws.fails(&args)));
            assert!(
                seen.contains("choose one of those (the profile option, or DATACRUNCH_PROFILE) or add a [default] section"),
                "{tf} colour={colour}:\n{seen}"
            );
        }
    }
}

/// `text` as a terminal shows it: without ANSI escape sequences and zero-width
/// characters.
fn as_read(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI: ESC [ parameters final-byte (a letter).
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' => {}
            '│' | '╷' | '╵' => {}
            c => out.push(c),
        }
    }
    out
}
