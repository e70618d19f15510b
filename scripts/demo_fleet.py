"""Creates the demo fleet of inventories/example.toml in a local moto server.

Three accounts (reached by AssumeRole, as ddb-fleet does), two regions, tables in mixed
starting states, and the last half hour of CloudWatch consumption of the tables the demo
switches to provisioned (moto >= 5.2.6 serves CloudWatch to the Rust SDK), so their switch
starts at their recent peak / target instead of at min. Reads the endpoint from
AWS_ENDPOINT_URL.
"""
import datetime
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


def cloudwatch(account, region):
    sts = boto3.client("sts", endpoint_url=ENDPOINT, region_name=region)
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/ddb-fleet", RoleSessionName="demo-setup"
    )["Credentials"]
    return boto3.client(
        "cloudwatch",
        endpoint_url=ENDPOINT,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def consumed(account, region, name, reads, writes, index=None):
    """The last 30 minutes of consumption, one datapoint a minute: `reads` and `writes`
    units per second (statistic Sum over 60 s, as DynamoDB publishes it)."""
    cw = cloudwatch(account, region)
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    dims = [{"Name": "TableName", "Value": name}]
    if index:
        dims.append({"Name": "GlobalSecondaryIndexName", "Value": index})
    for metric, per_second in (("ConsumedReadCapacityUnits", reads), ("ConsumedWriteCapacityUnits", writes)):
        data = [
            {
                "MetricName": metric,
                "Dimensions": dims,
                "Timestamp": now - datetime.timedelta(minutes=m),
                "Value": per_second * 60 * (0.8 if m % 7 else 1.0),
                "Unit": "Count",
            }
            for m in range(1, 31)
        ]
        cw.put_metric_data(Namespace="AWS/DynamoDB", MetricData=data)


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
consumed("111111111111", "us-east-1", "orders", reads=140, writes=35)   # starts at 200r/50w
consumed("111111111111", "us-east-1", "orders", reads=70, writes=35, index="by-customer")
table(ddb, "sessions", provisioned=5)                # provisioned with scaling -> on-demand
scale(aas, "sessions", 1, 50, 70.0)

ddb, aas = clients("222222222222", "eu-west-1")
table(ddb, "audit-log", provisioned=10)              # provisioned, no scaling -> on-demand
table(ddb, "catalog", gsis=["by-category"])          # on-demand -> provisioned, GSI scaling left alone
consumed("222222222222", "eu-west-1", "catalog", reads=600, writes=20)  # starts at 1000r/29w

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

# An organisation for `advise --organization` / `export --ou` (README, "A whole organisation"):
# moto's default account is its management account; Root/payments/prod holds payments-prod
# (with a table), Root/sandbox an account closed since (SUSPENDED, skipped by ddb-fleet).
org = boto3.client("organizations", endpoint_url=ENDPOINT, region_name="us-east-1")
org.create_organization(FeatureSet="ALL")
root = org.list_roots()["Roots"][0]["Id"]


def member(name, parent):
    created = org.create_account(AccountName=name, Email=f"{name}@example.com")
    account = created["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)
    return account


payments = org.create_organizational_unit(ParentId=root, Name="payments")["OrganizationalUnit"]["Id"]
prod_ou = org.create_organizational_unit(ParentId=payments, Name="prod")["OrganizationalUnit"]["Id"]
sandbox_ou = org.create_organizational_unit(ParentId=root, Name="sandbox")["OrganizationalUnit"]["Id"]
prod = member("payments-prod", prod_ou)
org.close_account(AccountId=member("old-sandbox", sandbox_ou))
ddb, _ = clients(prod, "eu-west-1")
table(ddb, "payments", provisioned=20)
print(f"demo organisation: payments-prod {prod} in {payments}/{prod_ou}, one suspended account")
