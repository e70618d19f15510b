//! Assumed-role credentials ([`CachedCredentials`]): one STS AssumeRole per (role, account),
//! reused until shortly before they expire, with the session checked to be in the account it
//! was assumed for.

use super::error::{cause, AwsError, ErrorKind};
use super::retry::{wait_until_allowed, RetryPolicy};
use crate::model::RoleSpec;
use aws_credential_types::provider::{future, ProvideCredentials};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use governor::clock::Clock;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Assumed-role credentials are renewed this long before they expire, so that no request is
/// signed with credentials that lapse in flight (and a clock a little off does not matter).
pub(super) const CREDENTIALS_REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// The account of an ARN (`arn:aws:sts::111122223333:assumed-role/...`), if it has one.
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// An assume-role provider that calls STS AssumeRole once and reuses the credentials until
/// five minutes before they expire. One per (role, external id), shared by every client of
/// that account. The session AWS hands back must be in the account the role was assumed for
/// (its `AssumedRoleUser.Arn` says which): credentials of any other account are refused.
pub(super) struct CachedCredentials {
    pub(super) sts: aws_sdk_sts::Client,
    pub(super) role: RoleSpec,
    pub(super) session_name: String,
    pub(super) cache: tokio::sync::Mutex<Option<Credentials>>,
    /// The run's STS rate (AWS counts AssumeRole against the caller).
    pub(super) sts_rate: Arc<governor::DefaultDirectRateLimiter>,
    pub(super) retry: RetryPolicy,
    pub(super) account_id: String,
}

/// Why STS refused a role, in one line: its code and message where STS answered (the
/// classified [`AwsError`] in the chain), else the innermost cause (`connection refused`).
pub(super) fn sts_cause(e: &aws_credential_types::provider::error::CredentialsError) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(aws) = s.downcast_ref::<AwsError>() {
            return aws.to_string();
        }
        source = s.source();
    }
    cause(e)
}

impl CachedCredentials {
    /// One AssumeRole, its session checked to be in `account_id`.
    async fn assume(
        &self,
    ) -> Result<
        Credentials,
        SdkError<aws_sdk_sts::operation::assume_role::AssumeRoleError, HttpResponse>,
    > {
        let out = self
            .sts
            .assume_role()
            .role_arn(&self.role.role_arn)
            .role_session_name(&self.session_name)
            .set_external_id(self.role.external_id.clone())
            .send()
            .await?;
        let session = out.assumed_role_user().map(|u| u.arn()).unwrap_or_default();
        if arn_account(session) != Some(self.account_id.as_str()) {
            let message = format!(
                "AssumeRole of {} answered with a session in account {} ({session}), not in account {}: refusing its credentials",
                self.role.role_arn,
                arn_account(session).unwrap_or("(none)"),
                self.account_id
            );
            return Err(SdkError::construction_failure(WrongAccount(message)));
        }
        let c = out.credentials().ok_or_else(|| {
            SdkError::construction_failure(WrongAccount(
                "AssumeRole returned no credentials".into(),
            ))
        })?;
        Ok(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            SystemTime::try_from(*c.expiration()).ok(),
            "ddb-fleet-assume-role",
        ))
    }
}

/// An AssumeRole answer that cannot be used (its session in another account).
#[derive(Debug)]
struct WrongAccount(String);

impl std::fmt::Display for WrongAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WrongAccount {}

impl std::fmt::Debug for CachedCredentials {
    // Never print the cached credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedCredentials")
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

impl ProvideCredentials for CachedCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let mut cached = self.cache.lock().await;
            let fresh_until = SystemTime::now() + CREDENTIALS_REFRESH_BEFORE;
            if let Some(c) = cached.as_ref() {
                if c.expiry().is_none_or(|e| e > fresh_until) {
                    return Ok(c.clone());
                }
            }
            let mut attempts = 0;
            loop {
                attempts += 1;
                let sts = &self.sts_rate;
                wait_until_allowed(|| sts.check(), || sts.clock().now()).await;
                match self.assume().await {
                    Ok(c) => {
                        *cached = Some(c.clone());
                        return Ok(c);
                    }
                    Err(e)
                        if attempts < self.retry.max_attempts
                            && AwsError::from_sdk(&e).kind == ErrorKind::Transient =>
                    {
                        tracing::debug!(account = %self.account_id, attempts, "AssumeRole throttled or failed transiently; retrying");
                        tokio::time::sleep(self.retry.backoff(attempts)).await;
                    }
                    // Classified here, so the chain holds STS's code and message, one line.
                    Err(e) => {
                        let classified = AwsError::from_sdk(&e).with_detail(
                            aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
                        );
                        return Err(
                            aws_credential_types::provider::error::CredentialsError::provider_error(
                                classified,
                            ),
                        );
                    }
                }
            }
        })
    }
}
