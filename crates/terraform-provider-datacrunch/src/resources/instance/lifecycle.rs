//! The instance's life on the API side: deploy (or adopt a deploy whose answer was
//! lost), wait until it runs, delete (with `delete_stuck` for a stuck instance) and
//! confirm. Pure API work: the Terraform side
//! (state, diagnostics) lives in `mod.rs`.

use crate::state::instances::{InstanceDirectory, Lookup};
use crate::state::Pacing;
use datacrunch_client::{Client, Error};
use datacrunch_models::{
    DeployInstanceRequest, ErrorCode, Instance, InstanceAction, InstanceActionRequest,
    InstanceStatus,
};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Why a wait or a delete stopped.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("{0}")]
    Api(#[from] Error),
    #[error("instance {id} reached status \"{status}\"{}", no_capacity_hint(.status))]
    Failed { id: String, status: InstanceStatus },
    #[error("{0}")]
    Poll(Arc<Error>),
    #[error(
        "lost contact with the DataCrunch API at {url}: no answer for {}s while waiting \
         for instance {id} to run (last error: {last_error})", silent.as_secs()
    )]
    Unreachable {
        id: String,
        url: String,
        silent: Duration,
        last_error: Arc<Error>,
    },
    #[error("instance {id} disappeared while waiting for it to run")]
    Vanished { id: String },
    #[error("timed out after {waited:?} waiting for instance {id} ({what}; last status {last_status:?})")]
    Timeout {
        id: String,
        what: &'static str,
        waited: Duration,
        last_status: String,
    },
    #[error("cancelled while waiting for instance {id}")]
    Cancelled { id: String },
    #[error(
        "instance {id} is stuck in status \"{status}\": the API refused both a normal delete \
         and delete_stuck ({source}); remove it in the DataCrunch console or ask support"
    )]
    StuckDeleteRefused {
        id: String,
        status: InstanceStatus,
        source: Box<Error>,
    },
}

fn no_capacity_hint(status: &InstanceStatus) -> &'static str {
    if *status == InstanceStatus::NoCapacity {
        ": the location ran out of capacity for this type after accepting the deploy; \
         pick another location or type (data source datacrunch_offer)"
    } else {
        ""
    }
}

/// Deadline and cancellation of one operation.
pub struct Budget<'a> {
    pub deadline: Instant,
    pub cancel: &'a CancellationToken,
    pub pacing: Pacing,
}

impl Budget<'_> {
    /// Sleeps `d`, or less when the deadline comes first; false when out of time or
    /// cancelled.
    async fn sleep(&self, d: Duration) -> bool {
        let wake = (Instant::now() + d).min(self.deadline);
        tokio::select! {
            _ = self.cancel.cancelled() => false,
            _ = tokio::time::sleep_until(wake) => Instant::now() < self.deadline,
        }
    }
}

/// Deploys, and when the outcome is unknown looks for the instance this very request
/// created (same hostname, carrying the request's tags, its create token among them)
/// before trying again: a lost answer must never become a second billed machine.
/// Returns the id and whether it was adopted.
pub async fn deploy_or_adopt(
    client: &Client,
    request: &DeployInstanceRequest,
    budget: &Budget<'_>,
) -> Result<(String, bool), Error> {
    let since = SystemTime::now();
    loop {
        match client.deploy_instance(request).await {
            Ok(id) => return Ok((id, false)),
            Err(e) if e.is_outcome_unknown() => {
                tracing::warn!(hostname = %request.hostname, error = %e, "deploy outcome unknown; looking for the instance");
                if let Some(id) = find_adoptable(client, request, since, budget).await? {
                    return Ok((id, true));
                }
                if !budget.sleep(Duration::ZERO).await {
                    return Err(e);
                }
                tracing::warn!(hostname = %request.hostname, "no instance from the lost deploy; deploying again");
            }
            Err(e) => return Err(e),
        }
    }
}

/// Looks a few times (an accepted deploy may take a moment to be listed) for the
/// instance a deploy of `request` made since `since`, the way the client recognises it
/// (hostname and every tag, the create token among them).
async fn find_adoptable(
    client: &Client,
    request: &DeployInstanceRequest,
    since: SystemTime,
    budget: &Budget<'_>,
) -> Result<Option<String>, Error> {
    const LOOKS: u32 = 3;
    for look in 0..LOOKS {
        match client.find_deployed(request, since).await {
            Ok(Some(id)) => return Ok(Some(id)),
            Ok(None) => {}
            Err(e) if e.is_retryable() => {
                tracing::debug!(error = %e, "lookup after an unknown deploy failed; looking again")
            }
            Err(e) => return Err(e),
        }
        if look + 1 < LOOKS && !budget.sleep(budget.pacing.initial * 4).await {
            break;
        }
    }
    Ok(None)
}

