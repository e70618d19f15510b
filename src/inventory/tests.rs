//! The inventory's tests: parsing, validation and fuzzing (no input may panic).

use super::lines::Lines;
use super::*;

const HEADER: &str = "account_id,role_name,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write,indexes\n";

fn csv(body: &str) -> Result<Vec<DesiredTable>, InventoryErrors> {
    parse_bytes(
        "inv.csv",
        format!("{HEADER}{body}").as_bytes(),
        Format::Csv,
        &Limits::default(),
    )
}

fn only_error(r: Result<Vec<DesiredTable>, InventoryErrors>) -> InventoryError {
    let errs = r.expect_err("expected an error").0;
    assert_eq!(errs.len(), 1, "{errs:?}");
    errs.into_iter().next().unwrap()
}

#[test]
fn valid_csv_rows_become_desired_tables() {
    let t = csv("111111111111,ops,us-east-1,orders,provisioned,5,100,70,2,50,60,none\n# comment\n\n222222222222,,eu-west-1,users,OnDemand,,,,,,,\n").unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(
        t[0].role.as_ref().unwrap().role_arn,
        "arn:aws:iam::111111111111:role/ops"
    );
    assert_eq!(
        t[0].mode,
        DesiredMode::Provisioned(AutoScaling {
            read: Thresholds {
                min: 5,
                max: 100,
                target: 70.0
            },
            write: Thresholds {
                min: 2,
                max: 50,
                target: 60.0
            },
        })
    );
    assert_eq!(t[0].indexes, IndexScope::None);
    assert_eq!(t[0].source.line, 2);
    assert_eq!(t[1].mode, DesiredMode::OnDemand);
    assert_eq!(t[1].role, None);
    assert_eq!(t[1].source.line, 5);
}

#[test]
fn columns_in_any_order_and_utf8_bom_accepted() {
    let text =
        "\u{feff}table,region,mode,account_id\nusers,eu-west-1,pay_per_request,222222222222\n";
    let t = parse_bytes("x.csv", text.as_bytes(), Format::Csv, &Limits::default()).unwrap();
    assert_eq!(t[0].table, "users");
    assert_eq!(t[0].mode, DesiredMode::OnDemand);
}

#[test]
fn each_bad_value_names_file_line_and_field() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "11111111111,,us-east-1,t01,on_demand,,,,,,,\n",
            "account_id",
            "12-digit",
        ),
        (
            "111111111111,,us-east1,t01,on_demand,,,,,,,\n",
            "region",
            "not an AWS region",
        ),
        (
            "111111111111,,us-east-1,t01,sometimes,,,,,,,\n",
            "mode",
            "unknown mode",
        ),
        (
            "111111111111,,us-east-1,t01,provisioned,5,,70,1,5,70,\n",
            "max_read",
            "missing",
        ),
        (
            "111111111111,,us-east-1,t01,provisioned,10,5,70,1,5,70,\n",
            "min_read",
            "greater than",
        ),
        (
            "111111111111,,us-east-1,t01,provisioned,1,5,95,1,5,70,\n",
            "target_read",
            "between 20 and 90",
        ),
        (
            "111111111111,,us-east-1,t01,provisioned,1,5,70,0,5,70,\n",
            "min_write",
            "between 1 and 40000",
        ),
        (
            "111111111111,,us-east-1,t01,provisioned,1,50000,70,1,5,70,\n",
            "max_read",
            "between 1 and 40000",
        ),
        (
            "111111111111,,us-east-1,t01,provisioned,1,x,70,1,5,70,\n",
            "max_read",
            "whole number",
        ),
        (
            "111111111111,,us-east-1,t01,on_demand,1,,,,,,\n",
            "min_read",
            "on_demand row",
        ),
        (
            "111111111111,,us-east-1,t01,on_demand,,,,,,,some\n",
            "indexes",
            "unknown value",
        ),
        (
            "111111111111,bad role!,us-east-1,t01,on_demand,,,,,,,\n",
            "role_name",
            "not a valid IAM role name",
        ),
        (
            "111111111111,,us-east-1,t!,on_demand,,,,,,,\n",
            "table",
            "not a valid DynamoDB table name",
        ),
    ];
    for (row, field, needle) in cases {
        let e = only_error(csv(row));
        assert_eq!(e.file, "inv.csv");
        assert_eq!(e.line, Some(2), "{row}");
        assert_eq!(e.field.as_deref(), Some(*field), "{row}: {e}");
        assert!(e.to_string().contains(needle), "{row}: {e}");
    }
}

