//! The organisation as a run sees it ([`Directory`]): its accounts with their names, states and
//! OU paths, read once per run from AWS Organizations (`aws::organizations`), and which of them
//! a scope names ([`Scope`]: every account, an OU with its child OUs, or the root). Pure: no
//! AWS call here.

use serde::{Deserialize, Serialize};

/// What an inventory row's `account_id` (or a discovery flag) names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// One 12-digit account.
    Account(String),
    /// An OU (`ou-...`) with its child OUs, or a root (`r-...`: the whole organisation).
    Parent(String),
    /// `*`: every account of the organisation.
    All,
}

/// The `account_id` of a row for every account of the organisation.
pub const ALL: &str = "*";
/// The `region` of a row for every region enabled in each account.
pub const ALL_REGIONS: &str = "*";

impl Scope {
    /// The scope an `account_id` value names (not checked: see [`valid_parent_id`]).
    pub fn of(account_id: &str) -> Scope {
        if account_id == ALL {
            Scope::All
        } else if account_id.starts_with("ou-") || account_id.starts_with("r-") {
            Scope::Parent(account_id.to_string())
        } else {
            Scope::Account(account_id.to_string())
        }
    }

    /// How specific it is, most specific first: an account (0), an OU (1), a root or `*` (2:
    /// a root is the whole organisation). OUs are told apart by depth once the organisation
    /// is read ([`Directory::depth`]).
    pub fn rank(&self) -> u8 {
        match self {
            Scope::Account(_) => 0,
            Scope::Parent(p) if p.starts_with("ou-") => 1,
            Scope::Parent(_) | Scope::All => 2,
        }
    }

    /// Whether the organisation must be read to know its accounts.
    pub fn needs_directory(&self) -> bool {
        !matches!(self, Scope::Account(_))
    }
}

/// Whether `id` is an OU id (`ou-` + 4 to 32 + `-` + 8 to 32 lower-case letters or digits) or a
/// root id (`r-` + 4 to 32), as AWS Organizations writes them.
pub fn valid_parent_id(id: &str) -> bool {
    let word = |s: &str, min: usize| {
        (min..=32).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    if let Some(rest) = id.strip_prefix("r-") {
        return word(rest, 4);
    }
    match id.strip_prefix("ou-").and_then(|r| r.split_once('-')) {
        Some((root, ou)) => word(root, 4) && word(ou, 8),
        None => false,
    }
}

/// One account of the organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgAccount {
    pub id: String,
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, `PENDING_ACTIVATION`, `CLOSED` (the
    /// account's `State`; the retired `Status` is not read).
    pub state: String,
    /// The OUs from the root down, by name: `Root/payments/prod`.
    pub ou_path: String,
    /// The ids of the root and the OUs above the account, from the top.
    #[serde(skip)]
    pub parents: Vec<String>,
}

impl OrgAccount {
    /// Only active accounts can be worked on.
    pub fn is_active(&self) -> bool {
        self.state == "ACTIVE"
    }
}

/// The organisation's accounts, sorted by id (every shard of a run sees the same order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    pub accounts: Vec<OrgAccount>,
    /// Every root and OU id seen, with its depth (a root 0, its OUs 1, ...): a scope naming
    /// another is an error, not an empty set.
    pub parents: std::collections::BTreeMap<String, usize>,
    /// The management account (DescribeOrganization's `MasterAccountId`), when known.
    pub management: Option<String>,
}

impl Directory {
    /// Sorts the accounts by id.
    pub fn new(
        mut accounts: Vec<OrgAccount>,
        parents: std::collections::BTreeMap<String, usize>,
    ) -> Self {
        accounts.sort_by(|a, b| a.id.cmp(&b.id));
        accounts.dedup_by(|a, b| a.id == b.id);
        Directory {
            accounts,
            parents,
            management: None,
        }
    }

