//! The inventory: CSV or TOML rows naming tables and the capacity they should have.
//!
//! Both formats are first read into [`RawRow`]s (field name → value, with line numbers), then
//! one validator turns raw rows into [`DesiredTable`]s. Validation covers the whole file and
//! collects every error ([`InventoryErrors`]) before anything talks to AWS: an inventory is
//! either entirely valid or not used at all.

use crate::model::*;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

/// Every field an inventory row may carry; anything else is an error.
pub const FIELDS: &[&str] = &[
    "account_id",
    "role_arn",
    "role_name",
    "external_id",
    "region",
    "table",
    "mode",
    "min_read",
    "max_read",
    "target_read",
    "min_write",
    "max_write",
    "target_write",
    "indexes",
    "index",
];

const THRESHOLD_FIELDS: &[&str] = &[
    "min_read",
    "max_read",
    "target_read",
    "min_write",
    "max_write",
    "target_write",
];

/// Target utilisation DynamoDB auto scaling accepts, in percent.
pub const TARGET_RANGE: (f64, f64) = (20.0, 90.0);

/// Bounds applied to capacity units. The upper bound is AWS's default per-table quota
/// (40,000 RCU/WCU); accounts with a raised quota pass `--max-capacity-units`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_capacity_units: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_capacity_units: 40_000,
        }
    }
}

/// One problem in an inventory, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryError {
    pub file: String,
    pub line: Option<u64>,
    pub field: Option<String>,
    pub message: String,
    /// What to do about it, when there is something specific to say.
    pub hint: Option<String>,
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// All the problems found in one inventory.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct InventoryErrors(pub Vec<InventoryError>);

impl fmt::Display for InventoryErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "invalid inventory: {n} error{}; nothing was changed",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

/// A validated inventory.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub path: String,
    pub sha256: String,
    pub tables: Vec<DesiredTable>,
}

/// A value as written, before validation.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Another TOML type (array, table, date); the name is for the message.
    Other(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawField {
    pub value: Raw,
    pub line: u64,
    /// Written on the row itself (not inherited from TOML `[defaults]`).
    pub explicit: bool,
}

/// One row as read from CSV, TOML or the single-table flags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawRow {
    pub line: u64,
    pub fields: BTreeMap<String, RawField>,
}

impl RawRow {
    pub fn insert(&mut self, name: &str, value: Raw, line: u64, explicit: bool) {
        self.fields.insert(
            name.to_string(),
            RawField {
                value,
                line,
                explicit,
            },
        );
    }
}

/// Reads and validates an inventory file (format by extension: `.csv` or `.toml`).
pub fn load(path: &Path, limits: &Limits) -> Result<Inventory, InventoryErrors> {
    let label = path.display().to_string();
    let one = |message: String, hint: Option<String>| {
        InventoryErrors(vec![InventoryError {
            file: label.clone(),
            line: None,
            field: None,
            message,
            hint,
        }])
    };
    let bytes = std::fs::read(path).map_err(|e| {
        one(
            format!("cannot read inventory: {e}"),
            Some("check the path".into()),
        )
    })?;
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
        Some(e) if e.eq_ignore_ascii_case("toml") => Format::Toml,
        _ => {
            return Err(one(
                "unknown inventory format".into(),
                Some("name the file *.csv or *.toml".into()),
            ))
        }
    };
    let tables = parse_bytes(&label, &bytes, format, limits)?;
    Ok(Inventory {
        path: label,
        sha256: sha256_hex(&bytes),
        tables,
    })
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Toml,
}

/// Parses and validates inventory bytes; `label` names the file in errors.
pub fn parse_bytes(
    label: &str,
    bytes: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<Vec<DesiredTable>, InventoryErrors> {
    let err = |line: Option<u64>, message: String, hint: Option<&str>| InventoryError {
        file: label.to_string(),
        line,
        field: None,
        message,
        hint: hint.map(str::to_string),
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64
                + 1;
            return Err(InventoryErrors(vec![err(
                Some(line),
                "not valid UTF-8".into(),
                Some("save the file as UTF-8"),
            )]));
        }
    };
    // Spreadsheet programs often write a UTF-8 byte order mark: accept it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rows = match format {
        Format::Csv => read_csv(label, text),
        Format::Toml => read_toml(label, text),
    }?;
    if rows.is_empty() {
        return Err(InventoryErrors(vec![err(
            None,
            "the inventory lists no tables".into(),
            Some(match format {
                Format::Csv => "add one row per table below the header",
                Format::Toml => "add [[tables]] entries",
            }),
        )]));
    }
    validate_rows(label, &rows, limits, true)
}

