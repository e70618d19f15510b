//! The regions enabled in one account ([`enabled_regions`]): EC2 DescribeRegions, called in
//! that account with its role, answers each region with its `optInStatus`; a region is enabled
//! when it is `opt-in-not-required` or `opted-in`.
//!
//! One small signed request (EC2's Query protocol: a form POST, an XML answer) instead of the
//! EC2 SDK crate, which is one of the largest crates there is to compile for one call.

use super::clients::{ClientFactory, Service, CONNECT_TIMEOUT};
use super::error::{AwsError, ErrorKind};
use crate::model::RoleSpec;
use http_body_util::BodyExt;
use std::sync::OnceLock;
use std::time::SystemTime;

const BODY: &str = "Action=DescribeRegions&Version=2016-11-15";

/// The regions enabled in `account_id`, sorted, asked in the partition's global region (a
/// region every account has: asked in an opt-in region the account has not enabled, EC2
/// would answer AuthFailure). Through [`ClientFactory::call_raw`]: the rate limiter, the
/// attempt timeout, retries, and nothing sent after a stop. AWS calls: STS AssumeRole (once
/// per account, cached), EC2 DescribeRegions.
pub async fn enabled_regions(
    factory: &ClientFactory,
    account_id: &str,
    role: Option<&RoleSpec>,
) -> Result<Vec<String>, AwsError> {
    let partition = factory.partition();
    let region = partition.global_region;
    factory
        .call_raw(account_id, region, Service::Ec2, || async move {
            let (creds, endpoint) = factory.signing(account_id, role, region, "ec2").await?;
            let url = endpoint.unwrap_or_else(|| partition.endpoint("ec2", region));
            describe_regions(&url, region, creds)
                .await
                .map(|xml| parse_enabled(&xml))
        })
        .await
}

/// One HTTP client for the run's DescribeRegions calls (TLS by rustls, the system's roots).
fn http() -> Result<&'static Client, AwsError> {
    static CLIENT: OnceLock<Result<Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            // A connection not made within the SDK clients' connect timeout is a connection
            // error (retried); the attempt as a whole has the run's attempt timeout.
            let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
            tcp.enforce_http(false);
            tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
            let https = hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
                .map_err(|e| format!("cannot load the system's TLS roots: {e}"))?
                .https_or_http()
                .enable_http1()
                .wrap_connector(tcp);
            Ok(
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build(https),
            )
        })
        .as_ref()
        .map_err(|e| AwsError::new("HttpClient", e.clone(), ErrorKind::Permanent))
}

type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<bytes::Bytes>,
>;

/// Sends one signed DescribeRegions; the XML answer, or the error EC2 answered.
async fn describe_regions(
    url: &str,
    region: &str,
    creds: aws_credential_types::Credentials,
) -> Result<String, AwsError> {
    let url = format!("{}/", url.trim_end_matches('/'));
    let mut req = http::Request::post(&url)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(http_body_util::Full::new(bytes::Bytes::from_static(
            BODY.as_bytes(),
        )))
        .map_err(|e| AwsError::new("InvalidEndpoint", e.to_string(), ErrorKind::Permanent))?;
    sign(&mut req, &url, region, creds)?;
    let transient = |m: String| AwsError::new("RequestFailed", m, ErrorKind::Transient);
    let resp = http()?
        .request(req)
        .await
        .map_err(|e| transient(format!("EC2 DescribeRegions: {e}")))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| transient(format!("EC2 DescribeRegions: {e}")))?
        .to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    if status.is_success() {
        return Ok(text);
    }
    let code = tag(&text, "Code").unwrap_or_else(|| format!("HTTP{}", status.as_u16()));
    let message = tag(&text, "Message").unwrap_or_default();
    let kind = if status.is_server_error()
        || status.as_u16() == 429
        || code == "RequestLimitExceeded"
        || code == "Throttling"
    {
        ErrorKind::Transient
    } else {
        ErrorKind::Permanent
    };
    Err(AwsError::new(code, message, kind))
}

/// Signs `req` (SigV4, service `ec2`) with `creds`.
fn sign(
    req: &mut http::Request<http_body_util::Full<bytes::Bytes>>,
    url: &str,
    region: &str,
    creds: aws_credential_types::Credentials,
) -> Result<(), AwsError> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
    let failed = |e: String| AwsError::new("SigningFailed", e, ErrorKind::Permanent);
    let identity = creds.into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ec2")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| failed(e.to_string()))?
        .into();
    let headers = [(
        "content-type",
        "application/x-www-form-urlencoded; charset=utf-8",
    )];
    let signable = SignableRequest::new(
        "POST",
        url,
        headers.into_iter(),
        SignableBody::Bytes(BODY.as_bytes()),
    )
    .map_err(|e| failed(e.to_string()))?;
    let (instructions, _) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| failed(e.to_string()))?
        .into_parts();
    instructions.apply_to_request_http1x(req);
    Ok(())
}

/// The text of the first `<name>` element of `xml`.
fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim().to_string())
}

/// The enabled regions of a DescribeRegions answer (`regionInfo` items whose `optInStatus`
/// is `opt-in-not-required` or `opted-in`; an item without a status is enabled, as AWS
/// answered before opt-in regions existed), sorted.
fn parse_enabled(xml: &str) -> Vec<String> {
    let mut regions: Vec<String> = xml
        .split("<item>")
        .skip(1)
        .filter_map(|item| {
            let item = item.split("</item>").next()?;
            let name = tag(item, "regionName")?;
            let status = tag(item, "optInStatus");
            matches!(
                status.as_deref(),
                None | Some("opt-in-not-required") | Some("opted-in")
            )
            .then_some(name)
        })
        .collect();
    regions.sort();
    regions.dedup();
    regions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regions_not_needing_or_having_opted_in_are_enabled() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>x</requestId>
  <regionInfo>
    <item><regionName>us-east-1</regionName><regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>
    <item><regionName>af-south-1</regionName><regionEndpoint>ec2.af-south-1.amazonaws.com</regionEndpoint><optInStatus>not-opted-in</optInStatus></item>
    <item><regionName>ap-east-1</regionName><regionEndpoint>ec2.ap-east-1.amazonaws.com</regionEndpoint><optInStatus>opted-in</optInStatus></item>
  </regionInfo>
</DescribeRegionsResponse>"#;
        assert_eq!(parse_enabled(xml), ["ap-east-1", "us-east-1"]);
        let error = "<Response><Errors><Error><Code>AuthFailure</Code><Message>no</Message></Error></Errors></Response>";
        assert_eq!(tag(error, "Code").as_deref(), Some("AuthFailure"));
    }
}
