//! `table_class`: `standard` or `standard_ia` (`STANDARD_INFREQUENT_ACCESS` too, any case), on
//! table rows of either mode; absent, the class is left as it is. The class is table-wide, so
//! an index row may not set it (see `index`).

use super::super::names::suggest;
use super::RowValidator;
use crate::model::TableClass;

/// The spellings accepted, lower case.
const CLASSES: &[&str] = &["standard", "standard_ia", "standard_infrequent_access"];

impl RowValidator<'_> {
    /// `Some(None)` when the row does not state a class; `None` when the value is wrong (the
    /// error is recorded).
    pub(super) fn table_class(&mut self) -> Option<Option<TableClass>> {
        let Some(c) = self.text("table_class") else {
            return Some(None);
        };
        match c.to_ascii_lowercase().replace('-', "_").as_str() {
            "standard" => Some(Some(TableClass::Standard)),
            "standard_ia" | "standard_infrequent_access" => {
                Some(Some(TableClass::StandardInfrequentAccess))
            }
            other => {
                let hint = match suggest(other, CLASSES) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "use standard or standard_ia".into(),
                };
                self.error(
                    "table_class",
                    format!("unknown table class `{c}`"),
                    Some(hint),
                );
                None
            }
        }
    }
}
