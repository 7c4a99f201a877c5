//! CLIENT subcommands: ID, SETNAME, GETNAME, LIST, INFO, KILL, SETINFO, NO-EVICT, REPLY.

use super::CommandSpec;

pub static COMMANDS: &[CommandSpec] = &[];
