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

fn target_policy(write: bool) -> Value {
    let mut statements = vec![json!({
        "Sid": "DdbFleetRead",
        "Effect": "Allow",
        "Action": READ_ACTIONS,
        "Resource": "*",
    })];
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
/// caller's (sts:AssumeRole on `roles`; every role named `ddb-fleet` when none is given).
pub fn policies(roles: &[String]) -> Value {
    let resources: Vec<String> = if roles.is_empty() {
        vec!["arn:aws:iam::*:role/ddb-fleet".to_string()]
    } else {
        roles.to_vec()
    };
    json!({
        "target_role_plan": target_policy(false),
        "target_role_apply": target_policy(true),
        "caller": {
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DdbFleetAssumeTargetRoles",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": resources,
            }],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_policy_is_read_only_and_apply_adds_writes() {
        let p = policies(&["arn:aws:iam::111111111111:role/x".into()]);
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
    }
}
