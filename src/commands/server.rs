//! Server commands: INFO, CONFIG, COMMAND, DBSIZE, FLUSHDB/FLUSHALL, TIME, SHUTDOWN ...

use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::cmd;
use bytes::Bytes;

pub static COMMANDS: &[CommandSpec] = &[
    cmd!("dbsize", 1, READONLY | FAST, (0, 0, 0), "server", "1.0.0", "Returns the number of keys in the database.", dbsize),
    cmd!("flushall", -1, WRITE, (0, 0, 0), "server", "1.0.0", "Removes all keys from all databases.", flushall),
];

fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) {
    let db = ctx.db();
    let n = ctx.ks.get().db(db).len();
    ctx.out.int(n as i64);
}

fn flushall(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.ks.get().flush_all();
    ctx.out.ok();
}
