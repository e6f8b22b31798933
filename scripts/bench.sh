#!/usr/bin/env bash
# bench.sh — the figures of BENCHMARKS.md, measured on this machine (`make bench`).
#
#   1. Go benchmarks (-benchmem) of the packages that have them, summarised
#      with benchstat when it can be run;
#   2. fan-out: one agent, 1 / 100 / 1000 dashboards on its channel, through
#      an in-process hub on the memory backplane (edgeplane-load);
#   3. ingest: 1000 simulated agents into an in-process hub, memory backplane;
#   4. when redis-server is installed: a redis-server of its own on a free
#      port (never 6379; no persistence), redis-benchmark's EVALSHA rate of
#      the backplane's own publish script and its PUBLISH rate as the
#      yardsticks, then the same ingest through one hub on that Redis, and
#      the ratios, all from this one run.
#
# The machine is shared and small: compare figures as ratios within one run.
# Environment (all optional):
#   BENCH_DURATION  send time of each load run (default 10s)
#   BENCH_COUNT     -count of the cheap Go benchmarks (default 6)
#   BENCH_AGENTS    simulated agents of the ingest runs (default 1000)
#   BENCH_OUT       directory for raw outputs (default: a new temporary one)
#   BENCH_SKIP_GO=1 skip the Go benchmarks
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
DURATION=${BENCH_DURATION:-10s}
COUNT=${BENCH_COUNT:-6} # benchstat needs 6 samples for a confidence interval
AGENTS=${BENCH_AGENTS:-1000}
OUT=${BENCH_OUT:-$(mktemp -d -t edgeplane-bench.XXXXXX)}
mkdir -p "$OUT"

# Free ports, start and stop of redis-server and edgeplane-hubd (logs in
# $OUT): scripts/lib.sh, shared with demo.sh and cluster.sh.
name=bench
dir=$OUT
. scripts/lib.sh

