//! The workspace's API client (`datacrunch-client`) against the emulator: the typed
//! happy paths, the error classifications the provider relies on, and the client's
//! retries meeting injected faults.

use crate::common::{builder, frozen_timing, to_running, ED25519};
use datacrunch_client::models::{
    CreateSshKeyRequest, CreateStartupScriptRequest, CreateVolumeRequest, DeployInstanceRequest,
    InstanceAction, InstanceActionRequest, InstanceStatus, LongTermScope, VolumeAction,
    VolumeActionRequest,
};
use datacrunch_client::{Client, PollPolicy, RetryPolicy};
use datacrunch_emulator::{FaultRule, RunningEmulator};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn client(emu: &RunningEmulator) -> Client {
    Client::builder()
        .base_url(&emu.base_url)
        .client_credentials(&emu.client_id, &emu.client_secret)
        .retry_policy(RetryPolicy {
            max_retries: 3,
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            budget: Duration::from_secs(10),
        })
        .poll_policy(PollPolicy {
            initial: Duration::from_millis(20),
            factor: 1.0,
            max: Duration::from_millis(20),
        })
        .build()
        .unwrap()
}

async fn spawn(
    builder: datacrunch_emulator::EmulatorBuilder,
) -> datacrunch_emulator::RunningEmulator {
    builder.build().unwrap().spawn_on_loopback().await.unwrap()
}

fn deploy_request(hostname: &str, key: Option<String>) -> DeployInstanceRequest {
    DeployInstanceRequest {
        ssh_key_ids: key.into_iter().collect(),
        location_code: Some("FIN-01".into()),
        ..DeployInstanceRequest::new(
            "1V100.6V",
            "ubuntu-22.04-cuda-12.0-docker",
            hostname,
            "client test",
        )
    }
}

fn action(action: InstanceAction, id: &str) -> InstanceActionRequest {
    InstanceActionRequest {
        action,
        id: vec![id.to_owned()],
        volume_ids: None,
        delete_permanently: None,
    }
}

