//! [`Context`]: what every provider, resource and data-source call receives
//! besides its values: the configured provider data (e.g. an API client),
//! a cancellation token fired by Terraform's StopProvider (Ctrl-C), the
//! deadline from the resource's `timeouts`, and a place for warnings.

use std::any::Any;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::diag::{Diagnostic, Diagnostics};

/// Whatever `Provider::configure` returns, shared with every later call.
pub type ProviderData = Arc<dyn Any + Send + Sync>;

/// Per-call context.
pub struct Context {
    cancel: CancellationToken,
    deadline: Option<Instant>,
    data: Option<ProviderData>,
    terraform_version: String,
    warnings: Mutex<Diagnostics>,
}

impl Context {
    pub(crate) fn new(
        cancel: CancellationToken,
        deadline: Option<Instant>,
        data: Option<ProviderData>,
        terraform_version: String,
    ) -> Self {
        Self {
            cancel,
            deadline,
            data,
            terraform_version,
            warnings: Mutex::new(Diagnostics::new()),
        }
    }

    /// A context for unit tests of resources: no deadline, the given data.
    pub fn for_tests(data: Option<ProviderData>) -> Self {
        Self::new(CancellationToken::new(), None, data, "test".into())
    }

    /// Fired when Terraform asks the provider to stop (Ctrl-C).
    pub fn cancellation_token(&self) -> &CancellationToken {
        &self.cancel
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// When this operation must be done, from `timeouts` or the resource's default.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The Terraform version that configured the provider (empty if unknown).
    pub fn terraform_version(&self) -> &str {
        &self.terraform_version
    }

    /// The provider data as the concrete type `configure` produced.
    pub fn provider_data<T: Any + Send + Sync>(&self) -> Result<Arc<T>, Diagnostics> {
        let data = self.data.clone().ok_or_else(|| {
            Diagnostics::from(Diagnostic::error(
                "Provider not configured",
                "The provider's configuration was not available for this operation. \
                 This can happen when the provider configuration depends on values \
                 not known until apply.",
            ))
        })?;
        data.downcast::<T>().map_err(|_| {
            Diagnostic::error(
                "Provider bug: wrong provider data type",
                format!("expected {}", std::any::type_name::<T>()),
            )
            .into()
        })
    }

    /// Adds a warning that is returned with the call's result.
    pub fn warn(&self, summary: impl Into<String>, detail: impl Into<String>) {
        if let Ok(mut w) = self.warnings.lock() {
            w.warning(summary, detail);
        }
    }

    pub(crate) fn take_warnings(&self) -> Diagnostics {
        self.warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }

    /// An error if the operation was cancelled or ran past its deadline;
    /// call it between steps of long work.
    pub fn check(&self) -> Result<(), Diagnostics> {
        if self.is_cancelled() {
            return Err(cancelled());
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(timed_out());
        }
        Ok(())
    }

    /// Runs `fut` until it finishes, Terraform cancels, or the deadline
    /// passes; the latter two become error diagnostics.
    pub async fn run<T, F>(&self, fut: F) -> Result<T, Diagnostics>
    where
        F: Future<Output = Result<T, Diagnostics>>,
    {
        let deadline = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = fut => r,
            _ = self.cancel.cancelled() => Err(cancelled()),
            _ = deadline => Err(timed_out()),
        }
    }

    /// Sleeps, but returns an error as soon as the operation is cancelled
    /// or out of time; for polling loops.
    pub async fn sleep(&self, d: Duration) -> Result<(), Diagnostics> {
        self.run(async {
            tokio::time::sleep(d).await;
            Ok(())
        })
        .await
    }
}

fn cancelled() -> Diagnostics {
    Diagnostic::error(
        "Operation cancelled",
        "Terraform asked the provider to stop (for example after Ctrl-C) before the operation finished. \
         The remote object may be left partially created or changed.",
    )
    .into()
}

fn timed_out() -> Diagnostics {
    Diagnostic::error(
        "Operation timed out",
        "The operation did not finish within its timeout. Raise it with the `timeouts` attribute if the \
         remote system is just slow.",
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancellation_and_deadline_become_diagnostics() {
        let ctx = Context::for_tests(None);
        let token = ctx.cancellation_token().clone();
        let work = ctx.run(async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(1)
        });
        token.cancel();
        let e = work.await.unwrap_err();
        assert!(e.iter().next().unwrap().summary.contains("cancelled"));

        let ctx = Context::new(
            CancellationToken::new(),
            Some(Instant::now() + Duration::from_millis(10)),
            None,
            String::new(),
        );
        let e = ctx.sleep(Duration::from_secs(30)).await.unwrap_err();
        assert!(e.iter().next().unwrap().summary.contains("timed out"));
        assert!(ctx.check().is_err());
    }

    #[test]
    fn provider_data_downcasts() {
        let ctx = Context::for_tests(Some(Arc::new(5u32)));
        assert_eq!(*ctx.provider_data::<u32>().unwrap(), 5);
        assert!(ctx.provider_data::<String>().is_err());
        assert!(Context::for_tests(None).provider_data::<u32>().is_err());
    }
}
