//! Wire-level tests of SSH keys (both paths), startup scripts and volumes.

use crate::common::{start, to_running, v100, ED25519};
use serde_json::json;

#[tokio::test]
async fn ssh_keys_at_both_paths() {
    let (_emu, api) = start().await;
    for path in ["/sshkeys", "/ssh-keys"] {
        let created = api
            .post(path, json!({"name": "mine", "key": ED25519}))
            .await;
        assert_eq!(created.status, 201);
        assert!(created.content_type.starts_with("text/plain"));
        let id = created.text;
        let one = api.get(&format!("{path}/{id}")).await.json();
        assert_eq!(
            one.as_array().unwrap().len(),
            1,
            "GET by id is a one-element array"
        );
        assert_eq!(one[0]["key"], ED25519);
        assert_eq!(one[0]["name"], "mine");
        assert_eq!(api.delete(&format!("{path}/{id}"), None).await.status, 200);
        api.get(&format!("{path}/{id}"))
            .await
            .assert_error(404, "not_found", "Invalid ssh-key ID");
        // Deleting a key that does not exist is not an error.
        assert_eq!(api.delete(&format!("{path}/{id}"), None).await.status, 200);
    }
    let a = api
        .post("/sshkeys", json!({"name": "a", "key": ED25519}))
        .await
        .text;
    let b = api
        .post("/ssh-keys", json!({"name": "b", "key": ED25519}))
        .await
        .text;
    assert_eq!(
        api.get("/ssh-keys").await.json().as_array().unwrap().len(),
        2
    );
    let bulk = api
        .delete("/sshkeys", Some(json!({"keys": [a, "missing"]})))
        .await;
    assert_eq!(bulk.status, 200);
    let left = api.get("/sshkeys").await.json();
    assert_eq!(left.as_array().unwrap().len(), 1);
    assert_eq!(left[0]["id"], b.as_str());
    // A single missing key deletes fine too, at either path.
    for path in ["/sshkeys", "/ssh-keys"] {
        assert_eq!(api.delete(&format!("{path}/{a}"), None).await.status, 200);
    }

    for (body, fragment) in [
        (
            json!({"name": "x", "key": "-----BEGIN OPENSSH PRIVATE KEY-----"}),
            "private key",
        ),
        (json!({"name": "x", "key": "~/.ssh/id_ed25519.pub"}), "key"),
        (json!({"name": "", "key": ED25519}), "name"),
        (json!({"name": "x"}), "key"),
        (json!({"name": "x", "key": 7}), "key"),
    ] {
        api.post("/sshkeys", body)
            .await
            .assert_error(400, "invalid_request", fragment);
    }
    api.delete("/sshkeys", None)
        .await
        .assert_error(400, "invalid_request", "empty");
}

#[tokio::test]
async fn startup_scripts() {
    let (_emu, api) = start().await;
    let created = api
        .post(
            "/scripts",
            json!({"name": "boot", "script": "#!/bin/sh\necho hi\n"}),
        )
        .await;
    assert_eq!(created.status, 201);
    let id = created.text;
    let one = api.get(&format!("/scripts/{id}")).await.json();
    assert_eq!(one[0]["script"], "#!/bin/sh\necho hi\n");
    let other = api
        .post("/scripts", json!({"name": "b", "script": "x"}))
        .await
        .text;
    assert_eq!(
        api.delete("/scripts", Some(json!({"scripts": [other, "nope"]})))
            .await
            .status,
        200
    );
    assert_eq!(
        api.get("/scripts").await.json().as_array().unwrap().len(),
        1
    );
    assert_eq!(
        api.delete(&format!("/scripts/{id}"), None).await.status,
        200
    );
    assert_eq!(
        api.delete(&format!("/scripts/{id}"), None).await.status,
        200
    );
    api.get(&format!("/scripts/{id}"))
        .await
        .assert_error(404, "not_found", "");
    // Deleting a script that is not there (any more) is not an error; dstack relies on it.
    assert_eq!(
        api.delete(&format!("/scripts/{id}"), None).await.status,
        200
    );
    api.post("/scripts", json!({"name": "b", "script": ""}))
        .await
        .assert_error(400, "invalid_request", "script");
}

