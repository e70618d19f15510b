//! Who manages a table, from its tags ([`Ownership`]): a CloudFormation stack (CDK, SAM and
//! Amplify create tables through one) or a tag the user names (`--managed-tag KEY[=VALUE]`,
//! e.g. `managed-by=terraform`). A change made beside such an owner is reverted by its next
//! update (the stack puts back what its template says), so `advise` keeps those tables'
//! inventory rows as they are and `apply` skips them, unless `--include-managed`.
//!
//! Pure: the tags come from `aws::ops::read_owner`; what to do about an owner is the
//! planner's (`planner::leave_managed`) and `advise`'s.

use crate::model::Owner;

/// The tag CloudFormation puts on every resource of a stack (also `stack-id` and
/// `logical-id`; the name says the most).
pub const STACK_TAG: &str = "aws:cloudformation:stack-name";

/// One `--managed-tag`: a key, and the value it must have (any value when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedTag {
    pub key: String,
    pub value: Option<String>,
}

/// AWS's longest tag key and value (characters).
const MAX_KEY: usize = 128;
const MAX_VALUE: usize = 256;

/// Characters AWS allows in tag keys and values: letters, digits, spaces and `_ . : / = + - @`.
fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

impl std::str::FromStr for ManagedTag {
    type Err = String;

    /// `KEY` or `KEY=VALUE` (split at the first `=`; AWS allows `=` in values), checked
    /// against AWS's rules for tags.
    fn from_str(s: &str) -> Result<Self, String> {
        let (key, value) = match s.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (s, None),
        };
        if key.trim().is_empty() {
            return Err(format!(
                "`{s}` names no tag key: give KEY or KEY=VALUE, e.g. managed-by=terraform"
            ));
        }
        for (what, text, max) in [("key", Some(key), MAX_KEY), ("value", value, MAX_VALUE)] {
            let Some(text) = text else { continue };
            if text.chars().count() > max {
                return Err(format!(
                    "the tag {what} `{text}` is longer than AWS allows ({max} characters)"
                ));
            }
            if let Some(c) = text.chars().find(|c| !allowed(*c)) {
                return Err(format!(
                    "the tag {what} `{text}` holds `{c}`, which AWS does not allow in tags (letters, digits, spaces and _ . : / = + - @)"
                ));
            }
        }
        Ok(ManagedTag {
            key: key.to_string(),
            value: value.map(str::to_string),
        })
    }
}

impl std::fmt::Display for ManagedTag {
    /// As given: `KEY` or `KEY=VALUE`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={v}", self.key),
            None => f.write_str(&self.key),
        }
    }
}

impl ManagedTag {
    fn matches(&self, key: &str, value: &str) -> bool {
        self.key == key && self.value.as_deref().is_none_or(|v| v == value)
    }
}

/// What a run does about owners: which tags mark a managed table, and whether managed
/// tables are changed anyway (`--include-managed`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ownership {
    pub tags: Vec<ManagedTag>,
    pub include_managed: bool,
}

impl Ownership {
    /// The owner these tags (key, value) name: a stack first, then the first `--managed-tag`
    /// (in the order given) the table carries.
    pub fn owner_of(&self, tags: &[(String, String)]) -> Owner {
        if let Some((_, stack)) = tags.iter().find(|(k, _)| k == STACK_TAG) {
            return Owner::Stack(stack.clone());
        }
        self.tags
            .iter()
            .find_map(|rule| tags.iter().find(|(k, v)| rule.matches(k, v)))
            .map_or(Owner::None, |(k, v)| Owner::Tag(format!("{k}={v}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(tags: &[(&str, &str)]) -> Vec<(String, String)> {
        tags.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn rules(tags: &[&str]) -> Ownership {
        Ownership {
            tags: tags.iter().map(|t| t.parse().unwrap()).collect(),
            include_managed: false,
        }
    }

    #[test]
    fn a_stack_tag_names_the_stack_whatever_else_the_table_carries() {
        let tags = [
            ("managed-by", "terraform"),
            ("aws:cloudformation:logical-id", "OrdersTable"),
            ("aws:cloudformation:stack-name", "orders-prod"),
        ];
        let o = rules(&["managed-by"]).owner_of(&owned(&tags));
        assert_eq!(o, Owner::Stack("orders-prod".into()));
    }

    #[test]
    fn a_named_tag_matches_its_key_and_its_value_if_given() {
        let tags = [("team", "payments"), ("managed-by", "terraform")];
        let t = &owned(&tags);
        assert_eq!(
            rules(&["managed-by=terraform"]).owner_of(t),
            Owner::Tag("managed-by=terraform".into())
        );
        assert_eq!(
            rules(&["managed-by"]).owner_of(t),
            Owner::Tag("managed-by=terraform".into())
        );
        assert_eq!(rules(&["managed-by=pulumi"]).owner_of(t), Owner::None);
        assert_eq!(rules(&[]).owner_of(t), Owner::None);
        // The first rule given that matches names the owner.
        assert_eq!(
            rules(&["team", "managed-by"]).owner_of(t),
            Owner::Tag("team=payments".into())
        );
    }

    #[test]
    fn managed_tags_are_checked_as_aws_checks_tags() {
        let ok: ManagedTag = "managed-by=terraform".parse().unwrap();
        assert_eq!(ok.key, "managed-by");
        assert_eq!(ok.value.as_deref(), Some("terraform"));
        let key_only: ManagedTag = "owner".parse().unwrap();
        assert_eq!(key_only.value, None);
        let empty_value: ManagedTag = "iac=".parse().unwrap();
        assert_eq!(empty_value.value.as_deref(), Some(""));
        let eq_in_value: ManagedTag = "expr=a=b".parse().unwrap();
        assert_eq!(eq_in_value.value.as_deref(), Some("a=b"));
        for bad in ["", "=terraform", " =x", "managed#by", "k=v;w"] {
            assert!(bad.parse::<ManagedTag>().is_err(), "{bad} was accepted");
        }
        assert!("k".repeat(129).parse::<ManagedTag>().is_err());
        assert!(format!("k={}", "v".repeat(257))
            .parse::<ManagedTag>()
            .is_err());
    }
}
