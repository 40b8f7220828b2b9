//! `datacrunch_volume_attachment` and the volume policies end to end with the real
//! Terraform: the offline rule refused at plan time, `allow_power_cycle` (shut down,
//! attach, start, a warning), no-change plans, import, a volume detached out of band
//! attached again, destroy leaving nothing billed or counted (nothing in the trash);
//! `os_volume.on_spot_discontinue` checked at plan time and applied when the provider
//! takes the spot instance back.

use datacrunch_models::{InstanceAction, InstanceActionRequest, VolumeAction, VolumeActionRequest};
use test_support::datacrunch::*;

fn config(attachment: &str) -> String {
    format!(
        r#"
provider "datacrunch" {{}}

resource "datacrunch_instance" "n" {{
  hostname      = "attach-host"
  description   = "attachment test"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  location_code = "FIN-03"
  ssh_key_ids   = []
}}

resource "datacrunch_volume" "v" {{
  name          = "data"
  size          = 50
  location_code = "FIN-03"
}}
{attachment}
"#
    )
}

fn attachment(allow_power_cycle: bool) -> String {
    format!(
        r#"
resource "datacrunch_volume_attachment" "a" {{
  volume_id         = datacrunch_volume.v.id
  instance_id       = datacrunch_instance.n.id
  allow_power_cycle = {allow_power_cycle}
}}
"#
    )
}

fn power(client: &datacrunch_client::Client, id: &str, action: InstanceAction) {
    let request = InstanceActionRequest {
        action,
        id: vec![id.to_owned()],
        volume_ids: None,
        delete_permanently: None,
    };
    block_on(async { client.instance_action(&request).await.unwrap() });
}

