"""Creates the demo fleet of inventories/example.toml in a local moto server.

Three accounts (reached by AssumeRole, as ddb-fleet does), two regions, tables in mixed
starting states. Reads the endpoint from AWS_ENDPOINT_URL.
"""
import os

import boto3

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]


def clients(account, region):
    sts = boto3.client("sts", endpoint_url=ENDPOINT, region_name=region)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/ddb-fleet", RoleSessionName="demo-setup"
    )["Credentials"]
    kw = dict(
        endpoint_url=ENDPOINT,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    return boto3.client("dynamodb", **kw), boto3.client("application-autoscaling", **kw)


def table(ddb, name, provisioned=None, gsis=()):
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    kw = {}
    if gsis:
        attrs.append({"AttributeName": "gk", "AttributeType": "S"})
        kw["GlobalSecondaryIndexes"] = [
            {
                "IndexName": g,
                "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                **(
                    {"ProvisionedThroughput": {"ReadCapacityUnits": provisioned, "WriteCapacityUnits": provisioned}}
                    if provisioned
                    else {}
                ),
            }
            for g in gsis
        ]
    if provisioned:
        kw["BillingMode"] = "PROVISIONED"
        kw["ProvisionedThroughput"] = {"ReadCapacityUnits": provisioned, "WriteCapacityUnits": provisioned}
    else:
        kw["BillingMode"] = "PAY_PER_REQUEST"
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=attrs,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        **kw,
    )


def scale(aas, name, lo, hi, target):
    rid = f"table/{name}"
    for side in ("Read", "Write"):
        dim = f"dynamodb:table:{side}CapacityUnits"
        metric = f"DynamoDB{side}CapacityUtilization"
        aas.register_scalable_target(
            ServiceNamespace="dynamodb", ResourceId=rid, ScalableDimension=dim, MinCapacity=lo, MaxCapacity=hi
        )
        aas.put_scaling_policy(
            PolicyName=f"{metric}:{rid}",
            ServiceNamespace="dynamodb",
            ResourceId=rid,
            ScalableDimension=dim,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": target,
                "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
            },
        )


ddb, aas = clients("111111111111", "us-east-1")
table(ddb, "orders", gsis=["by-customer"])          # on-demand -> provisioned, GSI too
table(ddb, "sessions", provisioned=5)                # provisioned with scaling -> on-demand
scale(aas, "sessions", 1, 50, 70.0)

ddb, aas = clients("222222222222", "eu-west-1")
table(ddb, "audit-log", provisioned=10)              # provisioned, no scaling -> on-demand
table(ddb, "catalog", gsis=["by-category"])          # on-demand -> provisioned, GSI scaling left alone

ddb, aas = clients("333333333333", "us-east-1")
table(ddb, "carts", provisioned=5)                   # already as desired
scale(aas, "carts", 5, 1000, 70.0)
aas.register_scalable_target(ServiceNamespace="dynamodb", ResourceId="table/carts",
                             ScalableDimension="dynamodb:table:WriteCapacityUnits", MinCapacity=5, MaxCapacity=500)

ddb, aas = clients("333333333333", "eu-west-1")
table(ddb, "ledger", provisioned=5)                  # read target 70 -> 50, updated in place
scale(aas, "ledger", 5, 1000, 70.0)
aas.register_scalable_target(ServiceNamespace="dynamodb", ResourceId="table/ledger",
                             ScalableDimension="dynamodb:table:WriteCapacityUnits", MinCapacity=5, MaxCapacity=500)
print("demo fleet: 6 tables in 3 accounts and 2 regions")
