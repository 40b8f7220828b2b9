//! SSH keys, startup scripts, volumes and OAuth2 tokens.

use crate::instance::{null_as_default, one_or_many};
use crate::{Contract, OnSpotDiscontinue, Price, Secret, Tag, VolumeAction, VolumeStatus};
use serde::{Deserialize, Serialize};

/// An SSH key. `GET /sshkeys/{id}` returns it inside a one-element array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshKey {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// `POST /sshkeys`; answers 201 with the bare id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSshKeyRequest {
    pub name: String,
    pub key: String,
}

/// A startup script. `GET /scripts/{id}` returns it inside a one-element array.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartupScript {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub script: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// `POST /scripts`; answers 201 with the bare id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateStartupScriptRequest {
    pub name: String,
    pub script: String,
}

/// A volume as `GET /volumes` and `GET /volumes/{id}` return it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    pub id: String,
    pub status: VolumeStatus,
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub size: u32,
    #[serde(rename = "type", default)]
    pub volume_type: String,
    #[serde(default, alias = "location_code")]
    pub location: String,
    #[serde(default)]
    pub is_os_volume: bool,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub ssh_key_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<Contract>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_hourly_cost: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_price: Option<Price>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Set on records of `GET /volumes/trash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_permanently_deleted: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Vec<Tag>,
}

/// `POST /volumes`; answers 202 with the bare id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateVolumeRequest {
    #[serde(rename = "type")]
    pub volume_type: String,
    pub name: String,
    pub size: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub instance_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_spot_discontinue: Option<OnSpotDiscontinue>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub tags: Vec<Tag>,
}

/// `PUT /volumes`: one action on one or more volumes, with action-specific fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VolumeActionRequest {
    pub action: VolumeAction,
    #[serde(deserialize_with = "one_or_many")]
    pub id: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_permanent: Option<bool>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub volume_type: Option<String>,
}

/// `POST /oauth2/token`, as JSON or form-encoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    pub grant_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
}

/// The 200 answer of `POST /oauth2/token`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: Secret,
    #[serde(default = "bearer")]
    pub token_type: String,
    #[serde(default = "one_hour")]
    pub expires_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

fn bearer() -> String {
    "Bearer".to_owned()
}

fn one_hour() -> u64 {
    3600
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_debug_hides_secrets() {
        let r = TokenRequest {
            grant_type: "client_credentials".into(),
            client_id: Some("id".into()),
            client_secret: Some(Secret::new("SENTINEL-SECRET")),
            refresh_token: None,
        };
        assert!(!format!("{r:?}").contains("SENTINEL"));
        let t = TokenResponse {
            access_token: Secret::new("SENTINEL-TOKEN"),
            token_type: "Bearer".into(),
            expires_in: 3600,
            refresh_token: Some(Secret::new("SENTINEL-REFRESH")),
            scope: None,
        };
        assert!(!format!("{t:?}").contains("SENTINEL"));
    }

    #[test]
    fn volume_detached_shape() {
        let v: Volume = serde_json::from_str(
            r#"{"id":"v","status":"detached","instance_id":null,"name":"d","size":50,
                "type":"NVMe","location":"FIN-01","target":null,"ssh_key_ids":null}"#,
        )
        .unwrap();
        assert_eq!(v.status, VolumeStatus::Detached);
        assert_eq!(v.instance_id, None);
    }
}
