//! A node's root filesystem: which layout this machine allows ([`RootLayout`]) and the
//! mount table (`fstab` syntax) a node boots with. One `mount --all --fstab` process
//! then mounts the whole root: a boot costs a handful of processes, not one per mount,
//! which is what lets dozens of nodes boot at once on a small machine.
//!
//! Two layouts:
//! - [`RootLayout::OverlayOfRoot`]: one overlay with the host's `/` as its read-only
//!   lower layer (root).
//! - [`RootLayout::OverlayPerDirectory`]: in a user namespace the kernel refuses that
//!   overlay. Overlayfs clones its lower layer privately, and a mount that other mounts
//!   sit on (`/` carries `/proc`, `/dev`, `/sys`...) cannot be cloned there: those
//!   mounts are locked (they come from a more privileged namespace, and cloning their
//!   parent would uncover what they hide), so the mount fails with EINVAL ("overlayfs:
//!   failed to clone lowerpath" in the kernel log). Each top-level directory without
//!   mounts inside clones fine, so each becomes its own overlay, with the same upper
//!   directory layout as the overlay of `/` (`disk/upper/etc` is `/etc`'s upper...),
//!   on a skeleton root kept on the node's disk. A directory that cannot be overlaid
//!   (mounts inside, or unreadable to the emulator's user, such as `/root`: overlayfs
//!   looks into its lower layer as that user) is the node's own, from its disk.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Host directories every node gets its own (or the host's devices) instead of an
/// overlay: mounted by every layout.
const OWN_MOUNTS: [&str; 5] = ["dev", "proc", "sys", "tmp", "run"];

/// The mounts every node gets after its root (source, target in the root, type,
/// options): an overlay does not descend into the host's other mounts, so the node
/// gets its own `/proc`, `/tmp`, `/run` and `/dev/shm`, and the host's devices. Last,
/// sshd's privilege separation directory (root's, 0755), made by the mount itself: one
/// `mkdir` process fewer per boot.
const OWN_MOUNT_TABLE: [(&str, &str, &str, &str); 7] = [
    ("/dev", "dev", "none", "rbind"),
    ("shm", "dev/shm", "tmpfs", "mode=1777,nosuid,nodev"),
    ("proc", "proc", "proc", "nosuid,nodev,noexec"),
    ("/sys", "sys", "none", "rbind"),
    ("tmp", "tmp", "tmpfs", "mode=1777,nosuid,nodev"),
    ("run", "run", "tmpfs", "mode=0755,nosuid,nodev"),
    (
        "sshd",
        "run/sshd",
        "tmpfs",
        "mode=0755,nosuid,nodev,noexec,X-mount.mkdir",
    ),
];

/// How a node's root is made from the host's `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootLayout {
    /// One overlay of `/`.
    OverlayOfRoot,
    /// One overlay per top-level directory of the host, on a skeleton root.
    OverlayPerDirectory(TopLevel),
}

impl RootLayout {
    /// What the admin API and the start-up log call it.
    pub fn describe(&self) -> &'static str {
        match self {
            RootLayout::OverlayOfRoot => "overlay of /",
            RootLayout::OverlayPerDirectory(_) => "overlay of each top-level directory of /",
        }
    }
}

/// The host's top-level entries as a per-directory root rebuilds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopLevel {
    /// Directories with no mount inside: each an overlay.
    pub overlaid: Vec<String>,
    /// Directories with mounts inside (their overlay would be refused) or unreadable
    /// to the emulator's user: the node's own, from its disk (empty at first boot, as
    /// a directory with mounts inside is in an overlay of `/`).
    pub own: Vec<String>,
    /// Symbolic links (`/bin -> usr/bin` on merged-/usr systems), copied.
    pub links: Vec<(String, PathBuf)>,
}

