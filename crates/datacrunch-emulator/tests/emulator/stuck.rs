//! Instances stuck in `provisioning` or `error` (made so through the admin API): a normal
//! delete is refused as the real API refuses it, and only `delete_stuck` removes them.

use crate::common::{start, to_running, v100};
use crate::state_faults::admin_call;
use serde_json::json;
use std::time::Duration;

/// An instance made stuck through the admin API stays in its status, refuses a normal
/// delete (alone: the error; among others: a 207 item) and goes with `delete_stuck`.
#[tokio::test]
async fn stuck_instances_refuse_delete_until_delete_stuck() {
    use reqwest::Method;
    let (emu, api) = start().await;
    let http = reqwest::Client::new();
    let stuck_url = |id: &str| format!("{}/instances/{id}/stuck", emu.admin_url);
    let hung = api.deploy(v100("hung")).await;
    let broken = api.deploy(v100("broken")).await;
    to_running(&emu);
    for (id, status) in [(&hung, "provisioning"), (&broken, "error")] {
        let (s, _) = admin_call(
            &http,
            Method::PUT,
            stuck_url(id),
            Some(json!({"status": status})),
        )
        .await;
        assert_eq!(s, 204, "{status}");
    }
    emu.admin.advance_clock(Duration::from_secs(3600));
    assert_eq!(api.status(&hung).await, "provisioning");
    assert_eq!(api.status(&broken).await, "error");

    api.action("delete", &[&hung]).await.assert_error(
        403,
        "forbidden_action",
        "Can't discontinue a provisioning instance",
    );
    let both = api.action("delete", &[&hung, &broken]).await;
    assert_eq!(both.status, 207);
    assert_eq!(
        both.json()[1]["error"],
        "Can't discontinue a error instance"
    );
    let gone = api.action("delete_stuck", &[&hung, &broken]).await;
    assert_eq!(gone.status, 202, "{}", gone.text);
    assert_eq!(api.status(&hung).await, "discontinued");
    assert_eq!(api.status(&broken).await, "discontinued");

    let (s, err) = admin_call(
        &http,
        Method::PUT,
        stuck_url(&hung),
        Some(json!({"status": "running"})),
    )
    .await;
    assert_eq!((s, err["code"].as_str()), (400, Some("invalid_request")));
    assert!(err["message"].as_str().unwrap().contains("status"));
    let (s, _) = admin_call(
        &http,
        Method::PUT,
        stuck_url("nope"),
        Some(json!({"status": "error"})),
    )
    .await;
    assert_eq!(s, 404);
}
