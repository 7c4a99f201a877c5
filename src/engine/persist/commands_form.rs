//! The dataset as the commands that rebuild it: the AOF base with `aof-use-rdb-preamble no`,
//! written as Redis's `rewriteAppendOnlyFileRio` writes it.
//!
//! Function libraries first (`FUNCTION LOAD`), then tenant limits set at run time
//! (`TENANT SETLIMIT`), then per database a `SELECT` and per key the command that creates its
//! value (`SET`, `RPUSH`, `SADD`, `ZADD`, `HMSET`; collections in commands of at most 64
//! items, as Redis splits them; a stream as `XADD` per entry, `XSETID`, then its groups as
//! `XGROUP CREATE`, `XCLAIM` of each pending entry and `XGROUP CREATECONSUMER`), its tags (`TAG.ADD`) and its expiry (`PEXPIREAT`). Loading
//! replays them through the dispatcher like any incremental file.

use super::rdb::RdbValue;
use super::snapshot::{value_of, SaveOptions};
use crate::storage::Keyspace;
use crate::tenants::OnLimit;
use std::io::{self, Write};

/// Items per command for collections, as Redis's `AOF_REWRITE_ITEMS_PER_CMD`.
const ITEMS_PER_COMMAND: usize = 64;

/// Writes every live key of `ks` to `out` as commands; returns how many keys it wrote.
/// Nothing of `ks` changes, so a forked child may run it on its copy of the keyspace.
pub fn write_commands<W: Write>(ks: &Keyspace, mut out: W, options: &SaveOptions) -> io::Result<u64> {
    if options.timestamp {
        write!(out, "#TS:{}\r\n", ks.now_ms / 1000)?;
    }
    for code in &options.functions {
        command::<_, &[u8]>(&mut out, &[b"FUNCTION", b"LOAD", code])?;
    }
    for id in 0..ks.tenants.count() as u32 {
        let limits = ks.limit_overrides(id);
        if limits.is_empty() {
            continue;
        }
        let mut args: Vec<Vec<u8>> = vec![b"TENANT".to_vec(), b"SETLIMIT".to_vec(), ks.tenants.name(id).to_vec()];
        for (name, value) in [("maxmemory", limits.maxmemory), ("maxkeys", limits.maxkeys), ("reserve", limits.reserve)]
        {
            if let Some(n) = value {
                args.extend([name.as_bytes().to_vec(), n.to_string().into_bytes()]);
            }
        }
        if let Some(on) = limits.onlimit {
            let on: &[u8] = if on == OnLimit::Reject { b"reject" } else { b"evict" };
            args.extend([b"onlimit".to_vec(), on.to_vec()]);
        }
        command(&mut out, &args)?;
    }
    let mut written = 0;
    for db in 0..ks.databases() {
        if ks.db(db).is_empty() {
            continue;
        }
        command(&mut out, &[b"SELECT", db.to_string().as_bytes()])?;
        for entry in ks.live_entries(db) {
            let key = entry.key();
            if let Some(crate::storage::value::Collection::Stream(s)) = entry.collection() {
                stream_commands(&mut out, key, s)?;
            } else {
                other_commands(&mut out, key, entry)?;
            }
            let tags = entry.tags();
            if !tags.is_empty() {
                let mut args: Vec<&[u8]> = vec![b"TAG.ADD", key];
                args.extend(tags.iter().map(|t| &t[..]));
                command(&mut out, &args)?;
            }
            if entry.expire_at() != 0 {
                command(&mut out, &[b"PEXPIREAT", key, entry.expire_at().to_string().as_bytes()])?;
            }
            written += 1;
            if options.key_delay_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(options.key_delay_us));
            }
        }
    }
    out.flush()?;
    Ok(written)
}

