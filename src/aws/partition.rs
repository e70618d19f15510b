//! AWS partitions ([`Partition`]): the commercial regions (`aws`), China (`aws-cn`), GovCloud
//! (`aws-us-gov`) and the European Sovereign Cloud (`aws-eusc`) each have their own ARNs, DNS
//! suffix and the region of their global services. A run works in the caller's partition:
//! learnt from the caller's ARN, or from a region's name. Pure: no AWS call here.
//! (Figures from the SDK's partition table: `endpoint_lib`'s `partitions`.)

/// One AWS partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// As in ARNs: `arn:{name}:iam::...`.
    pub name: &'static str,
    /// Endpoints are `https://{service}.{region}.{dns_suffix}`.
    pub dns_suffix: &'static str,
    /// Where the partition's global services answer (AWS Organizations): a region every
    /// account has, needing no opt-in.
    pub global_region: &'static str,
    /// The names of its regions start so (the commercial partition's: any other).
    prefix: &'static str,
}

const PARTITIONS: [Partition; 3] = [
    Partition {
        name: "aws-cn",
        dns_suffix: "amazonaws.com.cn",
        global_region: "cn-northwest-1",
        prefix: "cn-",
    },
    Partition {
        name: "aws-us-gov",
        dns_suffix: "amazonaws.com",
        global_region: "us-gov-west-1",
        prefix: "us-gov-",
    },
    Partition {
        name: "aws-eusc",
        dns_suffix: "amazonaws.eu",
        global_region: "eusc-de-east-1",
        prefix: "eusc-",
    },
];

/// The commercial partition's regions an account must opt into (those launched after March
/// 2019): not enabled in an account until it does. Asked there, EC2 answers `AuthFailure`
/// and the other services `UnrecognizedClientException`.
pub const OPT_IN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
];

/// The commercial partition.
pub const AWS: Partition = Partition {
    name: "aws",
    dns_suffix: "amazonaws.com",
    global_region: "us-east-1",
    prefix: "",
};

impl Partition {
    /// The partition `region` is in.
    pub fn of_region(region: &str) -> Partition {
        PARTITIONS
            .into_iter()
            .find(|p| region.starts_with(p.prefix))
            .unwrap_or(AWS)
    }

    /// The partition an ARN (`arn:PARTITION:...`) names, if it names one this release knows.
    pub fn of_arn(arn: &str) -> Option<Partition> {
        let name = arn.strip_prefix("arn:")?.split(':').next()?;
        PARTITIONS.into_iter().chain([AWS]).find(|p| p.name == name)
    }

    /// `service`'s endpoint in `region`: `https://{service}.{region}.{dns_suffix}`.
    pub fn endpoint(&self, service: &str, region: &str) -> String {
        format!("https://{service}.{region}.{}", self.dns_suffix)
    }

    /// The same ARN in this partition (an ARN built from a role's name is written in the
    /// commercial partition until the caller's is known).
    pub fn arn(&self, arn: &str) -> String {
        match arn.strip_prefix("arn:aws:") {
            Some(rest) if self.name != AWS.name => format!("arn:{}:{rest}", self.name),
            _ => arn.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_partition_has_its_arns_endpoints_and_global_region() {
        let cn = Partition::of_region("cn-north-1");
        assert_eq!(cn.name, "aws-cn");
        assert_eq!(
            cn.endpoint("ec2", "cn-north-1"),
            "https://ec2.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(cn.global_region, "cn-northwest-1");
        let gov = Partition::of_region("us-gov-east-1");
        assert_eq!(
            (gov.name, gov.global_region),
            ("aws-us-gov", "us-gov-west-1")
        );
        assert_eq!(
            gov.endpoint("ec2", "us-gov-east-1"),
            "https://ec2.us-gov-east-1.amazonaws.com"
        );
        let eusc = Partition::of_region("eusc-de-east-1");
        assert_eq!(
            eusc.endpoint("ec2", "eusc-de-east-1"),
            "https://ec2.eusc-de-east-1.amazonaws.eu"
        );
        // An opt-in region of the commercial partition: its global region needs no opt-in.
        let hk = Partition::of_region("ap-east-1");
        assert_eq!((hk.name, hk.global_region), ("aws", "us-east-1"));
        assert_eq!(
            hk.endpoint("ec2", "ap-east-1"),
            "https://ec2.ap-east-1.amazonaws.com"
        );

        assert_eq!(
            Partition::of_arn("arn:aws-cn:sts::111122223333:assumed-role/r/s"),
            Some(cn)
        );
        assert_eq!(
            Partition::of_arn("arn:aws:iam::111122223333:user/u"),
            Some(AWS)
        );
        assert_eq!(Partition::of_arn("arn:aws-iso:iam::1:user/u"), None);
        assert_eq!(Partition::of_arn("not-an-arn"), None);
        assert_eq!(
            gov.arn("arn:aws:iam::111122223333:role/Audit"),
            "arn:aws-us-gov:iam::111122223333:role/Audit"
        );
        assert_eq!(
            AWS.arn("arn:aws:iam::111122223333:role/Audit"),
            "arn:aws:iam::111122223333:role/Audit"
        );
        assert_eq!(
            gov.arn("arn:aws-us-gov:iam::1:role/x"),
            "arn:aws-us-gov:iam::1:role/x"
        );
    }
}