section() { printf '\n== %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }
# jqn FILE EXPR: a number from a JSON result, "?" when jq is missing.
jqn() { if have jq; then jq -r "$2" "$1"; else echo "?"; fi; }
# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a+0) printf "%.2f", a / b; else print "?" }'; }

section "machine"
echo "date:     $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "nproc:    $(nproc)"
echo "cpu:      $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "go:       $($GO version)"
echo "load avg: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
echo "commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "raw:      $OUT"

# ---------------------------------------------------------------- Go benchmarks
if [[ ${BENCH_SKIP_GO:-} != 1 ]]; then
	section "go benchmarks (-benchmem)"
	run_benchstat() {
		if have benchstat; then
			benchstat "$@"
		else
			$GO run golang.org/x/perf/cmd/benchstat@latest "$@" 2>/dev/null
		fi
	}
	# Packages with benchmarks: the codec is cheap (-count $COUNT); fan-out
	# and backplane benchmarks start servers and run once or twice.
	for spec in "./internal/frame:$COUNT" "./hubd:2" "./internal/backplane/memory:2" "./internal/backplane/redis:1" "./internal/loadtest:1"; do
		pkg=${spec%:*} count=${spec##*:}
		[[ -d $pkg ]] || continue
		list=$($GO test -list '^Benchmark' "$pkg" 2>/dev/null || true)
		if ! grep -q '^Benchmark' <<<"$list"; then
			echo "$pkg: no benchmarks"
			continue
		fi
		name=$(echo "${pkg#./}" | tr / _)
		echo "--- $pkg (-count $count)"
		if ! $GO test -run '^$' -bench . -benchmem -count "$count" "$pkg" >"$OUT/$name.bench" 2>&1; then
			echo "$pkg: benchmarks failed (see $OUT/$name.bench)"
			tail -5 "$OUT/$name.bench"
			continue
		fi
		if ! run_benchstat "$OUT/$name.bench"; then
			grep -E '^(Benchmark|goos|goarch|cpu)' "$OUT/$name.bench"
		fi
	done
	section "memory per idle dashboard connection (hub process RSS growth / connections)"
	$GO test ./internal/e2e -run '^$' -bench IdleDashboardMemory -benchtime 2000x -count=1 2>&1 | grep -E '^Benchmark'
	section "frame size (bytes/sample)"
	$GO test ./internal/frame -run 'TestFrameSize$' -count=1 -v 2>&1 | grep -E 'bytes/sample' | sed 's/^ *[a-z_]*\.go:[0-9]*: //'
fi

# ------------------------------------------------------------------- load runs
section "build edgeplane-load"
$GO build -o "$OUT/edgeplane-load" ./hubd/cmd/edgeplane-load
LOAD="$OUT/edgeplane-load"

# load NAME ARGS...: one run, table to stdout, JSON to $OUT/NAME.json.
load() {
	local name=$1
	shift
	echo
	echo "--- $name: edgeplane-load $*"
	if ! "$LOAD" -duration "$DURATION" -json "$OUT/$name.json" "$@"; then
		echo "($name: run failed or frames were lost, see above)"
	fi
}

# Fan-out frames carry one sample: about 130 bytes as a JSON frame, near the
# 100-byte payloads of the yardstick. "max": the agent sends as fast as its
# window of 64 un-ACKed frames allows; "r1000": 1000 frames/s, for latency.
# -history 100000: with the default 1000, a hub whose fan-out falls more
# than 1000 frames behind a max-rate agent gets a reset from the memory
# backplane (announced loss; edgeplane-load counts it as gaps and fails).
FAN="-inprocess -history 100000 -agents 1 -samples 1"
section "fan-out: one agent, N dashboards on its channel, in-process hub, memory backplane"
load fanout-1 $FAN -window 64 -clients 1
load fanout-100 $FAN -window 64 -clients 100
load fanout-1000 $FAN -window 64 -clients 1000
load fanout-1000-cbor $FAN -window 64 -clients 1000 -proto cbor
load fanout-100-r1000 $FAN -rate 1000 -window 256 -clients 100
load fanout-1000-r1000 $FAN -rate 1000 -window 256 -clients 1000

section "ingest: $AGENTS agents, in-process hub, memory backplane"
load ingest-memory -inprocess -agents "$AGENTS" -window 16 -clients 0

# hub_process_ingest: the Redis ingest again, with the hub as its own
# edgeplane-hubd process, so that the hub's CPU is measured apart from the
# load tool's (utime+stime from /proc over the run): frames/s per hub core.
hub_process_ingest() {
	section "ingest: $AGENTS agents into an edgeplane-hubd process, Redis backplane"
	$GO build -o "$OUT/edgeplane-hubd" ./hubd/cmd/edgeplane-hubd
	local hport
	hport=$(free_port 28080)
	cat >"$OUT/hubd-bench.hcl" <<-EOF
		listen          = "127.0.0.1:$hport"
		hub_id          = "bench"
		region          = "bench"
		allow_anonymous = true
		log_level       = "warn"
		backplane {
		  type = "redis"
		  redis {
		    addrs = ["127.0.0.1:$PORT"]
		  }
		}
	EOF
	start hubd-bench "$hport" "$OUT/edgeplane-hubd" -config "$OUT/hubd-bench.hcl"
	local hpid=${pids[-1]}
	ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
	local h0 t0 h1 t1
	h0=$(ticks "$hpid")
	t0=$(date +%s.%N)
	load ingest-redis-process -url "http://127.0.0.1:$hport" -agents "$AGENTS" -window 16 -clients 0
	h1=$(ticks "$hpid")
	t1=$(date +%s.%N)
	kill "$hpid" 2>/dev/null || true
	wait "$hpid" 2>/dev/null || true
	awk -v h="$((h1 - h0))" -v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "%.3f\n", h / hz / (t1 - t0) }' >"$OUT/hub-process-cores.txt"
	echo "edgeplane-hubd CPU over the run (connect, send, drain): $(cat "$OUT/hub-process-cores.txt") cores"
}

# --------------------------------------------------------------------- Redis
section "redis"
if ! have redis-server || ! have redis-benchmark || ! have redis-cli; then
	echo "redis-server, redis-benchmark or redis-cli not installed: Redis figures skipped"
else
	# Never the system Redis's 6379 (free_port skips it).
	PORT=$(free_port 26379)
	mkdir -p "$OUT/redis"
	start redis "$PORT" redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$OUT/redis"
	echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$PORT (pid ${pids[-1]}, --save \"\" --appendonly no)"

	# The baseline: redis-benchmark running the backplane's own publish
	# script (internal/backplane/redis/broker_publish.lua) on one channel,
	# 100-byte payloads, no dedup (empty spool id), so that every publication
	# stores: once with one publication per call (calls/s = publications/s)
	# and once with 16 per call, as the broker batches a channel's waiting
	# publications (publications/s = 16 x calls/s).
	PAYLOAD=$(head -c 100 /dev/zero | tr '\0' 'x')
	SHA=$(redis-cli -p "$PORT" script load "$(cat internal/backplane/redis/broker_publish.lua)")
	evalsha() { # N: publications per call
		local args=(evalsha "$SHA" 2 '{dev/b}:s' '{dev/b}:m' 1000 3660000 60000 publish bench:pub e "$1")
		for _ in $(seq "$1"); do args+=("$PAYLOAD" "" 0); done
		echo "--- redis-benchmark -p $PORT -n $((200000 / $1)) -P 16 -q evalsha <broker_publish.lua> 2 {dev/b}:s {dev/b}:m 1000 3660000 60000 publish bench:pub e $1 [<100 bytes> \"\" 0] x $1"
		redis-benchmark -p "$PORT" -n $((200000 / $1)) -P 16 -q "${args[@]}" |
			tr '\r' '\n' | grep -E 'requests per second' | tail -1 | sed 's/.*: //' | tee "$OUT/redis-evalsha-$1.txt"
	}
	echo
	evalsha 1
	evalsha 16
	if [[ $(redis-cli -p "$PORT" xlen '{dev/b}:s') -lt 900 ]]; then
		echo "(the EVALSHA baseline stored fewer publications than expected: check the script arguments)"
	fi
	redis-cli -p "$PORT" flushall >/dev/null
	echo
	echo "--- redis-benchmark -p $PORT -n 200000 -P 16 -q publish bench:ch <100 bytes>"
	redis-benchmark -p "$PORT" -n 200000 -P 16 -q publish bench:ch "$PAYLOAD" |
		tr '\r' '\n' | grep -E 'requests per second' | tail -1 | sed 's/.*: //' | tee "$OUT/redis-publish.txt"
	redis-cli -p "$PORT" flushall >/dev/null

	if [[ -d internal/backplane/redis ]] && $GO build ./internal/backplane/redis 2>/dev/null; then
		section "ingest: $AGENTS agents, in-process hub, Redis backplane on 127.0.0.1:$PORT"
		load ingest-redis -inprocess -redis "127.0.0.1:$PORT" -agents "$AGENTS" -window 16 -clients 0
		# As agents send a backlog: the agent's default max_inflight (256) and
		# several frames a message (it puts up to 64 in one).
		load ingest-redis-b16 -inprocess -redis "127.0.0.1:$PORT" -agents "$AGENTS" -window 256 -clients 0 -batch 16
		hub_process_ingest
		section "cross-hub fan-out through Redis: one agent on hub A, N dashboards on hub B"
		load xhub-100 -inprocess -redis "127.0.0.1:$PORT" -crosshub -history 100000 -agents 1 -samples 1 -window 64 -clients 100
		load xhub-1000 -inprocess -redis "127.0.0.1:$PORT" -crosshub -history 100000 -agents 1 -samples 1 -window 64 -clients 1000
		load xhub-100-r1000 -inprocess -redis "127.0.0.1:$PORT" -crosshub -history 100000 -agents 1 -samples 1 -rate 1000 -window 256 -clients 100
		load xhub-1000-r1000 -inprocess -redis "127.0.0.1:$PORT" -crosshub -history 100000 -agents 1 -samples 1 -rate 1000 -window 256 -clients 1000
	else
		echo "internal/backplane/redis is not ready (does not build): no Redis load run"
	fi
fi

# ------------------------------------------------------------------- summary
section "summary (this run)"
f() { [[ -f $OUT/$1.json ]] && jqn "$OUT/$1.json" "$2" || echo "-"; }
printf '%-22s %14s %16s %10s %10s %8s %6s %6s %6s\n' run frames/s deliveries/s e2e-p50ms e2e-p99ms cores load gaps dups
for run in fanout-1 fanout-100 fanout-1000 fanout-1000-cbor fanout-100-r1000 fanout-1000-r1000 ingest-memory ingest-redis ingest-redis-b16 ingest-redis-process xhub-100 xhub-1000 xhub-1000-r1000; do
	[[ -f $OUT/$run.json ]] || continue
	printf '%-22s %14.0f %16.0f %10s %10s %8s %6s %6s %6s\n' "$run" \
		"$(f "$run" .frames_per_second)" "$(f "$run" .deliveries_per_second)" \
		"$(f "$run" '.end_to_end.p50_ms*100|round/100')" "$(f "$run" '.end_to_end.p99_ms*100|round/100')" \
		"$(f "$run" '.cpu_cores_in_window*100|round/100')" "$(f "$run" '.load_average*10|round/10')" \
		"$(f "$run" .gaps)" "$(f "$run" .duplicates)"
done
if [[ -f $OUT/redis-evalsha-1.txt && -f $OUT/ingest-redis.json ]]; then
	evalsha=$(grep -oE '[0-9.]+ requests per second' "$OUT/redis-evalsha-1.txt" | cut -d' ' -f1 || true)
	evalsha16=$(grep -oE '[0-9.]+ requests per second' "$OUT/redis-evalsha-16.txt" | cut -d' ' -f1 || true)
	evalsha16=$(awk -v c="${evalsha16:-0}" 'BEGIN { printf "%.0f", 16 * c }')
	ingest=$(f ingest-redis .frames_per_second)
	mem=$(f ingest-memory .frames_per_second)
	echo
	echo "redis-benchmark EVALSHA (publish script, -P 16): ${evalsha:-?} publications/s at 1 per call, ${evalsha16} at 16 per call"
	echo "hub ingest into Redis:                        ${ingest%.*} frames/s = $(ratio "$ingest" "${evalsha:-0}") x EVALSHA(1) = $(ratio "$ingest" "${evalsha16:-0}") x EVALSHA(16)"
	echo "hub ingest, memory backplane:                 ${mem%.*} frames/s; Redis/memory = $(ratio "$ingest" "$mem")"
	echo "redis-server CPU during the Redis ingest:     $(f ingest-redis '.redis_cpu_cores*100|round/100') cores"
	echo "hub ingest into Redis, 16 frames a message:   $(f ingest-redis-b16 .frames_per_second | cut -d. -f1) frames/s (window 256) = $(ratio "$(f ingest-redis-b16 .frames_per_second)" "${evalsha16:-0}") x EVALSHA(16)"
	if [[ -f $OUT/hub-process-cores.txt ]]; then
		pf=$(f ingest-redis-process .frames_per_second)
		pc=$(cat "$OUT/hub-process-cores.txt")
		echo "edgeplane-hubd process:                       ${pf%.*} frames/s on $pc cores = $(ratio "$pf" "$pc") frames/s per hub core"
	fi
	echo "target: 100000 frames/s from one hub into one Redis"
fi
if [[ -f $OUT/redis-publish.txt && -f $OUT/xhub-1000.json ]]; then
	pub=$(grep -oE '[0-9.]+ requests per second' "$OUT/redis-publish.txt" | cut -d' ' -f1 || true)
	echo "redis-benchmark PUBLISH (-P 16):              ${pub:-?} msgs/s (yardstick for fan-out through Redis)"
fi
