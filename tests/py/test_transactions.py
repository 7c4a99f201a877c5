"""Transactions as redis-py uses them, against a running server.

    python3 tests/py/test_transactions.py PORT

Covers pipeline(transaction=True) (MULTI ... EXEC), the WATCH/MULTI optimistic-locking retry
loop with two concurrent clients, and rate limiters built on transactions. Prints one line per
check and a closing "N passed, N failed" line; exits non-zero if any check failed.
"""

import sys
import threading
import time

import harness
import redis

PORT = int(sys.argv[1])


def client(**kwargs):
    return redis.Redis(host="127.0.0.1", port=PORT, decode_responses=True, socket_timeout=30, **kwargs)


def test_pipeline_transaction():
    r = client()
    r.flushall()
    with r.pipeline(transaction=True) as p:
        p.set("greeting", "hello").append("greeting", " world").get("greeting")
        p.incr("visits").incrby("visits", 10).expire("visits", 100).ttl("visits")
        p.mset({"a": "1", "b": "2"}).mget("a", "b", "missing")
        results = p.execute()
    assert results == [True, 11, "hello world", 1, 11, True, 100, True, ["1", "2", None]], results


def test_pipeline_runtime_error_fails_only_that_command():
    r = client()
    r.flushall()
    r.set("text", "abc")
    with r.pipeline(transaction=True) as p:
        p.set("before", "1").incr("text").set("after", "1")
        results = p.execute(raise_on_error=False)
    assert results[0] is True and results[2] is True, results
    assert isinstance(results[1], redis.ResponseError), results
    assert r.exists("before", "after") == 2
    # By default redis-py raises the first error, after EXEC ran everything.
    with r.pipeline(transaction=True) as p:
        p.incr("text").set("later", "1")
        try:
            p.execute()
            raise AssertionError("no error raised")
        except redis.ResponseError as e:
            assert "not an integer" in str(e), e
    assert r.get("later") == "1"


def test_pipeline_queueing_error_aborts():
    r = client()
    r.flushall()
    with r.pipeline(transaction=True) as p:
        p.set("x", "1")
        p.execute_command("NOSUCHCOMMAND", "arg")
        p.set("y", "1")
        try:
            p.execute()
            raise AssertionError("no error raised")
        except redis.ResponseError as e:
            assert "unknown command" in str(e) or "EXECABORT" in str(e), e
    assert r.exists("x", "y") == 0


def test_watch_detects_concurrent_change():
    for protocol in (2, 3):
        r, other = client(protocol=protocol), client()
        r.flushall()
        r.set("balance", 100)
        with r.pipeline(transaction=True) as p:
            p.watch("balance")
            current = int(p.get("balance"))
            other.incrby("balance", 5)
            p.multi()
            p.set("balance", current - 30)
            try:
                p.execute()
                raise AssertionError("EXEC ran although the watched key changed")
            except redis.WatchError:
                pass
        assert r.get("balance") == "105", protocol


def test_watch_retry_loop_two_clients():
    """Two clients increment one counter with GET + SET under WATCH: no update is lost."""
    per_client = 200
    r = client()
    r.flushall()
    r.set("counter", 0)
    retries = [0, 0]
    errors = []

    def worker(index):
        conn = client()
        try:
            for _ in range(per_client):
                with conn.pipeline(transaction=True) as p:
                    for _attempt in range(10_000):
                        try:
                            p.watch("counter")
                            value = int(p.get("counter"))
                            p.multi()
                            p.set("counter", value + 1)
                            p.execute()
                            break
                        except redis.WatchError:
                            retries[index] += 1
                    else:
                        raise AssertionError("no attempt succeeded")
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert r.get("counter") == str(2 * per_client), (r.get("counter"), retries)
    print(f"    retries after a concurrent change: {retries}")

    # The same with redis-py's transaction() helper, which loops on WatchError itself.
    def double(pipe):
        value = int(pipe.get("counter"))
        pipe.multi()
        pipe.set("counter", value * 2)

    r.transaction(double, "counter")
    assert r.get("counter") == str(4 * per_client)


def fixed_window_allow(r, key, limit, window_ms):
    """INCR + PEXPIRE NX in one transaction: the first request of a window starts its timer."""
    with r.pipeline(transaction=True) as p:
        p.incr(key)
        p.pexpire(key, window_ms, nx=True)
        count, _ = p.execute()
    return count <= limit


def test_rate_limiter_fixed_window():
    r = client()
    r.flushall()
    allowed = [fixed_window_allow(r, "rl:user:1", 5, 300) for _ in range(8)]
    assert allowed == [True] * 5 + [False] * 3, allowed
    assert 0 < r.pttl("rl:user:1") <= 300
    # Another user has a window of their own.
    assert fixed_window_allow(r, "rl:user:2", 5, 300)
    time.sleep(0.4)
    assert fixed_window_allow(r, "rl:user:1", 5, 300), "a new window starts after expiry"
    assert r.get("rl:user:1") == "1"


def sliding_window_allow(r, key, limit, window_ms, now_ms, member):
    """ZREMRANGEBYSCORE + ZADD + ZCARD in one transaction (the sliding-window log)."""
    with r.pipeline(transaction=True) as p:
        p.zremrangebyscore(key, 0, now_ms - window_ms)
        p.zadd(key, {member: now_ms})
        p.zcard(key)
        p.pexpire(key, window_ms)
        _, _, count, _ = p.execute()
    return count <= limit


def test_rate_limiter_sliding_window():
    r = client()
    try:
        r.zcard("rl:probe")
    except redis.ResponseError as e:
        if "unknown command" not in str(e):
            raise
        print("    skipped: sorted sets are not available on this server")
        return "skipped"
    r.flushall()
    base = 1_000_000
    allowed = [sliding_window_allow(r, "rl:z", 3, 1000, base + i * 100, f"req{i}") for i in range(5)]
    assert allowed == [True, True, True, False, False], allowed
    # 1.2 s later the first three requests have left the window; the two refused ones remain.
    assert sliding_window_allow(r, "rl:z", 3, 1000, base + 1200, "req5")
    assert r.zcard("rl:z") == 3


TESTS = [
    test_pipeline_transaction,
    test_pipeline_runtime_error_fails_only_that_command,
    test_pipeline_queueing_error_aborts,
    test_watch_detects_concurrent_change,
    test_watch_retry_loop_two_clients,
    test_rate_limiter_fixed_window,
    test_rate_limiter_sliding_window,
]


if __name__ == "__main__":
    sys.exit(harness.main(TESTS))
