//! Reports about the input itself rather than the code's behaviour.

pub(crate) mod io_error;
pub(crate) use syntax_error::syntax_error;
pub(crate) mod syntax_error;
