//! Geo commands (GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH, GEOSEARCHSTORE, GEORADIUS,
//! GEORADIUSBYMEMBER and the `_RO` forms) against the real binary: a seeded random mix run
//! on tenantcache and on Debian's redis-server must get byte-identical replies, in RESP2 and
//! RESP3, and leave the same sorted sets behind STORE (the redis-server half is skipped, with
//! a message, where it is not installed; rerun a failure with the printed `GEO_SEED`); and
//! errors, key positions, events and WATCH are Redis's.

mod common;

use common::*;
use redis::Value;

const KEYS: &[&str] = &["geo", "geo2", "str"];
const DESTINATIONS: &[&str] = &["dst", "geo2"];
const UNITS: &[&str] = &["m", "km", "ft", "mi", "KM"];

/// Centres of the clusters members are put around: ordinary places, both sides of the
/// antimeridian, near the latitude limits and the equator.
const CLUSTERS: &[(f64, f64)] = &[
    (13.361389, 38.115556),
    (-122.42, 37.77),
    (179.8, -16.5),
    (-179.9, 10.0),
    (2.35, 84.9),
    (0.0, 0.0),
    (-70.6, -84.7),
];

fn member(r: &mut Rng) -> String {
    format!("m{}", r.below(40))
}

fn unit(r: &mut Rng) -> String {
    r.pick(UNITS).to_string()
}

/// A position near one of the clusters (rarely one outside the limits, or on them).
fn position(r: &mut Rng) -> (String, String) {
    match r.below(40) {
        0 => {
            return (
                r.pick(&["180", "-180", "181", "0"]).into(),
                r.pick(&["85.05112878", "-85.05112878", "86", "0"]).into(),
            )
        }
        1 => return ("abc".into(), "1".into()),
        // Shared spots: members at one position tie on distance, which tests the order of
        // equal distances (Redis's partial quicksort under COUNT).
        2..=5 => {
            let (lon, lat) = r.pick(&["13.3|38.1", "13.4|38.2", "-122.4|37.7", "179.9|-16.5"]).split_once('|').unwrap();
            return (lon.into(), lat.into());
        }
        _ => {}
    }
    let (lon, lat) = CLUSTERS[r.below(CLUSTERS.len())];
    let spread = [0.01, 0.5, 3.0][r.below(3)];
    let offset = |r: &mut Rng| (r.below(2_000_001) as f64 / 1_000_000.0 - 1.0) * spread;
    let lon = (lon + offset(r)).clamp(-180.0, 180.0);
    let lat = (lat + offset(r)).clamp(-85.05112878, 85.05112878);
    (format!("{lon:.6}"), format!("{lat:.6}"))
}

/// A radius (or box side) that finds some members, a few or none.
fn extent(r: &mut Rng) -> String {
    match r.below(12) {
        0 => "0".into(),
        1 => "-1".into(),
        2 => "x".into(),
        3 => (r.below(20_000_000)).to_string(),
        _ => format!("{}.{}", r.below(400), r.below(1000)),
    }
}

/// The options of a search, in random order: WITH*, ASC|DESC, COUNT [ANY].
fn search_options(r: &mut Rng, storing: bool) -> Vec<String> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    if !storing || r.below(20) == 0 {
        for w in ["WITHDIST", "WITHCOORD", "WITHHASH"] {
            if r.below(2) == 0 {
                groups.push(vec![w.into()]);
            }
        }
    }
    match r.below(4) {
        0 => groups.push(vec!["ASC".into()]),
        1 => groups.push(vec!["DESC".into()]),
        _ => {}
    }
    if r.below(2) == 0 {
        let n = if r.below(30) == 0 { "0".into() } else { (1 + r.below(8)).to_string() };
        let mut g = vec!["COUNT".into(), n];
        if r.below(3) == 0 {
            g.push("ANY".into());
        }
        groups.push(g);
    } else if r.below(30) == 0 {
        groups.push(vec!["ANY".into()]);
    }
    // Shuffle the groups (COUNT n ANY stays together).
    for i in (1..groups.len()).rev() {
        let j = r.below(i + 1);
        groups.swap(i, j);
    }
    groups.concat()
}

