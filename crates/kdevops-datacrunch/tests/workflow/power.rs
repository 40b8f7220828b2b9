//! `power-off` / `power-on`: through the provider's Terraform action when Terraform is
//! 1.14+ (seen in the command lines Terraform ran), through the API with older
//! Terraform (1.11.4 when on PATH), and in both cases: `status` shows the node
//! `offline`, the output says what it still bills, and a plan afterwards changes
//! nothing for the power state.

use std::path::Path;

use crate::common::{text, Project};
use crate::noop::logging_terraform;

/// (node name, `field`) of each node, from `status --json`.
pub(crate) fn per_node(p: &Project, field: &str) -> Vec<(String, String)> {
    p.status()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_owned(),
                n[field].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn statuses(p: &Project) -> Vec<(String, String)> {
    per_node(p, "status")
}

fn two_nodes() -> Project {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=2");
    p
}

#[test]
fn power_off_and_on_invoke_the_terraform_action_per_node() {
    let p = two_nodes();
    p.ok(&["bringup"]);
    let log = p.dir().join("terraform.log");
    let wrapper = logging_terraform(&p, &log);
    let out = p
        .command(&["power-off", "--node", "kdevops-0"])
        .env("KDEVOPS_TERRAFORM", &wrapper)
        .output()
        .unwrap();
    let out_text = text(&out);
    assert!(out.status.success(), "{out_text}");
    let ran = std::fs::read_to_string(&log).unwrap();
    assert!(
        ran.contains("-invoke=action.datacrunch_instance_power.off[\"kdevops-0\"]"),
        "{ran}"
    );
    assert!(!ran.contains("kdevops-1"), "{ran}");
    assert!(
        out_text.contains("kdevops-0 (") && out_text.contains("is offline; it still bills $"),
        "{out_text}"
    );
    // The action file is in the module only while it is invoked.
    assert!(!p
        .dir()
        .join("terraform/datacrunch/power_actions.tf")
        .exists());
    assert_eq!(
        statuses(&p),
        [
            ("kdevops-0".to_owned(), "offline".to_owned()),
            ("kdevops-1".to_owned(), "running".to_owned())
        ]
    );
    let (code, plan) = p.terraform_plan_exit_code();
    assert_eq!(code, 0, "the power state planned a change:\n{plan}");

    p.ok(&["power-on"]);
    assert!(statuses(&p).iter().all(|(_, s)| s == "running"));

    let unknown = p.fails(&["power-off", "--node", "kdevops-9"]);
    assert!(
        unknown.contains("--node kdevops-9: no such node; the nodes are kdevops-0, kdevops-1"),
        "{unknown}"
    );
}

/// Terraform older than 1.14 has no actions: said so, done through the API.
#[test]
fn power_off_without_actions_goes_through_the_api() {
    let old = Path::new("/usr/local/bin/terraform");
    if !old.is_file() {
        eprintln!("skipped: no older Terraform at {}", old.display());
        return;
    }
    let p = two_nodes();
    let run = |args: &[&str]| {
        let out = p
            .command(args)
            .env("KDEVOPS_TERRAFORM", old)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}:\n{}", text(&out));
        text(&out)
    };
    run(&["bringup"]);
    let out = run(&["power-off"]);
    assert!(
        out.contains("has no actions (they need 1.14.0 or later)"),
        "{out}"
    );
    assert!(out.contains("still bills $"), "{out}");
    assert!(statuses(&p).iter().all(|(_, s)| s == "offline"));
}

/// A node whose power change the API refuses does not keep the others from switching,
/// and the state records the status of those that did: the run fails naming the node,
/// after the refresh.
#[test]
fn a_node_that_cannot_switch_leaves_the_others_switched_and_recorded() {
    let p = two_nodes();
    p.ok(&["bringup"]);
    let ids = per_node(&p, "id");
    p.admin_put(
        &format!("instances/{}/stuck", ids[1].1),
        r#"{"status": "error"}"#,
    );
    let err = p.fails(&["power-off"]);
    assert!(
        err.contains("1 of 2 nodes could not be switched: kdevops-1"),
        "{err}"
    );
    assert_eq!(
        statuses(&p)[0],
        ("kdevops-0".to_owned(), "offline".to_owned())
    );
    let out = p.terraform(&["output", "-json", "instance_details"]);
    let details: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(details["kdevops-0"]["status"], "offline", "{details}");
    p.ok(&["destroy"]);
}
