//! In-place changes, replacement, import and drift (including an instance deleted behind
//! Terraform's back), end to end.

use datacrunch_models::{InstanceAction, InstanceActionRequest};
use test_support::datacrunch::*;

fn config(description: &str, tags: &str) -> String {
    format!(
        r#"
provider "datacrunch" {{}}

resource "datacrunch_ssh_key" "k" {{
  name       = "lifecycle-key"
  public_key = "{PUBKEY}"
}}

resource "datacrunch_instance" "n" {{
  hostname      = "life-1"
  description   = "{description}"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  ssh_key_ids   = [datacrunch_ssh_key.k.id]
  {tags}
}}
"#
    )
}

#[test]
fn tags_in_place_description_replaces_import_and_drift() {
    for tf in terraforms() {
        lifecycle_on(&tf);
    }
}

fn lifecycle_on(tf: &Terraform) {
    let emu = emulator();
    let ws = EmulatedWorkspace::new(tf, &emu);
    ws.write(&config("first", ""));
    ws.init();
    ws.apply();
    let first = ws.values("datacrunch_instance.n");
    // Left out, location_code shows where the API put it.
    assert_eq!(first["location_code"], first["location"]);
    assert!(first["location"].as_str().unwrap().len() >= 6);
    ws.assert_no_changes();

    // Tags change in place: same id, the emulator has the tags.
    ws.write(&config(
        "first",
        "tags = { team = \"kernel\", run = \"1\" }",
    ));
    let (code, plan) = ws.plan_exit_code();
    assert_eq!(code, 2);
    assert!(
        plan.contains("updated in-place") && !plan.contains("must be replaced"),
        "{plan}"
    );
    ws.apply();
    let tagged = ws.values("datacrunch_instance.n");
    assert_eq!(tagged["id"], first["id"]);
    assert_eq!(tagged["tags"]["team"], "kernel");
    let live = live_instances(&emu);
    let tags = live[0]["tags"].as_array().unwrap();
    assert!(
        tags.iter()
            .any(|t| t["key"] == "team" && t["value"] == "kernel"),
        "{tags:?}"
    );
    ws.assert_no_changes();
    ws.write(&config("first", "tags = { team = \"storage\" }"));
    ws.apply();
    assert_eq!(
        ws.values("datacrunch_instance.n")["tags"],
        serde_json::json!({"team": "storage"})
    );
    ws.assert_no_changes();

    // The API cannot change a description in place: replacement, old one deleted.
    ws.write(&config("second", "tags = { team = \"storage\" }"));
    let (_, plan) = ws.plan_exit_code();
    assert!(plan.contains("must be replaced"), "{plan}");
    ws.apply();
    let second = ws.values("datacrunch_instance.n");
    assert_ne!(second["id"], first["id"]);
    let live = live_instances(&emu);
    assert_eq!(live.len(), 1, "{live:#?}");
    assert_eq!(live[0]["id"], second["id"]);
    ws.assert_no_changes();

    // Import into a fresh workspace: a plan right after shows no changes.
    let ws2 = EmulatedWorkspace::new(tf, &emu);
    ws2.write(&format!(
        "{}\nimport {{\n  to = datacrunch_instance.n\n  id = \"{}\"\n}}\nimport {{\n  to = datacrunch_ssh_key.k\n  id = \"{}\"\n}}\n",
        config("second", "tags = { team = \"storage\" }"),
        second["id"].as_str().unwrap(),
        ws.values("datacrunch_ssh_key.k")["id"].as_str().unwrap(),
    ));
    ws2.init();
    let out = ws2.apply();
    assert!(!out.contains("must be replaced"), "{out}");
    assert_eq!(ws2.values("datacrunch_instance.n")["id"], second["id"]);
    ws2.assert_no_changes();
    // terraform import (the CLI form) of the same objects agrees.
    let ws3 = EmulatedWorkspace::new(tf, &emu);
    ws3.write(&config("second", "tags = { team = \"storage\" }"));
    ws3.init();
    ws3.ok(&[
        "import",
        "-input=false",
        "-no-color",
        "datacrunch_instance.n",
        second["id"].as_str().unwrap(),
    ]);
    ws3.ok(&[
        "import",
        "-input=false",
        "-no-color",
        "datacrunch_ssh_key.k",
        ws.values("datacrunch_ssh_key.k")["id"].as_str().unwrap(),
    ]);
    ws3.assert_no_changes();

    // Drift: the instance and the key deleted behind Terraform's back are re-created.
    let client = api(&emu);
    let id = second["id"].as_str().unwrap().to_owned();
    let key_id = ws.values("datacrunch_ssh_key.k")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    block_on(async {
        client
            .instance_action(&InstanceActionRequest {
                action: InstanceAction::Delete,
                id: vec![id.clone()],
                volume_ids: None,
                delete_permanently: None,
            })
            .await
            .unwrap();
        client.delete_ssh_key(&key_id).await.unwrap();
    });
    let (code, plan) = ws.plan_exit_code();
    assert_eq!(code, 2);
    assert!(
        plan.contains("datacrunch_instance.n will be created"),
        "{plan}"
    );
    assert!(
        plan.contains("datacrunch_ssh_key.k will be created"),
        "{plan}"
    );
    ws.apply();
    assert_ne!(ws.values("datacrunch_instance.n")["id"], second["id"]);
    assert_eq!(live_instances(&emu).len(), 1);
    ws.assert_no_changes();

    ws.destroy();
    assert!(live_instances(&emu).is_empty());
}

/// An instance deleted behind Terraform's back, which the API still lists as
/// `discontinued`: `destroy -refresh=false` (state still says it exists) sends the delete,
/// the API refuses it with 403 `forbidden_action` "Can't discontinue a discontinued
/// instance", and the destroy must count that as done instead of failing on it.
#[test]
fn destroy_of_an_instance_the_api_already_discontinued_succeeds() {
    use datacrunch_emulator::Timing;
    use std::time::Duration;
    // Discontinued instances stay listed for the whole test, not 5 s.
    let emu = emulator_with(|b| {
        b.timing(Timing {
            discontinued_visible: Duration::from_secs(3600),
            ..Timing::fast()
        })
    });
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&config("deleted behind its back", ""));
    ws.init();
    ws.apply();
    let id = ws.values("datacrunch_instance.n")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = api(&emu);
    let status = block_on(async {
        client
            .instance_action(&InstanceActionRequest {
                action: InstanceAction::Delete,
                id: vec![id.clone()],
                volume_ids: None,
                delete_permanently: None,
            })
            .await
            .unwrap();
        client.instance(&id).await.unwrap().status
    });
    assert_eq!(status.to_string(), "discontinued");

    let actions = emu.admin.count("PUT /v1/instances");
    ws.ok(&[
        "destroy",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-refresh=false",
    ]);
    assert!(
        emu.admin.count("PUT /v1/instances") > actions,
        "the destroy never sent the delete"
    );
    assert!(ws.resources().is_empty(), "{:#?}", ws.resources());
    assert!(live_instances(&emu).is_empty());
    assert!(block_on(async { client.ssh_keys().await.unwrap() }).is_empty());
}
