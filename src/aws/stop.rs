//! The run's stop, as the AWS calls see it: [`finishing`] marks the reads that record what a
//! run did (they go on after a stop), and [`StopBeforeTransmit`], an SDK interceptor on every
//! client, is the last check before a request goes on the wire.

use crate::cancel::Cancel;
use std::future::Future;
use std::sync::Arc;

tokio::task_local! {
    /// Set (by [`finishing`]) around the reads that record what a run did.
    pub(super) static FINISHING: ();
}

/// Runs `f`, whose calls are reads that record what the run did (the read-back of tables it
/// changed): they are still sent after a stop, so the report says what AWS now has. Every
/// other call, and every write, ends at the stop.
pub async fn finishing<F: Future>(f: F) -> F::Output {
    FINISHING.scope((), f).await
}

/// The last check before a request goes on the wire, after its credentials were had (which
/// may wait, for an STS refresh): once the run is asked to stop, only the reads that record
/// what was done ([`finishing`]) are transmitted.
#[derive(Debug)]
pub(super) struct StopBeforeTransmit(pub(super) Arc<Cancel>);

/// The error of a request [`StopBeforeTransmit`] kept from being sent.
#[derive(Debug)]
struct StoppedBeforeTransmit;

impl std::fmt::Display for StoppedBeforeTransmit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the run was asked to stop before this request was sent")
    }
}

impl std::error::Error for StoppedBeforeTransmit {}

impl aws_smithy_runtime_api::client::interceptors::Intercept for StopBeforeTransmit {
    fn name(&self) -> &'static str {
        "StopBeforeTransmit"
    }

    fn read_before_transmit(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        match self.0.is_requested() && FINISHING.try_with(|_| ()).is_err() {
            true => Err(Box::new(StoppedBeforeTransmit)),
            false => Ok(()),
        }
    }
}

/// Whether the interceptor stopped this request before it was sent.
pub(super) fn stopped_before_transmit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(s) = source {
        if s.is::<StoppedBeforeTransmit>() {
            return true;
        }
        source = s.source();
    }
    false
}
