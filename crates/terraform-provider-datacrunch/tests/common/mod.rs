//! End-to-end harness: a real `terraform` against the in-process emulator, with this
//! provider installed in a temporary filesystem mirror under its registry address and a
//! temporary CLI config, so `terraform init` works offline and never touches `$HOME`.

#![allow(dead_code)]

use datacrunch_emulator::{Emulator, EmulatorBuilder, RunningEmulator};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PROVIDER_VERSION: &str = "0.1.0";
/// A valid ed25519 public key line.
pub const PUBKEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e@test";

/// Every Terraform to test with: the pinned 1.15.5 from `.venv`, plus a different
/// `terraform` on PATH when there is one (1.11.4 on some machines).
pub fn terraforms() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut found = Vec::new();
    let venv = root.join(".venv/bin/terraform");
    if venv.is_file() {
        found.push(venv);
    }
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(t) = std::env::split_paths(&path)
            .map(|d| d.join("terraform"))
            .find(|p| p.is_file())
        {
            if !t.starts_with(root.join(".venv")) {
                found.push(t);
            }
        }
    }
    assert!(
        !found.is_empty(),
        "no terraform found: run tools/install-terraform (make deps)"
    );
    found
}

/// The first (pinned) Terraform.
pub fn terraform() -> PathBuf {
    terraforms().remove(0)
}

pub fn emulator() -> RunningEmulator {
    emulator_with(|b| b)
}

pub fn emulator_with(f: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder) -> RunningEmulator {
    f(Emulator::builder())
        .build()
        .unwrap()
        .start_on_loopback_thread()
        .unwrap()
}

/// One Terraform working directory wired to one emulator.
pub struct Workspace {
    pub terraform: PathBuf,
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl Workspace {
    pub fn new(terraform: &Path, emu: &RunningEmulator) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let mirror = dir.path().join("mirror");
        let platform = dir.path().join(format!(
            "mirror/registry.terraform.io/linux-kdevops/datacrunch/{PROVIDER_VERSION}/linux_amd64"
        ));
        std::fs::create_dir_all(&platform).unwrap();
        std::fs::copy(
            env!("CARGO_BIN_EXE_terraform-provider-datacrunch"),
            platform.join(format!("terraform-provider-datacrunch_v{PROVIDER_VERSION}")),
        )
        .unwrap();
        let rc = dir.path().join("cli.tfrc");
        std::fs::write(
            &rc,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
                mirror.display()
            ),
        )
        .unwrap();
        let work = dir.path().join("work");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(&home).unwrap();
        let env = vec![
            ("TF_CLI_CONFIG_FILE".into(), rc.display().to_string()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            ("TF_IN_AUTOMATION".into(), "1".into()),
            ("HOME".into(), home.display().to_string()),
            ("DATACRUNCH_SERVER_URL".into(), emu.base_url.clone()),
            ("DATACRUNCH_CLIENT_ID".into(), emu.client_id.clone()),
            ("DATACRUNCH_CLIENT_SECRET".into(), emu.client_secret.clone()),
        ];
        Workspace {
            terraform: terraform.to_path_buf(),
            dir,
            env,
        }
    }

    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// Writes `main.tf` with the provider requirement plus `body`.
    pub fn write(&self, body: &str) {
        let text = format!(
            "terraform {{\n  required_providers {{\n    datacrunch = {{\n      source = \"linux-kdevops/datacrunch\"\n      version = \"{PROVIDER_VERSION}\"\n    }}\n  }}\n}}\n\n{body}\n"
        );
        std::fs::write(self.work().join("main.tf"), text).unwrap();
    }

    /// Writes `name` in the working directory as is.
    pub fn write_file(&self, name: &str, text: &str) {
        std::fs::write(self.work().join(name), text).unwrap();
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.terraform);
        c.current_dir(self.work()).args(args).env("TF_LOG", "");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and panics with the output unless it exits 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "terraform {} failed ({}):\n{}\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs and panics unless it fails; returns stdout + stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.status.success(),
            "terraform {} should have failed:\n{text}",
            args.join(" ")
        );
        text
    }

    pub fn init(&self) {
        self.ok(&["init", "-input=false", "-no-color"]);
    }

    pub fn apply(&self) -> String {
        self.ok(&["apply", "-auto-approve", "-input=false", "-no-color"])
    }

    pub fn destroy(&self) -> String {
        self.ok(&["destroy", "-auto-approve", "-input=false", "-no-color"])
    }

    /// `plan -detailed-exitcode`: 0 no changes, 2 changes; panics on 1.
    pub fn plan_exit_code(&self) -> (i32, String) {
        let out = self.run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let code = out.status.code().unwrap_or(-1);
        assert!(code == 0 || code == 2, "plan failed ({code}):\n{text}");
        (code, text)
    }

    pub fn assert_no_changes(&self) {
        let (code, text) = self.plan_exit_code();
        assert_eq!(code, 0, "expected no changes:\n{text}");
    }

    /// `terraform show -json` → the root module's resources.
    pub fn resources(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&["show", "-json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["values"]["root_module"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The state values of resource `address`.
    pub fn values(&self, address: &str) -> serde_json::Value {
        self.resources()
            .into_iter()
            .find(|r| r["address"] == address)
            .unwrap_or_else(|| panic!("{address} not in state"))["values"]
            .clone()
    }
}

/// `text` with every run of whitespace (Terraform wraps diagnostics) as one space.
pub fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Instances the emulator still lists (not deleted), from its admin view.
pub fn live_instances(emu: &RunningEmulator) -> Vec<serde_json::Value> {
    emu.admin
        .instances()
        .into_iter()
        .filter(|i| i["listed"].as_bool().unwrap_or(true) && i["deleted_at"].is_null())
        .collect()
}

/// A client of the emulator, for changes behind Terraform's back.
pub fn api(emu: &datacrunch_emulator::RunningEmulator) -> datacrunch_client::Client {
    datacrunch_client::Client::builder()
        .base_url(&emu.base_url)
        .client_credentials(&emu.client_id, &emu.client_secret)
        .build()
        .unwrap()
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
