"""Bitmaps, HyperLogLog, geo and streams through redis-py's API and its reply parsers,
against a running server, once over RESP2 and once over RESP3.

    python3 tests/py/test_families.py PORT

The BITFIELD builder, BITFIELD_RO, BITCOUNT/BITPOS in BIT mode, BITOP; PFADD, PFCOUNT over
several keys, PFMERGE; GEOADD's flags, GEODIST, GEOHASH, GEOPOS, GEOSEARCH with every WITH*
option parsed, GEOSEARCHSTORE, GEORADIUS/GEORADIUSBYMEMBER with STORE; XADD's trims,
XRANGE/XREVRANGE, XREAD, XREADGROUP, XPENDING (summary and range), XCLAIM, XAUTOCLAIM,
XINFO STREAM (and FULL), XINFO GROUPS (lag, negative where ENTRIESREAD runs past the
entries added), XINFO CONSUMERS (with Redis 7.2's `inactive`). Replies are compared in a
form both protocols' parsers agree on. Prints one line per check and a closing
"N passed, N failed" line; exits non-zero if any check failed.
"""

import sys
import time

import harness
import redis

PORT = int(sys.argv[1])
PROTOCOL = 2


def client(decode=True):
    return redis.Redis(host="127.0.0.1", port=PORT, decode_responses=decode, socket_timeout=30, protocol=PROTOCOL)


def fresh():
    r = client()
    r.flushall()
    return r


def streams_of(reply):
    """XREAD/XREADGROUP's reply as {stream: [(id, fields)]}, whichever shape the parser gave."""
    if not reply:
        return {}
    if isinstance(reply, dict):
        # RESP3's parser wraps each stream's entries in one more list.
        return {k: [tuple(e) for e in (v[0] if v and isinstance(v[0], list) else v)] for k, v in reply.items()}
    return {k: [tuple(e) for e in v] for k, v in reply}


def point(p):
    return None if p is None else (round(float(p[0]), 4), round(float(p[1]), 4))


def test_bitmaps():
    r = fresh()
    assert r.setbit("b", 7, 1) == 0 and r.setbit("b", 7, 1) == 1
    assert r.getbit("b", 7) == 1 and r.getbit("b", 100) == 0
    r.set("s", "foobar")
    assert r.bitcount("s") == 26
    assert r.bitcount("s", 1, 1) == 6
    assert r.bitcount("s", 5, 30, "BIT") == 17
    r.set("p", b"\xff\xf0\x00")
    assert r.bitpos("p", 0) == 12
    assert r.bitpos("p", 1, 2) == -1
    assert r.bitpos("p", 1, 7, 15, "BIT") == 7
    raw = client(decode=False)
    raw.set("x", b"\x0f")
    raw.set("y", b"\xf1\x01")
    assert r.bitop("AND", "and", "x", "y") == 2 and raw.get("and") == b"\x01\x00"
    assert r.bitop("OR", "or", "x", "y") == 2 and raw.get("or") == b"\xff\x01"
    assert r.bitop("XOR", "xor", "x", "y") == 2 and raw.get("xor") == b"\xfe\x01"
    assert r.bitop("NOT", "not", "x") == 1 and raw.get("not") == b"\xf0"


def test_bitfield_builder():
    r = fresh()
    bf = r.bitfield("bf")
    got = bf.set("u8", 0, 255).get("u8", 0).incrby("u8", 0, 10).incrby("i5", 100, 1).execute()
    assert got == [0, 255, 9, 1], got
    sat = r.bitfield("bf", default_overflow="SAT").incrby("u8", 0, 300).incrby("u8", 0, -400).execute()
    assert sat == [255, 0], sat
    fail = r.bitfield("bf").overflow("FAIL").incrby("u2", 10, 5).overflow("WRAP").incrby("u2", 10, 5).execute()
    assert fail == [None, 1], fail
    assert r.bitfield("bf").get("u8", "#0").get("i5", 100).execute() == [0, 1]
    assert r.bitfield_ro("bf", "u8", 0, items=[("i5", 100), ("u2", 10)]) == [0, 1, 1]
    try:
        r.bitfield("bf").get("x8", 0).execute()
        raise AssertionError("a bad type must fail")
    except redis.ResponseError as e:
        assert "Invalid bitfield type" in str(e), e


