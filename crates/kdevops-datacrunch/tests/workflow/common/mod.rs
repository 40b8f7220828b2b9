//! Shared by the end-to-end tests: a throw-away kdevops tree and HOME, the real workflow
//! binary, the real provider and emulator (built by `workspace_bin`), real Terraform
//! 1.15.5 from the workspace's `.venv`, and the emulator's admin API.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use test_support::cargo_bin::{workspace_bin, workspace_root};

/// One project: its own topdir (a copy of the Kconfig tree, defconfigs and the module)
/// and its own HOME, so ssh config and keys land in a temp dir.
pub struct Project {
    pub top: tempfile::TempDir,
    pub home: tempfile::TempDir,
    /// Another project's HOME used instead of `home` (two trees of one user).
    shared_home: Option<PathBuf>,
}

pub fn workflow_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kdevops-datacrunch"))
}

pub fn terraform_bin() -> PathBuf {
    workspace_root().join(".venv/bin/terraform")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

impl Project {
    /// A fresh tree; the provider and emulator binaries are built next to the workflow
    /// binary (same target directory), where the workflow looks for them.
    pub fn new() -> Self {
        workspace_bin(
            "terraform-provider-datacrunch",
            "terraform-provider-datacrunch",
        );
        workspace_bin("datacrunch-emulator", "datacrunch-emulator");
        let root = workspace_root();
        let top = tempfile::Builder::new()
            .prefix("kdevops-top")
            .tempdir()
            .unwrap();
        let home = tempfile::Builder::new()
            .prefix("kdevops-home")
            .tempdir()
            .unwrap();
        std::fs::copy(root.join("Kconfig"), top.path().join("Kconfig")).unwrap();
        copy_tree(&root.join("kconfigs"), &top.path().join("kconfigs"));
        copy_tree(&root.join("defconfigs"), &top.path().join("defconfigs"));
        let module = top.path().join("terraform/datacrunch");
        std::fs::create_dir_all(&module).unwrap();
        for name in [
            "provider.tf",
            "main.tf",
            "variables.tf",
            "outputs.tf",
            "cluster.tf",
            "kdevops.tfquery.hcl",
        ] {
            std::fs::copy(
                root.join("terraform/datacrunch").join(name),
                module.join(name),
            )
            .unwrap();
        }
        // The power actions, copied into the module only for their invocation.
        copy_tree(
            &root.join("terraform/datacrunch/actions"),
            &module.join("actions"),
        );
        Project {
            top,
            home,
            shared_home: None,
        }
    }

    pub fn dir(&self) -> &Path {
        self.top.path()
    }

    /// The HOME its commands run with.
    pub fn home_dir(&self) -> &Path {
        self.shared_home.as_deref().unwrap_or(self.home.path())
    }

    /// A second tree of the same user: commands run with `other`'s HOME.
    pub fn sharing_home_with(mut self, other: &Project) -> Self {
        self.shared_home = Some(other.home_dir().to_owned());
        self
    }

    /// `mv` of the whole tree to a new path (the old one is gone afterwards).
    pub fn relocate(&mut self) {
        let new = tempfile::Builder::new()
            .prefix("kdevops-moved")
            .tempdir()
            .unwrap();
        std::fs::remove_dir(new.path()).unwrap();
        std::fs::rename(self.top.path(), new.path()).unwrap();
        // The old TempDir's path no longer exists: dropping it removes nothing.
        self.top = new;
    }

    /// Runs Terraform in the project's module as the workflow does (its CLI config).
    pub fn terraform(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(terraform_bin());
        cmd.arg(format!(
            "-chdir={}",
            self.dir().join("terraform/datacrunch").display()
        ))
        .args(args)
        .env("HOME", self.home_dir())
        .env(
            "TF_CLI_CONFIG_FILE",
            self.dir().join(".local/terraform/terraform.tfrc"),
        )
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(std::process::Stdio::null());
        cmd.output().expect("run terraform")
    }

    /// Kills this project's emulator and waits until it is gone.
    pub fn stop_emulator(&self) {
        let pid = self.emulator_pid().expect("emulator pid");
        let _ = Command::new("kill").arg(pid.to_string()).status();
        for _ in 0..100 {
            if !alive(pid) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("emulator {pid} did not stop");
    }

    /// `make defconfig-NAME` with this tree as TOPDIR.
    pub fn defconfig(&self, name: &str) {
        let out = self.make(&[&format!("defconfig-{name}")]);
        assert!(out.status.success(), "defconfig failed: {}", text(&out));
    }

    /// `make ARGS` from the workspace, pointed at this tree and the workspace's venv.
    pub fn make(&self, args: &[&str]) -> Output {
        self.make_command(args).output().expect("run make")
    }

    /// [`Self::make`], prepared (for more environment), and running the workflow
    /// binaries this test run built: make's build step is skipped (`CARGO=true`), so
    /// it neither rebuilds them under the other tests nor takes minutes.
    pub fn make_command(&self, args: &[&str]) -> Command {
        let root = workspace_root();
        let target = workflow_bin()
            .parent()
            .and_then(Path::parent)
            .expect("the workflow binary sits in <target>/debug")
            .to_owned();
        let mut cmd = Command::new("make");
        cmd.arg("-s")
            .arg("-C")
            .arg(&root)
            .args(args)
            .arg(format!("TOPDIR={}", self.dir().display()))
            .arg(format!("VENV={}", root.join(".venv").display()))
            .arg(format!("CARGO_TARGET_DIR={}", target.display()))
            .arg("CARGO=true")
            .env("HOME", self.home_dir())
            .stdin(std::process::Stdio::null());
        cmd
    }

    /// Appends `CONFIG_<line>` to .config (later lines win).
    pub fn set(&self, line: &str) {
        let path = self.dir().join(".config");
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&format!("CONFIG_{line}\n"));
        std::fs::write(path, text).unwrap();
    }

    /// A workflow command, prepared (for spawning) with this project's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(workflow_bin());
        cmd.arg("--topdir")
            .arg(self.dir())
            .args(args)
            .current_dir(self.dir())
            .env("HOME", self.home_dir())
            .env("KDEVOPS_TERRAFORM", terraform_bin())
            .env_remove("TF_CLI_CONFIG_FILE");
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run kdevops-datacrunch")
    }

    /// Runs and asserts success; returns stdout+stderr.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?} failed:\n{}", text(&out));
        text(&out)
    }

    /// Runs and asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "{args:?} should fail:\n{}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// The project id from `.local/project-id` (made by the first command that needs it).
    pub fn project_id(&self) -> String {
        let text = std::fs::read_to_string(self.dir().join(".local/project-id"))
            .expect(".local/project-id");
        text.lines()
            .find_map(|l| l.strip_prefix("id = "))
            .expect("an id line")
            .trim()
            .to_owned()
    }

    /// The suffix of the per-project names: the id's first 8 hex digits.
    pub fn short_id(&self) -> String {
        self.project_id()
            .chars()
            .filter(|c| *c != '-')
            .take(8)
            .collect()
    }

    pub fn emulator_base(&self) -> String {
        let url = std::fs::read_to_string(self.dir().join(".local/emulator/url"))
            .expect("emulator url file");
        url.trim().trim_end_matches("/v1").to_owned()
    }

    pub fn emulator_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir().join(".local/emulator/pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
    }

    /// `PUT /admin/PATH` with a JSON body on the running emulator.
    pub fn admin_put(&self, path: &str, body: &str) {
        let (status, reply) = http(
            &self.emulator_base(),
            "PUT",
            &format!("/admin/{path}"),
            Some(body),
        );
        assert!(status < 300, "PUT /admin/{path} {body}: {status} {reply}");
    }

    /// Moves the running emulator's clock forward by `seconds`.
    pub fn advance_clock(&self, seconds: u64) {
        let body = format!(r#"{{"seconds": {seconds}}}"#);
        let (status, reply) = http(
            &self.emulator_base(),
            "POST",
            "/admin/clock/advance",
            Some(&body),
        );
        assert!(
            status < 300,
            "POST /admin/clock/advance {body}: {status} {reply}"
        );
    }

    /// `terraform plan -detailed-exitcode` in the project's module, run as the workflow
    /// runs Terraform (its CLI config and tfvars): 0 no changes, 2 changes. Panics on an
    /// error (1).
    pub fn terraform_plan_exit_code(&self) -> (i32, String) {
        let mut cmd = Command::new(terraform_bin());
        cmd.arg(format!(
            "-chdir={}",
            self.dir().join("terraform/datacrunch").display()
        ))
        .args(["plan", "-detailed-exitcode", "-input=false", "-no-color"])
        .env("HOME", self.home_dir())
        .env(
            "TF_CLI_CONFIG_FILE",
            self.dir().join(".local/terraform/terraform.tfrc"),
        )
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(std::process::Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DATACRUNCH_") {
                cmd.env_remove(&key);
            }
        }
        let out = cmd.output().expect("run terraform plan");
        let code = out.status.code().unwrap_or(-1);
        assert!(
            code == 0 || code == 2,
            "plan failed ({code}):\n{}",
            text(&out)
        );
        (code, text(&out))
    }

    /// `reap --json ARGS` from another tree with no .config, pointed at this project's
    /// emulator by flags (as cron would run it); asserts success.
    pub fn reap_from_elsewhere(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let (out, report) = self.reap_from_elsewhere_outcome(args);
        assert!(out.status.success(), "{}", text(&out));
        report
    }

    /// [`Project::reap_from_elsewhere`] that may fail: its output and its JSON report.
    pub fn reap_from_elsewhere_outcome(&self, args: &[&str]) -> (Output, Vec<serde_json::Value>) {
        let elsewhere = Project::new();
        let url = format!("{}/v1", self.emulator_base());
        let creds = self.dir().join(".local/emulator/credentials");
        let mut cmd =
            elsewhere.command(&["reap", "--json", "--url", &url, "--profile", "emulator"]);
        cmd.arg("--credentials-file").arg(creds).args(args);
        let out = cmd.output().unwrap();
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("reap --json: {e}: {}", text(&out)));
        (out, report)
    }

    /// The emulator's live (not deleted) instances, from `status --json`.
    pub fn status(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&["status", "--json"]);
        let json = out.find('[').map(|i| &out[i..]).unwrap_or("[]");
        serde_json::from_str(json).unwrap_or_else(|e| panic!("status --json: {e}: {out}"))
    }
}

