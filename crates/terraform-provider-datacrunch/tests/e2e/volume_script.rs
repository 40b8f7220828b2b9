//! `datacrunch_volume` and `datacrunch_startup_script` end to end: create, no-change
//! plan, in-place changes, refused shrink, attach to a shut-down instance, import,
//! drift and destroy; creates whose answers are lost.

use datacrunch_models::{InstanceAction, InstanceActionRequest};
use test_support::datacrunch::*;

fn config(volume: &str, attach: bool) -> String {
    let instance_id = if attach {
        "instance_id = datacrunch_instance.n.id"
    } else {
        ""
    };
    format!(
        r##"
provider "datacrunch" {{}}

resource "datacrunch_startup_script" "s" {{
  name   = "setup"
  script = "#!/bin/bash\necho hello > /root/hello\n"
}}

resource "datacrunch_instance" "n" {{
  hostname          = "vol-host"
  description       = "volume test"
  image             = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type     = "1H100.80S.30V"
  location_code     = "FIN-03"
  ssh_key_ids       = []
  startup_script_id = datacrunch_startup_script.s.id
}}

resource "datacrunch_volume" "v" {{
  location_code = "FIN-03"
  {volume}
  {instance_id}
}}
"##
    )
}

fn volume_record(
    emu: &datacrunch_emulator::RunningEmulator,
    id: &str,
) -> datacrunch_models::Volume {
    let client = api(emu);
    block_on(async { client.volume(id).await.unwrap() })
}

#[test]
fn volume_and_startup_script_lifecycle() {
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    // Tags are given at create: the emulator has no volume tag endpoints yet, so the
    // in-place tag change (POST/DELETE /volumes/{id}/tags) is not exercised here.
    ws.write(&config(
        "name = \"data\"\n  size = 100\n  tags = { owner = \"ci\" }",
        false,
    ));
    ws.init();
    ws.apply();
    let v = ws.values("datacrunch_volume.v");
    assert_eq!(v["type"], "NVMe");
    assert_eq!(v["status"], "detached");
    // Destroy deletes for good by default: nothing stays in the trash, counted.
    assert_eq!(v["delete_permanently"], true);
    let script = ws.values("datacrunch_startup_script.s");
    assert_eq!(
        ws.values("datacrunch_instance.n")["startup_script_id"],
        script["id"]
    );
    ws.assert_no_changes();

    // Rename and grow in place: same id.
    ws.write(&config(
        "name = \"scratch\"\n  size = 200\n  tags = { owner = \"ci\" }",
        false,
    ));
    let (_, plan) = ws.plan_exit_code();
    assert!(
        plan.contains("updated in-place") && !plan.contains("must be replaced"),
        "{plan}"
    );
    ws.apply();
    let grown = ws.values("datacrunch_volume.v");
    assert_eq!(grown["id"], v["id"]);
    let api_volume = volume_record(&emu, v["id"].as_str().unwrap());
    assert_eq!(
        (api_volume.name.as_str(), api_volume.size),
        ("scratch", 200)
    );
    assert!(api_volume.tags.iter().any(|t| t.key == "owner"));
    ws.assert_no_changes();

    // Shrinking is refused at plan time, on `size`.
    ws.write(&config(
        "name = \"scratch\"\n  size = 50\n  tags = { owner = \"ci\" }",
        false,
    ));
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(
        text.contains("Volumes cannot shrink") && text.contains("200 GB to 50 GB"),
        "{text}"
    );

    // Attach to the instance once it is shut down (the API requires it), then detach.
    let instance_id = ws.values("datacrunch_instance.n")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = api(&emu);
    block_on(async {
        client
            .instance_action(&InstanceActionRequest {
                action: InstanceAction::Shutdown,
                id: vec![instance_id.clone()],
                volume_ids: None,
                delete_permanently: None,
            })
            .await
            .unwrap()
    });
    let body = "name = \"scratch\"\n  size = 200\n  tags = { owner = \"ci\" }";
    ws.write(&config(body, true));
    ws.apply();
    assert_eq!(
        ws.values("datacrunch_volume.v")["instance_id"],
        instance_id.as_str()
    );
    assert_eq!(
        volume_record(&emu, v["id"].as_str().unwrap())
            .instance_id
            .as_deref(),
        Some(instance_id.as_str())
    );
    ws.assert_no_changes();
    ws.write(&config(body, false));
    ws.apply();
    assert!(volume_record(&emu, v["id"].as_str().unwrap())
        .instance_id
        .is_none());
    ws.assert_no_changes();

    // Import both into a fresh workspace: no changes after.
    let ws2 = EmulatedWorkspace::new(&terraform(), &emu);
    ws2.write(&format!(
        "{}\nimport {{\n  to = datacrunch_volume.v\n  id = \"{}\"\n}}\nimport {{\n  to = datacrunch_startup_script.s\n  id = \"{}\"\n}}\nimport {{\n  to = datacrunch_instance.n\n  id = \"{}\"\n}}\n",
        config(body, false),
        v["id"].as_str().unwrap(),
        script["id"].as_str().unwrap(),
        instance_id,
    ));
    ws2.init();
    let out = ws2.apply();
    // The import says delete_permanently = false: the default is applied visibly.
    assert!(
        out.contains("3 imported, 0 added, 1 changed, 0 destroyed"),
        "{out}"
    );
    ws2.assert_no_changes();

    // Drift: volume and script deleted behind Terraform's back are re-created.
    let script_id = script["id"].as_str().unwrap().to_owned();
    let volume_id = v["id"].as_str().unwrap().to_owned();
    block_on(async {
        client.delete_volume(&volume_id, true).await.unwrap();
        client.delete_startup_script(&script_id).await.unwrap();
    });
    let (code, plan) = ws.plan_exit_code();
    assert_eq!(code, 2);
    assert!(
        plan.contains("datacrunch_volume.v will be created"),
        "{plan}"
    );
    assert!(
        plan.contains("datacrunch_startup_script.s will be created"),
        "{plan}"
    );

    // Destroy: nothing of ours is left.
    ws.destroy();
    assert!(live_instances(&emu).is_empty());
    let left = block_on(async { client.volumes(None).await.unwrap() });
    assert!(
        left.iter()
            .all(|v| v.name != "scratch" || v.deleted_at.is_some()),
        "{left:#?}"
    );
    assert!(block_on(async { client.startup_scripts().await.unwrap() }).is_empty());
}

