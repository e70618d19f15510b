//! AWS operations on tables: reading state (batched per account and region) and performing
//! one planned [`Action`]. Every request goes through [`AccountRegion::call`].

use super::clients::{AccountRegion, Attempted, OnBusy, Service, Turn};
use super::convert;
use super::error::{AwsError, ErrorKind};
use crate::cancel::Cancel;
use crate::model::*;
use crate::planner::{Action, TableUpdate, Throughput};
use aws_sdk_applicationautoscaling::types as aas;
use aws_sdk_dynamodb::types as ddb;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// At most this many ResourceIds per DescribeScalableTargets call (AWS's limit).
const RESOURCE_IDS_PER_CALL: usize = 50;

/// Up to this many resources, scaling policies are described per ResourceId; above it, the
/// whole `dynamodb` namespace is listed once (fewer calls for large groups).
const POLICIES_PER_RESOURCE_UP_TO: usize = 8;

/// AWS's largest pages: DescribeScalableTargets returns up to 50 per call,
/// DescribeScalingPolicies up to 10 (larger `MaxResults` are a ValidationException).
const TARGETS_PER_PAGE: i32 = 50;
const POLICIES_PER_PAGE: i32 = 10;

/// How long to wait for a table to become ACTIVE, and how often to look: every tenth of the
/// time waited so far, from `first_poll` to `max_poll`, so that ACTIVE is noticed within about
/// 10 % of the time waited (and within `first_poll` of it early on), while a table UPDATING
/// for minutes is polled a few times a minute.
#[derive(Debug, Clone, Copy)]
pub struct WaitPolicy {
    pub timeout: Duration,
    pub first_poll: Duration,
    pub max_poll: Duration,
    /// Before the first read: set after an UpdateTable AWS answered with the table UPDATING
    /// (a read at once would find it so).
    pub settle: Duration,
    /// The wait follows this run's UpdateTable: it learns from, and keeps to, the shortest
    /// update seen so far (`update_times`).
    pub after_update: bool,
}

/// Polls come every this fraction of the time waited so far.
const POLL_FRACTION: u32 = 10;

impl WaitPolicy {
    /// This policy for a table just read and found not ready: its first poll one interval
    /// later (at once, it would find the same).
    pub fn settled(self) -> Self {
        WaitPolicy {
            settle: self.first_poll,
            ..self
        }
    }

    /// This policy for a table this run has just updated (AWS answered UPDATING).
    pub fn after_update(self) -> Self {
        WaitPolicy {
            after_update: true,
            ..self.settled()
        }
    }
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            timeout: Duration::from_secs(900),
            first_poll: Duration::from_secs(1),
            max_poll: Duration::from_secs(20),
            settle: Duration::ZERO,
            after_update: false,
        }
    }
}

fn build_error(e: impl std::fmt::Display) -> AwsError {
    AwsError::new(
        "RequestConstructionError",
        e.to_string(),
        ErrorKind::Permanent,
    )
}

/// DynamoDB DescribeTable. `Ok(None)` when the table does not exist.
pub async fn describe_table(c: &AccountRegion, table: &str) -> Attempted<Option<ObservedTable>> {
    describe_in_turn(c, table, Turn::Work(Service::DynamoDb)).await
}

/// DescribeTable, taking `turn`'s token (a poll's while waiting for ACTIVE).
async fn describe_in_turn(
    c: &AccountRegion,
    table: &str,
    turn: Turn,
) -> Attempted<Option<ObservedTable>> {
    let a = c
        .call_in_turn(turn, OnBusy::Retry, || {
            c.ddb.describe_table().table_name(table).send()
        })
        .await;
    Attempted {
        attempts: a.attempts,
        result: match a.result {
            Ok(out) => Ok(out.table().map(convert::table)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        },
    }
}

/// Every item of a paginated listing. `fetch` gets the token of the page to read (`None` for
/// the first) and returns its items and the next token. A page holding nothing already seen
/// is skipped, and a page holding nothing new ends the listing: an emulator's pagination can
/// repeat itself, and this must stop rather than loop.
async fn all_pages<T, K, F, Fut>(mut fetch: F, key: impl Fn(&T) -> K) -> Result<Vec<T>, AwsError>
where
    K: std::hash::Hash + Eq,
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), AwsError>>,
{
    let mut seen = HashSet::new();
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let current = token.take();
        let (page, next) = fetch(current.clone()).await?;
        let size = page.len();
        let before = items.len();
        items.extend(page.into_iter().filter(|item| seen.insert(key(item))));
        match next {
            Some(next)
                if Some(&next) != current.as_ref() && (size == 0 || items.len() > before) =>
            {
                token = Some(next)
            }
            _ => return Ok(items),
        }
    }
}

