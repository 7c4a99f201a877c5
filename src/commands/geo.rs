//! Geo commands (Redis's `geo.c`): GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH,
//! GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and the `_RO` forms of the last two.
//!
//! A geo set is a sorted set whose scores are 52-bit geohashes (the math is in
//! `base::geohash`). GEOADD adds through ZADD's path, so tenant quotas, memory accounting,
//! WATCH and the `zadd` event are ZADD's; the STORE forms store through the sorted set STORE
//! path (`geosearchstore` / `georadiusstore` events, `del` when nothing is found). Searches
//! read the score ranges of the nine geohash boxes around the centre, in Redis's order, so
//! unsorted replies list members as redis-server does. Coordinates are replied with 17
//! decimals less trailing zeros and distances with 4, as Redis does.

use super::args::is;
use super::flags::*;
use super::table::{key_access, KeyRef};
use super::zsets::{self, AddFlags};
use super::{errors, CommandSpec, Ctx};
use crate::cmd;
use crate::geohash::{self, Shape, ShapeKind, LAT_MAX, LAT_MIN, LONG_MAX, LONG_MIN};
use crate::protocol::ReplyBuf;
use crate::storage::zset::{Item, Member, ScoreRange, ZSetValue};
use crate::util::parse_i64;
use bytes::Bytes;

// One line per command keeps the table readable as a table.
#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    cmd!("geoadd", -5, WRITE | DENYOOM, (1, 1, 1), "geo", "3.2.0", "Adds one or more members to a geospatial index. The key is created if it doesn't exist.", geoadd),
    cmd!("geodist", -4, READONLY, (1, 1, 1), "geo", "3.2.0", "Returns the distance between two members of a geospatial index.", geodist),
    cmd!("geohash", -2, READONLY, (1, 1, 1), "geo", "3.2.0", "Returns members from a geospatial index as geohash strings.", geohash),
    cmd!("geopos", -2, READONLY, (1, 1, 1), "geo", "3.2.0", "Returns the longitude and latitude of members from a geospatial index.", geopos),
    cmd!("georadius", -6, WRITE | DENYOOM | MOVABLE_KEYS, (1, 1, 1), "geo", "3.2.0", "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.", georadius).keys_by(radius_keys),
    cmd!("georadiusbymember", -5, WRITE | DENYOOM | MOVABLE_KEYS, (1, 1, 1), "geo", "3.2.0", "Queries a geospatial index for members within a distance from a member, optionally stores the result.", georadiusbymember).keys_by(radius_by_member_keys),
    cmd!("georadius_ro", -6, READONLY, (1, 1, 1), "geo", "3.2.10", "Returns members from a geospatial index that are within a distance from a coordinate.", georadius_ro),
    cmd!("georadiusbymember_ro", -5, READONLY, (1, 1, 1), "geo", "3.2.10", "Returns members from a geospatial index that are within a distance from a member.", georadiusbymember_ro),
    cmd!("geosearch", -7, READONLY, (1, 1, 1), "geo", "6.2.0", "Queries a geospatial index for members inside an area of a box or a circle.", geosearch),
    cmd!("geosearchstore", -8, WRITE | DENYOOM, (1, 2, 1), "geo", "6.2.0", "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.", geosearchstore).key_access(&[key_access::OVERWRITE, key_access::READ]),
];

/// GEORADIUS's keys: the source, then the keys after the first STORE and the first
/// STOREDIST from argument 6 on, as Redis's key specs find them.
fn radius_keys(args: &[Bytes]) -> Vec<KeyRef> {
    store_keys(args, 6)
}

/// GEORADIUSBYMEMBER's keys: as GEORADIUS's, the options starting at argument 5.
fn radius_by_member_keys(args: &[Bytes]) -> Vec<KeyRef> {
    store_keys(args, 5)
}

