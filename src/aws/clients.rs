//! Building AWS clients once per (account, region), and calling them politely.
//!
//! [`ClientFactory`] loads the base configuration once (standard credential chain, one
//! rustls/ring HTTP client), learns who the caller is once per run ([`CallerIdentity`]), keeps
//! one cached assume-role credentials provider per (role, account), each checked to be in
//! the account it was assumed for (`credentials.rs`), and one [`AccountRegion`] per (account,
//! role, region). Once the run is asked to stop, no call is sent (`stop.rs`). [`AccountRegion::call`]
//! is the single path every AWS request takes: it waits for the per-(account, region, quota)
//! rate limiter, sends, classifies the error and retries with jittered backoff.

use super::credentials::{sts_cause, CachedCredentials};
use super::error::{cause, AwsError, ErrorKind};
use super::partition::Partition;
use super::poll_order::{Place, PollOrder};
use super::retry::{wait_until_allowed, RetryPolicy};
use super::stop::{stopped_before_transmit, StopBeforeTransmit, FINISHING};
use super::update_times::UpdateTimes;
use crate::cancel::Cancel;
use crate::model::RoleSpec;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Requests per second allowed per (account, region) for each control plane, and for STS for
/// the whole run (AWS counts AssumeRole calls against the calling account, not the role's).
/// Defaults are a small fraction of AWS's published quotas (DynamoDB: 2,500/s for
/// control-plane reads and writes each), leaving room for everything else in the account.
#[derive(Debug, Clone, Copy)]
pub struct Rates {
    /// For each of DynamoDB's two control-plane quotas: reads ([`Service::DynamoDb`]) and
    /// mutating calls ([`Service::DynamoDbMutating`]), which AWS counts apart.
    pub dynamodb: NonZeroU32,
    pub autoscaling: NonZeroU32,
    pub sts: NonZeroU32,
    /// CloudWatch GetMetricData (AWS's default quota: 50 requests/s per account and region,
    /// shared with dashboards and alarms).
    pub cloudwatch: NonZeroU32,
    /// DynamoDB ListTagsOfResource, which AWS limits apart: 10 requests/s per account (all
    /// its regions; shared with everything else that reads tags there: Terraform's refresh,
    /// AWS Config). This rate is per account too.
    pub tags: NonZeroU32,
    /// AWS Organizations, for the whole run (throttled at a few requests per second per
    /// account; read once per run).
    pub organizations: NonZeroU32,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            dynamodb: NonZeroU32::new(20).unwrap(),
            autoscaling: NonZeroU32::new(10).unwrap(),
            sts: NonZeroU32::new(20).unwrap(),
            cloudwatch: NonZeroU32::new(10).unwrap(),
            tags: NonZeroU32::new(5).unwrap(),
            organizations: NonZeroU32::new(2).unwrap(),
        }
    }
}

/// Idle HTTP connections kept per endpoint. A stall (a busy machine) releases many requests at
/// once and each opens its own connection; kept idle, those held 20 to 60 MB at 10,000 tables.
/// Steady traffic to one endpoint reuses far fewer than this.
const MAX_IDLE_CONNECTIONS: usize = 256;

/// A TCP connection to AWS not made within this is a connection error (retried): AWS answers
/// in milliseconds; longer means a network problem, not a slow service.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything needed to reach AWS.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub role_session_name: String,
    pub rates: Rates,
    pub retry: RetryPolicy,
    /// Timeout of one HTTP attempt.
    pub attempt_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// DynamoDB's control-plane reads (DescribeTable, ListTables).
    DynamoDb,
    /// DynamoDB's mutating control-plane calls (UpdateTable): AWS counts them against a quota
    /// of their own, apart from the reads, so a switch never waits behind the polls.
    DynamoDbMutating,
    AutoScaling,
    CloudWatch,
    /// DynamoDB ListTagsOfResource: a quota of its own (see [`Rates::tags`]).
    DynamoDbTags,
    /// AWS Organizations (the caller's account; one rate for the run).
    Organizations,
    /// EC2 DescribeRegions, once per account.
    Ec2,
}

impl Service {
    /// How patiently its calls are retried: AWS Organizations, throttled at a few requests per
    /// second per account and read once for the whole run, gets its own, longer policy
    /// ([`RetryPolicy::ORGANIZATIONS`]); every other service the run's (`--max-attempts`,
    /// `--retry-base-ms`).
    pub fn retry_policy(self, run: RetryPolicy) -> RetryPolicy {
        match self {
            Service::Organizations => RetryPolicy {
                max_attempts: run
                    .max_attempts
                    .max(RetryPolicy::ORGANIZATIONS.max_attempts),
                ..RetryPolicy::ORGANIZATIONS
            },
            _ => run,
        }
    }
}

/// EC2 DescribeRegions per second, per account and region: one call per account and run.
const EC2_RATE: NonZeroU32 = NonZeroU32::new(5).unwrap();

type Limiter = DefaultKeyedRateLimiter<(String, String)>;

/// `rate` requests per second, evenly spaced. A burst as large as the rate (governor's
/// default) lets nearly twice the rate through in the first second, which a quota counted over
/// any one-second window would throttle.
fn paced(rate: NonZeroU32) -> Quota {
    Quota::per_second(rate).allow_burst(NonZeroU32::MIN)
}

