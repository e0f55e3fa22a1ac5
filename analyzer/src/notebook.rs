//! Jupyter notebooks: the code cells of an `.ipynb` joined into one module text, with a map
//! from lines of that text back to (cell, line in cell).
//!
//! `IPython` magics (`%time`, `%%bash`) and shell escapes (`!pip install x`) are not Python:
//! their lines are blanked (kept as empty lines, so line numbers stay put); a cell that
//! starts with a cell magic (`%%`) is blanked whole.

use std::fmt;

use serde_json::Value;

/// Where a line of the joined text comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CellLine {
    /// 1-based number of the cell among all cells of the notebook (markdown cells count, as
    /// in Jupyter's own numbering of the cell list).
    pub cell: usize,
    /// 1-based line within the cell.
    pub line: usize,
}

/// The joined code of a notebook and the way back to its cells.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notebook {
    /// The code cells, one after another, each ending with a newline.
    pub text: String,
    /// For each line of `text` (0-based), its cell and line.
    lines: Vec<CellLine>,
}

/// An `.ipynb` file that is not a notebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotebookError(pub String);

impl fmt::Display for NotebookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a valid Jupyter notebook: {}", self.0)
    }
}

impl std::error::Error for NotebookError {}

impl Notebook {
    /// Parses the JSON of an `.ipynb` file (nbformat 4).
    pub fn parse(json: &str) -> Result<Notebook, NotebookError> {
        let value: Value = serde_json::from_str(json).map_err(|e| NotebookError(e.to_string()))?;
        let cells = value
            .get("cells")
            .and_then(Value::as_array)
            .ok_or_else(|| NotebookError("no `cells` array".to_string()))?;
        let mut notebook = Notebook::default();
        for (index, cell) in cells.iter().enumerate() {
            if cell.get("cell_type").and_then(Value::as_str) != Some("code") {
                continue;
            }
            let source = match cell.get("source") {
                Some(Value::String(text)) => text.clone(),
                Some(Value::Array(parts)) => parts.iter().filter_map(Value::as_str).collect(),
                _ => String::new(),
            };
            let cell_magic = source.trim_start().starts_with("%%");
            let mut continued = false;
            // Lines end at `\n`, `\r\n` and a lone `\r`, as `LineIndex` counts the joined text's.
            let lines = crate::LineIndex::new(&source);
            let count = if source.is_empty() || source.ends_with(['\n', '\r']) {
                lines.line_count() - 1
            } else {
                lines.line_count()
            };
            for line_index in 0..count {
                let line = lines.line_text(line_index, &source);
                let trimmed = line.trim_start();
                let is_magic = cell_magic
                    || continued
                    || trimmed.starts_with('%')
                    || trimmed.starts_with('!')
                    || (trimmed.ends_with('?') && !trimmed.starts_with('#'));
                if is_magic {
                    // A magic continued with a trailing backslash goes on on the next line.
                    continued = line.trim_end().ends_with('\\');
                } else {
                    notebook.text.push_str(line);
                }
                notebook.text.push('\n');
                notebook.lines.push(CellLine {
                    cell: index + 1,
                    line: line_index + 1,
                });
            }
        }
        Ok(notebook)
    }

    /// The cell and cell line of 0-based line `line` of [`Notebook::text`].
    pub fn cell_line(&self, line: usize) -> Option<CellLine> {
        self.lines.get(line).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_code_cells_and_maps_lines_back() {
        let json = r##"{"cells": [
            {"cell_type": "markdown", "source": ["# Title\n"]},
            {"cell_type": "code", "source": ["import asyncio\n", "!pip install x\n", "%time x = 1\n", "y = 2"]},
            {"cell_type": "code", "source": "%%bash\necho hi\n"},
            {"cell_type": "code", "source": ["await asyncio.sleep(1)\n"]}
        ], "nbformat": 4}"##;
        let notebook = Notebook::parse(json).expect("valid notebook");
        assert_eq!(
            notebook.text,
            "import asyncio\n\n\ny = 2\n\n\nawait asyncio.sleep(1)\n"
        );
        assert_eq!(notebook.cell_line(0), Some(CellLine { cell: 2, line: 1 }));
        assert_eq!(notebook.cell_line(3), Some(CellLine { cell: 2, line: 4 }));
        assert_eq!(notebook.cell_line(6), Some(CellLine { cell: 4, line: 1 }));
        assert_eq!(notebook.cell_line(7), None);
        // A lone `\r` ends a cell line too, as it ends a line of the joined text.
        let lone_cr = r#"{"cells": [{"cell_type": "code", "source": "x = 1\ry = 2\r\nz = 3\r"}]}"#;
        let notebook = Notebook::parse(lone_cr).expect("valid notebook");
        assert_eq!(notebook.text, "x = 1\ny = 2\nz = 3\n");
        assert_eq!(notebook.cell_line(2), Some(CellLine { cell: 1, line: 3 }));
        assert_eq!(notebook.cell_line(3), None);
        assert!(Notebook::parse("[]").is_err());
        assert!(Notebook::parse("{").is_err());
    }
}