#[test]
fn ssh_key_and_script_changes_replace_them() {
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    let cfg = |key_name: &str, script: &str| {
        format!(
            r##"
provider "datacrunch" {{}}
resource "datacrunch_ssh_key" "k" {{
  name       = "{key_name}"
  public_key = "{PUBKEY}"
}}
resource "datacrunch_startup_script" "s" {{
  name   = "setup"
  script = "{script}"
}}
"##
        )
    };
    ws.write(&cfg("first-key", "#!/bin/sh\\necho one\\n"));
    ws.init();
    ws.apply();
    let (key, script) = (
        ws.values("datacrunch_ssh_key.k"),
        ws.values("datacrunch_startup_script.s"),
    );
    ws.assert_no_changes();

    ws.write(&cfg("second-key", "#!/bin/sh\\necho two\\n"));
    let (code, plan) = ws.plan_exit_code();
    assert_eq!(code, 2);
    assert!(
        plan.contains("datacrunch_ssh_key.k must be replaced"),
        "{plan}"
    );
    assert!(
        plan.contains("datacrunch_startup_script.s must be replaced"),
        "{plan}"
    );
    ws.apply();
    assert_ne!(ws.values("datacrunch_ssh_key.k")["id"], key["id"]);
    assert_ne!(ws.values("datacrunch_startup_script.s")["id"], script["id"]);
    ws.assert_no_changes();
    let client = api(&emu);
    let (keys, scripts) = block_on(async {
        (
            client.ssh_keys().await.unwrap(),
            client.startup_scripts().await.unwrap(),
        )
    });
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].name, "second-key");
    assert_eq!(scripts.len(), 1);
    assert!(scripts[0].script.contains("echo two"));
    ws.destroy();
}

