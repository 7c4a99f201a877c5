//! Pub/Sub commands: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, SPUBLISH,
//! PUBSUB introspection.
//!
//! Subscribe and unsubscribe confirmations are push messages (`>3` in RESP3), one per
//! channel, carrying the client's running subscription count; shard subscriptions are counted
//! apart from channels and patterns, as in Redis 7.

use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::pubsub::{push_to_self, Scope};
use crate::{cmd, container, subcmd};
use bytes::Bytes;
use std::collections::HashMap;

/// Flags of the commands RESP2 clients may still run once subscribed.
const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBED_OK;
const INTROSPECT: u32 = PUBSUB | LOADING | STALE;

pub static COMMANDS: &[CommandSpec] = &[
    cmd!("subscribe", -2, SUB, (0, 0, 0), "pubsub", "2.0.0", "Listens for messages published to channels.", subscribe),
    cmd!(
        "unsubscribe",
        -1,
        SUB,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Stops listening to messages posted to channels.",
        unsubscribe
    ),
    cmd!(
        "psubscribe",
        -2,
        SUB,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Listens for messages published to channels that match one or more patterns.",
        psubscribe
    ),
    cmd!(
        "punsubscribe",
        -1,
        SUB,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Stops listening to messages published to channels that match one or more patterns.",
        punsubscribe
    ),
    cmd!(
        "ssubscribe",
        -2,
        SUB,
        (1, -1, 1),
        "pubsub",
        "7.0.0",
        "Listens for messages published to shard channels.",
        ssubscribe
    ),
    cmd!(
        "sunsubscribe",
        -1,
        SUB,
        (1, -1, 1),
        "pubsub",
        "7.0.0",
        "Stops listening to messages posted to shard channels.",
        sunsubscribe
    ),
    cmd!(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        (0, 0, 0),
        "pubsub",
        "2.0.0",
        "Posts a message to a channel.",
        publish
    ),
    cmd!(
        "spublish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        (1, 1, 1),
        "pubsub",
        "7.0.0",
        "Post a message to a shard channel",
        spublish
    ),
    container!("pubsub", "pubsub", "2.8.0", "A container for Pub/Sub commands.", PUBSUB_SUBCOMMANDS),
];

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    subcmd!("pubsub", "channels", -2, INTROSPECT, (0, 0, 0), "Returns the active channels.", channels),
    subcmd!("pubsub", "numsub", -2, INTROSPECT, (0, 0, 0), "Returns a count of subscribers to channels.", numsub),
    subcmd!("pubsub", "numpat", 2, INTROSPECT, (0, 0, 0), "Returns a count of unique pattern subscriptions.", numpat),
    subcmd!("pubsub", "shardchannels", -2, INTROSPECT, (0, 0, 0), "Returns the active shard channels.", shardchannels),
    subcmd!(
        "pubsub",
        "shardnumsub",
        -2,
        INTROSPECT,
        (0, 0, 0),
        "Returns the count of subscribers of shard channels.",
        shardnumsub
    ),
    subcmd!(
        "pubsub",
        "help",
        2,
        LOADING | STALE,
        (0, 0, 0),
        "Returns helpful text about the different subcommands.",
        help
    ),
];

fn subscribe(ctx: &mut Ctx, args: &[Bytes]) {
    subscribe_to(ctx, args, Scope::Channel);
}

fn psubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    subscribe_to(ctx, args, Scope::Pattern);
}

fn ssubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    // Redis refuses it where a reply per command is expected (inside EXEC).
    if ctx.in_exec {
        return ctx.out.error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    }
    subscribe_to(ctx, args, Scope::Shard);
}

fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    unsubscribe_from(ctx, args, Scope::Channel);
}

fn punsubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    unsubscribe_from(ctx, args, Scope::Pattern);
}

fn sunsubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    unsubscribe_from(ctx, args, Scope::Shard);
}

/// Writes one confirmation: `[verb, name or null, count]`.
fn confirm(ctx: &mut Ctx, verb: &[u8], name: Option<&[u8]>, count: usize) {
    push_to_self(ctx.client, ctx.out, |r| {
        r.push(3);
        r.bulk(verb);
        match name {
            Some(n) => r.bulk(n),
            None => r.null(),
        }
        r.int(count as i64);
    });
}

