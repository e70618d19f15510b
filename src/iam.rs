//! The least-privilege IAM policies ddb-fleet needs ([`policies`]), printed by
//! `ddb-fleet iam-policy`.

use serde_json::{json, Value};

/// Actions `plan`, `export` and `advise` need in each target account (`advise` reads usage
/// from CloudWatch).
pub const READ_ACTIONS: &[&str] = &[
    "dynamodb:DescribeTable",
    "dynamodb:ListTables",
    // Who manages a table (a CloudFormation stack, a --managed-tag) before it is changed.
    "dynamodb:ListTagsOfResource",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "cloudwatch:GetMetricData",
];

/// Further actions `apply` (and `rollback`) need.
pub const WRITE_ACTIONS: &[&str] = &[
    "dynamodb:UpdateTable",
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DeleteScalingPolicy",
    // Target tracking creates and deletes CloudWatch alarms on the caller's behalf.
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:DeleteAlarms",
];

/// What the caller needs to read the organisation (`--organization`, `--ou`, inventory rows
/// for many accounts): the accounts of every root and OU, with their names, states and OU
/// paths.
pub const ORGANIZATION_ACTIONS: &[&str] = &[
    "organizations:DescribeOrganization",
    "organizations:ListRoots",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
];

/// What the target role needs for `--region all` and `region = *` rows: the regions enabled
/// in its account.
pub const REGIONS_ACTIONS: &[&str] = &["ec2:DescribeRegions"];

/// Which optional parts a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Uses {
    /// Reads the organisation (rows or flags for many accounts).
    pub organization: bool,
    /// Reads each account's enabled regions (`*` regions).
    pub regions: bool,
}

/// A statement allowing `actions` on every resource.
fn allow_all(sid: &str, actions: &[&str]) -> Value {
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": "*"})
}

fn target_policy(write: bool, uses: Uses) -> Value {
    let mut statements = vec![json!({
        "Sid": "DdbFleetRead",
        "Effect": "Allow",
        "Action": READ_ACTIONS,
        "Resource": "*",
    })];
    if uses.regions {
        statements.push(allow_all("DdbFleetEnabledRegions", REGIONS_ACTIONS));
    }
    if write {
        statements.push(json!({
            "Sid": "DdbFleetApply",
            "Effect": "Allow",
            "Action": WRITE_ACTIONS,
            "Resource": "*",
        }));
        statements.push(json!({
            "Sid": "DdbFleetAutoScalingServiceLinkedRole",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": "arn:aws:iam::*:role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_DynamoDBTable",
            "Condition": {"StringLike": {"iam:AWSServiceName": "dynamodb.application-autoscaling.amazonaws.com"}},
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// The three policy documents: the target role's for `plan` and for `apply`, and the
/// caller's (sts:AssumeRole on `roles`, every role named `ddb-fleet` when none is given; a
/// row for many accounts names its role in every account, `arn:aws:iam::*:role/NAME`), with
/// what reading the organisation and the enabled regions needs where `uses` says so.
pub fn policies(roles: &[String], uses: Uses) -> Value {
    let resources: Vec<String> = if roles.is_empty() {
        vec!["arn:aws:iam::*:role/ddb-fleet".to_string()]
    } else {
        roles.to_vec()
    };
    let mut caller = vec![json!({
        "Sid": "DdbFleetAssumeTargetRoles",
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Resource": resources,
    })];
    if uses.organization {
        caller.push(allow_all("DdbFleetReadOrganization", ORGANIZATION_ACTIONS));
    }
    json!({
        "target_role_plan": target_policy(false, uses),
        "target_role_apply": target_policy(true, uses),
        "caller": {"Version": "2012-10-17", "Statement": caller},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_policy_is_read_only_and_apply_adds_writes() {
        let none = Uses {
            organization: false,
            regions: false,
        };
        let p = policies(&["arn:aws:iam::111111111111:role/x".into()], none);
        let plan = p["target_role_plan"]["Statement"].as_array().unwrap();
        assert_eq!(plan.len(), 1);
        for a in plan[0]["Action"].as_array().unwrap() {
            let a = a.as_str().unwrap();
            assert!(
                a.contains(":Describe") || a.contains(":List") || a.contains(":GetMetricData"),
                "{a}"
            );
        }
        let apply = p["target_role_apply"]["Statement"].as_array().unwrap();
        assert_eq!(apply.len(), 3);
        assert!(apply[1]["Action"]
            .as_array()
            .unwrap()
            .contains(&json!("dynamodb:UpdateTable")));
        assert_eq!(
            p["caller"]["Statement"][0]["Resource"],
            json!(["arn:aws:iam::111111111111:role/x"])
        );
        assert_eq!(p["caller"]["Statement"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn reading_the_organisation_and_its_regions_adds_their_permissions() {
        let all = Uses {
            organization: true,
            regions: true,
        };
        let p = policies(&[], all);
        let caller = &p["caller"]["Statement"][1];
        assert_eq!(caller["Action"], json!(ORGANIZATION_ACTIONS));
        for role in ["target_role_plan", "target_role_apply"] {
            assert_eq!(
                p[role]["Statement"][1]["Action"],
                json!(["ec2:DescribeRegions"])
            );
        }
    }
}