/// GEOSEARCH's FROM and BY parts.
fn from_and_by(r: &mut Rng) -> Vec<String> {
    let from = if r.below(2) == 0 {
        vec!["FROMMEMBER".into(), member(r)]
    } else {
        let (lon, lat) = position(r);
        vec!["FROMLONLAT".into(), lon, lat]
    };
    let by = if r.below(2) == 0 {
        vec!["BYRADIUS".into(), extent(r), unit(r)]
    } else {
        vec!["BYBOX".into(), extent(r), extent(r), unit(r)]
    };
    match r.below(30) {
        0 => from,
        1 => by,
        2 => [by, from].concat(),
        _ => [from, by].concat(),
    }
}

/// One random geo command (or a write that changes the set under the next ones).
fn random_command(r: &mut Rng) -> Vec<String> {
    let key = |r: &mut Rng| if r.below(12) == 0 { r.pick(KEYS).to_string() } else { "geo".to_string() };
    let mut c: Vec<String> = match r.below(14) {
        0..=2 => {
            let mut c = vec!["GEOADD".into(), key(r)];
            for flag in ["NX", "XX", "CH"] {
                if r.below(6) == 0 {
                    c.push(flag.into());
                }
            }
            for _ in 0..1 + r.below(4) {
                let (lon, lat) = position(r);
                c.extend([lon, lat, member(r)]);
            }
            c
        }
        3 => {
            let mut c = vec!["GEODIST".into(), key(r), member(r), member(r)];
            if r.below(2) == 0 {
                c.push(if r.below(10) == 0 { "yd".into() } else { unit(r) });
            }
            c
        }
        4 => {
            let mut c = vec![r.pick(&["GEOHASH", "GEOPOS"]).to_string(), key(r)];
            c.extend((0..r.below(4)).map(|_| member(r)));
            c
        }
        5 | 6 => {
            let mut c = vec![r.pick(&["GEORADIUS", "GEORADIUS_RO"]).to_string(), key(r)];
            let (lon, lat) = position(r);
            c.extend([lon, lat, extent(r), unit(r)]);
            c.extend(search_options(r, false));
            c
        }
        7 => {
            let mut c = vec![r.pick(&["GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"]).to_string(), key(r), member(r)];
            c.extend([extent(r), unit(r)]);
            c.extend(search_options(r, false));
            c
        }
        8 => {
            let storing = r.below(2) == 0;
            let mut c = if r.below(2) == 0 {
                let (lon, lat) = position(r);
                vec!["GEORADIUS".into(), key(r), lon, lat]
            } else {
                vec!["GEORADIUSBYMEMBER".into(), key(r), member(r)]
            };
            c.extend([extent(r), unit(r)]);
            c.extend(search_options(r, storing));
            c.extend([r.pick(&["STORE", "STOREDIST"]).to_string(), r.pick(DESTINATIONS).to_string()]);
            c
        }
        9 | 10 => {
            let mut c = vec!["GEOSEARCH".into(), key(r)];
            c.extend(from_and_by(r));
            c.extend(search_options(r, false));
            c
        }
        11 => {
            let mut c = vec!["GEOSEARCHSTORE".into(), r.pick(DESTINATIONS).to_string(), key(r)];
            c.extend(from_and_by(r));
            c.extend(search_options(r, true));
            if r.below(2) == 0 {
                c.push("STOREDIST".into());
            }
            c
        }
        12 => vec!["ZREM".into(), "geo".into(), member(r)],
        _ => vec!["ZRANGE".into(), key(r), "0".into(), "-1".into(), "WITHSCORES".into()],
    };
    // Now and then a malformed one, which both must refuse alike.
    if r.below(40) == 0 {
        c.insert(2 + r.below(c.len() - 1), "extra".into());
    }
    c
}

