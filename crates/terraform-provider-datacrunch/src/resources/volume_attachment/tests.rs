//! The power dance and the wait for an attach to show, against the in-process
//! emulator.

use super::offline::with_instance_offline;
use super::{shown_attached, volume_action, AttachmentModel};
use crate::state::ProviderState;
use crate::testing::{provider_state, running_instance};
use datacrunch_client::Client;
use datacrunch_emulator::{AdminHandle, FaultRule};
use datacrunch_models::{CreateVolumeRequest, InstanceStatus, VolumeAction};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use test_support::datacrunch::{api, emulator};
use tfplugin::{Context, Diagnostic, Diagnostics};

async fn volume(client: &Client, name: &str) -> String {
    client
        .create_volume(&CreateVolumeRequest {
            volume_type: "NVMe".into(),
            name: name.into(),
            size: 10,
            instance_id: None,
            instance_ids: Vec::new(),
            location_code: Some("FIN-01".into()),
            on_spot_discontinue: None,
            tags: Vec::new(),
        })
        .await
        .unwrap()
}

fn ctx(st: &Arc<ProviderState>) -> Context {
    Context::for_tests(Some(st.clone()))
}

async fn status(client: &Client, id: &str) -> InstanceStatus {
    client.instance(id).await.unwrap().status
}

/// Instance power requests served so far (the API takes them at either route).
fn power_requests(admin: &AdminHandle) -> u64 {
    admin.count("PUT /v1/instances") + admin.count("PUT /v1/instances/action")
}

fn text(d: &Diagnostics) -> String {
    d.iter()
        .map(|d| format!("{d:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Two attachments of one running instance applied in parallel: the second attaches
/// later than the first would start the instance again, so without one lock per
/// instance its attach meets a running instance and is refused.
#[tokio::test]
async fn parallel_power_cycles_of_one_instance_do_not_interleave() {
    let emu = emulator();
    let client = api(&emu);
    let instance = running_instance(&client, "parallel-cycles").await;
    let (first, second) = (
        volume(&client, "first").await,
        volume(&client, "second").await,
    );
    let st = provider_state(client.clone());
    let attach_after = |volume_id: String, delay: Duration| {
        let st = st.clone();
        let instance = instance.clone();
        async move {
            let ctx = ctx(&st);
            with_instance_offline(&ctx, &st, &instance, true, "attach", || async {
                tokio::time::sleep(delay).await;
                volume_action(&st.client, VolumeAction::Attach, &volume_id, &instance).await
            })
            .await
        }
    };
    let (a, b) = tokio::join!(
        attach_after(first.clone(), Duration::ZERO),
        attach_after(second.clone(), Duration::from_millis(500)),
    );
    a.unwrap();
    b.unwrap();
    for v in [&first, &second] {
        let attached = client.volume(v).await.unwrap().instance_id;
        assert_eq!(attached.as_deref(), Some(instance.as_str()), "volume {v}");
    }
    assert_eq!(status(&client, &instance).await, InstanceStatus::Running);
}

/// The change fails, then so does the start: both errors reach the user.
#[tokio::test]
async fn a_failed_change_and_a_failed_start_are_both_reported() {
    let emu = emulator();
    let client = api(&emu);
    let instance = running_instance(&client, "both-fail").await;
    let st = provider_state(client);
    let admin = emu.admin.clone();
    let id = instance.clone();
    let err = with_instance_offline(&ctx(&st), &st, &instance, true, "attach", || async move {
        // An instance stuck in `error` refuses the start that follows.
        admin.make_stuck(&id, InstanceStatus::Error).unwrap();
        Err(Diagnostic::error("the change failed", "as the test made it").into())
    })
    .await
    .unwrap_err();
    let all = text(&err);
    assert!(all.contains("the change failed"), "{all}");
    assert!(all.contains("may still be shut down"), "{all}");
}

/// The shutdown is accepted, then the operation is cancelled while waiting for
/// `offline`: the change is not made, and the instance is started again.
#[tokio::test]
async fn an_instance_shut_down_is_started_again_when_the_wait_is_cancelled() {
    let emu = emulator();
    let client = api(&emu);
    let instance = running_instance(&client, "cancelled-wait").await;
    let st = provider_state(client.clone());
    // Slow reads leave time to cancel while the wait for `offline` is under way.
    let slow = FaultRule {
        latency_ms: 1500,
        ..FaultRule::default()
    };
    emu.admin.set_fault("GET /v1/instances/{id}", slow).unwrap();
    let ctx = ctx(&st);
    let cancel = ctx.cancellation_token().clone();
    let admin = emu.admin.clone();
    tokio::spawn(async move {
        while power_requests(&admin) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        cancel.cancel();
    });
    let changed = AtomicBool::new(false);
    let result = with_instance_offline(&ctx, &st, &instance, true, "attach", || async {
        changed.store(true, Ordering::SeqCst);
        Ok(())
    })
    .await;
    assert!(result.is_err(), "a cancelled power cycle is an error");
    assert!(!changed.load(Ordering::SeqCst), "no change without offline");
    emu.admin.clear_faults();
    assert_eq!(power_requests(&emu.admin), 2, "shutdown, then start");
    assert_eq!(status(&client, &instance).await, InstanceStatus::Running);
}

/// The state of a new attachment carries the planned ids, whatever the volume showed.
#[test]
fn the_state_keeps_the_planned_ids() {
    let planned = AttachmentModel {
        volume_id: Some("vol".into()),
        instance_id: Some("inst".into()),
        ..AttachmentModel::default()
    };
    let state = planned.attached(None).unwrap();
    assert_eq!(state.id.as_deref(), Some("vol/inst"));
    assert_eq!(state.instance_id.as_deref(), Some("inst"));
    assert_eq!(state.allow_power_cycle, Some(false));
}

/// An attach the API makes only after answering: the create waits until the volume
/// shows it, and then has its target device.
#[tokio::test]
async fn create_waits_until_the_volume_shows_the_attachment() {
    let emu = emulator();
    let client = api(&emu);
    let instance = running_instance(&client, "late-attach").await;
    let volume_id = volume(&client, "late").await;
    let st = provider_state(client.clone());
    let ctx = ctx(&st);
    crate::actions::set_power(
        &ctx,
        &st,
        &instance,
        datacrunch_models::InstanceAction::Shutdown,
        &InstanceStatus::Offline,
    )
    .await
    .unwrap();
    let later = {
        let (st, volume_id, instance) = (st.clone(), volume_id.clone(), instance.clone());
        async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            volume_action(&st.client, VolumeAction::Attach, &volume_id, &instance).await
        }
    };
    let (shown, attach) = tokio::join!(shown_attached(&ctx, &client, &volume_id, &instance), later);
    attach.unwrap();
    let shown = shown.unwrap();
    assert_eq!(shown.instance_id.as_deref(), Some(instance.as_str()));
    assert!(shown.target.is_some(), "an attached volume has a device");
}

/// A volume that never shows the attachment: the wait ends with an error saying so
/// when the operation ends (here: cancelled).
#[tokio::test]
async fn a_volume_never_showing_the_attachment_is_an_error() {
    let emu = emulator();
    let client = api(&emu);
    let instance = running_instance(&client, "never-attached").await;
    let volume_id = volume(&client, "never").await;
    let st = provider_state(client.clone());
    let ctx = ctx(&st);
    let cancel = ctx.cancellation_token().clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        cancel.cancel();
    });
    let err = shown_attached(&ctx, &client, &volume_id, &instance)
        .await
        .unwrap_err();
    let all = text(&err);
    assert!(all.contains("does not show the attachment"), "{all}");
}
