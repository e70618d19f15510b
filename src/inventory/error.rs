//! [`InventoryError`]: one problem in an inventory, located by file, line and field, with
//! what to do about it; [`InventoryErrors`]: every problem found in one inventory.

use std::fmt;

/// One problem in an inventory, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InventoryError {
    pub file: String,
    pub line: Option<u64>,
    pub field: Option<String>,
    pub message: String,
    /// What to do about it, when there is something specific to say.
    pub hint: Option<String>,
}

impl InventoryError {
    /// An error about `field` of the row read from `source`.
    pub fn at(
        source: &crate::model::Source,
        field: &str,
        message: String,
        hint: Option<String>,
    ) -> Self {
        InventoryError {
            file: source.file.clone(),
            line: (source.line > 0).then_some(source.line),
            field: Some(field.into()),
            message,
            hint,
        }
    }
}

/// Where the command line's values are said to come from (the single-table flags).
pub const COMMAND_LINE: &str = "command line";

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A flag's error is named by the flag alone: `--minRead: ...`.
        if let (COMMAND_LINE, Some(flag)) = (self.file.as_str(), &self.field) {
            write!(f, "{flag}: {}", self.message)?;
            if let Some(hint) = &self.hint {
                write!(f, " ({hint})")?;
            }
            return Ok(());
        }
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

impl InventoryErrors {
    /// The errors, each once: a `[defaults]` value that every table inherits is wrong at one
    /// line, said once, not once per table.
    pub fn deduplicated(errors: Vec<InventoryError>) -> InventoryErrors {
        let mut seen = std::collections::HashSet::new();
        InventoryErrors(
            errors
                .into_iter()
                .filter(|e| seen.insert(e.clone()))
                .collect(),
        )
    }
}

impl fmt::Display for InventoryErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        let what = match self.0.iter().all(|e| e.file == COMMAND_LINE) {
            true => "invalid flags",
            false => "invalid inventory",
        };
        writeln!(
            f,
            "{what}: {n} error{}; nothing was changed",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}