/// DynamoDB ListTables, every page: the names of all tables in this account and region.
pub async fn list_tables(c: &AccountRegion) -> Result<Vec<String>, AwsError> {
    all_pages(
        |start| async move {
            let out = c
                .call(Service::DynamoDb, OnBusy::Retry, || {
                    c.ddb
                        .list_tables()
                        .set_exclusive_start_table_name(start.clone())
                        .limit(100)
                        .send()
                })
                .await
                .result?;
            let next = out.last_evaluated_table_name().map(str::to_string);
            Ok((out.table_names().to_vec(), next))
        },
        String::clone,
    )
    .await
}

/// Who manages the table (`ownership`'s reading of its tags): DynamoDB ListTagsOfResource on
/// its ARN, every page, at the account's tag rate. The tags not readable (AccessDenied without
/// `dynamodb:ListTagsOfResource`, throttled beyond the retries, the table gone since it was
/// described): `Owner::Unknown` with the reason. `Err` only when the run is stopping.
pub async fn read_owner(
    c: &AccountRegion,
    table: &str,
    observed: &ObservedTable,
    ownership: &crate::ownership::Ownership,
) -> Result<Owner, AwsError> {
    let arn = match &observed.arn {
        Some(arn) => arn.clone(),
        // DescribeTable gives TableArn; an emulator might not.
        None => {
            let partition = super::partition::Partition::of_region(&c.region).name;
            format!(
                "arn:{partition}:dynamodb:{}:{}:table/{table}",
                c.region, c.account_id
            )
        }
    };
    let arn = &arn;
    let tags = all_pages(
        |token| async move {
            let out = c
                .call(Service::DynamoDbTags, OnBusy::Retry, || {
                    c.ddb
                        .list_tags_of_resource()
                        .resource_arn(arn)
                        .set_next_token(token.clone())
                        .send()
                })
                .await
                .result?;
            let next = out.next_token().map(str::to_string);
            let tags = out
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            Ok((tags, next))
        },
        Clone::clone,
    )
    .await;
    match tags {
        Ok(tags) => Ok(ownership.owner_of(&tags)),
        Err(e) if e.is_interrupted() => Err(e),
        Err(e) => Ok(Owner::Unknown(format!("{}: {}", e.code, e.message))),
    }
}

/// Auto scaling of a set of tables, keyed by table name.
#[derive(Debug, Default)]
pub struct Scaling {
    pub targets: HashMap<String, Vec<ScalableTarget>>,
    pub policies: HashMap<String, Vec<ScalingPolicy>>,
}

/// The `dynamodb` namespace's scaling policies in one (account, region), listed at most once
/// and shared by every batch that needs them: a group read in several batches lists the
/// namespace once. A fresh one is needed to see changes made since.
#[derive(Default)]
pub struct NamespacePolicies {
    listing: tokio::sync::OnceCell<Result<Vec<aas::ScalingPolicy>, AwsError>>,
    /// List the namespace even for a small batch: the group as a whole is large.
    prefer: bool,
}

impl NamespacePolicies {
    /// For a group of `tables` tables read in several batches: above a few tables, listing
    /// the namespace once for the group beats a call per resource in each batch.
    pub fn for_group(tables: usize) -> Self {
        NamespacePolicies {
            listing: Default::default(),
            prefer: tables > POLICIES_PER_RESOURCE_UP_TO,
        }
    }
}

fn target_id(t: &aas::ScalableTarget) -> (String, aas::ScalableDimension) {
    (t.resource_id().to_string(), t.scalable_dimension().clone())
}

fn policy_id(p: &aas::ScalingPolicy) -> (String, aas::ScalableDimension, String) {
    (
        p.resource_id().to_string(),
        p.scalable_dimension().clone(),
        p.policy_name().to_string(),
    )
}

