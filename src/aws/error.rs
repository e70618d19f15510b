//! [`AwsError`]: one classified failure of an AWS call, the form errors take in the report.
//!
//! The SDK's own retries are disabled (see `aws::clients`): this module decides what is worth
//! retrying, because the SDK would retry DynamoDB's on-demand switch limit
//! (a `LimitExceededException` that cannot succeed within a run) and would not retry
//! `ResourceInUseException` or `ConcurrentUpdateException`, which we must wait out.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What the caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Throttling, 5xx, timeouts, dropped connections: back off and retry.
    Transient,
    /// The table (or auto scaling resource) is busy: wait for it and retry.
    Busy,
    /// DynamoDB refused a switch to on-demand: at most four per table per rolling 24 hours.
    SwitchLimit,
    /// DynamoDB refused a table-class change: at most two per table per trailing 30 days.
    TableClassLimit,
    /// DynamoDB refused a capacity decrease: per table (each GSI apart), four at any time in a
    /// UTC day, then one an hour. Final for this run; its message names the next time.
    DecreaseLimit,
    /// An account quota refused the call (Application Auto Scaling's scalable targets per
    /// region, policies per target): final for this run, until the quota is raised.
    Quota,
    /// The resource does not exist.
    NotFound,
    /// Credentials, permissions, validation: retrying will not help.
    #[default]
    Permanent,
}

/// A classified AWS failure. Never carries credentials: only AWS's code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsError {
    pub code: String,
    /// One line: AWS's message, or what went wrong (a connection refused, a timeout).
    pub message: String,
    pub retryable: bool,
    #[serde(skip)]
    pub kind: ErrorKind,
    /// The SDK's whole chain of causes, when `message` summarises it (for the report).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub detail: Option<String>,
    /// A write whose answer was lost on this or an earlier attempt (a timeout, a dropped
    /// connection, a 5xx) that nothing has shown did not land: it may have happened.
    #[serde(skip)]
    pub may_have_landed: bool,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "SlowDown",
    "PriorRequestNotComplete",
    "InternalServerError",
    "InternalServiceException",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

impl AwsError {
    pub fn new(code: impl Into<String>, message: impl Into<String>, kind: ErrorKind) -> Self {
        AwsError {
            code: code.into(),
            message: message.into(),
            // Whether a later run may succeed (the report's `retryable`, which `--resume`
            // follows); what the retry loop repeats within this run is decided by `kind`.
            retryable: !matches!(kind, ErrorKind::NotFound | ErrorKind::Permanent),
            kind,
            detail: None,
            may_have_landed: false,
        }
    }

    /// Whether the request may have reached AWS and been carried out although no answer says
    /// so: the answer was lost (a timeout, a broken connection, an unreadable answer) or AWS
    /// failed inside (5xx). A throttling answer or any other refusal is not such a case.
    pub fn answer_lost(&self) -> bool {
        matches!(
            self.code.as_str(),
            "Timeout" | "ConnectionError" | "ResponseError"
        ) || self.code.starts_with("Http5")
            || matches!(
                self.code.as_str(),
                "InternalServerError"
                    | "InternalFailure"
                    | "InternalServiceException"
                    | "ServiceUnavailable"
            )
    }

    /// The run was asked to stop before this call was sent (or while it waited).
    pub fn interrupted() -> Self {
        AwsError::new(
            "Interrupted",
            "the run was asked to stop before this call was sent",
            ErrorKind::Busy,
        )
    }

    /// Whether this is the run's stop, not AWS's answer.
    pub fn is_interrupted(&self) -> bool {
        self.code == "Interrupted"
    }

    /// No credentials could be found by any provider the SDK tries.
    pub fn no_credentials() -> Self {
        AwsError::new(
            "NoCredentials",
            "no AWS credentials found (environment, --profile / AWS_PROFILE, SSO, credential_process, container or instance role)",
            ErrorKind::Permanent,
        )
    }

