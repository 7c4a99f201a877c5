//! Tenant commands: TENANT SETLIMIT|GETLIMIT|INFO|LIST|FLUSH|OF|RESETSTATS, and the `tenant`
//! lines of the configuration file.

use super::flags::*;
use super::{CommandSpec, Ctx};
use crate::server::Shared;
use crate::tenants::{parse_options, LimitOverrides, Limits};
use crate::{container, subcmd};
use bytes::Bytes;

pub static COMMANDS: &[CommandSpec] = &[container!(
    "tenant",
    "tenants",
    "1.0.0",
    "Per-tenant limits, statistics and invalidation.",
    &[
        subcmd!("tenant", "setlimit", -5, ADMIN | WRITE, (0, 0, 0), "Sets a tenant's limits.", setlimit),
        subcmd!("tenant", "getlimit", 3, READONLY | FAST, (0, 0, 0), "Returns a tenant's limits.", getlimit),
        subcmd!("tenant", "info", 3, READONLY, (0, 0, 0), "Returns a tenant's statistics and limits.", info),
        subcmd!("tenant", "list", -2, READONLY, (0, 0, 0), "Lists tenants that hold keys or have limits.", list),
        subcmd!("tenant", "flush", 3, WRITE, (0, 0, 0), "Deletes every key of a tenant.", flush),
        subcmd!("tenant", "of", 3, READONLY | FAST, (2, 2, 1), "Returns the tenant a key belongs to.", of),
        subcmd!("tenant", "resetstats", -2, ADMIN, (0, 0, 0), "Resets tenant statistics.", resetstats),
        subcmd!("tenant", "help", 2, READONLY | FAST, (0, 0, 0), "Shows the TENANT subcommands.", help),
    ]
)];

/// Checks a tenant name argument; writes the error and returns `None` if it is unusable.
fn tenant_name<'a>(ctx: &mut Ctx, arg: &'a [u8]) -> Option<&'a [u8]> {
    if arg.is_empty() {
        ctx.out.error("ERR tenant name must not be empty");
        return None;
    }
    Some(arg)
}

fn setlimit(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(name) = tenant_name(ctx, &args[2]) else {
        return;
    };
    if name == b"default" {
        return ctx.out.error(
            "ERR the 'default' tenant takes no limits of its own: use tenant-default-maxmemory, tenant-default-maxkeys and tenant-default-reserve",
        );
    }
    let ks = ctx.ks.get();
    let current = ks.tenants.id_of(name).map(|id| ks.limit_overrides(id)).unwrap_or_default();
    match parse_options(&args[3..], current) {
        Ok(overrides) => {
            let id = ks.tenants.intern(name);
            ks.set_limit_overrides(id, overrides);
            ks.enforce_limits(id);
            ctx.out.ok();
        }
        Err(e) => ctx.out.error(&e),
    }
}

fn limits_of(ctx: &mut Ctx, name: &[u8]) -> Limits {
    let ks = ctx.ks.get();
    match ks.tenants.id_of(name) {
        Some(id) => ks.limits(id),
        None => ks.limits(u32::MAX),
    }
}

fn getlimit(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(name) = tenant_name(ctx, &args[2]) else {
        return;
    };
    let l = limits_of(ctx, name);
    ctx.out.map(4);
    ctx.out.bulk(b"maxmemory");
    ctx.out.int(l.maxmemory as i64);
    ctx.out.bulk(b"maxkeys");
    ctx.out.int(l.maxkeys as i64);
    ctx.out.bulk(b"reserve");
    ctx.out.int(l.reserve as i64);
    ctx.out.bulk(b"onlimit");
    ctx.out.bulk(l.onlimit.name().as_bytes());
}

