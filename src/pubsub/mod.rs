//! Pub/Sub delivery: the registry of channel, pattern and shard-channel subscribers, message
//! encoding per subscriber protocol, and keyspace notifications.
//!
//! A message is encoded straight into each subscriber's outbox; a subscriber whose pending
//! output passes `client-output-buffer-limit pubsub` is disconnected rather than buffered.

use crate::client::{Client, ClientHandle};
use crate::commands::Ctx;
use crate::glob::glob_match;
use crate::protocol::ReplyBuf;
use crate::server::Shared;
use crate::storage::Event;
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
}

/// Encodes one message for a subscriber: `message`/`smessage` (3 parts) or `pmessage` (4).
fn encode(resp3: bool, kind: &[u8], pattern: Option<&[u8]>, channel: &[u8], message: &[u8]) -> ReplyBuf {
    let mut r = ReplyBuf::new();
    r.resp3 = resp3;
    r.push(if pattern.is_some() { 4 } else { 3 });
    r.bulk(kind);
    if let Some(p) = pattern {
        r.bulk(p);
    }
    r.bulk(channel);
    r.bulk(message);
    r
}

/// Delivers `message` on `channel` to channel and pattern subscribers (or shard-channel
/// subscribers when `shard`). A message to the publishing client itself goes into `own`
/// (its reply buffer), keeping Redis's ordering. Returns the number of receivers.
pub fn publish(
    shared: &Shared,
    channel: &[u8],
    message: &[u8],
    shard: bool,
    mut own: Option<(u64, &mut ReplyBuf)>,
) -> usize {
    let limit = shared.settings.output_limits.lock()[2];
    let now = crate::storage::now_ms();
    let mut receivers = 0;
    let mut killed = Vec::new();
    let registry = shared.pubsub.lock();
    let mut deliver = |handle: &Arc<ClientHandle>, kind: &[u8], pattern: Option<&[u8]>| {
        let resp3 = handle.resp3.load(Ordering::Relaxed);
        match own.as_mut() {
            Some((id, out)) if *id == handle.id => {
                let r = encode(out.resp3, kind, pattern, channel, message);
                out.raw(&r.buf);
            }
            _ => {
                let r = encode(resp3, kind, pattern, channel, message);
                if !handle.push(&r.buf, limit, now) {
                    killed.push(handle.addr.clone());
                }
            }
        }
    };
    if shard {
        if let Some(subs) = registry.shard_channels.get(channel) {
            for h in subs.values() {
                deliver(h, b"smessage", None);
                receivers += 1;
            }
        }
    } else {
        if let Some(subs) = registry.channels.get(channel) {
            for h in subs.values() {
                deliver(h, b"message", None);
                receivers += 1;
            }
        }
        for (pattern, subs) in registry.patterns.iter() {
            if glob_match(pattern, channel, false) {
                for h in subs.values() {
                    deliver(h, b"pmessage", Some(pattern));
                    receivers += 1;
                }
            }
        }
    }
    drop(registry);
    for addr in killed {
        tracing::warn!("client {addr} closed for overcoming of output buffer limits (pubsub)");
    }
    shared.pubsub_messages.fetch_add(1, Ordering::Relaxed);
    receivers
}

/// Publishes keyspace events as `__keyspace@db__:key` / `__keyevent@db__:event`, per the
/// `K`/`E` bits of `flags`. Events for the calling client itself go into `own`.
pub fn publish_events(shared: &Shared, events: Vec<Event>, flags: u32, mut own: Option<(u64, &mut ReplyBuf)>) {
    use crate::storage::notify::{KEYEVENT, KEYSPACE};
    for ev in events {
        if flags & KEYSPACE != 0 {
            let mut chan = format!("__keyspace@{}__:", ev.db).into_bytes();
            chan.extend_from_slice(&ev.key);
            let own = own.as_mut().map(|(id, out)| (*id, &mut **out));
            publish(shared, &chan, ev.name.as_bytes(), false, own);
        }
        if flags & KEYEVENT != 0 {
            let chan = format!("__keyevent@{}__:{}", ev.db, ev.name).into_bytes();
            let own = own.as_mut().map(|(id, out)| (*id, &mut **out));
            publish(shared, &chan, &ev.key, false, own);
        }
    }
}

/// Publishes the events a command queued (called by the dispatcher with the lock held).
pub fn publish_keyspace_events(ctx: &mut Ctx, events: Vec<Event>) {
    let flags = ctx.ks.get().notify_flags;
    publish_events(ctx.shared, events, flags, Some((ctx.client.id, &mut *ctx.out)));
}

/// Drops every subscription of a client that is going away.
pub fn unsubscribe_all(shared: &Shared, client: &mut Client) {
    if client.subscription_count() == 0 {
        return;
    }
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
