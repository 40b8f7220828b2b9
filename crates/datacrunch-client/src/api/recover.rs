//! Creates that survive a lost answer. A `POST` that creates something must not be sent
//! twice when the first one worked, but the client cannot always know: a 5xx that is not
//! a refusal, a connection lost after sending or a timeout may come after the object was
//! made. So before any resend the client looks the object up (each create method says
//! how it recognises its object, with the matchers here) and returns the one found.
//! Only when the lookup itself fails is the caller told the outcome is unknown.

use crate::client::{outcome_unknown, Client, Failure};
use crate::decode::decode_created_id;
use crate::error::Result;
use crate::transport::{Attempts, Request};
use datacrunch_models::Tag;
use std::future::Future;
use std::time::{Duration, SystemTime};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How far the service's clock may run behind ours when deciding whether an object was
/// created after an attempt started: the two clocks are never exactly in step, and an
/// object made by the attempt must never be taken for an older one (that would create a
/// duplicate).
const CLOCK_SKEW: Duration = Duration::from_secs(120);

impl Client {
    /// Sends a create request and returns the new object's id. When an attempt's outcome
    /// is uncertain, waits as the retry policy says, then calls `find` with the time the
    /// first attempt started: the id it returns (the object an attempt made) is the
    /// answer; `None` means nothing was made and the request is sent again. A success
    /// answer with an unreadable id is looked up the same way (the object exists).
    pub(crate) async fn create_with_recovery<F, Fut>(&self, req: Request, find: F) -> Result<String>
    where
        F: Fn(SystemTime) -> Fut,
        Fut: Future<Output = Result<Option<String>>>,
    {
        let transport = &self.inner.transport;
        let mut attempts = Attempts::start();
        loop {
            let error = match self.send(&req, &mut attempts).await {
                Ok(resp) => {
                    return match decode_created_id(&req.endpoint(), &resp.body) {
                        Ok(id) => Ok(id),
                        Err(unreadable) => match find(attempts.started_at).await {
                            Ok(Some(id)) => Ok(id),
                            Ok(None) => Err(outcome_unknown(&req, unreadable, None)),
                            Err(lookup) => Err(outcome_unknown(&req, unreadable, Some(lookup))),
                        },
                    }
                }
                Err(Failure::Definite(e)) => return Err(e),
                Err(Failure::Uncertain(e)) => e,
            };
            let retry_after = error.api().and_then(|a| a.retry_after);
            let wait = transport.next_wait(&req, &mut attempts, retry_after, false);
            if let Some(delay) = wait {
                // Before the lookup too: a create that was accepted may take a moment
                // to be listed.
                transport.pause(delay).await;
            }
            match find(attempts.started_at).await {
                Ok(Some(id)) => {
                    tracing::warn!(endpoint = %req.endpoint(), id, error = %error, "the answer was lost but the create took effect; using what it made");
                    return Ok(id);
                }
                Ok(None) if wait.is_some() => {
                    tracing::info!(endpoint = %req.endpoint(), error = %error, "the create did not take effect; sending it again");
                }
                Ok(None) => return Err(attempts.give_up(error)),
                Err(lookup) => return Err(outcome_unknown(&req, error, Some(lookup))),
            }
        }
    }
}

/// Whether `created_at` (RFC 3339, as the API writes it) is not before `since`, allowing
/// for clock skew. A stamp that cannot be read rules nothing out: the other criteria of
/// the lookup still have to match.
pub(crate) fn created_since(created_at: &str, since: SystemTime) -> bool {
    let Ok(created) = OffsetDateTime::parse(created_at.trim(), &Rfc3339) else {
        return true;
    };
    let earliest = since
        .checked_sub(CLOCK_SKEW)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    SystemTime::from(created) >= earliest
}

/// Whether two OpenSSH public keys are the same key (so they have the same fingerprint):
/// same type and key data, whatever the comment and spacing.
pub(crate) fn same_public_key(a: &str, b: &str) -> bool {
    fn material(key: &str) -> Vec<&str> {
        key.split_whitespace().take(2).collect()
    }
    let (a, b) = (material(a), material(b));
    a.len() == 2 && a == b
}

/// Whether `have` carries every tag of `want`. Keys compare ignoring ASCII case (the
/// service lowercases them); values exactly.
pub(crate) fn carries_tags(have: &[Tag], want: &[Tag]) -> bool {
    want.iter().all(|w| {
        have.iter()
            .any(|h| h.key.eq_ignore_ascii_case(&w.key) && h.value == w.value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> SystemTime {
        OffsetDateTime::parse(rfc3339, &Rfc3339).unwrap().into()
    }

    #[test]
    fn created_since_allows_for_clock_skew_only() {
        let since = at("2026-01-01T12:00:00Z");
        assert!(created_since("2026-01-01T12:00:00.001Z", since));
        assert!(created_since("2026-01-01T11:59:00.000Z", since));
        assert!(!created_since("2026-01-01T11:57:59.999Z", since));
        assert!(!created_since("2021-06-02T12:56:49.582Z", since));
        assert!(created_since("2026-01-01T13:00:00+01:00", since));
        // Unreadable stamps rule nothing out.
        assert!(created_since("", since));
        assert!(created_since("yesterday", since));
    }

    #[test]
    fn public_keys_compare_by_type_and_data() {
        let k = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq user@host";
        assert!(same_public_key(
            k,
            "ssh-ed25519  AAAAC3NzaC1lZDI1NTE5AAAAIOMq\n"
        ));
        assert!(same_public_key(
            k,
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq other"
        ));
        assert!(!same_public_key(
            k,
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMr user@host"
        ));
        assert!(!same_public_key(
            k,
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMq user@host"
        ));
        assert!(!same_public_key("", ""));
    }

    #[test]
    fn tags_must_all_be_carried() {
        let tag = |k: &str, v: Option<&str>| Tag {
            key: k.into(),
            value: v.map(Into::into),
        };
        let have = [tag("create-token", Some("t1")), tag("team", Some("fs"))];
        assert!(carries_tags(&have, &[]));
        assert!(carries_tags(&have, &[tag("Create-Token", Some("t1"))]));
        assert!(!carries_tags(&have, &[tag("create-token", Some("t2"))]));
        assert!(!carries_tags(
            &have,
            &[tag("team", Some("fs")), tag("x", None)]
        ));
    }
}
