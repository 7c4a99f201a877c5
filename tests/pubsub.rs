//! Pub/Sub over real TCP: reply shapes in RESP2 and RESP3, subscribed-mode restrictions,
//! self-publish ordering, PUBSUB introspection, slow-subscriber disconnection and keyspace
//! notifications.

mod common;

use common::{Raw, Server};
use std::time::{Duration, Instant};

/// Polls `f` every 20 ms for up to 5 s.
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn subscribe_confirmations_and_messages() {
    let server = Server::start(&[]);
    let mut sub = Raw::connect(&server);
    let mut publisher = Raw::connect(&server);
    sub.send(&["SUBSCRIBE", "a", "b", "a"]);
    assert_eq!(sub.read(), r#"*["subscribe","a",:1]"#);
    assert_eq!(sub.read(), r#"*["subscribe","b",:2]"#);
    assert_eq!(sub.read(), r#"*["subscribe","a",:2]"#);
    sub.send(&["PSUBSCRIBE", "h*llo"]);
    assert_eq!(sub.read(), r#"*["psubscribe","h*llo",:3]"#);

    assert_eq!(publisher.call(&["PUBLISH", "a", "one"]), ":1");
    assert_eq!(sub.read(), r#"*["message","a","one"]"#);
    assert_eq!(publisher.call(&["PUBLISH", "hello", "two"]), ":1");
    assert_eq!(sub.read(), r#"*["pmessage","h*llo","hello","two"]"#);
    assert_eq!(publisher.call(&["PUBLISH", "nobody", "x"]), ":0");

    sub.send(&["UNSUBSCRIBE", "a", "zzz"]);
    assert_eq!(sub.read(), r#"*["unsubscribe","a",:2]"#);
    assert_eq!(sub.read(), r#"*["unsubscribe","zzz",:2]"#);
    // Without arguments: every remaining channel, then nothing left to report but a null.
    assert_eq!(sub.call(&["UNSUBSCRIBE"]), r#"*["unsubscribe","b",:1]"#);
    assert_eq!(sub.call(&["PUNSUBSCRIBE"]), r#"*["punsubscribe","h*llo",:0]"#);
    assert_eq!(sub.call(&["UNSUBSCRIBE"]), r#"*["unsubscribe",nil,:0]"#);
    assert_eq!(sub.call(&["PUNSUBSCRIBE"]), r#"*["punsubscribe",nil,:0]"#);
    assert_eq!(sub.call(&["SUNSUBSCRIBE"]), r#"*["sunsubscribe",nil,:0]"#);
    // Out of subscribed mode, ordinary commands work again.
    assert_eq!(sub.call(&["PING"]), "+PONG");
}

#[test]
fn resp2_subscribed_mode_restrictions() {
    let server = Server::start(&[]);
    let mut sub = Raw::connect(&server);
    assert_eq!(sub.call(&["SUBSCRIBE", "c"]), r#"*["subscribe","c",:1]"#);
    assert_eq!(
        sub.call(&["GET", "k"]),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    );
    assert_eq!(
        sub.call(&["PUBSUB", "NUMPAT"]),
        "-ERR Can't execute 'pubsub|numpat': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    );
    assert_eq!(sub.call(&["PING"]), r#"*["pong",""]"#);
    assert_eq!(sub.call(&["PING", "hi"]), r#"*["pong","hi"]"#);
    assert_eq!(sub.call(&["PSUBSCRIBE", "x*"]), r#"*["psubscribe","x*",:2]"#);
    assert_eq!(sub.call(&["RESET"]), "+RESET");
    assert_eq!(sub.call(&["GET", "k"]), "nil");
    let mut other = Raw::connect(&server);
    assert_eq!(other.call(&["PUBLISH", "c", "m"]), ":0");
}

#[test]
fn resp3_pushes_and_self_publish_ordering() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    c.call(&["HELLO", "3"]);
    assert_eq!(c.call(&["SUBSCRIBE", "me"]), r#">["subscribe","me",:1]"#);
    // RESP3 clients may run any command while subscribed.
    assert_eq!(c.call(&["SET", "k", "v"]), "+OK");
    // A message to itself arrives after the reply of the PUBLISH that caused it (Redis 7.2).
    c.send(&["PUBLISH", "me", "hi"]);
    assert_eq!(c.read(), ":1");
    assert_eq!(c.read(), r#">["message","me","hi"]"#);
    // Inside a transaction, after the whole EXEC reply.
    c.call(&["MULTI"]);
    c.call(&["PING", "abc"]);
    c.call(&["PUBLISH", "me", "bar"]);
    c.call(&["PUBLISH", "me", "vaz"]);
    c.call(&["PING", "def"]);
    assert_eq!(c.call(&["EXEC"]), r#"*["abc",:1,:1,"def"]"#);
    assert_eq!(c.read(), r#">["message","me","bar"]"#);
    assert_eq!(c.read(), r#">["message","me","vaz"]"#);
    assert_eq!(c.call(&["UNSUBSCRIBE", "nope"]), r#">["unsubscribe","nope",:1]"#);
    assert_eq!(c.call(&["UNSUBSCRIBE"]), r#">["unsubscribe","me",:0]"#);
    assert_eq!(c.call(&["UNSUBSCRIBE"]), r#">["unsubscribe",_,:0]"#);

    // Each subscriber gets its own protocol.
    let mut resp2 = Raw::connect(&server);
    let mut resp3 = Raw::connect(&server);
    resp3.call(&["HELLO", "3"]);
    resp2.call(&["SUBSCRIBE", "both"]);
    resp3.call(&["SUBSCRIBE", "both"]);
    assert_eq!(c.call(&["PUBLISH", "both", "x"]), ":2");
    assert_eq!(resp2.read(), r#"*["message","both","x"]"#);
    assert_eq!(resp3.read(), r#">["message","both","x"]"#);
}

#[test]
fn pushes_survive_client_reply_off_and_skip() {
    let server = Server::start(&[]);
    let mut c = Raw::connect(&server);
    c.call(&["HELLO", "3"]);
    c.send(&["CLIENT", "REPLY", "OFF"]);
    c.send(&["PING"]);
    assert_eq!(c.call(&["SUBSCRIBE", "ch"]), r#">["subscribe","ch",:1]"#);
    c.send(&["PUBLISH", "ch", "self"]);
    assert_eq!(c.read(), r#">["message","ch","self"]"#);
    assert_eq!(c.call(&["CLIENT", "REPLY", "ON"]), "+OK");
    c.send(&["CLIENT", "REPLY", "SKIP"]);
    c.send(&["PSUBSCRIBE", "c*"]);
    assert_eq!(c.read(), r#">["psubscribe","c*",:2]"#);
    assert_eq!(c.call(&["PING"]), "+PONG");
}

#[test]
fn shard_channels() {
    let server = Server::start(&[]);
    let mut sub = Raw::connect(&server);
    let mut other = Raw::connect(&server);
    assert_eq!(sub.call(&["SUBSCRIBE", "plain"]), r#"*["subscribe","plain",:1]"#);
    // Shard subscriptions are counted on their own.
    sub.send(&["SSUBSCRIBE", "s1", "s2"]);
    assert_eq!(sub.read(), r#"*["ssubscribe","s1",:1]"#);
    assert_eq!(sub.read(), r#"*["ssubscribe","s2",:2]"#);
    assert_eq!(other.call(&["SPUBLISH", "s1", "hello"]), ":1");
    assert_eq!(sub.read(), r#"*["smessage","s1","hello"]"#);
    // PUBLISH and SPUBLISH reach different subscribers.
    assert_eq!(other.call(&["PUBLISH", "s1", "x"]), ":0");
    assert_eq!(other.call(&["SPUBLISH", "plain", "x"]), ":0");
    assert_eq!(other.call(&["PUBSUB", "SHARDCHANNELS"]).len(), r#"*["s1","s2"]"#.len());
    assert_eq!(other.call(&["PUBSUB", "SHARDCHANNELS", "*1"]), r#"*["s1"]"#);
    assert_eq!(other.call(&["PUBSUB", "SHARDNUMSUB", "s1", "nope"]), r#"*["s1",:1,"nope",:0]"#);
    assert_eq!(sub.call(&["SUNSUBSCRIBE", "s1"]), r#"*["sunsubscribe","s1",:1]"#);
    assert_eq!(sub.call(&["SUNSUBSCRIBE"]), r#"*["sunsubscribe","s2",:0]"#);
    // Still subscribed to a plain channel, so still in subscribed mode.
    assert!(sub.call(&["GET", "k"]).starts_with("-ERR Can't execute 'get'"));
    // Inside a transaction SSUBSCRIBE is refused, as in Redis.
    other.call(&["MULTI"]);
    other.call(&["SSUBSCRIBE", "t"]);
    assert_eq!(other.call(&["EXEC"]), r#"*[-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client]"#);
}

#[test]
fn pubsub_introspection() {
    let server = Server::start(&[]);
    let mut a = Raw::connect(&server);
    let mut b = Raw::connect(&server);
    let mut q = Raw::connect(&server);
    a.send(&["SUBSCRIBE", "news.tech", "news.art"]);
    a.read();
    a.read();
    b.call(&["SUBSCRIBE", "news.tech"]);
    a.call(&["PSUBSCRIBE", "news.*"]);
    b.call(&["PSUBSCRIBE", "news.*"]);
    b.call(&["PSUBSCRIBE", "other.*"]);

    assert_eq!(q.call(&["PUBSUB", "CHANNELS", "*tech"]), r#"*["news.tech"]"#);
    assert_eq!(q.call(&["PUBSUB", "CHANNELS"]).matches("news.").count(), 2);
    assert_eq!(
        q.call(&["PUBSUB", "NUMSUB", "news.tech", "news.art", "x"]),
        r#"*["news.tech",:2,"news.art",:1,"x",:0]"#
    );
    assert_eq!(q.call(&["PUBSUB", "NUMSUB"]), "*[]");
    assert_eq!(q.call(&["PUBSUB", "NUMPAT"]), ":2");
    assert_eq!(q.call(&["PUBLISH", "news.tech", "m"]), ":4");
    assert_eq!(
        q.call(&["PUBSUB", "CHANNELS", "a", "b"]),
        "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP."
    );
    assert_eq!(q.call(&["PUBSUB", "NUMPAT", "x"]), "-ERR wrong number of arguments for 'pubsub|numpat' command");
    assert_eq!(q.call(&["PUBSUB", "FOO"]), "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.");
    let help = q.call(&["PUBSUB", "HELP"]);
    assert!(help.starts_with("*[+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:,+CHANNELS"), "{help}");
    assert!(help.ends_with("+HELP,+    Print this help.]"), "{help}");

    // A closed subscriber leaves the registry.
    drop(a);
    assert!(eventually(|| q.call(&["PUBSUB", "NUMSUB", "news.art"]) == r#"*["news.art",:0]"#));
    assert_eq!(q.call(&["PUBSUB", "NUMPAT"]), ":2");
    drop(b);
    assert!(eventually(|| q.call(&["PUBSUB", "NUMPAT"]) == ":0"));
}

/// The id of the connection named `name`, from CLIENT LIST.
fn client_id_named(q: &mut Raw, name: &str) -> Option<String> {
    let list = q.call(&["CLIENT", "LIST"]);
    list.split("\\n").find(|l| l.contains(&format!(" name={name} "))).map(|l| {
        let start = l.find("id=").unwrap() + 3;
        l[start..].split(' ').next().unwrap().to_string()
    })
}

#[test]
fn slow_subscriber_over_hard_limit_is_disconnected() {
    let server = Server::start(&["--client-output-buffer-limit", "pubsub", "1mb", "0", "0"]);
    let mut slow = Raw::connect(&server);
    slow.call(&["CLIENT", "SETNAME", "slow"]);
    assert_eq!(slow.call(&["SUBSCRIBE", "firehose"]), r#"*["subscribe","firehose",:1]"#);
    let mut publisher = Raw::connect(&server);
    assert!(client_id_named(&mut publisher, "slow").is_some());

    // 32 MB in 256 KB messages: far more than the limit plus what the kernel buffers hold.
    let payload = "x".repeat(256 * 1024);
    let mut receivers = Vec::new();
    for _ in 0..128 {
        receivers.push(publisher.call(&["PUBLISH", "firehose", &payload]));
    }
    assert_eq!(receivers[0], ":1");
    assert_eq!(receivers.last().unwrap(), ":0", "the slow subscriber was never disconnected");
    assert_eq!(publisher.call(&["PUBSUB", "NUMSUB", "firehose"]), r#"*["firehose",:0]"#);
    assert_eq!(client_id_named(&mut publisher, "slow"), None);
    assert_eq!(publisher.call(&["PING"]), "+PONG");

    // Its socket is closed: reading drains what was sent and then hits the end.
    let mut sink = vec![0u8; 1 << 20];
    let mut total = 0usize;
    loop {
        match slow.read_raw(&mut sink) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => panic!("expected the server to close the slow subscriber: {e}"),
        }
        assert!(total < 64 << 20, "server kept sending to a killed subscriber");
    }
}

#[test]
fn slow_subscriber_over_soft_limit_for_too_long_is_disconnected() {
    let server = Server::start(&["--client-output-buffer-limit", "pubsub", "0", "256kb", "1"]);
    let mut slow = Raw::connect(&server);
    slow.call(&["SUBSCRIBE", "c"]);
    let mut publisher = Raw::connect(&server);
    let payload = "y".repeat(128 * 1024);
    // Fill the socket buffers and go over the soft limit; nothing is killed yet.
    let mut over = false;
    for _ in 0..256 {
        if publisher.call(&["PUBLISH", "c", &payload]) == ":0" {
            panic!("disconnected before the soft limit's time ran out");
        }
        let list = publisher.call(&["CLIENT", "LIST", "TYPE", "pubsub"]);
        if list.contains("omem=") && !list.contains("omem=0 ") {
            let omem: usize = list.split("omem=").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
            if omem > 256 * 1024 {
                over = true;
                break;
            }
        }
    }
    assert!(over, "never went over the soft limit");
    let over_since = Instant::now();
    // Over the soft limit only: still connected for now.
    assert_eq!(publisher.call(&["PUBSUB", "NUMSUB", "c"]), r#"*["c",:1]"#);
    // Keep publishing; once it has stayed over the soft limit for a second it is dropped.
    // (The kernel may still take some bytes, which can briefly bring it under the limit.)
    let disconnected = eventually(|| {
        for _ in 0..8 {
            publisher.call(&["PUBLISH", "c", &payload]);
        }
        std::thread::sleep(Duration::from_millis(80));
        publisher.call(&["PUBSUB", "NUMSUB", "c"]) == r#"*["c",:0]"#
    });
    assert!(disconnected, "a subscriber over the soft limit for too long was kept");
    assert!(over_since.elapsed() >= Duration::from_secs(1), "disconnected before the soft limit's time ran out");
    assert_eq!(publisher.call(&["PING"]), "+PONG");
}

#[test]
fn keyspace_notifications_end_to_end() {
    let server = Server::start(&["--notify-keyspace-events", "KEA"]);
    let mut sub = Raw::connect(&server);
    let mut c = Raw::connect(&server);
    assert_eq!(sub.call(&["PSUBSCRIBE", "__key*@0__:*"]), r#"*["psubscribe","__key*@0__:*",:1]"#);
    c.call(&["SET", "foo", "bar"]);
    assert_eq!(sub.read(), r#"*["pmessage","__key*@0__:*","__keyspace@0__:foo","set"]"#);
    assert_eq!(sub.read(), r#"*["pmessage","__key*@0__:*","__keyevent@0__:set","foo"]"#);
    c.call(&["DEL", "foo"]);
    assert_eq!(sub.read(), r#"*["pmessage","__key*@0__:*","__keyspace@0__:foo","del"]"#);
    assert_eq!(sub.read(), r#"*["pmessage","__key*@0__:*","__keyevent@0__:del","foo"]"#);
    // Keys nobody reads expire in the background and still notify.
    c.call(&["SET", "short", "v", "PX", "50"]);
    assert_eq!(sub.read(), r#"*["pmessage","__key*@0__:*","__keyspace@0__:short","set"]"#);
    assert_eq!(sub.read(), r#"*["pmessage","__key*@0__:*","__keyevent@0__:set","short"]"#);
    assert_eq!(sub.read(), r#"*["pmessage","__key*@0__:*","__keyspace@0__:short","expire"]"#);
    assert_eq!(sub.read(), r#"*["pmessage","__key*@0__:*","__keyevent@0__:expire","short"]"#);
    assert_eq!(sub.read(), r#"*["pmessage","__key*@0__:*","__keyspace@0__:short","expired"]"#);
    assert_eq!(sub.read(), r#"*["pmessage","__key*@0__:*","__keyevent@0__:expired","short"]"#);

    // A RESP3 client sees the events its own command caused right after that command's reply.
    let mut me = Raw::connect(&server);
    me.call(&["HELLO", "3"]);
    me.call(&["SUBSCRIBE", "__keyevent@0__:set"]);
    me.send(&["SET", "mine", "1"]);
    me.send(&["PING"]);
    assert_eq!(me.read(), "+OK");
    assert_eq!(me.read(), r#">["message","__keyevent@0__:set","mine"]"#);
    assert_eq!(me.read(), "+PONG");
}

#[test]
fn no_notifications_when_disabled() {
    let server = Server::start(&[]);
    let mut sub = Raw::connect(&server);
    let mut c = Raw::connect(&server);
    sub.call(&["PSUBSCRIBE", "*"]);
    c.call(&["SET", "foo", "bar"]);
    assert!(sub.silent_for(Duration::from_millis(200)));
}

#[test]
fn new_key_events() {
    let server = Server::start(&["--notify-keyspace-events", "En"]);
    let mut sub = Raw::connect(&server);
    let mut c = Raw::connect(&server);
    sub.call(&["PSUBSCRIBE", "*"]);
    c.call(&["SET", "foo", "bar"]);
    // Overwriting an existing key creates nothing new.
    c.call(&["SET", "foo", "baz"]);
    c.call(&["SET", "bar", "bar"]);
    assert_eq!(sub.read(), r#"*["pmessage","*","__keyevent@0__:new","foo"]"#);
    assert_eq!(sub.read(), r#"*["pmessage","*","__keyevent@0__:new","bar"]"#);
    assert!(sub.silent_for(Duration::from_millis(100)));
}