/// A wait that ended without a running instance: why, and the instance as last seen
/// (if it was seen at all), so the caller can record what exists.
#[derive(Debug)]
pub struct WaitFailure {
    pub error: LifecycleError,
    pub last_seen: Option<Box<Instance>>,
}

impl WaitFailure {
    /// True when the instance no longer exists, so there is nothing to keep in state.
    pub fn is_gone(&self) -> bool {
        matches!(self.error, LifecycleError::Vanished { .. })
    }
}

/// How long a wait goes on without any answer from the API (connection refused or
/// reset, no answer in time) or with its credentials refused, before it gives up: the
/// apply ends with the API's address in the error instead of waiting out the whole
/// create timeout, and the instance stays in state for the next apply or destroy.
pub const UNREACHABLE_LIMIT: Duration = Duration::from_secs(40);

/// True when the request got no HTTP answer at all (after the client's retries).
fn no_answer(e: &Error) -> bool {
    matches!(e.root(), Error::Transport { .. } | Error::Timeout { .. })
}

/// Polls (through the shared directory) until the instance runs and has an IP. Only a
/// failed status ends the wait early: a poll that fails (429, 5xx, a reset; the client
/// has retried it already) is just a missed look, and the next one follows, until the
/// deadline or until the API has not answered for [`UNREACHABLE_LIMIT`].
pub async fn wait_running(
    directory: &InstanceDirectory,
    id: &str,
    budget: &Budget<'_>,
) -> Result<Instance, WaitFailure> {
    let start = Instant::now();
    let mut last_seen: Option<Box<Instance>> = None;
    let mut last_good = start;
    let fail = |error, last_seen| Err(WaitFailure { error, last_seen });
    loop {
        let interval = budget.pacing.interval_after(start.elapsed());
        // A snapshot another waiter took within the last quarter interval is fresh
        // enough: instances deployed together share list calls without seeing the
        // moment they run much later than a poll of their own would.
        match directory.lookup(id, interval / 4).await {
            Ok(Lookup::Found(i)) => {
                last_good = Instant::now();
                if i.status == InstanceStatus::Running
                    && i.ip.as_deref().is_some_and(|ip| !ip.is_empty())
                {
                    return Ok(*i);
                }
                if i.status.is_failed() {
                    let status = i.status.clone();
                    return fail(
                        LifecycleError::Failed {
                            id: id.to_owned(),
                            status,
                        },
                        Some(i),
                    );
                }
                last_seen = Some(i);
            }
            Ok(Lookup::Gone) => {
                return fail(LifecycleError::Vanished { id: id.to_owned() }, None);
            }
            Err(e) => {
                let silent = last_good.elapsed();
                if silent >= UNREACHABLE_LIMIT && no_answer(&e) {
                    let error = LifecycleError::Unreachable {
                        id: id.to_owned(),
                        url: directory.base_url().to_owned(),
                        silent,
                        last_error: e,
                    };
                    return fail(error, last_seen);
                }
                if silent >= UNREACHABLE_LIMIT && e.is_unauthorized() {
                    return fail(LifecycleError::Poll(e), last_seen);
                }
                tracing::debug!(id, error = %e, "poll failed; polling again");
            }
        }
        if !budget.sleep(interval).await {
            let last_status = last_seen
                .as_ref()
                .map_or_else(|| "not seen yet".to_owned(), |i| i.status.to_string());
            let error = stopped(
                budget,
                id,
                "waiting for status running with an IP",
                start,
                last_status,
            );
            return fail(error, last_seen);
        }
    }
}

fn stopped(
    budget: &Budget<'_>,
    id: &str,
    what: &'static str,
    start: Instant,
    last_status: String,
) -> LifecycleError {
    if budget.cancel.is_cancelled() {
        LifecycleError::Cancelled { id: id.to_owned() }
    } else {
        LifecycleError::Timeout {
            id: id.to_owned(),
            what,
            waited: start.elapsed(),
            last_status,
        }
    }
}

/// True for an action the API refused in the instance's current state (403
/// `forbidden_action`, or 400 `invalid_request`, which the service also uses for it).
fn is_refused(e: &Error) -> bool {
    e.api()
        .and_then(|a| a.code.as_ref())
        .is_some_and(|code| matches!(code, ErrorCode::ForbiddenAction | ErrorCode::InvalidRequest))
}

