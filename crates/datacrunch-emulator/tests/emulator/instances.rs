//! Wire-level tests of instances: deploy validation, capacity, balance, the lifecycle
//! on the virtual clock, actions (202/207), delete's volume semantics, and tags.

use crate::common::{builder, start, start_with, to_running, v100, ED25519};
use rust_decimal::Decimal;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn deploy_validation_names_the_field() {
    let (_emu, api) = start().await;
    let with = |patch: serde_json::Value| {
        let mut body = v100("box");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (with(json!({"instance_type": "9Z999.1V"})), "instance_type"),
        (with(json!({"image": "windows-95"})), "image"),
        (with(json!({"location_code": "MARS-1"})), "location_code"),
        (with(json!({"hostname": "bad_name"})), "hostname"),
        (with(json!({"hostname": "-edge"})), "hostname"),
        (
            with(json!({"image": "ubuntu-24.04-cuda-12.8-open-docker"})),
            "Operating system is not valid for this instance type",
        ),
        (
            with(json!({"ssh_key_ids": ["00000000-0000-4000-8000-000000000000"]})),
            "ssh_key_ids",
        ),
        (
            with(json!({"startup_script_id": "nope"})),
            "startup_script_id",
        ),
        (
            with(json!({"os_volume": {"name": "os", "size": 0}})),
            "os_volume.size",
        ),
        (
            with(json!({"volumes": [{"name": "d", "size": 10, "type": "Floppy"}]})),
            "volumes.type",
        ),
        (with(json!({"description": 42})), "description"),
        (
            with(json!({"ssh_key_ids": [1]})),
            "at ssh_key_ids: expected a string or an array of strings",
        ),
        (
            json!({"instance_type": "1V100.6V", "image": "ubuntu-22.04", "description": "x"}),
            "hostname",
        ),
        (with(json!({"tags": [{"key": "a"}, {"key": "A"}]})), "tags"),
    ];
    for (body, fragment) in cases {
        api.post("/instances", body.clone())
            .await
            .assert_error(400, "invalid_request", fragment);
    }
    for raw in [
        "",
        "{",
        "[1,2]",
        "{\"instance_type\": \"1V100.6V\"} trailing",
        "null",
    ] {
        let a = api
            .call(reqwest::Method::POST, "/instances", Some(raw))
            .await;
        a.assert_error(400, "invalid_request", "");
    }
    // The image may be given by id too (dstack does), and the 22.04 image suits V100.
    let id = api
        .deploy(with(
            json!({"image": "2088da25-bb0d-41cc-a191-dccae45d96fd"}),
        ))
        .await;
    assert_eq!(
        api.instance(&id).await["image"],
        "ubuntu-22.04-cuda-12.0-docker"
    );
}

