//! Creating objects whose create request is not idempotent (keys, scripts, volumes)
//! without ever making a second copy.

use datacrunch_client::Error;
use sha2::{Digest, Sha256};
use std::future::Future;

/// A token naming "the object this configuration asked for": the same `parts` (every
/// argument that forces a replacement) give the same token, so a re-run after an
/// interrupted apply recognises what the first run made instead of creating a second.
pub fn config_token<S: AsRef<str>>(parts: &[S]) -> String {
    let joined: Vec<&str> = parts.iter().map(AsRef::as_ref).collect();
    let digest = Sha256::digest(joined.join("\u{1f}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Creates an object, adopting an identical one `find` already sees (left by an apply
/// that was killed before it could record it); when the create's answer is lost
/// ([`Error::is_outcome_unknown`]) `find` looks again before the create is tried once
/// more. Returns the id and whether it was adopted.
pub async fn find_or_create<C, CF, F, FF>(create: C, find: F) -> Result<(String, bool), Error>
where
    C: Fn() -> CF,
    CF: Future<Output = Result<String, Error>>,
    F: Fn() -> FF,
    FF: Future<Output = Result<Option<String>, Error>>,
{
    if let Some(id) = find().await? {
        return Ok((id, true));
    }
    match create().await {
        Ok(id) => Ok((id, false)),
        Err(e) if e.is_outcome_unknown() => {
            tracing::warn!(error = %e, "create outcome unknown; looking for the object");
            if let Some(id) = find().await? {
                return Ok((id, true));
            }
            create().await.map(|id| (id, false))
        }
        Err(e) => Err(e),
    }
}