#[tokio::test]
async fn typed_round_trip() {
    let emu = spawn(builder()).await;
    let c = client(&emu);
    assert_eq!(c.balance().await.unwrap().amount.to_string(), "1000");
    assert!(c.instance_types(None).await.unwrap().len() > 50);
    assert_eq!(c.locations().await.unwrap().len(), 4);
    assert!(!c.images(Some("1V100.6V")).await.unwrap().is_empty());
    assert!(c
        .is_instance_type_available("1V100.6V", false, Some("FIN-01"))
        .await
        .unwrap());
    assert_eq!(c.volume_types().await.unwrap()[0].volume_type, "NVMe");

    let key = c
        .create_ssh_key(&CreateSshKeyRequest {
            name: "k".into(),
            key: ED25519.into(),
        })
        .await
        .unwrap();
    assert_eq!(c.ssh_key(&key).await.unwrap().key, ED25519);
    let script = c
        .create_startup_script(&CreateStartupScriptRequest {
            name: "s".into(),
            script: "#!/bin/sh".into(),
        })
        .await
        .unwrap();
    assert_eq!(c.startup_script(&script).await.unwrap().name, "s");

    let id = c
        .deploy_instance(&deploy_request("typed", Some(key.clone())))
        .await
        .unwrap();
    let err = c
        .instance_action(&action(InstanceAction::Delete, &id))
        .await
        .unwrap_err();
    assert!(err.is_still_provisioning(), "{err}");
    to_running(&emu);
    let running = c
        .wait_for_instance(
            &id,
            |i| i.status == InstanceStatus::Running,
            tokio::time::Instant::now() + Duration::from_secs(5),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(running.ip.unwrap().starts_with("127."));

    c.instance_action(&action(InstanceAction::Shutdown, &id))
        .await
        .unwrap();
    let vol = c
        .create_volume(&CreateVolumeRequest {
            volume_type: "NVMe".into(),
            name: "data".into(),
            size: 10,
            instance_id: Some(id.clone()),
            instance_ids: vec![],
            location_code: Some("FIN-01".into()),
            on_spot_discontinue: None,
            tags: vec![],
        })
        .await
        .unwrap();
    assert_eq!(
        c.volume(&vol).await.unwrap().instance_id.as_deref(),
        Some(id.as_str())
    );
    let clone = VolumeActionRequest {
        action: VolumeAction::Clone,
        id: vec![vol.clone()],
        instance_id: None,
        name: Some("copy".into()),
        size: None,
        is_permanent: None,
        volume_type: None,
    };
    assert_eq!(c.volume_action(&clone).await.unwrap().len(), 1);
    c.instance_action(&action(InstanceAction::Delete, &id))
        .await
        .unwrap();
    let err = c
        .instance_action(&action(InstanceAction::Delete, &id))
        .await
        .unwrap_err();
    assert!(err.is_already_discontinued(), "{err}");
    emu.admin
        .advance_clock(frozen_timing().discontinued_visible + Duration::from_secs(1));
    let err = c.instance(&id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    c.delete_ssh_key(&key).await.unwrap();
    c.delete_ssh_key(&key).await.unwrap();
}

#[tokio::test]
async fn errors_the_provider_branches_on() {
    let emu = spawn(builder().capacity_per_slot(1)).await;
    let c = client(&emu);
    c.deploy_instance(&deploy_request("first", None))
        .await
        .unwrap();
    let err = c
        .deploy_instance(&deploy_request("second", None))
        .await
        .unwrap_err();
    assert!(err.is_no_capacity(), "{err}");
    emu.admin.set_balance(rust_decimal::Decimal::new(1, 2));
    emu.admin
        .set_capacity("1V100.6V", "FIN-01", false, 5)
        .unwrap();
    let err = c
        .deploy_instance(&deploy_request("broke", None))
        .await
        .unwrap_err();
    assert!(err.is_insufficient_funds(), "{err}");
}

#[tokio::test]
async fn client_retries_through_injected_faults() {
    let emu = spawn(builder()).await;
    let c = client(&emu);
    c.balance().await.unwrap();
    emu.admin.reset_counters();
    // A fifth of the reads fail with 429 or 500 (seeded, so the same calls fail on
    // every run): the client's retries absorb them.
    emu.admin
        .set_fault(
            "GET /v1/locations",
            FaultRule {
                rate_429: 0.1,
                rate_500: 0.1,
                retry_after_secs: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
    for _ in 0..10 {
        assert_eq!(c.locations().await.unwrap().len(), 4);
    }
    assert!(
        emu.admin.count("GET /v1/locations") > 10,
        "some calls were retried"
    );
    // A revoked token: the client logs in again.
    emu.admin.clear_faults();
    emu.admin.revoke_all_tokens();
    assert_eq!(c.locations().await.unwrap().len(), 4);
}

fn cluster_request(hostname: &str) -> datacrunch_client::models::CreateClusterRequest {
    datacrunch_client::models::CreateClusterRequest {
        hostname: hostname.into(),
        cluster_type: "16H200".into(),
        image: "ubuntu-22.04-cuda-12.4-cluster".into(),
        description: "client test".into(),
        ssh_key_ids: Vec::new(),
        contract: None,
        location_code: Some("FIN-03".into()),
        startup_script_id: None,
        shared_volume: Some(datacrunch_client::models::SharedVolumeSpec {
            name: "home".into(),
            size: 500,
        }),
        existing_volumes: Vec::new(),
    }
}

#[tokio::test]
async fn clusters_typed_calls_and_a_lost_create_answer_makes_one_cluster() {
    use datacrunch_client::models::ClusterStatus;
    let emu = spawn(builder()).await;
    let c = client(&emu);
    // Every answer to POST /clusters is lost: the create still happens, and the client
    // finds the cluster it made instead of creating a second one.
    emu.admin
        .set_fault(
            "POST /v1/clusters",
            FaultRule {
                lost_answer_rate: 1.0,
                ..Default::default()
            },
        )
        .unwrap();
    let id = c.create_cluster(&cluster_request("lost")).await.unwrap();
    emu.admin.clear_faults();
    assert_eq!(emu.admin.clusters().len(), 1, "exactly one cluster made");
    assert_eq!(c.cluster(&id).await.unwrap().status, ClusterStatus::Ordered);
    to_running(&emu);
    let running = c.cluster(&id).await.unwrap();
    assert_eq!(running.status, ClusterStatus::Running);
    assert_eq!(running.worker_nodes.len(), 2);
    assert!(running.ip.is_some());

    let types = c.cluster_types(None).await.unwrap();
    assert!(types.iter().any(|t| t.cluster_type == "16H200"));
    let images = c.cluster_images(Some("16H200")).await.unwrap();
    assert!(images.iter().all(|i| i.is_cluster));
    assert!(c
        .is_cluster_type_available("16H200", Some("FIN-03"))
        .await
        .unwrap());
    let avail = c.cluster_availability(Some("FIN-03")).await.unwrap();
    assert_eq!(avail.len(), 1);

    c.delete_cluster(&id).await.unwrap();
    let again = c.delete_cluster(&id).await.unwrap_err();
    assert!(again.is_forbidden_action(), "{again}");
    assert!(c.clusters(None).await.unwrap()[0].status.is_gone());
    assert!(c.cluster("missing").await.unwrap_err().is_not_found());
}

/// A multi-id action where one instance refuses answers 207; the client reports which
/// went and which did not (classified: a stuck provisioning instance reads as "still
/// provisioning"), and `delete_stuck` then removes the stuck one. A missing key or
/// script deletes without error.
#[tokio::test]
async fn partial_failure_and_delete_stuck() {
    let emu = spawn(builder()).await;
    let c = client(&emu);
    let fine = c
        .deploy_instance(&deploy_request("fine", None))
        .await
        .unwrap();
    let stuck = c
        .deploy_instance(&deploy_request("stuck", None))
        .await
        .unwrap();
    to_running(&emu);
    emu.admin
        .make_stuck(&stuck, InstanceStatus::Provisioning)
        .unwrap();
    let mut both = action(InstanceAction::Delete, &fine);
    both.id.push(stuck.clone());
    match c.instance_action(&both).await.unwrap_err() {
        datacrunch_client::Error::PartialFailure {
            succeeded, failed, ..
        } => {
            assert_eq!(succeeded, vec![fine.clone()]);
            assert_eq!(failed.len(), 1);
            assert_eq!(failed[0].instance_id, stuck);
            assert_eq!(failed[0].status, Some(403));
            assert!(failed[0].is_still_provisioning(), "{:?}", failed[0]);
        }
        other => panic!("expected PartialFailure, got {other:?}"),
    }
    c.instance_action(&action(InstanceAction::DeleteStuck, &stuck))
        .await
        .unwrap();
    assert_eq!(
        c.instance(&stuck).await.unwrap().status,
        InstanceStatus::Discontinued
    );

    let missing = "00000000-0000-4000-8000-000000000000";
    c.delete_ssh_key(missing).await.unwrap();
    c.delete_startup_script(missing).await.unwrap();
}

#[tokio::test]
async fn bulk_deletes_price_history_and_long_term_periods() {
    let emu = spawn(builder()).await;
    let api = client(&emu);
    let mut keys = Vec::new();
    let mut scripts = Vec::new();
    for name in ["a", "b", "c"] {
        let key = CreateSshKeyRequest {
            name: name.into(),
            key: ED25519.into(),
        };
        keys.push(api.create_ssh_key(&key).await.unwrap());
        let script = CreateStartupScriptRequest {
            name: name.into(),
            script: "#!/bin/sh\ntrue\n".into(),
        };
        scripts.push(api.create_startup_script(&script).await.unwrap());
    }
    // Two of three in one call each, plus an id that is not there (not an error).
    let missing = "00000000-0000-4000-8000-000000000000";
    api.delete_ssh_keys(&[&keys[0], &keys[2], missing])
        .await
        .unwrap();
    api.delete_startup_scripts(&[&scripts[1], missing])
        .await
        .unwrap();
    let left: Vec<String> = api
        .ssh_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(left, [keys[1].clone()]);
    let left: Vec<String> = api
        .startup_scripts()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, [scripts[0].clone(), scripts[2].clone()]);
    let counters = emu.admin.counters();
    assert_eq!(counters.get("DELETE /v1/sshkeys").copied(), Some(1));
    assert_eq!(counters.get("DELETE /v1/scripts").copied(), Some(1));
    // Nothing to delete: nothing sent. A blank id is refused before anything is sent.
    api.delete_ssh_keys(&[]).await.unwrap();
    let e = api
        .delete_startup_scripts(&[&scripts[0], " "])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("startup_script_ids"), "{e}");
    let counters = emu.admin.counters();
    assert_eq!(counters.get("DELETE /v1/sshkeys").copied(), Some(1));
    assert_eq!(counters.get("DELETE /v1/scripts").copied(), Some(1));

    let types = api.instance_types(None).await.unwrap();
    let history = api
        .instance_type_price_history(Some(3), None)
        .await
        .unwrap();
    assert_eq!(history.len(), types.len());
    for t in &types {
        let points = &history[&t.instance_type];
        assert_eq!(points.len(), 3, "{}", t.instance_type);
        assert!(points
            .iter()
            .all(|p| p.fixed_price_per_hour == t.price_per_hour));
        assert_eq!(Some(points[2].dynamic_price_per_hour), t.dynamic_price);
    }
    let eur = api
        .instance_type_price_history(None, Some("eur"))
        .await
        .unwrap();
    assert!(eur.values().all(|p| p.len() == 1 && p[0].currency == "eur"));

    for scope in LongTermScope::ALL {
        let periods = api.long_term_periods(scope).await.unwrap();
        assert!(!periods.is_empty(), "{scope:?}");
        assert!(periods.iter().all(|p| p.unit_value >= 1.0 && p.is_enabled));
    }
}
