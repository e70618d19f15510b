//! Everything that talks to AWS. Nothing outside this module names an SDK type.
//!
//! - [`clients`]: configuration, credentials, rate limits, the retry loop.
//! - [`error`]: classification of failures into [`AwsError`].
//! - [`convert`]: SDK values into domain values (`model`), in one place.
//! - [`ops`]: reading a table's state and performing one planned action.
//! - [`metrics`]: CloudWatch usage metrics (GetMetricData).
//! - [`organizations`]: the organisation's accounts (AWS Organizations), once per run.
//! - [`partition`]: AWS partitions (ARNs, endpoints, global region).
//! - [`regions`]: the regions enabled in an account (EC2 DescribeRegions).
//! - [`poll_order`]: which waiting table's poll goes first.
//! - [`update_times`]: the shortest update seen, before which a wait need not poll.

pub mod clients;
pub mod convert;
mod credentials;
pub mod error;
pub mod metrics;
pub mod ops;
pub mod organizations;
pub mod partition;
pub mod poll_order;
pub mod profile;
pub mod regions;
pub mod retry;
mod stop;
pub mod update_times;

pub use clients::{AccountRegion, AwsSettings, CallerIdentity, ClientFactory, Rates};
pub use credentials::arn_account;
pub use error::{AwsError, ErrorKind};
pub use retry::RetryPolicy;
pub use stop::finishing;