def test_hyperloglog():
    r = fresh()
    assert r.pfadd("h1", "a", "b", "c") == 1 and r.pfadd("h1", "a") == 0
    assert r.pfadd("h2", "c", "d") == 1
    assert r.pfcount("h1") == 3 and r.pfcount("h1", "h2") == 4
    assert r.pfmerge("h3", "h1", "h2") is True and r.pfcount("h3") == 4
    r.pfadd("big", *[f"m{i}" for i in range(5000)])
    assert abs(r.pfcount("big") - 5000) < 5000 * 0.02, r.pfcount("big")
    r.set("str", "x")
    try:
        r.pfcount("str")
        raise AssertionError("PFCOUNT on a string must fail")
    except redis.ResponseError as e:
        assert "WRONGTYPE" in str(e), e


PLACES = (2.1909389952632, 41.433791470673, "place1", 2.1873744593677, 41.406342043777, "place2")


def test_geo_members():
    r = fresh()
    assert r.geoadd("g", PLACES) == 2
    assert r.geoadd("g", (2.19, 41.43, "place1"), nx=True) == 0
    assert r.geoadd("g", (2.19, 41.43, "place1", 2.0, 41.0, "place3"), xx=True, ch=True) == 1
    assert r.zcard("g") == 2
    r.geoadd("g", PLACES)
    assert r.geodist("g", "place1", "place2") == 3067.4157
    assert round(r.geodist("g", "place1", "place2", "km"), 4) == 3.0674
    assert r.geodist("g", "place1", "nowhere") is None
    assert r.geohash("g", "place1", "place2", "nowhere") == ["sp3e9yg3kd0", "sp3e9cbc3t0", None]
    pos = [point(p) for p in r.geopos("g", "place1", "nowhere")]
    assert pos == [(2.1909, 41.4338), None], pos


def test_geosearch_parsed():
    r = fresh()
    r.geoadd("g", PLACES + (2.583333, 41.316667, "place3"))
    assert r.geosearch("g", member="place1", radius=3.1, unit="km", sort="ASC") == ["place1", "place2"]
    full = r.geosearch(
        "g", longitude=2.191, latitude=41.433, radius=1, unit="km", withdist=True, withcoord=True, withhash=True
    )
    assert len(full) == 1 and full[0][0] == "place1", full
    name, dist, ghash, coord = full[0]
    assert (round(dist, 4), ghash, point(coord)) == (0.0881, 3471609698139488, (2.1909, 41.4338)), full
    box = r.geosearch("g", member="place3", width=400, height=400, unit="km", sort="DESC", count=2, withdist=True)
    assert [m for m, _ in box] == ["place1", "place2"], box
    anyone = r.geosearch("g", member="place1", radius=50, unit="km", count=1, any=True)
    assert len(anyone) == 1 and anyone[0] in ("place1", "place2", "place3"), anyone
    assert r.geosearchstore("near", "g", member="place1", radius=5, unit="km") == 2
    assert r.zrange("near", 0, -1) == ["place2", "place1"]
    assert r.geosearchstore("dists", "g", member="place1", radius=5, unit="km", storedist=True) == 2
    assert [round(s, 2) for _, s in r.zrange("dists", 0, -1, withscores=True)] == [0.0, 3.07]


