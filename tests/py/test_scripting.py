"""Scripts as client libraries use them, against a running server.

    python3 tests/py/test_scripting.py PORT

redis-py's Lock (acquire, extend, release by token, which are EVALSHA scripts), register_script
with its NOSCRIPT fallback, a sliding-window rate limiter on a sorted set in the style of
@upstash/ratelimit, and a BullMQ-style script that moves a job between lists and hashes
atomically. Prints one line per check and "N passed, N failed"; exits non-zero on a failure.
"""

import sys
import threading
import time

import harness
import redis

PORT = int(sys.argv[1])


def client():
    return redis.Redis(host="127.0.0.1", port=PORT, decode_responses=True, socket_timeout=30)


def test_lock_acquire_release_extend():
    r = client()
    r.flushall()
    lock = r.lock("resource", timeout=10)
    assert lock.acquire(blocking=False)
    assert r.get("resource") is not None
    other = r.lock("resource", timeout=10)
    assert not other.acquire(blocking=False), "a held lock is not taken twice"
    assert lock.owned()
    assert lock.extend(5)
    assert r.pttl("resource") > 10000
    lock.release()
    assert r.get("resource") is None
    # A lock taken over by another owner is not released by the first (the release script
    # compares tokens on the server).
    assert lock.acquire(blocking=False)
    r.set("resource", "someone-else")
    try:
        lock.release()
        raise AssertionError("releasing a lock another owner holds must fail")
    except redis.exceptions.LockNotOwnedError:
        pass
    assert r.get("resource") == "someone-else"


def test_lock_serialises_threads():
    r = client()
    r.flushall()
    r.set("counter", 0)
    errors = []

    def worker():
        c = client()
        try:
            for _ in range(20):
                with c.lock("counter-lock", timeout=5, blocking_timeout=10):
                    v = int(c.get("counter"))
                    c.set("counter", v + 1)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert r.get("counter") == "80", r.get("counter")


def test_register_script_reloads_after_flush():
    r = client()
    r.flushall()
    incr_by = r.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert incr_by(keys=["n"], args=[5]) == 5
    r.script_flush()
    assert incr_by(keys=["n"], args=[2]) == 7, "NOSCRIPT makes redis-py load the script again"


SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, 0, now - window)
local used = redis.call('ZCARD', key)
if used >= limit then
  return {0, limit - used}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, window)
return {1, limit - used - 1}
"""


def test_sliding_window_rate_limit():
    r = client()
    r.flushall()
    limit = r.register_script(SLIDING_WINDOW)
    now = int(time.time() * 1000)
    allowed = [limit(keys=["rl:user:1"], args=[now + i, 1000, 5, f"req-{i}"])[0] for i in range(8)]
    assert allowed == [1, 1, 1, 1, 1, 0, 0, 0], allowed
    # Past the window the requests are admitted again.
    later = now + 5000
    assert limit(keys=["rl:user:1"], args=[later, 1000, 5, "req-late"]) == [1, 4]
    assert 0 < r.pttl("rl:user:1") <= 1000


MOVE_TO_ACTIVE = """
local jobId = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
if not jobId then
  return nil
end
local jobKey = ARGV[1] .. jobId
redis.call('HSET', jobKey, 'processedOn', ARGV[2], 'lockToken', ARGV[3])
redis.call('SET', jobKey .. ':lock', ARGV[3], 'PX', ARGV[4])
return {jobId, redis.call('HGET', jobKey, 'name')}
"""


def test_bullmq_style_move_to_active():
    r = client()
    r.flushall()
    for i in (1, 2):
        r.hset(f"bull:q:{i}", mapping={"name": f"job{i}", "data": "{}"})
        r.lpush("bull:q:wait", i)
    move = r.register_script(MOVE_TO_ACTIVE)
    got = move(keys=["bull:q:wait", "bull:q:active"], args=["bull:q:", 1234, "tok", 30000])
    assert got == ["1", "job1"], got
    assert r.lrange("bull:q:active", 0, -1) == ["1"]
    assert r.hget("bull:q:1", "lockToken") == "tok"
    assert r.get("bull:q:1:lock") == "tok"
    assert move(keys=["bull:q:wait", "bull:q:active"], args=["bull:q:", 1, "t2", 1000]) == ["2", "job2"]
    assert move(keys=["bull:q:wait", "bull:q:active"], args=["bull:q:", 1, "t3", 1000]) is None


def test_script_errors_reach_the_client():
    r = client()
    r.flushall()
    r.set("s", "text")
    try:
        r.eval("return redis.call('INCR', KEYS[1])", 1, "s")
        raise AssertionError("an error in the script's command must reach the client")
    except redis.exceptions.ResponseError as e:
        assert "not an integer" in str(e), str(e)
    try:
        r.evalsha("0" * 40, 0)
        raise AssertionError("an unknown SHA must be refused")
    except redis.exceptions.NoScriptError:
        pass


if __name__ == "__main__":
    sys.exit(harness.main([f for name, f in sorted(globals().items()) if name.startswith("test_")]))