#[test]
fn role_arn_in_another_account_is_refused() {
    let text = "account_id,role_arn,region,table,mode\n111111111111,arn:aws:iam::222222222222:role/ops,us-east-1,t01,on_demand\n";
    let e = only_error(parse_bytes(
        "i.csv",
        text.as_bytes(),
        Format::Csv,
        &Limits::default(),
    ));
    assert_eq!(e.field.as_deref(), Some("role_arn"));
    assert!(e
        .message
        .contains("account 222222222222 but account_id is 111111111111"));
    let text = "account_id,role_arn,region,table,mode\n111111111111,arn:aws:iam::111111111111:user/ops,us-east-1,t01,on_demand\n";
    let e = only_error(parse_bytes(
        "i.csv",
        text.as_bytes(),
        Format::Csv,
        &Limits::default(),
    ));
    assert!(e.message.contains("not a role"), "{e}");
}

#[test]
fn unknown_column_suggests_the_likely_name() {
    let text = "account_id,region,table,mode,targt_read\n";
    let e = only_error(parse_bytes(
        "i.csv",
        text.as_bytes(),
        Format::Csv,
        &Limits::default(),
    ));
    assert_eq!(e.line, Some(1));
    assert_eq!(e.field.as_deref(), Some("targt_read"));
    assert_eq!(e.hint.as_deref(), Some("did you mean `target_read`?"));
}

#[test]
fn all_errors_are_reported_at_once() {
    let errs =
        csv("11,,us-east-1,t01,on_demand,,,,,,,\n111111111111,,nowhere,t02,on_demand,,,,,,,\n")
            .unwrap_err()
            .0;
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0].line, Some(2));
    assert_eq!(errs[1].line, Some(3));
}

#[test]
fn duplicates_ragged_rows_empty_files_and_bad_utf8() {
    let e = only_error(csv("111111111111,,us-east-1,t01,on_demand,,,,,,,\n111111111111,,us-east-1,t01,on_demand,,,,,,,\n"));
    assert_eq!(e.line, Some(3));
    assert!(e.message.contains("first at line 2"), "{e}");

    // Comment and blank lines count in line numbers.
    let e = only_error(csv("# first\n\n111111111111,,us-east-1,t01,on_demand\n"));
    assert_eq!(e.line, Some(4));
    assert!(
        e.message.contains("row has 5 fields but the header has 12"),
        "{e}"
    );

    let e = only_error(csv(""));
    assert!(e.message.contains("lists no tables"));
    let e = only_error(parse_bytes("e.csv", b"", Format::Csv, &Limits::default()));
    assert!(e.message.contains("lists no tables"));

    let e = only_error(parse_bytes(
        "b.csv",
        b"account_id,region\n\xff\xfe,x\n",
        Format::Csv,
        &Limits::default(),
    ));
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("UTF-8"));
}

const TOML: &str = r#"
[defaults]
role_name = "fleet-admin"
mode = "provisioned"
min_read = 5
max_read = 100
target_read = 70
min_write = 5
max_write = 100
target_write = 70.5

[[tables]]
account_id = "111111111111"
region = "us-east-1"
table = "orders"

[[tables]]
account_id = "222222222222"
region = "eu-west-1"
table = "sessions"
mode = "on_demand"
"#;

fn toml(text: &str) -> Result<Vec<DesiredTable>, InventoryErrors> {
    parse_bytes(
        "inv.toml",
        text.as_bytes(),
        Format::Toml,
        &Limits::default(),
    )
}

#[test]
fn toml_defaults_apply_and_entries_override() {
    let t = toml(TOML).unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(
        t[0].source.line, 12,
        "the line of the entry's [[tables]] header"
    );
    match t[0].mode {
        DesiredMode::Provisioned(a) => assert_eq!(a.write.target, 70.5),
        _ => panic!(),
    }
    // Thresholds inherited from [defaults] do not make an on-demand entry an error.
    assert_eq!(t[1].mode, DesiredMode::OnDemand);
    assert_eq!(
        t[1].role.as_ref().unwrap().role_arn,
        "arn:aws:iam::222222222222:role/fleet-admin"
    );
}

