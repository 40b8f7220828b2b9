//! A bringup when nothing changed: no `terraform init`, no apply, nothing of
//! Terraform's working directory rewritten. And the inputs of `init` that do make it
//! run again: a backend block added to the module, a rebuilt provider in the mirror.
//!
//! Terraform is run through a wrapper that logs every command line, so what ran is
//! seen directly, not inferred from the tool's own messages.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::common::{terraform_bin, text, Project};

/// A `terraform` that appends its arguments to `log`, then runs the real one.
pub(crate) fn logging_terraform(p: &Project, log: &Path) -> PathBuf {
    let wrapper = p.dir().join("terraform-logging");
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
        log.display(),
        terraform_bin().display()
    );
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    wrapper
}

/// Runs bringup through the wrapper; returns its output and the Terraform subcommands
/// it ran (the word after `-chdir=...`), emptying the log.
fn bringup(p: &Project, wrapper: &Path, log: &Path) -> (String, Vec<String>) {
    let out = p
        .command(&["bringup"])
        .env("KDEVOPS_TERRAFORM", wrapper)
        .output()
        .unwrap();
    assert!(out.status.success(), "bringup failed:\n{}", text(&out));
    let commands = std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1).map(str::to_owned))
        .collect();
    let _ = std::fs::remove_file(log);
    (text(&out), commands)
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// The one file under `dir` (the provider's copy in the mirror).
fn only_file_under(dir: &Path) -> PathBuf {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = entries.remove(0);
    if entry.is_dir() {
        only_file_under(&entry)
    } else {
        entry
    }
}

#[test]
fn init_runs_only_when_one_of_its_inputs_changed() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=1");
    let log = p.dir().join("terraform-commands.log");
    let wrapper = logging_terraform(&p, &log);
    let module = p.dir().join("terraform/datacrunch");

    let (out, ran) = bringup(&p, &wrapper, &log);
    assert!(ran.contains(&"init".to_owned()), "{ran:?}");
    assert!(ran.contains(&"apply".to_owned()), "{ran:?}");
    // The first line comes before anything slow (emulator start, API round trip).
    let first = out.lines().find(|l| l.starts_with('[')).unwrap_or_default();
    assert!(
        first.contains("bringup: 1 node(s) as configured in"),
        "{out}"
    );

    // Nothing changed: no init, no apply, Terraform's working directory untouched.
    let dot_terraform = module.join(".terraform");
    let lock = module.join(".terraform.lock.hcl");
    let before = (modified(&dot_terraform), modified(&lock));
    let (out, ran) = bringup(&p, &wrapper, &log);
    assert!(
        out.contains("terraform init: skipped (nothing changed)"),
        "{out}"
    );
    assert!(out.contains("ready (nothing to change)"), "{out}");
    assert!(!ran.contains(&"init".to_owned()), "{ran:?}");
    assert!(!ran.contains(&"apply".to_owned()), "{ran:?}");
    assert!(
        ran.contains(&"plan".to_owned()),
        "drift is still looked for: {ran:?}"
    );
    assert_eq!((modified(&dot_terraform), modified(&lock)), before);
    assert!(!p.dir().join(".local/terraform/bringup.tfplan").exists());

    // A backend block added to the module: Terraform refuses to plan until init ran.
    let provider_tf = module.join("provider.tf");
    let config = std::fs::read_to_string(&provider_tf).unwrap();
    let with_backend = config.replacen("terraform {\n", "terraform {\n  backend \"local\" {}\n", 1);
    assert_ne!(with_backend, config);
    std::fs::write(&provider_tf, with_backend).unwrap();
    let (out, ran) = bringup(&p, &wrapper, &log);
    assert!(ran.contains(&"init".to_owned()), "{ran:?}\n{out}");
    assert!(out.contains("ready (nothing to change)"), "{out}");

    // A rebuilt provider in the mirror: its checksum no longer matches the lock.
    let mirror = p.dir().join(".local/terraform/plugins");
    let installed = only_file_under(&mirror);
    let mut bytes = std::fs::read(&installed).unwrap();
    bytes.extend_from_slice(b"rebuilt");
    std::fs::write(&installed, bytes).unwrap();
    let (out, ran) = bringup(&p, &wrapper, &log);
    assert!(ran.contains(&"init".to_owned()), "{ran:?}\n{out}");
    let (_, ran) = bringup(&p, &wrapper, &log);
    assert!(!ran.contains(&"init".to_owned()), "{ran:?}");

    p.ok(&["destroy"]);
}

/// Cluster mode too: a second bringup with nothing changed plans, finds nothing to do
/// and applies nothing, and still writes the hosts it is reached by.
#[test]
fn a_cluster_bringup_with_nothing_changed_applies_nothing() {
    let p = Project::new();
    p.defconfig("emulator-cluster");
    let log = p.dir().join("terraform-commands.log");
    let wrapper = logging_terraform(&p, &log);

    let (_, ran) = bringup(&p, &wrapper, &log);
    assert!(ran.contains(&"apply".to_owned()), "{ran:?}");
    std::fs::remove_file(p.dir().join("hosts")).unwrap();

    let (out, ran) = bringup(&p, &wrapper, &log);
    assert!(ran.contains(&"plan".to_owned()), "{ran:?}");
    assert!(!ran.contains(&"apply".to_owned()), "{ran:?}\n{out}");
    assert!(out.contains("ready (nothing to change)"), "{out}");
    let hosts = std::fs::read_to_string(p.dir().join("hosts")).unwrap();
    assert!(hosts.contains("gpu-1"), "{hosts}");
    p.ok(&["destroy"]);
}
