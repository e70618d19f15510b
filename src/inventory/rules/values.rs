//! Reading one value of a row: as text, a whole number in a range or a percentage, and
//! recording an error against the row's file, line and field when it is not one.

use super::super::raw::{raw_type, Raw};
use super::capacity::TARGET_RANGE;
use super::RowValidator;
use crate::inventory::InventoryError;

impl RowValidator<'_> {
    /// Where the user sets `field`, in the words of the input: a CSV cell, a TOML entry or
    /// `[defaults]`, a flag.
    pub(super) fn where_to_set(&self, field: &str) -> String {
        if self.label == crate::inventory::error::COMMAND_LINE {
            "give it on the command line".into()
        } else if self.label.to_ascii_lowercase().ends_with(".toml") {
            format!("set `{field}` in this [[tables]] entry or in [defaults]")
        } else {
            format!("fill in the row's `{field}` cell")
        }
    }

    pub(super) fn error(&mut self, field: &str, message: String, hint: Option<String>) {
        let line = self
            .row
            .fields
            .get(field)
            .map(|f| f.line)
            .unwrap_or(self.row.line);
        // A value inherited from TOML `[defaults]` is fixed there, at the line named.
        let inherited = self.row.fields.get(field).is_some_and(|f| !f.explicit);
        let hint = match (inherited, hint) {
            (true, Some(h)) => Some(format!("{h}; the value comes from [defaults]")),
            (true, None) => Some("the value comes from [defaults]".into()),
            (false, h) => h,
        };
        self.errors.push(InventoryError {
            file: self.label.into(),
            line: Some(line),
            field: Some(field.into()),
            message,
            hint,
        });
    }

    pub(super) fn text(&mut self, field: &str) -> Option<String> {
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

    pub(super) fn required_text(&mut self, field: &str, what: &str) -> Option<String> {
        let v = self.text(field);
        if v.is_none() && !self.row.fields.contains_key(field) {
            self.error(field, format!("missing {what}"), None);
        }
        v
    }

    pub(super) fn integer(&mut self, field: &str, lo: i64, hi: i64) -> Option<i64> {
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

    pub(super) fn percent(&mut self, field: &str) -> Option<f64> {
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
}