impl Drop for Project {
    /// A failed test must not leave an emulator running.
    fn drop(&mut self) {
        if let Some(pid) = self.emulator_pid() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether a process is alive (and not a zombie).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// A minimal HTTP/1.1 request to the loopback emulator (admin API: no token).
pub fn http(base: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    http_with(base, method, path, body, None)
}

impl Project {
    /// The client id and secret of this project's emulator.
    pub fn emulator_credentials(&self) -> (String, String) {
        let creds =
            std::fs::read_to_string(self.dir().join(".local/emulator/credentials")).unwrap();
        let field = |key: &str| {
            creds
                .lines()
                .find_map(|l| {
                    l.split_once('=')
                        .filter(|(k, _)| k.trim() == key)
                        .map(|(_, v)| v.trim().to_owned())
                })
                .unwrap()
        };
        (field("client_id"), field("client_secret"))
    }

    /// An API call to the running emulator with this project's emulator credentials.
    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let (client_id, client_secret) = self.emulator_credentials();
        let base = self.emulator_base();
        let login = format!(
            r#"{{"grant_type":"client_credentials","client_id":"{client_id}","client_secret":"{client_secret}"}}"#
        );
        let (status, token) = http(&base, "POST", "/v1/oauth2/token", Some(&login));
        assert_eq!(status, 200, "{token}");
        let token: serde_json::Value = serde_json::from_str(&token).unwrap();
        http_with(
            &base,
            method,
            &format!("/v1{path}"),
            body,
            token["access_token"].as_str(),
        )
    }
}

/// [`http`] with an optional bearer token.
pub fn http_with(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    bearer: Option<&str>,
) -> (u16, String) {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("connect to emulator");
    let body = body.unwrap_or("");
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
