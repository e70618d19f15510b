//! Reading the organisation from AWS Organizations, once per run ([`load_directory`]): every
//! account under every root with its name, `State` and OU path, and the management account.
//! Organizations is throttled at low rates (a few requests per second per account): every
//! call takes a token of the run's own Organizations limiter and is retried with its own
//! patient backoff (`RetryPolicy::ORGANIZATIONS`), through [`AccountRegion::call`]. Its
//! endpoint is in the partition's global region (us-east-1 for the commercial regions).

use super::clients::{AccountRegion, ClientFactory, OnBusy, Service};
use super::error::AwsError;
use crate::org::{Directory, OrgAccount};
use std::collections::BTreeMap;

/// Items per page asked (the most each listing call allows).
const PAGE_SIZE: i32 = 20;

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
    let caller = factory
        .caller_identity(factory.partition().global_region)
        .await?;
    // Learnt from the caller's ARN now that it is known.
    let region = factory.partition().global_region;
    let ar = factory
        .account_region(&caller.account, None, region)
        .await?;
    let client = factory.organizations_client(region);
    let org = ar
        .call(Service::Organizations, OnBusy::Return, || {
            client.describe_organization().send()
        })
        .await
        .result?;
    let org_id = org.organization().and_then(|o| o.id()).unwrap_or_default();
    let management = org
        .organization()
        .and_then(|o| o.master_account_id())
        .map(str::to_string);
    tracing::info!(organization = %org_id, "reading the organisation's accounts");
    let mut todo = roots(&ar, &client).await?;
    let (mut accounts, mut parents) = (Vec::new(), BTreeMap::new());
    while let Some(p) = todo.pop() {
        parents.insert(p.id.clone(), p.above.len());
        let mut above = p.above.clone();
        above.push(p.id.clone());
        todo.extend(child_ous(&ar, &client, &p, &above).await?);
        accounts.extend(accounts_of(&ar, &client, &p, &above).await?);
    }
    Ok(Directory::new(accounts, parents).managed_by(management))
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
                client
                    .list_roots()
                    .max_results(PAGE_SIZE)
                    .set_next_token(token.clone())
                    .send()
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
                    .max_results(PAGE_SIZE)
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
                    .max_results(PAGE_SIZE)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page is asked, each with the token the one before gave, until a page gives none
    /// (or an empty one); an error of any page is the listing's.
    #[test]
    fn a_listing_follows_its_pages_to_the_last() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let asked = std::sync::Mutex::new(Vec::new());
        // Three pages; the last gives an empty token, as AWS may.
        let items = rt
            .block_on(all_pages(|token: Option<String>| {
                asked.lock().unwrap().push(token.clone());
                async move {
                    let n: usize = token.as_deref().map_or(0, |t| t.parse().unwrap());
                    let next = if n < 2 {
                        (n + 1).to_string()
                    } else {
                        String::new()
                    };
                    Ok((vec![n * 10, n * 10 + 1], Some(next)))
                }
            }))
            .unwrap();
        assert_eq!(items, [0, 1, 10, 11, 20, 21]);
        assert_eq!(
            *asked.lock().unwrap(),
            [None, Some("1".to_string()), Some("2".to_string())]
        );
        let failing = all_pages(|token: Option<String>| async move {
            match token {
                None => Ok((vec![1], Some("next".to_string()))),
                Some(_) => Err(AwsError::new(
                    "TooManyRequestsException",
                    "slow down",
                    crate::aws::ErrorKind::Transient,
                )),
            }
        });
        assert_eq!(
            rt.block_on(failing).unwrap_err().code,
            "TooManyRequestsException"
        );
    }
}