/// The command that creates a collection or string value (streams aside).
fn other_commands<W: Write>(out: &mut W, key: &[u8], entry: &crate::storage::Entry) -> io::Result<()> {
    match value_of(entry) {
        RdbValue::String(value) => command(out, &[b"SET", key, &value]),
        RdbValue::List(items) => in_chunks(out, b"RPUSH", key, items.iter().map(|i| vec![i.as_slice()])),
        RdbValue::Set(members) => in_chunks(out, b"SADD", key, members.iter().map(|m| vec![m.as_slice()])),
        RdbValue::ZSet(pairs) => {
            let scores: Vec<String> = pairs.iter().map(|(_, score)| score_text(*score)).collect();
            let items = pairs.iter().zip(&scores).map(|((member, _), score)| vec![score.as_bytes(), member.as_slice()]);
            in_chunks(out, b"ZADD", key, items)
        }
        RdbValue::Hash(pairs) => {
            in_chunks(out, b"HMSET", key, pairs.iter().map(|(f, v)| vec![f.as_slice(), v.as_slice()]))
        }
        RdbValue::Stream(_) => unreachable!("streams are written by stream_commands"),
    }
}

/// A stream as Redis's `rewriteStreamObject` writes it: an `XADD` per entry (an empty
/// stream as an entry trimmed away at once), `XSETID` with the counters, then per group
/// `XGROUP CREATE`, an `XCLAIM` per pending entry and `XGROUP CREATECONSUMER` per consumer.
fn stream_commands<W: Write>(out: &mut W, key: &[u8], s: &crate::storage::stream::StreamValue) -> io::Result<()> {
    use crate::storage::stream::{Item, StreamId};
    let mut result = Ok(());
    s.range(StreamId::MIN, StreamId::MAX, false, |id, fields| {
        let id = id.to_string();
        let values: Vec<Vec<u8>> = fields.iter().map(Item::to_bytes).collect();
        let mut args: Vec<&[u8]> = vec![b"XADD", key, id.as_bytes()];
        args.extend(values.iter().map(Vec::as_slice));
        result = command(out, &args);
        result.is_ok()
    });
    result?;
    if s.is_empty() {
        // Any id does (XSETID then sets the last one): 0-1 is valid even when that is 0-0.
        let args: [&[u8]; 7] = [b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"];
        command(out, &args)?;
    }
    let (last, added, deleted) = (s.last_id.to_string(), s.entries_added.to_string(), s.max_deleted_id.to_string());
    let args: [&[u8]; 7] =
        [b"XSETID", key, last.as_bytes(), b"ENTRIESADDED", added.as_bytes(), b"MAXDELETEDID", deleted.as_bytes()];
    command(out, &args)?;
    for (name, g) in &s.groups {
        let read = g.entries_read.map_or("-1".to_string(), |n| n.to_string());
        let last = g.last_id.to_string();
        let args: [&[u8]; 7] = [b"XGROUP", b"CREATE", key, name, last.as_bytes(), b"ENTRIESREAD", read.as_bytes()];
        command(out, &args)?;
        for id in g.pending.keys() {
            command(out, &g.claim_command(key, name, *id))?;
        }
        for consumer in g.consumers.keys() {
            let args: [&[u8]; 5] = [b"XGROUP", b"CREATECONSUMER", key, name, consumer];
            command(out, &args)?;
        }
    }
    Ok(())
}

/// A score as text that reads back as the same double (the shortest such form).
fn score_text(score: f64) -> String {
    if score.is_infinite() {
        return if score > 0.0 { "inf".into() } else { "-inf".into() };
    }
    format!("{score}")
}

/// `name key item...` in commands of at most [`ITEMS_PER_COMMAND`] items, each item being
/// one or more arguments.
fn in_chunks<'a, W: Write>(
    out: &mut W,
    name: &[u8],
    key: &[u8],
    items: impl Iterator<Item = Vec<&'a [u8]>>,
) -> io::Result<()> {
    let items: Vec<Vec<&[u8]>> = items.collect();
    for chunk in items.chunks(ITEMS_PER_COMMAND) {
        let mut args: Vec<&[u8]> = vec![name, key];
        args.extend(chunk.iter().flatten());
        command(out, &args)?;
    }
    Ok(())
}

/// One command in RESP.
fn command<W: Write, A: AsRef<[u8]>>(out: &mut W, args: &[A]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(16 + args.iter().map(|a| a.as_ref().len() + 16).sum::<usize>());
    buf.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        let a = a.as_ref();
        buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        buf.extend_from_slice(a);
        buf.extend_from_slice(b"\r\n");
    }
    out.write_all(&buf)
}