fn read_csv(label: &str, text: &str) -> Result<Vec<RawRow>, InventoryErrors> {
    let lines = Lines::new(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .comment(Some(b'#'))
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut errors = Vec::new();
    let mut header: Option<(u64, Vec<String>)> = None;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(InventoryError {
                    file: label.into(),
                    line: e.position().map(|p| lines.of(p.byte() as usize)),
                    field: None,
                    message: format!("malformed CSV: {e}"),
                    hint: Some("check quoting on this line".into()),
                });
                continue;
            }
        };
        let line = record
            .position()
            .map(|p| record_line(text, &lines, p.byte() as usize))
            .unwrap_or(0);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let Some((_, names)) = &header else {
            let names: Vec<String> = record.iter().map(str::to_string).collect();
            let mut seen = HashMap::new();
            for name in &names {
                if !FIELDS.contains(&name.as_str()) {
                    errors.push(unknown_field(label, line, name));
                } else if seen.insert(name.clone(), ()).is_some() {
                    errors.push(InventoryError {
                        file: label.into(),
                        line: Some(line),
                        field: Some(name.clone()),
                        message: "column appears twice in the header".into(),
                        hint: None,
                    });
                }
            }
            for required in ["region", "table"] {
                if !names.iter().any(|n| n == required) {
                    errors.push(InventoryError {
                        file: label.into(),
                        line: Some(line),
                        field: Some(required.into()),
                        message: "required column missing from the header".into(),
                        hint: Some(format!("add a `{required}` column")),
                    });
                }
            }
            header = Some((line, names));
            continue;
        };
        if record.len() != names.len() {
            errors.push(InventoryError {
                file: label.into(),
                line: Some(line),
                field: None,
                message: format!(
                    "row has {} fields but the header has {}",
                    record.len(),
                    names.len()
                ),
                hint: Some(
                    "every row needs one value per column (leave a cell empty, not out)".into(),
                ),
            });
            continue;
        }
        let mut row = RawRow {
            line,
            ..RawRow::default()
        };
        for (name, value) in names.iter().zip(record.iter()) {
            if !value.is_empty() && FIELDS.contains(&name.as_str()) {
                row.insert(name, Raw::Text(value.to_string()), line, true);
            }
        }
        rows.push(row);
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(InventoryErrors(errors))
    }
}

type TomlEntry = BTreeMap<String, toml::Spanned<toml::Value>>;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlInventory {
    #[serde(default)]
    defaults: Option<toml::Spanned<TomlEntry>>,
    #[serde(default)]
    tables: Vec<toml::Spanned<TomlEntry>>,
}

/// The line a CSV record starts on. The csv crate counts neither comment nor blank lines and
/// reports the offset where it began reading, before the lines it skipped: skip them here too.
fn record_line(text: &str, lines: &Lines, offset: usize) -> u64 {
    let mut line = lines.of(offset);
    for l in text[offset.min(text.len())..].split('\n') {
        let l = l.trim_end_matches('\r');
        if !(l.is_empty() || l.starts_with('#')) {
            break;
        }
        line += 1;
    }
    line
}

/// Line numbers of byte offsets in one text: the newlines are found once, and each lookup is a
/// binary search. (Counting newlines from the start for every row made a large inventory
/// quadratic to read: 10,000 rows took a second of CPU.)
struct Lines {
    newlines: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        Lines {
            newlines: text.match_indices('\n').map(|(i, _)| i).collect(),
        }
    }

    /// The 1-based line holding byte `offset`.
    fn of(&self, offset: usize) -> u64 {
        self.newlines.partition_point(|&n| n < offset) as u64 + 1
    }
}