impl TopLevel {
    /// Reads `root`'s entries and, from `mountinfo` (`/proc/self/mountinfo` text), the
    /// mount points below them.
    pub fn scan(root: &Path, mountinfo: &str) -> io::Result<TopLevel> {
        let mount_points: Vec<&str> = mountinfo
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .collect();
        let mut top = TopLevel::default();
        for entry in fs::read_dir(root)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if OWN_MOUNTS.contains(&name.as_str()) || !is_plain(&name) {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_symlink() {
                top.links.push((name, fs::read_link(entry.path())?));
            } else if kind.is_dir() {
                let inside = format!("/{name}/");
                let readable = fs::read_dir(entry.path()).is_ok();
                if readable && !mount_points.iter().any(|m| m.starts_with(&inside)) {
                    top.overlaid.push(name);
                } else {
                    top.own.push(name);
                }
            }
        }
        top.overlaid.sort();
        top.own.sort();
        top.links.sort();
        Ok(top)
    }
}

/// A name that needs no escaping in a mount table or an overlay option.
fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-+".contains(c))
}

/// The mount table of the node in `node_dir` (its `disk/upper`, `disk/work` and `root`
/// mount point). `userxattr`: the overlay keeps its metadata in `user.*` extended
/// attributes, the only ones it may write in a user namespace.
pub fn mount_table(layout: &RootLayout, node_dir: &Path, userxattr: bool) -> io::Result<String> {
    let root = node_dir.join("root");
    let upper = node_dir.join("disk/upper");
    let work = node_dir.join("disk/work");
    let xattr = if userxattr { ",userxattr" } else { "" };
    let mut table = String::new();
    let mut line = |source: &str, target: &Path, fstype: &str, options: &str| {
        let _ = writeln!(
            table,
            "{source} {} {fstype} {options} 0 0",
            escape(&target.to_string_lossy())
        );
    };
    match layout {
        RootLayout::OverlayOfRoot => {
            let options = format!(
                "lowerdir=/,upperdir={},workdir={}{xattr}",
                option_path(&upper)?,
                option_path(&work)?
            );
            line("overlay", &root, "overlay", &options);
        }
        RootLayout::OverlayPerDirectory(top) => {
            line(
                &escape(&node_dir.join(SKELETON).to_string_lossy()),
                &root,
                "none",
                "bind",
            );
            for dir in &top.overlaid {
                let options = format!(
                    "lowerdir=/{dir},upperdir={},workdir={}{xattr}",
                    option_path(&upper.join(dir))?,
                    option_path(&work.join(dir))?
                );
                line("overlay", &root.join(dir), "overlay", &options);
            }
            for dir in &top.own {
                let own = escape(&upper.join(dir).to_string_lossy());
                line(&own, &root.join(dir), "none", "bind");
            }
        }
    }
    for (source, target, fstype, options) in OWN_MOUNT_TABLE {
        line(source, &root.join(target), fstype, options);
    }
    Ok(table)
}

/// The skeleton root of a per-directory layout, in the node directory.
const SKELETON: &str = "disk/skeleton";

/// Makes what the layout needs on the node's disk before it boots: for a per-directory
/// root, the skeleton (a mount point per directory, the links), an upper directory per
/// overlaid or own directory and a work directory per overlay. (Existing directories,
/// the node's `/root` among them, keep their modes.)
pub fn prepare(layout: &RootLayout, node_dir: &Path) -> io::Result<()> {
    let RootLayout::OverlayPerDirectory(top) = layout else {
        return Ok(());
    };
    let skeleton = node_dir.join(SKELETON);
    for dir in top.overlaid.iter().chain(&top.own) {
        fs::create_dir_all(skeleton.join(dir))?;
        fs::create_dir_all(node_dir.join("disk/upper").join(dir))?;
    }
    for dir in OWN_MOUNTS {
        fs::create_dir_all(skeleton.join(dir))?;
    }
    for dir in &top.overlaid {
        fs::create_dir_all(node_dir.join("disk/work").join(dir))?;
    }
    for (name, target) in &top.links {
        let link = skeleton.join(name);
        if fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(target, link)?;
        }
    }
    Ok(())
}

