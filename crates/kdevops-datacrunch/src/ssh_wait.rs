//! After apply, a node is `running` but its sshd may not answer yet (on DataCrunch as
//! on the emulator): wait until every node sends an SSH banner, then record the host
//! keys in the project's own known_hosts file, so neither `ssh kdevops-0` nor Ansible
//! ever asks, and the user's `~/.ssh/known_hosts` is never touched.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::atomic_write;
use crate::progress::Progress;
use crate::sshconfig::HostEntry;

/// How long one connection attempt may take before it counts as no answer.
const ATTEMPT: Duration = Duration::from_secs(3);
/// Between rounds of attempts.
const PAUSE: Duration = Duration::from_millis(200);

/// Waits until every host answers SSH, printing each as it does; fails naming the
/// nodes that did not answer by `deadline`.
pub async fn wait_for_all(
    hosts: &[HostEntry],
    deadline: Instant,
    progress: &mut Progress,
) -> Result<()> {
    let started = Instant::now();
    let mut waiting: BTreeSet<usize> = (0..hosts.len()).collect();
    while !waiting.is_empty() {
        progress.waiting(format!(
            "waiting for SSH on {}",
            waiting
                .iter()
                .map(|&i| hosts[i].name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let mut attempts = tokio::task::JoinSet::new();
        for &i in &waiting {
            let addr = SocketAddr::new(hosts[i].ip, hosts[i].port);
            attempts.spawn(async move { (i, answers_ssh(addr).await) });
        }
        let mut answered: Vec<usize> = Vec::new();
        while let Some(done) = attempts.join_next().await {
            if let Ok((i, true)) = done {
                answered.push(i);
            }
        }
        answered.sort_unstable();
        for i in answered {
            waiting.remove(&i);
            progress.line(format!(
                "{} answers SSH ({:.1}s)",
                hosts[i].name,
                started.elapsed().as_secs_f64()
            ));
        }
        if waiting.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            let late: Vec<String> = waiting
                .iter()
                .map(|&i| format!("{} ({}:{})", hosts[i].name, hosts[i].ip, hosts[i].port))
                .collect();
            bail!(
                "{} never answered SSH within {:.0} s; the nodes exist and bill as usual. \
                 Run `make bringup` again to wait longer (--ssh-timeout SECONDS or \
                 KDEVOPS_SSH_TIMEOUT sets the limit), or `make destroy`",
                late.join(", "),
                started.elapsed().as_secs_f64()
            );
        }
        tokio::time::sleep(PAUSE).await;
    }
    Ok(())
}

/// Whether an SSH server answers at `addr`: it sends its `SSH-` banner first.
async fn answers_ssh(addr: SocketAddr) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let mut banner = [0u8; 4];
        stream.read_exact(&mut banner).await.ok()?;
        Some(&banner == b"SSH-")
    };
    matches!(tokio::time::timeout(ATTEMPT, attempt).await, Ok(Some(true)))
}

/// Writes the host keys of `hosts` (from `ssh-keyscan`) to `known_hosts`, each under
/// the node's name and address (`[name]:port,[ip]:port` when the port is not 22).
pub fn record_host_keys(hosts: &[HostEntry], known_hosts: &Path) -> Result<()> {
    let mut text = String::new();
    for h in hosts {
        let out = std::process::Command::new("ssh-keyscan")
            .args(["-T", "5", "-p", &h.port.to_string(), &h.ip.to_string()])
            .stderr(std::process::Stdio::null())
            .output()
            .context("cannot run ssh-keyscan (install openssh-client)")?;
        let keys = String::from_utf8_lossy(&out.stdout);
        let patterns = if h.port == 22 {
            format!("{},{}", h.name, h.ip)
        } else {
            format!("[{}]:{p},[{}]:{p}", h.name, h.ip, p = h.port)
        };
        let mut found = false;
        for line in keys.lines().filter(|l| !l.starts_with('#')) {
            if let Some((_, key)) = line.split_once(' ') {
                text.push_str(&format!("{patterns} {key}\n"));
                found = true;
            }
        }
        if !found {
            bail!(
                "{} ({}:{}) answers SSH but ssh-keyscan got no host key from it",
                h.name,
                h.ip,
                h.port
            );
        }
    }
    if let Some(dir) = known_hosts.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    atomic_write::write_generated(known_hosts, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn host(name: &str, port: u16) -> HostEntry {
        HostEntry {
            name: name.into(),
            ip: "127.0.0.1".parse().unwrap(),
            port,
            jump: None,
        }
    }

    /// A node whose port accepts but never sends a banner (sshd not up yet, or not an
    /// sshd) is waited for until the deadline, then named in the error; a node that
    /// sends its banner is not.
    #[tokio::test]
    async fn waits_for_the_banner_and_names_the_node_that_never_sent_it() {
        let answering = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let answering_port = answering.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = answering.accept().await {
                let _ = stream.write_all(b"SSH-2.0-OpenSSH_test\r\n").await;
            }
        });
        let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mute_port = mute.local_addr().unwrap().port();
        let hosts = [
            host("node-up", answering_port),
            host("node-mute", mute_port),
        ];

        let soon = Instant::now() + Duration::from_millis(300);
        let err = wait_for_all(&hosts, soon, &mut Progress::new())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!(
                "node-mute (127.0.0.1:{mute_port}) never answered SSH"
            )),
            "{err}"
        );
        assert!(!err.contains("node-up"), "{err}");
        wait_for_all(&hosts[..1], soon, &mut Progress::new())
            .await
            .unwrap();
    }
}
