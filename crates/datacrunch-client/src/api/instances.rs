//! Instances: list, get, deploy, actions, and lookup by hostname.

use super::recover::{carries_tags, created_since};
use crate::client::{Client, Dated};
use crate::decode::decode_action_results;
use crate::decode::decode_json;
use crate::error::{ActionFailure, Error, Result};
use crate::transport::{Repeat, Request, Uncertain};
use datacrunch_models::{
    DeployInstanceRequest, Instance, InstanceAction, InstanceActionRequest, InstanceActionResult,
    InstanceStatus,
};
use reqwest::Method;
use std::time::SystemTime;

/// Actions that may be sent again without changing the outcome: repeating a start, a
/// shutdown or a delete ends in the same state (a repeated delete answers "Can't
/// discontinue a discontinued instance", which callers treat as done). Hibernate and
/// restore move volumes around, so an uncertain one is reported, not repeated.
fn action_is_idempotent(action: &InstanceAction) -> bool {
    matches!(
        action,
        InstanceAction::Start
            | InstanceAction::Boot
            | InstanceAction::Shutdown
            | InstanceAction::ForceShutdown
            | InstanceAction::Delete
            | InstanceAction::Discontinue
            | InstanceAction::DeleteStuck
    )
}

impl Client {
    /// `GET /instances[?status=…]`: every instance not yet deleted, optionally only those
    /// in one status.
    pub async fn instances(&self, status: Option<&InstanceStatus>) -> Result<Vec<Instance>> {
        Ok(self.instances_dated(status).await?.value)
    }

    /// [`Client::instances`] with the API's clock at the time of the listing (its
    /// `Date` header): how long an instance has run (and billed) is measured on the
    /// server's clock, not on a local one that may be off.
    pub async fn instances_dated(
        &self,
        status: Option<&InstanceStatus>,
    ) -> Result<Dated<Vec<Instance>>> {
        let req = Request::get(&["instances"]).query("status", status);
        let resp = self.execute(&req).await?;
        Ok(Dated {
            value: decode_json(&req.endpoint(), "an array of instances", &resp.body)?,
            server_time: resp.server_date,
        })
    }

    /// `GET /instances/{id}`. An unknown id is an error for which
    /// [`Error::is_not_found`] holds (the service says 404 or 400 "Invalid instance id").
    pub async fn instance(&self, id: &str) -> Result<Instance> {
        let id = super::require_id("instance_id", id)?;
        self.fetch_json(Request::get(&["instances", id]), "an instance object")
            .await
    }

    /// `POST /instances` → the new instance's id.
    ///
    /// Safe against lost answers: when an attempt may have taken effect (a 5xx that is
    /// not a refusal, a connection lost after sending, a timeout), the instance it made
    /// is looked up before the deploy is sent again, and returned if found: same
    /// hostname, every tag of the request, created after the first attempt started, not
    /// gone. Give each deploy a unique token tag so that only its own instance matches.
    /// A 503 that says "no capacity", a 402 and other 4xx are definite failures.
    /// [`Error::DeployOutcomeUnknown`] only when the lookup itself failed.
    pub async fn deploy_instance(&self, request: &DeployInstanceRequest) -> Result<String> {
        let hostname = super::require_id("hostname", &request.hostname)?;
        let req = Request::new(Method::POST, &["instances"])
            .json(request)?
            .repeat(Repeat::Once(Uncertain::Deploy {
                hostname: hostname.to_owned(),
            }));
        self.create_with_recovery(req, |since| self.find_deployed(request, since))
            .await
    }

    /// The instance a deploy of `request` made at `since` or later, if one did (see
    /// [`deploy_instance`](Self::deploy_instance)): same hostname, every tag of the
    /// request, not gone; the earliest if several match. Callers that keep looking after
    /// the client gave up (the outcome stayed unknown) use this same test, so a lost
    /// answer is recognised one way everywhere.
    pub async fn find_deployed(
        &self,
        request: &DeployInstanceRequest,
        since: SystemTime,
    ) -> Result<Option<String>> {
        let mut found = self.find_instances_by_hostname(&request.hostname).await?;
        found.retain(|i| {
            !i.status.is_gone()
                && carries_tags(&i.tags, &request.tags)
                && created_since(&i.created_at, since)
        });
        found.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(found.into_iter().next().map(|i| i.id))
    }

    /// `PUT /instances`: one action on one or more instances. Returns the per-instance
    /// results (empty when the service sends none). If the action failed for any
    /// instance (207, or error items) the answer is [`Error::PartialFailure`] listing
    /// which; for a single instance the error helpers (`is_still_provisioning`, ...)
    /// answer for that instance.
    pub async fn instance_action(
        &self,
        request: &InstanceActionRequest,
    ) -> Result<Vec<InstanceActionResult>> {
        if request.id.is_empty() {
            return Err(Error::InvalidInput(
                "id: expected at least one instance id".into(),
            ));
        }
        for id in &request.id {
            super::require_id("id", id)?;
        }
        let mut req = Request::new(Method::PUT, &["instances"]).json(request)?;
        if !action_is_idempotent(&request.action) {
            req = req.repeat(Repeat::Once(Uncertain::Operation(format!(
                "{} of instances {}",
                request.action,
                request.id.join(", ")
            ))));
        }
        let resp = self.execute(&req).await?;
        let results = match decode_action_results(&req.endpoint(), &resp.body) {
            Ok(r) => r,
            // Only a 207 must be read; a 202 whose body is not the array means success
            // (the Python SDK ignores that body altogether).
            Err(e) if resp.status == 207 => return Err(e),
            Err(e) => {
                tracing::debug!(error = %e, "ignoring unreadable body of a successful action");
                Vec::new()
            }
        };
        let failed: Vec<ActionFailure> = results
            .iter()
            .filter(|r| !r.status.eq_ignore_ascii_case("success"))
            .map(|r| ActionFailure {
                instance_id: r.instance_id.clone(),
                status: r.status_code,
                message: r
                    .error
                    .clone()
                    .unwrap_or_else(|| format!("status {}", r.status)),
            })
            .collect();
        if failed.is_empty() {
            return Ok(results);
        }
        Err(Error::PartialFailure {
            action: request.action.to_string(),
            succeeded: results
                .iter()
                .filter(|r| r.status.eq_ignore_ascii_case("success"))
                .map(|r| r.instance_id.clone())
                .collect(),
            failed,
        })
    }

    /// The instances named `hostname` (compared ignoring ASCII case), for adopting an
    /// instance an earlier run made, or after [`Error::DeployOutcomeUnknown`].
    pub async fn find_instances_by_hostname(&self, hostname: &str) -> Result<Vec<Instance>> {
        let hostname = super::require_id("hostname", hostname)?;
        let mut all = self.instances(None).await?;
        all.retain(|i| i.hostname.eq_ignore_ascii_case(hostname));
        Ok(all)
    }
}
