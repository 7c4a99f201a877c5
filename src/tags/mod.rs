//! Tags: a per-tenant index from tag to the keys carrying it, and the TAG.* commands.

use crate::commands::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
