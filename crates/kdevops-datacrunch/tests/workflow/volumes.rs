//! KEEP_VOLUMES: destroy deletes OS volumes by default and keeps (detaches) them when set.

use crate::common::Project;
use serde_json::Value;

/// OS volumes the emulator still holds (not deleted), after restarting it to look.
fn live_os_volumes(p: &Project) -> Vec<Value> {
    p.ok(&["catalog"]);
    let (status, body) = p.api("GET", "/volumes", None);
    assert_eq!(status, 200, "{body}");
    let all: Vec<Value> = serde_json::from_str(&body).unwrap();
    all.into_iter()
        .filter(|v| {
            v["is_os_volume"] == true && v["status"] != "deleted" && v["status"] != "deleting"
        })
        .collect()
}

#[test]
fn os_volumes_follow_keep_volumes() {
    let p = Project::new();
    p.defconfig("emulator-3-nodes");
    p.set("KDEVOPS_NODE_COUNT=1");
    p.ok(&["bringup"]);
    p.ok(&["destroy"]);
    assert!(
        live_os_volumes(&p).is_empty(),
        "the OS volume must be deleted by default"
    );

    p.set("TERRAFORM_DATACRUNCH_KEEP_VOLUMES=y");
    p.ok(&["bringup"]);
    p.ok(&["destroy"]);
    let kept = live_os_volumes(&p);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        kept[0]["instance_id"].is_null(),
        "kept volume is detached: {kept:?}"
    );
    p.ok(&["destroy"]);
}
