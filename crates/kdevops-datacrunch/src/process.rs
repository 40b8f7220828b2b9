//! What `/proc` says about processes: whether one is alive (a zombie is not: it still
//! answers `kill(pid, 0)` until reaped), and whether a process group still has live
//! members. Used for the background emulator and for Terraform's process group.

use std::fs;

use rustix::process::{Pid, Signal};

/// The state letter and process group of `pid`, from `/proc/<pid>/stat`.
fn state_and_group(pid: i32) -> Option<(char, i32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// Fields after the command name (which may itself hold spaces and parentheses):
/// state, ppid, pgrp, ...
fn parse_stat(stat: &str) -> Option<(char, i32)> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let group = fields.next()?.parse().ok()?;
    Some((state, group))
}

fn is_live_state(state: char) -> bool {
    state != 'Z' && state != 'X'
}

/// Alive and not a zombie.
pub fn is_alive(pid: i32) -> bool {
    state_and_group(pid).is_some_and(|(state, _)| is_live_state(state))
}

/// Whether any live (non-zombie) process belongs to process group `pgid`.
pub fn group_has_live_members(pgid: i32) -> bool {
    let Ok(entries) = fs::read_dir("/proc") else {
        return false;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(state_and_group)
        .any(|(state, group)| group == pgid && is_live_state(state))
}

/// Sends `sig` to one process; one that is already gone is fine.
pub fn signal(pid: i32, sig: Signal) {
    if let Some(pid) = Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Sends `sig` to every process of group `pgid`; an empty group is fine.
pub fn signal_group(pgid: i32, sig: Signal) {
    if let Some(pgid) = Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pgid, sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_parentheses_in_the_name() {
        let stat = "4242 (a (b) c) S 1 4240 4240 0 -1 4194560 100";
        assert_eq!(parse_stat(stat), Some(('S', 4240)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_and_its_group_are_alive() {
        let me = std::process::id() as i32;
        assert!(is_alive(me));
        let group = rustix::process::getpgrp().as_raw_nonzero().get();
        assert!(group_has_live_members(group));
    }
}
