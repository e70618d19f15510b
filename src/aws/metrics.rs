//! CloudWatch usage metrics of DynamoDB tables (namespace `AWS/DynamoDB`), read with
//! GetMetricData ([`get_metric_data`]): up to 500 queries per call, every `NextToken` page,
//! through the per-(account, region) CloudWatch rate limit and the retry loop of
//! [`AccountRegion::call`]. Counts what it asked for: CloudWatch bills per metric requested.

use super::clients::{AccountRegion, OnBusy, Service};
use super::error::AwsError;
use aws_sdk_cloudwatch::types as cw;
use aws_smithy_types::DateTime;

pub const CONSUMED_READ: &str = "ConsumedReadCapacityUnits";
pub const CONSUMED_WRITE: &str = "ConsumedWriteCapacityUnits";
pub const READ_THROTTLES: &str = "ReadThrottleEvents";
pub const WRITE_THROTTLES: &str = "WriteThrottleEvents";
pub const READ_CAP_THROTTLES: &str = "ReadMaxOnDemandThroughputThrottleEvents";
pub const WRITE_CAP_THROTTLES: &str = "WriteMaxOnDemandThroughputThrottleEvents";
pub const PROVISIONED_READ: &str = "ProvisionedReadCapacityUnits";
pub const PROVISIONED_WRITE: &str = "ProvisionedWriteCapacityUnits";

/// CloudWatch's statistics ddb-fleet asks for: `Sum` of consumed units and throttled requests,
/// `Average` of the provisioned capacity.
pub const SUM: &str = "Sum";
pub const AVERAGE: &str = "Average";

/// AWS's limit on queries in one GetMetricData call.
pub const QUERIES_PER_CALL: usize = 500;
/// AWS's largest page: datapoints in one GetMetricData answer.
pub const DATAPOINTS_PER_PAGE: usize = 100_800;

/// One metric of one table or GSI, a statistic over `period` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRequest {
    pub table: String,
    pub index: Option<String>,
    pub metric: &'static str,
    /// [`SUM`] or [`AVERAGE`].
    pub stat: &'static str,
    pub period: u32,
}

/// What GetMetricData answered, and what it cost.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Per request, in order: (period start, epoch seconds; Sum) in time order.
    pub series: Vec<Vec<(i64, f64)>>,
    /// GetMetricData calls made (pages included).
    pub calls: u64,
    /// Metrics requested, summed over calls (what CloudWatch bills, per 1,000).
    pub metrics: u64,
    pub datapoints: u64,
}

fn query(i: usize, r: &MetricRequest) -> cw::MetricDataQuery {
    // Dimensions in the order AWS publishes them (table, then index).
    let mut metric = cw::Metric::builder()
        .namespace("AWS/DynamoDB")
        .metric_name(r.metric)
        .dimensions(
            cw::Dimension::builder()
                .name("TableName")
                .value(&r.table)
                .build(),
        );
    if let Some(index) = &r.index {
        metric = metric.dimensions(
            cw::Dimension::builder()
                .name("GlobalSecondaryIndexName")
                .value(index)
                .build(),
        );
    }
    cw::MetricDataQuery::builder()
        .id(format!("m{i}"))
        .metric_stat(
            cw::MetricStat::builder()
                .metric(metric.build())
                .period(r.period as i32)
                .stat(r.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// CloudWatch GetMetricData for `requests` over [start, end) (epoch seconds, aligned to the
/// periods by the caller), oldest first, every page.
pub async fn get_metric_data(
    c: &AccountRegion,
    requests: &[MetricRequest],
    start: i64,
    end: i64,
) -> Result<Fetched, AwsError> {
    let mut fetched = Fetched {
        series: vec![Vec::new(); requests.len()],
        ..Fetched::default()
    };
    for (chunk_no, chunk) in requests.chunks(QUERIES_PER_CALL).enumerate() {
        let offset = chunk_no * QUERIES_PER_CALL;
        let queries: Vec<cw::MetricDataQuery> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| query(offset + i, r))
            .collect();
        let mut token: Option<String> = None;
        loop {
            let out = c
                .call(Service::CloudWatch, OnBusy::Retry, || {
                    c.cw.get_metric_data()
                        .set_metric_data_queries(Some(queries.clone()))
                        .start_time(DateTime::from_secs(start))
                        .end_time(DateTime::from_secs(end))
                        .scan_by(cw::ScanBy::TimestampAscending)
                        .set_next_token(token.clone())
                        .send()
                })
                .await
                .result?;
            fetched.calls += 1;
            fetched.metrics += queries.len() as u64;
            for r in out.metric_data_results() {
                let Some(i) = r
                    .id()
                    .and_then(|id| id.strip_prefix('m')?.parse::<usize>().ok())
                else {
                    continue;
                };
                let Some(slot) = fetched.series.get_mut(i) else {
                    continue;
                };
                fetched.datapoints += r.values().len() as u64;
                slot.extend(
                    r.timestamps()
                        .iter()
                        .map(|t| t.secs())
                        .zip(r.values().iter().copied()),
                );
            }
            match out.next_token() {
                Some(t) if Some(t) != token.as_deref() => token = Some(t.to_string()),
                _ => break,
            }
        }
    }
    for s in &mut fetched.series {
        // Ascending already; a page boundary can repeat a point: keep one per period.
        s.sort_by_key(|(t, _)| *t);
        s.dedup_by_key(|(t, _)| *t);
    }
    Ok(fetched)
}

/// How far back the starting capacity of a switch to provisioned looks (AWS's console: "the
/// past 30 minutes").
pub const RECENT_WINDOW_SECS: i64 = 30 * 60;

/// The peak consumption per second of the last 30 minutes of each table and GSI, reads and
/// writes (one GetMetricData call for up to 500 series, 1-minute Sums), for the starting
/// capacity of a switch to provisioned. Per table, in order: (dimension, peak).
pub async fn recent_peaks(
    c: &AccountRegion,
    tables: &[(&str, &crate::model::ObservedTable)],
    now: i64,
) -> Result<Vec<Vec<crate::model::RecentPeak>>, AwsError> {
    use crate::model::{RecentPeak, ScalingKey, Side};
    let end = now.div_euclid(60) * 60;
    let mut requests = Vec::new();
    let mut keys: Vec<(usize, ScalingKey)> = Vec::new();
    for (n, (table, o)) in tables.iter().enumerate() {
        let mut dims: Vec<ScalingKey> = Side::BOTH.iter().map(|s| ScalingKey::table(*s)).collect();
        for i in &o.indexes {
            dims.extend(Side::BOTH.iter().map(|s| ScalingKey::index(&i.name, *s)));
        }
        for key in dims {
            requests.push(MetricRequest {
                table: table.to_string(),
                index: key.index.clone(),
                metric: match key.side {
                    Side::Read => CONSUMED_READ,
                    Side::Write => CONSUMED_WRITE,
                },
                stat: SUM,
                period: 60,
            });
            keys.push((n, key));
        }
    }
    let fetched = get_metric_data(c, &requests, end - RECENT_WINDOW_SECS, end).await?;
    let mut out = vec![Vec::new(); tables.len()];
    for ((n, key), points) in keys.into_iter().zip(fetched.series) {
        let peak = points.iter().fold(0.0f64, |m, (_, v)| m.max(*v)) / 60.0;
        out[n].push(RecentPeak {
            key,
            per_second: peak,
        });
    }
    Ok(out)
}
