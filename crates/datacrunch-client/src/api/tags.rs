//! Tags on instances, volumes and clusters: `POST /{kind}/{id}/tags`, `DELETE /{kind}/{id}/tags/{key}`.
//!
//! The API keeps tags as a list of `{key, value}` on the resource and offers no update:
//! changing a value is a delete followed by an add. Keys are lowercased by the service.

use crate::client::Client;
use crate::error::Result;
use crate::transport::{Repeat, Request};
use datacrunch_models::Tag;
use reqwest::Method;

/// The kinds of resource that carry tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaggedKind {
    Instance,
    Volume,
    Cluster,
}

impl TaggedKind {
    fn segment(self) -> &'static str {
        match self {
            TaggedKind::Instance => "instances",
            TaggedKind::Volume => "volumes",
            TaggedKind::Cluster => "clusters",
        }
    }
}

impl Client {
    /// `POST /{kind}/{id}/tags` with `{"key", "value"}`. Adding the same tag twice gives
    /// 409 from the service, so a repeat after an uncertain first attempt cannot create a
    /// duplicate: the request is safe to retry.
    pub async fn add_tag(&self, kind: TaggedKind, id: &str, tag: &Tag) -> Result<()> {
        let id = super::require_id("id", id)?;
        let req = Request::new(Method::POST, &[kind.segment(), id, "tags"])
            .json(tag)?
            .repeat(Repeat::Safe);
        match self.execute(&req).await {
            Ok(_) => Ok(()),
            // Already there with this key: what we wanted, unless the value differs, in
            // which case the caller deletes first (see the module docs).
            Err(e) if e.status() == Some(409) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `DELETE /{kind}/{id}/tags/{key}`. Deleting a tag that is not there is not an error.
    pub async fn delete_tag(&self, kind: TaggedKind, id: &str, key: &str) -> Result<()> {
        let id = super::require_id("id", id)?;
        let key = super::require_id("key", key)?;
        match self
            .execute(&Request::new(
                Method::DELETE,
                &[kind.segment(), id, "tags", key],
            ))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