#[test]
fn an_entry_role_arn_overrides_a_default_role_name() {
    let text = TOML.replace(
        "table = \"orders\"",
        "table = \"orders\"\nrole_arn = \"arn:aws:iam::111111111111:role/platform/admin\"",
    );
    let t = toml(&text).unwrap();
    assert_eq!(
        t[0].role.as_ref().unwrap().role_arn,
        "arn:aws:iam::111111111111:role/platform/admin"
    );
    assert_eq!(
        t[1].role.as_ref().unwrap().role_arn,
        "arn:aws:iam::222222222222:role/fleet-admin"
    );
    // Both on the same entry is still an error.
    let text = text.replace(
        "table = \"orders\"",
        "table = \"orders\"\nrole_name = \"x\"",
    );
    let e = only_error(toml(&text));
    assert!(e.message.contains("both role_arn and role_name"), "{e}");
}

#[test]
fn toml_errors_name_the_line_of_the_field() {
    let e = only_error(toml(
        &TOML.replace("table = \"sessions\"", "tabel = \"sessions\""),
    ));
    assert_eq!(e.line, Some(20));
    assert_eq!(e.hint.as_deref(), Some("did you mean `table`?"));

    let e = only_error(toml(&TOML.replace("\"111111111111\"", "111111111111")));
    assert_eq!(e.field.as_deref(), Some("account_id"));
    assert_eq!(e.line, Some(13));
    assert!(e.hint.unwrap().contains("can start with 0"));

    let e = only_error(toml(&TOML.replace("min_read = 5", "min_read = \"five\"")));
    assert_eq!(e.line, Some(5));

    let errs = toml("[[tables]]\nregion = [1]\n").unwrap_err().0;
    let e = errs
        .iter()
        .find(|e| e.field.as_deref() == Some("region"))
        .unwrap();
    assert_eq!(
        e.to_string(),
        "inv.toml:2: field `region`: expected a string, found array"
    );
    let missing: Vec<_> = errs
        .iter()
        .filter_map(|e| e.message.strip_prefix("missing "))
        .collect();
    assert_eq!(missing, ["account id", "table name", "mode"]);

    let e = only_error(toml("[defaults\n"));
    assert_eq!(e.line, Some(1));
    assert!(e.message.contains("invalid TOML"));

    let e = only_error(toml("[defaults]\nmode = \"on_demand\"\n"));
    assert!(e.message.contains("lists no tables"));

    let e = only_error(toml("[extra]\n"));
    assert!(e.message.contains("unknown field"), "{e}");
}

#[test]
fn shipped_example_inventories_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("inventories");
    let toml = load(&dir.join("example.toml"), &Limits::default()).unwrap();
    assert_eq!(toml.tables.len(), 6);
    let csv = load(&dir.join("example.csv"), &Limits::default()).unwrap();
    assert_eq!(csv.tables.len(), 5);
    assert_eq!(toml.sha256.len(), 64);
}

// ---- fuzzing: no input may panic ----

fn corpus() -> Vec<(Format, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/inventory");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/corpus/inventory")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let format = if p.extension().is_some_and(|e| e == "toml") {
                Format::Toml
            } else {
                Format::Csv
            };
            (format, std::fs::read(p).unwrap())
        })
        .collect()
}

fn parse_without_panic(bytes: &[u8], format: Format) {
    if let Err(InventoryErrors(errors)) = parse_bytes("f", bytes, format, &Limits::default()) {
        assert!(!errors.is_empty());
        for e in errors {
            assert_eq!(e.file, "f");
            let _ = e.to_string();
        }
    }
}