#[test]
fn attachment_lifecycle_with_the_offline_rule() {
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    let client = api(&emu);

    // Instance and attachment in one apply: the instance will be running, so without
    // allow_power_cycle the plan is refused, saying why.
    ws.write(&config(&attachment(false)));
    ws.init();
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    for needle in [
        "must be shut down to attach a volume",
        "only while the instance is shut down (offline)",
        "allow_power_cycle = true",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }

    // A known running instance: refused the same way, naming its status.
    ws.write(&config(""));
    ws.apply();
    let instance_id = ws.values("datacrunch_instance.n")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let volume_id = ws.values("datacrunch_volume.v")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ws.write(&config(&attachment(false)));
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(
        text.contains(&format!("Instance {instance_id} is running")),
        "{text}"
    );
    assert_eq!(emu.admin.count("PUT /v1/volumes"), 0);

    // allow_power_cycle: shut down, attach, start again, and a warning says so.
    ws.write(&config(&attachment(true)));
    let out = flat(&ws.apply());
    assert!(out.contains("was power-cycled"), "{out}");
    let volume = block_on(async { client.volume(&volume_id).await.unwrap() });
    assert_eq!(volume.instance_id.as_deref(), Some(instance_id.as_str()));
    let instance = block_on(async { client.instance(&instance_id).await.unwrap() });
    assert_eq!(instance.status.as_str(), "running");
    let a = ws.values("datacrunch_volume_attachment.a");
    assert_eq!(a["id"], format!("{volume_id}/{instance_id}"));
    assert_eq!(a["target"], volume.target.unwrap().as_str());
    ws.assert_no_changes();

    // Import by "volume_id/instance_id" into a fresh workspace: no changes after.
    let ws2 = EmulatedWorkspace::new(&terraform(), &emu);
    ws2.write(&format!(
        "{}\nimport {{\n  to = datacrunch_volume_attachment.a\n  id = \"{volume_id}/{instance_id}\"\n}}\nimport {{\n  to = datacrunch_volume.v\n  id = \"{volume_id}\"\n}}\nimport {{\n  to = datacrunch_instance.n\n  id = \"{instance_id}\"\n}}\n",
        config(&attachment(false))
    ));
    ws2.init();
    let out = ws2.apply();
    // The imported volume's state says delete_permanently = false (nobody asked for
    // it), so the change to the configured default is applied visibly.
    assert!(
        out.contains("3 imported, 0 added, 1 changed, 0 destroyed"),
        "{out}"
    );
    assert!(
        flat(&out).contains("~ delete_permanently = false -> true"),
        "{out}"
    );
    ws2.assert_no_changes();

    // Import by identity (Terraform 1.12+); a malformed import id is refused, saying
    // what is expected.
    let ws3 = EmulatedWorkspace::new(&terraform(), &emu);
    let only_attachment = format!(
        "provider \"datacrunch\" {{}}\nresource \"datacrunch_volume_attachment\" \"a\" {{\n  volume_id   = \"{volume_id}\"\n  instance_id = \"{instance_id}\"\n}}\n"
    );
    ws3.write(&only_attachment);
    ws3.init();
    let text = flat(&ws3.fails(&[
        "import",
        "-input=false",
        "-no-color",
        "datacrunch_volume_attachment.a",
        &volume_id,
    ]));
    assert!(
        text.contains("expected `<volume_id>/<instance_id>`"),
        "{text}"
    );
    ws3.write(&format!(
        "{only_attachment}import {{\n  to       = datacrunch_volume_attachment.a\n  identity = {{ volume_id = \"{volume_id}\", instance_id = \"{instance_id}\" }}\n}}\n"
    ));
    let out = ws3.apply();
    assert!(out.contains("1 imported, 0 added, 0 changed"), "{out}");
    ws3.assert_no_changes();

    // Detached behind Terraform's back: the next plan attaches it again.
    power(&client, &instance_id, InstanceAction::Shutdown);
    let detach = VolumeActionRequest {
        action: VolumeAction::Detach,
        id: vec![volume_id.clone()],
        instance_id: Some(instance_id.clone()),
        name: None,
        size: None,
        is_permanent: None,
        volume_type: None,
    };
    block_on(async { client.volume_action(&detach).await.unwrap() });
    let (code, plan) = ws.plan_exit_code();
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("datacrunch_volume_attachment.a will be created"),
        "{plan}"
    );
    // The instance is offline now: attached without a power cycle.
    let out = flat(&ws.apply());
    assert!(!out.contains("power-cycled"), "{out}");
    let volume = block_on(async { client.volume(&volume_id).await.unwrap() });
    assert_eq!(volume.instance_id.as_deref(), Some(instance_id.as_str()));
    power(&client, &instance_id, InstanceAction::Start);
    ws.assert_no_changes();

    // Destroy detaches (power-cycling the running instance), deletes the volume for
    // good: nothing listed, nothing in the trash counting against the quota.
    ws.destroy();
    assert!(live_instances(&emu).is_empty());
    let (volumes, trash) = block_on(async {
        (
            client.volumes(None).await.unwrap(),
            client.trash().await.unwrap(),
        )
    });
    assert!(volumes.is_empty(), "{volumes:#?}");
    assert!(trash.is_empty(), "{trash:#?}");
}

#[test]
fn a_running_instance_is_not_detached_without_allow_power_cycle() {
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    let client = api(&emu);
    ws.write(&config(""));
    ws.init();
    ws.apply();
    let instance_id = ws.values("datacrunch_instance.n")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Attached while shut down, without allow_power_cycle; then started.
    power(&client, &instance_id, InstanceAction::Shutdown);
    ws.write(&config(&attachment(false)));
    ws.apply();
    power(&client, &instance_id, InstanceAction::Start);
    // Refused at plan time, before anything is destroyed: the attachment alone, and
    // with everything else (Terraform does not tell the provider that the instance
    // goes too, so the detach cannot be skipped).
    let detach_refused = |text: &str| {
        text.contains("must be shut down to detach a volume")
            && text.contains("is running")
            && text.contains("apply that change before destroying")
    };
    let text = flat(&ws.fails(&[
        "plan",
        "-destroy",
        "-target=datacrunch_volume_attachment.a",
        "-input=false",
        "-no-color",
    ]));
    assert!(detach_refused(&text), "{text}");
    emu.admin.reset_counters();
    let text = flat(&ws.fails(&["destroy", "-auto-approve", "-input=false", "-no-color"]));
    assert!(detach_refused(&text), "{text}");
    assert_eq!(emu.admin.count("PUT /v1/volumes"), 0, "nothing detached");
    assert_eq!(
        emu.admin.count("DELETE /v1/volumes/{id}"),
        0,
        "nothing deleted"
    );
    assert_eq!(live_instances(&emu).len(), 1, "the instance is still there");
    // Allowed now: destroy power-cycles the instance and leaves nothing.
    ws.write(&config(&attachment(true)));
    ws.apply();
    ws.destroy();
    assert!(live_instances(&emu).is_empty());
    assert!(block_on(async { client.trash().await.unwrap() }).is_empty());
}

