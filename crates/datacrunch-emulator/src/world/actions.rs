//! `PUT /instances`: the instance action state machine (start, shutdown, hibernate,
//! restore, delete, delete_stuck), one outcome per id; stuck instances (admin); and
//! tags on instances, volumes and clusters.

use super::records::{Step, Transition};
use super::rules::{check_id_count, check_tags, Tagged};
use super::World;
use crate::clock::{millis, Millis};
use crate::error::ApiError;
use datacrunch_models::{messages, InstanceAction, InstanceActionRequest, InstanceStatus, Tag};

/// The result of one item of `PUT /instances`.
pub type ActionItem = (String, Result<(), ApiError>);

impl World {
    /// `PUT /instances`: one outcome per id, in order.
    pub fn instance_action(
        &mut self,
        req: &InstanceActionRequest,
        now: Millis,
    ) -> Result<Vec<ActionItem>, ApiError> {
        if !req.action.is_known() {
            let known: Vec<&str> = InstanceAction::KNOWN.iter().map(|a| a.as_str()).collect();
            return Err(ApiError::invalid(format!(
                "Invalid action {:?}: expected one of {}",
                req.action.as_str(),
                known.join(", ")
            )));
        }
        if req.id.is_empty() {
            return Err(ApiError::invalid("id must name at least one instance"));
        }
        check_id_count("id", req.id.len())?;
        if let Some(volume_ids) = &req.volume_ids {
            check_id_count("volume_ids", volume_ids.len())?;
        }
        Ok(req
            .id
            .iter()
            .map(|id| (id.clone(), self.act(id, req, now)))
            .collect())
    }

    fn act(&mut self, id: &str, req: &InstanceActionRequest, now: Millis) -> Result<(), ApiError> {
        use InstanceAction as A;
        use InstanceStatus as S;
        let idx = self.instances.listed_or_not_found(id)?;
        let status = self.instances.get(idx).status.clone();
        let refuse = |verb: &str| ApiError::invalid(format!("Can't {verb} a {status} instance"));
        let hibernation = millis(self.config.timing.hibernation);
        match &req.action {
            A::Start | A::Boot => match status {
                S::Running => Ok(()),
                S::Offline => self.set_status(idx, S::Running),
                _ => Err(refuse("start")),
            },
            A::Shutdown | A::ForceShutdown => match status {
                S::Offline => Ok(()),
                // Shutdown keeps billing: only delete stops charges.
                S::Running => self.set_status(idx, S::Offline),
                _ => Err(refuse("shut down")),
            },
            A::Hibernate => match status {
                S::Offline => {
                    let r = self.instances.get_mut(idx);
                    r.stop_billing(now);
                    r.status = S::StartingHibernation;
                    r.next = Some(Transition {
                        step: Step::Hibernating,
                        at: now.saturating_add(hibernation),
                    });
                    self.release(idx);
                    Ok(())
                }
                S::Running => Err(ApiError::invalid(
                    "Can't hibernate a running instance: shut it down first",
                )),
                _ => Err(refuse("hibernate")),
            },
            A::Restore => match status {
                S::Hibernating => {
                    if self.capacity.free(&self.instances.get(idx).slot()) == 0 {
                        return Err(ApiError::unavailable(messages::NOT_ENOUGH_RESOURCES));
                    }
                    self.acquire(idx);
                    let r = self.instances.get_mut(idx);
                    r.status = S::Restoring;
                    r.next = Some(Transition {
                        step: Step::Running,
                        at: now.saturating_add(hibernation),
                    });
                    Ok(())
                }
                _ => Err(refuse("restore")),
            },
            // The real service refuses a delete the state does not allow with 403
            // `forbidden_action`, not 400: clients tell "already gone" and "not yet"
            // apart from a malformed request by that code.
            // A stuck instance refuses a normal delete in the words the service uses
            // for its status; `delete_stuck` is the way out.
            A::Delete | A::Discontinue if self.instances.get(idx).stuck => Err(
                ApiError::forbidden(format!("Can't discontinue a {status} instance")),
            ),
            A::Delete | A::Discontinue | A::DeleteStuck => match status {
                S::Ordered | S::Provisioning if req.action != A::DeleteStuck => {
                    Err(ApiError::forbidden(messages::CANT_DISCONTINUE_PROVISIONING))
                }
                S::Discontinued => {
                    Err(ApiError::forbidden(messages::CANT_DISCONTINUE_DISCONTINUED))
                }
                S::Restoring => Err(ApiError::forbidden(format!(
                    "Can't discontinue a {status} instance"
                ))),
                _ => self.discontinue(
                    idx,
                    req.volume_ids.as_deref(),
                    req.delete_permanently.unwrap_or(false),
                    now,
                ),
            },
            A::Other(_) => Err(refuse(req.action.as_str())),
        }
    }

