//! Prices ([`PriceBook`]): per region and table class, the on-demand price of a read and a
//! write request unit, the provisioned price of an RCU-hour and a WCU-hour, and storage per
//! GB-month. Built in from `prices.toml` (its comments say where each figure comes from);
//! `--prices FILE` (same format) replaces or adds regions. A file is validated whole, every
//! error with its file, line and field.

use crate::inventory::{suggest, valid_region, InventoryError};
use crate::model::TableClass;
use std::collections::BTreeMap;
use std::path::Path;

/// The built-in price file.
const BUILTIN: &str = include_str!("prices.toml");

/// One table class's prices in one region, per unit (not per million).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassPrices {
    /// On-demand, per read request unit.
    pub read_request: f64,
    /// On-demand, per write request unit.
    pub write_request: f64,
    /// Provisioned, per RCU-hour.
    pub rcu_hour: f64,
    /// Provisioned, per WCU-hour.
    pub wcu_hour: f64,
    pub storage_gb_month: f64,
}

impl ClassPrices {
    /// AWS's Standard-IA from Standard: reads and writes 25 % dearer, storage 60 % cheaper.
    pub fn infrequent_access_of(standard: &ClassPrices) -> ClassPrices {
        ClassPrices {
            read_request: standard.read_request * 1.25,
            write_request: standard.write_request * 1.25,
            rcu_hour: standard.rcu_hour * 1.25,
            wcu_hour: standard.wcu_hour * 1.25,
            storage_gb_month: standard.storage_gb_month * 0.4,
        }
    }
}

/// Reserved capacity owned in a region, for reads or writes: provisioned Standard-class
/// capacity only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reserved {
    /// Units (RCU or WCU) reserved.
    pub units: f64,
    /// Effective price per unit-hour (upfront fee spread over the term, plus the hourly fee).
    pub hourly: f64,
}

/// What a region's throughput is committed to beyond list prices.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Commitments {
    pub reserved_read: Option<Reserved>,
    pub reserved_write: Option<Reserved>,
    /// Database Savings Plans: percent off DynamoDB throughput, both modes.
    pub savings_plan_percent: f64,
}

impl Commitments {
    pub fn is_none(&self) -> bool {
        *self == Commitments::default()
    }

    /// Whether reserved capacity is owned (reads or writes).
    pub fn has_reserved(&self) -> bool {
        self.reserved_read.is_some() || self.reserved_write.is_some()
    }

    /// The reservation of reads (`Side::Read`) or writes.
    pub fn reserved(&self, side: crate::model::Side) -> Option<Reserved> {
        match side {
            crate::model::Side::Read => self.reserved_read,
            crate::model::Side::Write => self.reserved_write,
        }
    }
}

/// A region's prices.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionPrices {
    pub standard: ClassPrices,
    pub standard_ia: ClassPrices,
    /// Reserved capacity and Savings Plans (none: list prices).
    pub commitments: Commitments,
    /// Where the figures come from.
    pub source: String,
}

impl RegionPrices {
    pub fn class(&self, class: TableClass) -> &ClassPrices {
        match class {
            TableClass::Standard => &self.standard,
            TableClass::StandardInfrequentAccess => &self.standard_ia,
        }
    }
}

/// Prices for every region known, in one currency.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceBook {
    pub currency: String,
    pub date: String,
    pub source: String,
    pub regions: BTreeMap<String, RegionPrices>,
}

/// The fields of one class's prices in a price file.
const PRICE_FIELDS: [&str; 5] = [
    "read_per_million",
    "write_per_million",
    "rcu_hour",
    "wcu_hour",
    "storage_gb_month",
];
const TOP_FIELDS: [&str; 4] = ["currency", "date", "source", "regions"];
const REGION_FIELDS: [&str; 4] = ["source", "standard", "standard_ia", "commitments"];
/// The fields of a region's `commitments`.
const COMMITMENT_FIELDS: [&str; 5] = [
    "reserved_rcu",
    "reserved_wcu",
    "reserved_rcu_hour",
    "reserved_wcu_hour",
    "savings_plan_percent",
];

impl PriceBook {
    /// The built-in list prices.
    pub fn builtin() -> PriceBook {
        parse("(built-in prices)", BUILTIN).expect("the built-in price file is valid (tested)")
    }