#[tokio::test]
async fn lifecycle_follows_the_virtual_clock() {
    let (emu, api) = start().await;
    let key = api
        .post("/sshkeys", json!({"name": "k", "key": ED25519}))
        .await
        .text;
    let mut body = v100("life");
    body["ssh_key_ids"] = json!([key]);
    body["os_volume"] = json!({"name": "os", "size": 80});
    let id = api.deploy(body).await;
    let fresh = api.instance(&id).await;
    assert_eq!(fresh["status"], "ordered");
    assert_eq!(fresh["ip"], json!(null));
    assert_eq!(fresh["os_volume_id"], json!(null));
    assert_eq!(fresh["location"], "FIN-01");
    assert_eq!(fresh["price_per_hour"], 0.14, "a number on instances");
    assert!(fresh["created_at"].as_str().unwrap().ends_with('Z'));

    emu.admin.advance_clock(Duration::from_secs(11));
    assert_eq!(api.status(&id).await, "provisioning");
    api.action("delete", &[&id]).await.assert_error(
        403,
        "forbidden_action",
        "Can't discontinue a provisioning instance",
    );

    to_running(&emu);
    let running = api.instance(&id).await;
    assert_eq!(running["status"], "running");
    let ip = running["ip"].as_str().unwrap();
    assert!(ip.starts_with("127.") && ip != "127.0.0.1", "{ip}");
    let os_volume = running["os_volume_id"].as_str().unwrap();
    let volume = api.get(&format!("/volumes/{os_volume}")).await.json();
    assert_eq!(
        (volume["size"].as_u64(), volume["status"].as_str()),
        (Some(80), Some("attached"))
    );

    let listed = api.get("/instances?status=running").await.json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(api.get("/instances?status=offline").await.json(), json!([]));
    api.get("/instances?status=sleepy")
        .await
        .assert_error(400, "invalid_request", "sleepy");

    // hibernate only from offline
    api.action("hibernate", &[&id]).await.assert_error(
        400,
        "invalid_request",
        "shut it down first",
    );
    let ok = api.action("shutdown", &[&id]).await;
    assert_eq!(ok.status, 202);
    assert_eq!(
        ok.json(),
        json!([{"action": "shutdown", "instanceId": id, "status": "success"}])
    );
    assert_eq!(api.status(&id).await, "offline");
    assert_eq!(api.action("start", &[&id]).await.status, 202);
    assert_eq!(api.status(&id).await, "running");
    api.action("shutdown", &[&id]).await;
    assert_eq!(api.action("hibernate", &[&id]).await.status, 202);
    assert_eq!(api.status(&id).await, "starting_hibernation");
    emu.admin.advance_clock(Duration::from_secs(51));
    assert_eq!(api.status(&id).await, "hibernating");
    api.action("start", &[&id]).await.assert_error(
        400,
        "invalid_request",
        "Can't start a hibernating instance",
    );
    assert_eq!(api.action("restore", &[&id]).await.status, 202);
    assert_eq!(api.status(&id).await, "restoring");
    api.action("delete", &[&id]).await.assert_error(
        403,
        "forbidden_action",
        "Can't discontinue a restoring instance",
    );
    emu.admin.advance_clock(Duration::from_secs(51));
    assert_eq!(api.status(&id).await, "running");

    assert_eq!(api.action("delete", &[&id]).await.status, 202);
    assert_eq!(api.status(&id).await, "discontinued");
    api.action("delete", &[&id]).await.assert_error(
        403,
        "forbidden_action",
        "Can't discontinue a discontinued instance",
    );
    // volume_ids absent: the OS volume is deleted.
    assert_eq!(
        api.get(&format!("/volumes/{os_volume}")).await.json()["status"],
        "deleted"
    );
    emu.admin.advance_clock(Duration::from_secs(31));
    assert_eq!(api.get("/instances").await.json(), json!([]));
    api.get(&format!("/instances/{id}")).await.assert_error(
        404,
        "not_found",
        "Invalid instance id",
    );
    api.action("delete", &[&id])
        .await
        .assert_error(404, "not_found", "Invalid instance id");
    // History stays visible to the admin API.
    let history = emu.admin.instances();
    assert_eq!(history[0]["listed"], false);
    assert!(history[0]["deleted_at"].is_string());
}

#[tokio::test]
async fn multi_id_actions_report_each_item() {
    let (emu, api) = start().await;
    let a = api.deploy(v100("a")).await;
    to_running(&emu);
    let b = api.deploy(v100("b")).await;
    let answer = api.action("delete", &[&a, &b, "nope"]).await;
    assert_eq!(answer.status, 207);
    let items = answer.json();
    assert_eq!(
        items[0],
        json!({"action": "delete", "instanceId": a, "status": "success"})
    );
    assert_eq!(items[1]["status"], "error");
    assert_eq!(items[1]["statusCode"], 403);
    assert_eq!(
        items[1]["error"],
        "Can't discontinue a provisioning instance"
    );
    assert_eq!(items[2]["statusCode"], 404);
    // The deprecated path and a single string id work too.
    let answer = api
        .put("/instances/action", json!({"action": "shutdown", "id": b}))
        .await;
    answer.assert_error(400, "invalid_request", "Can't shut down a ordered instance");
    api.put("/instances", json!({"action": "explode", "id": [b]}))
        .await
        .assert_error(400, "invalid_request", "explode");
    api.put("/instances", json!({"action": "start", "id": []}))
        .await
        .assert_error(400, "invalid_request", "id");
}