    /// The same error, its whole chain of causes kept as `detail`.
    pub fn with_detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }

    /// Classifies a service's error code and message (and HTTP status, when known).
    pub fn from_code(code: &str, message: &str, status: Option<u16>) -> Self {
        let kind = if code == "LimitExceededException" && is_switch_limit_message(message) {
            ErrorKind::SwitchLimit
        } else if code == "LimitExceededException" && is_table_class_limit_message(message) {
            ErrorKind::TableClassLimit
        } else if code == "LimitExceededException" && is_decrease_limit_message(message) {
            ErrorKind::DecreaseLimit
        } else if code == "ResourceInUseException"
            || code == "ConcurrentUpdateException"
            || code == "LimitExceededException"
        {
            // The last: too many operations in progress in the account and region (AWS allows
            // 500 concurrent control-plane operations): they end; wait and send again.
            ErrorKind::Busy
        } else if code == "ResourceNotFoundException" || code == "ObjectNotFoundException" {
            ErrorKind::NotFound
        } else if THROTTLING_CODES.contains(&code)
            || status.is_some_and(|s| s == 429 || (500..600).contains(&s))
        {
            ErrorKind::Transient
        } else {
            ErrorKind::Permanent
        };
        AwsError::new(code, message, kind)
    }

    /// Classifies any SDK error. Errors without an AWS code (connection, timeout, bad
    /// response) are named by what went wrong.
    pub fn from_sdk<E>(err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let context = DisplayErrorContext(err).to_string();
        match err {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = err.code().map(str::to_string).unwrap_or_else(|| {
                    if (500..600).contains(&status) {
                        format!("Http{status}")
                    } else {
                        "UnknownServiceError".into()
                    }
                });
                // AWS's message; or, for an answer that is not AWS's (an HTML page from a proxy
                // or an emulator), its status and the start of its body, on one line. The
                // whole chain stays in `detail`.
                if let Some(message) = err.message() {
                    return AwsError::from_code(&code, message, Some(status));
                }
                let body = service.raw().body().bytes().unwrap_or_default();
                let body = String::from_utf8_lossy(body);
                let body: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
                let start: String = body.chars().take(200).collect();
                let message = match start.is_empty() {
                    true => format!("HTTP {status} with no AWS error in the answer"),
                    false => format!("HTTP {status}: {start}"),
                };
                AwsError::from_code(&code, &message, Some(status)).with_detail(context)
            }
            SdkError::TimeoutError(_) => AwsError::new(
                "Timeout",
                format!("timed out: {}", cause(err)),
                ErrorKind::Transient,
            )
            .with_detail(context),
            SdkError::DispatchFailure(d) => {
                let (code, kind) =
                    if context.contains("credentials") || context.contains("Credentials") {
                        ("CredentialsError", ErrorKind::Permanent)
                    } else if d.is_user() && !(d.is_io() || d.is_timeout()) {
                        ("DispatchError", ErrorKind::Permanent)
                    } else {
                        ("ConnectionError", ErrorKind::Transient)
                    };
                // The connection may fail after the request went out: say no answer came,
                // not that nothing was sent (a write may have landed).
                AwsError::new(code, format!("no answer: {}", cause(err)), kind).with_detail(context)
            }
            SdkError::ResponseError(_) => AwsError::new(
                "ResponseError",
                format!("the answer could not be read: {}", cause(err)),
                ErrorKind::Transient,
            )
            .with_detail(context),
            SdkError::ConstructionFailure(_) => {
                AwsError::new("RequestConstructionError", cause(err), ErrorKind::Permanent)
                    .with_detail(context)
            }
            _ => {
                AwsError::new("UnknownError", cause(err), ErrorKind::Permanent).with_detail(context)
            }
        }
    }

    /// The same error as Application Auto Scaling means it: its `LimitExceededException` is
    /// an account quota (too many scalable targets or policies), never a wait (its busy
    /// answer is `ConcurrentUpdateException`).
    pub fn from_autoscaling(mut self) -> Self {
        if self.code == "LimitExceededException" {
            self.kind = ErrorKind::Quota;
        }
        self
    }

    /// For auto scaling deletions: the thing is already gone. AWS answers
    /// ObjectNotFoundException; moto answers ValidationException "No scalable target found" /
    /// "No scaling policy found".
    pub fn is_already_absent(&self) -> bool {
        self.kind == ErrorKind::NotFound
            || (self.code == "ValidationException"
                && (self.message.contains("No scalable target found")
                    || self.message.contains("No scaling policy found")))
    }

    /// When AWS names it, the time from which the next switch to on-demand (or table-class
    /// change) is allowed ("... Next update can be made at <time>").
    pub fn next_change_allowed_at(&self) -> Option<String> {
        let (_, rest) = self
            .message
            .split_once("Next update can be made at")
            .or_else(|| self.message.split_once("Next decrease can be made at"))?;
        let t = rest.trim().trim_end_matches('.').trim();
        (!t.is_empty()).then(|| t.to_string())
    }
}

/// AWS does not publish the text of its refusal of a third table-class change in 30 days;
/// a `LimitExceededException` that speaks of the table class is taken as that refusal (the
/// limit on concurrent control-plane operations, the other LimitExceededException UpdateTable
/// answers, does not).
/// The innermost cause of an error, in one line: what a person needs to read (`connection
/// refused`), where the whole chain (`dispatch failure: io error: ... (os error 111)`) goes to
/// the report's `detail`.
pub fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    let text = inner.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.trim().chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "unknown error".into(),
    }
}

fn is_table_class_limit_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("tableclass") || m.contains("table class") || m.contains("table_class")
}

/// AWS's refusal of a capacity decrease: "Subscriber limit exceeded: Provisioned throughput
/// decreases are limited within a given UTC day. ... Next decrease can be made at ...".
fn is_decrease_limit_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("decreases are limited") || m.contains("next decrease")
}

