//! `terraform apply -json`: the saved plan or a destroy, its events streamed as they
//! come, its errors filed by resource address, and the creates in flight told to
//! [`interrupt`].

use std::process::Stdio;

use anyhow::{anyhow, Context, Result};
use serde_json::Value;

use super::team_state::{Locked, LOCK_ERROR};
use super::{remove_any, Apply, ApplyReport, Terraform};
use crate::interrupt::{self, AfterStop, Interrupted};
use crate::owner_only::OwnerOnly;

impl Terraform {
    /// `terraform apply -json` of the saved plan, or a destroy, streaming progress lines
    /// to `on_event`. A signal meanwhile is forwarded to Terraform ([`interrupt`]), which
    /// saves state and exits; the apply then fails with [`Interrupted`]. Another run's
    /// state lock is waited for visibly ([`Terraform::locking`]).
    pub fn apply(&self, what: Apply, mut on_event: impl FnMut(&Value)) -> Result<ApplyReport> {
        let state_files = OwnerOnly::prepare(&self.state_files())?;
        let report = self.locking(|lock| {
            let report = self.apply_once(what, lock, &mut on_event)?;
            let messages = report.messages();
            if !report.succeeded && messages.iter().any(|m| m.contains(LOCK_ERROR)) {
                return Ok(Locked::Busy(anyhow!("{}", messages.join("; "))));
            }
            Ok(Locked::Done(report))
        });
        state_files.finish()?;
        if what == Apply::SavedPlan {
            // Used once: a later apply must come from a new, checked plan.
            remove_any(&self.plan_file)?;
        }
        let report = report?;
        if interrupt::requested().is_some() {
            return Err(Interrupted.into());
        }
        Ok(report)
    }

    /// One `apply -json` run, with `lock` (the lock-timeout argument) if any.
    fn apply_once(
        &self,
        what: Apply,
        lock: Option<&str>,
        on_event: &mut impl FnMut(&Value),
    ) -> Result<ApplyReport> {
        let plan = self.plan_file.display().to_string();
        let mut args = match what {
            Apply::SavedPlan => vec!["apply", "-input=false", "-json"],
            Apply::Destroy => vec![
                "apply",
                "-destroy",
                "-auto-approve",
                "-input=false",
                "-json",
            ],
        };
        args.extend(lock);
        if what == Apply::SavedPlan {
            args.push(plan.as_str());
        }
        let mut cmd = self.command(&args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let (mut child, group) = interrupt::spawn(&mut cmd, AfterStop::Refuse)?;
        let stdout = child.stdout.take().context("terraform stdout")?;
        let mut report = ApplyReport::default();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let line = line?;
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            record_event(&mut report, &event);
            track_creates(&event);
            on_event(&event);
        }
        let output = child.wait_with_output()?;
        drop(group);
        report.succeeded = output.status.success();
        if !report.succeeded && report.errors.is_empty() && report.general_errors.is_empty() {
            report
                .general_errors
                .push(String::from_utf8_lossy(&output.stderr).trim().to_owned());
        }
        Ok(report)
    }
}

/// Tells [`interrupt`] which creates are in flight (what a forced stop puts at risk).
fn track_creates(event: &Value) {
    let Some(address) = event.pointer("/hook/resource/addr").and_then(Value::as_str) else {
        return;
    };
    match event["type"].as_str() {
        Some("apply_start") if event.pointer("/hook/action") == Some(&Value::from("create")) => {
            interrupt::creating(address, true)
        }
        Some("apply_complete" | "apply_errored") => interrupt::creating(address, false),
        _ => {}
    }
}

/// Files an `apply -json` error under its resource address (or as a general error).
fn record_event(report: &mut ApplyReport, event: &Value) {
    if event["type"] != "diagnostic"
        || event.pointer("/diagnostic/severity") != Some(&Value::from("error"))
    {
        return;
    }
    let diag = &event["diagnostic"];
    let summary = diag["summary"].as_str().unwrap_or_default();
    let detail = diag["detail"].as_str().unwrap_or_default();
    let text = if detail.is_empty() {
        summary.to_owned()
    } else {
        format!("{summary}: {detail}")
    };
    match diag["address"].as_str() {
        Some(address) => report
            .errors
            .entry(address.to_owned())
            .or_default()
            .push(text),
        None => report.general_errors.push(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apply_errors_are_filed_by_address() {
        let mut report = ApplyReport::default();
        let lines = [
            r#"{"@level":"info","type":"apply_start","hook":{"resource":{"addr":"datacrunch_instance.kdevops[\"a\"]"}}}"#,
            r#"{"@level":"error","type":"diagnostic","diagnostic":{"severity":"error","summary":"No capacity","detail":"503 service_unavailable","address":"datacrunch_instance.kdevops[\"b\"]"}}"#,
            r#"{"@level":"error","type":"diagnostic","diagnostic":{"severity":"error","summary":"Invalid provider configuration","detail":""}}"#,
            r#"{"@level":"warn","type":"diagnostic","diagnostic":{"severity":"warning","summary":"w","address":"x"}}"#,
        ];
        for l in lines {
            record_event(&mut report, &serde_json::from_str(l).unwrap());
        }
        assert_eq!(
            report.errors["datacrunch_instance.kdevops[\"b\"]"],
            ["No capacity: 503 service_unavailable"]
        );
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.general_errors, ["Invalid provider configuration"]);
    }
}