/// Every page of DescribeScalingPolicies, for one ResourceId or (`None`) the namespace.
async fn list_policies(
    c: &AccountRegion,
    resource_id: Option<&String>,
) -> Result<Vec<aas::ScalingPolicy>, AwsError> {
    all_pages(
        |token| async move {
            let out = c
                .call(Service::AutoScaling, OnBusy::Retry, || {
                    c.aas
                        .describe_scaling_policies()
                        .service_namespace(aas::ServiceNamespace::Dynamodb)
                        .set_resource_id(resource_id.cloned())
                        .max_results(POLICIES_PER_PAGE)
                        .set_next_token(token.clone())
                        .send()
                })
                .await
                .result?;
            let next = out.next_token().map(str::to_string);
            Ok((out.scaling_policies().to_vec(), next))
        },
        policy_id,
    )
    .await
}

/// Application Auto Scaling DescribeScalableTargets (ResourceIds filter, 50 per call) and
/// DescribeScalingPolicies for the resources that have a target (per ResourceId for a few,
/// else the whole `dynamodb` namespace, through `namespace`), paginated at AWS's largest page
/// sizes. Results are matched exactly on ResourceId and ScalableDimension: emulators match
/// ResourceId filters loosely.
pub async fn describe_scaling(
    c: &AccountRegion,
    resource_ids: &[String],
    namespace: &NamespacePolicies,
) -> Result<Scaling, AwsError> {
    let wanted: HashSet<&str> = resource_ids.iter().map(String::as_str).collect();
    let mut scaling = Scaling::default();
    let mut seen_targets = HashSet::new();
    for chunk in resource_ids.chunks(RESOURCE_IDS_PER_CALL) {
        let targets = all_pages(
            |token| async move {
                let out = c
                    .call(Service::AutoScaling, OnBusy::Retry, || {
                        c.aas
                            .describe_scalable_targets()
                            .service_namespace(aas::ServiceNamespace::Dynamodb)
                            .set_resource_ids(Some(chunk.to_vec()))
                            .max_results(TARGETS_PER_PAGE)
                            .set_next_token(token.clone())
                            .send()
                    })
                    .await
                    .result?;
                let next = out.next_token().map(str::to_string);
                Ok((out.scalable_targets().to_vec(), next))
            },
            target_id,
        )
        .await?;
        for t in targets {
            if !wanted.contains(t.resource_id()) || !seen_targets.insert(target_id(&t)) {
                continue;
            }
            if let Some((table, target)) = convert::scalable_target(&t) {
                scaling.targets.entry(table).or_default().push(target);
            }
        }
    }

    // A scaling policy exists only on a registered scalable target (PutScalingPolicy needs
    // one; DeregisterScalableTarget deletes its policies), so only resources with a target
    // can have policies: an on-demand fleet costs no policy reads at all.
    let registered: HashSet<&str> = seen_targets.iter().map(|(id, _)| id.as_str()).collect();
    let with_targets: Vec<&String> = resource_ids
        .iter()
        .filter(|id| registered.contains(id.as_str()))
        .collect();
    let mut owned = Vec::new();
    let policies: &[aas::ScalingPolicy] = if with_targets.is_empty()
        || (!namespace.prefer && with_targets.len() <= POLICIES_PER_RESOURCE_UP_TO)
    {
        for id in with_targets {
            owned.extend(list_policies(c, Some(id)).await?);
        }
        &owned
    } else {
        match namespace
            .listing
            .get_or_init(|| list_policies(c, None))
            .await
        {
            Ok(all) => all,
            Err(e) => return Err(e.clone()),
        }
    };
    let mut seen_policies = HashSet::new();
    for p in policies {
        // Emulators match ResourceId filters loosely: keep exact matches, once.
        if !wanted.contains(p.resource_id()) || !seen_policies.insert(policy_id(p)) {
            continue;
        }
        if let Some((table, policy)) = convert::scaling_policy(p) {
            scaling.policies.entry(table).or_default().push(policy);
        }
    }
    Ok(scaling)
}

/// The ResourceIds of a table and its GSIs.
pub fn resource_ids(table: &str, observed: &ObservedTable) -> Vec<String> {
    let mut ids = vec![ScalingKey::table(Side::Read).resource_id(table)];
    ids.extend(
        observed
            .indexes
            .iter()
            .map(|i| ScalingKey::index(&i.name, Side::Read).resource_id(table)),
    );
    ids
}

