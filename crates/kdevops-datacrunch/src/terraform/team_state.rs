//! What only the team state (PostgreSQL) needs of a Terraform run: waiting, visibly,
//! for another checkout's state lock, and an `init` that survives the race of two first
//! inits on a fresh database.

use anyhow::{bail, Result};

use super::{AfterStop, Terraform, PROVIDER_NAMESPACE, PROVIDER_TYPE};
use crate::backend::Backend;
use crate::{state_lock, ttl};

/// What Terraform says when it could not take the lock (its "Lock Info" names the
/// waiting run itself, never the holder).
pub(super) const LOCK_ERROR: &str = "Error acquiring the state lock";

/// One run of a command that takes the state lock.
pub(super) enum Locked<T> {
    Done(T),
    /// Terraform could not take the lock: another run holds it. The error says so.
    Busy(anyhow::Error),
}

/// A run's result with Terraform's lock error as [`Locked::Busy`].
pub(super) fn lock_busy<T>(result: Result<T>) -> Result<Locked<T>> {
    match result {
        Err(e) if format!("{e:#}").contains(LOCK_ERROR) => Ok(Locked::Busy(e)),
        other => other.map(Locked::Done),
    }
}

impl Terraform {
    /// Runs a command that takes the state lock. With the team state it first tries the
    /// lock at once (`-lock-timeout=0s`): when another checkout holds it, this says so,
    /// naming the holder, then runs the command again waiting up to the configured time
    /// ([`state_lock::timeout`]), and fails after that saying what releases it. So no
    /// command ever waits silently inside Terraform, also when the lock was taken just
    /// after [`Self::wait_for_state_lock`] found it free. `run` gets the lock-timeout
    /// argument (none for the local state, which no other checkout shares).
    pub(super) fn locking<T>(
        &self,
        mut run: impl FnMut(Option<&str>) -> Result<Locked<T>>,
    ) -> Result<T> {
        let Backend::Pg { conn_str } = &self.backend else {
            return match run(None)? {
                Locked::Done(done) => Ok(done),
                Locked::Busy(e) => Err(e),
            };
        };
        if let Locked::Done(done) = run(Some("-lock-timeout=0s"))? {
            return Ok(done);
        }
        let database = self.backend.describe();
        eprintln!(
            "waiting for the state lock held by {} on {database} (up to {}, {})",
            state_lock::describe(&state_lock::holder_now(conn_str)),
            ttl::show(self.lock_timeout),
            state_lock::TIMEOUT_ENV
        );
        let wait = format!("-lock-timeout={}s", self.lock_timeout.as_secs());
        if let Locked::Done(done) = run(Some(&wait))? {
            return Ok(done);
        }
        let holder = state_lock::holder_now(conn_str);
        bail!(
            "{}",
            state_lock::still_held(&holder, &database, self.lock_timeout)
        )
    }

    /// Waits until no other checkout's Terraform holds the team state's lock, naming the
    /// holder when it has to wait, so that what this run then reads is not in the middle
    /// of another run's apply. A no-op for the local state.
    pub fn wait_for_state_lock(&self) -> Result<()> {
        if !self.backend.is_remote() {
            return Ok(());
        }
        // A state command that takes the lock and changes nothing.
        let provider = format!("registry.terraform.io/{PROVIDER_NAMESPACE}/{PROVIDER_TYPE}");
        self.locking(|lock| {
            let mut args = vec!["state", "replace-provider", "-auto-approve"];
            args.extend(lock);
            args.extend([provider.as_str(), provider.as_str()]);
            match self.run_quiet(&args, AfterStop::Refuse) {
                // "No state file was found" comes after the lock was taken: nobody holds it.
                Err(e) if format!("{e:#}").contains("No state file was found") => {
                    Ok(Locked::Done(()))
                }
                other => lock_busy(other.map(drop)),
            }
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
