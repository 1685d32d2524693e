#!/bin/sh
# living.sh LIVING LIBCPROF MODE — run living.c's MODE under the preload
# and check the profiles it leaves (go tool pprof must read each one).
set -eu
living=$1 lib=$2 mode=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export HOME="${HOME:-$dir}"

top() { # top FILE → go tool pprof -top, failing loudly
  go tool pprof -top "$1" >"$dir/top.txt" 2>&1 || { cat "$dir/top.txt"; echo "pprof failed on $1"; exit 1; }
  cat "$dir/top.txt"
}
has() { grep -q " $2\$" "$1" || { echo "FAIL: $1 lacks $2"; exit 1; }; }
lacks() { if grep -q " $2\$" "$1"; then echo "FAIL: $1 has $2"; exit 1; fi; }

case $mode in
eintr)
  timeout 60 env CPROF_CPU="$dir/cpu.pb.gz" CPROF_CPU_HZ=10000 LD_PRELOAD="$lib" "$living" eintr
  top "$dir/cpu.pb.gz" >/dev/null
  ;;
fork)
  # With %p: the child writes its own profile, with only its own work.
  timeout 60 env CPROF_CPU="$dir/cpu.%p.pb.gz" LD_PRELOAD="$lib" "$living" fork >"$dir/out"
  cat "$dir/out"
  pids=$(cat "$dir/out")
  parent=${pids#parent=}; parent=${parent%% *}; child=${pids##*child=}
  [ "$(ls "$dir" | grep -c '^cpu\..*\.pb\.gz$')" = 2 ] || { ls "$dir"; echo "FAIL: want 2 profiles"; exit 1; }
  top "$dir/cpu.$parent.pb.gz" > "$dir/p.txt"
  top "$dir/cpu.$child.pb.gz" > "$dir/c.txt"
  has "$dir/p.txt" parent_work; lacks "$dir/p.txt" child_work
  has "$dir/c.txt" child_work; lacks "$dir/c.txt" parent_work
  rm -f "$dir"/cpu.*
  # Without %p: the child writes nothing; the parent's file is the parent's.
  timeout 60 env CPROF_CPU="$dir/cpu.pb.gz" LD_PRELOAD="$lib" "$living" fork >/dev/null
  [ "$(ls "$dir" | grep -c '^cpu')" = 1 ] || { ls "$dir"; echo "FAIL: want 1 profile"; exit 1; }
  top "$dir/cpu.pb.gz" > "$dir/p.txt"
  has "$dir/p.txt" parent_work; lacks "$dir/p.txt" child_work
  # exec keeps the environment: a program started by a shell profiles itself.
  rm -f "$dir"/cpu.*
  timeout 60 env CPROF_CPU="$dir/cpu.%p.pb.gz" LD_PRELOAD="$lib" sh -c "\"$living\" fork >/dev/null; true"
  found=0
  for f in "$dir"/cpu.*.pb.gz; do
    top "$f" > "$dir/x.txt"
    if grep -q " parent_work\$" "$dir/x.txt"; then found=1; fi
  done
  [ $found = 1 ] || { ls "$dir"; echo "FAIL: no profile of the program the shell ran"; exit 1; }
  echo "fork: ok"
  ;;
churn)
  timeout 60 env CPROF_CPU="$dir/cpu.pb.gz" CPROF_CPU_HZ=1000 LD_PRELOAD="$lib" "$living" churn 3000
  # Threads of 200 us are rarely on a CPU when the kernel's tick checks
  # their timers: most of their CPU is under the never-sampled marker and
  # short_thread holds ~0.6%, next to go's default cut of 0.5%.  Show all.
  go tool pprof -top -nodefraction=0 "$dir/cpu.pb.gz" > "$dir/t.txt" 2>&1
  has "$dir/t.txt" short_thread
  lacks "$dir/t.txt" cprof_lost_samples
  ;;
masked)
  timeout 60 env CPROF_CPU="$dir/cpu.pb.gz" LD_PRELOAD="$lib" "$living" masked
  top "$dir/cpu.pb.gz" > "$dir/t.txt"
  has "$dir/t.txt" masked_worker
  echo "masked: ok"
  ;;
thread-exit)
  timeout 60 env CPROF_CPU="$dir/cpu.pb.gz" LD_PRELOAD="$lib" "$living" thread-exit
  top "$dir/cpu.pb.gz" > "$dir/t.txt"
  has "$dir/t.txt" exiting_thread; has "$dir/t.txt" main_spins
  echo "thread-exit: ok"
  ;;
takeover)
  timeout 60 env CPROF_CPU="$dir/cpu.pb.gz" LD_PRELOAD="$lib" "$living" takeover 2>"$dir/err"
  # Moving to a free signal is silent: nothing for the user to act on.
  if [ -s "$dir/err" ]; then cat "$dir/err"; echo "FAIL: stderr not empty"; exit 1; fi
  top "$dir/cpu.pb.gz" > "$dir/t.txt"
  has "$dir/t.txt" before_takeover; has "$dir/t.txt" after_takeover
  # With another signal asked for, both profile side by side, silently.
  timeout 60 env CPROF_CPU="$dir/cpu2.pb.gz" CPROF_CPU_SIGNAL=38 LD_PRELOAD="$lib" \
    "$living" takeover 2>"$dir/err"
  if grep -q "installs its own handler" "$dir/err"; then cat "$dir/err"; exit 1; fi
  top "$dir/cpu2.pb.gz" > "$dir/t.txt"
  has "$dir/t.txt" before_takeover; has "$dir/t.txt" after_takeover
  ;;
stress)
  # The heap profiler runs too: the program allocates hard on two threads.
  timeout 60 env CPROF_CPU="$dir/cpu.pb.gz" CPROF_CPU_HZ=100000 CPROF_HEAP="$dir/heap.pb.gz" \
    LD_PRELOAD="$lib" "$living" stress 3
  top "$dir/heap.pb.gz" >/dev/null
  top "$dir/cpu.pb.gz" > "$dir/t.txt"
  has "$dir/t.txt" allocator; has "$dir/t.txt" churner; has "$dir/t.txt" dl_looper
  # libcrypt was dlclose'd long before the write; its mapping was noted.
  grep -q "libcrypt" "$dir/t.txt" || { echo "FAIL: no libcrypt mapping"; exit 1; }
  sed -n 1,12p "$dir/t.txt"
  ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
