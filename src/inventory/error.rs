//! [`InventoryError`]: one problem in an inventory, located by file, line and field, with
//! what to do about it; [`InventoryErrors`]: every problem found in one inventory.

use std::fmt;

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
