//! Clusters: list, get, create (safe against a lost answer), delete through
//! `PUT /clusters`, and the cluster catalog (types, availability, images).

use super::recover::created_since;
use crate::client::Client;
use crate::decode::decode_bool;
use crate::error::{ActionFailure, Error, Result};
use crate::transport::{Repeat, Request, Uncertain};
use datacrunch_models::{
    Cluster, ClusterAction, ClusterActionItem, ClusterActionRequest, ClusterStatus, ClusterType,
    CreateClusterRequest, Image, LocationAvailability,
};
use reqwest::Method;
use serde::Deserialize;
use std::time::SystemTime;

/// One item of a 207 answer to `PUT /clusters`.
#[derive(Deserialize)]
struct ClusterActionResult {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    status_code: Option<u16>,
    #[serde(default)]
    error: Option<String>,
}

impl Client {
    /// `GET /clusters[?status=…]`: every cluster not yet deleted.
    pub async fn clusters(&self, status: Option<&ClusterStatus>) -> Result<Vec<Cluster>> {
        let req = Request::get(&["clusters"]).query("status", status);
        self.fetch_json(req, "an array of clusters").await
    }

    /// `GET /clusters/{id}`. An unknown id is an error for which
    /// [`Error::is_not_found`] holds.
    pub async fn cluster(&self, id: &str) -> Result<Cluster> {
        let id = super::require_id("cluster_id", id)?;
        self.fetch_json(Request::get(&["clusters", id]), "a cluster object")
            .await
    }

    /// `POST /clusters` → the new cluster's id (the API answers `{"id"}`).
    ///
    /// Safe against lost answers as [`deploy_instance`](Self::deploy_instance) is: when
    /// an attempt may have taken effect, the cluster it made (same hostname and
    /// description, created after the first attempt started, not gone) is looked up
    /// before the create is sent again, and returned if found. The API takes no tags
    /// at create: put a unique token in the description so that only its own cluster
    /// matches.
    pub async fn create_cluster(&self, request: &CreateClusterRequest) -> Result<String> {
        let hostname = super::require_id("hostname", &request.hostname)?;
        let req = Request::new(Method::POST, &["clusters"])
            .json(request)?
            .repeat(Repeat::Once(Uncertain::Deploy {
                hostname: hostname.to_owned(),
            }));
        self.create_with_recovery(req, |since| self.find_created_cluster(request, since))
            .await
    }

    async fn find_created_cluster(
        &self,
        request: &CreateClusterRequest,
        since: SystemTime,
    ) -> Result<Option<String>> {
        let mut found = self.find_clusters_by_hostname(&request.hostname).await?;
        found.retain(|c| {
            !c.status.is_gone()
                && c.description == request.description
                && created_since(&c.created_at, since)
        });
        found.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(found.into_iter().next().map(|c| c.id))
    }

    /// The clusters named `hostname` (ignoring ASCII case).
    pub async fn find_clusters_by_hostname(&self, hostname: &str) -> Result<Vec<Cluster>> {
        let hostname = super::require_id("hostname", hostname)?;
        let mut all = self.clusters(None).await?;
        all.retain(|c| c.hostname.eq_ignore_ascii_case(hostname));
        Ok(all)
    }

    /// `PUT /clusters` with `{"actions": [...]}`. A delete may be repeated safely (a
    /// repeat is refused as "already discontinued", which callers treat as done). If
    /// the action failed for some clusters (207) the answer is
    /// [`Error::PartialFailure`] listing which.
    pub async fn cluster_action(&self, request: &ClusterActionRequest) -> Result<()> {
        if request.actions.is_empty() {
            return Err(Error::InvalidInput(
                "actions: expected at least one cluster".into(),
            ));
        }
        for a in &request.actions {
            super::require_id("id", &a.id)?;
        }
        let req = Request::new(Method::PUT, &["clusters"]).json(request)?;
        let resp = self.execute(&req).await?;
        if resp.status != 207 {
            return Ok(());
        }
        let results: Vec<ClusterActionResult> =
            serde_json::from_slice(&resp.body).map_err(|e| Error::Decode {
                endpoint: req.endpoint(),
                expected: "an array of per-cluster results",
                detail: e.to_string(),
            })?;
        let (ok, failed): (Vec<_>, Vec<_>) = results
            .into_iter()
            .partition(|r| r.status.eq_ignore_ascii_case("success"));
        Err(Error::PartialFailure {
            action: "cluster action".into(),
            succeeded: ok.into_iter().map(|r| r.id).collect(),
            failed: failed
                .into_iter()
                .map(|r| ActionFailure {
                    message: r.error.unwrap_or_else(|| format!("status {}", r.status)),
                    instance_id: r.id,
                    status: r.status_code,
                })
                .collect(),
        })
    }

    /// Deletes one cluster (`discontinue`, the action the service deletes by).
    pub async fn delete_cluster(&self, id: &str) -> Result<()> {
        self.cluster_action(&ClusterActionRequest {
            actions: vec![ClusterActionItem {
                id: id.to_owned(),
                action: ClusterAction::Discontinue,
            }],
        })
        .await
    }

    /// `GET /cluster-types[?currency=usd|eur]`.
    pub async fn cluster_types(&self, currency: Option<&str>) -> Result<Vec<ClusterType>> {
        let req = Request::get(&["cluster-types"]).query("currency", currency);
        self.fetch_json(req, "an array of cluster types").await
    }

    /// `GET /cluster-availability[?location_code=]`: the cluster types with capacity,
    /// per location.
    pub async fn cluster_availability(
        &self,
        location_code: Option<&str>,
    ) -> Result<Vec<LocationAvailability>> {
        let req = Request::get(&["cluster-availability"]).query("location_code", location_code);
        self.fetch_json(req, "an array of {location_code, availabilities}")
            .await
    }

    /// `GET /cluster-availability/{type}[?location_code=]`.
    pub async fn is_cluster_type_available(
        &self,
        cluster_type: &str,
        location_code: Option<&str>,
    ) -> Result<bool> {
        let cluster_type = super::require_id("cluster_type", cluster_type)?;
        let req = Request::get(&["cluster-availability", cluster_type])
            .query("location_code", location_code);
        let resp = self.execute(&req).await?;
        decode_bool(&req.endpoint(), &resp.body)
    }

    /// `GET /images/cluster[?instance_type=]`: the images clusters boot, optionally only
    /// those valid for a cluster type.
    pub async fn cluster_images(&self, cluster_type: Option<&str>) -> Result<Vec<Image>> {
        let req = Request::get(&["images", "cluster"]).query("instance_type", cluster_type);
        self.fetch_json(req, "an array of images").await
    }
}