    /// The built-in prices with `path`'s over them: its regions replace or add to the
    /// built-in ones. A file in another currency replaces them all (prices in two currencies
    /// cannot be added up).
    pub fn with_file(path: &Path) -> Result<PriceBook, Vec<InventoryError>> {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![InventoryError {
                file: label.clone(),
                line: None,
                field: None,
                message: format!("cannot read the price file: {e}"),
                hint: Some("check the path".into()),
            }]
        })?;
        let file = parse(&label, &text)?;
        let mut book = PriceBook::builtin();
        if file.currency != book.currency {
            return Ok(file);
        }
        book.source = format!("{}; {} ({})", book.source, file.source, label);
        book.date = file.date.clone();
        book.regions.extend(file.regions);
        Ok(book)
    }

    pub fn region(&self, region: &str) -> Option<&RegionPrices> {
        self.regions.get(region)
    }
}

type Spanned = toml::Spanned<toml::Value>;

/// Reads a price file: every error, with its line and field.
fn parse(label: &str, text: &str) -> Result<PriceBook, Vec<InventoryError>> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() as u64 + 1;
    let err =
        |line: Option<u64>, field: &str, message: String, hint: Option<String>| InventoryError {
            file: label.to_string(),
            line,
            field: (!field.is_empty()).then(|| field.to_string()),
            message,
            hint,
        };
    let doc: BTreeMap<String, Spanned> = toml::from_str(text).map_err(|e| {
        vec![err(
            e.span().map(|s| line_of(s.start)),
            "",
            format!("invalid TOML: {}", e.message().trim()),
            None,
        )]
    })?;
    let mut errors = Vec::new();
    unknown_fields(&doc, &TOP_FIELDS, "", &line_of, &err, &mut errors);
    let text_field = |name: &str, errors: &mut Vec<InventoryError>| match doc.get(name) {
        Some(v) => match v.get_ref().as_str() {
            Some(s) if !s.trim().is_empty() => s.trim().to_string(),
            _ => {
                errors.push(err(
                    Some(line_of(v.span().start)),
                    name,
                    "expected a non-empty string".into(),
                    None,
                ));
                String::new()
            }
        },
        None => {
            errors.push(err(
                None,
                name,
                "missing".into(),
                Some(format!("add `{name} = \"...\"` at the top")),
            ));
            String::new()
        }
    };
    let currency = text_field("currency", &mut errors);
    let date = text_field("date", &mut errors);
    let source = text_field("source", &mut errors);
    let mut regions = BTreeMap::new();
    match doc.get("regions").map(|r| (r, r.get_ref())) {
        Some((_, toml::Value::Table(t))) if !t.is_empty() => {
            // Spans inside a plain Value are lost: re-read the regions with spans.
            let spanned: BTreeMap<String, BTreeMap<String, Spanned>> =
                match toml::from_str::<RegionsDoc>(text) {
                    Ok(d) => d.regions,
                    Err(e) => {
                        errors.push(err(
                            e.span().map(|s| line_of(s.start)),
                            "regions",
                            e.message().trim().to_string(),
                            None,
                        ));
                        BTreeMap::new()
                    }
                };
            for (name, fields) in &spanned {
                if let Some(r) = region(name, fields, &line_of, &err, &mut errors) {
                    regions.insert(name.clone(), r);
                }
            }
        }
        Some((v, _)) => errors.push(err(
            Some(line_of(v.span().start)),
            "regions",
            "expected [regions.NAME] tables".into(),
            Some("add e.g. [regions.us-east-1] with standard = { ... }".into()),
        )),
        None => errors.push(err(
            None,
            "regions",
            "the file gives no region".into(),
            Some("add [regions.NAME] tables".into()),
        )),
    }
    if errors.is_empty() {
        Ok(PriceBook {
            currency,
            date,
            source,
            regions,
        })
    } else {
        Err(errors)
    }
}

#[derive(serde::Deserialize)]
struct RegionsDoc {
    regions: BTreeMap<String, BTreeMap<String, Spanned>>,
}

fn unknown_fields(
    fields: &BTreeMap<String, Spanned>,
    known: &[&str],
    prefix: &str,
    line_of: &impl Fn(usize) -> u64,
    err: &impl Fn(Option<u64>, &str, String, Option<String>) -> InventoryError,
    errors: &mut Vec<InventoryError>,
) {
    for (name, v) in fields {
        if !known.contains(&name.as_str()) {
            let hint = match suggest(name, known) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("known fields: {}", known.join(", ")),
            };
            errors.push(err(
                Some(line_of(v.span().start)),
                &format!("{prefix}{name}"),
                "unknown field".into(),
                Some(hint),
            ));
        }
    }
}