fn info(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(name) = tenant_name(ctx, &args[2]) else {
        return;
    };
    let l = limits_of(ctx, name);
    let ks = ctx.ks.get();
    let (keys, used, stats) = match ks.tenants.id_of(name) {
        Some(id) => (ks.tenant_keys(id), ks.tenant_memory(id), ks.tenant_stats(id)),
        None => (0, 0, Default::default()),
    };
    let fields: [(&str, i64); 15] = [
        ("keys", keys as i64),
        ("used_memory", used as i64),
        ("maxmemory", l.maxmemory as i64),
        ("maxkeys", l.maxkeys as i64),
        ("reserve", l.reserve as i64),
        ("hits", stats.hits as i64),
        ("misses", stats.misses as i64),
        ("evicted_keys", (stats.evicted_quota + stats.evicted_pressure) as i64),
        ("evicted_keys_quota", stats.evicted_quota as i64),
        ("evicted_keys_pressure", stats.evicted_pressure as i64),
        ("expired_keys", stats.expired_keys as i64),
        ("invalidated_keys", stats.invalidated_keys as i64),
        ("rejected_writes", stats.rejected_writes as i64),
        ("commands", stats.commands as i64),
        ("hit_rate_percent", hit_rate(stats.hits, stats.misses)),
    ];
    ctx.out.map(fields.len() + 1);
    ctx.out.bulk(b"onlimit");
    ctx.out.bulk(l.onlimit.name().as_bytes());
    for (k, v) in fields {
        ctx.out.bulk(k.as_bytes());
        ctx.out.int(v);
    }
}

fn hit_rate(hits: u64, misses: u64) -> i64 {
    (hits * 100).checked_div(hits + misses).unwrap_or(0) as i64
}

fn list(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(pattern) = super::args::match_option(ctx, args) else {
        return;
    };
    let ks = ctx.ks.get();
    let names = (0..ks.tenants.count() as u32)
        .filter(|&id| ks.tenant_keys(id) > 0 || !ks.limit_overrides(id).is_empty())
        .map(|id| ks.tenants.name(id));
    crate::commands::listing::reply_matching(ctx.out, names, pattern);
}

fn flush(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(name) = tenant_name(ctx, &args[2]) else {
        return;
    };
    let ks = ctx.ks.get();
    let n = match ks.tenants.id_of(name) {
        Some(id) => ks.flush_tenant(id),
        None => 0,
    };
    ctx.out.int(n as i64);
}

fn of(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.out.bulk(ctx.ks.get().tenants.tenant_name(&args[2]));
}

fn resetstats(ctx: &mut Ctx, args: &[Bytes]) {
    let ks = ctx.ks.get();
    match args.get(2) {
        None => ks.reset_tenant_stats(None),
        Some(name) => {
            if let Some(id) = ks.tenants.id_of(name) {
                ks.reset_tenant_stats(Some(id));
            }
        }
    }
    ctx.out.ok();
}

fn help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::introspection::help_reply(
        ctx,
        "TENANT",
        &[
            "SETLIMIT <tenant> [MAXMEMORY <size>] [MAXKEYS <n>] [RESERVE <size>] [ONLIMIT evict|reject]",
            "    Set the tenant's limits (sizes accept 10mb, 1gb ...).",
            "GETLIMIT <tenant>",
            "    Return the tenant's effective limits.",
            "INFO <tenant>",
            "    Return the tenant's keys, memory, limits and statistics.",
            "LIST [MATCH <pattern>]",
            "    List tenants that hold keys or have limits.",
            "FLUSH <tenant>",
            "    Delete every key of the tenant; returns the number deleted.",
            "OF <key>",
            "    Return the tenant a key belongs to.",
            "RESETSTATS [<tenant>]",
            "    Reset the statistics of one tenant or of all.",
        ],
    );
}

/// Applies a `tenant NAME option value ...` configuration line.
pub fn apply_config_line(shared: &Shared, line: &[String]) -> Result<(), String> {
    let (name, options) = line.split_first().ok_or("tenant name missing")?;
    if name.is_empty() || name == "default" {
        return Err(format!("invalid tenant name '{name}' (the default tenant takes tenant-default-* directives)"));
    }
    let mut ks = shared.lock_keyspace();
    let overrides =
        parse_options(options, LimitOverrides::default()).map_err(|e| e.trim_start_matches("ERR ").to_string())?;
    let id = ks.tenants.intern(name.as_bytes());
    ks.set_limit_overrides(id, overrides);
    Ok(())
}