fn subscribe_to(ctx: &mut Ctx, args: &[Bytes], scope: Scope) {
    let (verb, _) = scope.verbs();
    for name in &args[1..] {
        // An owned copy: a slice would keep the whole read buffer it came from alive.
        if !scope.of(ctx.client).contains(name) {
            let name = Bytes::copy_from_slice(name);
            scope.of(ctx.client).insert(name.clone());
            ctx.client.subscription_memory += name.len() + crate::client::SUBSCRIPTION_OVERHEAD;
            ctx.shared.pubsub.lock().subscribe(scope, name, &ctx.client.handle);
        }
        let count = scope.count(ctx.client);
        confirm(ctx, verb, Some(name), count);
    }
}

/// Unsubscribes from the named channels, or from all of the scope's when none is named.
/// A client with nothing to unsubscribe from still gets one confirmation (null name).
fn unsubscribe_from(ctx: &mut Ctx, args: &[Bytes], scope: Scope) {
    let (_, verb) = scope.verbs();
    // Named channels are read from the arguments; only "all of them" needs a copy of the set
    // this loop changes.
    let all: Vec<Bytes>;
    let names: &[Bytes] = if args.len() > 1 {
        &args[1..]
    } else {
        all = scope.of(ctx.client).iter().cloned().collect();
        &all
    };
    if names.is_empty() {
        let count = scope.count(ctx.client);
        return confirm(ctx, verb, None, count);
    }
    for name in names {
        if scope.of(ctx.client).remove(name) {
            ctx.client.subscription_memory -= name.len() + crate::client::SUBSCRIPTION_OVERHEAD;
            ctx.shared.pubsub.lock().unsubscribe(scope, name, ctx.client.id);
        }
        let count = scope.count(ctx.client);
        confirm(ctx, verb, Some(name), count);
    }
}

fn publish(ctx: &mut Ctx, args: &[Bytes]) {
    let n = crate::pubsub::publish(ctx.shared, &args[1], &args[2], false, Some((&mut *ctx.client, &mut *ctx.out)));
    ctx.out.int(n as i64);
}

fn spublish(ctx: &mut Ctx, args: &[Bytes]) {
    let n = crate::pubsub::publish(ctx.shared, &args[1], &args[2], true, Some((&mut *ctx.client, &mut *ctx.out)));
    ctx.out.int(n as i64);
}

/// Redis's reply to a subcommand given the wrong number of arguments by its own check.
fn subcommand_syntax_error(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.out.error(&format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        String::from_utf8_lossy(&args[1])
    ));
}

/// The active channels (or shard channels) matching the optional pattern in `args[2]`.
fn active_names(ctx: &mut Ctx, args: &[Bytes], shard: bool) {
    if args.len() > 3 {
        return subcommand_syntax_error(ctx, args);
    }
    let registry = ctx.shared.pubsub.lock();
    let map = if shard { &registry.shard_channels } else { &registry.channels };
    crate::commands::listing::reply_matching(ctx.out, map.keys().map(|k| &k[..]), args.get(2).map(|p| &p[..]));
}

/// `[name, subscribers, ...]` for each named channel.
fn subscriber_counts(ctx: &mut Ctx, args: &[Bytes], shard: bool) {
    let registry = ctx.shared.pubsub.lock();
    let map: &HashMap<Bytes, _> = if shard { &registry.shard_channels } else { &registry.channels };
    ctx.out.array((args.len() - 2) * 2);
    for name in &args[2..] {
        ctx.out.bulk(name);
        ctx.out.int(map.get(name).map_or(0, |subs| subs.len()) as i64);
    }
}

fn channels(ctx: &mut Ctx, args: &[Bytes]) {
    active_names(ctx, args, false);
}

fn shardchannels(ctx: &mut Ctx, args: &[Bytes]) {
    active_names(ctx, args, true);
}

fn numsub(ctx: &mut Ctx, args: &[Bytes]) {
    subscriber_counts(ctx, args, false);
}

fn shardnumsub(ctx: &mut Ctx, args: &[Bytes]) {
    subscriber_counts(ctx, args, true);
}

fn numpat(ctx: &mut Ctx, _args: &[Bytes]) {
    let n = ctx.shared.pubsub.lock().patterns.len();
    ctx.out.int(n as i64);
}

fn help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::introspection::help_reply(
        ctx,
        "PUBSUB",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
}
