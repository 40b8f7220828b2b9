//! The namespaces a node runs in, and for an emulator that is not root, the user ids
//! of its user namespace.
//!
//! A node's sshd separates privileges: each connection's pre-authentication child
//! drops to the `sshd` user with `setgroups`. A user namespace an unprivileged process
//! maps by itself holds one user (its own, as root) and forbids `setgroups`, so sshd
//! could never accept a login there. The node therefore maps the emulator's user to
//! root and the user's subordinate ids (`/etc/subuid`, `/etc/subgid`, written by
//! `useradd`) to 1 and up, through the set-uid helpers `newuidmap` and `newgidmap`
//! (Debian package `uidmap`), as rootless container engines do.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The subordinate ids an unprivileged emulator maps into its nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdMap {
    /// (first outer id, count) from /etc/subuid and /etc/subgid.
    pub users: (u32, u32),
    pub groups: (u32, u32),
}

/// `unshare` arguments for a node's namespaces: a user namespace with `ids` when the
/// emulator is not root.
pub fn namespace_args(ids: Option<&IdMap>) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    if let Some(ids) = ids {
        args.push("--map-root-user".into());
        args.push(format!("--map-users={},1,{}", ids.users.0, ids.users.1));
        args.push(format!("--map-groups={},1,{}", ids.groups.0, ids.groups.1));
    }
    // --kill-child: if unshare dies, the kernel kills the node's init, and with it
    // every process of the PID namespace.
    for arg in ["--mount", "--uts", "--pid", "--fork", "--kill-child"] {
        args.push(arg.into());
    }
    args
}

/// The current user's subordinate ids; the reason, naming the file and the fix, when
/// there are none.
pub fn subordinate_ids() -> Result<IdMap, String> {
    let me = std::fs::metadata("/proc/self").map_err(|e| format!("cannot read /proc/self: {e}"))?;
    let name = user_name(me.uid()).unwrap_or_else(|| me.uid().to_string());
    let group = group_name(me.gid()).unwrap_or_else(|| me.gid().to_string());
    let range = |file: &str, names: [String; 2]| {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        first_range(&text, &names)
    };
    let users = range("/etc/subuid", [name.clone(), me.uid().to_string()]);
    // The group ids are granted to the user too (as `usermod --add-subgids` does).
    let groups = range("/etc/subgid", [name.clone(), me.uid().to_string()])
        .or_else(|| range("/etc/subgid", [group, me.gid().to_string()]));
    match (users, groups) {
        (Some(users), Some(groups)) => Ok(IdMap { users, groups }),
        _ => Err(format!(
            "user {name} has no range of subordinate ids in /etc/subuid and /etc/subgid, \
             which a node's user namespace needs for sshd's privilege separation: add one \
             with `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {name}` \
             or run the emulator as root"
        )),
    }
}

/// The first `name:start:count` line of a subordinate id file naming one of `names`.
fn first_range(text: &str, names: &[String]) -> Option<(u32, u32)> {
    text.lines().find_map(|line| {
        let mut fields = line.trim().split(':');
        let owner = fields.next()?;
        let start = fields.next()?.parse().ok()?;
        let count: u32 = fields.next()?.parse().ok()?;
        (names.iter().any(|n| n == owner) && count > 0).then_some((start, count))
    })
}

fn user_name(uid: u32) -> Option<String> {
    name_in("/etc/passwd", uid)
}

fn group_name(gid: u32) -> Option<String> {
    name_in("/etc/group", gid)
}

/// The name of id `id` in a passwd-like file (`name:x:id:...`).
fn name_in(file: impl AsRef<Path>, id: u32) -> Option<String> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let found: u32 = fields.nth(1)?.parse().ok()?;
            (found == id).then(|| name.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_range_of_the_user_by_name_or_id() {
        let text = "alice:100000:65536\n# comment\nbob:x:1\n1001:200000:1000\nbob:300000:0\n";
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            first_range(text, &names(&["alice", "1000"])),
            Some((100000, 65536))
        );
        assert_eq!(
            first_range(text, &names(&["carol", "1001"])),
            Some((200000, 1000))
        );
        assert_eq!(first_range(text, &names(&["bob", "1002"])), None);
    }

    #[test]
    fn unprivileged_nodes_map_root_and_the_subordinate_ids() {
        let ids = IdMap {
            users: (100000, 65536),
            groups: (200000, 65536),
        };
        let args = namespace_args(Some(&ids));
        assert_eq!(
            &args[..3],
            [
                "--map-root-user",
                "--map-users=100000,1,65536",
                "--map-groups=200000,1,65536"
            ]
        );
        assert!(!namespace_args(None).iter().any(|a| a.starts_with("--map")));
    }
}
