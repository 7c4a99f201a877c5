//! Pub/Sub commands: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH,
//! PUBSUB introspection.

use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::cmd;
use bytes::Bytes;

pub static COMMANDS: &[CommandSpec] = &[
    cmd!("publish", 3, PUBSUB | LOADING | STALE | FAST, (0, 0, 0), "pubsub", "2.0.0", "Posts a message to a channel.", publish),
];

fn publish(ctx: &mut Ctx, args: &[Bytes]) {
    let n = crate::pubsub::publish(ctx.shared, &args[1], &args[2], false, Some((ctx.client.id, &mut *ctx.out)));
    ctx.out.int(n as i64);
}
