//! The ssh client configuration kdevops expects, and the Ansible inventory.
//!
//! Per project, `~/.ssh/config_kdevops_<hash>` holds one block per node between
//! kdevops' markers (`# BEGIN host configuration for <host>` … `# END …`, Ansible
//! `blockinfile` style), and `~/.ssh/config` gets, at its top, a `# BEGIN Managed by
//! kdevops` block with `Include ~/.ssh/config_kdevops_*`, so `ssh kdevops-0` works from
//! anywhere. Text outside our markers is never touched.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};

const INCLUDE_MARK: &str = "Managed by kdevops";

/// One node as the ssh config sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    pub name: String,
    pub ip: String,
}

/// How the host blocks are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOptions {
    pub user: String,
    pub port: u16,
    pub identity_file: String,
    /// Disable host key checks (cloud nodes get new host keys every bringup).
    pub strict: bool,
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
        out.push_str(&format!("\tPort {}\n", options.port));
        out.push_str(&format!("\tIdentityFile {}\n", options.identity_file));
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
        }
        out.push_str(&end(&mark));
        out.push('\n');
    }
    out
}

/// `text` with the block between `mark`'s markers removed (markers included).
pub fn remove_block(text: &str, mark: &str) -> String {
    let (b, e) = (begin(mark), end(mark));
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for line in text.lines() {
        if !inside && line.trim_end() == b {
            inside = true;
        } else if inside && line.trim_end() == e {
            inside = false;
        } else if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `text` with the Include block for `prefix*` at its top (replacing an older one):
/// ssh applies the first value it finds, so included hosts must come before any
/// catch-all `Host *` of the user's.
pub fn with_include_block(text: &str, prefix: &str) -> String {
    let rest = remove_block(text, INCLUDE_MARK);
    format!(
        "{}\nInclude {prefix}*\n{}\n{rest}",
        begin(INCLUDE_MARK),
        end(INCLUDE_MARK)
    )
}

/// Writes the per-project file and makes sure the main config includes it.
pub fn install(
    main: &Path,
    project_file: &Path,
    prefix: &str,
    hosts: &[HostEntry],
    options: &HostOptions,
) -> Result<()> {
    write_private(project_file, &render_project_config(hosts, options))?;
    let current = read_or_empty(main)?;
    let updated = with_include_block(&current, prefix);
    if updated != current {
        write_private(main, &updated)?;
    }
    Ok(())
}

/// Removes the per-project file, and the Include block when no other project's file
/// (another file named `<prefix>*`) is left to include.
pub fn uninstall(main: &Path, project_file: &Path, prefix: &Path) -> Result<()> {
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
    if !others_remain && main.exists() {
        let current = read_or_empty(main)?;
        let updated = remove_block(&current, INCLUDE_MARK);
        if updated != current {
            write_private(main, &updated)?;
        }
    }
    Ok(())
}

/// The Ansible inventory: an `[all]` group of node names with their address and user.
pub fn render_inventory(hosts: &[HostEntry], user: &str, identity_file: &str) -> String {
    let mut out = String::from("[all]\n");
    for h in hosts {
        out.push_str(&format!(
            "{} ansible_host={} ansible_user={user} ansible_ssh_private_key_file={identity_file}\n",
            h.name, h.ip
        ));
    }
    out.push_str("\n[baseline]\n");
    for h in hosts {
        out.push_str(&h.name);
        out.push('\n');
    }
    out
}

fn read_or_empty(path: &Path) -> Result<String> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes a file readable by its owner only (ssh refuses group-writable configs).
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Vec<HostEntry> {
        vec![
            HostEntry {
                name: "kdevops-0".into(),
                ip: "127.0.0.10".into(),
            },
            HostEntry {
                name: "kdevops-1".into(),
                ip: "127.0.0.11".into(),
            },
        ]
    }

    fn options(strict: bool) -> HostOptions {
        HostOptions {
            user: "root".into(),
            port: 22,
            identity_file: "/h/.ssh/kdevops_terraform_abcd1234".into(),
            strict,
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
        assert!(!render_project_config(&hosts(), &options(false)).contains("StrictHostKeyChecking"));
    }

    #[test]
    fn include_block_goes_first_once_and_leaves_user_text() {
        let user = "Host *\n\tServerAliveInterval 30\n";
        let once = with_include_block(user, "~/.ssh/config_kdevops_");
        assert!(once.starts_with("# BEGIN Managed by kdevops\nInclude ~/.ssh/config_kdevops_*\n# END Managed by kdevops\n"));
        assert!(once.ends_with(user));
        assert_eq!(with_include_block(&once, "~/.ssh/config_kdevops_"), once);
        assert_eq!(remove_block(&once, INCLUDE_MARK).trim_start(), user);
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
    fn inventory_lists_nodes() {
        let inv = render_inventory(&hosts(), "root", "/k");
        assert!(inv.starts_with("[all]\nkdevops-0 ansible_host=127.0.0.10 ansible_user=root"));
        assert!(inv.contains("[baseline]\nkdevops-0\nkdevops-1\n"));
    }
}