#[tokio::test]
async fn volume_lifecycle() {
    let (emu, api) = start().await;
    let created = api
        .post(
            "/volumes",
            json!({"type": "NVMe", "name": "data", "size": 100, "location_code": "FIN-01"}),
        )
        .await;
    assert_eq!(created.status, 202);
    let vol = created.text;
    let v = api.get(&format!("/volumes/{vol}")).await.json();
    assert_eq!(
        (
            v["status"].as_str(),
            v["instance_id"].clone(),
            v["target"].clone()
        ),
        (Some("detached"), json!(null), json!(null))
    );
    assert_eq!(v["monthly_price"], 20.0);
    assert_eq!(v["location"], "FIN-01");

    let inst = api.deploy(v100("host")).await;
    to_running(&emu);
    let attach = json!({"action": "attach", "id": vol, "instance_id": inst});
    api.put("/volumes", attach.clone())
        .await
        .assert_error(403, "forbidden_action", "shut down");
    api.action("shutdown", &[&inst]).await;
    assert_eq!(api.put("/volumes", attach).await.status, 202);
    let v = api.get(&format!("/volumes/{vol}")).await.json();
    assert_eq!(
        (v["status"].as_str(), v["instance_id"].as_str()),
        (Some("attached"), Some(inst.as_str()))
    );
    assert!(api.instance(&inst).await["volume_ids"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x == vol.as_str()));
    assert_eq!(
        api.get("/volumes?status=attached")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let melted = api.get("/volumes?status=melted").await;
    melted.assert_error(400, "invalid_request", "melted");
    // The message says what would have been accepted.
    melted.assert_error(400, "invalid_request", "expected one of ordered, creating");

    assert_eq!(
        api.put(
            "/volumes",
            json!({"action": "rename", "id": [vol], "name": "renamed"})
        )
        .await
        .status,
        202
    );
    api.put(
        "/volumes",
        json!({"action": "resize", "id": [vol], "size": 50}),
    )
    .await
    .assert_error(400, "invalid_request", "only grow");
    assert_eq!(
        api.put(
            "/volumes",
            json!({"action": "increase-size", "id": [vol], "size": 200})
        )
        .await
        .status,
        202
    );
    let v = api.get(&format!("/volumes/{vol}")).await.json();
    assert_eq!(
        (v["name"].as_str(), v["size"].as_u64()),
        (Some("renamed"), Some(200))
    );

    api.put("/volumes", json!({"action": "detach", "id": [vol]}))
        .await;
    let clones = api
        .put(
            "/volumes",
            json!({"action": "clone", "id": vol, "name": "copy", "type": "HDD"}),
        )
        .await;
    assert_eq!(clones.status, 202);
    let clones = clones.json();
    let clone_id = clones[0].as_str().unwrap();
    let c = api.get(&format!("/volumes/{clone_id}")).await.json();
    assert_eq!(
        (c["type"].as_str(), c["size"].as_u64()),
        (Some("HDD"), Some(200))
    );
    api.put("/volumes", json!({"action": "clone", "id": vol}))
        .await
        .assert_error(400, "invalid_request", "name");
    api.put("/volumes", json!({"action": "melt", "id": vol}))
        .await
        .assert_error(400, "invalid_request", "melt");
    api.put(
        "/volumes",
        json!({"action": "rename", "id": ["nope"], "name": "x"}),
    )
    .await
    .assert_error(404, "not_found", "nope");

    // DELETE /volumes/{id}: JSON body, ?is_permanent= and ?force=true all work.
    assert_eq!(
        api.delete(
            &format!("/volumes/{vol}"),
            Some(json!({"is_permanent": false}))
        )
        .await
        .status,
        202
    );
    let trash = api.get("/volumes/trash").await.json();
    assert_eq!(trash[0]["id"], vol.as_str());
    assert_eq!(
        api.get("/volumes")
            .await
            .json()
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["id"] == vol.as_str())
            .count(),
        0
    );
    assert_eq!(
        api.put("/volumes", json!({"action": "restore", "id": vol}))
            .await
            .status,
        202
    );
    assert_eq!(
        api.get(&format!("/volumes/{vol}")).await.json()["status"],
        "detached"
    );
    assert_eq!(
        api.delete(&format!("/volumes/{vol}?force=true"), None)
            .await
            .status,
        202
    );
    assert_eq!(
        api.delete(&format!("/volumes/{clone_id}?is_permanent=true"), None)
            .await
            .status,
        202
    );
    assert_eq!(api.get("/volumes/trash").await.json(), json!([]));
    let gone = api.get(&format!("/volumes/{clone_id}")).await.json();
    assert_eq!(gone["status"], "deleted");
    api.delete("/volumes/nope", None)
        .await
        .assert_error(404, "not_found", "");

    for (body, fragment) in [
        (json!({"type": "Floppy", "name": "x", "size": 1}), "type"),
        (json!({"type": "NVMe", "name": "x", "size": 0}), "size"),
        (json!({"type": "NVMe", "name": "x", "size": -1}), "size"),
        (
            json!({"type": "NVMe", "name": "x", "size": 1, "location_code": "MARS-1"}),
            "location_code",
        ),
        (
            json!({"type": "NVMe", "name": "x", "size": 1, "instance_id": "nope"}),
            "instance_id",
        ),
        (
            json!({"type": "NVMe", "name": "x", "size": 1, "tags": [{"key": "a"}, {"key": "A"}]}),
            "tags",
        ),
        (
            json!({"type": "NVMe", "name": "x", "size": 1,
                   "tags": (0..11).map(|i| json!({"key": format!("k{i}")})).collect::<Vec<_>>()}),
            "at most 10",
        ),
    ] {
        api.post("/volumes", body)
            .await
            .assert_error(400, "invalid_request", fragment);
    }
}