const TOKENS: &[&str] = &[
    "",
    "0",
    "-1",
    "1",
    "40001",
    "99999999999999999999",
    "1e9",
    "NaN",
    "inf",
    "70.5",
    "20",
    "91",
    "on_demand",
    "provisioned",
    "PAY_PER_REQUEST",
    "all",
    "none",
    "us-east-1",
    "mars-1",
    "111111111111",
    "011111111111",
    "arn:aws:iam::111111111111:role/a/b",
    "arn:",
    "t01",
    "\"",
    ",",
    "#",
    "\u{feff}",
    "\n",
    "\r\n",
    "é",
    "[[tables]]",
    "=",
    "\"x\"",
    "standard_ia",
    "STANDARD_INFREQUENT_ACCESS",
];

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn line_numbers_match_counting_newlines(text in "[a\n\r#,]{0,60}", offset in 0usize..70) {
        let offset = offset.min(text.len());
        let counted = text[..offset].matches('\n').count() as u64 + 1;
        prop_assert_eq!(Lines::new(&text).of(offset), counted);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400), toml in any::<bool>()) {
        parse_without_panic(&bytes, if toml { Format::Toml } else { Format::Csv });
    }

    #[test]
    fn mutated_corpus_never_panics(
        pick in 0usize..64,
        edits in prop::collection::vec((0usize..8192, any::<u8>(), 0u8..3), 1..10),
    ) {
        let corpus = corpus();
        let (format, mut bytes) = corpus[pick % corpus.len()].clone();
        for (at, byte, kind) in edits {
            let at = if bytes.is_empty() { 0 } else { at % bytes.len() };
            match kind {
                0 if !bytes.is_empty() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if !bytes.is_empty() => {
                    bytes.remove(at);
                }
                _ => bytes.push(byte),
            }
        }
        parse_without_panic(&bytes, format);
        let other = if format == Format::Csv { Format::Toml } else { Format::Csv };
        parse_without_panic(&bytes, other);
    }

    #[test]
    fn token_soup_csv_never_panics(rows in prop::collection::vec(prop::collection::vec(0usize..TOKENS.len(), 0..15), 0..6)) {
        let mut text = String::from("account_id,role_arn,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write,indexes,external_id,index,max_read_request_units,max_write_request_units,table_class\n");
        for row in rows {
            let cells: Vec<&str> = row.iter().map(|i| TOKENS[*i]).collect();
            text.push_str(&cells.join(","));
            text.push('\n');
        }
        parse_without_panic(text.as_bytes(), Format::Csv);
    }

    #[test]
    fn token_soup_toml_never_panics(entries in prop::collection::vec(prop::collection::vec((0usize..FIELDS.len(), 0usize..TOKENS.len(), any::<bool>()), 0..8), 0..4)) {
        let mut text = String::new();
        for entry in entries {
            text.push_str("[[tables]]\n");
            for (f, t, quoted) in entry {
                let v = TOKENS[t].replace('"', "");
                if quoted {
                    text.push_str(&format!("{} = \"{}\"\n", FIELDS[f], v.replace(['\n', '\r'], "")));
                } else {
                    text.push_str(&format!("{} = {}\n", FIELDS[f], v));
                }
            }
        }
        parse_without_panic(text.as_bytes(), Format::Toml);
    }
}

#[test]
fn corpus_seeds_parse_without_panic() {
    let corpus = corpus();
    assert!(corpus.len() >= 5);
    for (format, bytes) in corpus {
        parse_without_panic(&bytes, format);
    }
}

#[test]
fn globs() {
    for (p, t) in [
        ("*", "orders"),
        ("orders-*", "orders-eu"),
        ("o?ders", "orders"),
        ("*-prod", "a-b-prod"),
        ("a*b*c", "aXbYc"),
        ("exact", "exact"),
    ] {
        assert!(glob_match(p, t), "{p} {t}");
    }
    for (p, t) in [
        ("orders-*", "orders"),
        ("o?ders", "oders"),
        ("*-prod", "prod-x"),
        ("a*b*c", "aXbY"),
        ("exact", "exact2"),
    ] {
        assert!(!glob_match(p, t), "{p} {t}");
    }
}

#[test]
fn index_rows_give_a_gsi_its_own_thresholds() {
    let head = "account_id,region,table,index,mode,min_read,max_read,target_read,min_write,max_write,target_write,indexes\n";
    let text = format!("{head}111111111111,us-east-1,orders,,provisioned,5,100,70,5,100,70,none\n111111111111,us-east-1,orders,by-date,provisioned,1,10,50,2,20,60,\n");
    let t = parse_bytes("i.csv", text.as_bytes(), Format::Csv, &Limits::default()).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(
        t[0].index_overrides["by-date"].read,
        Thresholds {
            min: 1,
            max: 10,
            target: 50.0
        }
    );

    let bad = [
        (format!("{head}111111111111,us-east-1,orders,by-date,provisioned,1,10,50,2,20,60,\n"), "no row for table `orders`"),
        (format!("{head}111111111111,us-east-1,orders,,on_demand,,,,,,,\n111111111111,us-east-1,orders,by-date,provisioned,1,10,50,2,20,60,\n"), "is not provisioned"),
        (format!("{head}111111111111,us-east-1,orders,,provisioned,5,100,70,5,100,70,\n111111111111,us-east-1,orders,by-date,provisioned,1,10,50,2,20,60,\n111111111111,us-east-1,orders,by-date,provisioned,1,10,50,2,20,60,\n"), "duplicate index row"),
        (format!("{head}111111111111,us-east-1,orders,,provisioned,5,100,70,5,100,70,\n111111111111,us-east-1,orders,by-date,provisioned,1,10,50,2,20,60,all\n"), "an index row takes only"),
    ];
    for (text, words) in bad {
        let e = parse_bytes("i.csv", text.as_bytes(), Format::Csv, &Limits::default()).unwrap_err();
        assert!(e.to_string().contains(words), "{e}");
    }
}

