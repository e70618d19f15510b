//! Which table a row names and how to reach it: `account_id` (an account, or many: `*`, an OU
//! or a root id), the role (`role_arn` or `role_name`, with `external_id`), `region` (a name,
//! or `*`: every region enabled in the account) and `table` (a name or a pattern).

use super::super::names::{
    is_pattern, parse_role_arn, suggest, valid_account_id, valid_region, valid_role_name,
    valid_table_name, KNOWN_REGIONS,
};
use super::RowValidator;
use crate::inventory::Limits;
use crate::model::RoleSpec;
use crate::org::{self, Scope};

impl RowValidator<'_> {
    /// The 12-digit account id, or (in an inventory) `*`, an OU id or a root id for many
    /// accounts; `""` for the single-table flags without one (the caller's own account,
    /// resolved later).
    pub(super) fn account_id(&mut self, require_account: bool) -> Option<String> {
        if !require_account && !self.row.fields.contains_key("account_id") {
            return Some(String::new());
        }
        match self.required_text("account_id", "account id") {
            Some(a) if valid_account_id(&a) => Some(a),
            Some(a) if require_account && (a == org::ALL || org::valid_parent_id(&a)) => Some(a),
            Some(a) if require_account => {
                self.error(
                    "account_id",
                    format!("`{a}` is not a 12-digit account id, `*`, an OU id or a root id"),
                    Some("an account id has 12 digits, an OU id is ou-xxxx-xxxxxxxx, a root id r-xxxx; `*` is every account of the organisation".into()),
                );
                None
            }
            Some(a) => {
                self.error(
                    "account_id",
                    format!("`{a}` is not a 12-digit AWS account id"),
                    None,
                );
                None
            }
            None => None,
        }
    }

    /// The role to assume, as an ARN (a `role_name` expands in the row's account), with its
    /// external id; `None` for the caller's own credentials (or when the role is wrong: the
    /// error is recorded).
    pub(super) fn role(&mut self, account_id: Option<&str>) -> Option<RoleSpec> {
        let role_arn = self.text("role_arn");
        let role_name = self.text("role_name");
        let external_id = self.text("external_id");
        let many = account_id.is_some_and(|a| Scope::of(a).needs_directory());
        let role = match (role_arn, role_name) {
            (Some(_), _) if many => {
                self.error(
                    "role_arn",
                    "a role_arn names one account, and this row is for many".into(),
                    Some("give role_name: the role of that name is assumed in each account".into()),
                );
                None
            }
            (None, None) if many => {
                self.error(
                    "role_name",
                    "a row for many accounts needs role_name".into(),
                    Some("the role of that name is assumed in each account".into()),
                );
                None
            }
            (Some(_), Some(_)) => {
                self.error(
                    "role_name",
                    "both role_arn and role_name are set".into(),
                    Some("give one of them".into()),
                );
                None
            }
            (Some(arn), None) => self.role_arn(arn, account_id),
            (None, Some(name)) => self.role_name(&name, account_id),
            (None, None) => None,
        };
        if let Some(ext) = &external_id {
            self.external_id(ext, role.is_some());
        }
        role.map(|role_arn| RoleSpec {
            role_arn,
            external_id,
        })
    }

    fn role_arn(&mut self, arn: String, account_id: Option<&str>) -> Option<String> {
        match parse_role_arn(&arn) {
            Ok(arn_account) => {
                if let Some(acct) = account_id {
                    if !acct.is_empty() && acct != arn_account {
                        self.error(
                            "role_arn",
                            format!("role_arn is in account {arn_account} but account_id is {acct}"),
                            Some("a role in another account would change the wrong tables: fix whichever is wrong".into()),
                        );
                    }
                }
                Some(arn)
            }
            Err(why) => {
                self.error(
                    "role_arn",
                    format!("`{arn}` is not an IAM role ARN: {why}"),
                    Some("expected arn:aws:iam::123456789012:role/NAME".into()),
                );
                None
            }
        }
    }

    fn role_name(&mut self, name: &str, account_id: Option<&str>) -> Option<String> {
        if !valid_role_name(name) {
            self.error(
                "role_name",
                format!("`{name}` is not a valid IAM role name"),
                Some("1 to 64 characters: letters, digits and +=,.@_-".into()),
            );
            return None;
        }
        match account_id {
            Some("") => {
                self.error(
                    "role_name",
                    "role_name needs an account id to expand into a role ARN".into(),
                    Some("use a full role ARN".into()),
                );
                None
            }
            Some(acct) => Some(RoleSpec::arn_in(acct, name)),
            None => None,
        }
    }

    fn external_id(&mut self, ext: &str, has_role: bool) {
        if !has_role && !self.row.fields.contains_key("role_arn") {
            self.error(
                "external_id",
                "external_id is set but no role is".into(),
                Some("set role_arn or role_name, or remove external_id".into()),
            );
        } else if !(2..=1224).contains(&ext.len())
            || !ext
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@:/-_".contains(c))
        {
            self.error(
                "external_id",
                "external_id must be 2 to 1224 characters of letters, digits and +=,.@:/-_".into(),
                None,
            );
        }
    }

    /// The row's region: a valid name, and one this release knows (or allowed by name with
    /// `--allow-region`, for a region newer than it), so a typo fails here, not later with a
    /// DNS error.
    pub(super) fn region(&mut self, limits: &Limits, require_account: bool) -> Option<String> {
        let region = self.required_text("region", "region");
        if let Some(r) = &region {
            if r == org::ALL_REGIONS && require_account {
                // Every region enabled in each account, as DescribeRegions answers there.
            } else if !valid_region(r) {
                let every = if require_account {
                    "; `*` is every region enabled in the account"
                } else {
                    ""
                };
                self.error(
                    "region",
                    format!("`{r}` is not an AWS region name"),
                    Some(format!(
                        "expected a name like us-east-1 or eu-central-2{every}"
                    )),
                );
            } else if !KNOWN_REGIONS.contains(&r.as_str()) && !limits.allowed_regions.contains(r) {
                let hint = match suggest(r, KNOWN_REGIONS) {
                    Some(k) => format!("did you mean {k}? A region newer than this release is allowed with --allow-region {r}"),
                    None => format!("a region newer than this release is allowed with --allow-region {r}"),
                };
                self.error(
                    "region",
                    format!("`{r}` is not a region DynamoDB serves"),
                    Some(hint),
                );
            }
        }
        region
    }

    /// The table's name, or (in an inventory) a pattern to expand through ListTables.
    pub(super) fn table(&mut self, patterns_allowed: bool) -> Option<String> {
        let table = self.required_text("table", "table name");
        let t = table.as_deref()?;
        if !is_pattern(t) {
            if !valid_table_name(t) {
                self.error(
                    "table",
                    format!("`{t}` is not a valid DynamoDB table name"),
                    Some("3 to 255 characters: letters, digits, _ - .".into()),
                );
            }
        } else if !patterns_allowed {
            self.error(
                "table",
                format!("`{t}` is a pattern; patterns are for inventories"),
                Some("name one table".into()),
            );
        } else if !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.*?".contains(c))
        {
            self.error(
                "table",
                format!("`{t}` is not a valid table name pattern"),
                Some("letters, digits, _ - . and the wildcards * and ?".into()),
            );
        }
        table
    }
}