fn store_keys(args: &[Bytes], options_at: usize) -> Vec<KeyRef> {
    let mut keys = vec![KeyRef { pos: 1, flags: key_access::READ }];
    let options = args.get(options_at..).unwrap_or_default();
    let after = |keyword: &str| options.iter().position(|a| is(a, keyword)).map(|i| options_at + i + 1);
    let (store, store_dist) = (after("store"), after("storedist"));
    if store.is_some_and(|p| p >= args.len()) || store_dist.is_some_and(|p| p >= args.len()) {
        // A keyword without a key after it: Redis falls back to `georadiusGetKeys`, where the
        // last STORE or STOREDIST followed by a key wins.
        let mut stored = None;
        let mut i = 5;
        while i < args.len() {
            if (is(&args[i], "store") || is(&args[i], "storedist")) && i + 1 < args.len() {
                stored = Some(i + 1);
                i += 1;
            }
            i += 1;
        }
        keys.extend(stored.map(|pos| KeyRef { pos, flags: key_access::OVERWRITE }));
        return keys;
    }
    keys.extend([store, store_dist].into_iter().flatten().map(|pos| KeyRef { pos, flags: key_access::OVERWRITE }));
    keys
}

const UNIT_ERROR: &str = "ERR unsupported unit provided. please use M, KM, FT, MI";
const MEMBER_ERROR: &str = "ERR could not decode requested zset member";

// ----- arguments -----

/// A double as Redis's `getDoubleFromObject` reads it (`inf` is fine, NaN is not).
fn double_or_reply(out: &mut ReplyBuf, arg: &[u8], msg: &str) -> Option<f64> {
    let v = zsets::parse_score(arg);
    if v.is_none() {
        out.error(msg);
    }
    v
}

/// `longitude latitude` at `args[0..2]`, within the geohash limits (Redis's
/// `extractLongLatOrReply`).
fn lon_lat_or_reply(out: &mut ReplyBuf, args: &[Bytes]) -> Option<[f64; 2]> {
    let lon = double_or_reply(out, &args[0], errors::NOT_FLOAT)?;
    let lat = double_or_reply(out, &args[1], errors::NOT_FLOAT)?;
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        out.error(&format!("ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"));
        return None;
    }
    Some([lon, lat])
}

/// Meters per unit of `m|km|ft|mi`.
fn unit_or_reply(out: &mut ReplyBuf, arg: &[u8]) -> Option<f64> {
    let to_meters = match () {
        _ if is(arg, "m") => 1.0,
        _ if is(arg, "km") => 1000.0,
        _ if is(arg, "ft") => 0.3048,
        _ if is(arg, "mi") => 1609.34,
        _ => {
            out.error(UNIT_ERROR);
            return None;
        }
    };
    Some(to_meters)
}

/// `radius unit`: the radius and meters per unit.
fn radius_or_reply(out: &mut ReplyBuf, args: &[Bytes]) -> Option<(f64, f64)> {
    let radius = double_or_reply(out, &args[0], "ERR need numeric radius")?;
    if radius < 0.0 {
        out.error("ERR radius cannot be negative");
        return None;
    }
    Some((radius, unit_or_reply(out, &args[1])?))
}

/// `width height unit`: the box and meters per unit.
fn box_or_reply(out: &mut ReplyBuf, args: &[Bytes]) -> Option<(f64, f64, f64)> {
    let width = double_or_reply(out, &args[0], "ERR need numeric width")?;
    let height = double_or_reply(out, &args[1], "ERR need numeric height")?;
    if height < 0.0 || width < 0.0 {
        out.error("ERR height or width cannot be negative");
        return None;
    }
    Some((width, height, unit_or_reply(out, &args[2])?))
}

/// The position of `member` in the geo set.
fn member_position(z: &ZSetValue, member: &[u8]) -> Option<[f64; 2]> {
    z.score(member).and_then(geohash::decode_score)
}

// ----- replies -----

/// A coordinate as Redis's `addReplyHumanLongDouble`: 17 decimals without trailing zeros, a
/// bulk string in RESP2 and a double in RESP3.
fn reply_coordinate(out: &mut ReplyBuf, v: f64) {
    let mut text = format!("{v:.17}");
    if text.contains('.') {
        text.truncate(text.trim_end_matches('0').trim_end_matches('.').len());
    }
    if text == "-0" {
        text = "0".into();
    }
    if out.resp3 {
        out.raw(b",");
        out.raw(text.as_bytes());
        out.raw(b"\r\n");
    } else {
        out.bulk(text.as_bytes());
    }
}