#[test]
fn region_names() {
    for ok in [
        "us-east-1",
        "eu-central-2",
        "us-gov-west-1",
        "cn-north-1",
        "us-isob-east-1",
        "ap-southeast-7",
    ] {
        assert!(valid_region(ok), "{ok}");
    }
    for bad in [
        "us-east1",
        "US-EAST-1",
        "useast-1",
        "us-east-0",
        "us--1",
        "us-east-1a",
        "east-1",
    ] {
        assert!(!valid_region(bad), "{bad}");
    }
}

#[test]
fn caps_and_class_are_read_from_csv_and_toml() {
    let head = "account_id,region,table,index,mode,max_read_request_units,max_write_request_units,table_class\n";
    let text = format!(
        "{head}111111111111,us-east-1,orders,,on_demand,100,none,STANDARD_INFREQUENT_ACCESS\n\
         111111111111,us-east-1,orders,by-date,on_demand,,5,\n\
         111111111111,us-east-1,users,,on_demand,,,standard\n"
    );
    let t = parse_bytes("i.csv", text.as_bytes(), Format::Csv, &Limits::default()).unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(
        t[0].caps,
        OnDemandCaps {
            read: Some(Cap::Max(100)),
            write: Some(Cap::Unlimited)
        }
    );
    assert_eq!(t[0].table_class, Some(TableClass::StandardInfrequentAccess));
    assert_eq!(
        t[0].index_caps["by-date"],
        OnDemandCaps {
            read: None,
            write: Some(Cap::Max(5))
        }
    );
    assert!(t[1].caps.is_unset(), "absent: left as it is");
    assert_eq!(t[1].table_class, Some(TableClass::Standard));

    // [defaults] give every on-demand entry its caps; a provisioned entry ignores them.
    let text = r#"
[defaults]
max_read_request_units = 500
table_class = "standard_ia"

[[tables]]
account_id = "111111111111"
region = "us-east-1"
table = "orders"
mode = "on_demand"

[[tables]]
account_id = "111111111111"
region = "us-east-1"
table = "ledger"
mode = "provisioned"
min_read = 1
max_read = 10
target_read = 70
min_write = 1
max_write = 10
target_write = 70
"#;
    let t = toml(text).unwrap();
    assert_eq!(t[0].caps.read, Some(Cap::Max(500)));
    assert!(t[1].caps.is_unset());
    assert_eq!(t[1].table_class, Some(TableClass::StandardInfrequentAccess));
}