/// While tables' own DynamoDB calls wait for tokens, polls take at most 1 / this of the rate.
const POLL_SHARE: u32 = 4;

struct Limiters {
    dynamodb: Limiter,
    dynamodb_mutating: Limiter,
    /// Polls' share of the DynamoDB read rate while tables' own reads wait (see `poll_turn`).
    polls: Limiter,
    autoscaling: Limiter,
    cloudwatch: Limiter,
    tags: Limiter,
    organizations: Limiter,
    ec2: Limiter,
    sts: Arc<governor::DefaultDirectRateLimiter>,
}

impl Limiters {
    fn new(rates: &Rates) -> Self {
        Limiters {
            dynamodb: RateLimiter::keyed(paced(rates.dynamodb)),
            dynamodb_mutating: RateLimiter::keyed(paced(rates.dynamodb)),
            polls: RateLimiter::keyed(paced(
                NonZeroU32::new(rates.dynamodb.get() / POLL_SHARE).unwrap_or(NonZeroU32::MIN),
            )),
            autoscaling: RateLimiter::keyed(paced(rates.autoscaling)),
            cloudwatch: RateLimiter::keyed(paced(rates.cloudwatch)),
            tags: RateLimiter::keyed(paced(rates.tags)),
            organizations: RateLimiter::keyed(paced(rates.organizations)),
            ec2: RateLimiter::keyed(paced(EC2_RATE)),
            sts: Arc::new(RateLimiter::direct(paced(rates.sts))),
        }
    }

    /// A token of `service`'s limiter for `key`, for a table's own call (a DynamoDB read is
    /// counted in `ddb_waiting` while it waits).
    async fn work_turn(&self, service: Service, ddb_waiting: &Busy, key: &(String, String)) {
        match service {
            Service::DynamoDb => self.dynamodb_turn(ddb_waiting, key).await,
            Service::DynamoDbMutating => wait_for_token(&self.dynamodb_mutating, key).await,
            Service::AutoScaling => wait_for_token(&self.autoscaling, key).await,
            Service::CloudWatch => wait_for_token(&self.cloudwatch, key).await,
            // AWS states this quota per account, not per region: one limiter for the account.
            Service::DynamoDbTags => {
                wait_for_token(&self.tags, &(key.0.clone(), String::new())).await
            }
            Service::Organizations => wait_for_token(&self.organizations, key).await,
            Service::Ec2 => wait_for_token(&self.ec2, key).await,
        }
    }

    /// A DynamoDB read token for a table's own call, counted in `waiting` while it waits.
    async fn dynamodb_turn(&self, waiting: &Busy, key: &(String, String)) {
        let _waiting = Waiting::new(waiting);
        wait_for_token(&self.dynamodb, key).await
    }

    /// A DynamoDB read token for a poll of a table waiting for ACTIVE. A poll takes the rate
    /// no table's own DynamoDB read is waiting for (`work`); while some wait, polls take turns
    /// with them within their share (1 / `POLL_SHARE` of the rate), so neither the tables
    /// being read nor those waiting to be seen ACTIVE are starved. The poll sleeps until a token
    /// could be its own, or until the last call of `work` stops waiting. It holds its `place`
    /// in the polls' order until it has a token or its share.
    async fn poll_turn(&self, work: &Busy, key: &(String, String), place: Place<'_>) {
        let (ddb, polls) = (&self.dynamodb, &self.polls);
        loop {
            let none_left = work.none_left.notified();
            tokio::pin!(none_left);
            none_left.as_mut().enable();
            let mut wait = None;
            if work.n.load(Ordering::Acquire) == 0 {
                match ddb.check_key(key) {
                    Ok(()) => return,
                    Err(rate) => wait = Some(rate.wait_time_from(ddb.clock().now())),
                }
            }
            let share = match polls.check_key(key) {
                Ok(()) => {
                    // In line with the work now: the next poll may look for its turn.
                    drop(place);
                    return self.dynamodb_turn(work, key).await;
                }
                Err(share) => share.wait_time_from(polls.clock().now()),
            };
            let wait = wait.map_or(share, |w| w.min(share));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = none_left => {}
            }
        }
    }
}

/// A value built once, by whichever task asks first; failures are kept too, so an account
/// whose role cannot be assumed costs one STS call, not one per table.
type Once<T> = Arc<tokio::sync::OnceCell<Result<T, AwsError>>>;

/// (account, role, region); `None` is the caller's own credentials.
type ClientKey = (String, Option<RoleSpec>, String);

/// Waits until `limiter` lets one request for `key` through. Sleeps on tokio's timer:
/// governor's own `until_key_ready` sleeps on a separate timer thread, and the cross-thread
/// wake-up per request cost more CPU than everything else ddb-fleet does.
async fn wait_for_token<K>(limiter: &DefaultKeyedRateLimiter<K>, key: &K)
where
    K: std::hash::Hash + Eq + Clone,
{
    wait_until_allowed(|| limiter.check_key(key), || limiter.clock().now()).await
}