impl Scaling {
    /// Moves this table's targets and policies into its observed state.
    pub fn attach(&mut self, table: &str, observed: &mut ObservedTable) {
        observed.scalable_targets = self.targets.remove(table).unwrap_or_default();
        observed.scaling_policies = self.policies.remove(table).unwrap_or_default();
        observed.normalize();
    }
}

/// Completes DescribeTable's answers with their tables' auto scaling, read in one batch
/// (`describe_scaling`). If that read fails, every readable table takes its error: its state
/// is not known.
pub async fn attach_scaling(
    c: &AccountRegion,
    tables: Vec<(&str, &mut Result<ObservedTable, AwsError>)>,
    namespace: &NamespacePolicies,
) {
    // Tables whose ResourceIds fit one DescribeScalableTargets call are read together; a
    // listing that fails fails only the tables it was for.
    let sizes: Vec<usize> = tables
        .iter()
        .map(|(name, r)| r.as_ref().map_or(0, |o| resource_ids(name, o).len()))
        .collect();
    let mut tables = tables.into_iter();
    for n in chunk_lengths(&sizes, RESOURCE_IDS_PER_CALL) {
        attach_chunk(c, tables.by_ref().take(n).collect(), namespace).await;
    }
}

/// Consecutive chunks (their lengths) of items of these `sizes`, each adding up to at most
/// `max` (an item larger than `max` alone).
fn chunk_lengths(sizes: &[usize], max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut len, mut sum) = (0, 0);
    for &n in sizes {
        if len > 0 && sum + n > max {
            out.push(len);
            (len, sum) = (0, 0);
        }
        len += 1;
        sum += n;
    }
    if len > 0 {
        out.push(len);
    }
    out
}

/// [`attach_scaling`] of tables whose ResourceIds fit one call.
async fn attach_chunk(
    c: &AccountRegion,
    tables: Vec<(&str, &mut Result<ObservedTable, AwsError>)>,
    namespace: &NamespacePolicies,
) {
    let ids: Vec<String> = tables
        .iter()
        .filter_map(|(name, r)| r.as_ref().ok().map(|o| resource_ids(name, o)))
        .flatten()
        .collect();
    if ids.is_empty() {
        return;
    }
    match describe_scaling(c, &ids, namespace).await {
        Ok(mut s) => {
            for (name, r) in tables {
                if let Ok(o) = r {
                    s.attach(name, o);
                }
            }
        }
        Err(e) => {
            for (_, r) in tables {
                if r.is_ok() {
                    *r = Err(e.clone());
                }
            }
        }
    }
}

/// What performing an action came to, when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum Performed {
    Done,
    /// A wait for ACTIVE ended: the table as it then was (ready for an UpdateTable).
    Ready(Box<ObservedTable>),
    /// A deletion found nothing to delete (someone else removed it): the goal is met.
    AlreadyAbsent,
    /// An UpdateTable whose answer was lost (a retry met a refusal): reading the table showed
    /// the change had landed, so it was not sent again.
    ConfirmedByReading,
    /// An UpdateTable AWS accepted, answering that the table (or a GSI) is now UPDATING.
    Updating,
}

/// Table states that do not end in ACTIVE: waiting for them is pointless.
const NEVER_ACTIVE: &[&str] = &[
    "DELETING",
    "ARCHIVING",
    "ARCHIVED",
    "INACCESSIBLE_ENCRYPTION_CREDENTIALS",
];

/// The error for a table in a state that does not end in ACTIVE (being deleted, archived...):
/// nothing can be changed on it.
pub fn never_active(o: &ObservedTable) -> Option<AwsError> {
    NEVER_ACTIVE.contains(&o.status.as_str()).then(|| {
        AwsError::new(
            "TableNotUsable",
            format!("table is {}: it will not become ACTIVE", o.status),
            ErrorKind::Permanent,
        )
    })
}

/// One read of a table that is to be changed: `Ok(Ok(table))` when it and every GSI are
/// ready, `Ok(Err(what is not))` when not yet, an error when it never will be (missing,
/// being deleted, archived...).
fn classify(
    table: &str,
    read: Result<Option<ObservedTable>, AwsError>,
) -> Result<Result<ObservedTable, String>, AwsError> {
    match read? {
        None => Err(AwsError::new(
            "ResourceNotFoundException",
            format!("table {table} no longer exists"),
            ErrorKind::NotFound,
        )),
        Some(o) if o.is_active() => Ok(Ok(o)),
        Some(o) => match never_active(&o) {
            Some(e) => Err(e),
            None => Ok(Err(o.not_ready())),
        },
    }
}

