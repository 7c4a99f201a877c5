//! Pub/Sub delivery: the registry of channel, pattern and shard-channel subscribers, message
//! encoding per subscriber protocol, and keyspace notifications.
//!
//! A message is encoded straight into each subscriber's outbox; a subscriber whose pending
//! output passes `client-output-buffer-limit pubsub` is disconnected rather than buffered.
//! Messages for the publishing client itself are held back until its command has replied
//! (after the whole EXEC inside a transaction), as Redis 7.2 does.
//!
//! Lock order: keyspace, then registry, then a subscriber's outbox. The registry lock is
//! never held while taking the client list lock.

use crate::client::{Client, ClientHandle};
use crate::commands::Ctx;
use crate::glob::glob_match;
use crate::protocol::ReplyBuf;
use crate::server::Shared;
use crate::storage::Effect;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

type Subscribers = HashMap<u64, Arc<ClientHandle>>;

#[derive(Default)]
pub struct PubSub {
    pub channels: HashMap<Bytes, Subscribers>,
    pub patterns: HashMap<Bytes, Subscribers>,
    pub shard_channels: HashMap<Bytes, Subscribers>,
}

/// Which registry a subscription lives in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Channel,
    Pattern,
    Shard,
}

impl Scope {
    /// The confirmation kinds of SUBSCRIBE and UNSUBSCRIBE in this scope.
    pub fn verbs(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Scope::Channel => (b"subscribe", b"unsubscribe"),
            Scope::Pattern => (b"psubscribe", b"punsubscribe"),
            Scope::Shard => (b"ssubscribe", b"sunsubscribe"),
        }
    }

    /// The client's own set of subscriptions in this scope.
    pub fn of(self, client: &mut Client) -> &mut std::collections::HashSet<Bytes> {
        match self {
            Scope::Channel => &mut client.channels,
            Scope::Pattern => &mut client.patterns,
            Scope::Shard => &mut client.shard_channels,
        }
    }

    /// The running count a confirmation carries: shard subscriptions are counted apart from
    /// channels and patterns, as in Redis 7.
    pub fn count(self, client: &Client) -> usize {
        match self {
            Scope::Shard => client.shard_channels.len(),
            _ => client.channels.len() + client.patterns.len(),
        }
    }
}

impl PubSub {
    fn map(&mut self, scope: Scope) -> &mut HashMap<Bytes, Subscribers> {
        match scope {
            Scope::Channel => &mut self.channels,
            Scope::Pattern => &mut self.patterns,
            Scope::Shard => &mut self.shard_channels,
        }
    }

    pub fn subscribe(&mut self, scope: Scope, name: Bytes, client: &Arc<ClientHandle>) {
        self.map(scope).entry(name).or_default().insert(client.id, client.clone());
    }