/// Builds and caches clients. One per run.
pub struct ClientFactory {
    base: SdkConfig,
    settings: AwsSettings,
    limiters: Arc<Limiters>,
    update_times: Arc<UpdateTimes>,
    /// Per (role, account): the session is checked to be in the account it was assumed for.
    credentials: std::sync::Mutex<HashMap<(RoleSpec, String), Once<SharedCredentialsProvider>>>,
    clients: std::sync::Mutex<HashMap<ClientKey, Once<Arc<AccountRegion>>>>,
    caller: Once<CallerIdentity>,
    /// The run's stop: once requested, no request is sent and every wait ends.
    stop: Arc<Cancel>,
}

/// Who the base credentials are (STS GetCallerIdentity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
}

fn cell<K: std::hash::Hash + Eq, T>(
    map: &std::sync::Mutex<HashMap<K, Once<T>>>,
    key: K,
) -> Once<T> {
    map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default()
        .clone()
}

impl ClientFactory {
    /// Loads the base configuration (no AWS call is made here).
    pub async fn new(settings: AwsSettings) -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            // A stall (a busy machine) releases many requests at once and each opens its own
            // connection; kept idle, those held 20 to 60 MB at 10,000 tables. Steady traffic to
            // one endpoint reuses far fewer than this.
            .pool_max_idle_per_host(MAX_IDLE_CONNECTIONS)
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http.clone())
            // Control-plane answers are small JSON documents and every attempt has a timeout:
            // the per-request throughput monitor costs CPU (a few % per call) and adds nothing.
            .stalled_stream_protection(
                aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled(),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(settings.attempt_timeout)
                    .build(),
            );
        // Rows name their regions: the base region is only read from where the user set one
        // (AWS_REGION, AWS_DEFAULT_REGION, the profile), never asked of the instance metadata
        // service, which warns three times on every machine that is not an EC2 instance.
        let mut profile_region = aws_config::profile::ProfileFileRegionProvider::builder();
        if let Some(p) = &settings.profile {
            profile_region = profile_region.profile_name(p);
        }
        let region = aws_config::meta::region::RegionProviderChain::first_try(
            aws_config::environment::EnvironmentVariableRegionProvider::new(),
        )
        .or_else(profile_region.build());
        // Without one, a fixed region: given none, the credentials chain would still ask IMDS.
        let region = aws_config::meta::region::ProvideRegion::region(&region)
            .await
            .or(Some(Region::from_static("us-east-1")));
        loader = loader.region(region.clone());
        if let Some(p) = &settings.profile {
            // The option outranks the environment, as in the AWS CLI: the profile's own
            // credentials, not AWS_ACCESS_KEY_ID (which the SDK's default chain reads first).
            let conf = aws_config::provider_config::ProviderConfig::without_region()
                .with_http_client(http.clone())
                .with_region(region);
            let creds = aws_config::profile::ProfileFileCredentialsProvider::builder()
                .configure(&conf)
                .profile_name(p)
                .build();
            loader = loader.profile_name(p).credentials_provider(creds);
        }
        if let Some(e) = &settings.endpoint_url {
            loader = loader.endpoint_url(e);
        }
        let base = loader.load().await;
        let limiters = Arc::new(Limiters::new(&settings.rates));
        ClientFactory {
            base,
            settings,
            limiters,
            update_times: Default::default(),
            credentials: Default::default(),
            clients: Default::default(),
            caller: Default::default(),
            stop: Default::default(),
        }
    }

    /// The same factory, whose calls stop (are not sent, end their waits) once `stop` is
    /// requested.
    pub fn stopping_on(mut self, stop: Arc<Cancel>) -> Self {
        self.stop = stop;
        self
    }

    /// Who the caller's own credentials are (STS GetCallerIdentity, once per run; `region`
    /// is where to ask the first time).
    pub async fn caller_identity(&self, region: &str) -> Result<CallerIdentity, AwsError> {
        self.caller
            .get_or_init(|| async {
                if self.base.credentials_provider().is_none() {
                    return Err(AwsError::no_credentials());
                }
                let conf = self
                    .base
                    .to_builder()
                    .region(Region::new(region.to_string()))
                    .build();
                let out = aws_sdk_sts::Client::new(&conf)
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk(&e))?;
                match (out.account(), out.arn()) {
                    (Some(account), Some(arn)) => Ok(CallerIdentity {
                        account: account.to_string(),
                        arn: arn.to_string(),
                    }),
                    _ => Err(AwsError::new(
                        "NoAccount",
                        "GetCallerIdentity returned no account",
                        ErrorKind::Permanent,
                    )),
                }
            })
            .await
            .clone()
    }

    /// Credentials for a role (one AssumeRole, cached and refreshed before expiry), or the
    /// caller's own for `None`. Resolves them now, so an unassumable role fails early.
    async fn credentials(
        &self,
        role: Option<&RoleSpec>,
        account_id: &str,
        region: &str,
    ) -> Result<Option<SharedCredentialsProvider>, AwsError> {
        let Some(role) = role else {
            let Some(provider) = self.base.credentials_provider() else {
                return Err(AwsError::no_credentials());
            };
            return match provider.provide_credentials().await {
                Ok(_) => Ok(None),
                Err(e) => Err(AwsError::new(
                    "CredentialsError",
                    format!("cannot load the caller's credentials: {}", cause(&e)),
                    ErrorKind::Permanent,
                )
                .with_detail(
                    aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
                )),
            };
        };
        cell(&self.credentials, (role.clone(), account_id.to_string()))
            .get_or_init(|| async {
                let conf = self
                    .base
                    .to_builder()
                    .region(Region::new(region.to_string()))
                    .build();
                let provider = SharedCredentialsProvider::new(CachedCredentials {
                    sts: aws_sdk_sts::Client::new(&conf),
                    role: role.clone(),
                    session_name: self.settings.role_session_name.clone(),
                    cache: Default::default(),
                    sts_rate: self.limiters.sts.clone(),
                    retry: self.settings.retry,
                    account_id: account_id.to_string(),
                });
                match provider.provide_credentials().await {
                    Ok(_) => Ok(provider),
                    Err(e) => Err(AwsError::new(
                        "AssumeRoleFailed",
                        format!("cannot assume role {}: {}", role.role_arn, sts_cause(&e)),
                        ErrorKind::Permanent,
                    )
                    .with_detail(
                        aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
                    )),
                }
            })
            .await
            .clone()
            .map(Some)
    }

    /// The region the base configuration names (AWS_REGION, the profile), else us-east-1:
    /// where calls that may go to any region (DescribeRegions) are sent.
    pub fn home_region(&self) -> String {
        self.base
            .region()
            .map_or("us-east-1".to_string(), |r| r.to_string())
    }

    /// The caller's partition: from its ARN once known (STS GetCallerIdentity), else from
    /// the base configuration's region.
    pub fn partition(&self) -> Partition {
        self.caller
            .get()
            .and_then(|c| c.as_ref().ok())
            .and_then(|c| Partition::of_arn(&c.arn))
            .unwrap_or_else(|| Partition::of_region(&self.home_region()))
    }

    /// Reaches `account_id` through `role` (STS AssumeRole, once per account, cached and
    /// refreshed), building no client: whether the account can be worked on. Nothing is
    /// asked after a stop.
    pub async fn reach(&self, account_id: &str, role: Option<&RoleSpec>) -> Result<(), AwsError> {
        if self.stop.is_requested() {
            return Err(AwsError::interrupted());
        }
        let region = self.home_region();
        self.credentials(role, account_id, &region)
            .await
            .map(|_| ())
    }

    /// Sends a read made without the SDK (`attempt` makes and sends one) in `account_id` and
    /// `region` the way [`AccountRegion::call`] sends the SDK's: each attempt waits for
    /// `service`'s rate limiter and is given the run's attempt timeout, transient failures
    /// are retried with backoff, and nothing is sent once the run is asked to stop (an
    /// attempt in flight is abandoned then: it only reads).
    pub async fn call_raw<T, F, Fut>(
        &self,
        account_id: &str,
        region: &str,
        service: Service,
        mut attempt: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let key = (account_id.to_string(), region.to_string());
        let idle = Busy::default();
        let (key, idle) = (&key, &idle);
        let timeout = self.settings.attempt_timeout;
        let token = || self.limiters.work_turn(service, idle, key);
        let stop = &self.stop;
        let attempt = || {
            let sent = tokio::time::timeout(timeout, attempt());
            async move {
                tokio::select! {
                    answered = sent => match answered {
                        Ok(r) => r.map_err(Failure::Failed),
                        Err(_) => Err(Failure::Failed(AwsError::new(
                            "Timeout",
                            format!("no answer within {} s", timeout.as_secs_f64()),
                            ErrorKind::Transient,
                        ))),
                    },
                    _ = stop.requested() => Err(Failure::NotSent),
                }
            }
        };
        let policy = service.retry_policy(self.settings.retry);
        retrying(
            &self.stop,
            policy,
            OnBusy::Return,
            (account_id, region),
            token,
            attempt,
        )
        .await
        .result
    }

    /// An AWS Organizations client with the caller's own credentials; its calls go through
    /// [`AccountRegion::call`] with [`Service::Organizations`].
    pub fn organizations_client(&self, region: &str) -> aws_sdk_organizations::Client {
        let conf = self
            .base
            .to_builder()
            .region(Region::new(region.to_string()))
            .build();
        aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(&conf)
                .retry_config(RetryConfig::disabled())
                .interceptor(StopBeforeTransmit(self.stop.clone()))
                .build(),
        )
    }

    /// Credentials to sign a request in `account_id` with (the role's, cached, or the
    /// caller's own), and the endpoint a service named `service` (as in
    /// `AWS_ENDPOINT_URL_<SERVICE>`) is to be reached at, if one is configured.
    pub async fn signing(
        &self,
        account_id: &str,
        role: Option<&RoleSpec>,
        region: &str,
        service: &str,
    ) -> Result<(aws_credential_types::Credentials, Option<String>), AwsError> {
        let provider = match self.credentials(role, account_id, region).await? {
            Some(p) => p,
            None => self
                .base
                .credentials_provider()
                .ok_or_else(AwsError::no_credentials)?,
        };
        let creds = provider.provide_credentials().await.map_err(|e| {
            AwsError::new(
                "CredentialsError",
                format!("cannot load credentials: {}", cause(&e)),
                ErrorKind::Permanent,
            )
        })?;
        let endpoint = std::env::var(format!("AWS_ENDPOINT_URL_{}", service.to_uppercase()))
            .ok()
            .filter(|e| !e.is_empty())
            .or_else(|| self.base.endpoint_url().map(str::to_string));
        Ok((creds, endpoint))
    }

    /// Drops the clients of one (account, role, region) that will not be used again (a region
    /// where no table was found): across thousands of accounts and every enabled region, most
    /// hold no table, and their clients need not stay. Credentials stay cached per account.
    pub fn forget(&self, account_id: &str, role: Option<&RoleSpec>, region: &str) {
        let key = (account_id.to_string(), role.cloned(), region.to_string());
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
    }

    /// Clients for one (role, region), built once; a failure to get credentials is kept and
    /// returned to every table of that account and region.
    pub async fn account_region(
        &self,
        account_id: &str,
        role: Option<&RoleSpec>,
        region: &str,
    ) -> Result<Arc<AccountRegion>, AwsError> {
        let key = (account_id.to_string(), role.cloned(), region.to_string());
        cell(&self.clients, key)
            .get_or_init(|| async {
                // After a stop, no new account is reached (no AssumeRole).
                if self.stop.is_requested() {
                    return Err(AwsError::interrupted());
                }
                let creds = self.credentials(role, account_id, region).await?;
                let mut builder = self
                    .base
                    .to_builder()
                    .region(Region::new(region.to_string()));
                if let Some(p) = creds {
                    builder = builder.credentials_provider(p);
                }
                let conf = builder.build();
                // Our own retry loop decides what to retry (see aws::error); the SDK's is off.
                let stop = || StopBeforeTransmit(self.stop.clone());
                let ddb = aws_sdk_dynamodb::Client::from_conf(
                    aws_sdk_dynamodb::config::Builder::from(&conf)
                        .retry_config(RetryConfig::disabled())
                        .interceptor(stop())
                        .build(),
                );
                let aas = aws_sdk_applicationautoscaling::Client::from_conf(
                    aws_sdk_applicationautoscaling::config::Builder::from(&conf)
                        .retry_config(RetryConfig::disabled())
                        .interceptor(stop())
                        .build(),
                );
                let cw = aws_sdk_cloudwatch::Client::from_conf(
                    aws_sdk_cloudwatch::config::Builder::from(&conf)
                        .retry_config(RetryConfig::disabled())
                        .interceptor(stop())
                        .build(),
                );
                Ok(Arc::new(AccountRegion {
                    account_id: account_id.to_string(),
                    region: region.to_string(),
                    ddb,
                    aas,
                    cw,
                    limiters: self.limiters.clone(),
                    retry: self.settings.retry,
                    ddb_waiting: Busy::default(),
                    poll_order: Default::default(),
                    autoscaling_busy: Busy::default(),
                    update_times: self.update_times.clone(),
                    stop: self.stop.clone(),
                }))
            })
            .await
            .clone()
    }
}

