//! `datacrunch_cluster` and the cluster data sources end to end: create waiting until
//! running, no-change plan, tags in place, import, a cluster deleted behind Terraform's
//! back re-created, destroy leaving nothing; plan-time refusals with a "did you mean";
//! a cluster that fails after being accepted deleted by the apply that made it; an
//! apply killed while its cluster comes up (before its tags were set) leaves a cluster
//! the next apply takes over and tags, never a second one; nor does a lost create
//! answer.

use test_support::datacrunch::*;

fn config(cluster: &str) -> String {
    format!(
        r##"
provider "datacrunch" {{}}

data "datacrunch_cluster_types" "all" {{}}
data "datacrunch_cluster_images" "h200" {{
  cluster_type = "16H200"
}}
data "datacrunch_cluster_availability" "fin3" {{
  location_code = "FIN-03"
}}

resource "datacrunch_ssh_key" "k" {{
  name       = "cluster-key"
  public_key = "{PUBKEY}"
}}

resource "datacrunch_cluster" "c" {{
  cluster_type  = "16H200"
  hostname      = "train"
  location_code = "FIN-03"
  ssh_key_ids   = [datacrunch_ssh_key.k.id]
  shared_volume = {{
    name = "home"
    size = 1000
  }}
  {cluster}
}}

output "types" {{
  value = [for t in data.datacrunch_cluster_types.all.cluster_types : t.cluster_type]
}}
output "images" {{
  value = [for i in data.datacrunch_cluster_images.h200.images : i.image_type]
}}
output "available" {{
  value = [for a in data.datacrunch_cluster_availability.fin3.availability : a.cluster_type]
}}
"##
    )
}

const IMAGE: &str = "image = \"ubuntu-22.04-cuda-12.4-cluster\"";

fn live_clusters(emu: &datacrunch_emulator::RunningEmulator) -> Vec<serde_json::Value> {
    emu.admin
        .clusters()
        .into_iter()
        .filter(|c| c["status"] != "discontinued" && c["holds_capacity"] == true)
        .collect()
}

