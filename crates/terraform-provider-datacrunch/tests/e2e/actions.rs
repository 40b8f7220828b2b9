//! The action `datacrunch_instance_power` (invoked directly and from a lifecycle
//! trigger) and the provider functions, with the pinned Terraform 1.15.5 against the
//! emulator.

use test_support::datacrunch::*;

fn config(trigger: &str, tags: &str, power: &str) -> String {
    format!(
        r#"
provider "datacrunch" {{}}

resource "datacrunch_ssh_key" "k" {{
  name       = "power-key"
  public_key = "{PUBKEY}"
}}

resource "datacrunch_instance" "n" {{
  ssh_key_ids   = [datacrunch_ssh_key.k.id]
  hostname      = "power-1"
  description   = "power"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  tags          = {{ run = "{tags}" }}
  {trigger}
}}

action "datacrunch_instance_power" "off" {{
  config {{
    instance_id = datacrunch_instance.n.id
    action      = "{power}"
  }}
}}

action "datacrunch_instance_power" "on" {{
  config {{
    instance_id = datacrunch_instance.n.id
    action      = "start"
  }}
}}
"#
    )
}

fn live_status(emu: &datacrunch_emulator::RunningEmulator) -> String {
    live_instances(emu)[0]["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn power_action_runs_on_invoke_and_on_a_trigger_without_planning_a_change() {
    let tf = terraform();
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&tf, &emu);
    ws.write(&config("", "1", "shutdown"));
    ws.init();
    ws.apply();
    assert_eq!(live_status(&emu), "running");

    let out = ws.ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-invoke=action.datacrunch_instance_power.off",
    ]);
    assert!(flat(&out).contains("still bills"), "{out}");
    assert_eq!(live_status(&emu), "offline");
    // The resource reads the new status; nothing to change for it.
    ws.assert_no_changes();
    ws.ok(&[
        "apply",
        "-refresh-only",
        "-auto-approve",
        "-input=false",
        "-no-color",
    ]);
    assert_eq!(ws.values("datacrunch_instance.n")["status"], "offline");
    ws.assert_no_changes();

    // A tags update triggers the start action.
    let trigger = "lifecycle {\n    action_trigger {\n      events  = [after_update]\n      actions = [action.datacrunch_instance_power.on]\n    }\n  }";
    ws.write(&config(trigger, "2", "shutdown"));
    ws.apply();
    assert_eq!(live_status(&emu), "running");

    // Hibernate deletes an instance on DataCrunch: refused at plan time.
    ws.write(&config("", "2", "hibernate"));
    let refused = ws.fails(&[
        "plan",
        "-input=false",
        "-no-color",
        "-invoke=action.datacrunch_instance_power.off",
    ]);
    assert!(
        flat(&refused).contains("\"hibernate\" is not allowed here"),
        "{refused}"
    );
    assert_eq!(live_status(&emu), "running");
}

#[test]
fn functions_parse_types_and_list_tier_members() {
    let tf = terraform();
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&tf, &emu);
    ws.write(
        r#"
output "parsed" {
  value = provider::datacrunch::parse_instance_type("8H100.80S.176V")
}

output "tier" {
  value = provider::datacrunch::tier_members("A100_40_OR_LESS")
}
"#,
    );
    ws.init();
    ws.apply();
    let out = ws.ok(&["output", "-json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["parsed"]["value"]["gpu_count"], 8);
    assert_eq!(v["parsed"]["value"]["gpu_model"], "H100");
    assert_eq!(v["parsed"]["value"]["memory_class"], "80S");
    assert_eq!(v["parsed"]["value"]["vcpus"], 176);
    let tier = v["tier"]["value"].as_array().unwrap();
    assert_eq!(tier.first().unwrap(), "1A100.40S.22V");
    assert!(tier.iter().all(|t| t != "1H100.80S.30V"), "{tier:?}");

    ws.write(
        r#"
output "bad" {
  value = provider::datacrunch::parse_instance_type("H100")
}
"#,
    );
    let err = ws.fails(&["plan", "-input=false", "-no-color"]);
    assert!(
        flat(&err).contains("\"H100\": expected `<gpus><model>"),
        "{err}"
    );
}
