//! The DataCrunch provider under test: real Terraform against the in-process emulator.
//!
//! [`EmulatedWorkspace`] is a [`Workspace`] whose mirror holds the provider built from
//! this workspace (under its registry address, at the version it reports), whose
//! environment points the provider at one emulator, and whose `HOME` is a temp dir, so
//! nothing is read from or written to the real home. The platform directory of the
//! mirror is the host's ([`crate::workspace::platform`]) and the version is the
//! provider's own (`--version`, i.e. its `CARGO_PKG_VERSION`): nothing is hard-coded.

use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use datacrunch_emulator::{Emulator, EmulatorBuilder, RunningEmulator};

use crate::cargo_bin::{workspace_bin, workspace_bin_with_features};
use crate::process::Output;
use crate::terraform::{pinned, terraform_binaries};

pub use crate::terraform::Terraform;
use crate::workspace::{MirroredProvider, Workspace};

/// The provider's registry address.
pub const PROVIDER_SOURCE: &str = "registry.terraform.io/linux-kdevops/datacrunch";

/// A valid ed25519 public key line.
pub const PUBKEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl e2e@test";

/// The provider binary of this workspace (debug build, built if needed) and the
/// version it reports.
pub fn provider() -> &'static MirroredProvider {
    static PROVIDER: OnceLock<MirroredProvider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        provider_binary(workspace_bin(
            "terraform-provider-datacrunch",
            "terraform-provider-datacrunch",
        ))
    })
}

/// The official Verda provider's registry address.
pub const VERDA_SOURCE: &str = "registry.terraform.io/verda-cloud/verda";

/// The stand-in of the official Verda provider (this crate's `terraform-provider-verda`,
/// which only holds state), to mirror under [`VERDA_SOURCE`].
pub fn verda_standin() -> &'static MirroredProvider {
    static STANDIN: OnceLock<MirroredProvider> = OnceLock::new();
    STANDIN.get_or_init(|| {
        let binary = workspace_bin_with_features(
            "test-support",
            "terraform-provider-verda",
            &["datacrunch"],
        );
        // Any version does: configurations moving from it do not constrain it.
        MirroredProvider::new(VERDA_SOURCE, "1.0.0", binary)
    })
}

/// A given provider binary (a benchmark's release build) with the version it reports.
pub fn provider_binary(binary: PathBuf) -> MirroredProvider {
    let out = Command::new(&binary)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} --version: {e}", binary.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    // "terraform-provider-datacrunch 0.1.0 (protocol 6, ...)"
    let version = text
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected --version output: {text:?}"))
        .to_owned();
    MirroredProvider::new(PROVIDER_SOURCE, &version, binary)
}

/// Every Terraform to test with: the pinned one, then any other version on PATH.
pub fn terraforms() -> Vec<Terraform> {
    terraform_binaries()
}

/// The pinned Terraform.
pub fn terraform() -> Terraform {
    pinned()
}

/// An emulator with default settings on a loopback port.
pub fn emulator() -> RunningEmulator {
    emulator_with(|b| b)
}

/// An emulator configured by `f`, on a loopback port.
pub fn emulator_with(f: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder) -> RunningEmulator {
    f(Emulator::builder())
        .build()
        .expect("emulator configuration")
        .start_on_loopback_thread()
        .expect("start the emulator")
}

/// One Terraform working directory wired to one emulator.
pub struct EmulatedWorkspace {
    ws: Workspace,
    version: String,
}

impl Deref for EmulatedWorkspace {
    type Target = Workspace;
    fn deref(&self) -> &Workspace {
        &self.ws
    }
}

impl DerefMut for EmulatedWorkspace {
    fn deref_mut(&mut self) -> &mut Workspace {
        &mut self.ws
    }
}

impl EmulatedWorkspace {
    /// A workspace with this workspace's provider ([`provider`]).
    pub fn new(terraform: &Terraform, emu: &RunningEmulator) -> Self {
        Self::with_provider(terraform, emu, provider())
    }