/// A distance with 4 decimals, rounded half to even, as Redis's `addReplyDoubleDistance`
/// (always a bulk string).
fn reply_distance(out: &mut ReplyBuf, d: f64) {
    let scaled = (d * 10000.0).round_ties_even() as i64;
    let sign = if scaled < 0 { "-" } else { "" };
    let v = scaled.unsigned_abs();
    out.bulk(format!("{sign}{}.{:04}", v / 10000, v % 10000).as_bytes());
}

// ----- GEOADD -----

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: ZADD with the members' geohashes.
fn geoadd(ctx: &mut Ctx, args: &[Bytes]) {
    let mut f = AddFlags::default();
    let mut at = 2;
    while at < args.len() {
        let a = &args[at];
        match () {
            _ if is(a, "nx") => f.nx = true,
            _ if is(a, "xx") => f.xx = true,
            _ if is(a, "ch") => f.ch = true,
            _ => break,
        }
        at += 1;
    }
    let triples = &args[at..];
    if triples.is_empty() || !triples.len().is_multiple_of(3) || (f.xx && f.nx) {
        return ctx.out.error(errors::SYNTAX);
    }
    let mut elements = Vec::with_capacity(triples.len() / 3);
    for t in triples.chunks(3) {
        let Some([lon, lat]) = lon_lat_or_reply(ctx.out, &t[..2]) else {
            return;
        };
        let score = geohash::score_of(lon, lat).expect("checked coordinates encode");
        elements.push((score, &t[2][..]));
    }
    zsets::add_generic(ctx, &args[1], f, &elements);
}

// ----- GEODIST, GEOHASH, GEOPOS -----

fn geodist(ctx: &mut Ctx, args: &[Bytes]) {
    let to_meters = match args.len() {
        4 => 1.0,
        5 => match unit_or_reply(ctx.out, &args[4]) {
            Some(u) => u,
            None => return,
        },
        _ => return ctx.out.error(errors::SYNTAX),
    };
    let db = ctx.db();
    let Ok(z) = zsets::read(ctx.ks.get(), ctx.out, db, &args[1]) else {
        return;
    };
    let positions = z.and_then(|z| Some((member_position(z, &args[2])?, member_position(z, &args[3])?)));
    match positions {
        Some((a, b)) => reply_distance(ctx.out, geohash::distance(a[0], a[1], b[0], b[1]) / to_meters),
        None => ctx.out.null(),
    }
}

fn geohash(ctx: &mut Ctx, args: &[Bytes]) {
    reply_positions(ctx, args, |out, xy| match xy {
        Some(xy) => out.bulk(&geohash::standard_geohash(xy)),
        None => out.null(),
    });
}

fn geopos(ctx: &mut Ctx, args: &[Bytes]) {
    reply_positions(ctx, args, |out, xy| match xy {
        Some([lon, lat]) => {
            out.array(2);
            reply_coordinate(out, lon);
            reply_coordinate(out, lat);
        }
        None => out.null_array(),
    });
}

/// `CMD key member ...`: one reply a member, from its position (`None` if missing).
fn reply_positions(ctx: &mut Ctx, args: &[Bytes], reply: impl Fn(&mut ReplyBuf, Option<[f64; 2]>)) {
    let db = ctx.db();
    let Ok(z) = zsets::read(ctx.ks.get(), ctx.out, db, &args[1]) else {
        return;
    };
    ctx.out.array(args.len() - 2);
    for m in &args[2..] {
        reply(ctx.out, z.and_then(|z| member_position(z, m)));
    }
}

// ----- the searches -----

/// Which search command runs (Redis's `RADIUS_*` / `GEOSEARCH*` flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Search {
    /// GEORADIUS, GEORADIUS_RO (`store` says whether STORE/STOREDIST are accepted).
    Coords {
        store: bool,
    },
    /// GEORADIUSBYMEMBER, GEORADIUSBYMEMBER_RO.
    Member {
        store: bool,
    },
    Geosearch,
    GeosearchStore,
}

impl Search {
    fn is_geosearch(self) -> bool {
        matches!(self, Search::Geosearch | Search::GeosearchStore)
    }

    fn accepts_store(self) -> bool {
        matches!(self, Search::Coords { store: true } | Search::Member { store: true })
    }
}