    pub fn unsubscribe(&mut self, scope: Scope, name: &[u8], client_id: u64) {
        let map = self.map(scope);
        if let Some(subs) = map.get_mut(name) {
            subs.remove(&client_id);
            if subs.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Drops every subscription of a client, without knowing which it had (CLIENT KILL,
    /// output buffer limit). Scans the registry, which is fine for these rare events.
    pub fn remove_client(&mut self, client_id: u64) {
        for map in [&mut self.channels, &mut self.patterns, &mut self.shard_channels] {
            map.retain(|_, subs| {
                subs.remove(&client_id);
                !subs.is_empty()
            });
        }
    }
}

/// Writes a push message that is the reply of the calling client's command (SUBSCRIBE
/// confirmations). It is delivered even while replies are switched off (CLIENT REPLY
/// OFF/SKIP), as in Redis; `encode` writes the message.
pub fn push_to_self(client: &mut Client, out: &mut ReplyBuf, encode: impl FnOnce(&mut ReplyBuf)) {
    let mark = out.len();
    encode(out);
    if client.replies_muted() {
        let pushed = out.buf.split_off(mark);
        client.pending_pushes.extend_from_slice(&pushed);
    }
}

/// Queues a message for the calling client caused by its own command; the connection writes
/// it after the command's reply (after the whole EXEC inside a transaction).
fn defer_to_self(client: &mut Client, out: &ReplyBuf, encode: impl FnOnce(&mut ReplyBuf)) {
    let mut r = ReplyBuf::for_message(out.resp3, 128);
    encode(&mut r);
    client.pending_pushes.extend_from_slice(&r.buf);
}

/// Encodes one message: `message`/`smessage` (3 parts) or `pmessage` (4).
fn encode_message(r: &mut ReplyBuf, kind: &[u8], pattern: Option<&[u8]>, channel: &[u8], message: &[u8]) {
    r.push(if pattern.is_some() { 4 } else { 3 });
    r.bulk(kind);
    if let Some(p) = pattern {
        r.bulk(p);
    }
    r.bulk(channel);
    r.bulk(message);
}

/// The calling client, when a publish comes from a command: messages for it are queued
/// after its reply instead of in its outbox.
pub type Caller<'a> = Option<(&'a mut Client, &'a mut ReplyBuf)>;

/// Delivers `message` on `channel` to channel and pattern subscribers (or shard-channel
/// subscribers when `shard`). Returns the number of receivers.
pub fn publish(shared: &Shared, channel: &[u8], message: &[u8], shard: bool, mut caller: Caller) -> usize {
    let mut delivery = Delivery {
        limit: shared.settings.output_limits.get(2),
        now: crate::storage::now_ms(),
        receivers: 0,
        over_limit: Vec::new(),
    };
    let registry = shared.pubsub.lock();
    if shard {
        if let Some(subs) = registry.shard_channels.get(channel) {
            delivery.send(subs, &mut caller, b"smessage", None, channel, message);
        }
    } else {
        if let Some(subs) = registry.channels.get(channel) {
            delivery.send(subs, &mut caller, b"message", None, channel, message);
        }
        for (pattern, subs) in registry.patterns.iter() {
            if glob_match(pattern, channel, false) {
                delivery.send(subs, &mut caller, b"pmessage", Some(pattern), channel, message);
            }
        }
    }
    drop(registry);
    for handle in delivery.over_limit {
        crate::client::close_for_output_limit(shared, &handle);
    }
    shared.pubsub_messages.fetch_add(1, Ordering::Relaxed);
    delivery.receivers
}

/// One message on its way to the subscribers of its channel and matching patterns.
struct Delivery {
    limit: crate::config::OutputLimit,
    now: u64,
    receivers: usize,
    /// Subscribers that went over the output buffer limit; closed once the registry is free.
    over_limit: Vec<Arc<ClientHandle>>,
}

impl Delivery {
    /// Sends the message to one group of subscribers (a channel's, or a pattern's).
    fn send(
        &mut self,
        subs: &Subscribers,
        caller: &mut Caller,
        kind: &[u8],
        pattern: Option<&[u8]>,
        channel: &[u8],
        message: &[u8],
    ) {
        // Encoded at most once per protocol version for the whole group.
        let mut encoded: [Option<ReplyBuf>; 2] = [None, None];
        for handle in subs.values() {
            self.receivers += 1;
            if let Some((client, out)) = caller.as_mut().filter(|(c, _)| c.id == handle.id) {
                defer_to_self(client, out, |r| encode_message(r, kind, pattern, channel, message));
                continue;
            }
            let resp3 = handle.resp3.load(Ordering::Relaxed);
            let encoded = encoded[resp3 as usize].get_or_insert_with(|| {
                let size = 64 + pattern.map_or(0, <[u8]>::len) + channel.len() + message.len();
                let mut r = ReplyBuf::for_message(resp3, size);
                encode_message(&mut r, kind, pattern, channel, message);
                r
            });
            if !handle.push(&encoded.buf, self.limit, self.now) {
                self.over_limit.push(handle.clone());
            }
        }
    }
}

/// The keyspace-notification consumer of the effect stream: publishes the event of each
/// effect whose class `flags` enables as `__keyspace@db__:key` / `__keyevent@db__:event`, per
/// the `K`/`E` bits of `flags`. Events for the calling client itself follow its reply.
pub fn publish_events(shared: &Shared, effects: &[Effect], flags: u32, mut caller: Caller) {
    use crate::storage::notify::{KEYEVENT, KEYSPACE};
    for effect in effects {
        let Some(ev) = effect.event.filter(|ev| flags & ev.class != 0) else {
            continue;
        };
        if flags & KEYSPACE != 0 {
            let mut chan = format!("__keyspace@{}__:", effect.db).into_bytes();
            chan.extend_from_slice(&effect.key);
            let caller = caller.as_mut().map(|(c, out)| (&mut **c, &mut **out));
            publish(shared, &chan, ev.name.as_bytes(), false, caller);
        }
        if flags & KEYEVENT != 0 {
            let chan = format!("__keyevent@{}__:{}", effect.db, ev.name).into_bytes();
            let caller = caller.as_mut().map(|(c, out)| (&mut **c, &mut **out));
            publish(shared, &chan, &effect.key, false, caller);
        }
    }
}

/// Publishes the events of the effects a command recorded (called by the dispatcher with the
/// lock held).
pub fn publish_keyspace_events(ctx: &mut Ctx, effects: &[Effect]) {
    let flags = ctx.ks.get().notify_flags;
    publish_events(ctx.shared, effects, flags, Some((&mut *ctx.client, &mut *ctx.out)));
}

/// Drops every subscription of a client that is going away (or RESET).
pub fn unsubscribe_all(shared: &Shared, client: &mut Client) {
    if client.subscription_count() == 0 {
        return;
    }
    client.subscription_memory = 0;
    let mut registry = shared.pubsub.lock();
    for c in client.channels.drain() {
        registry.unsubscribe(Scope::Channel, &c, client.id);
    }
    for p in client.patterns.drain() {
        registry.unsubscribe(Scope::Pattern, &p, client.id);
    }
    for s in client.shard_channels.drain() {
        registry.unsubscribe(Scope::Shard, &s, client.id);
    }
}
