#!/usr/bin/env bash
# What a feature costs: two tenantcache instances that differ only in their flags, loaded with
# the same redis-benchmark rows, in several alternating rounds. Prints, per row, the median
# over the rounds of B's throughput ÷ A's and of B's CPU time per request ÷ A's.
#
#   scripts/bench-ab.sh tenants    # every key in one tenant (A) vs 100 tenants (B)
#   scripts/bench-ab.sh quotas     # 100 tenants (A) vs 100 tenants with key and memory quotas (B)
#   scripts/bench-ab.sh metrics    # metrics, key classes, latency tracking all off (A) vs on (B)
#   scripts/bench-ab.sh eviction   # SET of fresh keys: no limit (A) vs maxmemory 24mb (B)
#   scripts/bench-ab.sh aof        # appendonly no (A) vs appendonly yes, appendfsync AOF_FSYNC
#                                  # (everysec by default) in a temporary directory (B)
#   scripts/bench-ab.sh baseline   # no flags on either side: compares two builds (TC_BIN_B)
#   scripts/bench-ab.sh collections  # the same for LPUSH, SADD, HSET, ZADD (one big collection each)
#   scripts/bench-ab.sh huge-pages # heap-huge-pages no (A) vs yes (B), standard and collection rows
#   scripts/bench-ab.sh refusing-quotas  # 100 tenants with quotas under noeviction, so writes
#                                  # over a quota are refused, on both sides (two builds)
#
# Why this shape: the machine is shared and noisy, so one run of a row can move by 10%.
# Both servers run on CPU 0 (only one is loaded at a time) and redis-benchmark on CPU 1;
# the order of A and B alternates every round (ABBA...), so drift hits both alike; and the
# median of per-round ratios ignores a round disturbed by something else. CPU time per
# request comes from the servers' scheduler statistics (nanoseconds, all threads).
#
# Two server processes can differ by several percent for reasons of their own (where their
# memory landed), and that difference holds for a whole run: in one run the metrics preset's
# GET row gave 0.90, and 1.035 with the flags swapped between the processes. SWAP=1 starts
# B's flags in the first process and A's in the second; the geometric mean of the ratios of
# a run with SWAP=0 and one with SWAP=1 cancels the processes' own difference.
#
# Environment: ONLY (row names to keep, e.g. "LPUSH SADD"), ROUNDS (5), N_P1 (100000), N_P16 (600000), CLIENTS (50), SWAP (0), TC_BIN
# (target/release/tenantcache, built if missing), TC_BIN_B (the binary B runs; TC_BIN by
# default, another build to compare two builds with the same flags), PORT_A (26601),
# PORT_B (26602).
set -euo pipefail
cd "$(dirname "$0")/.."

PRESET=${1:-}
ROUNDS=${ROUNDS:-5}
N_P1=${N_P1:-100000}
N_P16=${N_P16:-600000}
CLIENTS=${CLIENTS:-50}
TC_BIN=${TC_BIN:-target/release/tenantcache}
TC_BIN_B=${TC_BIN_B:-$TC_BIN}
PORT_A=${PORT_A:-26601}
PORT_B=${PORT_B:-26602}
SWAP=${SWAP:-0}
VALUE='value-of-sixty-four-bytes-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'

