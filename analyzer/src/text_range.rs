//! Byte ranges into a source text.

/// A half-open range of byte offsets `[start, end)` into a file's text.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct TextRange {
    pub start: usize,
    pub end: usize,
}

impl TextRange {
    pub fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    /// An empty range at `offset`, used for insertions.
    pub fn empty(offset: usize) -> Self {
        Self::new(offset, offset)
    }

    pub fn len(self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// Whether two ranges share at least one byte, or are insertions at the same offset.
    pub fn overlaps(self, other: TextRange) -> bool {
        if self.is_empty() || other.is_empty() {
            return self.start == other.start
                || (self.start > other.start && self.start < other.end)
                || (other.start > self.start && other.start < self.end);
        }
        self.start < other.end && other.start < self.end
    }
}

impl From<std::ops::Range<usize>> for TextRange {
    fn from(range: std::ops::Range<usize>) -> Self {
        Self::new(range.start, range.end)
    }
}