def test_georadius():
    r = fresh()
    r.geoadd("g", PLACES)
    got = r.georadius("g", 2.191, 41.433, 1, unit="km", withdist=True, withcoord=True, sort="ASC")
    assert [(n, round(d, 4), point(c)) for n, d, c in got] == [("place1", 0.0881, (2.1909, 41.4338))], got
    by = r.georadiusbymember("g", "place1", 4, unit="km", withhash=True, sort="DESC")
    assert by == [["place2", 3471609625421029], ["place1", 3471609698139488]], by
    assert r.georadius("g", 2.191, 41.433, 5000, unit="m", store="gr") == 2
    assert r.georadiusbymember("g", "place1", 5, unit="km", store_dist="grd") == 2
    assert [m for m, _ in r.zrange("grd", 0, -1, withscores=True)] == ["place1", "place2"]
    assert r.georadius("g", 2.191, 41.433, 1, unit="km", withdist=True) == [["place1", 0.0881]]


def test_stream_writes_and_ranges():
    r = fresh()
    ids = [r.xadd("s", {"n": str(i)}, id=f"{i}-1") for i in range(1, 11)]
    assert ids[0] == "1-1" and r.xlen("s") == 10
    new = r.xadd("s", {"n": "11"}, maxlen=5, approximate=False)
    assert r.xlen("s") == 5 and r.xrevrange("s", count=1)[0][0] == new
    assert r.xtrim("s", minid="9-0", approximate=False) == 2
    assert [e[0] for e in r.xrange("s")] == ["9-1", "10-1", new]
    assert r.xrange("s", "9-1", "10-1") == [("9-1", {"n": "9"}), ("10-1", {"n": "10"})]
    assert r.xrevrange("s", "+", "-", count=1) == [(new, {"n": "11"})]
    assert r.xdel("s", "9-1", "1-1") == 1 and r.xlen("s") == 2
    assert r.xadd("none", {"a": "1"}, nomkstream=True) is None and r.exists("none") == 0
    try:
        r.xadd("s", {"a": "1"}, id="1-1")
        raise AssertionError("an id not above the last must fail")
    except redis.ResponseError as e:
        assert "equal or smaller" in str(e), e
    assert streams_of(r.xread({"s": "10-1"}, count=1)) == {"s": [(new, {"n": "11"})]}
    read = streams_of(r.xread({"s": "0", "missing": "0"}, count=5))
    assert read == {"s": [("10-1", {"n": "10"}), (new, {"n": "11"})]}, read
    assert streams_of(r.xread({"s": "$"}, block=50)) == {}


def test_groups_read_claim_and_info():
    r = fresh()
    for i in range(1, 6):
        r.xadd("s", {"n": str(i)}, id=f"{i}-0")
    assert r.xgroup_create("s", "g", id="0") is True
    assert r.xgroup_create("new", "g", id="$", mkstream=True) is True
    assert r.xgroup_createconsumer("s", "g", "idle") == 1
    got = streams_of(r.xreadgroup("g", "alice", {"s": ">"}, count=2))
    assert got == {"s": [("1-0", {"n": "1"}), ("2-0", {"n": "2"})]}, got
    got = streams_of(r.xreadgroup("g", "bob", {"s": ">"}, count=1))
    assert got == {"s": [("3-0", {"n": "3"})]}, got
    history = streams_of(r.xreadgroup("g", "alice", {"s": "0"}))
    assert [e[0] for e in history["s"]] == ["1-0", "2-0"], history
    summary = r.xpending("s", "g")
    assert (summary["pending"], summary["min"], summary["max"]) == (3, "1-0", "3-0"), summary
    assert sorted((c["name"], c["pending"]) for c in summary["consumers"]) == [("alice", 2), ("bob", 1)], summary
    rng = r.xpending_range("s", "g", "-", "+", 10, consumername="alice")
    assert [(p["message_id"], p["consumer"], p["times_delivered"]) for p in rng] == [
        ("1-0", "alice", 2),
        ("2-0", "alice", 2),
    ], rng
    assert r.xpending_range("s", "g", "-", "+", 10, idle=60_000) == []
    claimed = r.xclaim("s", "g", "bob", 0, ["1-0"])
    assert claimed == [("1-0", {"n": "1"})], claimed
    assert r.xclaim("s", "g", "bob", 0, ["2-0"], justid=True) == ["2-0"]
    auto = r.xautoclaim("s", "g", "carol", 0, "0-0", count=2)
    assert auto[0] == "3-0" and [e[0] for e in auto[1]] == ["1-0", "2-0"] and auto[2] == [], auto
    assert r.xautoclaim("s", "g", "carol", 0, "0-0", justid=True) == ["1-0", "2-0", "3-0"]
    assert r.xack("s", "g", "1-0", "2-0", "9-0") == 2
    time.sleep(0.01)
    consumers = {c["name"]: c for c in r.xinfo_consumers("s", "g")}
    assert sorted(consumers) == ["alice", "bob", "carol", "idle"], consumers
    assert {n: c["pending"] for n, c in consumers.items()} == {"alice": 0, "bob": 0, "carol": 1, "idle": 0}
    assert consumers["idle"]["inactive"] == -1 and consumers["idle"]["idle"] >= 0, consumers
    assert all(consumers[n]["inactive"] >= 0 for n in ("alice", "bob", "carol")), consumers
    groups = r.xinfo_groups("s")
    fields = ("name", "consumers", "pending", "last-delivered-id", "entries-read", "lag")
    assert [tuple(g[f] for f in fields) for g in groups] == [("g", 4, 1, "3-0", 3, 2)], groups
    assert r.xgroup_delconsumer("s", "g", "carol") == 1
    assert r.xgroup_destroy("new", "g") == 1