    /// Admin: the instance stays in `status` (`provisioning` or `error`) with no further
    /// lifecycle step, and refuses a normal delete until `delete_stuck` removes it, as
    /// instances the real service fails to provision do.
    pub fn make_stuck(&mut self, id: &str, status: InstanceStatus) -> Result<(), ApiError> {
        if !matches!(status, InstanceStatus::Provisioning | InstanceStatus::Error) {
            return Err(ApiError::invalid(format!(
                "status: an instance can be stuck in \"provisioning\" or \"error\", got {:?}",
                status.as_str()
            )));
        }
        let idx = self.instances.listed_or_not_found(id)?;
        let record = self.instances.get_mut(idx);
        if record.status.is_gone() {
            return Err(ApiError::forbidden(format!(
                "Can't make a {} instance stuck",
                record.status
            )));
        }
        record.status = status;
        record.next = None;
        record.stuck = true;
        Ok(())
    }

    fn set_status(&mut self, idx: usize, status: InstanceStatus) -> Result<(), ApiError> {
        self.instances.get_mut(idx).status = status;
        Ok(())
    }

    /// Delete: stop billing, free capacity, then handle volumes. `volume_ids` absent
    /// deletes the OS volume and detaches the rest; `[]` deletes none; a list deletes
    /// those (each must belong to the instance) and detaches the others.
    fn discontinue(
        &mut self,
        idx: usize,
        volume_ids: Option<&[String]>,
        permanent: bool,
        now: Millis,
    ) -> Result<(), ApiError> {
        let instance = self.instances.get(idx);
        let attached = &instance.volume_ids;
        let doomed: Vec<String> = match volume_ids {
            None => instance.os_volume_id.iter().cloned().collect(),
            Some(list) => {
                if let Some(stray) = list.iter().find(|v| !attached.contains(v)) {
                    return Err(ApiError::invalid(format!(
                        "volume_ids: volume {stray:?} is not attached to instance {:?}",
                        instance.id
                    )));
                }
                list.to_vec()
            }
        };
        for (vidx, vid) in self.retire(idx, now) {
            if doomed.contains(&vid) {
                self.trash_record(vidx, permanent, now);
            } else {
                self.detach_record(vidx);
            }
        }
        Ok(())
    }

    /// Ends an instance: billing stops, its capacity slot is freed, it is
    /// `discontinued` (and leaves the list later). Returns the volumes that were
    /// attached (index and id), still marked attached, for the caller to detach or
    /// delete.
    pub(super) fn retire(&mut self, idx: usize, now: Millis) -> Vec<(usize, String)> {
        let visible = millis(self.config.timing.discontinued_visible);
        self.release(idx);
        let r = self.instances.get_mut(idx);
        r.stop_billing(now);
        r.status = InstanceStatus::Discontinued;
        r.deleted_at = Some(now);
        r.next = Some(Transition {
            step: Step::Unlist,
            at: now.saturating_add(visible),
        });
        std::mem::take(&mut r.volume_ids)
            .into_iter()
            .filter_map(|vid| self.volumes.find(&vid).map(|vidx| (vidx, vid)))
            .collect()
    }

    /// `POST /instances/{id}/tags` and `POST /volumes/{id}/tags`: keys are lowercased;
    /// a duplicate key is a 409.
    pub fn add_tag(&mut self, kind: Tagged, id: &str, tag: Tag) -> Result<Tag, ApiError> {
        let tags = self.tags_mut(kind, id)?;
        let tag = Tag {
            key: tag.key.to_lowercase(),
            value: tag.value,
        };
        if tags.iter().any(|t| t.key == tag.key) {
            return Err(ApiError::conflict(format!(
                "Tag key {:?} already exists on this {}",
                tag.key,
                kind.noun()
            )));
        }
        check_tags(tags.iter().chain(std::iter::once(&tag)))?;
        tags.push(tag.clone());
        Ok(tag)
    }

    /// `DELETE /instances/{id}/tags/{key}` and `DELETE /volumes/{id}/tags/{key}`.
    pub fn remove_tag(&mut self, kind: Tagged, id: &str, key: &str) -> Result<(), ApiError> {
        let tags = self.tags_mut(kind, id)?;
        let key = key.to_lowercase();
        let before = tags.len();
        tags.retain(|t| t.key != key);
        if tags.len() == before {
            return Err(ApiError::not_found(format!(
                "No tag {key:?} on this {}",
                kind.noun()
            )));
        }
        Ok(())
    }

    /// The tags of a listed instance or a volume not deleted, marked as changed.
    fn tags_mut(&mut self, kind: Tagged, id: &str) -> Result<&mut Vec<Tag>, ApiError> {
        match kind {
            Tagged::Instance => {
                let idx = self.instances.listed_or_not_found(id)?;
                Ok(&mut self.instances.get_mut(idx).tags)
            }
            Tagged::Volume => {
                let vidx = self.volumes.live(id)?;
                Ok(&mut self.volumes.get_mut(vidx).tags)
            }
            Tagged::Cluster => {
                let idx = self.clusters.listed_or_not_found(id)?;
                Ok(&mut self.clusters.get_mut(idx).tags)
            }
        }
    }
}