#[tokio::test]
async fn delete_volume_ids_semantics() {
    let (emu, api) = start().await;
    let mut body = v100("vols");
    body["volumes"] = json!([{"name": "data", "size": 10, "type": "NVMe"}, {"name": "data2", "size": 10, "type": "HDD"}]);
    let ids: Vec<String> = futures_collect(&api, body, 3).await;
    to_running(&emu);
    let volumes_of = |i: &serde_json::Value| -> Vec<String> {
        i["volume_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let status_of = |v: &str| {
        let api = api.clone();
        let v = v.to_owned();
        async move {
            api.get(&format!("/volumes/{v}")).await.json()["status"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };

    // [] deletes nothing.
    let inst = api.instance(&ids[0]).await;
    let vols = volumes_of(&inst);
    assert_eq!(vols.len(), 3);
    api.put(
        "/instances",
        json!({"action": "delete", "id": [ids[0]], "volume_ids": []}),
    )
    .await;
    for v in &vols {
        assert_eq!(status_of(v).await, "detached");
    }
    // A list deletes those (permanently if asked) and detaches the rest.
    let inst = api.instance(&ids[1]).await;
    let vols = volumes_of(&inst);
    let bad = api
        .put(
            "/instances",
            json!({"action": "delete", "id": [ids[1]], "volume_ids": ["not-mine"]}),
        )
        .await;
    bad.assert_error(400, "invalid_request", "volume_ids");
    api.put("/instances", json!({"action": "delete", "id": [ids[1]], "volume_ids": [vols[1]], "delete_permanently": true})).await;
    assert_eq!(status_of(&vols[0]).await, "detached");
    assert_eq!(status_of(&vols[1]).await, "deleted");
    let trash = api.get("/volumes/trash").await.json();
    assert!(
        !trash
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == vols[1].as_str()),
        "permanent skips the trash"
    );
    // null deletes the OS volume only (to the trash).
    let inst = api.instance(&ids[2]).await;
    let vols = volumes_of(&inst);
    api.put(
        "/instances",
        json!({"action": "delete", "id": [ids[2]], "volume_ids": null}),
    )
    .await;
    assert_eq!(status_of(&vols[0]).await, "deleted");
    assert_eq!(status_of(&vols[1]).await, "detached");
    let trash = api.get("/volumes/trash").await.json();
    let os = trash
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == vols[0].as_str())
        .unwrap();
    assert_eq!(os["is_permanently_deleted"], false);
    assert!(os["deleted_at"].is_string());
}

async fn futures_collect(
    api: &crate::common::Api,
    body: serde_json::Value,
    n: usize,
) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut b = body.clone();
        b["hostname"] = json!(format!("vols{i}"));
        ids.push(api.deploy(b).await);
    }
    ids
}

#[tokio::test]
async fn capacity_is_used_and_returned() {
    let (emu, api) = start_with(builder().capacity_per_slot(1)).await;
    let first = api.deploy(v100("one")).await;
    api.post("/instances", v100("two")).await.assert_error(
        503,
        "service_unavailable",
        "Not enough resources",
    );
    assert_eq!(
        api.get("/instance-availability/1V100.6V?location_code=FIN-01")
            .await
            .text,
        "false"
    );
    // Spot is a separate inventory: on-demand being full leaves spot available, and
    // the spot deploy then fills spot only.
    let spot_available = || async {
        api.get("/instance-availability/1V100.6V?location_code=FIN-01&is_spot=true")
            .await
            .text
    };
    assert_eq!(spot_available().await, "true");
    let mut spot = v100("spot");
    spot["is_spot"] = json!(true);
    let spot_id = api.deploy(spot).await;
    assert_eq!(spot_available().await, "false");
    let spot_list = api
        .get("/instance-availability?is_spot=true&location_code=FIN-01")
        .await
        .json();
    assert!(!spot_list[0]["availabilities"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "1V100.6V"));
    let spot_instance = api.instance(&spot_id).await;
    assert_eq!(
        (
            spot_instance["is_spot"].as_bool(),
            spot_instance["price_per_hour"].as_f64()
        ),
        (Some(true), Some(0.07))
    );
    to_running(&emu);
    api.action("delete", &[&first]).await;
    assert_eq!(
        api.get("/instance-availability/1V100.6V?location_code=FIN-01")
            .await
            .text,
        "true"
    );
    api.deploy(v100("three")).await;
    // A type offered elsewhere only has no slot here.
    let mut ice = v100("ice");
    ice["location_code"] = json!("ICE-01");
    api.post("/instances", ice)
        .await
        .assert_error(503, "service_unavailable", "");
}