/// Tags given at creation follow the same rules as tags added later: keys lowercased.
#[tokio::test]
async fn new_volume_tags_are_stored_lowercased() {
    let (_emu, api) = crate::common::start().await;
    let a = api
        .post(
            "/volumes",
            json!({"type": "NVMe", "name": "t", "size": 1, "tags": [{"key": "Team", "value": "ML"}]}),
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.text);
    let volume = api.get(&format!("/volumes/{}", a.text)).await.json();
    assert_eq!(volume["tags"], json!([{"key": "team", "value": "ML"}]));
}

#[tokio::test]
async fn boot_from_a_kept_os_volume() {
    let (emu, api) = start().await;
    let first = api.deploy(v100("keeper")).await;
    to_running(&emu);
    let os = api.instance(&first).await["os_volume_id"]
        .as_str()
        .unwrap()
        .to_owned();
    api.put(
        "/instances",
        json!({"action": "delete", "id": [first], "volume_ids": []}),
    )
    .await;
    let mut body = v100("reborn");
    body["image"] = json!(os);
    let second = api.deploy(body).await;
    to_running(&emu);
    let inst = api.instance(&second).await;
    assert_eq!(inst["os_volume_id"], os.as_str());
    assert_eq!(
        api.get(&format!("/volumes/{os}")).await.json()["instance_id"],
        second.as_str()
    );
}