/// Keys, scripts and volumes whose create answers are lost: the first creates of the key
/// are answered 500 or take effect with the connection reset, and every create of the
/// script and the volume takes effect unanswered. Each apply must still succeed with
/// exactly one object per resource, the one in state. A client that resent a create whose
/// answer was lost would make a second key (the emulator, like the service, accepts
/// duplicate names), and one that gave up on the reset connection would fail the apply.
#[test]
fn lost_create_answers_make_exactly_one_key_script_and_volume() {
    use datacrunch_emulator::FaultRule;
    let emu = emulator_with(|b| b.fault_seed(3));
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    let key = format!(
        r#"
provider "datacrunch" {{}}
resource "datacrunch_ssh_key" "k" {{
  name       = "lost-key"
  public_key = "{PUBKEY}"
}}
"#
    );
    let script_and_volume = r##"
resource "datacrunch_startup_script" "s" {
  name   = "lost-script"
  script = "#!/bin/bash\necho lost\n"
}
resource "datacrunch_volume" "v" {
  name          = "lost-volume"
  size          = 50
  location_code = "FIN-03"
}
"##;
    // Only this endpoint has a rule, so the seed alone decides its faults.
    emu.admin
        .set_fault(
            "POST /v1/sshkeys",
            FaultRule {
                rate_500: 0.5,
                lost_answer_rate: 0.5,
                ..Default::default()
            },
        )
        .unwrap();
    ws.write(&key);
    ws.init();
    ws.apply();
    let injected = emu.admin.injected_faults();
    assert!(
        injected.get("500").copied().unwrap_or(0) >= 1 && injected.get("lost_answer") == Some(&1),
        "the seed no longer gives a 500 and then a lost answer: {injected:?}"
    );

    emu.admin.clear_faults();
    for endpoint in ["POST /v1/scripts", "POST /v1/volumes"] {
        let lost = FaultRule {
            lost_answer_rate: 1.0,
            ..Default::default()
        };
        emu.admin.set_fault(endpoint, lost).unwrap();
    }
    ws.write(&format!("{key}{script_and_volume}"));
    ws.apply();
    assert_eq!(
        emu.admin.injected_faults().get("lost_answer"),
        Some(&3),
        "one lost answer each for the key, the script and the volume"
    );
    emu.admin.clear_faults();

    let client = api(&emu);
    let (keys, scripts, volumes) = block_on(async {
        (
            client.ssh_keys().await.unwrap(),
            client.startup_scripts().await.unwrap(),
            client.volumes(None).await.unwrap(),
        )
    });
    let ids = |names: Vec<(&str, &str)>, name: &str| -> Vec<String> {
        names
            .into_iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, id)| id.to_owned())
            .collect()
    };
    let state_id = |address: &str| vec![ws.values(address)["id"].as_str().unwrap().to_owned()];
    assert_eq!(
        ids(
            keys.iter()
                .map(|k| (k.name.as_str(), k.id.as_str()))
                .collect(),
            "lost-key"
        ),
        state_id("datacrunch_ssh_key.k"),
        "{keys:#?}"
    );
    assert_eq!(
        ids(
            scripts
                .iter()
                .map(|s| (s.name.as_str(), s.id.as_str()))
                .collect(),
            "lost-script"
        ),
        state_id("datacrunch_startup_script.s"),
        "{scripts:#?}"
    );
    assert_eq!(
        ids(
            volumes
                .iter()
                .filter(|v| v.deleted_at.is_none())
                .map(|v| (v.name.as_str(), v.id.as_str()))
                .collect(),
            "lost-volume"
        ),
        state_id("datacrunch_volume.v"),
        "{volumes:#?}"
    );
    ws.assert_no_changes();

    ws.destroy();
    let (keys, scripts, volumes) = block_on(async {
        (
            client.ssh_keys().await.unwrap(),
            client.startup_scripts().await.unwrap(),
            client.volumes(None).await.unwrap(),
        )
    });
    assert!(keys.is_empty(), "{keys:#?}");
    assert!(scripts.is_empty(), "{scripts:#?}");
    assert!(
        volumes.iter().all(|v| v.deleted_at.is_some()),
        "{volumes:#?}"
    );
}
