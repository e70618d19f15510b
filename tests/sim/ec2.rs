//! EC2's part of the simulator: DescribeRegions (EC2's Query protocol: a form POST, an XML
//! answer), and what AWS answers in a region the account has not enabled.
//!
//! As AWS does: regions launched before March 2019 need no opt-in; later ones are enabled only
//! once the account opts in. DescribeRegions answers the enabled regions (all of them, with
//! `AllRegions=true`), each with its `optInStatus`. In a region not enabled, EC2 answers
//! `AuthFailure` (HTTP 401) and DynamoDB, Application Auto Scaling and CloudWatch answer
//! `UnrecognizedClientException` ("The security token included in the request is invalid").

use super::Response;
use std::collections::{HashMap, HashSet};

/// Regions every account has.
pub const DEFAULT_REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

/// Regions an account must opt into.
pub const OPT_IN_REGIONS: &[&str] = &["af-south-1", "ap-east-1", "eu-south-1", "me-south-1"];

/// Whether `region` is enabled in `account`, given the (account, region) pairs opted into.
pub fn enabled(opted_in: &HashSet<(String, String)>, account: &str, region: &str) -> bool {
    !OPT_IN_REGIONS.contains(&region)
        || opted_in.contains(&(account.to_string(), region.to_string()))
}

/// EC2's answer to `form` in `account`.
pub(super) fn answer(
    form: &HashMap<String, String>,
    account: &str,
    opted_in: &HashSet<(String, String)>,
) -> Response {
    if form.get("Action").map(String::as_str) != Some("DescribeRegions") {
        return error(
            400,
            "InvalidAction",
            "The action is not valid for this web service.",
        );
    }
    let all = form.get("AllRegions").is_some_and(|v| v == "true");
    let mut items = String::new();
    for r in DEFAULT_REGIONS.iter().chain(OPT_IN_REGIONS) {
        let status = match (OPT_IN_REGIONS.contains(r), enabled(opted_in, account, r)) {
            (false, _) => "opt-in-not-required",
            (true, true) => "opted-in",
            (true, false) if all => "not-opted-in",
            (true, false) => continue,
        };
        items.push_str(&format!(
            "<item><regionName>{r}</regionName><regionEndpoint>ec2.{r}.amazonaws.com</regionEndpoint><optInStatus>{status}</optInStatus></item>"
        ));
    }
    Response {
        status: 200,
        content_type: "text/xml;charset=UTF-8",
        body: format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>sim</requestId><regionInfo>{items}</regionInfo></DescribeRegionsResponse>"
        )
        .into(),
    }
}

/// EC2's error document.
pub(super) fn error(status: u16, code: &str, message: &str) -> Response {
    Response {
        status,
        content_type: "text/xml;charset=UTF-8",
        body: format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>sim</RequestID></Response>"
        )
        .into(),
    }
}

/// What a service answers in a region the account has not enabled.
pub(super) fn not_enabled(service: &str, kind: &'static str) -> Response {
    match service {
        "ec2" => error(
            401,
            "AuthFailure",
            "AWS was not able to validate the provided access credentials",
        ),
        "cloudwatch" => super::cbor_error(
            400,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        _ => super::json_error(
            400,
            kind,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
    }
}
