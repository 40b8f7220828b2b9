//! `moved` blocks from the official Verda provider (`verda-cloud/verda`), with the
//! pinned Terraform 1.15.5 against the emulator: the worked example of
//! docs/guides/migrating-from-verda.md, run as written. The objects are made through the
//! API, their state is written as the official provider writes it (its attribute names
//! and types, held by the stand-in `terraform-provider-verda` from test-support) and
//! pushed with `terraform state push`; the guide's second configuration then moves all
//! five kinds (key, script, volume, instance, cluster) with no create or destroy.

use datacrunch_models::{
    Cluster, ClusterStatus, CreateClusterRequest, CreateSshKeyRequest, CreateStartupScriptRequest,
    CreateVolumeRequest, DeployInstanceRequest, Instance, InstanceStatus, SharedVolumeSpec,
};
use serde_json::{json, Value as Json};
use test_support::datacrunch::*;

const GUIDE: &str = include_str!("../../../../docs/guides/migrating-from-verda.md");

/// The guide's ```terraform blocks: the configuration before and after the move.
fn guide_configs() -> (String, String) {
    let blocks: Vec<&str> = GUIDE
        .split("```terraform\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert_eq!(blocks.len(), 2, "the guide has a before and an after block");
    (blocks[0].to_owned(), blocks[1].to_owned())
}

/// The ids of the objects the "before" configuration made.
struct Made {
    key: String,
    script: String,
    volume: String,
    instance: String,
    cluster: String,
}

/// Makes the objects of the guide's "before" configuration through the API and returns
/// the state terraform-provider-verda would have written for them.
fn made_by_verda(emu: &datacrunch_emulator::RunningEmulator) -> (Made, Json) {
    let api = api(emu);
    block_on(async {
        let key_id = api
            .create_ssh_key(&CreateSshKeyRequest {
                name: "me".into(),
                key: PUBKEY.into(),
            })
            .await
            .unwrap();
        let key = api.ssh_key(&key_id).await.unwrap();
        let script_id = api
            .create_startup_script(&CreateStartupScriptRequest {
                name: "setup".into(),
                script: "#!/bin/sh\napt-get install -y fio\n".into(),
            })
            .await
            .unwrap();
        let script = api.startup_script(&script_id).await.unwrap();
        let volume_id = api
            .create_volume(&CreateVolumeRequest {
                volume_type: "NVMe".into(),
                name: "data".into(),
                size: 500,
                instance_id: None,
                instance_ids: Vec::new(),
                location_code: Some("FIN-01".into()),
                on_spot_discontinue: None,
                tags: Vec::new(),
            })
            .await
            .unwrap();
        let volume = api.volume(&volume_id).await.unwrap();
        let instance_id = api
            .deploy_instance(&DeployInstanceRequest {
                ssh_key_ids: vec![key_id.clone()],
                location_code: Some("FIN-01".into()),
                startup_script_id: Some(script_id.clone()),
                ..DeployInstanceRequest::new(
                    "1H100.80S.30V",
                    "ubuntu-24.04-cuda-12.8-open-docker",
                    "gpu-1",
                    "training",
                )
            })
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
        let instance = api
            .wait_for_instance(
                &instance_id,
                |i| i.status == InstanceStatus::Running,
                deadline,
                &Default::default(),
            )
            .await
            .unwrap();

        let cluster_id = api
            .create_cluster(&CreateClusterRequest {
                hostname: "train".into(),
                cluster_type: "16H200".into(),
                image: "ubuntu-22.04-cuda-12.4-cluster".into(),
                description: "training cluster".into(),
                ssh_key_ids: vec![key_id.clone()],
                contract: None,
                location_code: Some("FIN-03".into()),
                startup_script_id: None,
                shared_volume: Some(SharedVolumeSpec {
                    name: "train-home".into(),
                    size: 1000,
                }),
                existing_volumes: Vec::new(),
            })
            .await
            .unwrap();
        let cluster = loop {
            let c = api.cluster(&cluster_id).await.unwrap();
            if c.status == ClusterStatus::Running && c.ip.is_some() {
                break c;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "cluster not running: {c:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };

        let state = verda_state(&[
            (
                "verda_ssh_key",
                "me",
                json!({
                    "id": key.id,
                    "name": key.name,
                    "public_key": key.key,
                    // Their provider writes "" when the API sends none.
                    "fingerprint": key.fingerprint.unwrap_or_default(),
                    "created_at": key.created_at,
                }),
                &[],
            ),
            (
                "verda_startup_script",
                "setup",
                json!({
                    "id": script.id,
                    "name": script.name,
                    "script": script.script,
                    "created_at": script.created_at,
                }),
                &[],
            ),
            (
                "verda_volume",
                "data",
                json!({
                    "id": volume.id,
                    "name": volume.name,
                    "size": volume.size,
                    "type": volume.volume_type,
                    "location": volume.location,
                    "on_spot_discontinue": null,
                    "status": volume.status.to_string(),
                    "instance_id": volume.instance_id,
                    "created_at": volume.created_at,
                }),
                &[],
            ),
            (
                "verda_instance",
                "gpu",
                verda_instance(&instance),
                &["verda_ssh_key.me", "verda_startup_script.setup"],
            ),
            (
                "verda_cluster",
                "train",
                verda_cluster(&cluster),
                &["verda_ssh_key.me"],
            ),
        ]);
        let made = Made {
            key: key_id,
            script: script_id,
            volume: volume_id,
            instance: instance_id,
            cluster: cluster_id,
        };
        (made, state)
    })
}

/// A `verda_instance` state as their provider flattens the API's instance.
fn verda_instance(i: &Instance) -> Json {
    json!({
        "id": i.id,
        "instance_type": i.instance_type,
        "image": i.image,
        "hostname": i.hostname,
        "description": i.description,
        "price_per_hour": i.price_per_hour.to_string().parse::<f64>().unwrap(),
        "ip": i.ip,
        "status": i.status.to_string(),
        "created_at": i.created_at,
        "ssh_key_ids": i.ssh_key_ids,
        "location": i.location,
        "is_spot": i.is_spot,
        "os_name": i.os_name,
        "startup_script_id": i.startup_script_id,
        "os_volume_id": i.os_volume_id,
        "contract": i.contract.as_ref().map(|c| c.as_str()),
        "pricing": i.pricing.as_ref().map(|p| p.as_str()),
        "cpu": {"description": i.cpu.description, "number_of_cores": i.cpu.number_of_cores},
        "gpu": {"description": i.gpu.description, "number_of_gpus": i.gpu.number_of_gpus},
        "memory": {"description": i.memory.description,
                   "size_in_gigabytes": i.memory.size_in_gigabytes},
        "gpu_memory": {"description": i.gpu_memory.description,
                       "size_in_gigabytes": i.gpu_memory.size_in_gigabytes},
        "storage": {"description": i.storage.description},
        "volumes": null,
        "existing_volumes": null,
        "os_volume": null,
    })
}

/// A `verda_cluster` state as their provider flattens the API's cluster: `shared_volume`
/// as configured (their read keeps it), strings the API left out as "", and the
/// hardware summaries the emulator does not list as empty.
fn verda_cluster(c: &Cluster) -> Json {
    let summary = |number: Option<&str>| {
        let mut s = json!({"description": ""});
        if let Some(n) = number {
            s[n] = json!(0);
        }
        s
    };
    json!({
        "id": c.id,
        "cluster_type": c.cluster_type,
        "image": c.image,
        "hostname": c.hostname,
        "description": c.description,
        "shared_volume": {"name": "train-home", "size": 1000},
        "existing_volumes": null,
        "location": c.location,
        "contract": c.contract.as_ref().map_or("", |x| x.as_str()),
        "ssh_key_ids": c.ssh_key_ids,
        "startup_script_id": c.startup_script_id,
        "auto_rental_extension": null,
        "turn_to_pay_as_you_go": null,
        "ip": c.ip,
        "status": c.status.to_string(),
        "created_at": c.created_at,
        "price_per_hour": c.price_per_hour.to_string().parse::<f64>().unwrap(),
        "os_name": "",
        "cpu": summary(Some("number_of_cores")),
        "gpu": summary(Some("number_of_gpus")),
        "memory": summary(Some("size_in_gigabytes")),
        "gpu_memory": summary(Some("size_in_gigabytes")),
        "storage": summary(None),
        "shared_volumes": c.shared_volumes.iter().map(|v| json!({
            "id": v.id, "name": v.name, "mount_point": v.mount_point,
            "size_in_gigabytes": v.size_in_gigabytes,
        })).collect::<Vec<_>>(),
        "long_term_period": null,
        "worker_nodes": c.worker_nodes.iter().map(|w| json!({
            "id": w.id, "hostname": w.hostname, "status": w.status,
            "private_ip": w.private_ip, "public_ip": w.public_ip,
        })).collect::<Vec<_>>(),
    })
}

/// A state file (format 4) holding `resources` of the official provider:
/// (type, name, attributes, dependencies).
fn verda_state(resources: &[(&str, &str, Json, &[&str])]) -> Json {
    let resources: Vec<Json> = resources
        .iter()
        .map(|(ty, name, attributes, dependencies)| {
            json!({
                "mode": "managed",
                "type": ty,
                "name": name,
                "provider": format!("provider[\"{VERDA_SOURCE}\"]"),
                "instances": [{
                    "schema_version": 0,
                    "attributes": attributes,
                    "sensitive_attributes": [],
                    "dependencies": dependencies,
                }]
            })
        })
        .collect();
    json!({
        "version": 4,
        "terraform_version": "1.8.0",
        "serial": 1,
        "lineage": "6f1c9e4a-57a8-4b1d-9a63-0c2b0e7f5d21",
        "outputs": {},
        "resources": resources,
        "check_results": null,
    })
}

#[test]
fn the_guides_moved_blocks_take_over_verda_state_without_create_or_destroy() {
    let tf = terraform();
    let emu = emulator();
    let ws =
        EmulatedWorkspace::with_other_providers(&tf, &emu, provider(), &[verda_standin().clone()]);
    // The guide reads the key from ~/.ssh/id_ed25519.pub; HOME is the workspace's.
    std::fs::create_dir_all(ws.home().join(".ssh")).unwrap();
    std::fs::write(ws.home().join(".ssh/id_ed25519.pub"), format!("{PUBKEY}\n")).unwrap();
    let (before, after) = guide_configs();
    let (made, state) = made_by_verda(&emu);

    // The state matches the guide's "before" configuration: with the official
    // provider's schemas, nothing to change.
    // (Each init rewrites the lock file for the providers that configuration needs,
    // and so warns that it holds checksums of this platform only: not checked here.)
    let init = ["init", "-input=false", "-no-color"];
    ws.write_file("main.tf", &before);
    ws.ok(&init);
    ws.write_file("verda.tfstate", &state.to_string());
    ws.ok(&["state", "push", "verda.tfstate"]);
    ws.assert_no_changes();

    // The "after" configuration moves each one, and plans nothing else.
    ws.write_file("main.tf", &after);
    ws.ok(&init);
    let plan = ws.ok(&["plan", "-input=false", "-no-color"]);
    for (from, to) in [
        ("verda_ssh_key.me", "datacrunch_ssh_key.me"),
        (
            "verda_startup_script.setup",
            "datacrunch_startup_script.setup",
        ),
        ("verda_instance.gpu", "datacrunch_instance.gpu"),
        ("verda_cluster.train", "datacrunch_cluster.train"),
    ] {
        assert!(
            plan.contains(&format!("# {from} has moved to {to}")),
            "{from} not moved:\n{plan}"
        );
    }
    // Moved too, and changed (below), which Terraform words differently.
    assert!(
        flat(&plan).contains(
            "# datacrunch_volume.data will be updated in-place # (moved from verda_volume.data)"
        ),
        "verda_volume.data not moved:\n{plan}"
    );
    // The one change: the moved volume's delete_permanently, false in the moved state
    // (nobody asked for permanent deletion), to the configured default.
    assert!(
        plan.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{plan}"
    );
    assert!(
        flat(&plan).contains("~ delete_permanently = false -> true"),
        "{plan}"
    );
    ws.apply();

    // Same objects, now ours; nothing left of theirs; nothing else planned.
    for (address, id) in [
        ("datacrunch_ssh_key.me", &made.key),
        ("datacrunch_startup_script.setup", &made.script),
        ("datacrunch_volume.data", &made.volume),
        ("datacrunch_instance.gpu", &made.instance),
        ("datacrunch_cluster.train", &made.cluster),
    ] {
        assert_eq!(ws.values(address)["id"], id.as_str(), "{address}");
    }
    let listed = ws.ok(&["state", "list"]);
    assert!(!listed.contains("verda_"), "{listed}");
    ws.assert_no_changes();
    let live = live_instances(&emu);
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["id"], made.instance.as_str());
}
