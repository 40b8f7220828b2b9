//! What only the team state (PostgreSQL) needs of a Terraform run: waiting, visibly,
//! for another checkout's state lock, and an `init` that survives the race of two first
//! inits on a fresh database.

use anyhow::{bail, Result};

use super::{AfterStop, Terraform, PROVIDER_NAMESPACE, PROVIDER_TYPE};
use crate::backend::Backend;
use crate::{state_lock, ttl};

/// What Terraform says when it could not take the lock (its "Lock Info" names the
/// waiting run itself, never the holder).
const LOCK_ERROR: &str = "Error acquiring the state lock";

impl Terraform {
    /// Waits until no other checkout's Terraform holds the team state's lock, naming the
    /// holder when it has to wait, so that what this run then reads is not in the middle
    /// of another run's apply. After the wait ([`state_lock::timeout`]) fails saying
    /// what releases it. A no-op for the local state.
    pub async fn wait_for_state_lock(&self) -> Result<()> {
        let Backend::Pg { conn_str } = &self.backend else {
            return Ok(());
        };
        // A state command that takes the lock and changes nothing.
        let provider = format!("registry.terraform.io/{PROVIDER_NAMESPACE}/{PROVIDER_TYPE}");
        let probe = |timeout: &str| {
            let outcome = self.run_quiet(
                &[
                    "state",
                    "replace-provider",
                    "-auto-approve",
                    timeout,
                    &provider,
                    &provider,
                ],
                AfterStop::Refuse,
            );
            match outcome {
                Ok(_) => Ok(true),
                // "No state file was found" comes after the lock was taken: nobody holds it.
                Err(e) if format!("{e:#}").contains("No state file was found") => Ok(true),
                Err(e) if format!("{e:#}").contains(LOCK_ERROR) => Ok(false),
                Err(e) => Err(e),
            }
        };
        if probe("-lock-timeout=0s")? {
            return Ok(());
        }
        let database = self.backend.describe();
        eprintln!(
            "waiting for the state lock held by {} on {database} (up to {}, {})",
            state_lock::describe(&state_lock::holder(conn_str).await),
            ttl::show(self.lock_timeout),
            state_lock::TIMEOUT_ENV
        );
        if probe(&format!("-lock-timeout={}s", self.lock_timeout.as_secs()))? {
            return Ok(());
        }
        let holder = state_lock::holder(conn_str).await;
        bail!(
            "{}",
            state_lock::still_held(&holder, &database, self.lock_timeout)
        )
    }

    /// `terraform init ARGS`; a failure is named with the state's database.
    pub(super) fn init_with_retry(&self, args: &[&str]) -> Result<()> {
        // Two first inits on a fresh database race to create the backend's schema, and
        // the loser fails on a duplicate key; the schema exists then, so init again.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.run_quiet(args, AfterStop::Refuse) {
                Ok(_) => break,
                Err(e) if attempt < 4 && format!("{e:#}").contains("duplicate key") => {
                    std::thread::sleep(std::time::Duration::from_millis(500 * attempt));
                }
                Err(e) if self.backend.is_remote() => {
                    return Err(e.context(format!(
                        "cannot use the Terraform state in {} (CONFIG_TERRAFORM_DATACRUNCH_STATE_PG_CONN_STR or PG_CONN_STR); nothing was created",
                        self.backend.describe()
                    )))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
