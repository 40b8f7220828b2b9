//! SSH keys (`/sshkeys`) and startup scripts (`/scripts`): list, get, create, delete
//! one or many.

use super::recover::same_public_key;
use crate::client::Client;
use crate::error::Result;
use crate::transport::Request;
use datacrunch_models::{CreateSshKeyRequest, CreateStartupScriptRequest, SshKey, StartupScript};
use reqwest::Method;

impl Client {
    /// `GET /sshkeys`.
    pub async fn ssh_keys(&self) -> Result<Vec<SshKey>> {
        self.fetch_json(Request::get(&["sshkeys"]), "an array of SSH keys")
            .await
    }

    /// `GET /sshkeys/{id}` (answered as a one-element array). An unknown id is an error
    /// for which [`Error::is_not_found`](crate::Error::is_not_found) holds.
    pub async fn ssh_key(&self, id: &str) -> Result<SshKey> {
        let id = super::require_id("ssh_key_id", id)?;
        self.fetch_first(
            Request::get(&["sshkeys", id]),
            "SSH key",
            "an SSH key (or a one-element array of it)",
        )
        .await
    }

    /// `POST /sshkeys` → the new key's id. Safe against lost answers: before a create
    /// that may have taken effect is sent again, a key with the same name and the same
    /// public key (so the same fingerprint) is looked up and returned if found.
    pub async fn create_ssh_key(&self, request: &CreateSshKeyRequest) -> Result<String> {
        let req = Request::new(Method::POST, &["sshkeys"]).json(request)?;
        self.create_with_recovery(req, |_| async {
            let keys = self.ssh_keys().await?;
            Ok(keys
                .into_iter()
                .find(|k| k.name == request.name && same_public_key(&k.key, &request.key))
                .map(|k| k.id))
        })
        .await
    }

    /// `DELETE /sshkeys/{id}`. The real API does not fail for an unknown key.
    pub async fn delete_ssh_key(&self, id: &str) -> Result<()> {
        let id = super::require_id("ssh_key_id", id)?;
        self.execute(&Request::new(Method::DELETE, &["sshkeys", id]))
            .await
            .map(drop)
    }

    /// `DELETE /sshkeys` with `{"keys": [ids]}`: several keys in one call. Unknown ids
    /// are not an error (as for one key); an empty list sends nothing.
    pub async fn delete_ssh_keys(&self, ids: &[&str]) -> Result<()> {
        self.delete_many("sshkeys", "keys", "ssh_key_ids", ids)
            .await
    }

    /// `GET /scripts`.
    pub async fn startup_scripts(&self) -> Result<Vec<StartupScript>> {
        self.fetch_json(Request::get(&["scripts"]), "an array of startup scripts")
            .await
    }

    /// `GET /scripts/{id}` (answered as a one-element array).
    pub async fn startup_script(&self, id: &str) -> Result<StartupScript> {
        let id = super::require_id("startup_script_id", id)?;
        self.fetch_first(
            Request::get(&["scripts", id]),
            "startup script",
            "a startup script (or a one-element array of it)",
        )
        .await
    }

    /// `POST /scripts` → the new script's id. Safe against lost answers: before a create
    /// that may have taken effect is sent again, a script with the same name and the same
    /// text is looked up and returned if found.
    pub async fn create_startup_script(
        &self,
        request: &CreateStartupScriptRequest,
    ) -> Result<String> {
        let req = Request::new(Method::POST, &["scripts"]).json(request)?;
        self.create_with_recovery(req, |_| async {
            let scripts = self.startup_scripts().await?;
            Ok(scripts
                .into_iter()
                .find(|s| s.name == request.name && s.script == request.script)
                .map(|s| s.id))
        })
        .await
    }

    /// `DELETE /scripts/{id}`.
    pub async fn delete_startup_script(&self, id: &str) -> Result<()> {
        let id = super::require_id("startup_script_id", id)?;
        self.execute(&Request::new(Method::DELETE, &["scripts", id]))
            .await
            .map(drop)
    }

    /// `DELETE /scripts` with `{"scripts": [ids]}`: several scripts in one call. Unknown
    /// ids are not an error; an empty list sends nothing.
    pub async fn delete_startup_scripts(&self, ids: &[&str]) -> Result<()> {
        self.delete_many("scripts", "scripts", "startup_script_ids", ids)
            .await
    }

    /// `DELETE /{collection}` with `{"<key>": [ids]}`, the API's bulk delete. Every id is
    /// checked first so that a blank one cannot slip into the list.
    async fn delete_many(
        &self,
        collection: &str,
        key: &str,
        field: &str,
        ids: &[&str],
    ) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        for id in ids {
            super::require_id(field, id)?;
        }
        let body = serde_json::json!({ key: ids });
        let req = Request::new(Method::DELETE, &[collection]).json(&body)?;
        self.execute(&req).await.map(drop)
    }
}
