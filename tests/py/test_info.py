"""INFO as redis-py parses it, against a running server started with
`--stats-key-pattern cache:{class}`.

    python3 tests/py/test_info.py PORT

`INFO tenants` and `INFO keyclasses` must give one dict per tenant / key class under its own
key, and Redis's sections (keyspace, server) must parse as they do against Redis. The raw
text is also parsed the way go-redis's InfoCmd does (sections at "# ", each line split at its
first ':'), which must give one entry per tenant too. Prints one
line per check and a closing "N passed, N failed" line; exits non-zero if any check failed.
"""

import sys

import harness
import redis

PORT = int(sys.argv[1])


def client():
    return redis.Redis(host="127.0.0.1", port=PORT, decode_responses=True, socket_timeout=30)


def test_info_tenants_one_dict_per_tenant():
    r = client()
    r.flushall()
    r.set("org_abc:a", "1")
    r.set("org_abc:b", "2")
    r.set("org_abc:c", "3")
    r.set("org_xyz:a", "1")
    r.get("org_xyz:a")
    r.get("org_xyz:missing")
    info = r.info("tenants")
    assert "tenant_org_abc" in info and "tenant_org_xyz" in info, info
    abc, xyz = info["tenant_org_abc"], info["tenant_org_xyz"]
    assert isinstance(abc, dict) and isinstance(xyz, dict), info
    assert abc["keys"] == 3 and xyz["keys"] == 1, info
    assert (xyz["hits"], xyz["misses"]) == (1, 1), info
    assert abc["used_memory"] > 0, info
    assert set(abc) == {"keys", "used_memory", "hits", "misses", "evicted_keys", "expired_keys"}, abc


def test_info_tenants_odd_names_stay_separate():
    r = client()
    r.flushall()
    # The default separator is ':', so a tenant name can still hold ',' '=' and spaces.
    r.set("a=b,c d:k", "1")
    r.set("a=b:k", "1")
    info = r.info("tenants")
    assert info["tenant_a%3Db%2Cc%20d"]["keys"] == 1, info
    assert info["tenant_a%3Db"]["keys"] == 1, info


def test_info_keyclasses_one_dict_per_class():
    r = client()
    r.flushall()
    r.set("cache:user:1", "x")
    r.set("cache:user:2", "x")
    r.set("cache:domain_tenant:example.com", "x")
    r.get("cache:user:1")
    info = r.info("keyclasses")
    assert info["keyclass_user"]["keys"] == 2, info
    assert info["keyclass_user"]["hits"] == 1, info
    assert info["keyclass_domain_tenant"]["keys"] == 1, info


def test_redis_sections_unchanged():
    r = client()
    r.flushall()
    r.set("org_abc:a", "1")
    info = r.info()
    assert info["db0"] == {"keys": 1, "expires": 0, "avg_ttl": 0}, info["db0"]
    assert isinstance(info["redis_version"], str) and info["tcp_port"] == PORT, info
    everything = r.info("everything")
    assert everything["tenant_org_abc"]["keys"] == 1, everything


def raw_info(*sections):
    """INFO's text as the server sends it, without redis-py's parser."""
    r = client()
    conn = r.connection_pool.get_connection()
    try:
        conn.send_command("INFO", *sections)
        return conn.read_response()
    finally:
        r.connection_pool.release(conn)


def go_redis_parse(text):
    """go-redis v9 InfoCmd.readReply: {section: {key: value}}."""
    parsed, section = {}, ""
    for line in text.splitlines():
        if line.startswith("#"):
            section = line.removeprefix("# ")
            parsed[section] = {}
        elif line:
            key, sep, value = line.partition(":")
            if sep:
                parsed[section][key] = value
    return parsed


def test_go_redis_parser_one_entry_per_tenant_and_class():
    r = client()
    r.flushall()
    r.set("org_abc:a", "1")
    r.set("org_xyz:a", "1")
    r.set("cache:user:1", "x")
    parsed = go_redis_parse(raw_info("tenants", "keyclasses"))
    tenants, classes = parsed["Tenants"], parsed["Keyclasses"]
    assert set(tenants) == {"tenant_org_abc", "tenant_org_xyz", "tenant_cache"}, tenants
    assert tenants["tenant_org_abc"].startswith("keys=1,used_memory="), tenants
    assert classes["keyclass_user"].startswith("keys=1,used_memory="), classes


TESTS = [
    test_info_tenants_one_dict_per_tenant,
    test_info_tenants_odd_names_stay_separate,
    test_info_keyclasses_one_dict_per_class,
    test_redis_sections_unchanged,
    test_go_redis_parser_one_entry_per_tenant_and_class,
]


if __name__ == "__main__":
    sys.exit(harness.main(TESTS))
