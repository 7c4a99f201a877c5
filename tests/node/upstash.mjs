// Drives the real @upstash/redis client against tenantcache's REST API and asserts every
// reply; exits non-zero on the first failure. tests/rest.rs starts the server and runs this
// with UPSTASH_URL (the server's URL), UPSTASH_TOKEN (a full token), TENANT_TOKEN (a token
// bound to tenant TENANT) and TENANT set.
import { Redis } from "@upstash/redis";
import assert from "node:assert/strict";

const url = process.env.UPSTASH_URL;
const token = process.env.UPSTASH_TOKEN;
const tenantToken = process.env.TENANT_TOKEN;
const tenant = process.env.TENANT;
if (!url || !token || !tenantToken || !tenant) {
  console.error("UPSTASH_URL, UPSTASH_TOKEN, TENANT_TOKEN and TENANT must be set");
  process.exit(2);
}

// No retries: a failure must show at once, not after five backoffs.
const redis = new Redis({ url, token, retry: false });
const scoped = new Redis({ url, token: tenantToken, retry: false });
const k = (name) => `${tenant}:node:${name}`;

const checks = [];
const check = (name, fn) => checks.push([name, fn]);

check("set and get with EX", async () => {
  assert.equal(await redis.set(k("greeting"), "hello", { ex: 100 }), "OK");
  assert.equal(await redis.get(k("greeting")), "hello");
  const ttl = await redis.ttl(k("greeting"));
  assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
  assert.equal(await redis.get(k("missing")), null);
  // Not valid as base64 of anything and outside ASCII: the encoding round-trips it.
  assert.equal(await redis.set(k("utf8"), "héllo wörld ✓"), "OK");
  assert.equal(await redis.get(k("utf8")), "héllo wörld ✓");
});

check("mset and mget", async () => {
  assert.equal(await redis.mset({ [k("a")]: "1", [k("b")]: "two", [k("c")]: "3" }), "OK");
  assert.deepEqual(await redis.mget(k("a"), k("b"), k("nope"), k("c")), [1, "two", null, 3]);
});

check("incr, incrby, decr", async () => {
  await redis.del(k("counter"));
  assert.equal(await redis.incr(k("counter")), 1);
  assert.equal(await redis.incrby(k("counter"), 41), 42);
  assert.equal(await redis.decr(k("counter")), 41);
});

check("del and exists", async () => {
  await redis.set(k("d1"), "x");
  await redis.set(k("d2"), "y");
  assert.equal(await redis.exists(k("d1"), k("d2"), k("d3")), 2);
  assert.equal(await redis.del(k("d1"), k("d2"), k("d3")), 2);
  assert.equal(await redis.exists(k("d1")), 0);
});

check("expire, ttl, persist", async () => {
  await redis.set(k("e"), "v");
  assert.equal(await redis.ttl(k("e")), -1);
  assert.equal(await redis.expire(k("e"), 50), 1);
  const ttl = await redis.ttl(k("e"));
  assert.ok(ttl > 40 && ttl <= 50, `ttl ${ttl}`);
  assert.equal(await redis.persist(k("e")), 1);
  assert.equal(await redis.ttl(k("e")), -1);
  assert.equal(await redis.expire(k("never"), 10), 0);
});

check("JSON values", async () => {
  const doc = { user: 7, name: "Ada", tags: ["a", "b"], nested: { ok: true, n: null } };
  assert.equal(await redis.set(k("json"), doc), "OK");
  assert.deepEqual(await redis.get(k("json")), doc);
  // What went over the wire is the JSON text.
  const raw = new Redis({ url, token, retry: false, automaticDeserialization: false });
  assert.deepEqual(JSON.parse(await raw.get(k("json"))), doc);
  await redis.hset(k("hash"), { field: "v", count: 3 });
  assert.deepEqual(await redis.hgetall(k("hash")), { field: "v", count: 3 });
});

