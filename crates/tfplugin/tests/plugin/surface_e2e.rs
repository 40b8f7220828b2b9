//! The Terraform 1.12+ surface against the real pinned Terraform (1.15.5):
//! resource identity and import by identity, `terraform query` with a list
//! resource and `-generate-config-out`, an action invoked directly and from a
//! lifecycle trigger, a provider-defined function, and capabilities that an
//! older Terraform ignores.

use test_support::{terraform_binaries, Terraform, Workspace};

use crate::terraform_e2e::{configure, header, read_store, workspace, write_store};

/// A thing with only what the store keeps, so an import reproduces it exactly.
const PLAIN_THING: &str = r#"
resource "testbed_thing" "a" {
  name = "alpha"
  size = "medium"
}
"#;

fn pinned() -> Terraform {
    test_support::terraform::pinned()
}

const APPLY: &[&str] = &["apply", "-auto-approve", "-no-color", "-input=false"];

fn state_json(ws: &Workspace) -> serde_json::Value {
    let text = std::fs::read_to_string(ws.work_dir().join("terraform.tfstate")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn identity_is_stored_and_import_by_identity_changes_nothing() {
    let tf = pinned();
    let ws = workspace(&tf);
    configure(&ws, PLAIN_THING);
    ws.run(APPLY).assert_success();
    let state = state_json(&ws);
    let instance = &state["resources"][0]["instances"][0];
    assert_eq!(
        instance["identity"],
        serde_json::json!({ "id": "thing-alpha" }),
        "{state}"
    );

    ws.run(&["state", "rm", "testbed_thing.a"]).assert_success();
    let import = r#"
import {
  to       = testbed_thing.a
  identity = { id = "thing-alpha" }
}
"#;
    ws.write("main.tf", &format!("{}{PLAIN_THING}{import}", header(&ws)));
    ws.run(&["plan", "-no-color", "-input=false"])
        .assert_success()
        .assert_contains("1 to import, 0 to add, 0 to change, 0 to destroy");
    ws.run(APPLY)
        .assert_success()
        .assert_contains("1 imported, 0 added, 0 changed, 0 destroyed");
    ws.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"])
        .assert_code(0);
}

#[test]
fn query_lists_and_generated_config_imports_with_no_other_change() {
    let tf = pinned();
    let ws = workspace(&tf);
    // Two objects made outside this configuration, one filtered out.
    let thing = |id: &str, name: &str, size: &str| {
        serde_json::json!({"id": id, "name": name, "size": size, "price": "0.25",
            "enabled": true, "created_at": "2026-01-01T00:00:00Z"})
    };
    write_store(
        &ws,
        &serde_json::json!({
            "thing-alpha": thing("thing-alpha", "alpha", "medium"),
            "thing-beta": thing("thing-beta", "beta", "small"),
        }),
    );
    configure(&ws, "");
    let query = r#"
list "testbed_thing" "al" {
  provider = testbed
  config {
    name_prefix = "al"
  }
}
"#;
    ws.write("things.tfquery.hcl", query);
    ws.run(&["query", "-no-color"])
        .assert_success()
        .assert_contains("alpha")
        .assert_not_contains("beta");

    ws.run(&["query", "-no-color", "-generate-config-out=generated.tf"])
        .assert_success();
    let generated = std::fs::read_to_string(ws.work_dir().join("generated.tf")).unwrap();
    assert!(generated.contains("import {"), "{generated}");
    assert!(generated.contains("\"medium\""), "{generated}");
    assert!(!generated.contains("beta"), "{generated}");
    // The query file would run again in plan; the generated config is all we need.
    std::fs::remove_file(ws.work_dir().join("things.tfquery.hcl")).unwrap();
    ws.run(&["plan", "-no-color", "-input=false"])
        .assert_success()
        .assert_contains("1 to import, 0 to add, 0 to change, 0 to destroy");
}

#[test]
fn action_runs_on_invoke_and_on_a_lifecycle_trigger_and_functions_answer() {
    let tf = pinned();
    let ws = workspace(&tf);
    let config = r#"
resource "testbed_thing" "a" {
  name = "alpha"
  size = "medium"
}

action "testbed_resize" "big" {
  config {
    id   = "thing-alpha"
    size = "large"
  }
}

output "large_price" {
  value = provider::testbed::price_of("large")
}
"#;
    configure(&ws, config);
    ws.run(APPLY)
        .assert_success()
        .assert_contains("large_price = 1.5");
    assert_eq!(read_store(&ws)["thing-alpha"]["size"], "medium");

    ws.run(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-input=false",
        "-invoke=action.testbed_resize.big",
    ])
    .assert_success()
    .assert_contains("resizing thing-alpha to large");
    assert_eq!(read_store(&ws)["thing-alpha"]["size"], "large");

    // An action_trigger runs the action after the resource is updated.
    let triggered = r#"
resource "testbed_thing" "a" {
  name = "alpha"
  size = "small"
  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.testbed_resize.big]
    }
  }
}

action "testbed_resize" "big" {
  config {
    id   = "thing-alpha"
    size = "large"
  }
}
"#;
    ws.write("main.tf", &format!("{}{triggered}", header(&ws)));
    ws.run(APPLY).assert_success();
    assert_eq!(read_store(&ws)["thing-alpha"]["size"], "large");

    // Bad input to a function names the argument and the reason.
    let bad = r#"
output "p" {
  value = provider::testbed::price_of("huge")
}
"#;
    ws.write("main.tf", &format!("{}{bad}", header(&ws)));
    ws.run(&["plan", "-no-color", "-input=false"])
        .assert_failure()
        .assert_contains("\"huge\" is not a size");
}

#[test]
fn a_plan_validates_the_action_configuration() {
    let tf = pinned();
    let ws = workspace(&tf);
    let config = r#"
action "testbed_resize" "bad" {
  config {
    id   = "thing-alpha"
    size = "huge"
  }
}
"#;
    configure(&ws, config);
    ws.run(&[
        "plan",
        "-no-color",
        "-input=false",
        "-invoke=action.testbed_resize.bad",
    ])
    .assert_failure()
    .assert_contains("\"huge\" is not allowed here");
}

/// Older Terraform that knows none of this still runs the provider.
#[test]
fn every_terraform_runs_a_provider_offering_the_new_surface() {
    for tf in terraform_binaries() {
        let ws = workspace(&tf);
        configure(&ws, PLAIN_THING);
        ws.run(APPLY).assert_success();
        ws.run(&["plan", "-detailed-exitcode", "-no-color", "-input=false"])
            .assert_code(0);
    }
}