/// Reads the table once, as part of its own work (the DynamoDB rate limit, not the polls'):
/// `Some` when it and every GSI are ready for an UpdateTable, `None` when it must be waited for.
pub async fn read_if_ready(c: &AccountRegion, table: &str) -> Attempted<Option<ObservedTable>> {
    let d = describe_table(c, table).await;
    Attempted {
        attempts: d.attempts,
        result: classify(table, d.result).map(Result::ok),
    }
}

/// Polls DescribeTable (through the rate limiter, with growing intervals) until the table and
/// every GSI are ACTIVE, and gives the table as it then was. Fails with `WaitTimeout` after
/// the policy's timeout and with `Interrupted` when the run is cancelled.
pub async fn wait_active(
    c: &AccountRegion,
    table: &str,
    wait: &WaitPolicy,
    cancel: &Cancel,
) -> Attempted<ObservedTable> {
    let started = tokio::time::Instant::now();
    let mut attempts = 0;
    let fail = |e, attempts| Attempted {
        result: Err(e),
        attempts,
    };
    cancel.sleep(wait.settle).await;
    let learn = wait.after_update.then_some(&*c.update_times);
    loop {
        if let Some(quiet) = learn.map(|t| t.quiet()) {
            cancel.sleep(quiet.saturating_sub(started.elapsed())).await;
        }
        // Polls give way to tables' own DynamoDB calls (see `Limiters::poll_turn`). Boxed:
        // between polls, a waiting table keeps only its timer.
        let d = Box::pin(describe_in_turn(c, table, Turn::Poll { since: started })).await;
        attempts += d.attempts;
        let status = match classify(table, d.result) {
            Err(e) => return fail(e, attempts),
            Ok(Ok(o)) => {
                if let Some(t) = learn {
                    t.record(started.elapsed());
                }
                return Attempted {
                    result: Ok(o),
                    attempts,
                };
            }
            Ok(Err(status)) => status,
        };
        let interval = (started.elapsed() / POLL_FRACTION)
            .clamp(wait.first_poll, wait.max_poll.max(wait.first_poll));
        if started.elapsed() + interval > wait.timeout {
            let message = format!(
                "not ACTIVE after {}s ({status}); raise --wait-timeout or run again later",
                wait.timeout.as_secs()
            );
            return fail(
                AwsError::new("WaitTimeout", message, ErrorKind::Busy),
                attempts,
            );
        }
        if cancel.is_requested() {
            let message =
                format!("run interrupted while waiting for the table to become ACTIVE ({status})");
            return fail(
                AwsError {
                    message,
                    ..AwsError::interrupted()
                },
                attempts,
            );
        }
        cancel.sleep(interval).await;
    }
}

fn throughput(t: Throughput) -> Result<ddb::ProvisionedThroughput, AwsError> {
    ddb::ProvisionedThroughput::builder()
        .read_capacity_units(t.read)
        .write_capacity_units(t.write)
        .build()
        .map_err(build_error)
}

fn dimension(key: &ScalingKey) -> aas::ScalableDimension {
    aas::ScalableDimension::from(key.dimension())
}

/// Performs one action on `table`. UpdateTable on a busy table waits for ACTIVE and tries
/// again (AWS answers ResourceInUseException while an update is in progress).
/// Each kind of action runs in an allocation of its own size: thousands of tables wait for
/// ACTIVE at once in a fleet run, and a wait should not reserve room for an UpdateTable.
pub async fn perform(
    c: &AccountRegion,
    table: &str,
    action: &Action,
    wait: &WaitPolicy,
    max_attempts: u32,
    cancel: &Cancel,
) -> Attempted<Performed> {
    let run: futures::future::BoxFuture<'_, Attempted<Performed>> = match action {
        Action::WaitForActive => Box::pin(async move {
            wait_active(c, table, wait, cancel)
                .await
                .map(|o| Performed::Ready(Box::new(o)))
        }),
        Action::UpdateTable(u) => Box::pin(update_table(c, table, u, wait, max_attempts, cancel)),
        Action::RegisterScalableTarget { key, min, max } => {
            Box::pin(register_target(c, table, key, *min, *max))
        }
        Action::PutScalingPolicy {
            key,
            policy_name,
            target_value,
            scale_in_cooldown,
            scale_out_cooldown,
            disable_scale_in,
        } => {
            let config = target_tracking(
                key,
                *target_value,
                *scale_in_cooldown,
                *scale_out_cooldown,
                *disable_scale_in,
            );
            match config {
                Ok(config) => Box::pin(put_policy(c, table, key, policy_name, config)),
                Err(e) => {
                    return Attempted {
                        result: Err(e),
                        attempts: 0,
                    }
                }
            }
        }
        Action::DeleteScalingPolicy { key, policy_name } => {
            Box::pin(async move { deletion(delete_policy(c, table, key, policy_name).await) })
        }
        Action::DeregisterScalableTarget { key } => {
            Box::pin(async move { deletion(deregister_target(c, table, key).await) })
        }
    };
    run.await
}

