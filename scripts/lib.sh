# Shared by the scripts that start several daemons on this machine
# (demo.sh, cluster.sh, bridge/regions.sh). Source it after setting
#   name  the script's name for messages
#   dir   where logs go
# It keeps the started processes in pids and stops them, newest first, on
# exit or Ctrl-C.

pids=()
# Ports handed out, kept in a file: free_port runs in a $(...) subshell,
# where a variable would not outlive the call. The system Redis and
# Mosquitto may hold 6379 and 1883.
taken_file="$dir/ports-taken"
printf '6379\n1883\n' >"$taken_file"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port BASE: the first free port from BASE on, not handed out before.
free_port() {
  local p=$1
  while port_busy "$p" || grep -qx "$p" "$taken_file"; do p=$((p + 1)); done
  echo "$p" >>"$taken_file"
  echo "$p"
}

# http_ok PORT PATH: whether GET PATH on 127.0.0.1:PORT answers 200 (no curl needed).
http_ok() {
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
  IFS= read -r line <&3 || true
  exec 3>&-
  [[ $line == *" 200 "* ]]
}

# wait_port PORT PID NAME: until something listens on PORT, or NAME exited.
wait_port() {
  for _ in $(seq 1 200); do
    port_busy "$1" && return 0
    kill -0 "$2" 2>/dev/null || { echo "$name: $3 exited:" >&2; tail -n 20 "$dir/$3.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "$name: $3 does not listen on $1" >&2
  exit 1
}

# start NAME PORT command...: run command in the background, logging to
# $dir/NAME.log, and wait for PORT (- for none).
start() {
  local n=$1 port=$2
  shift 2
  "$@" >"$dir/$n.log" 2>&1 &
  pids+=($!)
  [ "$port" = - ] || wait_port "$port" "$!" "$n"
}

stop_all() {
  trap - INT TERM EXIT
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "$name: stopped (logs in $dir)"
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

# wait_any: return when any started process ends.
wait_any() {
  wait -n "${pids[@]}" || true
  echo "$name: a process ended; see $dir" >&2
}
