//! Tags against the real emulator: add, read back through the instance, re-add (409 is
//! success), delete, delete again (404 is success).

use datacrunch_client::models::{DeployInstanceRequest, Tag};
use datacrunch_client::{Client, TaggedKind};
use datacrunch_emulator::Emulator;

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl t@t";

#[tokio::test]
async fn instance_tags_round_trip() {
    let emu = Emulator::builder()
        .build()
        .unwrap()
        .spawn_on_loopback()
        .await
        .unwrap();
    let client = Client::builder()
        .base_url(&emu.base_url)
        .client_credentials(&emu.client_id, &emu.client_secret)
        .build()
        .unwrap();
    let key = client
        .create_ssh_key(&datacrunch_client::models::CreateSshKeyRequest {
            name: "k".into(),
            key: KEY.into(),
        })
        .await
        .unwrap();
    let id = client
        .deploy_instance(&DeployInstanceRequest {
            ssh_key_ids: vec![key],
            location_code: Some("FIN-01".into()),
            ..DeployInstanceRequest::new(
                "1V100.6V",
                "ubuntu-22.04-cuda-12.0-docker",
                "tagged",
                "tag test",
            )
        })
        .await
        .unwrap();

    let tag = Tag {
        key: "Team".into(),
        value: Some("storage".into()),
    };
    client
        .add_tag(TaggedKind::Instance, &id, &tag)
        .await
        .unwrap();
    // A second add of the same key is a 409 from the service: already in place.
    client
        .add_tag(TaggedKind::Instance, &id, &tag)
        .await
        .unwrap();
    let tags = client.instance(&id).await.unwrap().tags;
    assert_eq!(
        tags,
        vec![Tag {
            key: "team".into(),
            value: Some("storage".into())
        }]
    );

    client
        .delete_tag(TaggedKind::Instance, &id, "team")
        .await
        .unwrap();
    client
        .delete_tag(TaggedKind::Instance, &id, "team")
        .await
        .unwrap();
    assert!(client.instance(&id).await.unwrap().tags.is_empty());

    // A tag on an instance that does not exist is a real error, not silently accepted.
    let err = client
        .add_tag(
            TaggedKind::Instance,
            "00000000-0000-4000-8000-000000000000",
            &tag,
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    emu.shutdown().await;
}

/// The API's clock is what expiry and billing are measured on: `balance_dated` reads it
/// from the answer's `Date`, so an emulator whose clock was moved a day ahead is a day
/// ahead of the local clock.
#[tokio::test]
async fn balance_dated_reads_the_apis_clock_not_the_local_one() {
    let emu = Emulator::builder()
        .build()
        .unwrap()
        .spawn_on_loopback()
        .await
        .unwrap();
    let client = Client::builder()
        .base_url(&emu.base_url)
        .client_credentials(&emu.client_id, &emu.client_secret)
        .build()
        .unwrap();
    emu.admin
        .advance_clock(std::time::Duration::from_secs(24 * 3600));
    let dated = client.balance_dated().await.unwrap();
    let served = dated.server_time.expect("the emulator sends a Date header");
    let ahead = served
        .duration_since(std::time::SystemTime::now())
        .expect("the API's clock is ahead of the local one");
    assert!(
        ahead.as_secs() > 23 * 3600 && ahead.as_secs() < 25 * 3600,
        "{ahead:?}"
    );
    assert_eq!(dated.value.currency, "usd");
}
