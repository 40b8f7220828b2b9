//! Wire-level tests of the cluster API: create answering `{"id"}`, the lifecycle to
//! `running` with the jump host and worker nodes, capacity shared with instances,
//! billing, tags, delete through `PUT /clusters` in both request shapes, cluster
//! types, availability and images, and the error shapes.

use crate::common::{builder, start, start_with, to_running, ED25519};
use serde_json::{json, Value};
use std::time::Duration;

fn h200_cluster(hostname: &str) -> Value {
    json!({
        "hostname": hostname,
        "cluster_type": "16H200",
        "image": "ubuntu-22.04-cuda-12.4-cluster",
        "description": "training",
        "location_code": "FIN-03",
        "shared_volume": {"name": "home", "size": 1000},
    })
}

#[tokio::test]
async fn cluster_lifecycle_billing_and_delete() {
    let (emu, api) = start().await;
    let key = api
        .post("/sshkeys", json!({"name": "k", "key": ED25519}))
        .await
        .text;
    let mut body = h200_cluster("train");
    body["ssh_key_ids"] = json!([key]);
    let created = api.post("/clusters", body).await;
    assert_eq!(created.status, 202);
    assert!(created.content_type.starts_with("application/json"));
    let id = created.json()["id"].as_str().unwrap().to_owned();

    let ordered = api.get(&format!("/clusters/{id}")).await.json();
    assert_eq!(ordered["status"], "ordered");
    assert_eq!(ordered["ip"], Value::Null, "no jump host before running");
    assert_eq!(ordered["node_count"], 2);
    assert_eq!(ordered["shared_volumes"][0]["size_in_gigabytes"], 1000);
    assert_eq!(ordered["shared_volumes"][0]["mount_point"], "/home");

    to_running(&emu);
    let balance_before = emu.admin.balance();
    let running = api.get(&format!("/clusters/{id}")).await.json();
    assert_eq!(running["status"], "running");
    assert!(running["ip"].as_str().unwrap().starts_with("127."));
    let workers = running["worker_nodes"].as_array().unwrap();
    assert_eq!(workers.len(), 2);
    assert_eq!(workers[0]["hostname"], "train-1");
    // Each node has an address of its own (where its sandbox listens, when nodes are
    // sandboxes), none the jump host's.
    let addresses: std::collections::BTreeSet<&str> = workers
        .iter()
        .map(|w| w["private_ip"].as_str().unwrap())
        .chain([running["ip"].as_str().unwrap()])
        .collect();
    assert_eq!(addresses.len(), 3, "{running}");
    assert!(addresses.iter().all(|a| a.starts_with("127.")), "{running}");
    assert_eq!(running["ssh_key_ids"], json!([key]));
    assert_eq!(
        api.get("/clusters?status=running").await.json()[0]["id"],
        id.as_str()
    );

    // Billed while running, at the type's price (2 x 8H200 at 20.72/h).
    emu.admin.advance_clock(Duration::from_secs(3600));
    let spent = balance_before - emu.admin.balance();
    assert_eq!(spent.round_dp(2).to_string(), "41.44");

    // The nodes hold two on-demand slots of their instance type.
    let slot = |emu: &datacrunch_emulator::RunningEmulator| {
        emu.admin
            .capacity()
            .into_iter()
            .find(|s| {
                s.slot.instance_type == "8H200.141S.176V"
                    && s.slot.location == "FIN-03"
                    && !s.slot.is_spot
            })
            .unwrap()
            .used
    };
    assert_eq!(slot(&emu), 2);

    // The Python SDK's shape: {"id": [...], "action": "discontinue"}.
    let deleted = api
        .put("/clusters", json!({"id": [id], "action": "discontinue"}))
        .await;
    assert_eq!(deleted.status, 202, "{:?}", deleted.text);
    assert_eq!(slot(&emu), 0, "delete gives every node's slot back");
    assert_eq!(
        api.get(&format!("/clusters/{id}")).await.json()["status"],
        "discontinued"
    );
    api.put(
        "/clusters",
        json!({"actions": [{"id": id, "action": "discontinue"}]}),
    )
    .await
    .assert_error(403, "forbidden_action", "discontinued");
    let after = emu.admin.balance();
    emu.admin.advance_clock(Duration::from_secs(3600));
    assert_eq!(
        emu.admin.balance(),
        after,
        "a deleted cluster bills no more"
    );
    api.get(&format!("/clusters/{id}"))
        .await
        .assert_error(404, "not_found", "Invalid cluster id");
    assert!(api
        .get("/clusters")
        .await
        .json()
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn cluster_create_is_refused_like_a_deploy() {
    let (emu, api) = start().await;
    for (change, status, code, fragment) in [
        (
            json!({"cluster_type": "9X9"}),
            400,
            "invalid_request",
            "cluster_type",
        ),
        (
            json!({"image": "ubuntu-22.04-cuda-12.0-docker"}),
            400,
            "invalid_request",
            "/images/cluster",
        ),
        (
            json!({"location_code": "ICE-01"}),
            400,
            "invalid_request",
            "FIN-03",
        ),
        (
            json!({"hostname": "bad host"}),
            400,
            "invalid_request",
            "hostname",
        ),
        (
            json!({"ssh_key_ids": ["nope"]}),
            400,
            "invalid_request",
            "ssh-key",
        ),
        (
            json!({"shared_volume": {"name": "x", "size": 0}}),
            400,
            "invalid_request",
            "shared_volume.size",
        ),
    ] {
        let mut body = h200_cluster("c");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        api.post("/clusters", body)
            .await
            .assert_error(status, code, fragment);
    }

    // Capacity: one free node slot is not enough for a two-node cluster.
    emu.admin
        .set_capacity("8H200.141S.176V", "FIN-03", false, 1)
        .unwrap();
    let avail = api
        .get("/cluster-availability?location_code=FIN-03")
        .await
        .json();
    assert!(!avail[0]["availabilities"]
        .as_array()
        .unwrap()
        .contains(&json!("16H200")));
    assert_eq!(api.get("/cluster-availability/16H200").await.json(), false);
    api.post("/clusters", h200_cluster("c")).await.assert_error(
        503,
        "service_unavailable",
        "Not enough resources",
    );
    emu.admin
        .set_capacity("8H200.141S.176V", "FIN-03", false, 2)
        .unwrap();
    assert_eq!(api.get("/cluster-availability/16H200").await.json(), true);

    // Funds: an hour of the cluster's price.
    emu.admin.set_balance(rust_decimal::Decimal::from(10));
    api.post("/clusters", h200_cluster("c")).await.assert_error(
        402,
        "insufficient_funds",
        "balance",
    );
    assert!(
        emu.admin.clusters().is_empty(),
        "a refused create leaves nothing"
    );
}

#[tokio::test]
async fn cluster_delete_before_running_and_multi_id_answers() {
    let (emu, api) = start().await;
    let a = api.post("/clusters", h200_cluster("a")).await.json()["id"].clone();
    api.put("/clusters", json!({"id": a, "action": "discontinue"}))
        .await
        .assert_error(403, "forbidden_action", "ordered");
    to_running(&emu);
    let both = api
        .put(
            "/clusters",
            json!({"actions": [
                {"id": a, "action": "delete"},
                {"id": "missing", "action": "discontinue"}]}),
        )
        .await;
    assert_eq!(both.status, 207);
    let items = both.json();
    assert_eq!(items[0]["status"], "success");
    assert_eq!(items[1]["status_code"], 404);
    api.put("/clusters", json!({"id": "x", "action": "reboot"}))
        .await
        .assert_error(400, "invalid_request", "discontinue");
}

#[tokio::test]
async fn cluster_tags_types_and_images() {
    let (emu, api) = start().await;
    let id = api.post("/clusters", h200_cluster("t")).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    to_running(&emu);
    let tag = api
        .post(
            &format!("/clusters/{id}/tags"),
            json!({"key": "Team", "value": "ml"}),
        )
        .await;
    assert_eq!(tag.status, 201);
    api.post(&format!("/clusters/{id}/tags"), json!({"key": "team"}))
        .await
        .assert_error(409, "conflict", "team");
    assert_eq!(
        api.get(&format!("/clusters/{id}")).await.json()["tags"],
        json!([{"key": "team", "value": "ml"}])
    );
    assert_eq!(
        api.delete(&format!("/clusters/{id}/tags/team"), None)
            .await
            .status,
        200
    );

    let types = api.get("/cluster-types").await.json();
    let h200 = types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["cluster_type"] == "16H200")
        .unwrap();
    assert_eq!(h200["price_per_hour"], "41.44");
    assert_eq!(h200["gpu"]["number_of_gpus"], 16);
    assert_eq!(h200["node_count"], 2);

    let images = api.get("/images/cluster").await.json();
    for image in images.as_array().unwrap() {
        assert!(image["image_type"].as_str().unwrap().ends_with("-cluster"));
        assert_eq!(image["is_cluster"], true);
    }
    let plain = api.get("/images").await.json();
    assert!(plain
        .as_array()
        .unwrap()
        .iter()
        .all(|i| !i["image_type"].as_str().unwrap().ends_with("-cluster")));
}

#[tokio::test]
async fn a_node_type_in_late_no_capacity_mode_fails_the_cluster_after_accepting_it() {
    let (emu, api) = start().await;
    emu.admin
        .set_late_no_capacity("8H200.141S.176V", "FIN-03", true);
    let id = api.post("/clusters", h200_cluster("late")).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    to_running(&emu);
    let c = api.get(&format!("/clusters/{id}")).await.json();
    assert_eq!(c["status"], "no_capacity");
    assert_eq!(emu.admin.clusters()[0]["holds_capacity"], false);
    let before = emu.admin.balance();
    emu.admin.advance_clock(Duration::from_secs(3600));
    assert_eq!(
        emu.admin.balance(),
        before,
        "a failed cluster bills nothing"
    );
    assert_eq!(
        api.put("/clusters", json!({"id": id, "action": "discontinue"}))
            .await
            .status,
        202
    );
}

/// The shared volume is a real volume (listed by `GET /volumes`, as the cluster shows
/// it); existing volumes are taken (attached) by the cluster; deleting the cluster
/// deletes its shared volume for good (neither listed nor in the trash) and gives the
/// existing volumes back, detached.
#[tokio::test]
async fn the_shared_volume_is_a_volume_and_goes_with_the_cluster() {
    let (emu, api) = start().await;
    let data = api
        .post(
            "/volumes",
            json!({"type": "NVMe", "name": "data", "size": 100, "location_code": "FIN-03"}),
        )
        .await
        .text;
    let mut body = h200_cluster("vol");
    body["existing_volume_ids"] = json!([data]);
    let id = api.post("/clusters", body).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cluster = api.get(&format!("/clusters/{id}")).await.json();
    let shared_id = cluster["shared_volumes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let volume = |list: &Value, id: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .cloned()
    };
    let listed = api.get("/volumes").await.json();
    let shared = volume(&listed, &shared_id).expect("the shared volume is listed");
    assert_eq!(shared["name"], "home");
    assert_eq!(shared["size"], 1000);
    assert_eq!(shared["type"], "NVMe_Shared");
    assert_eq!(shared["location"], "FIN-03");
    assert_eq!(shared["status"], "attached");
    assert_eq!(volume(&listed, &data).unwrap()["status"], "attached");
    // Taken by this cluster, the volume cannot go to another one.
    let mut other = h200_cluster("other");
    other["existing_volume_ids"] = json!([data]);
    api.post("/clusters", other)
        .await
        .assert_error(400, "invalid_request", "not detached");

    to_running(&emu);
    let deleted = api
        .put("/clusters", json!({"id": [id], "action": "discontinue"}))
        .await;
    assert_eq!(deleted.status, 202, "{:?}", deleted.text);
    let listed = api.get("/volumes").await.json();
    assert!(volume(&listed, &shared_id).is_none(), "{listed}");
    let trash = api.get("/volumes/trash").await.json();
    assert!(volume(&trash, &shared_id).is_none(), "{trash}");
    assert_eq!(volume(&listed, &data).unwrap()["status"], "detached");
}

/// With sandboxed nodes, a running cluster's jump host and every worker are sshd
/// sandboxes with their own hostname and address and the cluster's keys; each worker
/// answers through the jump host (ProxyJump); deleting the cluster stops them all and
/// removes their disks.
#[tokio::test]
async fn cluster_nodes_are_sandboxes_reached_through_the_jump_host() {
    use crate::sandbox::{processes_of, ready_nodes, sandboxes_possible, user_key};
    if !sandboxes_possible() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nodes_dir = dir.path().join("nodes");
    let config = datacrunch_emulator::Config {
        timing: crate::common::frozen_timing(),
        nodes: datacrunch_emulator::sandbox::NodeMode::Sandbox,
        nodes_dir: Some(nodes_dir.clone()),
        ..Default::default()
    };
    let (emu, api) = crate::common::start_with(crate::common::builder().config(config)).await;
    let (key, public) = user_key(dir.path());
    let key_id = api
        .post("/sshkeys", json!({"name": "k", "key": public}))
        .await
        .text;
    let mut body = h200_cluster("gpu");
    body["ssh_key_ids"] = json!([key_id]);
    let id = api.post("/clusters", body).await.json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    to_running(&emu);
    let cluster = api.get(&format!("/clusters/{id}")).await.json();
    let workers = cluster["worker_nodes"].as_array().unwrap().clone();
    let mut ids = vec![id.as_str()];
    ids.extend(workers.iter().map(|w| w["id"].as_str().unwrap()));
    let nodes = ready_nodes(&emu.admin_url, &ids).await;
    assert_eq!(
        nodes[0]["ip"], cluster["ip"],
        "the jump host is at the cluster's ip"
    );

    // An ssh config as a user writes one: the jump host, each worker through it.
    let mut config = String::new();
    for (alias, node) in
        std::iter::once(("jump", &nodes[0])).chain(["w1", "w2"].into_iter().zip(&nodes[1..]))
    {
        config.push_str(&format!(
            "Host {alias}\n HostName {}\n Port {}\n User root\n IdentityFile {}\n \
             UserKnownHostsFile {}\n StrictHostKeyChecking accept-new\n BatchMode yes\n",
            node["ip"].as_str().unwrap(),
            node["port"],
            key.display(),
            dir.path().join("known_hosts").display(),
        ));
        if alias != "jump" {
            config.push_str(" ProxyJump jump\n");
        }
    }
    let config_file = dir.path().join("ssh_config");
    std::fs::write(&config_file, config).unwrap();
    let ssh = |alias: &str| {
        let out = std::process::Command::new("ssh")
            .arg("-F")
            .arg(&config_file)
            .args([alias, "hostname"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ssh {alias}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(ssh("jump"), "gpu");
    assert_eq!(ssh("w1"), workers[0]["hostname"].as_str().unwrap());
    assert_eq!(ssh("w2"), workers[1]["hostname"].as_str().unwrap());
    for node in &ids {
        assert!(nodes_dir.join(node).is_dir(), "no disk for {node}");
    }

    api.put("/clusters", json!({"id": [id], "action": "discontinue"}))
        .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ids.iter().any(|n| nodes_dir.join(n).exists()) || !processes_of(&nodes_dir).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "a deleted cluster's node or disk is left: {:?}",
            processes_of(&nodes_dir)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    emu.shutdown().await;
}

/// The shared volume counts against the storage quota: a cluster whose volume does not
/// fit is refused like a volume create, and nothing of it exists.
#[tokio::test]
async fn a_shared_volume_over_the_storage_quota_refuses_the_cluster() {
    let (_emu, api) = start_with(builder().storage_quota_gb(500)).await;
    api.post("/clusters", h200_cluster("big"))
        .await
        .assert_error(
            403,
            "forbidden_action",
            "Storage quota exceeded: the cluster's shared volume needs 1000 GB",
        );
    let clusters = api.get("/clusters").await.json();
    assert_eq!(clusters, json!([]));
    let volumes = api.get("/volumes").await.json();
    assert_eq!(volumes, json!([]));
}