    /// The same, with its management account.
    pub fn managed_by(mut self, management: Option<String>) -> Self {
        self.management = management;
        self
    }

    /// How deep an OU or root is (a root 0): the deeper, the more specific.
    pub fn depth(&self, parent: &str) -> Option<usize> {
        self.parents.get(parent).copied()
    }

    /// The accounts `scope` names (active or not), by id; `None` when it names an OU or root
    /// the organisation does not have.
    pub fn members(&self, scope: &Scope) -> Option<Vec<&OrgAccount>> {
        match scope {
            Scope::All => Some(self.accounts.iter().collect()),
            Scope::Account(id) => Some(self.accounts.iter().filter(|a| &a.id == id).collect()),
            Scope::Parent(p) if self.parents.contains_key(p) => Some(
                self.accounts
                    .iter()
                    .filter(|a| a.parents.contains(p))
                    .collect(),
            ),
            Scope::Parent(_) => None,
        }
    }

    pub fn get(&self, id: &str) -> Option<&OrgAccount> {
        self.accounts
            .binary_search_by(|a| a.id.as_str().cmp(id))
            .ok()
            .map(|i| &self.accounts[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, state: &str, parents: &[&str]) -> OrgAccount {
        OrgAccount {
            id: id.into(),
            name: format!("n{id}"),
            state: state.into(),
            ou_path: String::new(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn scopes_and_their_rank() {
        assert_eq!(Scope::of("*"), Scope::All);
        assert_eq!(
            Scope::of("ou-ab12-cdef5678"),
            Scope::Parent("ou-ab12-cdef5678".into())
        );
        assert_eq!(Scope::of("r-ab12"), Scope::Parent("r-ab12".into()));
        assert_eq!(
            Scope::of("111122223333"),
            Scope::Account("111122223333".into())
        );
        assert!(Scope::of("111122223333").rank() < Scope::of("ou-ab12-cdef5678").rank());
        // A root is the whole organisation: no more specific than `*`, less than an OU.
        assert!(Scope::of("ou-ab12-cdef5678").rank() < Scope::of("r-ab12").rank());
        assert_eq!(Scope::of("r-ab12").rank(), Scope::of("*").rank());
        assert!(valid_parent_id("ou-ab12-cdef5678"));
        assert!(valid_parent_id("r-ab12"));
        for bad in [
            "ou-ab12",
            "ou-AB12-cdef5678",
            "r-a",
            "x-ab12",
            "ou--cdef5678",
        ] {
            assert!(!valid_parent_id(bad), "{bad}");
        }
    }

    #[test]
    fn an_ou_holds_the_accounts_of_its_child_ous() {
        let root = "r-ab12";
        let (ou, child) = ("ou-ab12-aaaaaaaa", "ou-ab12-bbbbbbbb");
        let d = Directory::new(
            vec![
                account("300000000000", "ACTIVE", &[root, ou, child]),
                account("100000000000", "ACTIVE", &[root]),
                account("200000000000", "SUSPENDED", &[root, ou]),
            ],
            [(root, 0), (ou, 1), (child, 2)]
                .iter()
                .map(|(s, d)| (s.to_string(), *d))
                .collect(),
        );
        let ids = |s: &Scope| -> Vec<String> {
            d.members(s).unwrap().iter().map(|a| a.id.clone()).collect()
        };
        assert_eq!(
            ids(&Scope::All),
            ["100000000000", "200000000000", "300000000000"]
        );
        assert_eq!(ids(&Scope::of(ou)), ["200000000000", "300000000000"]);
        assert_eq!(ids(&Scope::of(child)), ["300000000000"]);
        assert_eq!(ids(&Scope::of(root)).len(), 3);
        assert!(d.members(&Scope::of("ou-ab12-cccccccc")).is_none());
        assert_eq!(d.get("200000000000").unwrap().state, "SUSPENDED");
        assert_eq!((d.depth(ou), d.depth(child)), (Some(1), Some(2)));
    }
}