/// The result of a call and how many attempts it took.
#[derive(Debug)]
pub struct Attempted<T> {
    pub result: Result<T, AwsError>,
    pub attempts: u32,
}

impl<T> Attempted<T> {
    /// The same attempts, with the success value mapped.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Attempted<U> {
        Attempted {
            result: self.result.map(f),
            attempts: self.attempts,
        }
    }
}

/// Whether `call` should also retry "busy" answers (ResourceInUse, ConcurrentUpdate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBusy {
    Retry,
    Return,
}

/// Clients for one account and region.
pub struct AccountRegion {
    pub account_id: String,
    pub region: String,
    pub ddb: aws_sdk_dynamodb::Client,
    pub aas: aws_sdk_applicationautoscaling::Client,
    pub cw: aws_sdk_cloudwatch::Client,
    limiters: Arc<Limiters>,
    retry: RetryPolicy,
    /// DynamoDB reads of tables' own work waiting for a token: polls give way to them.
    ddb_waiting: Busy,
    /// Polls take their turns the longest-waiting table first.
    poll_order: PollOrder,
    /// Auto Scaling calls waiting for a token or being sent.
    autoscaling_busy: Busy,
    /// The run's shortest update seen, shared by every account and region.
    pub(super) update_times: Arc<UpdateTimes>,
    /// The run's stop: no request is sent once it is requested.
    stop: Arc<Cancel>,
}

