//! Where Terraform keeps its state: the local `terraform.tfstate` of one checkout, or a
//! team's PostgreSQL through Terraform's own `pg` backend (its advisory locks).
//!
//! The backend block is generated (`terraform/datacrunch/backend.tf`, present only for
//! `pg`); the connection string reaches Terraform as `PG_CONN_STR` in its environment,
//! so no password is written to any file. In `pg` mode the project identity (the
//! instances' project tag, the SSH key's name) is derived from the database the state
//! lives in, so every checkout of the team has the same names: a name that differed
//! between checkouts would make the second checkout's apply replace the key, and with
//! it every instance.

use std::path::Path;

use anyhow::{bail, Result};
use sha2::{Digest, Sha256};

use crate::settings::Settings;

/// The environment variable Terraform's `pg` backend reads the connection from.
pub const PG_CONN_STR: &str = "PG_CONN_STR";

/// The generated backend file, in the module directory.
pub const BACKEND_FILE: &str = "backend.tf";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Local,
    Pg { conn_str: String },
}

impl Backend {
    /// The backend `.config` asks for; the connection string from `.config` or from
    /// `$PG_CONN_STR`.
    pub fn from_settings(settings: &Settings) -> Result<Self> {
        let Some(pg) = &settings.state_pg else {
            return Ok(Backend::Local);
        };
        let conn_str = match &pg.conn_str {
            Some(c) => c.clone(),
            None => match std::env::var(PG_CONN_STR) {
                Ok(c) if !c.trim().is_empty() => c.trim().to_owned(),
                _ => bail!(
                    "CONFIG_TERRAFORM_DATACRUNCH_STATE_PG is set but no connection string is given: set \
                     CONFIG_TERRAFORM_DATACRUNCH_STATE_PG_CONN_STR in `make menuconfig` or export {PG_CONN_STR} \
                     (e.g. postgres://user@host/terraform_state)"
                ),
            },
        };
        Ok(Backend::Pg { conn_str })
    }

    pub fn is_remote(&self) -> bool {
        matches!(self, Backend::Pg { .. })
    }

    /// What to name in messages: the connection without user and password.
    pub fn describe(&self) -> String {
        match self {
            Backend::Local => "local terraform.tfstate".to_owned(),
            Backend::Pg { conn_str } => format!("PostgreSQL {}", public_part(conn_str)),
        }
    }

    /// The environment Terraform needs for this backend.
    pub fn env(&self) -> Vec<(String, String)> {
        match self {
            Backend::Local => Vec::new(),
            Backend::Pg { conn_str } => vec![(PG_CONN_STR.to_owned(), conn_str.clone())],
        }
    }

    /// The project id of a team sharing this database: a UUID made from the database's
    /// address (no user, no password), the same from every checkout that names it alike.
    pub fn team_id(&self) -> Option<String> {
        let Backend::Pg { conn_str } = self else {
            return None;
        };
        let digest = Sha256::digest(public_part(conn_str).as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Some(
            uuid::Builder::from_custom_bytes(bytes)
                .into_uuid()
                .hyphenated()
                .to_string(),
        )
    }

    /// Writes (pg) or removes (local) the backend block in `module_dir`.
    pub fn write_block(&self, module_dir: &Path) -> Result<()> {
        let path = module_dir.join(BACKEND_FILE);
        match self {
            Backend::Local => match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e.into()),
            },
            Backend::Pg { .. } => crate::atomic_write::write(
                &path,
                "# Written by kdevops-datacrunch (CONFIG_TERRAFORM_DATACRUNCH_STATE_PG): the state lives in\n\
                 # PostgreSQL; the connection comes from PG_CONN_STR in Terraform's environment.\n\
                 terraform {\n  backend \"pg\" {}\n}\n",
            ),
        }
    }

    /// What `.local/terraform/backend` records, to notice a switch.
    pub fn record(&self) -> String {
        match self {
            Backend::Local => "local\n".to_owned(),
            Backend::Pg { conn_str } => format!("pg {}\n", public_part(conn_str)),
        }
    }
}

/// A connection string without its user and password: the URL form
/// (`postgres://user:pw@host:5432/db?sslmode=disable`) or the keyword form
/// (`host=... dbname=... user=... password=...`).
pub fn public_part(conn_str: &str) -> String {
    let conn_str = conn_str.trim();
    if let Some((scheme, rest)) = conn_str.split_once("://") {
        let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        return format!("{scheme}://{rest}");
    }
    conn_str
        .split_whitespace()
        .filter(|kv| !kv.starts_with("user=") && !kv.starts_with("password="))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_is_named_without_secrets_and_the_team_id_ignores_the_user() {
        assert_eq!(
            public_part("postgres://alice:s3cret@db:5432/tf?sslmode=disable"),
            "postgres://db:5432/tf?sslmode=disable"
        );
        assert_eq!(
            public_part("host=/tmp/pg port=5433 user=bob password=x dbname=tf"),
            "host=/tmp/pg port=5433 dbname=tf"
        );
        let pg = |c: &str| Backend::Pg { conn_str: c.into() };
        let alice = pg("postgres://alice:a@db/tf").team_id().unwrap();
        assert_eq!(alice, pg("postgres://bob@db/tf").team_id().unwrap());
        assert_ne!(alice, pg("postgres://alice:a@db/other").team_id().unwrap());
        assert!(uuid::Uuid::parse_str(&alice).is_ok());
        assert_eq!(Backend::Local.team_id(), None);
        assert!(!pg("postgres://alice:pw@db/tf").describe().contains("pw"));
    }
}
