//! `make menuconfig` driven in tmux like a person would: jump to an instance type,
//! select it, save, quit; the saved `.config` then drives the next bringup.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::Project;
use test_support::cargo_bin::workspace_root;

struct Tmux {
    session: String,
}

impl Tmux {
    fn keys(&self, keys: &[&str]) {
        let ok = Command::new("tmux")
            .args(["send-keys", "-t", &self.session])
            .args(keys)
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.session])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen shows `text` (bounded, so a broken UI fails the test).
    fn wait_for(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "screen never showed {text:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.session])
            .status();
    }
}

#[test]
fn menuconfig_choice_drives_the_next_bringup() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=1");
    let root = workspace_root();
    let session = format!("kdevops-mc-{}", std::process::id());
    let make = format!(
        "make -s -C {} menuconfig TOPDIR={} VENV={}; echo MENUCONFIG-EXITED; sleep 600",
        root.display(),
        p.dir().display(),
        root.join(".venv").display()
    );
    let started = Command::new("tmux")
        .args(["new-session", "-d", "-s", &session, "-x", "160", "-y", "50"])
        .arg(&make)
        .env("HOME", p.home.path())
        // CI has no terminal; tmux gives the session its own.
        .env("TERM", "xterm-256color")
        .status()
        .unwrap();
    assert!(started.success());
    let tmux = Tmux { session };

    tmux.wait_for("[Q] Quit");
    tmux.keys(&["/"]);
    tmux.wait_for("Jump to symbol");
    tmux.keys(&["-l", "INSTANCE_TYPE_1A100_22V"]);
    tmux.wait_for("TERRAFORM_DATACRUNCH_INSTANCE_TYPE_1A100_22V(=n)");
    tmux.keys(&["Enter"]);
    tmux.wait_for("(Top) → Instance type and pricing → Instance type");
    tmux.keys(&["Space"]);
    tmux.wait_for("Instance type (1A100.22V");
    tmux.keys(&["S"]);
    tmux.wait_for("Filename to save configuration to");
    tmux.keys(&["Enter"]);
    tmux.wait_for("Configuration saved to");
    tmux.keys(&["Enter"]);
    tmux.keys(&["Q"]);
    tmux.wait_for("MENUCONFIG-EXITED");

    let config = std::fs::read_to_string(p.dir().join(".config")).unwrap();
    assert!(
        config.contains("CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE_1A100_22V=y\n"),
        "{config}"
    );
    assert!(
        config.contains("CONFIG_TERRAFORM_DATACRUNCH_INSTANCE_TYPE=\"1A100.22V\"\n"),
        "{config}"
    );

    let out = p.ok(&["bringup"]);
    assert!(out.contains("kdevops-0: create 1A100.22V"), "{out}");
    let nodes = p.status();
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0]["instance_type"], "1A100.22V");
    p.ok(&["destroy"]);
}