/// Whose turn a request takes: a table's own work on a service, or a poll of a table waited
/// for since `since` (DynamoDB's rate, after the work; the longest-waiting table first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    Work(Service),
    Poll { since: tokio::time::Instant },
}

/// Calls of one kind waiting for their token (or being sent); `none_left` wakes those waiting
/// for there to be none.
#[derive(Debug, Default)]
struct Busy {
    n: AtomicUsize,
    none_left: tokio::sync::Notify,
}

/// Counts a call in `Busy` while it lives.
struct Waiting<'a>(&'a Busy);

impl<'a> Waiting<'a> {
    fn new(b: &'a Busy) -> Self {
        b.n.fetch_add(1, Ordering::AcqRel);
        Waiting(b)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.0.n.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none_left.notify_waiters();
        }
    }
}

impl AccountRegion {
    fn key(&self) -> (String, String) {
        (self.account_id.clone(), self.region.clone())
    }

    /// Waits for a token of `service`'s limiter for this (account, region).
    pub async fn throttle(&self, service: Service) {
        self.limiters
            .work_turn(service, &self.ddb_waiting, &self.key())
            .await
    }

    /// No Auto Scaling call of this (account, region) is waiting for its turn or being sent.
    pub fn autoscaling_idle(&self) -> bool {
        self.autoscaling_busy.n.load(Ordering::Acquire) == 0
    }