/// Two attachments of one running instance, both allowed to power-cycle it, applied
/// in parallel by Terraform: both attach (one cycle after the other), the instance
/// ends running, and a destroy detaches both the same way.
#[test]
fn parallel_attachments_of_one_running_instance_both_attach() {
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    let client = api(&emu);
    let second = r#"
resource "datacrunch_volume" "w" {
  name          = "more"
  size          = 50
  location_code = "FIN-03"
}

resource "datacrunch_volume_attachment" "b" {
  volume_id         = datacrunch_volume.w.id
  instance_id       = datacrunch_instance.n.id
  allow_power_cycle = true
}
"#;
    ws.write(&config(second));
    ws.init();
    ws.apply();
    let instance_id = ws.values("datacrunch_instance.n")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ws.write(&config(&format!("{}{second}", attachment(true))));
    ws.ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-parallelism=10",
    ]);
    for address in ["datacrunch_volume.v", "datacrunch_volume.w"] {
        let id = ws.values(address)["id"].as_str().unwrap().to_owned();
        let volume = block_on(async { client.volume(&id).await.unwrap() });
        assert_eq!(
            volume.instance_id.as_deref(),
            Some(instance_id.as_str()),
            "{address}"
        );
    }
    let instance = block_on(async { client.instance(&instance_id).await.unwrap() });
    assert_eq!(instance.status.as_str(), "running");
    ws.assert_no_changes();
    ws.destroy();
    assert!(live_instances(&emu).is_empty());
}

fn spot_instance(extra: &str) -> String {
    format!(
        r#"
provider "datacrunch" {{}}
resource "datacrunch_instance" "s" {{
  hostname      = "spot-host"
  description   = "spot policy"
  image         = "ubuntu-24.04-cuda-12.8-open-docker"
  instance_type = "1H100.80S.30V"
  location_code = "FIN-03"
  ssh_key_ids   = []
  {extra}
}}
"#
    )
}

#[test]
fn spot_volume_policy_is_checked_at_plan_and_applied_on_discontinue() {
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&spot_instance(
        "os_volume = { size = 60, on_spot_discontinue = \"move_to_trash\" }",
    ));
    ws.init();
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(
        text.contains("on_spot_discontinue needs a spot instance")
            && text.contains("is_spot = true"),
        "{text}"
    );
    // A contract known only at apply may yet be SPOT: not refused at plan.
    ws.write(&format!(
        "{}\nresource \"terraform_data\" \"contract\" {{\n  input = \"SPOT\"\n}}\n",
        spot_instance(
            "is_spot = false\n  contract = terraform_data.contract.output\n  \
             os_volume = { size = 60, on_spot_discontinue = \"move_to_trash\" }"
        )
    ));
    ws.ok(&["plan", "-input=false", "-no-color"]);
    ws.write(&spot_instance(
        "is_spot = true\n  os_volume = { size = 60, on_spot_discontinue = \"shred\" }",
    ));
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(
        text.contains("keep_detached") && text.contains("on_spot_discontinue"),
        "{text}"
    );
    assert_eq!(emu.admin.count("POST /v1/instances"), 0);

    ws.write(&spot_instance(
        "is_spot = true\n  os_volume = { size = 60, on_spot_discontinue = \"move_to_trash\" }",
    ));
    ws.apply();
    ws.assert_no_changes();
    let s = ws.values("datacrunch_instance.s");
    let os_volume_id = s["os_volume_id"].as_str().unwrap().to_owned();
    // The provider takes the spot instance back: the OS volume goes to the trash, as
    // the deploy asked.
    emu.admin
        .discontinue_spot(s["id"].as_str().unwrap())
        .unwrap();
    let client = api(&emu);
    let trash = block_on(async { client.trash().await.unwrap() });
    assert_eq!(
        trash.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
        [os_volume_id.as_str()]
    );
    let (code, plan) = ws.plan_exit_code();
    assert_eq!(code, 2, "{plan}");
    assert!(
        plan.contains("datacrunch_instance.s will be created"),
        "{plan}"
    );
}