check("pipeline", async () => {
  await redis.del(k("p2"));
  const p = redis.pipeline();
  p.set(k("p1"), "one");
  p.incr(k("p2"));
  p.get(k("p1"));
  p.lpush(k("plist"), "a", "b");
  p.lrange(k("plist"), 0, -1);
  p.del(k("plist"));
  const replies = await p.exec();
  assert.deepEqual(replies, ["OK", 1, "one", 2, ["b", "a"], 1]);
  // An error in one command does not stop the others.
  const bad = redis.pipeline();
  bad.set(k("p3"), "text");
  bad.incr(k("p3"));
  bad.get(k("p3"));
  const kept = await bad.exec({ keepErrors: true });
  assert.equal(kept[0].result, "OK");
  assert.match(kept[1].error, /not an integer/);
  assert.equal(kept[2].result, "text");
});

check("multi-exec", async () => {
  const tx = redis.multi();
  tx.set(k("t1"), "10");
  tx.incrby(k("t1"), 5);
  tx.get(k("t1"));
  tx.expire(k("t1"), 30);
  assert.deepEqual(await tx.exec(), ["OK", 15, 15, 1]);
});

check("sliding-window rate limit with a sorted set", async () => {
  const limit = 5;
  const windowMs = 10_000;
  const key = k("ratelimit:user42");
  await redis.del(key);
  // One request: drop what left the window, count what is in it, add this one.
  const attempt = async (now, id) => {
    const tx = redis.multi();
    tx.zremrangebyscore(key, 0, now - windowMs);
    tx.zcard(key);
    tx.zadd(key, { score: now, member: id });
    tx.pexpire(key, windowMs);
    const [, count] = await tx.exec();
    if (count >= limit) {
      await redis.zrem(key, id);
      return false;
    }
    return true;
  };
  const t0 = 1_700_000_000_000;
  const allowed = [];
  for (let i = 0; i < 8; i++) allowed.push(await attempt(t0 + i * 100, `req-${i}`));
  assert.deepEqual(allowed, [true, true, true, true, true, false, false, false]);
  assert.equal(await redis.zcard(key), limit);
  // Past the window the old requests fall out and requests are allowed again.
  assert.equal(await attempt(t0 + windowMs + 500, "req-late"), true);
  assert.deepEqual(await redis.zrange(key, 0, -1), ["req-late"]);
  assert.equal(await redis.zscore(key, "req-late"), t0 + windowMs + 500);
});

check("a tenant token works on its tenant's keys", async () => {
  assert.equal(await scoped.set(k("own"), "mine"), "OK");
  assert.equal(await scoped.get(k("own")), "mine");
  assert.equal(await scoped.incr(k("own-counter")), 1);
  const p = scoped.pipeline();
  p.get(k("own"));
  p.del(k("own-counter"));
  assert.deepEqual(await p.exec(), ["mine", 1]);
});

check("a tenant token is refused another tenant's key", async () => {
  const other = "othertenant:node:secret";
  assert.equal(await redis.set(other, "theirs"), "OK");
  await assert.rejects(scoped.get(other), (e) => /NOPERM.*tenant/.test(e.message));
  await assert.rejects(scoped.set(other, "overwritten"), (e) => /NOPERM.*tenant/.test(e.message));
  await assert.rejects(scoped.mget(k("own"), other), (e) => /NOPERM.*tenant/.test(e.message));
  await assert.rejects(scoped.flushall(), (e) => /NOPERM/.test(e.message));
  // A transaction naming it is refused whole: its own-tenant part did not run either.
  const tx = scoped.multi();
  tx.set(k("tx-own"), "ran");
  tx.del(other);
  await assert.rejects(tx.exec(), (e) => /NOPERM.*tenant/.test(e.message));
  assert.equal(await redis.get(k("tx-own")), null);
  assert.equal(await redis.get(other), "theirs");
});

check("subscribe streams a publish", async () => {
  const channel = k("events");
  const sub = redis.subscribe(channel);
  const received = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no message within 5 s")), 5000);
    sub.on("message", ({ channel: c, message }) => {
      clearTimeout(timer);
      resolve({ c, message });
    });
  });
  // Publish until the subscription is in place (the stream opens asynchronously).
  let delivered = 0;
  for (let i = 0; i < 50 && delivered === 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    delivered = await redis.publish(channel, { hello: "world" });
  }
  assert.ok(delivered >= 1, "the subscriber never counted");
  const { c, message } = await received;
  assert.equal(c, channel);
  assert.deepEqual(message, { hello: "world" });
  await sub.unsubscribe();
});

let failed = 0;
for (const [name, fn] of checks) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e && e.stack ? e.stack : e}`);
  }
}
console.log(`${checks.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