    /// A workspace with the given provider build.
    pub fn with_provider(
        terraform: &Terraform,
        emu: &RunningEmulator,
        provider: &MirroredProvider,
    ) -> Self {
        Self::with_other_providers(terraform, emu, provider, &[])
    }

    /// A workspace with the given provider build and `others` in the mirror too (e.g.
    /// [`verda_standin`]).
    pub fn with_other_providers(
        terraform: &Terraform,
        emu: &RunningEmulator,
        provider: &MirroredProvider,
        others: &[MirroredProvider],
    ) -> Self {
        let mut mirrored = vec![provider.clone()];
        mirrored.extend_from_slice(others);
        let mut ws = Workspace::new(terraform, &mirrored);
        let home = ws.root().join("home");
        std::fs::create_dir_all(&home).expect("create HOME");
        for (key, value) in [
            ("HOME", home.display().to_string()),
            ("TF_LOG", String::new()),
            ("DATACRUNCH_SERVER_URL", emu.base_url.clone()),
            ("DATACRUNCH_CLIENT_ID", emu.client_id.clone()),
            ("DATACRUNCH_CLIENT_SECRET", emu.client_secret.clone()),
        ] {
            ws.set_env(key, &value);
        }
        Self {
            ws,
            version: provider.version.clone(),
        }
    }

    /// The temp `HOME` every command runs with.
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// Removes every environment variable whose name `drop` accepts.
    pub fn remove_env(&mut self, drop: impl Fn(&str) -> bool) {
        let keep: Vec<(String, String)> = self
            .env()
            .iter()
            .filter(|(k, _)| !drop(k))
            .cloned()
            .collect();
        self.ws.replace_env(keep);
    }

    /// Writes `main.tf`: the provider requirement (this version) plus `body`.
    pub fn write(&self, body: &str) {
        let text = format!(
            "terraform {{\n  required_providers {{\n    datacrunch = {{\n      source = \"linux-kdevops/datacrunch\"\n      version = \"{}\"\n    }}\n  }}\n}}\n\n{body}\n",
            self.version
        );
        self.write_file("main.tf", &text);
    }

    /// Writes `name` in the working directory as is.
    pub fn write_file(&self, name: &str, text: &str) {
        self.ws.write(name, text);
    }

    /// `terraform ARGS`; panics with the output unless it exits 0. Returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        out.assert_success();
        out.stdout
    }

    /// `terraform ARGS`; panics unless it fails. Returns stdout and stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        out.assert_failure();
        out.combined()
    }

    pub fn init(&self) -> Output {
        self.ws.init()
    }

    pub fn apply(&self) -> String {
        self.ok(&["apply", "-auto-approve", "-input=false", "-no-color"])
    }

    pub fn destroy(&self) -> String {
        self.ok(&["destroy", "-auto-approve", "-input=false", "-no-color"])
    }

    /// `plan -detailed-exitcode`: 0 no changes, 2 changes; panics on anything else.
    pub fn plan_exit_code(&self) -> (i32, String) {
        let out = self.run(&["plan", "-detailed-exitcode", "-input=false", "-no-color"]);
        let code = out.code.unwrap_or(-1);
        assert!(
            code == 0 || code == 2,
            "plan failed ({code}):\n{}",
            out.combined()
        );
        (code, out.combined())
    }

    pub fn assert_no_changes(&self) {
        let (code, text) = self.plan_exit_code();
        assert_eq!(code, 0, "expected no changes:\n{text}");
    }

    /// `terraform show -json`: the root module's resources.
    pub fn resources(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&["show", "-json"]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("show -json is JSON");
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
pub fn api(emu: &RunningEmulator) -> datacrunch_client::Client {
    datacrunch_client::Client::builder()
        .base_url(&emu.base_url)
        .client_credentials(&emu.client_id, &emu.client_secret)
        .build()
        .expect("a client of the emulator")
}

/// Runs `f` to completion on a fresh single-threaded runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}
