//! The client secret never reaches the state, the plan file or a `TF_LOG=trace` log.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;

const SENTINEL: &str = "SENTINEL-c1f0e7-never-log-me";

#[test]
fn secret_sentinel_appears_nowhere() {
    let emu = emulator_with(|b| b.client_credentials("sentinel-client", SENTINEL));
    let mut ws = Workspace::new(&terraform(), &emu);
    ws.env.retain(|(k, _)| !k.starts_with("DATACRUNCH_CLIENT"));
    let creds = ws.dir.path().join("credentials");
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
    let log = ws.dir.path().join("trace.log");
    ws.env
        .push(("TF_LOG_PATH".into(), log.display().to_string()));
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
    let state = std::fs::read_to_string(ws.work().join("terraform.tfstate")).unwrap();
    assert!(!state.contains(SENTINEL), "secret in the state");
    let backup =
        std::fs::read_to_string(ws.work().join("terraform.tfstate.backup")).unwrap_or_default();
    assert!(!backup.contains(SENTINEL), "secret in the state backup");
    // The plan file is a zip: look at the raw bytes and every member.
    let plan = std::fs::read(ws.work().join("tfplan")).unwrap();
    assert!(!plan
        .windows(SENTINEL.len())
        .any(|w| w == SENTINEL.as_bytes()));
    // python3 (which `make deps` needs anyway) reads the zip; no unzip on CI machines.
    let unzipped = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nz = zipfile.ZipFile('tfplan')\nfor n in z.namelist(): sys.stdout.buffer.write(z.read(n))",
        ])
        .current_dir(ws.work())
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
