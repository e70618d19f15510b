//! [`Lines`]: line numbers of byte offsets in one text, for error messages.

/// Line numbers of byte offsets in one text: the newlines are found once, and each lookup is a
/// binary search. (Counting newlines from the start for every row made a large inventory
/// quadratic to read: 10,000 rows took a second of CPU.)
pub(super) struct Lines {
    newlines: Vec<usize>,
}

impl Lines {
    pub(super) fn new(text: &str) -> Self {
        Lines {
            newlines: text.match_indices('\n').map(|(i, _)| i).collect(),
        }
    }

    /// The 1-based line holding byte `offset`.
    pub(super) fn of(&self, offset: usize) -> u64 {
        self.newlines.partition_point(|&n| n < offset) as u64 + 1
    }
}
