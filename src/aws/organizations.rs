//! Reading the organisation from AWS Organizations, once per run ([`load_directory`]): every
//! account under every root with its name, `State` and OU path. Organizations is throttled at
//! low rates (a few requests per second per account): every call takes a token of the run's
//! own Organizations limiter and is retried with backoff, through [`AccountRegion::call`].

use super::clients::{AccountRegion, ClientFactory, OnBusy, Service};
use super::error::AwsError;
use crate::org::{Directory, OrgAccount};
use std::collections::BTreeSet;

/// The organisation's API is global; its endpoint is in us-east-1.
const ORGANIZATIONS_REGION: &str = "us-east-1";

/// An OU or root still to be listed: its id, the ids above it and its path of names.
struct Parent {
    id: String,
    above: Vec<String>,
    path: String,
}

/// The caller's organisation (the caller is its management account or a delegated
/// administrator). AWS calls: Organizations DescribeOrganization, ListRoots, then for each
/// root and OU ListOrganizationalUnitsForParent and ListAccountsForParent (all paginated).
pub async fn load_directory(factory: &ClientFactory) -> Result<Directory, AwsError> {
    let caller = factory.caller_identity(ORGANIZATIONS_REGION).await?;
    let ar = factory
        .account_region(&caller.account, None, ORGANIZATIONS_REGION)
        .await?;
    let client = factory.organizations_client(ORGANIZATIONS_REGION);
    let org = ar
        .call(Service::Organizations, OnBusy::Return, || {
            client.describe_organization().send()
        })
        .await
        .result?;
    let org_id = org.organization().and_then(|o| o.id()).unwrap_or_default();
    tracing::info!(organization = %org_id, "reading the organisation's accounts");
    let mut todo = roots(&ar, &client).await?;
    let (mut accounts, mut parents) = (Vec::new(), BTreeSet::new());
    while let Some(p) = todo.pop() {
        parents.insert(p.id.clone());
        let mut above = p.above.clone();
        above.push(p.id.clone());
        todo.extend(child_ous(&ar, &client, &p, &above).await?);
        accounts.extend(accounts_of(&ar, &client, &p, &above).await?);
    }
    Ok(Directory::new(accounts, parents))
}

/// Every page of a paginated Organizations listing: `page(token)` sends one request and
/// returns its items and next token.
async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, AwsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), AwsError>>,
{
    let (mut items, mut token) = (Vec::new(), None);
    loop {
        let (mut more, next) = page(token).await?;
        items.append(&mut more);
        match next {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(items),
        }
    }
}

async fn roots(
    ar: &AccountRegion,
    client: &aws_sdk_organizations::Client,
) -> Result<Vec<Parent>, AwsError> {
    all_pages(|token| async move {
        let out = ar
            .call(Service::Organizations, OnBusy::Return, || {
                client.list_roots().set_next_token(token.clone()).send()
            })
            .await
            .result?;
        let roots = out
            .roots()
            .iter()
            .filter_map(|r| {
                Some(Parent {
                    id: r.id()?.to_string(),
                    above: Vec::new(),
                    path: r.name().unwrap_or("Root").to_string(),
                })
            })
            .collect();
        Ok((roots, out.next_token().map(str::to_string)))
    })
    .await
}

async fn child_ous(
    ar: &AccountRegion,
    client: &aws_sdk_organizations::Client,
    parent: &Parent,
    above: &[String],
) -> Result<Vec<Parent>, AwsError> {
    all_pages(|token| async move {
        let out = ar
            .call(Service::Organizations, OnBusy::Return, || {
                client
                    .list_organizational_units_for_parent()
                    .parent_id(&parent.id)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .result?;
        let ous = out
            .organizational_units()
            .iter()
            .filter_map(|ou| {
                Some(Parent {
                    id: ou.id()?.to_string(),
                    above: above.to_vec(),
                    path: format!("{}/{}", parent.path, ou.name().unwrap_or_default()),
                })
            })
            .collect();
        Ok((ous, out.next_token().map(str::to_string)))
    })
    .await
}

async fn accounts_of(
    ar: &AccountRegion,
    client: &aws_sdk_organizations::Client,
    parent: &Parent,
    above: &[String],
) -> Result<Vec<OrgAccount>, AwsError> {
    all_pages(|token| async move {
        let out = ar
            .call(Service::Organizations, OnBusy::Return, || {
                client
                    .list_accounts_for_parent()
                    .parent_id(&parent.id)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .result?;
        let accounts = out
            .accounts()
            .iter()
            .filter_map(|a| {
                Some(OrgAccount {
                    id: a.id()?.to_string(),
                    name: a.name().unwrap_or_default().to_string(),
                    // `State`; an account without one (never on AWS today) is not worked on.
                    state: a.state().map_or("UNKNOWN", |s| s.as_str()).to_string(),
                    ou_path: parent.path.clone(),
                    parents: above.to_vec(),
                })
            })
            .collect();
        Ok((accounts, out.next_token().map(str::to_string)))
    })
    .await
}