fn georadius(ctx: &mut Ctx, args: &[Bytes]) {
    search(ctx, args, 1, Search::Coords { store: true });
}
fn georadiusbymember(ctx: &mut Ctx, args: &[Bytes]) {
    search(ctx, args, 1, Search::Member { store: true });
}
fn georadius_ro(ctx: &mut Ctx, args: &[Bytes]) {
    search(ctx, args, 1, Search::Coords { store: false });
}
fn georadiusbymember_ro(ctx: &mut Ctx, args: &[Bytes]) {
    search(ctx, args, 1, Search::Member { store: false });
}
fn geosearch(ctx: &mut Ctx, args: &[Bytes]) {
    search(ctx, args, 1, Search::Geosearch);
}
fn geosearchstore(ctx: &mut Ctx, args: &[Bytes]) {
    search(ctx, args, 2, Search::GeosearchStore);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A member found by a search.
struct Point {
    xy: [f64; 2],
    /// Meters from the centre until the reply divides it by the unit.
    dist: f64,
    score: f64,
    member: Member,
}

/// Redis's `georadiusGeneric`: the source key is at `args[src]`.
fn search(ctx: &mut Ctx, args: &[Bytes], src: usize, kind: Search) {
    let db = ctx.db();
    let ks = ctx.ks.get();
    let out = &mut *ctx.out;
    // The source is type-checked first, then the arguments are read, as in Redis.
    let Ok(z) = zsets::read(ks, out, db, &args[src]) else {
        return;
    };
    let mut store_key: Option<&[u8]> = None;
    let mut store_dist = false;
    let mut center: Option<[f64; 2]> = None;
    let mut extent: Option<(ShapeKind, f64)> = None;
    let base = match kind {
        Search::Coords { .. } => {
            let Some(xy) = lon_lat_or_reply(out, &args[2..4]) else {
                return;
            };
            let Some((radius, conversion)) = radius_or_reply(out, &args[4..6]) else {
                return;
            };
            center = Some(xy);
            extent = Some((ShapeKind::Circle { radius }, conversion));
            6
        }
        Search::Member { .. } => {
            // Without a source the member and radius are not looked at: the reply is empty.
            if let Some(z) = z {
                let Some(xy) = member_position(z, &args[2]) else {
                    return out.error(MEMBER_ERROR);
                };
                let Some((radius, conversion)) = radius_or_reply(out, &args[3..5]) else {
                    return;
                };
                center = Some(xy);
                extent = Some((ShapeKind::Circle { radius }, conversion));
            }
            5
        }
        Search::Geosearch => 2,
        Search::GeosearchStore => {
            store_key = Some(&args[1]);
            3
        }
    };

    let (mut with_dist, mut with_hash, mut with_coord, mut any) = (false, false, false, false);
    let (mut from_member, mut from_lonlat, mut by_radius, mut by_box) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut count: usize = 0;
    let geosearch = kind.is_geosearch();
    let remaining = args.len() - base;
    let mut i = 0;
    while i < remaining {
        let a = &args[base + i];
        let rest = &args[base + i + 1..];
        if is(a, "withdist") {
            with_dist = true;
        } else if is(a, "withhash") {
            with_hash = true;
        } else if is(a, "withcoord") {
            with_coord = true;
        } else if is(a, "any") {
            any = true;
        } else if is(a, "asc") {
            sort = Sort::Asc;
        } else if is(a, "desc") {
            sort = Sort::Desc;
        } else if is(a, "count") && !rest.is_empty() {
            match parse_i64(&rest[0]) {
                None => return out.error(errors::NOT_INTEGER),
                Some(n) if n <= 0 => return out.error("ERR COUNT must be > 0"),
                Some(n) => count = n as usize,
            }
            i += 1;
        } else if (is(a, "store") || is(a, "storedist")) && !rest.is_empty() && kind.accepts_store() {
            store_key = Some(&rest[0]);
            store_dist = is(a, "storedist");
            i += 1;
        } else if is(a, "storedist") && kind == Search::GeosearchStore {
            store_dist = true;
        } else if is(a, "frommember") && !rest.is_empty() && geosearch && !from_lonlat {
            // Without a source the search is empty; the other arguments are still checked.
            if let Some(z) = z {
                let Some(xy) = member_position(z, &rest[0]) else {
                    return out.error(MEMBER_ERROR);
                };
                center = Some(xy);
            }
            from_member = true;
            i += 1;
        } else if is(a, "fromlonlat") && rest.len() >= 2 && geosearch && !from_member {
            let Some(xy) = lon_lat_or_reply(out, &rest[..2]) else {
                return;
            };
            center = Some(xy);
            from_lonlat = true;
            i += 2;
        } else if is(a, "byradius") && rest.len() >= 2 && geosearch && !by_box {
            let Some((radius, conversion)) = radius_or_reply(out, &rest[..2]) else {
                return;
            };
            extent = Some((ShapeKind::Circle { radius }, conversion));
            by_radius = true;
            i += 2;
        } else if is(a, "bybox") && rest.len() >= 3 && geosearch && !by_radius {
            let Some((width, height, conversion)) = box_or_reply(out, &rest[..3]) else {
                return;
            };
            extent = Some((ShapeKind::Rectangle { width, height }, conversion));
            by_box = true;
            i += 3;
        } else {
            return out.error(errors::SYNTAX);
        }
        i += 1;
    }

    if store_key.is_some() && (with_dist || with_hash || with_coord) {
        let what = if kind == Search::GeosearchStore { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return out.error(&format!("ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"));
    }
    let name = String::from_utf8_lossy(&args[0]);
    if geosearch && !(from_member || from_lonlat) {
        return out.error(&format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"));
    }
    if geosearch && !(by_radius || by_box) {
        return out.error(&format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"));
    }
    if any && count == 0 {
        return out.error("ERR the ANY argument requires COUNT argument");
    }

    let (Some(z), Some(xy), Some((shape_kind, conversion))) = (z, center, extent) else {
        // No source: nothing found (a STORE destination is deleted).
        return match store_key {
            Some(dst) => zsets::store(ctx, dst, Vec::new(), store_event(kind)),
            None => out.array(0),
        };
    };
    // COUNT alone means the nearest ones (ANY takes the first found, unsorted).
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape { xy, conversion, kind: shape_kind };
    let mut points = points_in_shape(z, &shape, if any { count } else { 0 });
    if points.is_empty() && store_key.is_none() {
        return out.array(0);
    }
    let returned = if count == 0 { points.len() } else { points.len().min(count) };
    if sort != Sort::None {
        let by_distance = |a: &Point, b: &Point| match sort {
            Sort::Desc => b.dist.total_cmp(&a.dist),
            _ => a.dist.total_cmp(&b.dist),
        };
        // Points at the same distance end up where Redis puts them: its qsort (the C
        // library's merge sort) keeps them in the order found, as a stable sort does, and its
        // pqsort for a COUNT below the number found is the quicksort ported below.
        if returned == points.len() {
            points.sort_by(by_distance);
        } else {
            partial_sort(&mut points, &by_distance, 0, returned - 1);
        }
    }
    points.truncate(returned);
    for p in &mut points {
        p.dist /= conversion;
    }

    if let Some(dst) = store_key {
        let items = points
            .into_iter()
            .map(|p| Item { score: if store_dist { p.dist } else { p.score }, member: p.member })
            .collect();
        return zsets::store(ctx, dst, items, store_event(kind));
    }
    let options = with_dist as usize + with_coord as usize + with_hash as usize;
    out.array(points.len());
    for p in &points {
        if out.exhausted() {
            break; // the client is closed without this reply
        }
        if options > 0 {
            out.array(options + 1);
        }
        out.bulk(&p.member);
        if with_dist {
            reply_distance(out, p.dist);
        }
        if with_hash {
            out.int(p.score as i64);
        }
        if with_coord {
            out.array(2);
            reply_coordinate(out, p.xy[0]);
            reply_coordinate(out, p.xy[1]);
        }
    }
}

fn store_event(kind: Search) -> &'static str {
    if kind.is_geosearch() {
        "geosearchstore"
    } else {
        "georadiusstore"
    }
}

/// The members of the geo set inside `shape`, in Redis's order of discovery: the nine boxes
/// of [`geohash::areas_by_shape`] in turn, each by ascending score. With a `limit` (ANY) the
/// search stops once that many are found.
fn points_in_shape(z: &ZSetValue, shape: &Shape, limit: usize) -> Vec<Point> {
    let areas = geohash::areas_by_shape(shape);
    let boxes = areas.boxes();
    let mut points = Vec::new();
    let mut last_processed = 0;
    let full = |points: &Vec<Point>| limit != 0 && points.len() >= limit;
    for (i, b) in boxes.iter().enumerate() {
        if b.is_zero() {
            continue;
        }
        // Around huge radii neighbouring boxes can be the same box: searched once.
        if last_processed != 0 && *b == boxes[last_processed] {
            continue;
        }
        if full(&points) {
            break;
        }
        let (min, max) = b.score_range();
        let range = ScoreRange { min: min as f64, max: max as f64, min_exclusive: false, max_exclusive: true };
        let (lo, hi) = z.score_span(&range);
        for it in z.range(lo, hi) {
            if let Some(xy) = geohash::decode_score(it.score) {
                if let Some(dist) = shape.distance_if_within(xy) {
                    points.push(Point { xy, dist, score: it.score, member: it.member.clone() });
                }
            }
            if full(&points) {
                break;
            }
        }
        last_processed = i;
    }
    points
}

/// Redis's `pqsort` (`pqsort.c`, after NetBSD's `qsort`; BSD-licensed): a quicksort that
/// only sorts the parts overlapping ranks `lrange..=rrange`, so those ranks hold what a full
/// sort would put there. Ported step for step, element swaps included, so that equal
/// elements land where they land in Redis.
fn partial_sort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> std::cmp::Ordering, lrange: usize, rrange: usize) {
    let len = v.len();
    pqsort(v, cmp, 0, len, lrange, rrange);
}

/// Sorts the part `v[start..start + n]` (Redis's `_pqsort`); the ranks are of all of `v`.
fn pqsort<T>(
    v: &mut [T],
    cmp: &impl Fn(&T, &T) -> std::cmp::Ordering,
    start: usize,
    n: usize,
    lrange: usize,
    rrange: usize,
) {
    use std::cmp::Ordering::{Greater, Less};
    let (mut start, mut n) = (start, n);
    let c = |v: &[T], i: usize, j: usize| cmp(&v[i], &v[j]);
    let med3 = |v: &[T], a: usize, b: usize, x: usize| {
        if c(v, a, b) == Less {
            if c(v, b, x) == Less {
                b
            } else if c(v, a, x) == Less {
                x
            } else {
                a
            }
        } else if c(v, b, x) == Greater {
            b
        } else if c(v, a, x) == Less {
            a
        } else {
            x
        }
    };
    let vecswap = |v: &mut [T], a: usize, b: usize, k: usize| {
        for i in 0..k {
            v.swap(a + i, b + i);
        }
    };
    // Whether `[from, from + len)` holds any of the wanted ranks.
    let wanted = |from: usize, len: usize| !(rrange < from || lrange >= from + len);
    loop {
        let a = start;
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && c(v, pl - 1, pl) == Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d);
                pm = med3(v, pm - d, pm, pm + d);
                pn = med3(v, pn - 2 * d, pn - d, pn);
            }
            pm = med3(v, pl, pm, pn);
        }
        v.swap(a, pm);
        // Signed: `pc` may step just below `pb`.
        let (mut pa, mut pb) = (a as isize + 1, a as isize + 1);
        let (mut pc, mut pd) = ((a + n - 1) as isize, (a + n - 1) as isize);
        loop {
            while pb <= pc {
                let r = c(v, pb as usize, a);
                if r == Greater {
                    break;
                }
                if r.is_eq() {
                    v.swap(pa as usize, pb as usize);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = c(v, pc as usize, a);
                if r == Less {
                    break;
                }
                if r.is_eq() {
                    v.swap(pc as usize, pd as usize);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb as usize, pc as usize);
            pb += 1;
            pc -= 1;
        }
        let pn = (a + n) as isize;
        let r = (pa - a as isize).min(pb - pa) as usize;
        vecswap(v, a, pb as usize - r, r);
        let r = (pd - pc).min(pn - pd - 1) as usize;
        vecswap(v, pb as usize, pn as usize - r, r);
        let left = (pb - pa) as usize;
        if left > 1 && wanted(a, left) {
            pqsort(v, cmp, a, left, lrange, rrange);
        }
        let right = (pd - pc) as usize;
        if right > 1 {
            start = pn as usize - right;
            n = right;
            if wanted(start, n) {
                continue;
            }
        }
        return;
    }
}