/// A deletion that found nothing to delete has met its goal.
fn deletion(a: Attempted<()>) -> Attempted<Performed> {
    Attempted {
        attempts: a.attempts,
        result: match a.result {
            Ok(()) => Ok(Performed::Done),
            Err(e) if e.is_already_absent() => Ok(Performed::AlreadyAbsent),
            Err(e) => Err(e),
        },
    }
}

/// An UpdateTable's parameters, in the SDK's types.
#[derive(Clone)]
struct UpdateRequest {
    mode: Option<ddb::BillingMode>,
    throughput: Option<ddb::ProvisionedThroughput>,
    gsi: Option<Vec<ddb::GlobalSecondaryIndexUpdate>>,
    on_demand: Option<ddb::OnDemandThroughput>,
    class: Option<ddb::TableClass>,
}

/// `OnDemandThroughput` for the sides `caps` sets (-1 removes a cap).
fn on_demand_throughput(caps: &OnDemandCaps) -> Option<ddb::OnDemandThroughput> {
    (!caps.is_unset()).then(|| {
        ddb::OnDemandThroughput::builder()
            .set_max_read_request_units(caps.read.map(Cap::to_aws))
            .set_max_write_request_units(caps.write.map(Cap::to_aws))
            .build()
    })
}

fn update_request(u: &TableUpdate) -> Result<UpdateRequest, AwsError> {
    let TableUpdate {
        billing_mode,
        provisioned_throughput,
        index_updates,
        caps,
        index_caps,
        table_class,
    } = u;
    // One `Update` per GSI, with its throughput or its maximum on-demand throughput.
    let mut names: Vec<&str> = index_updates.iter().map(|u| u.index.as_str()).collect();
    names.extend(index_caps.iter().map(|u| u.index.as_str()));
    names.sort_unstable();
    names.dedup();
    let mut gsi = Vec::new();
    for name in names {
        let pt = index_updates.iter().find(|u| u.index == name);
        let od = index_caps.iter().find(|u| u.index == name);
        let update = ddb::UpdateGlobalSecondaryIndexAction::builder()
            .index_name(name)
            .set_provisioned_throughput(pt.map(|u| throughput(u.throughput)).transpose()?)
            .set_on_demand_throughput(od.and_then(|u| on_demand_throughput(&u.caps)))
            .build()
            .map_err(build_error)?;
        gsi.push(
            ddb::GlobalSecondaryIndexUpdate::builder()
                .update(update)
                .build(),
        );
    }
    Ok(UpdateRequest {
        mode: billing_mode.map(|m| ddb::BillingMode::from(m.as_aws_str())),
        throughput: provisioned_throughput.map(throughput).transpose()?,
        gsi: (!gsi.is_empty()).then_some(gsi),
        on_demand: on_demand_throughput(caps),
        class: table_class.map(|c| ddb::TableClass::from(c.as_aws_str())),
    })
}

