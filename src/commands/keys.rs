//! Generic key commands (Redis's `db.c` / `expire.c`): DEL, EXISTS, TYPE, KEYS, SCAN, RENAME,
//! expiry and friends.

use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::cmd;
use crate::storage::notify;
use bytes::Bytes;

pub static COMMANDS: &[CommandSpec] = &[
    cmd!("del", -2, WRITE, (1, -1, 1), "generic", "1.0.0", "Deletes one or more keys.", del),
    cmd!("exists", -2, READONLY | FAST, (1, -1, 1), "generic", "1.0.0", "Determines whether one or more keys exist.", exists),
];

fn del(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let mut n = 0;
    for key in &args[1..] {
        if ks.delete(db, key) {
            ks.notify(notify::GENERIC, "del", db, key);
            n += 1;
        }
    }
    ctx.out.int(n);
}

fn exists(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let n = args[1..].iter().filter(|k| ks.exists(db, k)).count();
    ctx.out.int(n as i64);
}
