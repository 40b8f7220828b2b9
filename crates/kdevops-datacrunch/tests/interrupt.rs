//! A bringup killed half way (workflow, Terraform and provider all killed while
//! instances are being created), then bringup again: the same nodes, no duplicates; and
//! destroy cleans everything.

mod common;

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use common::{http, Project};
use serde_json::Value;

/// Live instances as the emulator's admin API lists them (deleted ones excluded).
fn live_instances(p: &Project) -> Vec<Value> {
    let (status, body) = http(&p.emulator_base(), "GET", "/admin/instances", None);
    assert_eq!(status, 200, "{body}");
    let all: Vec<Value> = serde_json::from_str(&body).unwrap_or_default();
    all.into_iter()
        .filter(|i| i["deleted_at"].is_null() && i["status"] != "discontinued")
        .collect()
}

#[test]
fn killed_bringup_then_bringup_again_has_no_duplicates() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    let mut child = p
        .command(&["bringup"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    // Wait until the API has accepted at least one deploy, then kill the whole group.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "no instance was ever created");
        let started =
            p.dir().join(".local/emulator/url").exists() && !live_instances(&p).is_empty();
        if started {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("bringup ended before it could be interrupted: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let pgid = child.id() as i32;
    let killed = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = child.wait();

    let out = p.ok(&["bringup"]);
    let live = live_instances(&p);
    let mut names: Vec<&str> = live
        .iter()
        .map(|i| i["hostname"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["kdevops-0", "kdevops-1", "kdevops-2"],
        "duplicates or missing nodes after:\n{out}"
    );
    let status = p.status();
    assert_eq!(status.len(), 3);
    assert!(
        status.iter().all(|n| n["status"] == "running"),
        "{status:?}"
    );

    let gone = p.ok(&["destroy"]);
    assert!(
        gone.contains("verified: no instance of this project remains"),
        "{gone}"
    );
}

#[test]
fn lost_state_is_adopted_without_replacing_anything() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=2");
    p.ok(&["bringup"]);
    let ids = |nodes: Vec<Value>| {
        nodes
            .iter()
            .map(|n| {
                (
                    n["name"].as_str().unwrap().to_owned(),
                    n["id"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    let before = ids(p.status());
    for name in ["terraform.tfstate", "terraform.tfstate.backup"] {
        let _ = std::fs::remove_file(p.dir().join("terraform/datacrunch").join(name));
    }
    let out = p.ok(&["bringup"]);
    assert!(out.contains("adopting SSH key"), "{out}");
    assert!(
        out.contains("adopting kdevops-0") && out.contains("adopting kdevops-1"),
        "{out}"
    );
    assert!(
        !out.contains("will replace") && !out.contains("create done"),
        "{out}"
    );
    assert_eq!(ids(p.status()), before);
    p.ok(&["destroy"]);
}

#[test]
fn a_node_deleted_behind_terraforms_back_is_reported_and_recreated() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=2");
    p.ok(&["bringup"]);
    assert!(!p.ok(&["status"]).contains("note:"));
    let victim = p
        .status()
        .into_iter()
        .find(|n| n["name"] == "kdevops-1")
        .unwrap();
    let id = victim["id"].as_str().unwrap();
    let body = format!(r#"{{"action":"delete","id":["{id}"]}}"#);
    let (status, reply) = p.api("PUT", "/instances", Some(&body));
    assert!(status < 300, "{status} {reply}");
    // Wait (bounded) until the API no longer lists it as live.
    let deadline = Instant::now() + Duration::from_secs(60);
    while p.status().iter().any(|n| n["id"] == id) {
        assert!(
            Instant::now() < deadline,
            "instance {id} never left the API"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let report = p.ok(&["status"]);
    assert!(
        report.contains(&format!(
            "note: kdevops-1 ({id}) is in Terraform state but not in the API"
        )),
        "{report}"
    );
    let out = p.ok(&["bringup"]);
    assert!(out.contains("kdevops-1: create done"), "{out}");
    assert!(!out.contains("kdevops-0: create done"), "{out}");
    assert_eq!(p.status().len(), 2);
    p.ok(&["destroy"]);
}
