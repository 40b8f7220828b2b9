//! What only the team state (PostgreSQL) needs of a Terraform run: waiting, visibly,
//! for another checkout's state lock, and an `init` that survives the race of two first
//! inits on a fresh database.

use anyhow::Result;

use super::{AfterStop, Terraform, LOCK_TIMEOUT, PROVIDER_NAMESPACE, PROVIDER_TYPE};

impl Terraform {
    /// Waits until no other checkout's Terraform holds the team state's lock, saying so
    /// when it has to wait, so that what this run then reads is not in the middle of
    /// another run's apply. A no-op for the local state.
    pub fn wait_for_state_lock(&self) -> Result<()> {
        if !self.backend.is_remote() {
            return Ok(());
        }
        // A state command that takes the lock and changes nothing.
        let provider = format!("registry.terraform.io/{PROVIDER_NAMESPACE}/{PROVIDER_TYPE}");
        let probe = |timeout: &str| {
            self.run_quiet(
                &[
                    "state",
                    "replace-provider",
                    "-auto-approve",
                    timeout,
                    &provider,
                    &provider,
                ],
                AfterStop::Refuse,
            )
        };
        // "No state file was found" comes after the lock was taken: nobody holds it.
        let free = |e: &anyhow::Error| format!("{e:#}").contains("No state file was found");
        match probe("-lock-timeout=0s") {
            Ok(_) => return Ok(()),
            Err(e) if free(&e) => return Ok(()),
            Err(e) if !format!("{e:#}").contains("lock") => return Err(e),
            Err(_) => {}
        }
        eprintln!(
            "waiting for the state lock held by another checkout's Terraform run on {} (up to 15 minutes)",
            self.backend.describe()
        );
        probe(LOCK_TIMEOUT).map(|_| ()).or_else(|e| if free(&e) { Ok(()) } else { Err(e) }).map_err(|e| {
            e.context(format!(
                "the state lock on {} is still held: if no other bringup or destroy of the team runs, \
                 release it with `terraform -chdir={} force-unlock <ID>` (the ID is in the message above)",
                self.backend.describe(),
                self.workdir.display()
            ))
        })
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
