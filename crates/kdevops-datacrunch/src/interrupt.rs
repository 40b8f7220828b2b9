//! Ctrl-C and SIGTERM while Terraform runs, so that no billed machine ends up unknown to
//! Terraform's state.
//!
//! Terraform runs in a process group of its own ([`spawn`]): the terminal's Ctrl-C goes
//! to the foreground group (make and this tool) and does not reach Terraform or the
//! provider processes it starts. Instead, once [`install`]ed, this module catches SIGINT
//! and SIGTERM:
//!
//! 1. the first one gives Terraform exactly one SIGINT, its own graceful interrupt: it
//!    asks the provider to stop waiting, records every instance that exists (tainted
//!    when not ready) and exits. With no Terraform running, the command stops before
//!    its next step ([`spawn`] refuses, [`stop_requested`] wakes).
//! 2. a second one names the creates still in flight (their instances may exist without
//!    being in state) and forwards a second SIGINT, on which Terraform exits at once.
//! 3. a third one exits the tool at once.
//!
//! However a Terraform run ends, what is left of its process group (provider processes
//! whose Terraform died) gets SIGTERM, so nothing outlives the tool and each provider
//! removes its plugin socket.

use std::collections::BTreeSet;
use std::fmt;
use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rustix::process::Signal;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::process;

/// The signal that stopped the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT: Ctrl-C in the terminal.
    Interrupt,
    /// SIGTERM: `kill`, a CI timeout, a closing session.
    Terminate,
}

impl Stop {
    /// The shell convention: 128 + the signal number.
    pub fn exit_code(self) -> u8 {
        match self {
            Stop::Interrupt => 130,
            Stop::Terminate => 143,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Stop::Interrupt => "Interrupted (Ctrl-C)",
            Stop::Terminate => "Terminated (SIGTERM)",
        }
    }
}

/// The error of a command that stopped because of [`Stop`].
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("stopped by a signal")
    }
}

impl std::error::Error for Interrupted {}

/// Whether a Terraform command may start after a stop was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterStop {
    /// Commands that create or change anything: refused with [`Interrupted`].
    Refuse,
    /// Read-only commands that report what exists after an interrupt.
    Run,
}

struct Shared {
    signals: u32,
    first: Option<Stop>,
    /// Process id (and process group) of the running Terraform.
    terraform: Option<i32>,
    /// Resource addresses the running apply is creating.
    creating: BTreeSet<String>,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    signals: 0,
    first: None,
    terraform: None,
    creating: BTreeSet::new(),
});

/// Counts signals for [`stop_requested`].
static SIGNALS: OnceLock<watch::Sender<u32>> = OnceLock::new();

fn shared() -> MutexGuard<'static, Shared> {
    // Every update leaves the fields consistent: a panic elsewhere changes nothing here.
    SHARED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Catches SIGINT and SIGTERM from now on (see the module docs), on a thread of its own:
/// the main thread blocks while it reads Terraform's output.
pub fn install() -> Result<()> {
    if SIGNALS.get().is_some() {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Registered here, before returning: a signal from now on is ours, not fatal.
    let (mut interrupts, mut terminates) = {
        let _context = runtime.enter();
        (
            signal(SignalKind::interrupt()).context("cannot catch SIGINT")?,
            signal(SignalKind::terminate()).context("cannot catch SIGTERM")?,
        )
    };
    let _ = SIGNALS.set(watch::Sender::new(0));
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                loop {
                    let stop = tokio::select! {
                        Some(()) = interrupts.recv() => Stop::Interrupt,
                        Some(()) = terminates.recv() => Stop::Terminate,
                        else => return,
                    };
                    on_signal(stop);
                }
            })
        })
        .context("cannot start the signal thread")?;
    Ok(())
}