/// DynamoDB UpdateTable; a busy table (ResourceInUseException) is waited for and the update
/// sent again, within `max_attempts` in all.
async fn update_table(
    c: &AccountRegion,
    table: &str,
    update: &TableUpdate,
    wait: &WaitPolicy,
    max_attempts: u32,
    cancel: &Cancel,
) -> Attempted<Performed> {
    let request = match update_request(update) {
        Ok(request) => request,
        Err(e) => {
            return Attempted {
                result: Err(e),
                attempts: 0,
            }
        }
    };
    let mut attempts = 0;
    let (started, mut limited) = (Instant::now(), 0u32);
    // An attempt's answer was lost (here or in an earlier round): the update may have landed.
    let mut lost = false;
    loop {
        let a = c
            .call(Service::DynamoDbMutating, OnBusy::Return, || {
                let r = request.clone();
                c.ddb
                    .update_table()
                    .table_name(table)
                    .set_billing_mode(r.mode)
                    .set_provisioned_throughput(r.throughput)
                    .set_global_secondary_index_updates(r.gsi)
                    .set_on_demand_throughput(r.on_demand)
                    .set_table_class(r.class)
                    .send()
            })
            .await;
        attempts += a.attempts;
        let mut e = match a.result {
            Ok(out) => {
                let ready = out.table_description().map(convert::table);
                let performed = match ready {
                    Some(t) if t.is_active() => Performed::Done,
                    _ => Performed::Updating,
                };
                return Attempted {
                    result: Ok(performed),
                    attempts,
                };
            }
            Err(e) => e,
        };
        lost |= e.may_have_landed;
        if lost {
            // Refused after an answer was lost: read, once it is ACTIVE, whether it landed.
            // What cannot be decided (a stop, a timeout, the read failing) stays "may have".
            let landed = match cancel.is_requested() {
                true => None,
                false => {
                    let l = landed(c, table, update, wait, cancel).await;
                    attempts += l.attempts;
                    l.result.ok()
                }
            };
            match landed {
                Some(true) => {
                    return Attempted {
                        result: Ok(Performed::ConfirmedByReading),
                        attempts,
                    }
                }
                Some(false) => lost = false,
                None => {
                    e.may_have_landed = true;
                    return Attempted {
                        result: Err(e),
                        attempts,
                    };
                }
            }
        }
        e.may_have_landed = false;
        match e {
            // Too many operations in progress in the account and region: not this table's
            // doing; back off (as long as a table may take to become ACTIVE) and send again
            // (a stop ends the backoff, and the next attempt is not sent).
            e if e.code == "LimitExceededException"
                && e.kind == ErrorKind::Busy
                && started.elapsed() < wait.timeout
                && !cancel.is_requested() =>
            {
                limited += 1;
                cancel.sleep(c.backoff(limited)).await;
            }
            e if e.kind == ErrorKind::Busy && attempts < max_attempts && !cancel.is_requested() => {
                let w = wait_active(c, table, wait, cancel).await;
                attempts += w.attempts;
                if let Err(e) = w.result {
                    return Attempted {
                        result: Err(e),
                        attempts,
                    };
                }
            }
            e => {
                return Attempted {
                    result: Err(e),
                    attempts,
                }
            }
        }
    }
}

/// Whether `update` holds on the table, as read once it is ACTIVE again.
async fn landed(
    c: &AccountRegion,
    table: &str,
    update: &TableUpdate,
    wait: &WaitPolicy,
    cancel: &Cancel,
) -> Attempted<bool> {
    wait_active(c, table, wait, cancel)
        .await
        .map(|o| crate::planner::update_holds(&o, update))
}

/// Application Auto Scaling RegisterScalableTarget.
async fn register_target(
    c: &AccountRegion,
    table: &str,
    key: &ScalingKey,
    min: i64,
    max: i64,
) -> Attempted<Performed> {
    let rid = key.resource_id(table);
    let a = c
        .call(Service::AutoScaling, OnBusy::Retry, || {
            c.aas
                .register_scalable_target()
                .service_namespace(aas::ServiceNamespace::Dynamodb)
                .resource_id(&rid)
                .scalable_dimension(dimension(key))
                .min_capacity(min as i32)
                .max_capacity(max as i32)
                .send()
        })
        .await;
    a.map(|_| Performed::Done)
}

/// A target-tracking configuration on `key`'s predefined metric.
fn target_tracking(
    key: &ScalingKey,
    target_value: f64,
    scale_in_cooldown: Option<i32>,
    scale_out_cooldown: Option<i32>,
    disable_scale_in: Option<bool>,
) -> Result<aas::TargetTrackingScalingPolicyConfiguration, AwsError> {
    let metric = aas::PredefinedMetricSpecification::builder()
        .predefined_metric_type(aas::MetricType::from(key.predefined_metric()))
        .build()
        .map_err(build_error)?;
    aas::TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(target_value)
        .predefined_metric_specification(metric)
        .set_scale_in_cooldown(scale_in_cooldown)
        .set_scale_out_cooldown(scale_out_cooldown)
        .set_disable_scale_in(disable_scale_in)
        .build()
        .map_err(build_error)
}

