//! One module per subcommand.

pub(crate) mod check;
pub(crate) mod confirm;
pub(crate) mod debug;
pub(crate) mod fix;
pub(crate) mod rule;
pub(crate) mod server;