    /// The jittered backoff before the `n`-th retry of a call (`n` from 1).
    pub fn backoff(&self, n: u32) -> Duration {
        self.retry.backoff(n)
    }

    /// Sends one request through the rate limiter, retrying transient failures (and busy
    /// ones if asked) with backoff, up to the policy's attempts.
    pub async fn call<T, E, F, Fut>(
        &self,
        service: Service,
        on_busy: OnBusy,
        send: F,
    ) -> Attempted<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.call_in_turn(Turn::Work(service), on_busy, send).await
    }

    /// [`Self::call`], each attempt taking `turn`'s token (a poll's, or a service's).
    pub async fn call_in_turn<T, E, F, Fut>(
        &self,
        turn: Turn,
        on_busy: OnBusy,
        mut send: F,
    ) -> Attempted<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let _busy = (turn == Turn::Work(Service::AutoScaling))
            .then(|| Waiting::new(&self.autoscaling_busy));
        let token = || async move {
            match turn {
                Turn::Work(service) => self.throttle(service).await,
                Turn::Poll { since } => {
                    let place = self.poll_order.turn(since).await;
                    self.limiters
                        .poll_turn(&self.ddb_waiting, &self.key(), place)
                        .await
                }
            }
        };
        let attempt = || {
            let sent = send();
            async move {
                sent.await.map_err(|e| {
                    if stopped_before_transmit(&e) {
                        return Failure::NotSent;
                    }
                    let err = AwsError::from_sdk(&e);
                    Failure::Failed(match turn == Turn::Work(Service::AutoScaling) {
                        true => err.from_autoscaling(),
                        false => err,
                    })
                })
            }
        };
        let policy = match turn {
            Turn::Work(service) => service.retry_policy(self.retry),
            Turn::Poll { .. } => self.retry,
        };
        let place = (self.account_id.as_str(), self.region.as_str());
        retrying(&self.stop, policy, on_busy, place, token, attempt).await
    }
}

/// Why one attempt of a call did not succeed.
enum Failure {
    /// The run's stop kept the request from being sent.
    NotSent,
    Failed(AwsError),
}