fn read_toml(label: &str, text: &str) -> Result<Vec<RawRow>, InventoryErrors> {
    let lines = Lines::new(text);
    let doc: TomlInventory = toml::from_str(text).map_err(|e| {
        InventoryErrors(vec![InventoryError {
            file: label.into(),
            line: e.span().map(|s| lines.of(s.start)),
            field: None,
            message: format!("invalid TOML: {}", e.message().trim()),
            hint: Some("the file has a `[defaults]` table and `[[tables]]` entries".into()),
        }])
    })?;
    let mut errors = Vec::new();
    let mut convert = |entry: &TomlEntry, explicit: bool, row: &mut RawRow| {
        for (name, value) in entry {
            let line = lines.of(value.span().start);
            if !FIELDS.contains(&name.as_str()) {
                errors.push(unknown_field(label, line, name));
                continue;
            }
            let raw = match value.get_ref() {
                toml::Value::String(s) => Raw::Text(s.trim().to_string()),
                toml::Value::Integer(i) => Raw::Int(*i),
                toml::Value::Float(f) => Raw::Float(*f),
                toml::Value::Boolean(b) => Raw::Bool(*b),
                other => Raw::Other(other.type_str()),
            };
            row.insert(name, raw, line, explicit);
        }
    };
    let mut defaults = RawRow::default();
    if let Some(d) = &doc.defaults {
        convert(d.get_ref(), false, &mut defaults);
    }
    let mut rows = Vec::new();
    for entry in &doc.tables {
        let mut row = defaults.clone();
        row.line = lines.of(entry.span().start);
        // An entry's own choice of role replaces the default's, whichever form each uses.
        let entry = entry.get_ref();
        if entry.contains_key("role_arn") || entry.contains_key("role_name") {
            row.fields.remove("role_arn");
            row.fields.remove("role_name");
        }
        convert(entry, true, &mut row);
        rows.push(row);
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(InventoryErrors(errors))
    }
}

fn unknown_field(label: &str, line: u64, name: &str) -> InventoryError {
    let hint = match suggest(name, FIELDS) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("known fields: {}", FIELDS.join(", ")),
    };
    InventoryError {
        file: label.into(),
        line: Some(line),
        field: Some(name.into()),
        message: "unknown field".into(),
        hint: Some(hint),
    }
}

/// The closest known name, if it is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&name, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance counting a swap of two neighbours as one edit (optimal string alignment):
/// `tabel` is one typo away from `table`.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// Validates raw rows into desired tables, collecting every error. `require_account` is false
/// only for the single-table flags, whose account is the caller's own.
pub fn validate_rows(
    label: &str,
    rows: &[RawRow],
    limits: &Limits,
    require_account: bool,
) -> Result<Vec<DesiredTable>, InventoryErrors> {
    let mut errors = Vec::new();
    let mut tables = Vec::new();
    let mut index_rows: Vec<(u64, String, DesiredTable)> = Vec::new();
    let mut seen: HashMap<(String, String, String), u64> = HashMap::new();
    for row in rows {
        let mut v = RowValidator {
            label,
            row,
            errors: Vec::new(),
        };
        let table = v.validate(limits, require_account);
        let index = v.index_row();
        errors.append(&mut v.errors);
        if let (Some(t), Some(index)) = (&table, index) {
            index_rows.push((row.line, index, t.clone()));
            continue;
        }
        if let Some(t) = table {
            let key = (t.account_id.clone(), t.region.clone(), t.table.clone());
            if let Some(first) = seen.insert(key, row.line) {
                errors.push(InventoryError {
                    file: label.into(),
                    line: Some(row.line),
                    field: Some("table".into()),
                    message: format!(
                        "duplicate row for table `{}` in {} {} (first at line {first})",
                        t.table, t.account_id, t.region
                    ),
                    hint: Some("keep one row per (account_id, region, table)".into()),
                });
                // Restore the first line so a third duplicate names the first too.
                seen.insert(
                    (t.account_id.clone(), t.region.clone(), t.table.clone()),
                    first,
                );
            }
            tables.push(t);
        }
    }
    // Index rows give one GSI of a provisioned table row its own thresholds.
    for (line, index, row) in index_rows {
        let err = |message: String, hint: &str| InventoryError {
            file: label.into(),
            line: Some(line),
            field: Some("index".into()),
            message,
            hint: Some(hint.into()),
        };
        let DesiredMode::Provisioned(scaling) = row.mode else {
            errors.push(err(
                format!("index row for `{index}` is not provisioned"),
                "an index row gives a GSI its own auto scaling: mode provisioned, with thresholds",
            ));
            continue;
        };
        let Some(t) = tables.iter_mut().find(|t| {
            t.account_id == row.account_id && t.region == row.region && t.table == row.table
        }) else {
            errors.push(err(
                format!(
                    "no row for table `{}` in {} {} to attach index `{index}` to",
                    row.table, row.account_id, row.region
                ),
                "add a row for the table itself",
            ));
            continue;
        };
        if !matches!(t.mode, DesiredMode::Provisioned(_)) {
            errors.push(err(
                format!(
                    "table `{}` is not provisioned: its indexes have no auto scaling",
                    t.table
                ),
                "remove the index row, or make the table provisioned",
            ));
        } else if t.index_overrides.insert(index.clone(), scaling).is_some() {
            errors.push(err(
                format!("duplicate index row for `{index}` of table `{}`", t.table),
                "keep one row per index",
            ));
        }
    }
    if errors.is_empty() {
        Ok(tables)
    } else {
        Err(InventoryErrors(errors))
    }
}

