//! The volume rules beyond plain CRUD: attach/detach/delete only while the instance is
//! offline (403 `forbidden_action`), the trash counting against the storage quota until
//! volumes are purged, and `on_spot_discontinue` applied when the provider takes a spot
//! instance back (admin `PUT /admin/instances/{id}/discontinue`).

use crate::common::{builder, start, start_with, to_running, v100, Api};
use crate::state_faults::admin_call;
use reqwest::Method;
use serde_json::{json, Value};

async fn create(api: &Api, name: &str, size: u32) -> crate::common::Answer {
    api.post(
        "/volumes",
        json!({"type": "NVMe", "name": name, "size": size, "location_code": "FIN-01"}),
    )
    .await
}

async fn volume(api: &Api, id: &str) -> Value {
    api.get(&format!("/volumes/{id}")).await.json()
}

#[tokio::test]
async fn attach_detach_and_delete_of_an_attached_volume_need_the_instance_offline() {
    let (emu, api) = start().await;
    let vol = create(&api, "data", 10).await.text;
    let inst = api.deploy(v100("host")).await;
    to_running(&emu);
    let attach = json!({"action": "attach", "id": vol, "instance_id": inst});
    api.put("/volumes", attach.clone()).await.assert_error(
        403,
        "forbidden_action",
        "must be shut down (offline) first",
    );
    api.action("shutdown", &[&inst]).await;
    assert_eq!(api.put("/volumes", attach).await.status, 202);
    api.action("start", &[&inst]).await;
    for refused in [
        api.put("/volumes", json!({"action": "detach", "id": [vol]}))
            .await,
        api.put("/volumes", json!({"action": "delete", "id": [vol]}))
            .await,
        api.delete(&format!("/volumes/{vol}"), None).await,
    ] {
        refused.assert_error(403, "forbidden_action", "must be shut down (offline) first");
    }
    assert_eq!(volume(&api, &vol).await["status"], "attached");
}

#[tokio::test]
async fn the_trash_counts_against_the_storage_quota_until_purged() {
    let (emu, api) = start_with(builder().storage_quota_gb(150)).await;
    let http = reqwest::Client::new();
    let storage_url = format!("{}/storage", emu.admin_url);
    let big = create(&api, "big", 100).await;
    assert_eq!(big.status, 202, "{}", big.text);
    let big = big.text;
    create(&api, "more", 60)
        .await
        .assert_error(403, "forbidden_action", "Storage quota exceeded");

    // In the trash it still counts, and the refusal says so.
    assert_eq!(
        api.delete(&format!("/volumes/{big}"), None).await.status,
        202
    );
    assert_eq!(
        api.get("/volumes/trash").await.json()[0]["id"],
        big.as_str()
    );
    let (status, usage) = admin_call(&http, Method::GET, storage_url.clone(), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        usage,
        json!({"quota_gb": 150, "used_gb": 100, "trash_gb": 100})
    );
    create(&api, "more", 60).await.assert_error(
        403,
        "forbidden_action",
        "100 GB of it by volumes in the trash",
    );
    let mut deploy = v100("host");
    deploy["os_volume"] = json!({"name": "os", "size": 60});
    api.post("/instances", deploy).await.assert_error(
        403,
        "forbidden_action",
        "Storage quota exceeded",
    );

    // Restored, it may not grow or be cloned past the quota either.
    api.put("/volumes", json!({"action": "restore", "id": [big]}))
        .await;
    api.put(
        "/volumes",
        json!({"action": "resize", "id": [big], "size": 151}),
    )
    .await
    .assert_error(403, "forbidden_action", "the resize needs 51 GB");
    api.put(
        "/volumes",
        json!({"action": "clone", "id": [big], "name": "copy"}),
    )
    .await
    .assert_error(403, "forbidden_action", "the clone needs 100 GB");

    // Deleted for good, it frees the quota.
    let purge = api
        .delete(
            &format!("/volumes/{big}"),
            Some(json!({"is_permanent": true})),
        )
        .await;
    assert_eq!(purge.status, 202, "{}", purge.text);
    assert_eq!(api.get("/volumes/trash").await.json(), json!([]));
    assert_eq!(create(&api, "more", 60).await.status, 202);

    // The admin API moves the quota.
    let (status, _) = admin_call(
        &http,
        Method::PUT,
        storage_url.clone(),
        Some(json!({"quota_gb": 50})),
    )
    .await;
    assert_eq!(status, 204);
    create(&api, "tiny", 1)
        .await
        .assert_error(403, "forbidden_action", "of the 50 GB quota");
}

#[tokio::test]
async fn a_discontinued_spot_instance_applies_each_volume_policy() {
    let (emu, api) = start().await;
    let http = reqwest::Client::new();
    let discontinue = |id: &str| format!("{}/instances/{id}/discontinue", emu.admin_url);
    let mut spot = v100("spot");
    spot["is_spot"] = json!(true);
    spot["os_volume"] = json!({"name": "os", "size": 50, "on_spot_discontinue": "move_to_trash"});
    spot["volumes"] = json!([
        {"name": "kept", "size": 10, "type": "NVMe"},
        {"name": "gone", "size": 10, "type": "NVMe", "on_spot_discontinue": "delete_permanently"},
    ]);
    let inst = api.deploy(spot).await;
    to_running(&emu);
    let volume_ids: Vec<String> = api.instance(&inst).await["volume_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let (status, _) = admin_call(&http, Method::PUT, discontinue(&inst), None).await;
    assert_eq!(status, 204);
    assert_eq!(api.status(&inst).await, "discontinued");

    let (os, kept, gone) = (
        volume(&api, &volume_ids[0]).await,
        volume(&api, &volume_ids[1]).await,
        volume(&api, &volume_ids[2]).await,
    );
    assert_eq!(
        (
            os["status"].as_str(),
            os["is_permanently_deleted"].as_bool()
        ),
        (Some("deleted"), Some(false))
    );
    assert_eq!(
        (kept["status"].as_str(), kept["instance_id"].clone()),
        (Some("detached"), Value::Null)
    );
    assert_eq!(gone["is_permanently_deleted"], true);
    let trash = api.get("/volumes/trash").await.json();
    let trashed: Vec<&str> = trash
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["id"].as_str())
        .collect();
    assert_eq!(trashed, [volume_ids[0].as_str()]);

    // Twice, or an on-demand instance: refused.
    let (status, body) = admin_call(&http, Method::PUT, discontinue(&inst), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden_action"))
    );
    let on_demand = api.deploy(v100("steady")).await;
    let (status, body) = admin_call(&http, Method::PUT, discontinue(&on_demand), None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("forbidden_action"))
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("not a spot instance"));
}

#[tokio::test]
async fn an_unknown_spot_policy_is_refused_naming_the_field() {
    let (_emu, api) = start().await;
    let mut body = v100("host");
    body["os_volume"] = json!({"name": "os", "size": 50, "on_spot_discontinue": "shred"});
    api.post("/instances", body).await.assert_error(
        400,
        "invalid_request",
        "os_volume.on_spot_discontinue \"shred\" is not a policy",
    );
    api.post(
        "/volumes",
        json!({"type": "NVMe", "name": "d", "size": 1, "on_spot_discontinue": "shred"}),
    )
    .await
    .assert_error(400, "invalid_request", "on_spot_discontinue \"shred\"");
}