#[tokio::test]
async fn late_no_capacity_mode() {
    let (emu, api) = start().await;
    emu.admin.set_late_no_capacity("1V100.6V", "FIN-01", true);
    let id = api.deploy(v100("doomed")).await;
    assert_eq!(api.status(&id).await, "ordered");
    emu.admin.advance_clock(Duration::from_secs(11));
    assert_eq!(api.status(&id).await, "no_capacity");
    assert_eq!(api.action("delete", &[&id]).await.status, 202);
}

#[tokio::test]
async fn balance_drops_with_use_and_guards_deploys() {
    let (emu, api) = start().await;
    let mut h100 = v100("pricey");
    h100["instance_type"] = json!("1H100.80S.30V");
    h100["image"] = json!("ubuntu-24.04-cuda-12.8-open-docker");
    let id = api.deploy(h100.clone()).await;
    to_running(&emu);
    emu.admin.advance_clock(Duration::from_secs(3600));
    let balance = emu.admin.balance();
    // 1.99/h for one hour plus the seconds the admin advance overshoots.
    assert!(
        balance < Decimal::from(1000) - Decimal::new(199, 2),
        "{balance}"
    );
    assert!(balance > Decimal::from(997), "{balance}");
    // shutdown keeps billing; delete stops it.
    api.action("shutdown", &[&id]).await;
    emu.admin.advance_clock(Duration::from_secs(3600));
    let after_offline = emu.admin.balance();
    assert!(
        after_offline < balance - Decimal::new(198, 2),
        "{after_offline}"
    );
    api.action("delete", &[&id]).await;
    emu.admin.advance_clock(Duration::from_secs(3600));
    assert_eq!(emu.admin.balance(), after_offline);

    emu.admin.set_balance(Decimal::new(150, 2));
    api.post("/instances", h100)
        .await
        .assert_error(402, "insufficient_funds", "balance");
    assert_eq!(api.get("/balance").await.json()["amount"], 1.5);
}

#[tokio::test]
async fn tags_are_lowercased_unique_and_limited() {
    let (_emu, api) = start().await;
    let id = api.deploy(v100("tagged")).await;
    let path = format!("/instances/{id}/tags");
    let a = api.post(&path, json!({"key": "Team", "value": "ml"})).await;
    assert_eq!(a.status, 201);
    assert_eq!(a.json(), json!({"id": id, "key": "team", "value": "ml"}));
    api.post(&path, json!({"key": "TEAM"}))
        .await
        .assert_error(409, "conflict", "team");
    for i in 1..10 {
        assert_eq!(
            api.post(&path, json!({"key": format!("k{i}")}))
                .await
                .status,
            201
        );
    }
    api.post(&path, json!({"key": "eleventh"}))
        .await
        .assert_error(400, "invalid_request", "at most 10");
    assert_eq!(
        api.instance(&id).await["tags"].as_array().unwrap().len(),
        10
    );
    assert_eq!(api.delete(&format!("{path}/TEAM"), None).await.status, 200);
    api.delete(&format!("{path}/team"), None)
        .await
        .assert_error(404, "not_found", "team");
    api.post("/instances/nope/tags", json!({"key": "x"}))
        .await
        .assert_error(404, "not_found", "Invalid instance id");
}