#[test]
fn bad_caps_and_classes_name_the_field_and_what_to_do() {
    let head = "account_id,region,table,index,mode,min_read,max_read,target_read,min_write,max_write,target_write,max_read_request_units,max_write_request_units,table_class\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "111111111111,us-east-1,t01,,on_demand,,,,,,,0,,\n",
            "max_read_request_units",
            "would refuse every request",
        ),
        (
            "111111111111,us-east-1,t01,,on_demand,,,,,,,,-5,\n",
            "max_write_request_units",
            "would refuse every request",
        ),
        (
            "111111111111,us-east-1,t01,,on_demand,,,,,,,lots,,\n",
            "max_read_request_units",
            "expected request units per second or `none`",
        ),
        (
            "111111111111,us-east-1,t01,,on_demand,,,,,,,40001,,\n",
            "max_read_request_units",
            "at most 40000",
        ),
        (
            "111111111111,us-east-1,t01,,provisioned,1,5,70,1,5,70,100,,\n",
            "max_read_request_units",
            "set on a provisioned row",
        ),
        (
            "111111111111,us-east-1,t01,,on_demand,,,,,,,,,standard-iaa\n",
            "table_class",
            "did you mean `standard_ia`?",
        ),
        (
            "111111111111,us-east-1,t01,,on_demand,,,,,,,,,glacier\n",
            "table_class",
            "use standard or standard_ia",
        ),
    ];
    for (row, field, needle) in cases {
        let text = format!("{head}{row}");
        let e = only_error(parse_bytes(
            "inv.csv",
            text.as_bytes(),
            Format::Csv,
            &Limits::default(),
        ));
        assert_eq!((e.file.as_str(), e.line), ("inv.csv", Some(2)), "{row}");
        assert_eq!(e.field.as_deref(), Some(*field), "{row}: {e}");
        assert!(e.to_string().contains(needle), "{row}: {e}");
    }
    // --max-capacity-units raises the bound.
    let text = format!("{head}111111111111,us-east-1,t01,,on_demand,,,,,,,40001,,\n");
    let raised = Limits {
        max_capacity_units: 80_000,
        ..Limits::default()
    };
    assert!(parse_bytes("inv.csv", text.as_bytes(), Format::Csv, &raised).is_ok());
}

#[test]
fn index_rows_carry_caps_only_for_on_demand_tables_and_never_a_class() {
    let head = "account_id,region,table,index,mode,min_read,max_read,target_read,min_write,max_write,target_write,max_read_request_units,table_class\n";
    let table_od = "111111111111,us-east-1,orders,,on_demand,,,,,,,,\n";
    let table_prov = "111111111111,us-east-1,orders,,provisioned,1,5,70,1,5,70,,\n";
    let bad = [
        (
            format!("{head}{table_od}111111111111,us-east-1,orders,gs1,on_demand,,,,,,,5,standard_ia\n"),
            "table_class",
            "table-wide",
        ),
        (
            format!("{head}{table_od}111111111111,us-east-1,orders,gs1,on_demand,,,,,,,,\n"),
            "index",
            "sets nothing",
        ),
        (
            format!("{head}{table_prov}111111111111,us-east-1,orders,gs1,on_demand,,,,,,,10,\n"),
            "index",
            "is provisioned",
        ),
        (
            format!("{head}{table_od}111111111111,us-east-1,orders,gs1,on_demand,,,,,,,10,\n111111111111,us-east-1,orders,gs1,on_demand,,,,,,,20,\n"),
            "index",
            "duplicate index row",
        ),
    ];
    for (text, field, needle) in bad {
        let e = only_error(parse_bytes(
            "i.csv",
            text.as_bytes(),
            Format::Csv,
            &Limits::default(),
        ));
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }
}

/// Regression: a wrong `[defaults]` value was reported once per table inheriting it.
#[test]
fn a_defaults_error_is_reported_once_at_its_line() {
    let text = "[defaults]\nrole_name = \"ops\"\nmode = \"provisioned\"\nmin_read = 5\nmax_read = 2\ntarget_read = 70\nmin_write = 1\nmax_write = 10\ntarget_write = 70\n\n[[tables]]\naccount_id = \"111111111111\"\nregion = \"us-east-1\"\ntable = \"orders\"\n\n[[tables]]\naccount_id = \"111111111111\"\nregion = \"us-east-1\"\ntable = \"carts\"\n";
    let e = only_error(toml(text));
    assert_eq!(
        (e.line, e.field.as_deref()),
        (Some(4), Some("min_read")),
        "{e}"
    );
}

/// Regression: `eu-wset-1` passed `validate` and failed later with a DNS error. A region
/// this release does not know is refused with the nearest known name, unless allowed.
#[test]
fn an_unknown_region_is_refused_with_a_suggestion_unless_allowed() {
    let row = "111111111111,ops,eu-wset-1,orders,on_demand,,,,,,,\n";
    let e = only_error(csv(row));
    assert_eq!(e.field.as_deref(), Some("region"));
    assert!(e.to_string().contains("did you mean eu-west-1?"), "{e}");
    let allowed = Limits {
        allowed_regions: vec!["eu-wset-1".into()],
        ..Limits::default()
    };
    let text = format!("{HEADER}{row}");
    assert!(parse_bytes("inv.csv", text.as_bytes(), Format::Csv, &allowed).is_ok());
}
