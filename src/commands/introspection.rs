//! Introspection commands: COMMAND, SLOWLOG, MEMORY, FUNCTION, DEBUG.

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