#[test]
fn cluster_lifecycle_import_drift_and_destroy() {
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&config(&format!("{IMAGE}\n  tags = {{ team = \"ml\" }}")));
    ws.init();
    let out = ws.apply();
    assert!(out.contains("2 added"), "{out}");
    let c = ws.values("datacrunch_cluster.c");
    assert_eq!(c["status"], "running");
    assert!(c["ip"].as_str().unwrap().starts_with("127."), "{c}");
    assert_eq!(c["price_per_hour"], 41.44);
    let workers = c["worker_nodes"].as_array().unwrap();
    assert_eq!(workers.len(), 2);
    assert_eq!(workers[0]["hostname"], "train-1");
    // Each worker at an address of its own (where the emulator's sandbox listens).
    assert!(
        workers[0]["private_ip"]
            .as_str()
            .unwrap()
            .starts_with("127."),
        "{c}"
    );
    assert_ne!(workers[0]["private_ip"], workers[1]["private_ip"], "{c}");
    // `location` is where the API says the cluster is; `location_code` what was asked.
    assert_eq!(c["location"], "FIN-03");
    assert_eq!(c["shared_volume"]["size"], 1000);
    let outputs = ws.ok(&["output", "-json"]);
    assert!(
        outputs.contains("16H200") && outputs.contains("-cluster"),
        "{outputs}"
    );
    ws.assert_no_changes();

    // Tags change in place: same cluster.
    ws.write(&config(&format!(
        "{IMAGE}\n  tags = {{ team = \"infra\" }}"
    )));
    let (_, plan) = ws.plan_exit_code();
    assert!(
        plan.contains("updated in-place") && !plan.contains("must be replaced"),
        "{plan}"
    );
    ws.apply();
    assert_eq!(ws.values("datacrunch_cluster.c")["id"], c["id"]);
    let id = c["id"].as_str().unwrap().to_owned();
    let client = api(&emu);
    let tags = block_on(async { client.cluster(&id).await.unwrap().tags });
    assert_eq!(tags[0].value.as_deref(), Some("infra"));
    ws.assert_no_changes();

    // Import into a fresh workspace: no changes after.
    let ws2 = EmulatedWorkspace::new(&terraform(), &emu);
    let key_id = ws.values("datacrunch_ssh_key.k")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ws2.write(&format!(
        "{}\nimport {{\n  to = datacrunch_cluster.c\n  id = \"{id}\"\n}}\nimport {{\n  to = datacrunch_ssh_key.k\n  id = \"{key_id}\"\n}}\n",
        config(&format!("{IMAGE}\n  tags = {{ team = \"infra\" }}")),
    ));
    ws2.init();
    let out = ws2.apply();
    assert!(
        out.contains("2 imported, 0 added, 0 changed, 0 destroyed"),
        "{out}"
    );
    ws2.assert_no_changes();

    // Deleted behind Terraform's back: the next apply creates it again.
    block_on(async { client.delete_cluster(&id).await.unwrap() });
    let (code, plan) = ws.plan_exit_code();
    assert_eq!(code, 2);
    assert!(
        plan.contains("datacrunch_cluster.c will be created"),
        "{plan}"
    );
    ws.apply();
    let again = ws.values("datacrunch_cluster.c");
    assert_ne!(again["id"], c["id"]);
    assert_eq!(again["status"], "running");
    assert_eq!(live_clusters(&emu).len(), 1);

    // Destroy leaves nothing running or billed.
    ws.destroy();
    assert!(
        live_clusters(&emu).is_empty(),
        "{:#?}",
        emu.admin.clusters()
    );
    let listed = block_on(async { client.clusters(None).await.unwrap() });
    assert!(listed.iter().all(|c| c.status.is_gone()), "{listed:#?}");
    let balance = emu.admin.balance();
    emu.admin
        .advance_clock(std::time::Duration::from_secs(3600));
    assert_eq!(emu.admin.balance(), balance, "nothing bills after destroy");
}

#[test]
fn cluster_plan_refuses_unknown_type_and_non_cluster_image_with_a_suggestion() {
    let emu = emulator();
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&config("image = \"ubuntu-22.04-cuda-12.4-clustr\""));
    ws.init();
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(text.contains("Unknown cluster image"), "{text}");
    assert!(
        text.contains("Did you mean \"ubuntu-22.04-cuda-12.4-cluster\"?"),
        "{text}"
    );
    // An instance image is no cluster image.
    ws.write(&config("image = \"ubuntu-22.04-cuda-12.0-docker\""));
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(text.contains("/images/cluster"), "{text}");

    ws.write(&config(IMAGE).replace("\"16H200\"\n  hostname", "\"16H20\"\n  hostname"));
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(text.contains("Did you mean \"16H200\"?"), "{text}");

    // No capacity where asked: refused at plan time, naming the problem.
    emu.admin
        .set_capacity("8H200.141S.176V", "FIN-03", false, 1)
        .unwrap();
    ws.write(&config(IMAGE));
    let text = flat(&ws.fails(&["plan", "-input=false", "-no-color"]));
    assert!(
        text.contains("No capacity for cluster type 16H200 in FIN-03"),
        "{text}"
    );
    assert!(emu.admin.clusters().is_empty());
}

#[test]
fn a_cluster_that_fails_after_being_accepted_is_deleted_not_left_billing() {
    let emu = emulator();
    emu.admin
        .set_late_no_capacity("8H200.141S.176V", "FIN-03", true);
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&config(IMAGE));
    ws.init();
    let text = flat(&ws.fails(&["apply", "-auto-approve", "-input=false", "-no-color"]));
    assert!(text.contains("no_capacity"), "{text}");
    assert!(text.contains("Deleted the failed cluster"), "{text}");
    let clusters = emu.admin.clusters();
    assert_eq!(clusters.len(), 1, "{clusters:#?}");
    assert_eq!(clusters[0]["status"], "discontinued", "{clusters:#?}");
    let state = ws.ok(&["state", "list"]);
    assert!(!state.contains("datacrunch_cluster.c"), "{state}");
}

