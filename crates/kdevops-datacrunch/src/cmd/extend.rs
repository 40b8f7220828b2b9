//! `extend`: a bringup that moves every node's (or the cluster's) expiry to now + the given TTL, with the
//! same options as bringup for what follows the apply (the SSH wait).

use anyhow::Result;

use super::bringup::{self, BringupArgs, SshTimeout};
use crate::project::Project;

#[derive(Debug, clap::Args)]
pub struct ExtendArgs {
    /// How long from now: `30s`, `20m`, `8h`, `2d`.
    ttl: String,

    #[command(flatten)]
    ssh_timeout: SshTimeout,
}

pub async fn run(project: &Project, args: ExtendArgs) -> Result<()> {
    bringup::run(project, BringupArgs::extend(args.ttl, args.ssh_timeout)).await
}