/// The retry loop every request takes: for each attempt, `token` (a rate limiter's leave) or
/// the run's stop, whichever comes first; then `attempt`, retried after a jittered backoff (a
/// sleep the stop ends) while it fails transiently (or busy, if asked), up to the policy's
/// attempts. After a stop nothing new is sent but the reads that record what was done
/// ([`super::finishing`]). `place` (account, region) is for the log.
async fn retrying<T, Tok, F, Fut>(
    stop: &Cancel,
    policy: RetryPolicy,
    on_busy: OnBusy,
    place: (&str, &str),
    mut token: impl FnMut() -> Tok,
    mut attempt: F,
) -> Attempted<T>
where
    Tok: Future<Output = ()>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let (account, region) = place;
    let mut attempts = 0;
    // An earlier attempt's answer was lost: what this call asked may have happened.
    let mut lost = false;
    let interrupted = |lost: bool| {
        let mut e = AwsError::interrupted();
        e.may_have_landed = lost;
        Err(e)
    };
    loop {
        // A stop ends the wait for a token, and is checked once more immediately before the
        // request is sent: after it, nothing new goes out but the reads that record what
        // was done.
        let stops = FINISHING.try_with(|_| ()).is_err();
        tokio::select! {
            biased;
            _ = stop.requested(), if stops => {}
            _ = token() => {}
        }
        if stops && stop.is_requested() {
            return Attempted {
                result: interrupted(lost),
                attempts,
            };
        }
        attempts += 1;
        // On the heap, and only while it is sent: an SDK request future is 5 to 6 KB
        // (measured for DescribeTable and UpdateTable), and inline it would size every
        // table task that is only waiting for a token.
        let mut err = match Box::pin(attempt()).await {
            Ok(v) => {
                return Attempted {
                    result: Ok(v),
                    attempts,
                }
            }
            Err(Failure::NotSent) => {
                return Attempted {
                    result: interrupted(lost),
                    attempts: attempts - 1,
                }
            }
            Err(Failure::Failed(e)) => e,
        };
        lost |= err.answer_lost();
        err.may_have_landed = lost;
        let again = match err.kind {
            ErrorKind::Transient => true,
            ErrorKind::Busy => on_busy == OnBusy::Retry,
            _ => false,
        };
        if !again || attempts >= policy.max_attempts {
            tracing::debug!(account = %account, region = %region, code = %err.code, attempts, "call failed");
            return Attempted {
                result: Err(err),
                attempts,
            };
        }
        tracing::debug!(account = %account, region = %region, code = %err.code, attempts, "retrying");
        stop.sleep(policy.backoff(attempts)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A runtime like ddb-fleet's on a two-core machine.
    fn two_threads() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    /// How many polls get a DynamoDB token in `window`, with (or without) tables' own calls
    /// asking for tokens all the while, at the default 20 per second.
    fn polls_served(with_work: bool, window: Duration) -> usize {
        two_threads().block_on(async {
            let limiters = Arc::new(Limiters::new(&Rates::default()));
            let waiting = Arc::new(Busy::default());
            let key = ("1".to_string(), "r".to_string());
            let end = tokio::time::Instant::now() + window;
            let work: Vec<_> = (0..if with_work { 4 } else { 0 })
                .map(|_| {
                    let (l, w, k) = (limiters.clone(), waiting.clone(), key.clone());
                    tokio::spawn(async move {
                        while tokio::time::Instant::now() < end {
                            l.dynamodb_turn(&w, &k).await;
                        }
                    })
                })
                .collect();
            let mut polls = 0;
            while tokio::time::Instant::now() < end {
                let order = PollOrder::default();
                let place = order.turn(tokio::time::Instant::now()).await;
                limiters.poll_turn(&waiting, &key, place).await;
                polls += 1;
            }
            for w in work {
                w.await.unwrap();
            }
            polls
        })
    }

    #[test]
    fn polls_give_way_to_work_but_take_the_rate_it_leaves() {
        let window = Duration::from_secs(2);
        // Work waiting all the time: polls get their share (a quarter of 20/s), no more.
        let shared = polls_served(true, window);
        assert!(shared <= 2 * 5 + 2, "{shared} polls in 2 s beside the work");
        // Nothing else waiting: polls take the free rate, well beyond their share.
        let alone = polls_served(false, window);
        assert!(alone > 2 * 5 + 2, "only {alone} polls in 2 s alone");
    }

    /// Regression: a poll kept its place in the polls' order while it waited among the work
    /// for its DynamoDB token, so polls went one at a time, below their share.
    #[test]
    fn a_poll_waiting_among_the_work_lets_the_next_poll_look_for_its_turn() {
        two_threads().block_on(async {
            let rates = Rates {
                dynamodb: NonZeroU32::MIN,
                ..Rates::default()
            };
            let limiters = Arc::new(Limiters::new(&rates));
            let work = Arc::new(Busy::default());
            let order = Arc::new(PollOrder::default());
            let key = ("1".to_string(), "r".to_string());
            // This second's DynamoDB token is taken, and a table's own call waits for the next.
            limiters.dynamodb.check_key(&key).unwrap();
            let _waiting = Waiting::new(&work);
            let since = tokio::time::Instant::now();
            let first = {
                let (l, w, o, k) = (limiters.clone(), work.clone(), order.clone(), key.clone());
                tokio::spawn(async move {
                    let place = o.turn(since).await;
                    l.poll_turn(&w, &k, place).await;
                })
            };
            // The first poll takes its share and waits among the work, for about a second.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let next = order.turn(since + Duration::from_secs(1));
            assert!(
                tokio::time::timeout(Duration::from_millis(400), next)
                    .await
                    .is_ok(),
                "the next poll waited for the first one's DynamoDB token"
            );
            assert!(!first.is_finished(), "the first poll was not held back");
        });
    }

    /// AWS limits ListTagsOfResource apart, per account: one rate for all the account's
    /// regions, not taken from DynamoDB's other reads.
    #[test]
    fn tag_reads_take_one_rate_per_account_apart_from_other_reads() {
        two_threads().block_on(async {
            let rates = Rates {
                dynamodb: NonZeroU32::MIN,
                tags: NonZeroU32::MIN,
                ..Rates::default()
            };
            let limiters = Limiters::new(&rates);
            let idle = Busy::default();
            let turn = |service, account: &str, region: &str| {
                let key = (account.to_string(), region.to_string());
                let limiters = &limiters;
                let idle = &idle;
                async move {
                    tokio::time::timeout(
                        Duration::from_millis(300),
                        limiters.work_turn(service, idle, &key),
                    )
                    .await
                }
            };
            assert!(turn(Service::DynamoDb, "1", "r").await.is_ok());
            assert!(
                turn(Service::DynamoDbTags, "1", "r").await.is_ok(),
                "tags waited for a read"
            );
            assert!(
                turn(Service::DynamoDbTags, "1", "other-region")
                    .await
                    .is_err(),
                "the account's tag rate is shared by its regions"
            );
            assert!(
                turn(Service::DynamoDbTags, "2", "r").await.is_ok(),
                "another account waited"
            );
        });
    }

    /// AWS counts DynamoDB's control-plane reads and its mutating calls against separate
    /// quotas: a switch does not wait behind reads that used up the second's read rate (and
    /// polls waiting for ACTIVE do not slow the switches), and each has its own rate.
    #[test]
    fn dynamodb_reads_and_changes_take_separate_rates() {
        two_threads().block_on(async {
            let rates = Rates {
                dynamodb: NonZeroU32::MIN,
                ..Rates::default()
            };
            let limiters = Limiters::new(&rates);
            let (idle, key) = (Busy::default(), ("1".to_string(), "r".to_string()));
            let turn = |service| {
                tokio::time::timeout(
                    Duration::from_millis(300),
                    limiters.work_turn(service, &idle, &key),
                )
            };
            assert!(turn(Service::DynamoDb).await.is_ok());
            assert!(turn(Service::DynamoDb).await.is_err(), "reads: 1 a second");
            assert!(
                turn(Service::DynamoDbMutating).await.is_ok(),
                "a change waited"
            );
            assert!(
                turn(Service::DynamoDbMutating).await.is_err(),
                "changes: 1 a second"
            );
        });
    }

    /// A factory whose attempts time out after `attempt_timeout`, stopping on `stop`.
    fn factory(attempt_timeout: Duration, stop: Arc<Cancel>) -> ClientFactory {
        let settings = AwsSettings {
            profile: None,
            endpoint_url: Some("http://127.0.0.1:9".into()),
            role_session_name: "test".into(),
            rates: Rates::default(),
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            },
            attempt_timeout,
        };
        two_threads()
            .block_on(ClientFactory::new(settings))
            .stopping_on(stop)
    }

    /// Regression: DescribeRegions (sent without the SDK) had no attempt timeout: a stalled
    /// connection hung the run. Each attempt now ends at the run's attempt timeout, and is
    /// retried like any transient failure.
    #[test]
    fn a_request_made_without_the_sdk_has_an_attempt_timeout() {
        let f = factory(Duration::from_millis(50), Arc::default());
        let attempts = AtomicUsize::new(0);
        let r: Result<(), AwsError> = two_threads().block_on(async {
            tokio::time::timeout(
                Duration::from_secs(20),
                f.call_raw("1", "us-east-1", Service::Ec2, || {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    std::future::pending()
                }),
            )
            .await
            .expect("the call outlasted its attempts' timeouts")
        });
        assert_eq!(r.unwrap_err().code, "Timeout");
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            3,
            "retried to the policy's attempts"
        );
    }

    /// Regression: DescribeRegions was sent after a stop, and its backoff slept through one.
    /// Nothing is sent once the run is asked to stop; a wait between attempts, or an attempt
    /// in flight, ends at the stop.
    #[test]
    fn a_request_made_without_the_sdk_ends_at_the_stop() {
        let stop = Arc::new(Cancel::default());
        stop.request();
        let f = factory(Duration::from_secs(600), stop);
        let attempts = AtomicUsize::new(0);
        let r: Result<(), AwsError> =
            two_threads().block_on(f.call_raw("1", "us-east-1", Service::Ec2, || {
                attempts.fetch_add(1, Ordering::SeqCst);
                async { Ok(()) }
            }));
        assert!(r.unwrap_err().is_interrupted());
        assert_eq!(attempts.load(Ordering::SeqCst), 0, "sent after the stop");

        for in_flight in [false, true] {
            let stop = Arc::new(Cancel::default());
            let mut factory = factory(Duration::from_secs(600), stop.clone());
            // A backoff of minutes (at least a second: its jitter is from 0).
            factory.settings.retry = RetryPolicy {
                max_attempts: 2,
                base_delay: Duration::from_secs(600),
                max_delay: Duration::from_secs(600),
            };
            let ended = two_threads().block_on(async {
                let asker = stop.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    asker.request();
                });
                tokio::time::timeout(
                    Duration::from_secs(20),
                    factory.call_raw("1", "us-east-1", Service::Ec2, || async move {
                        match in_flight {
                            true => std::future::pending().await,
                            false => Err::<(), _>(AwsError::new(
                                "Throttling",
                                "slow down",
                                ErrorKind::Transient,
                            )),
                        }
                    }),
                )
                .await
            });
            let r = ended.expect("the call went on after the stop");
            assert!(r.unwrap_err().is_interrupted(), "in flight: {in_flight}");
        }
    }

    /// Regression: Organizations took the generic budget (5 attempts from 250 ms): a few
    /// seconds of TooManyRequestsException aborted the whole run. Its own policy waits out
    /// a longer burst; other services keep the run's.
    #[test]
    fn organizations_waits_out_a_burst_of_throttling() {
        let run = RetryPolicy::default();
        let org = Service::Organizations.retry_policy(run);
        assert!(org.max_attempts >= 8 && org.base_delay >= Duration::from_secs(1));
        assert!(org.max_delay >= Duration::from_secs(20));
        assert_eq!(
            Service::DynamoDb.retry_policy(run).max_attempts,
            run.max_attempts
        );
        // Seven throttled answers, then the listing: within Organizations' attempts, beyond
        // the generic ones (the waits scaled down a thousandfold, to keep the test quick).
        let throttled_then_ok = |policy: RetryPolicy| {
            let policy = RetryPolicy {
                base_delay: policy.base_delay / 1000,
                max_delay: policy.max_delay / 1000,
                ..policy
            };
            let rt = two_threads();
            let answers = AtomicUsize::new(0);
            rt.block_on(retrying(
                &Cancel::default(),
                policy,
                OnBusy::Return,
                ("1", "us-east-1"),
                || async {},
                || {
                    let n = answers.fetch_add(1, Ordering::SeqCst);
                    async move {
                        match n < 7 {
                            true => Err(Failure::Failed(AwsError::from_code(
                                "TooManyRequestsException",
                                "AWS Organizations can't complete your request",
                                Some(400),
                            ))),
                            false => Ok(()),
                        }
                    }
                },
            ))
            .result
        };
        assert!(throttled_then_ok(org).is_ok());
        assert_eq!(
            throttled_then_ok(run).unwrap_err().code,
            "TooManyRequestsException"
        );
    }

    #[test]
    fn backoff_is_jittered_within_an_exponential_cap() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for attempt in 1..10 {
            let cap = (100u64 << (attempt - 1)).min(1000);
            for _ in 0..50 {
                assert!(p.backoff(attempt) <= Duration::from_millis(cap));
            }
        }
        // Jitter: 200 draws from 0..=1000 ms are not all equal.
        let draws: std::collections::HashSet<_> = (0..200).map(|_| p.backoff(9)).collect();
        assert!(draws.len() > 1);
    }
}
