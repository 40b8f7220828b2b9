//! Running commands with a timeout and asserting on their results.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished (or killed) command produced.
#[derive(Debug, Clone)]
pub struct Output {
    /// Human description of the command, for assertion messages.
    pub command: String,
    /// Exit code; `None` when killed by a signal or the timeout.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub elapsed: Duration,
}

impl Output {
    /// stdout and stderr together, for searching.
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// How the command ended and what it printed, for assertion messages.
    fn report(&self) -> String {
        format!(
            "`{}` exited with {:?} (timed out: {})\n--- stdout\n{}\n--- stderr\n{}",
            self.command, self.code, self.timed_out, self.stdout, self.stderr
        )
    }

    /// Panics, showing the output, unless the exit code is `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert!(
            self.code == Some(code),
            "expected exit code {code}: {}",
            self.report()
        );
        self
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }

    /// Panics unless the command failed (non-zero exit, not a timeout).
    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(
            !self.timed_out && self.code.is_some_and(|c| c != 0),
            "expected a failure: {}",
            self.report()
        );
        self
    }

    /// Panics unless the combined output contains `needle`.
    #[track_caller]
    pub fn assert_contains(&self, needle: &str) -> &Self {
        assert!(
            self.combined().contains(needle),
            "output lacks {needle:?}: {}",
            self.report()
        );
        self
    }

    /// Panics if the combined output contains `needle`.
    #[track_caller]
    pub fn assert_not_contains(&self, needle: &str) -> &Self {
        assert!(
            !self.combined().contains(needle),
            "output unexpectedly contains {needle:?}: {}",
            self.report()
        );
        self
    }
}

/// Spawns `cmd` in its own process group (so a Ctrl-C can be aimed at it
/// and its children only), with stdout/stderr captured.
pub fn spawn_in_group(cmd: &mut Command) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
}

/// Sends SIGINT to the whole process group led by `child`, as a terminal's
/// Ctrl-C does.
pub fn interrupt_group(child: &Child) {
    let status = Command::new("kill")
        // `--` so the negative process-group id is not read as an option.
        .args(["-s", "INT", "--", &format!("-{}", child.id())])
        .status()
        .expect("the kill command is available");
    assert!(status.success(), "kill -INT -{} failed", child.id());
}

/// Reads a pipe to its end; bytes that are not UTF-8 are replaced rather
/// than losing the rest of the output.
fn read_lossy(pipe: Option<&mut impl Read>) -> String {
    let mut buf = Vec::new();
    if let Some(p) = pipe {
        let _ = p.read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Waits for `child` up to `timeout` (then kills its group), collecting output.
pub fn wait_with_timeout(mut child: Child, command: String, timeout: Duration) -> Output {
    let start = Instant::now();
    // Drain the pipes in threads so a chatty child never blocks on a full pipe.
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_t = std::thread::spawn(move || read_lossy(out_pipe.as_mut()));
    let err_t = std::thread::spawn(move || read_lossy(err_pipe.as_mut()));
    let mut timed_out = false;
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if start.elapsed() > timeout => {
                timed_out = true;
                let _ = Command::new("kill")
                    .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break None,
        }
    };
    Output {
        command,
        code,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
        timed_out,
        elapsed: start.elapsed(),
    }
}

/// Polls `done` every 20 ms until it holds; panics naming `what` (evaluated only then,
/// so it can carry the latest output) once `timeout` has passed. Tests wait on events
/// in other processes this way instead of sleeping a fixed time.
pub fn wait_until(
    timeout: Duration,
    mut done: impl FnMut() -> bool,
    what: impl FnOnce() -> String,
) {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() >= deadline {
            panic!("gave up after {}s waiting: {}", timeout.as_secs(), what());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_exit_code() {
        let child =
            spawn_in_group(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]))
                .unwrap();
        let out = wait_with_timeout(child, "sh".into(), Duration::from_secs(10));
        out.assert_code(3)
            .assert_contains("out")
            .assert_contains("err");
        assert!(!out.timed_out);
        assert!(std::panic::catch_unwind(|| {
            out.assert_success();
        })
        .is_err());
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        // The shell's child must die too, or the pipes would stay open.
        let child = spawn_in_group(Command::new("sh").args(["-c", "sleep 30 & sleep 30"])).unwrap();
        let out = wait_with_timeout(child, "sh".into(), Duration::from_millis(300));
        assert!(out.timed_out && out.code.is_none());
        assert!(out.elapsed < Duration::from_secs(10), "{:?}", out.elapsed);
    }
}