/// A path in a mount table field: space, tab, newline and backslash as octal escapes.
fn escape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    for c in field.chars() {
        match c {
            ' ' | '\t' | '\n' | '\\' => {
                let _ = write!(out, "\\{:03o}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A path inside the overlay's options, escaped for the table. Overlayfs splits its
/// options at `,` and `:`, and mount(8) does not pass escapes of them on: such a path
/// is refused with its name.
fn option_path(path: &Path) -> io::Result<String> {
    let text = path.to_string_lossy();
    if text.contains([',', ':', '\\']) {
        return Err(io::Error::other(format!(
            "the node directory {text} contains `,`, `:` or `\\`, which overlay mount \
             options cannot carry: choose a --nodes-dir without them"
        )));
    }
    Ok(escape(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 254:0 / / rw,relatime - ext4 /dev/vda rw
23 22 0:5 / /dev rw - devtmpfs devtmpfs rw
24 22 0:6 / /mnt/tools/python ro - tmpfs tools ro
25 22 0:7 / /proc rw - proc proc rw
26 22 0:8 / /srv rw - tmpfs srv rw
";

    #[test]
    fn directories_with_mounts_inside_are_the_nodes_own_and_links_are_copied() {
        let host = tempfile::tempdir().unwrap();
        for dir in [
            "etc",
            "usr",
            "mnt",
            "srv",
            "dev",
            "proc",
            "run",
            "with space",
        ] {
            fs::create_dir(host.path().join(dir)).unwrap();
        }
        std::os::unix::fs::symlink("usr/bin", host.path().join("bin")).unwrap();
        fs::write(host.path().join("container.json"), "{}").unwrap();
        let top = TopLevel::scan(host.path(), MOUNTINFO).unwrap();
        assert_eq!(
            top,
            TopLevel {
                // /srv is a mount point but has none inside: it clones fine.
                overlaid: vec!["etc".into(), "srv".into(), "usr".into()],
                own: vec!["mnt".into()],
                links: vec![("bin".into(), PathBuf::from("usr/bin"))],
            }
        );
    }

    #[test]
    fn one_table_mounts_the_whole_root_with_paths_escaped() {
        let table = mount_table(&RootLayout::OverlayOfRoot, Path::new("/n/a b"), false).unwrap();
        let first = table.lines().next().unwrap();
        assert_eq!(
            first,
            "overlay /n/a\\040b/root overlay lowerdir=/,upperdir=/n/a\\040b/disk/upper,workdir=/n/a\\040b/disk/work 0 0"
        );
        assert!(table.contains("/dev /n/a\\040b/root/dev none rbind 0 0\n"));
        assert_eq!(table.lines().count(), 8);
        let refused = mount_table(&RootLayout::OverlayOfRoot, Path::new("/n/a,b"), false);
        assert!(refused
            .unwrap_err()
            .to_string()
            .contains("/n/a,b/disk/upper contains"));
    }

    #[test]
    fn a_per_directory_table_binds_the_skeleton_then_overlays_each_directory() {
        let top = TopLevel {
            overlaid: vec!["etc".into(), "usr".into()],
            own: vec!["root".into()],
            links: vec![("bin".into(), PathBuf::from("usr/bin"))],
        };
        let table =
            mount_table(&RootLayout::OverlayPerDirectory(top), Path::new("/n"), true).unwrap();
        let lines: Vec<&str> = table.lines().take(4).collect();
        assert_eq!(
            lines,
            [
                "/n/disk/skeleton /n/root none bind 0 0",
                "overlay /n/root/etc overlay lowerdir=/etc,upperdir=/n/disk/upper/etc,workdir=/n/disk/work/etc,userxattr 0 0",
                "overlay /n/root/usr overlay lowerdir=/usr,upperdir=/n/disk/upper/usr,workdir=/n/disk/work/usr,userxattr 0 0",
                "/n/disk/upper/root /n/root/root none bind 0 0",
            ]
        );
    }
}