struct RowValidator<'a> {
    label: &'a str,
    row: &'a RawRow,
    errors: Vec<InventoryError>,
}

impl RowValidator<'_> {
    /// The GSI an `index` row names, checked: only identity, mode and thresholds may be
    /// written on such a row.
    fn index_row(&mut self) -> Option<String> {
        let index = self.text("index")?;
        if index.len() < 3 || index.len() > 255 || !valid_table_name(&index) {
            self.error(
                "index",
                format!("`{index}` is not a valid index name"),
                Some("3 to 255 characters: letters, digits, _ - .".into()),
            );
        }
        if self
            .row
            .fields
            .get("table")
            .is_some_and(|f| matches!(&f.value, Raw::Text(t) if is_pattern(t)))
        {
            self.error(
                "index",
                "an index row names one table, not a pattern".into(),
                None,
            );
        }
        for f in ["role_arn", "role_name", "external_id", "indexes"] {
            if self.row.fields.get(f).is_some_and(|v| v.explicit) {
                self.error(
                    f,
                    "an index row takes only account_id, region, table, index, mode and thresholds"
                        .into(),
                    Some("set it on the table's own row".into()),
                );
            }
        }
        Some(index)
    }

    fn error(&mut self, field: &str, message: String, hint: Option<String>) {
        let line = self
            .row
            .fields
            .get(field)
            .map(|f| f.line)
            .unwrap_or(self.row.line);
        self.errors.push(InventoryError {
            file: self.label.into(),
            line: Some(line),
            field: Some(field.into()),
            message,
            hint,
        });
    }

    fn text(&mut self, field: &str) -> Option<String> {
        match &self.row.fields.get(field)?.value {
            Raw::Text(s) => Some(s.clone()),
            other => {
                let what = raw_type(other);
                let hint = match other {
                    Raw::Int(_) if field == "account_id" => {
                        Some("write account ids as strings in quotes: they can start with 0")
                    }
                    Raw::Int(_) | Raw::Float(_) | Raw::Bool(_) => Some("write it in quotes"),
                    _ => None,
                };
                self.error(
                    field,
                    format!("expected a string, found {what}"),
                    hint.map(str::to_string),
                );
                None
            }
        }
    }

    fn required_text(&mut self, field: &str, what: &str) -> Option<String> {
        let v = self.text(field);
        if v.is_none() && !self.row.fields.contains_key(field) {
            self.error(field, format!("missing {what}"), None);
        }
        v
    }

    fn integer(&mut self, field: &str, lo: i64, hi: i64) -> Option<i64> {
        let v = match &self.row.fields.get(field)?.value {
            Raw::Int(i) => *i,
            Raw::Text(s) => match s.parse::<i64>() {
                Ok(i) => i,
                Err(_) => {
                    self.error(field, format!("expected a whole number, found `{s}`"), None);
                    return None;
                }
            },
            other => {
                let what = raw_type(other);
                self.error(
                    field,
                    format!("expected a whole number, found {what}"),
                    None,
                );
                return None;
            }
        };
        if v < lo || v > hi {
            let hint = (v > hi && hi > 1).then(|| {
                "the limit is AWS's default per-table quota; pass --max-capacity-units if your account's quota is higher".to_string()
            });
            self.error(
                field,
                format!("capacity units must be between {lo} and {hi}, found {v}"),
                hint,
            );
            return None;
        }
        Some(v)
    }

    fn percent(&mut self, field: &str) -> Option<f64> {
        let v = match &self.row.fields.get(field)?.value {
            Raw::Int(i) => *i as f64,
            Raw::Float(f) => *f,
            Raw::Text(s) => match s.trim_end_matches('%').parse::<f64>() {
                Ok(f) => f,
                Err(_) => {
                    self.error(field, format!("expected a percentage, found `{s}`"), None);
                    return None;
                }
            },
            other => {
                let what = raw_type(other);
                self.error(field, format!("expected a percentage, found {what}"), None);
                return None;
            }
        };
        let (lo, hi) = TARGET_RANGE;
        if !(lo..=hi).contains(&v) {
            self.error(
                field,
                format!("target utilisation must be between {lo} and {hi} percent, found {v}"),
                Some("this is the range DynamoDB auto scaling accepts".into()),
            );
            return None;
        }
        Some(v)
    }

    fn validate(&mut self, limits: &Limits, require_account: bool) -> Option<DesiredTable> {
        let account_id = if require_account || self.row.fields.contains_key("account_id") {
            let a = self.required_text("account_id", "account id");
            match a {
                Some(a) if valid_account_id(&a) => Some(a),
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
        } else {
            Some(String::new())
        };

        let role_arn = self.text("role_arn");
        let role_name = self.text("role_name");
        let external_id = self.text("external_id");
        let mut role = None;
        match (role_arn, role_name) {
            (Some(_), Some(_)) => self.error(
                "role_name",
                "both role_arn and role_name are set".into(),
                Some("give one of them".into()),
            ),
            (Some(arn), None) => match parse_role_arn(&arn) {
                Ok(arn_account) => {
                    if let Some(acct) = &account_id {
                        if !acct.is_empty() && *acct != arn_account {
                            self.error(
                                "role_arn",
                                format!(
                                    "role_arn is in account {arn_account} but account_id is {acct}"
                                ),
                                Some("a role in another account would change the wrong tables: fix whichever is wrong".into()),
                            );
                        }
                    }
                    role = Some(arn);
                }
                Err(why) => self.error(
                    "role_arn",
                    format!("`{arn}` is not an IAM role ARN: {why}"),
                    Some("expected arn:aws:iam::123456789012:role/NAME".into()),
                ),
            },
            (None, Some(name)) => {
                if valid_role_name(&name) {
                    if let Some(acct) = &account_id {
                        if acct.is_empty() {
                            self.error(
                                "role_name",
                                "role_name needs an account id to expand into a role ARN".into(),
                                Some("use a full role ARN".into()),
                            );
                        } else {
                            role = Some(format!("arn:aws:iam::{acct}:role/{name}"));
                        }
                    }
                } else {
                    self.error(
                        "role_name",
                        format!("`{name}` is not a valid IAM role name"),
                        Some("1 to 64 characters: letters, digits and +=,.@_-".into()),
                    );
                }
            }
            (None, None) => {}
        }
        if let Some(ext) = &external_id {
            if role.is_none() && !self.row.fields.contains_key("role_arn") {
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
                    "external_id must be 2 to 1224 characters of letters, digits and +=,.@:/-_"
                        .into(),
                    None,
                );
            }
        }

        let region = self.required_text("region", "region");
        if let Some(r) = &region {
            if !valid_region(r) {
                self.error(
                    "region",
                    format!("`{r}` is not an AWS region name"),
                    Some("expected a name like us-east-1 or eu-central-2".into()),
                );
            }
        }
        let table = self.required_text("table", "table name");
        if let Some(t) = &table {
            if is_pattern(t) {
                if !require_account {
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
            } else if !valid_table_name(t) {
                self.error(
                    "table",
                    format!("`{t}` is not a valid DynamoDB table name"),
                    Some("3 to 255 characters: letters, digits, _ - .".into()),
                );
            }
        }

        let mode = match self.required_text("mode", "mode") {
            Some(m) => match m.to_ascii_lowercase().replace('-', "_").as_str() {
                "on_demand" | "ondemand" | "pay_per_request" => Some(BillingMode::OnDemand),
                "provisioned" => Some(BillingMode::Provisioned),
                _ => {
                    self.error(
                        "mode",
                        format!("unknown mode `{m}`"),
                        Some("use on_demand or provisioned".into()),
                    );
                    None
                }
            },
            None => None,
        };

        let indexes = match self.text("indexes") {
            None => Some(IndexScope::All),
            Some(s) => match s.to_ascii_lowercase().as_str() {
                "all" => Some(IndexScope::All),
                "none" => Some(IndexScope::None),
                _ => {
                    self.error(
                        "indexes",
                        format!("unknown value `{s}`"),
                        Some("use all or none".into()),
                    );
                    None
                }
            },
        };

        let desired_mode = match mode {
            Some(BillingMode::OnDemand) => {
                // Thresholds written on an on-demand row are most likely a wrong `mode`:
                // refuse rather than silently drop them. Inherited defaults are fine.
                for f in THRESHOLD_FIELDS {
                    if self.row.fields.get(*f).is_some_and(|v| v.explicit) {
                        self.error(
                            f,
                            "auto scaling thresholds are set on an on_demand row".into(),
                            Some("remove them, or set mode to provisioned".into()),
                        );
                    }
                }
                Some(DesiredMode::OnDemand)
            }
            Some(BillingMode::Provisioned) => {
                let read = self.thresholds("read", limits);
                let write = self.thresholds("write", limits);
                match (read, write) {
                    (Some(read), Some(write)) => {
                        Some(DesiredMode::Provisioned(AutoScaling { read, write }))
                    }
                    _ => None,
                }
            }
            None => None,
        };

        Some(DesiredTable {
            source: Source {
                file: self.label.into(),
                line: self.row.line,
            },
            account_id: account_id?,
            role: role.map(|role_arn| RoleSpec {
                role_arn,
                external_id: external_id.clone(),
            }),
            region: region?,
            table: table?,
            mode: desired_mode?,
            indexes: indexes?,
            index_overrides: Default::default(),
            restore: None,
        })
        .filter(|_| self.errors.is_empty())
    }

    fn thresholds(&mut self, side: &str, limits: &Limits) -> Option<Thresholds> {
        let (min_f, max_f, target_f) = (
            format!("min_{side}"),
            format!("max_{side}"),
            format!("target_{side}"),
        );
        let mut missing = false;
        for f in [&min_f, &max_f, &target_f] {
            if !self.row.fields.contains_key(f.as_str()) {
                self.error(
                    f,
                    "missing: provisioned tables need min, max and target for read and write"
                        .into(),
                    Some("set it on the row or in [defaults]".into()),
                );
                missing = true;
            }
        }
        if missing {
            return None;
        }
        let min = self.integer(&min_f, 1, limits.max_capacity_units);
        let max = self.integer(&max_f, 1, limits.max_capacity_units);
        let target = self.percent(&target_f);
        let (min, max, target) = (min?, max?, target?);
        if min > max {
            self.error(
                &min_f,
                format!("{min_f} ({min}) is greater than {max_f} ({max})"),
                None,
            );
            return None;
        }
        Some(Thresholds { min, max, target })
    }
}