fn on_signal(stop: Stop) {
    let mut s = shared();
    s.signals += 1;
    let first = *s.first.get_or_insert(stop);
    let count = s.signals;
    match (count, s.terraform) {
        (1, Some(pid)) => {
            eprintln!(
                "\n{}: asking Terraform to stop; it records every instance created so far. \
                 Press Ctrl-C again (or send another SIGTERM) to stop at once; instances being created may then be left out of Terraform's state.",
                stop.describe()
            );
            process::signal(pid, Signal::INT);
        }
        (1, None) => eprintln!(
            "\n{}: stopping before anything else is created.",
            stop.describe()
        ),
        (2, Some(pid)) => {
            eprintln!("\n{}", at_risk(&s.creating));
            process::signal(pid, Signal::INT);
        }
        (_, running) => {
            eprintln!(
                "\n{}: exiting now. Anything created but not recorded still exists and may bill: \
                 `make bringup` adopts it into Terraform's state, `make destroy` deletes it.",
                stop.describe()
            );
            if let Some(pid) = running {
                process::signal_group(pid, Signal::TERM);
            }
            std::process::exit(first.exit_code().into());
        }
    }
    drop(s);
    if let Some(signals) = SIGNALS.get() {
        signals.send_replace(count);
    }
}

/// What a forced stop may leave behind: the creates in flight.
fn at_risk(creating: &BTreeSet<String>) -> String {
    if creating.is_empty() {
        return "Stopping Terraform at once (no create was in flight).".to_owned();
    }
    let list: Vec<&str> = creating.iter().map(String::as_str).collect();
    format!(
        "Stopping Terraform at once. At risk: {} may exist without being in Terraform's state \
         (their ids are not known yet); they are looked up through the API once Terraform has exited.",
        list.join(", ")
    )
}

/// The first signal received, if any.
pub fn requested() -> Option<Stop> {
    shared().first
}

/// Resolves once a signal was received (never without [`install`]).
pub async fn stop_requested() {
    match SIGNALS.get() {
        Some(signals) => {
            let _ = signals.subscribe().wait_for(|count| *count > 0).await;
        }
        None => std::future::pending().await,
    }
}

/// A Terraform process and its process group, registered for signal forwarding until
/// dropped; dropping it also stops whatever of the group is left.
pub struct Foreground {
    pid: i32,
}

/// Starts `cmd` (Terraform) in a process group of its own and registers it, so the
/// next signal is forwarded to it. With [`AfterStop::Refuse`], fails with
/// [`Interrupted`] once a stop was requested; checked under the same lock the signal
/// thread takes, so a signal is either seen here or forwarded to the new process.
pub fn spawn(cmd: &mut Command, after_stop: AfterStop) -> Result<(Child, Foreground)> {
    let mut s = shared();
    if s.first.is_some() && after_stop == AfterStop::Refuse {
        return Err(Interrupted.into());
    }
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", cmd.get_program().to_string_lossy()))?;
    let pid = i32::try_from(child.id()).context("process id out of range")?;
    s.terraform = Some(pid);
    s.creating.clear();
    Ok((child, Foreground { pid }))
}

/// Notes that the running apply started (or finished) creating `address`.
pub fn creating(address: &str, in_flight: bool) {
    let mut s = shared();
    if in_flight {
        s.creating.insert(address.to_owned());
    } else {
        s.creating.remove(address);
    }
}

/// How long the provider processes of a finished Terraform get to exit after SIGTERM.
const GROUP_GRACE: Duration = Duration::from_secs(5);

impl Drop for Foreground {
    fn drop(&mut self) {
        {
            let mut s = shared();
            if s.terraform == Some(self.pid) {
                s.terraform = None;
                s.creating.clear();
            }
        }
        // Normally empty: Terraform stops its providers before exiting. After a forced
        // stop they are still running, holding a plugin socket each.
        if !process::group_has_live_members(self.pid) {
            return;
        }
        process::signal_group(self.pid, Signal::TERM);
        let deadline = Instant::now() + GROUP_GRACE;
        while process::group_has_live_members(self.pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if process::group_has_live_members(self.pid) {
            process::signal_group(self.pid, Signal::KILL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_risk_names_the_creates_in_flight() {
        let mut creating = BTreeSet::new();
        assert!(at_risk(&creating).contains("no create was in flight"));
        creating.insert("datacrunch_instance.kdevops[\"kdevops-1\"]".to_owned());
        let text = at_risk(&creating);
        assert!(
            text.contains("At risk: datacrunch_instance.kdevops[\"kdevops-1\"] may exist"),
            "{text}"
        );
    }

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        assert_eq!(Stop::Interrupt.exit_code(), 130);
        assert_eq!(Stop::Terminate.exit_code(), 143);
    }
}
