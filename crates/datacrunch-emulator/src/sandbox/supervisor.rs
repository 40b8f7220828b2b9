//! The [`Supervisor`]: a thread that makes the running nodes match the world's
//! [`Desired`] a few times a second, publishes them on the [`Board`], and stops every
//! node when it is stopped (or dropped).
//!
//! The nodes are spawned by threads as long-lived as this one on purpose (see
//! `spawner`): `setpriv --pdeathsig` ties a node to the thread that spawned it, so a
//! short-lived worker thread ending would kill the node.

use super::node::{self, disk_dir, kill_stale, Node};
use super::spawner::Spawners;
use super::{Board, Desired, Host, NodeSpec, NodeStatus};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the world is compared with the nodes while a node is booting, and when
/// all are ready.
const BOOTING_TICK: Duration = Duration::from_millis(20);
const IDLE_TICK: Duration = Duration::from_millis(250);

/// Runs the nodes until stopped. Stopping (or dropping) it stops every node.
#[derive(Debug)]
pub struct Supervisor {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Supervisor {
    /// Starts the supervisor thread. `plan` reads what the world wants (`None` when it
    /// cannot be read this time); `remove_dir_at_exit` removes the whole nodes
    /// directory when stopped (for an emulator without a state file).
    pub fn start(
        host: Host,
        board: Arc<Board>,
        remove_dir_at_exit: bool,
        mut plan: impl FnMut() -> Option<Desired> + Send + 'static,
    ) -> std::io::Result<Supervisor> {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("datacrunch-nodes".to_owned())
            .spawn(move || {
                let spawners = match Spawners::new() {
                    Ok(spawners) => spawners,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot start the node spawner threads: no node boots");
                        return;
                    }
                };
                let mut nodes = Nodes {
                    host,
                    running: BTreeMap::new(),
                    failed: BTreeSet::new(),
                    spawners,
                };
                nodes.clear_stale();
                nodes.run(&board, &mut plan, &stopped);
                // Disks deleted just before the exit (a destroy, then SIGTERM) go too.
                let last = plan();
                nodes.stop_all();
                if let Some(desired) = last {
                    nodes.remove_orphaned_disks(&desired);
                }
                board.publish(Vec::new());
                if remove_dir_at_exit {
                    let _ = super::remove_tree(&nodes.host.nodes_dir);
                }
            })?;
        Ok(Supervisor {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops every node and waits until they are gone.
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

struct Nodes {
    host: Host,
    /// By instance id.
    running: BTreeMap<String, Node>,
    /// Instances whose node failed to boot: not retried until they leave `running`.
    failed: BTreeSet<String>,
    /// Declared last: dropped after `running` was stopped (see `spawner`).
    spawners: Spawners,
}

impl Nodes {
    fn run(
        &mut self,
        board: &Board,
        plan: &mut impl FnMut() -> Option<Desired>,
        stopped: &mpsc::Receiver<()>,
    ) {
        loop {
            if let Some(desired) = plan() {
                self.reconcile(&desired);
            }
            let mut booting = false;
            if self.running.values().any(|n| !n.is_ready()) {
                let listening = node::listening_sockets();
                for node in self.running.values_mut() {
                    booting |= !node.poll_ready(&listening) && !node.exited();
                }
            }
            board.publish(self.statuses());
            let tick = if booting { BOOTING_TICK } else { IDLE_TICK };
            match stopped.recv_timeout(tick) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return,
            }
        }
    }

    /// Stops nodes no longer wanted, boots the new ones, removes orphaned disks.
    fn reconcile(&mut self, desired: &Desired) {
        let wanted: BTreeMap<&str, _> = desired
            .running
            .iter()
            .map(|s| (s.instance_id.as_str(), s))
            .collect();
        let gone: Vec<String> = self
            .running
            .keys()
            .filter(|id| !wanted.contains_key(id.as_str()))
            .cloned()
            .collect();
        for id in gone {
            if let Some(node) = self.running.remove(&id) {
                tracing::info!(instance = %id, hostname = %node.spec.hostname, "node stopped");
                node.stop();
            }
        }
        self.failed.retain(|id| wanted.contains_key(id.as_str()));
        let mut prepared = Vec::new();
        let mut commands = Vec::new();
        for (id, spec) in wanted {
            if self.running.contains_key(id) || self.failed.contains(id) {
                continue;
            }
            match Node::prepare(&self.host, spec.clone()) {
                Ok((node, command)) => {
                    prepared.push(node);
                    commands.push(command);
                }
                Err(e) => self.boot_failed(spec, &e),
            }
        }
        let helpers = self.spawners.spawn_all(commands);
        for (node, helper) in prepared.into_iter().zip(helpers) {
            let spec = node.spec.clone();
            match helper.and_then(|helper| node.started(helper)) {
                Ok(node) => {
                    tracing::info!(instance = %spec.instance_id, hostname = %spec.hostname, ip = %spec.ip, port = node.port, "node booting");
                    self.running.insert(spec.instance_id.clone(), node);
                }
                Err(e) => self.boot_failed(&spec, &e),
            }
        }
        for (id, node) in self.running.iter_mut() {
            if node.exited() && self.failed.insert(id.clone()) {
                tracing::error!(instance = %id, hostname = %node.spec.hostname, console = %node.console().display(), "the node stopped by itself; its console log says why");
            }
        }
        self.remove_orphaned_disks(desired);
    }

    fn boot_failed(&mut self, spec: &NodeSpec, error: &std::io::Error) {
        tracing::error!(instance = %spec.instance_id, hostname = %spec.hostname, error = %error, "cannot boot the node");
        self.failed.insert(spec.instance_id.clone());
    }

    /// Disks whose volume (or instance) no longer exists.
    fn remove_orphaned_disks(&self, desired: &Desired) {
        let in_use: BTreeSet<&str> = self
            .running
            .values()
            .map(|n| n.spec.disk_id.as_str())
            .collect();
        for name in self.disk_names() {
            if !desired.live_disks.contains(&name) && !in_use.contains(name.as_str()) {
                if let Some(dir) = disk_dir(&self.host, &name) {
                    tracing::info!(disk = %name, "removing the disk of a deleted node");
                    if let Err(e) = super::remove_tree(&dir) {
                        tracing::error!(dir = %dir.display(), error = %e, "cannot remove a node disk");
                    }
                }
            }
        }
    }

    fn disk_names(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.host.nodes_dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.'))
            .collect()
    }

    /// Nodes a previous emulator (killed before it could stop them) left behind.
    fn clear_stale(&self) {
        for name in self.disk_names() {
            if let Some(dir) = disk_dir(&self.host, &name) {
                kill_stale(&dir);
            }
        }
    }

    fn statuses(&self) -> Vec<NodeStatus> {
        self.running
            .values()
            .map(|n| NodeStatus {
                instance_id: n.spec.instance_id.clone(),
                hostname: n.spec.hostname.clone(),
                ip: n.spec.ip,
                port: n.port,
                ready: n.is_ready(),
            })
            .collect()
    }

    fn stop_all(&mut self) {
        node::stop_all(std::mem::take(&mut self.running).into_values().collect());
    }
}