fn is_switch_limit_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("payperrequest") || m.contains("pay_per_request") || m.contains("pay-per-request")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cause_is_the_innermost_error_on_one_line() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("dispatch failure: io error: error trying to connect")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::from_raw_os_error(111));
        assert_eq!(cause(&e), "connection refused");
    }

    #[test]
    fn table_class_limit_is_recognised_and_not_taken_for_other_limits() {
        let e = AwsError::from_code(
            "LimitExceededException",
            "Subscriber limit exceeded: Update to TableClass are limited to 2 times in 30 day(s). Last update at 2026-11-30T10:00:00Z. Next update can be made at 2026-12-20T10:00:00Z",
            Some(400),
        );
        assert_eq!(e.kind, ErrorKind::TableClassLimit);
        assert!(e.retryable);
        assert_eq!(
            e.next_change_allowed_at().as_deref(),
            Some("2026-12-20T10:00:00Z")
        );
        let e = AwsError::from_code(
            "LimitExceededException",
            "Too many concurrent control plane operations",
            Some(400),
        );
        assert_eq!(e.kind, ErrorKind::Busy);
    }

    /// AWS's text of the refusal (as seen in the wild): final for the run, the next time kept.
    #[test]
    fn a_decrease_refusal_is_its_own_limit_with_the_next_time() {
        let e = AwsError::from_code(
            "LimitExceededException",
            "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the first 4 decreases, each subsequent decrease in the same UTC day can be performed at most once every 3600 seconds. Number of decreases today: 4. Last decrease at Friday, December 4, 2026 8:14:16 AM UTC. Next decrease can be made at Friday, December 4, 2026 9:14:16 AM UTC",
            Some(400),
        );
        assert_eq!(e.kind, ErrorKind::DecreaseLimit);
        assert!(e.retryable, "a later run (--resume) may pass");
        assert_eq!(
            e.next_change_allowed_at().as_deref(),
            Some("Friday, December 4, 2026 9:14:16 AM UTC")
        );
        // Too many operations in progress stays a wait.
        let busy = AwsError::from_code(
            "LimitExceededException",
            "Too many concurrent control plane operations",
            Some(400),
        );
        assert_eq!(busy.kind, ErrorKind::Busy);
        // Application Auto Scaling's LimitExceededException is a quota, not a wait.
        let quota = AwsError::from_code("LimitExceededException", "too many targets", Some(400))
            .from_autoscaling();
        assert_eq!(quota.kind, ErrorKind::Quota);
        assert!(quota.retryable);
    }

    #[test]
    fn switch_limit_is_not_retried_but_other_limits_are() {
        let e = AwsError::from_code(
            "LimitExceededException",
            "Subscriber limit exceeded: Update to PayPerRequest mode are limited to 4 times in 1 day(s). Last update at Tue Nov 24 10:00:00 UTC 2026. Next update can be made at Wed Nov 25 10:00:00 UTC 2026",
            Some(400),
        );
        assert_eq!(e.kind, ErrorKind::SwitchLimit);
        assert!(
            e.retryable,
            "tomorrow's run may switch it (--resume takes it up)"
        );
        assert_eq!(
            e.next_change_allowed_at().as_deref(),
            Some("Wed Nov 25 10:00:00 UTC 2026")
        );

        let e = AwsError::from_code(
            "LimitExceededException",
            "Too many operations for a given subscriber",
            Some(400),
        );
        assert_eq!(e.kind, ErrorKind::Busy, "waited out, then sent again");
        assert!(e.retryable);
    }

    #[test]
    fn codes_are_classified() {
        let kind = |c: &str, s| AwsError::from_code(c, "m", Some(s)).kind;
        assert_eq!(kind("ThrottlingException", 400), ErrorKind::Transient);
        assert_eq!(kind("ResourceInUseException", 400), ErrorKind::Busy);
        assert_eq!(kind("ConcurrentUpdateException", 400), ErrorKind::Busy);
        assert_eq!(kind("ResourceNotFoundException", 400), ErrorKind::NotFound);
        assert_eq!(kind("AccessDeniedException", 400), ErrorKind::Permanent);
        assert_eq!(kind("ValidationException", 400), ErrorKind::Permanent);
        assert_eq!(kind("Whatever", 503), ErrorKind::Transient);
        assert_eq!(kind("Whatever", 429), ErrorKind::Transient);
    }

    #[test]
    fn already_absent_covers_aws_and_moto_answers() {
        assert!(
            AwsError::from_code("ObjectNotFoundException", "No scalable target", None)
                .is_already_absent()
        );
        assert!(AwsError::from_code(
            "ValidationException",
            "No scalable target found for service namespace: dynamodb",
            None
        )
        .is_already_absent());
        assert!(
            !AwsError::from_code("ValidationException", "bad min capacity", None)
                .is_already_absent()
        );
    }
}
