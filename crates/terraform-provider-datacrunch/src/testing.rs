//! Unit-test helpers shared by modules that drive the in-process emulator.

use crate::state::{Pacing, ProviderState};
use datacrunch_client::Client;
use datacrunch_models::{DeployInstanceRequest, Instance, InstanceStatus};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Provider state over `client`, polling fast (the emulator answers at once).
pub fn provider_state(client: Client) -> Arc<ProviderState> {
    let pacing = Pacing {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(200),
    };
    Arc::new(ProviderState::new(client, pacing))
}

/// Deploys an instance in FIN-01 and waits until it is running; its id.
pub async fn running_instance(client: &Client, hostname: &str) -> String {
    let id = client
        .deploy_instance(&DeployInstanceRequest {
            location_code: Some("FIN-01".into()),
            ..DeployInstanceRequest::new(
                "1H100.80S.30V",
                "ubuntu-24.04-cuda-12.8-open-docker",
                hostname,
                hostname,
            )
        })
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let running = |i: &Instance| i.status == InstanceStatus::Running;
    client
        .wait_for_instance(&id, running, deadline, &CancellationToken::new())
        .await
        .unwrap();
    id
}
