//! Terraform 1.12+ surface of the provider, with the pinned Terraform 1.15.5 against
//! the emulator: identities in state, import by identity, `terraform query` and
//! `-generate-config-out` adopting instances and keys made outside Terraform.

use test_support::datacrunch::*;

const MADE_ELSEWHERE: &str = r#"
provider "datacrunch" {}

resource "datacrunch_ssh_key" "k" {
  name       = "query-key"
  public_key = "PUBKEY"
}

resource "datacrunch_instance" "n" {
  hostname      = "adopt-1"
  description   = "made elsewhere"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  ssh_key_ids   = [datacrunch_ssh_key.k.id]
  tags          = { team = "kernel" }
}

resource "datacrunch_instance" "other" {
  hostname      = "other-1"
  description   = "not adopted"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  ssh_key_ids   = [datacrunch_ssh_key.k.id]
}
"#;

fn made_elsewhere() -> String {
    MADE_ELSEWHERE.replace("PUBKEY", PUBKEY)
}

fn state_file(ws: &EmulatedWorkspace) -> serde_json::Value {
    let text = std::fs::read_to_string(ws.work_dir().join("terraform.tfstate")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn query_adopts_instances_and_keys_with_no_other_change() {
    let tf = terraform();
    let emu = emulator();
    let made = EmulatedWorkspace::new(&tf, &emu);
    made.write(&made_elsewhere());
    made.init();
    made.apply();
    let id = made.values("datacrunch_instance.n")["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Every resource's identity is its id, stored next to its state.
    let state = state_file(&made);
    for r in state["resources"].as_array().unwrap() {
        let instance = &r["instances"][0];
        assert_eq!(
            instance["identity"]["id"], instance["attributes"]["id"],
            "{r}"
        );
    }

    // A fresh configuration lists what the account holds and adopts it.
    let adopt = EmulatedWorkspace::new(&tf, &emu);
    adopt.write("provider \"datacrunch\" {}\n");
    adopt.write_file(
        "adopt.tfquery.hcl",
        r#"
list "datacrunch_instance" "kernel" {
  provider = datacrunch
  config {
    hostname_prefix = "adopt-"
    tag             = { team = "kernel" }
  }
}

list "datacrunch_ssh_key" "keys" {
  provider = datacrunch
  config {
    name_prefix = "query-"
  }
}
"#,
    );
    adopt.init();
    let listed = adopt.ok(&["query", "-no-color"]);
    assert!(
        listed.contains("adopt-1") && listed.contains(&id),
        "{listed}"
    );
    assert!(listed.contains("query-key"), "{listed}");
    assert!(!listed.contains("other-1"), "{listed}");

    adopt.ok(&["query", "-no-color", "-generate-config-out=generated.tf"]);
    let generated = std::fs::read_to_string(adopt.work_dir().join("generated.tf")).unwrap();
    assert!(
        generated.contains("import {") && generated.contains(&id),
        "{generated}"
    );
    assert!(!generated.contains("other-1"), "{generated}");
    std::fs::remove_file(adopt.work_dir().join("adopt.tfquery.hcl")).unwrap();
    let plan = adopt.ok(&["plan", "-no-color", "-input=false"]);
    assert!(
        plan.contains("2 to import, 0 to add, 0 to change, 0 to destroy"),
        "{plan}\n{generated}"
    );
    let applied = adopt.apply();
    assert!(
        applied.contains("2 imported, 0 added, 0 changed, 0 destroyed"),
        "{applied}"
    );
    adopt.assert_no_changes();
    assert_eq!(live_instances(&emu).len(), 2);
}

#[test]
fn import_by_identity_reads_the_whole_instance() {
    let tf = terraform();
    let emu = emulator();
    let made = EmulatedWorkspace::new(&tf, &emu);
    made.write(&made_elsewhere());
    made.init();
    made.apply();
    let id = made.values("datacrunch_instance.n")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let key = made.values("datacrunch_ssh_key.k")["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let ws = EmulatedWorkspace::new(&tf, &emu);
    let only_n = made_elsewhere()
        .split("resource \"datacrunch_instance\" \"other\"")
        .next()
        .unwrap()
        .to_owned();
    ws.write(&format!(
        "{only_n}\nimport {{\n  to       = datacrunch_instance.n\n  identity = {{ id = \"{id}\" }}\n}}\nimport {{\n  to       = datacrunch_ssh_key.k\n  identity = {{ id = \"{key}\" }}\n}}\n"
    ));
    ws.init();
    let plan = ws.ok(&["plan", "-no-color", "-input=false"]);
    assert!(
        plan.contains("2 to import, 0 to add, 0 to change, 0 to destroy"),
        "{plan}"
    );
    ws.apply();
    assert_eq!(ws.values("datacrunch_instance.n")["hostname"], "adopt-1");
    ws.assert_no_changes();
}