fn region(
    name: &str,
    fields: &BTreeMap<String, Spanned>,
    line_of: &impl Fn(usize) -> u64,
    err: &impl Fn(Option<u64>, &str, String, Option<String>) -> InventoryError,
    errors: &mut Vec<InventoryError>,
) -> Option<RegionPrices> {
    let before = errors.len();
    let prefix = format!("regions.{name}.");
    if !valid_region(name) {
        errors.push(err(
            None,
            &format!("regions.{name}"),
            format!("`{name}` is not an AWS region name"),
            Some("expected a name like us-east-1".into()),
        ));
    }
    unknown_fields(fields, &REGION_FIELDS, &prefix, line_of, err, errors);
    let source = fields
        .get("source")
        .and_then(|s| s.get_ref().as_str())
        .unwrap_or("price file")
        .to_string();
    let standard = match fields.get("standard") {
        Some(v) => class_prices(v, &format!("{prefix}standard"), line_of, err, errors),
        None => {
            errors.push(err(
                None,
                &format!("{prefix}standard"),
                "missing".into(),
                Some(format!(
                    "add standard = {{ {} }}",
                    PRICE_FIELDS.join(" = ..., ")
                )),
            ));
            None
        }
    };
    let ia = fields
        .get("standard_ia")
        .map(|v| class_prices(v, &format!("{prefix}standard_ia"), line_of, err, errors));
    let commitments = fields
        .get("commitments")
        .map(|v| commitments(v, &format!("{prefix}commitments"), line_of, err, errors));
    if errors.len() > before {
        return None;
    }
    let standard = standard?;
    let (standard_ia, source) = match ia {
        Some(ia) => (ia?, source),
        None => (
            ClassPrices::infrequent_access_of(&standard),
            format!(
                "{source} (Standard-IA derived as AWS documents: +25 % throughput, -60 % storage)"
            ),
        ),
    };
    Some(RegionPrices {
        standard,
        standard_ia,
        commitments: commitments.flatten().unwrap_or_default(),
        source,
    })
}

/// A table of numbers (`{ name = 1.5, ... }`), each 0 or more: those of `names` it gives, in
/// that order (`None` where absent; absent ones are errors when `required`).
fn numbers(
    v: &Spanned,
    field: &str,
    names: &[&str],
    required: bool,
    line_of: &impl Fn(usize) -> u64,
    err: &impl Fn(Option<u64>, &str, String, Option<String>) -> InventoryError,
    errors: &mut Vec<InventoryError>,
) -> Option<Vec<Option<f64>>> {
    let line = Some(line_of(v.span().start));
    let Some(t) = v.get_ref().as_table() else {
        errors.push(err(
            line,
            field,
            "expected a table of numbers".into(),
            Some(format!("{{ {} = ... }}", names.join(" = ..., "))),
        ));
        return None;
    };
    let before = errors.len();
    for name in t.keys().filter(|k| !names.contains(&k.as_str())) {
        let hint = suggest(name, names).map(|s| format!("did you mean `{s}`?"));
        errors.push(err(
            line,
            &format!("{field}.{name}"),
            "unknown field".into(),
            hint,
        ));
    }
    let mut values = Vec::new();
    for name in names {
        let value = match t.get(*name) {
            Some(toml::Value::Float(f)) => *f,
            Some(toml::Value::Integer(i)) => *i as f64,
            Some(other) => {
                errors.push(err(
                    line,
                    &format!("{field}.{name}"),
                    format!("expected a number, found {}", other.type_str()),
                    None,
                ));
                values.push(None);
                continue;
            }
            None => {
                if required {
                    errors.push(err(
                        line,
                        &format!("{field}.{name}"),
                        "missing".into(),
                        None,
                    ));
                }
                values.push(None);
                continue;
            }
        };
        if !value.is_finite() || value < 0.0 {
            errors.push(err(
                line,
                &format!("{field}.{name}"),
                format!("expected a number of 0 or more, found {value}"),
                None,
            ));
        }
        values.push(Some(value));
    }
    (errors.len() == before).then_some(values)
}

fn class_prices(
    v: &Spanned,
    field: &str,
    line_of: &impl Fn(usize) -> u64,
    err: &impl Fn(Option<u64>, &str, String, Option<String>) -> InventoryError,
    errors: &mut Vec<InventoryError>,
) -> Option<ClassPrices> {
    let values = numbers(v, field, &PRICE_FIELDS, true, line_of, err, errors)?;
    let n = |i: usize| values[i].unwrap_or_default();
    Some(ClassPrices {
        read_request: n(0) / 1e6,
        write_request: n(1) / 1e6,
        rcu_hour: n(2),
        wcu_hour: n(3),
        storage_gb_month: n(4),
    })
}

