//! A saved plan made stale under bringup: another checkout of the team writes the state
//! between this run's plan and its apply (with team state, typically while this run
//! waited for the lock). Terraform then refuses the plan and applies nothing; bringup
//! plans again, checks that plan again and applies it, in instance mode and in cluster
//! mode alike, ending with exactly what is configured.
//!
//! The other checkout is a Terraform wrapper that, before the first apply of a saved
//! plan, pushes the state back with its serial raised: the same content, a newer state.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use serde_json::Value;

use crate::common::{terraform_bin, Project};

/// A `terraform` that makes the first saved plan it is asked to apply stale.
fn staling_terraform(p: &Project) -> PathBuf {
    let wrapper = p.dir().join("terraform-staling");
    let marker = p.dir().join("staled-once");
    let state = p.dir().join("pushed.tfstate");
    let real = terraform_bin();
    let script = format!(
        r#"#!/bin/sh
if [ ! -e '{marker}' ] && [ "$2" = apply ] && [ "$3" = -input=false ]; then
  touch '{marker}'
  '{real}' "$1" state pull > '{state}' || exit 1
  python3 -c 'import json, sys; p = sys.argv[1]; s = json.load(open(p)); s["serial"] += 1; json.dump(s, open(p, "w"))' '{state}' || exit 1
  '{real}' "$1" state push '{state}' || exit 1
fi
exec '{real}' "$@"
"#,
        marker = marker.display(),
        state = state.display(),
        real = real.display(),
    );
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    wrapper
}

/// `bringup ARGS` through the wrapper; there must be a state already (the wrapper
/// raises its serial).
fn bringup_with_a_stale_plan(p: &Project, args: &[&str]) -> String {
    let wrapper = staling_terraform(p);
    let out = p
        .command(&[&["bringup"], args].concat())
        .env("KDEVOPS_TERRAFORM", &wrapper)
        .output()
        .unwrap();
    let text = crate::common::text(&out);
    assert!(out.status.success(), "bringup failed:\n{text}");
    assert!(
        p.dir().join("staled-once").exists(),
        "the wrapper never saw an apply"
    );
    assert!(
        text.contains(
            "the team state changed since the plan (another checkout applied): planning again"
        ),
        "{text}"
    );
    text
}

fn running(p: &Project, path: &str) -> Vec<Value> {
    let (status, body) = p.api("GET", path, None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Vec<Value>>(&body)
        .unwrap()
        .into_iter()
        .filter(|i| i["status"] == "running")
        .collect()
}

#[test]
fn instance_mode_plans_again_when_its_saved_plan_went_stale() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=1");
    p.ok(&["bringup"]);
    // One node more: a plan that creates, made stale before its apply.
    p.set("KDEVOPS_NODE_COUNT=2");
    bringup_with_a_stale_plan(&p, &[]);
    assert_eq!(running(&p, "/instances").len(), 2);
    let (code, plan) = p.terraform_plan_exit_code();
    assert_eq!(code, 0, "{plan}");
    p.ok(&["destroy"]);
}

#[test]
fn cluster_mode_plans_again_when_its_saved_plan_went_stale() {
    let p = Project::new();
    p.defconfig("emulator-cluster");
    p.ok(&["bringup"]);
    let first = running(&p, "/clusters");
    // A confirmed rebuild: a plan that replaces, made stale before its apply, is made
    // again with the replacement still forced.
    bringup_with_a_stale_plan(&p, &["--replace", "gpu"]);
    let now = running(&p, "/clusters");
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now[0]["id"], first[0]["id"], "rebuilt once");
    let (code, plan) = p.terraform_plan_exit_code();
    assert_eq!(code, 0, "{plan}");
    p.ok(&["destroy"]);
}
