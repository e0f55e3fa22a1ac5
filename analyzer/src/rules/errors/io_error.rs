use crate::rules::declare_rule;

declare_rule! {
    /// ## What it does
    /// Reports a file that could not be read or is not valid UTF-8.
    ///
    /// ## Why is this bad?
    /// aiolint cannot check what it cannot read; the rest of the run goes on without it.
    ///
    /// ## Example
    /// A file saved in Latin-1 with bytes that are not valid UTF-8, or a file without read
    /// permission.
    pub(crate) struct IoError {
        code: "E902",
        name: "io-error",
        severity: Error,
        always_on: true,
    }
}