/// A region's `commitments = { ... }`: reserved capacity owned and its effective rates, and a
/// Savings Plans discount.
fn commitments(
    v: &Spanned,
    field: &str,
    line_of: &impl Fn(usize) -> u64,
    err: &impl Fn(Option<u64>, &str, String, Option<String>) -> InventoryError,
    errors: &mut Vec<InventoryError>,
) -> Option<Commitments> {
    let line = Some(line_of(v.span().start));
    let values = numbers(v, field, &COMMITMENT_FIELDS, false, line_of, err, errors)?;
    let before = errors.len();
    let mut reserved = [None, None];
    for (k, (units, rate)) in [(0, 2), (1, 3)].into_iter().enumerate() {
        match (values[units], values[rate]) {
            (Some(u), Some(r)) if u > 0.0 => {
                reserved[k] = Some(Reserved {
                    units: u,
                    hourly: r,
                })
            }
            (Some(u), None) if u > 0.0 => errors.push(err(
                line,
                &format!("{field}.{}", COMMITMENT_FIELDS[rate]),
                format!(
                    "missing: {} = {u} needs its effective hourly rate",
                    COMMITMENT_FIELDS[units]
                ),
                Some(
                    "the upfront fee spread over the term's hours, plus the hourly fee, per unit"
                        .into(),
                ),
            )),
            _ => {}
        }
    }
    let savings_plan = values[4].unwrap_or(0.0);
    if savings_plan >= 100.0 {
        errors.push(err(
            line,
            &format!("{field}.{}", COMMITMENT_FIELDS[4]),
            format!("a discount in percent, under 100, found {savings_plan}"),
            None,
        ));
    }
    (errors.len() == before).then_some(Commitments {
        reserved_read: reserved[0],
        reserved_write: reserved[1],
        savings_plan_percent: savings_plan,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_prices_cover_the_regions_promised_and_agree_with_aws_ratios() {
        let book = PriceBook::builtin();
        assert_eq!(book.currency, "USD");
        for r in [
            "us-east-1",
            "us-east-2",
            "us-west-2",
            "eu-west-1",
            "eu-central-1",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-northeast-1",
        ] {
            let p = book.region(r).unwrap_or_else(|| panic!("{r}"));
            // Standard-IA: reads and writes about 25 % dearer, storage 60 % cheaper.
            let ratio = |ia: f64, std: f64| ia / std;
            for (ia, std) in [
                (p.standard_ia.read_request, p.standard.read_request),
                (p.standard_ia.write_request, p.standard.write_request),
                (p.standard_ia.rcu_hour, p.standard.rcu_hour),
                (p.standard_ia.wcu_hour, p.standard.wcu_hour),
            ] {
                assert!((1.2..=1.3).contains(&ratio(ia, std)), "{r}: {ia} / {std}");
            }
            assert!(
                (ratio(p.standard_ia.storage_gb_month, p.standard.storage_gb_month) - 0.4).abs()
                    < 0.01,
                "{r}"
            );
            // Provisioned is cheaper when more than about 29 % used (COST-RULES' break-even).
            let breakeven = p.standard.wcu_hour / 3600.0 / p.standard.write_request;
            assert!((0.28..=0.30).contains(&breakeven), "{r}: {breakeven}");
        }
        let us = book.region("us-east-1").unwrap();
        assert_eq!(us.standard.write_request, 0.625 / 1e6);
        assert_eq!(us.standard.read_request, 0.125 / 1e6);
        assert_eq!(us.standard.storage_gb_month, 0.25);
        assert_eq!(us.standard_ia.storage_gb_month, 0.10);
    }

    fn file(text: &str) -> Result<PriceBook, Vec<InventoryError>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        std::fs::write(&path, text).unwrap();
        PriceBook::with_file(&path)
    }

    const HEAD: &str = "currency = \"USD\"\ndate = \"2026-12-01\"\nsource = \"our EDP rates\"\n";

    #[test]
    fn a_price_file_replaces_and_adds_regions_and_derives_ia() {
        let book = file(&format!("{HEAD}[regions.us-east-1]\nstandard = {{ read_per_million = 0.1, write_per_million = 0.5, rcu_hour = 0.0001, wcu_hour = 0.0005, storage_gb_month = 0.2 }}\n[regions.sa-east-1]\nstandard = {{ read_per_million = 0.2, write_per_million = 1, rcu_hour = 0.0002, wcu_hour = 0.001, storage_gb_month = 0.3 }}\n")).unwrap();
        assert_eq!(
            book.region("us-east-1").unwrap().standard.write_request,
            0.5 / 1e6
        );
        let sa = book.region("sa-east-1").unwrap();
        assert!((sa.standard_ia.storage_gb_month - 0.12).abs() < 1e-12);
        assert!(sa.source.contains("derived"));
        assert!(book.region("eu-west-1").is_some(), "built-in regions stay");
        // Another currency replaces the built-in prices.
        let eur = file(&format!("{}[regions.eu-west-1]\nstandard = {{ read_per_million = 0.1, write_per_million = 0.5, rcu_hour = 0.0001, wcu_hour = 0.0005, storage_gb_month = 0.2 }}\n", HEAD.replace("USD", "EUR"))).unwrap();
        assert_eq!(eur.currency, "EUR");
        assert!(eur.region("us-east-1").is_none());
    }

    #[test]
    fn commitments_are_read_per_region() {
        let text = format!("{HEAD}[regions.us-east-1]\n{STD}\ncommitments = {{ reserved_rcu = 1000, reserved_rcu_hour = 0.00005, savings_plan_percent = 12.5 }}\n");
        let book = file(&text).unwrap();
        let c = book.region("us-east-1").unwrap().commitments;
        assert_eq!(
            c.reserved_read,
            Some(Reserved {
                units: 1000.0,
                hourly: 0.00005
            })
        );
        assert_eq!((c.reserved_write, c.savings_plan_percent), (None, 12.5));
        assert!(PriceBook::builtin()
            .regions
            .values()
            .all(|r| r.commitments.is_none()));
    }

    const STD: &str = "standard = { read_per_million = 0.1, write_per_million = 0.5, rcu_hour = 0.0001, wcu_hour = 0.0005, storage_gb_month = 0.2 }";

    #[test]
    fn bad_price_files_name_line_and_field() {
        let cases = [
            (format!("{HEAD}[regions.us-east-1]\nstandard = {{ read_per_million = -0.1, write_per_million = 0.5, rcu_hour = 0.0001, wcu_hour = 0.0005, storage_gb_month = 0.2 }}\n"), 5, "regions.us-east-1.standard.read_per_million", "0 or more"),
            (format!("{HEAD}[regions.us-east-1]\nstandard = {{ read_per_million = 0.1, write_per_millon = 0.5, rcu_hour = 0.0001, wcu_hour = 0.0005, storage_gb_month = 0.2 }}\n"), 5, "regions.us-east-1.standard.write_per_millon", "did you mean `write_per_million`?"),
            (format!("{HEAD}[regions.us-east-1]\nstandard = {{ read_per_million = \"cheap\", write_per_million = 0.5, rcu_hour = 0.0001, wcu_hour = 0.0005, storage_gb_month = 0.2 }}\n"), 5, "regions.us-east-1.standard.read_per_million", "expected a number"),
            (format!("{HEAD}[regions.mars-1]\nstandard = {{ read_per_million = 0.1, write_per_million = 0.5, rcu_hour = 0.0001, wcu_hour = 0.0005, storage_gb_month = 0.2 }}\n"), 0, "regions.mars-1", "not an AWS region"),
            (format!("{HEAD}[regions.us-east-1]\nstandrd = {{}}\n"), 5, "regions.us-east-1.standrd", "did you mean `standard`?"),
            (format!("{HEAD}[regions.us-east-1]\n{STD}\ncommitments = {{ reserved_rcu = 100 }}\n"), 6, "regions.us-east-1.commitments.reserved_rcu_hour", "needs its effective hourly rate"),
            (format!("{HEAD}[regions.us-east-1]\n{STD}\ncommitments = {{ savings_plan_percent = 120 }}\n"), 6, "regions.us-east-1.commitments.savings_plan_percent", "under 100"),
            (format!("{HEAD}[regions.us-east-1]\n{STD}\ncommitments = {{ reserved_rcus = 100 }}\n"), 6, "regions.us-east-1.commitments.reserved_rcus", "did you mean `reserved_rcu`?"),
        ];
        for (text, line, field, words) in cases {
            let errors = file(&text).unwrap_err();
            let e = errors
                .iter()
                .find(|e| e.field.as_deref() == Some(field))
                .unwrap_or_else(|| panic!("{field}: {errors:?}"));
            if line > 0 {
                assert_eq!(e.line, Some(line), "{e}");
            }
            assert!(e.file.ends_with("p.toml"), "{e}");
            assert!(e.to_string().contains(words), "{e}");
        }
    }
}