/// The key a command may have written, to compare afterwards.
fn written_key(words: &[String]) -> Option<String> {
    match words[0].as_str() {
        "GEOADD" => Some(words[1].clone()),
        "GEOSEARCHSTORE" => Some(words[1].clone()),
        "GEORADIUS" | "GEORADIUSBYMEMBER" => {
            let at = words.iter().rposition(|w| w == "STORE" || w == "STOREDIST")?;
            words.get(at + 1).cloned()
        }
        _ => None,
    }
}

#[test]
fn random_geo_commands_reply_as_redis_server_does() {
    if !redis_server_present() {
        return;
    }
    let seed = seed_from_env("GEO_SEED");
    let rounds: usize = std::env::var("GEO_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(4000);
    println!("randomized geo test: GEO_SEED={seed} GEO_ROUNDS={rounds}");
    let mut r = Rng(seed);
    let redis = RedisServer::start(&[]);
    let ours = Server::start(&[]);
    let (mut rs, mut tc) = (Raw::connect_port(redis.port), Raw::connect(&ours));
    // A second pair of connections speaks RESP3 (coordinates are doubles there).
    let (mut rs3, mut tc3) = (Raw::connect_port(redis.port), Raw::connect(&ours));
    for con in [&mut rs3, &mut tc3] {
        con.call(&["HELLO", "3"]);
    }
    for con in [&mut rs, &mut tc] {
        assert_eq!(con.call(&["SET", "str", "x"]), "+OK");
    }
    let (mut found, mut stored) = (0, 0);
    for i in 0..rounds {
        let words = random_command(&mut r);
        let args: Vec<&str> = words.iter().map(String::as_str).collect();
        let resp3 = r.below(4) == 0;
        let (theirs, mine) = if resp3 { (rs3.call(&args), tc3.call(&args)) } else { (rs.call(&args), tc.call(&args)) };
        assert_eq!(mine, theirs, "command {i} {words:?} resp3={resp3} (GEO_SEED={seed})");
        if words[0].starts_with("GEOSEARCH") || words[0].starts_with("GEORADIUS") {
            found += (theirs.len() > 4) as usize;
        }
        if let Some(key) = written_key(&words) {
            let range = ["ZRANGE", key.as_str(), "0", "-1", "WITHSCORES"];
            let (theirs, mine) = (rs.call(&range), tc.call(&range));
            assert_eq!(mine, theirs, "{key} after command {i} {words:?} (GEO_SEED={seed})");
            stored += (words[0] != "GEOADD" && theirs.len() > 4) as usize;
        }
    }
    println!("{found} searches found members, {stored} stores stored some");
    assert!(found > rounds / 20 && stored > rounds / 200, "the mix should find and store members");
}

#[test]
fn command_table_entries_are_redis_s() {
    if !redis_server_present() {
        return;
    }
    let redis = RedisServer::start(&[]);
    let ours = Server::start(&[]);
    let (mut rs, mut tc) = (Raw::connect_port(redis.port), Raw::connect(&ours));
    let (mut rs_con, mut tc_con) = (redis.conn(), ours.conn());
    let names = [
        "geoadd",
        "geodist",
        "geohash",
        "geopos",
        "georadius",
        "georadiusbymember",
        "georadius_ro",
        "georadiusbymember_ro",
        "geosearch",
        "geosearchstore",
    ];
    for name in names {
        // Name, arity, flags, first key, last key, step, and the ACL categories in any order.
        let head = |con: &mut redis::Connection| -> (Vec<Value>, Vec<String>) {
            let info: Vec<Vec<Value>> = ok(con, &["COMMAND", "INFO", name]);
            let mut categories: Vec<String> = redis::from_redis_value(&info[0][6]).unwrap();
            categories.sort();
            (info[0][..6].to_vec(), categories)
        };
        assert_eq!(head(&mut tc_con), head(&mut rs_con), "{name}");
    }
    let getkeys: &[&[&str]] = &[
        &["GEORADIUS", "src", "1", "2", "3", "km", "STORE", "dst"],
        &["GEORADIUS", "src", "1", "2", "3", "km", "STORE", "a", "STOREDIST", "b"],
        &["GEORADIUS", "src", "1", "2", "3", "km", "COUNT", "2"],
        &["GEORADIUS", "src", "1", "2", "3", "km", "STOREDIST", "a", "STORE", "b", "STORE", "c"],
        &["GEORADIUS", "src", "1", "2", "3", "km", "STORE", "a", "storedist"],
        &["GEORADIUSBYMEMBER", "src", "m", "3", "km", "STORE", "a", "STOREDIST", "b"],
        &["GEORADIUSBYMEMBER", "src", "m", "3", "km", "STOREDIST", "dst"],
        &["GEOSEARCHSTORE", "dst", "src", "FROMMEMBER", "m", "BYRADIUS", "1", "m"],
        &["GEOADD", "k", "1", "2", "m"],
    ];
    for words in getkeys {
        let mut args = vec!["COMMAND", "GETKEYS"];
        args.extend_from_slice(words);
        assert_eq!(tc.call(&args), rs.call(&args), "{words:?}");
    }
}

#[test]
fn errors_are_redis_s_and_change_nothing() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["SET", "s", "x"]);
    let _: i64 =
        ok(&mut con, &["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
    assert_all_wrongtype(
        &mut con,
        &[
            &["GEOADD", "s", "1", "1", "m"],
            &["GEODIST", "s", "a", "b"],
            &["GEOHASH", "s", "a"],
            &["GEOPOS", "s", "a"],
            &["GEORADIUS", "s", "1", "1", "1", "km"],
            &["GEORADIUSBYMEMBER_RO", "s", "a", "1", "km"],
            &["GEOSEARCH", "s", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"],
            &["GEOSEARCHSTORE", "d", "s", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"],
        ],
    );
    let cases: &[(&[&str], &str)] = &[
        (&["GEOADD", "k", "200", "100", "m"], "ERR invalid longitude,latitude pair 200.000000,100.000000"),
        (&["GEOADD", "k", "1", "1", "a", "1", "86", "b"], "ERR invalid longitude,latitude pair 1.000000,86.000000"),
        (&["GEOADD", "k", "x", "1", "m"], "ERR value is not a valid float"),
        (&["GEOADD", "k", "NX", "XX", "1", "1", "m"], "ERR syntax error"),
        (&["GEOADD", "k", "1", "1", "m", "2"], "ERR syntax error"),
        (&["GEOADD", "k", "GT", "1", "1", "m"], "ERR syntax error"),
        (&["GEODIST", "g", "Palermo", "Catania", "yd"], "ERR unsupported unit provided. please use M, KM, FT, MI"),
        (&["GEODIST", "g", "Palermo", "Catania", "km", "x"], "ERR syntax error"),
        (&["GEORADIUS", "g", "15", "37", "x", "km"], "ERR need numeric radius"),
        (&["GEORADIUS", "g", "15", "37", "-1", "km"], "ERR radius cannot be negative"),
        (&["GEORADIUS", "g", "15", "37", "1", "km", "COUNT", "0"], "ERR COUNT must be > 0"),
        (&["GEORADIUS", "g", "15", "37", "1", "km", "ANY"], "ERR the ANY argument requires COUNT argument"),
        (&["GEORADIUS_RO", "g", "15", "37", "1", "km", "STORE", "d"], "ERR syntax error"),
        (
            &["GEORADIUS", "g", "15", "37", "1", "km", "WITHDIST", "STORE", "d"],
            "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        ),
        (&["GEORADIUSBYMEMBER", "g", "Rome", "1", "km"], "ERR could not decode requested zset member"),
        (
            &["GEOSEARCH", "g", "BYRADIUS", "1", "km", "ASC", "WITHDIST"],
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH",
        ),
        (
            &["geosearch", "g", "FROMLONLAT", "1", "1", "ASC", "WITHDIST"],
            "ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch",
        ),
        (&["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "FROMMEMBER", "Palermo"], "ERR syntax error"),
        (
            &["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "1", "-1", "km"],
            "ERR height or width cannot be negative",
        ),
        (&["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "1", "x", "km"], "ERR need numeric height"),
        (&["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "STOREDIST"], "ERR syntax error"),
        (
            &["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "WITHHASH"],
            "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
        ),
    ];
    for (words, message) in cases {
        assert_eq!(err(&mut con, words), *message, "{words:?}");
    }
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "k", "d"]), 0, "a refused command writes nothing");
    assert_eq!(ok::<i64>(&mut con, &["ZCARD", "g"]), 2);
}

#[test]
fn replies_are_redis_s_documented_ones() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    let added: i64 =
        ok(&mut con, &["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
    assert_eq!(added, 2);
    assert_eq!(ok::<String>(&mut con, &["GEODIST", "Sicily", "Palermo", "Catania"]), "166274.1516");
    assert_eq!(ok::<String>(&mut con, &["GEODIST", "Sicily", "Palermo", "Catania", "km"]), "166.2742");
    assert_eq!(ok::<Value>(&mut con, &["GEODIST", "Sicily", "Palermo", "Rome"]), Value::Nil);
    assert_eq!(strings(&mut con, &["GEOHASH", "Sicily", "Palermo", "Catania"]), ["sqc8b49rny0", "sqdtr74hyu0"]);
    assert_eq!(ok::<f64>(&mut con, &["ZSCORE", "Sicily", "Palermo"]), 3479099956230698.0);
    let pos: Vec<Option<Vec<String>>> = ok(&mut con, &["GEOPOS", "Sicily", "Palermo", "Rome"]);
    assert_eq!(pos, [Some(vec!["13.36138933897018433".into(), "38.11555639549629859".into()]), None]);
    assert_eq!(strings(&mut con, &["GEORADIUS", "Sicily", "15", "37", "200", "km", "DESC"]), ["Palermo", "Catania"]);
    let mut raw = Raw::connect(&server);
    assert_eq!(
        raw.call(&[
            "GEOSEARCH",
            "Sicily",
            "FROMLONLAT",
            "15",
            "37",
            "BYBOX",
            "400",
            "400",
            "km",
            "ASC",
            "WITHCOORD",
            "WITHDIST",
            "WITHHASH"
        ]),
        "*[*[\"Catania\",\"56.4413\",:3479447370796909,*[\"15.08726745843887329\",\"37.50266842333162032\"]],\
         *[\"Palermo\",\"190.4424\",:3479099956230698,*[\"13.36138933897018433\",\"38.11555639549629859\"]]]"
    );
    // GEOADD CH counts changed positions; NX and XX as ZADD.
    assert_eq!(
        ok::<i64>(&mut con, &["GEOADD", "Sicily", "CH", "13.361389", "38.115556", "Palermo", "15", "37", "Catania"]),
        1
    );
    assert_eq!(ok::<i64>(&mut con, &["GEOADD", "Sicily", "XX", "1", "1", "New"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["GEOADD", "Sicily", "NX", "1", "1", "Catania"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["ZCARD", "Sicily"]), 2);
}

#[test]
fn writes_raise_redis_s_events_and_touch_watches() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut con = server.conn();
    let mut events = KeyEvents::subscribe(&server, "__keyevent@*__:*");
    let _: i64 =
        ok(&mut con, &["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
    // Nothing changes: no event.
    let _: i64 = ok(&mut con, &["GEOADD", "g", "NX", "1", "1", "Palermo"]);
    assert_eq!(ok::<i64>(&mut con, &["GEOSEARCHSTORE", "d", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "10", "km"]), 1);
    assert_eq!(ok::<i64>(&mut con, &["GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "d2"]), 2);
    // A search that finds nothing deletes the destination.
    assert_eq!(ok::<i64>(&mut con, &["GEORADIUS", "g", "0", "0", "1", "km", "STORE", "d"]), 0);
    assert_eq!(ok::<i64>(&mut con, &["GEOSEARCHSTORE", "d2", "missing", "FROMMEMBER", "x", "BYRADIUS", "1", "m"]), 0);
    let seen: Vec<(String, String)> = events.next(5).into_iter().map(|(e, k, _)| (e, k)).collect();
    let expected = [("zadd", "g"), ("geosearchstore", "d"), ("georadiusstore", "d2"), ("del", "d"), ("del", "d2")];
    assert_eq!(seen, expected.map(|(e, k)| (e.to_string(), k.to_string())));
    // STOREDIST stores distances in the unit asked for.
    let _: i64 = ok(&mut con, &["GEORADIUS", "g", "15", "37", "200", "km", "ASC", "STOREDIST", "d3"]);
    let dists: Vec<(String, f64)> = ok(&mut con, &["ZRANGE", "d3", "0", "-1", "WITHSCORES"]);
    assert_eq!(dists.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>(), ["Catania", "Palermo"]);
    assert!((dists[0].1 - 56.4413).abs() < 1e-3, "{dists:?}");

    // WATCH sees a GEOADD from another client, and not a search.
    let mut other = server.conn();
    assert_ok(&mut con, &["WATCH", "g"]);
    let _: Value = ok(&mut other, &["GEORADIUS", "g", "15", "37", "200", "km"]);
    assert_ok(&mut con, &["MULTI"]);
    let _: Value = ok(&mut con, &["GEOPOS", "g", "Palermo"]);
    assert_ne!(ok::<Value>(&mut con, &["EXEC"]), Value::Nil, "a read leaves the watch alone");
    assert_ok(&mut con, &["WATCH", "g"]);
    let _: i64 = ok(&mut other, &["GEOADD", "g", "2", "2", "Elsewhere"]);
    assert_ok(&mut con, &["MULTI"]);
    let _: Value = ok(&mut con, &["GEOPOS", "g", "Palermo"]);
    assert_eq!(ok::<Value>(&mut con, &["EXEC"]), Value::Nil, "the write aborts the transaction");
}

#[test]
fn a_reject_tenant_cannot_store_past_its_quota() {
    let server = Server::start(&[]);
    let mut con = server.conn();
    assert_ok(&mut con, &["TENANT", "SETLIMIT", "q", "MAXMEMORY", "20000", "ONLIMIT", "reject"]);
    let mut geoadd = vec!["GEOADD".to_string(), "p:g".to_string()];
    for i in 0..2000 {
        geoadd.extend([format!("{:.4}", i as f64 / 1000.0), "1".into(), format!("member-{i:06}-{}", "x".repeat(40))]);
    }
    let args: Vec<&str> = geoadd.iter().map(String::as_str).collect();
    assert_eq!(ok::<i64>(&mut con, &args), 2000);
    let refused = err(&mut con, &["GEOSEARCHSTORE", "q:g", "p:g", "FROMLONLAT", "1", "1", "BYRADIUS", "500", "km"]);
    assert!(refused.starts_with("OOM"), "{refused}");
    let refused = err(&mut con, &["GEORADIUS", "p:g", "1", "1", "500", "km", "STORE", "q:g"]);
    assert!(refused.starts_with("OOM"), "{refused}");
    assert_eq!(ok::<i64>(&mut con, &["EXISTS", "q:g"]), 0);
    // Storing nothing (deleting the destination) is always allowed.
    assert_eq!(
        ok::<i64>(&mut con, &["GEOSEARCHSTORE", "q:g", "p:g", "FROMLONLAT", "50", "50", "BYRADIUS", "1", "m"]),
        0
    );
}