/// What a read of an instance whose delete was refused says about it.
enum RefusedDelete {
    /// 404, or a gone status: the delete already happened.
    Gone,
    /// Still in this status (unreadable counts as still there).
    In(Option<InstanceStatus>),
}

async fn after_refusal(client: &Client, id: &str) -> RefusedDelete {
    match client.instance(id).await {
        Ok(i) if i.status.is_gone() => RefusedDelete::Gone,
        Ok(i) => RefusedDelete::In(Some(i.status)),
        Err(e) if e.is_not_found() => RefusedDelete::Gone,
        Err(_) => RefusedDelete::In(None),
    }
}

/// How a delete ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Deleted {
    /// The normal delete was accepted (or the instance was already gone).
    Normally,
    /// The instance was stuck in this status, refused the normal delete, and went with
    /// the API's `delete_stuck` action.
    Stuck(InstanceStatus),
}

/// Whether an instance whose normal delete was refused counts as stuck: `error` never
/// becomes deletable by waiting; a pending status counts once half the delete budget
/// went by without the instance getting anywhere (a healthy deploy runs in minutes,
/// and the other half leaves time for `delete_stuck` and the confirmation).
fn is_stuck(status: &InstanceStatus, start: Instant, budget: &Budget<'_>) -> bool {
    let half = budget.deadline.saturating_duration_since(start) / 2;
    *status == InstanceStatus::Error || status.is_pending() && start.elapsed() >= half
}

/// Deletes the instance and waits until the API reports it gone. An instance that is
/// unknown or already discontinued counts as deleted; "Can't discontinue a provisioning
/// instance" is retried, and where the instance is stuck (see [`is_stuck`]) the
/// refused delete becomes `delete_stuck`. `delete_os_volume` false keeps every
/// volume (`volume_ids: []`); true deletes the OS volume for good (not to the trash)
/// and detaches the others.
pub async fn delete_and_confirm(
    client: &Client,
    id: &str,
    delete_os_volume: bool,
    budget: &Budget<'_>,
) -> Result<Deleted, LifecycleError> {
    let start = Instant::now();
    let mut request = InstanceActionRequest::delete(id, delete_os_volume);
    let mut outcome = Deleted::Normally;
    loop {
        match client.instance_action(&request).await {
            Ok(_) => break,
            Err(e) if e.is_gone_on_delete() => break,
            Err(e) if e.is_retryable() => {
                tracing::debug!(id, error = %e, "delete not accepted yet; retrying");
            }
            // A refusal: the API's own view of the instance decides whether it is
            // already gone, stuck, or still on its way.
            Err(e) if is_refused(&e) => match after_refusal(client, id).await {
                RefusedDelete::Gone => break,
                RefusedDelete::In(Some(status)) if is_stuck(&status, start, budget) => {
                    if request.action == InstanceAction::DeleteStuck {
                        return Err(LifecycleError::StuckDeleteRefused {
                            id: id.to_owned(),
                            status,
                            source: Box::new(e),
                        });
                    }
                    tracing::warn!(id, %status, error = %e, "delete refused; the instance is stuck, using delete_stuck");
                    request.action = InstanceAction::DeleteStuck;
                    outcome = Deleted::Stuck(status);
                    continue;
                }
                RefusedDelete::In(status)
                    if e.is_still_provisioning()
                        || status.as_ref().is_some_and(InstanceStatus::is_pending) =>
                {
                    tracing::debug!(id, error = %e, "delete not accepted yet; retrying");
                }
                RefusedDelete::In(_) => return Err(e.into()),
            },
            // The same words without an error code the provider knows.
            Err(e) if e.is_still_provisioning() => {
                tracing::debug!(id, error = %e, "delete not accepted yet; retrying");
            }
            Err(e) => return Err(e.into()),
        }
        let interval = budget.pacing.interval_after(start.elapsed());
        if !budget.sleep(interval).await {
            return Err(stopped(
                budget,
                id,
                "retrying the delete of a provisioning instance",
                start,
                "provisioning".into(),
            ));
        }
    }
    // Confirm: gone means 404 or a gone status (discontinued, deleting).
    loop {
        let last_status = match client.instance(id).await {
            Err(e) if e.is_not_found() => return Ok(outcome),
            Ok(i) if i.status.is_gone() => return Ok(outcome),
            Ok(i) => i.status.to_string(),
            Err(e) if e.is_retryable() => "unreadable".to_owned(),
            Err(e) => return Err(e.into()),
        };
        let interval = budget.pacing.interval_after(start.elapsed());
        if !budget.sleep(interval).await {
            return Err(stopped(
                budget,
                id,
                "confirming the delete",
                start,
                last_status,
            ));
        }
    }
}