def test_group_counters():
    r = fresh()
    r.xadd("s", {"f": "v"}, id="1-0")
    r.xgroup_create("s", "ahead", id="0", entries_read=7)
    last = r.xadd("s", {"f": "v"}, id="2-0")
    r.xgroup_create("s", "at", id="0")
    r.xgroup_setid("s", "at", last, entries_read=3)
    r.xgroup_create("s", "behind", id="0")
    lag = {g["name"]: (g["entries-read"], g["lag"]) for g in r.xinfo_groups("s")}
    assert lag == {"ahead": (7, -5), "at": (3, -1), "behind": (None, 2)}, lag
    streams_of(r.xreadgroup("behind", "c", {"s": ">"}, count=1))
    lag = {g["name"]: (g["entries-read"], g["lag"]) for g in r.xinfo_groups("s")}
    assert lag["behind"] == (1, 1), lag


def test_xinfo_stream():
    r = fresh()
    for i in range(1, 4):
        r.xadd("s", {"n": str(i)}, id=f"{i}-0")
    r.xgroup_create("s", "g", id="0")
    r.xreadgroup("g", "c", {"s": ">"}, count=1)
    info = r.xinfo_stream("s")
    assert (info["length"], info["groups"], info["last-generated-id"], info["entries-added"]) == (3, 1, "3-0", 3)
    assert info["first-entry"] == ("1-0", {"n": "1"}) and info["last-entry"] == ("3-0", {"n": "3"}), info
    full = r.xinfo_stream("s", full=True)
    assert list(full["entries"]) == ["1-0", "2-0", "3-0"] and full["entries"]["2-0"] == {"n": "2"}, full
    (group,) = full["groups"]
    assert (group["name"], group["last-delivered-id"], group["pel-count"], group["lag"]) == ("g", "1-0", 1, 2), group
    (consumer,) = group["consumers"]
    assert (consumer["name"], consumer["pel-count"]) == ("c", 1), consumer


TESTS = [
    test_bitmaps,
    test_bitfield_builder,
    test_hyperloglog,
    test_geo_members,
    test_geosearch_parsed,
    test_georadius,
    test_stream_writes_and_ranges,
    test_groups_read_claim_and_info,
    test_group_counters,
    test_xinfo_stream,
]


def over(protocol, test):
    """`test` run with clients speaking RESP`protocol`, named for it."""

    def run():
        global PROTOCOL
        PROTOCOL = protocol
        test()

    run.__name__ = f"{test.__name__}[resp{protocol}]"
    return run


if __name__ == "__main__":
    sys.exit(harness.main([over(p, t) for p in (2, 3) for t in TESTS]))