/// Application Auto Scaling PutScalingPolicy (creates, or updates by name).
async fn put_policy(
    c: &AccountRegion,
    table: &str,
    key: &ScalingKey,
    policy_name: &str,
    config: aas::TargetTrackingScalingPolicyConfiguration,
) -> Attempted<Performed> {
    let rid = key.resource_id(table);
    let a = c
        .call(Service::AutoScaling, OnBusy::Retry, || {
            c.aas
                .put_scaling_policy()
                .policy_name(policy_name)
                .service_namespace(aas::ServiceNamespace::Dynamodb)
                .resource_id(&rid)
                .scalable_dimension(dimension(key))
                .policy_type(aas::PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(config.clone())
                .send()
        })
        .await;
    a.map(|_| Performed::Done)
}

/// Application Auto Scaling DeleteScalingPolicy.
async fn delete_policy(
    c: &AccountRegion,
    table: &str,
    key: &ScalingKey,
    policy_name: &str,
) -> Attempted<()> {
    let rid = key.resource_id(table);
    c.call(Service::AutoScaling, OnBusy::Retry, || {
        c.aas
            .delete_scaling_policy()
            .policy_name(policy_name)
            .service_namespace(aas::ServiceNamespace::Dynamodb)
            .resource_id(&rid)
            .scalable_dimension(dimension(key))
            .send()
    })
    .await
    .map(|_| ())
}

/// Application Auto Scaling DeregisterScalableTarget (AWS deletes its policies with it).
async fn deregister_target(c: &AccountRegion, table: &str, key: &ScalingKey) -> Attempted<()> {
    let rid = key.resource_id(table);
    c.call(Service::AutoScaling, OnBusy::Retry, || {
        c.aas
            .deregister_scalable_target()
            .service_namespace(aas::ServiceNamespace::Dynamodb)
            .resource_id(&rid)
            .scalable_dimension(dimension(key))
            .send()
    })
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pages(
        script: Vec<(Vec<u32>, Option<&'static str>)>,
    ) -> (Result<Vec<u32>, AwsError>, usize) {
        let calls = std::cell::Cell::new(0);
        let r = all_pages(
            |_token| {
                let page = script[calls.get().min(script.len() - 1)].clone();
                calls.set(calls.get() + 1);
                async move { Ok((page.0, page.1.map(str::to_string))) }
            },
            |n: &u32| *n,
        )
        .await;
        (r, calls.get())
    }

    /// Regression: one failed DescribeScalableTargets in a read-back of 100 tables failed all
    /// 100; tables are now listed in chunks that fit one call, each failing alone.
    #[test]
    fn tables_are_listed_in_chunks_that_fit_one_call() {
        assert_eq!(chunk_lengths(&[3; 34], 50), vec![16, 16, 2]);
        assert_eq!(chunk_lengths(&[1, 60, 1], 50), vec![1, 1, 1]);
        assert_eq!(chunk_lengths(&[0, 0, 50, 1], 50), vec![3, 1]);
        assert!(chunk_lengths(&[], 50).is_empty());
    }

    #[tokio::test]
    async fn pagination_reads_every_page_and_stops_when_a_listing_repeats() {
        let (r, calls) = pages(vec![
            (vec![1, 2], Some("a")),
            (vec![3], Some("b")),
            (vec![4], None),
        ])
        .await;
        assert_eq!((r.unwrap(), calls), (vec![1, 2, 3, 4], 3));
        // An emulator that serves the second page forever: stop, keep everything once.
        let (r, calls) = pages(vec![
            (vec![1, 2], Some("a")),
            (vec![3, 4], Some("b")),
            (vec![3, 4], Some("b")),
        ])
        .await;
        assert_eq!((r.unwrap(), calls), (vec![1, 2, 3, 4], 3));
        // An empty page with a token is not the end.
        let (r, calls) = pages(vec![(vec![], Some("a")), (vec![7], None)]).await;
        assert_eq!((r.unwrap(), calls), (vec![7], 2));
        // Empty pages that hand back the same token forever: stop.
        let (r, calls) = pages(vec![
            (vec![1], Some("a")),
            (vec![], Some("b")),
            (vec![], Some("b")),
        ])
        .await;
        assert_eq!((r.unwrap(), calls), (vec![1], 3));
    }
}