/// Every length and count the service bounds is refused with 400 `invalid_request`
/// naming the field and the limit, and the limit itself is accepted.
#[tokio::test]
async fn lengths_and_counts_over_the_limits_are_refused_naming_field_and_limit() {
    let (emu, api) = start().await;
    let long = |n: usize| "n".repeat(n);
    let ids = |n: usize| -> Vec<String> { (0..n).map(|i| format!("id-{i}")).collect() };
    let data_volume = json!({"name": "d", "size": 1, "type": "NVMe"});
    let deploy_with = |field: &str, value: serde_json::Value| {
        let mut body = v100("limits");
        body[field] = value;
        body
    };

    // At the limits: accepted.
    let key = api
        .post("/sshkeys", json!({"name": long(255), "key": ED25519}))
        .await;
    assert_eq!(key.status, 201, "{}", key.text);
    let volume = api
        .post(
            "/volumes",
            json!({"name": long(255), "size": 1, "type": "NVMe"}),
        )
        .await;
    assert_eq!(volume.status, 202, "{}", volume.text);
    let id = api
        .deploy(deploy_with("description", json!(long(1024))))
        .await;

    let refused = [
        (
            api.post("/sshkeys", json!({"name": long(256), "key": ED25519}))
                .await,
            "name must be at most 255 characters, got 256",
        ),
        (
            api.post(
                "/scripts",
                json!({"name": long(256), "script": "#!/bin/sh"}),
            )
            .await,
            "name must be at most 255 characters",
        ),
        (
            api.post(
                "/volumes",
                json!({"name": long(256), "size": 1, "type": "NVMe"}),
            )
            .await,
            "volume.name must be at most 255 characters",
        ),
        (
            api.put(
                "/volumes",
                json!({"action": "rename", "id": volume.text, "name": long(300)}),
            )
            .await,
            "name must be at most 255 characters, got 300",
        ),
        (
            api.post("/instances", deploy_with("description", json!(long(1025))))
                .await,
            "description must be at most 1024 characters, got 1025",
        ),
        (
            api.post("/instances", deploy_with("hostname", json!(long(61))))
                .await,
            "at most 60 characters",
        ),
        (
            api.post("/instances", deploy_with("ssh_key_ids", json!(ids(101))))
                .await,
            "ssh_key_ids may list at most 100 ids, got 101",
        ),
        (
            api.post(
                "/instances",
                deploy_with("existing_volumes", json!(ids(101))),
            )
            .await,
            "existing_volumes may list at most 100 ids",
        ),
        (
            api.post(
                "/instances",
                deploy_with("volumes", json!(vec![data_volume; 26])),
            )
            .await,
            "at most 26 volumes",
        ),
        (
            api.post(
                "/instances",
                deploy_with("os_volume", json!({"name": long(256), "size": 50})),
            )
            .await,
            "os_volume.name must be at most 255 characters",
        ),
        (
            api.post(
                "/instances",
                deploy_with(
                    "tags",
                    json!((0..11)
                        .map(|i| json!({"key": format!("k{i}")}))
                        .collect::<Vec<_>>()),
                ),
            )
            .await,
            "at most 10 tags",
        ),
        (
            api.put("/instances", json!({"action": "shutdown", "id": ids(101)}))
                .await,
            "id may list at most 100 ids, got 101",
        ),
        (
            api.put(
                "/instances",
                json!({"action": "delete", "id": id, "volume_ids": ids(101)}),
            )
            .await,
            "volume_ids may list at most 100 ids",
        ),
        (
            api.put("/volumes", json!({"action": "detach", "id": ids(101)}))
                .await,
            "id may list at most 100 ids",
        ),
        (
            api.delete("/sshkeys", Some(json!({"keys": ids(101)})))
                .await,
            "keys may list at most 100 ids",
        ),
        (
            api.delete("/scripts", Some(json!({"scripts": ids(101)})))
                .await,
            "scripts may list at most 100 ids",
        ),
    ];
    for (answer, fragment) in &refused {
        answer.assert_error(400, "invalid_request", fragment);
    }
    assert_eq!(
        emu.admin.instances().len(),
        1,
        "no refused deploy created one"
    );
}

/// Attaching past the device names `vda` … `vdz` is refused, by attach and by a new
/// volume created attached.
#[tokio::test]
async fn an_instance_holds_at_most_26_volumes() {
    let (emu, api) = start().await;
    let mut body = v100("full");
    body["volumes"] = json!(vec![json!({"name": "d", "size": 1, "type": "NVMe"}); 25]);
    let id = api.deploy(body).await;
    to_running(&emu);
    assert_eq!(api.action("shutdown", &[&id]).await.status, 202);
    emu.admin.advance_clock(std::time::Duration::from_secs(60));
    assert_eq!(api.status(&id).await, "offline");
    let spare = api
        .post(
            "/volumes",
            json!({"name": "spare", "size": 1, "type": "NVMe", "location_code": "FIN-01"}),
        )
        .await;
    assert_eq!(spare.status, 202, "{}", spare.text);
    api.put(
        "/volumes",
        json!({"action": "attach", "id": spare.text, "instance_id": id}),
    )
    .await
    .assert_error(400, "invalid_request", "at most 26 volumes");
    api.post(
        "/volumes",
        json!({"name": "more", "size": 1, "type": "NVMe", "location_code": "FIN-01", "instance_id": id}),
    )
    .await
    .assert_error(400, "invalid_request", "at most 26 volumes");
}