#[test]
fn a_cluster_left_by_a_killed_apply_is_taken_over_and_tagged_not_created_twice() {
    use datacrunch_emulator::FaultRule;
    use std::time::Duration;
    let emu = emulator_with(|b| b.provisioning_time(Duration::from_secs(6)));
    // Tagging hangs: the apply is killed after the create, before any tag is set, so
    // the cluster carries nothing of this configuration but what the create sent.
    let slow_tags = FaultRule {
        latency_ms: 60_000,
        ..Default::default()
    };
    emu.admin
        .set_fault("POST /v1/clusters/{id}/tags", slow_tags)
        .unwrap();
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&config(&format!("{IMAGE}\n  tags = {{ team = \"ml\" }}")));
    ws.init();
    let mut child = ws
        .command(&["apply", "-auto-approve", "-input=false", "-no-color"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    test_support::process::wait_until(
        Duration::from_secs(60),
        || emu.admin.count("POST /v1/clusters/{id}/tags") >= 1,
        || "the apply never created and began tagging its cluster".into(),
    );
    crate::failures::kill_terraform_and_its_provider(&ws, &mut child);
    emu.admin.clear_faults();
    let left = live_clusters(&emu);
    assert_eq!(left.len(), 1, "{left:#?}");
    let id = left[0]["id"].as_str().unwrap().to_owned();
    let client = api(&emu);
    let untagged = block_on(async { client.cluster(&id).await.unwrap() });
    assert!(untagged.tags.is_empty(), "{untagged:?}");

    // The killed run left its state lock behind.
    let out = ws.ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-no-color",
        "-lock=false",
    ]);
    assert!(
        out.contains("Adopted a cluster from an interrupted create"),
        "{out}"
    );
    assert_eq!(
        emu.admin.count("POST /v1/clusters"),
        1,
        "a second create: {out}"
    );
    let c = ws.values("datacrunch_cluster.c");
    assert_eq!(c["id"], id.as_str());
    assert_eq!(c["status"], "running");
    // The token the recovery finds it by stays out of the configured description.
    assert_eq!(c["description"], "", "{c}");
    let tagged = block_on(async { client.cluster(&id).await.unwrap() });
    let tags: Vec<(String, Option<String>)> =
        tagged.tags.into_iter().map(|t| (t.key, t.value)).collect();
    assert_eq!(tags, [("team".to_owned(), Some("ml".to_owned()))]);
    ws.assert_no_changes();
    ws.destroy();
    assert!(live_clusters(&emu).is_empty());
}

#[test]
fn lost_cluster_create_answers_never_make_a_second_cluster() {
    // Every create takes effect and loses its answer: the cluster is found by hostname
    // and the description with its create token, never created again.
    let emu = emulator_with(|b| {
        b.fault(
            "POST /v1/clusters",
            datacrunch_emulator::FaultRule {
                lost_answer_rate: 1.0,
                ..Default::default()
            },
        )
    });
    let ws = EmulatedWorkspace::new(&terraform(), &emu);
    ws.write(&config(IMAGE));
    ws.init();
    ws.apply();
    let lost = emu.admin.injected_faults().get("lost_answer").copied();
    assert!(lost.unwrap_or(0) >= 1, "no create answer was lost");
    let ever = emu.admin.clusters();
    assert_eq!(ever.len(), 1, "{ever:#?}");
    assert_eq!(ws.values("datacrunch_cluster.c")["id"], ever[0]["id"]);
    ws.assert_no_changes();
    ws.destroy();
    assert!(live_clusters(&emu).is_empty());
}