# Each row: NAME<TAB>redis-benchmark arguments (split on spaces).
STANDARD_ROWS=$'SET\t-t set -r 100000 -d 64\nGET\t-t get -r 100000 -d 64\nINCR\t-t incr -r 100000\nMSET\t-t mset -r 100000 -d 64'
TENANT_ROWS=$'SET\t-r 100 SET t__rand_int__:k__rand_int__ '"$VALUE"$'\nGET\t-r 100 GET t__rand_int__:k__rand_int__\nINCR\t-r 100 INCR t__rand_int__:c__rand_int__\nMSET\t-r 100 MSET t__rand_int__:k__rand_int__ v t__rand_int__:k__rand_int__ v'
case "$PRESET" in
    tenants)
        # A: the pattern matches no key, so every key is in the default tenant.
        FLAGS_A=(--tenant-key-pattern 'no-such-prefix:{tenant}')
        FLAGS_B=(--tenant-key-pattern '{tenant}')
        ROWS=$TENANT_ROWS
        DESCRIBE="A: keys t<n>:k<m> all in one tenant; B: the same keys over 100 tenants ({tenant})"
        ;;
    quotas)
        FLAGS_A=(--tenant-key-pattern '{tenant}')
        FLAGS_B=(--tenant-key-pattern '{tenant}' --tenant-default-maxkeys 1000000000 --tenant-default-maxmemory 1gb)
        ROWS=$TENANT_ROWS
        DESCRIBE="A: 100 tenants without limits; B: 100 tenants, each with a key and a memory quota"
        ;;
    metrics)
        FLAGS_A=(--metrics-port 0 --latency-tracking no)
        FLAGS_B=(--metrics-port "$((PORT_B + 1000))" --latency-tracking yes --stats-key-pattern '{class}')
        ROWS=$STANDARD_ROWS
        DESCRIBE="A: metrics endpoint, key classes and latency histograms off; B: all on, two key classes (key:*, counter:*)"
        ;;
    eviction)
        FLAGS_A=()
        FLAGS_B=(--maxmemory 24mb --maxmemory-policy allkeys-lru)
        ROWS=$'SET\t-t set -r 100000000 -d 64'
        DESCRIBE="A: no memory limit; B: maxmemory 24mb allkeys-lru (nearly every write evicts a key)"
        ;;
    aof)
        AOF_DIR=$(mktemp -d "${TMPDIR:-/tmp}/bench-ab-aof.XXXXXX")
        FLAGS_A=()
        FLAGS_B=(--appendonly yes --appendfsync "${AOF_FSYNC:-everysec}" --dir "$AOF_DIR")
        ROWS=$'SET\t-t set -r 100000 -d 64\nGET\t-t get -r 100000 -d 64\nINCR\t-t incr -r 100000'
        DESCRIBE="A: appendonly no; B: appendonly yes, appendfsync ${AOF_FSYNC:-everysec}"
        ;;
    baseline)
        FLAGS_A=()
        FLAGS_B=()
        ROWS=$STANDARD_ROWS
        DESCRIBE="A: $TC_BIN; B: $TC_BIN_B; both without flags"
        ;;
    collections)
        # One big collection per row, as redis-benchmark's own -t rows: its member table,
        # not the key table, is what each write looks up.
        FLAGS_A=()
        FLAGS_B=()
        ROWS=$'LPUSH\t-t lpush -r 100000 -d 64\nSADD\t-t sadd -r 100000\nHSET\t-t hset -r 100000 -d 64\nZADD\t-t zadd -r 100000'
        DESCRIBE="A: $TC_BIN; B: $TC_BIN_B; both without flags, collection rows"
        ;;
    huge-pages)
        FLAGS_A=(--heap-huge-pages no)
        FLAGS_B=(--heap-huge-pages yes)
        ROWS="$STANDARD_ROWS"$'\nLPUSH\t-t lpush -r 100000 -d 64\nSADD\t-t sadd -r 100000\nHSET\t-t hset -r 100000 -d 64\nZADD\t-t zadd -r 100000'
        DESCRIBE="A: heap in small pages (disable-thp); B: heap in transparent huge pages"
        ;;
    refusing-quotas)
        FLAGS_A=(--tenant-key-pattern '{tenant}' --tenant-default-maxkeys 1000000000 --tenant-default-maxmemory 1gb)
        FLAGS_B=("${FLAGS_A[@]}")
        ROWS=$TENANT_ROWS
        DESCRIBE="A: $TC_BIN; B: $TC_BIN_B; both: 100 tenants with quotas, noeviction (over-quota writes are refused)"
        ;;
    *)
        sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac

SCRIPT_NAME=bench-ab
# shellcheck source=lib/servers.sh
. scripts/lib/servers.sh
# The aof preset's log directory goes once the servers are stopped.
[ -z "${AOF_DIR:-}" ] || trap 'stop_servers; rm -rf "$AOF_DIR"' EXIT
need_package redis-cli redis-tools
need_package redis-benchmark redis-tools
[ -x "$TC_BIN" ] || cargo build --release --quiet --bin tenantcache

start() { # PORT BINARY FLAGS...: starts tenantcache on CPU 0; its PID in SERVER_PID
    local port=$1 bin=$2
    shift 2
    start_server "$port" taskset -c 0 "$bin" --port "$port" --bind 127.0.0.1 --save '' --loglevel warning --metrics-port 0 "$@"
}
if [ "$SWAP" = 1 ]; then
    # B's flags in the first server started (on the first port), A's in the second.
    read -r PORT_A PORT_B <<<"$PORT_B $PORT_A"
    start "$PORT_B" "$TC_BIN_B" "${FLAGS_B[@]}"
    PID_B=$SERVER_PID
    start "$PORT_A" "$TC_BIN" "${FLAGS_A[@]}"
    PID_A=$SERVER_PID
