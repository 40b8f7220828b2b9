//! Volumes: list, get, the trash, create, actions, delete.

use super::recover::created_since;
use crate::client::{outcome_unknown, Client};
use crate::decode::decode_id_list;
use crate::error::{Error, Result};
use crate::transport::{Repeat, Request, Uncertain};
use datacrunch_models::{
    CreateVolumeRequest, Volume, VolumeAction, VolumeActionRequest, VolumeStatus,
};
use reqwest::Method;

impl Client {
    /// `GET /volumes[?status=…]`.
    pub async fn volumes(&self, status: Option<&VolumeStatus>) -> Result<Vec<Volume>> {
        let req = Request::get(&["volumes"]).query("status", status);
        self.fetch_json(req, "an array of volumes").await
    }

    /// `GET /volumes/{id}`. A permanently deleted volume may still answer, with status
    /// `deleted`.
    pub async fn volume(&self, id: &str) -> Result<Volume> {
        let id = super::require_id("volume_id", id)?;
        self.fetch_json(Request::get(&["volumes", id]), "a volume object")
            .await
    }

    /// `GET /volumes/trash`: volumes deleted but not permanently (they still count
    /// against the storage quota until purged).
    pub async fn trash(&self) -> Result<Vec<Volume>> {
        self.fetch_json(Request::get(&["volumes", "trash"]), "an array of volumes")
            .await
    }

    /// `POST /volumes` → the new volume's id. Safe against lost answers: before a create
    /// that may have taken effect is sent again, a volume with the same name, size and
    /// location (when the request names one), created after the first attempt started
    /// and not deleted, is looked up and returned if found.
    pub async fn create_volume(&self, request: &CreateVolumeRequest) -> Result<String> {
        let req = Request::new(Method::POST, &["volumes"]).json(request)?;
        self.create_with_recovery(req, |since| async move {
            let mut found = self.volumes(None).await?;
            found.retain(|v| {
                v.name == request.name
                    && v.size == request.size
                    && request
                        .location_code
                        .as_ref()
                        .is_none_or(|l| v.location.eq_ignore_ascii_case(l))
                    && !matches!(v.status, VolumeStatus::Deleted | VolumeStatus::Deleting)
                    && created_since(&v.created_at, since)
            });
            found.sort_by(|a, b| a.created_at.cmp(&b.created_at));
            Ok(found.into_iter().next().map(|v| v.id))
        })
        .await
    }

    /// `PUT /volumes`: attach, detach, rename, resize, delete or clone. Returns the new
    /// volume ids for `clone`, nothing for the others. A clone (it creates a volume) is
    /// not repeated once it may have been received; the other actions end in the same
    /// state when repeated, so they are retried like reads.
    pub async fn volume_action(&self, request: &VolumeActionRequest) -> Result<Vec<String>> {
        if request.id.is_empty() {
            return Err(Error::InvalidInput(
                "id: expected at least one volume id".into(),
            ));
        }
        for id in &request.id {
            super::require_id("id", id)?;
        }
        let mut req = Request::new(Method::PUT, &["volumes"]).json(request)?;
        if matches!(
            request.action,
            VolumeAction::Clone | VolumeAction::Restore | VolumeAction::Other(_)
        ) {
            req = req.repeat(Repeat::Once(Uncertain::Operation(format!(
                "{} of volumes {}",
                request.action,
                request.id.join(", ")
            ))));
        }
        let resp = self.execute(&req).await?;
        decode_id_list(&req.endpoint(), &resp.body).map_err(|e| outcome_unknown(&req, e, None))
    }

    /// `DELETE /volumes/{id}` with `{"is_permanent": …}`: to the trash, or for good.
    pub async fn delete_volume(&self, id: &str, is_permanent: bool) -> Result<()> {
        let id = super::require_id("volume_id", id)?;
        let req = Request::new(Method::DELETE, &["volumes", id])
            .json(&serde_json::json!({ "is_permanent": is_permanent }))?;
        self.execute(&req).await.map(drop)
    }
}