fn raw_type(raw: &Raw) -> &'static str {
    match raw {
        Raw::Text(_) => "a string",
        Raw::Int(_) => "an integer",
        Raw::Float(_) => "a float",
        Raw::Bool(_) => "a boolean",
        Raw::Other(t) => t,
    }
}

/// A 12-digit AWS account id.
pub fn valid_account_id(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

/// Checks an IAM role ARN and returns its account id.
pub fn parse_role_arn(arn: &str) -> Result<String, &'static str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Err("it must have the form arn:PARTITION:iam::ACCOUNT:role/NAME");
    }
    if !parts[1].starts_with("aws") {
        return Err("unknown partition");
    }
    if parts[2] != "iam" || !parts[3].is_empty() {
        return Err("not an IAM ARN");
    }
    if !valid_account_id(parts[4]) {
        return Err("the account part is not 12 digits");
    }
    let Some(path_and_name) = parts[5].strip_prefix("role/") else {
        return Err("not a role");
    };
    let name = path_and_name.rsplit('/').next().unwrap_or("");
    if !valid_role_name(name) {
        return Err("invalid role name");
    }
    Ok(parts[4].to_string())
}

fn valid_role_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// AWS region names: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`.
pub fn valid_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 4
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() <= 2
        && parts[parts.len() - 1].parse::<u8>().is_ok_and(|n| n >= 1)
}

/// Whether a `table` value is a pattern (`orders-*`, `*`) to expand through ListTables.
pub fn is_pattern(table: &str) -> bool {
    table.contains(['*', '?'])
}

/// Shell-style glob: `*` matches any run of characters, `?` any one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None; // (pattern index after `*`, text index)
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi + 1, ti));
            pi += 1;
        } else if let Some((bp, bt)) = backtrack {
            pi = bp;
            ti = bt + 1;
            backtrack = Some((bp, bt + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn valid_table_name(t: &str) -> bool {
    (3..=255).contains(&t.len())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

#[cfg(test)]
mod tests {
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
            let mut text = String::from("account_id,role_arn,region,table,mode,min_read,max_read,target_read,min_write,max_write,target_write,indexes,external_id\n");
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
            let e =
                parse_bytes("i.csv", text.as_bytes(), Format::Csv, &Limits::default()).unwrap_err();
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
}
