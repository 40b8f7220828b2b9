//! What a configured provider holds, shared by every resource and data source of one
//! provider process: the API client, how waits pace their polls, the catalog cache,
//! the instance directory and the per-instance power locks.
//!
//! This module sits below resources and data sources: they read the state through
//! [`ProviderState::of`]; `provider.rs` builds it in `configure` and never the other way
//! round, so no module here knows about Terraform resources.

pub mod catalog;
pub mod instances;
pub mod power;

use catalog::CatalogCache;
use datacrunch_client::Client;
use instances::InstanceDirectory;
use power::PowerLocks;
use std::sync::Arc;
use std::time::Duration;
use tfplugin::{Context, Diagnostics};

/// How waits poll: start at `initial`, then a twentieth of the time waited so far,
/// capped at `max`. A wait therefore overshoots the moment the instance became ready by
/// at most 5% (or `initial`), while a long wait (real GPU machines take minutes) makes
/// few calls: about 20 per doubling of the time waited, shared by every instance
/// waiting in the same process (see the instance directory).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pacing {
    pub initial: Duration,
    pub max: Duration,
}

impl Pacing {
    pub fn interval_after(&self, waited: Duration) -> Duration {
        (waited / 20).clamp(self.initial, self.max.max(self.initial))
    }
}

/// Everything configured once per provider process.
pub struct ProviderState {
    pub client: Client,
    pub catalog: CatalogCache,
    pub instances: InstanceDirectory,
    pub pacing: Pacing,
    /// Serialises power changes of one instance around volume attach and detach.
    pub power: PowerLocks,
}

impl ProviderState {
    pub fn new(client: Client, pacing: Pacing) -> Self {
        Self {
            instances: InstanceDirectory::new(client.clone()),
            client,
            catalog: CatalogCache::default(),
            pacing,
            power: PowerLocks::default(),
        }
    }

    /// The state the provider was configured with for this process; an error
    /// diagnostic when Terraform calls before configuring it.
    pub fn of(ctx: &Context) -> Result<Arc<ProviderState>, Diagnostics> {
        ctx.provider_data::<ProviderState>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_is_a_twentieth_of_the_wait_within_bounds() {
        let p = Pacing {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(15),
        };
        assert_eq!(p.interval_after(Duration::ZERO), Duration::from_millis(250));
        assert_eq!(
            p.interval_after(Duration::from_secs(5)),
            Duration::from_millis(250)
        );
        assert_eq!(
            p.interval_after(Duration::from_secs(60)),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.interval_after(Duration::from_secs(600)),
            Duration::from_secs(15)
        );
    }
}