else
    start "$PORT_A" "$TC_BIN" "${FLAGS_A[@]}"
    PID_A=$SERVER_PID
    start "$PORT_B" "$TC_BIN_B" "${FLAGS_B[@]}"
    PID_B=$SERVER_PID
fi

cpu_ns() { # CPU time of every thread of a process, in nanoseconds
    cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# run PORT PID PIPELINE ARGS...: prints "RPS CPU_NS_PER_REQUEST".
run() {
    local port=$1 pid=$2 p=$3 n before after rps
    shift 3
    n=$N_P1
    [ "$p" -eq 1 ] || n=$N_P16
    before=$(cpu_ns "$pid")
    rps=$(taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$n" -P "$p" --csv "$@" 2>/dev/null |
        grep '^"' | grep -v '^"test"' | tail -n 1 | cut -d, -f2 | tr -d '"')
    after=$(cpu_ns "$pid")
    kill -0 "$pid" 2>/dev/null || { echo "bench-ab: server on port $port exited" >&2; exit 1; }
    awk -v r="$rps" -v c=$((after - before)) -v n="$n" 'BEGIN { printf "%.0f %.1f\n", r, c / n }'
}

median() { # FORMAT: the median of the numbers on stdin
    sort -g | awk -v f="$1\n" '{ v[NR] = $1 } END { printf f, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "$DESCRIBE"
echo "flags A: ${FLAGS_A[*]:-(none)}"
echo "flags B: ${FLAGS_B[*]:-(none)}"
[ "$SWAP" = 1 ] && echo "SWAP=1: B's flags run in the first server process, A's in the second"
echo "$ROUNDS rounds (ABBA order), $CLIENTS clients, -n $N_P1 at P1 / $N_P16 at P16; servers on CPU 0, client on CPU 1"
printf '%-6s %3s %11s %11s %9s %9s %9s %9s  %s\n' test P A_rps B_rps A_ns/req B_ns/req rps_B/A cpu_B/A "per-round rps_B/A"
while IFS=$'\t' read -r name args; do
    # ONLY="LPUSH SADD" keeps those rows of the preset.
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then
        continue
    fi
    read -ra argv <<<"$args"
    for p in 1 16; do
        rps_ratios=() cpu_ratios=() a_rps=() b_rps=() a_cpu=() b_cpu=()
        for round in $(seq "$ROUNDS"); do
            # `run` in a command substitution: its failure must end the script, not a subshell.
            if [ $((round % 2)) -eq 1 ]; then
                out_a=$(run "$PORT_A" "$PID_A" "$p" "${argv[@]}") || exit 1
                out_b=$(run "$PORT_B" "$PID_B" "$p" "${argv[@]}") || exit 1
            else
                out_b=$(run "$PORT_B" "$PID_B" "$p" "${argv[@]}") || exit 1
                out_a=$(run "$PORT_A" "$PID_A" "$p" "${argv[@]}") || exit 1
            fi
            read -r ra ca <<<"$out_a"
            read -r rb cb <<<"$out_b"
            a_rps+=("$ra") b_rps+=("$rb") a_cpu+=("$ca") b_cpu+=("$cb")
            rps_ratios+=("$(awk -v a="$ra" -v b="$rb" 'BEGIN { printf "%.3f", b / a }')")
            cpu_ratios+=("$(awk -v a="$ca" -v b="$cb" 'BEGIN { printf "%.3f", b / a }')")
        done
        printf '%-6s %3s %11s %11s %9s %9s %9s %9s  %s\n' "$name" "$p" \
            "$(printf '%s\n' "${a_rps[@]}" | median %.0f)" "$(printf '%s\n' "${b_rps[@]}" | median %.0f)" \
            "$(printf '%s\n' "${a_cpu[@]}" | median %.0f)" "$(printf '%s\n' "${b_cpu[@]}" | median %.0f)" \
            "$(printf '%s\n' "${rps_ratios[@]}" | median %.3f)" "$(printf '%s\n' "${cpu_ratios[@]}" | median %.3f)" \
            "${rps_ratios[*]}"
    done
done <<<"$ROWS"
echo "rps_B/A < 1: B serves fewer requests per second; cpu_B/A > 1: B spends more CPU per request (medians of the rounds)."
if [ "$PRESET" = eviction ]; then
    echo "B: $(redis-cli -p "$PORT_B" info stats | tr -d '\r' | grep '^evicted_keys:'), $(redis-cli -p "$PORT_B" info memory | tr -d '\r' | grep -E '^used_memory:')"
fi
