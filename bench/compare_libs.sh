#!/bin/sh
# compare_libs.sh OLD_LIB NEW_LIB [BUILD] — two builds of libcprof.so on
# the same workloads, interleaved in one run, for a change to a collector's
# hot path (e.g. the stack table).  Not run by `make bench` (it needs two
# builds); prints NEW/OLD ratios, never fails on time.
#   1. bench/heap_loop, malloc/free pairs: heap profile at the default rate
#      (the fast path) and at rate 1 (every allocation takes the sampled
#      path: unwind, bucket lookup, region): ns per pair, thread CPU, best of.
#   2. sqlite3 building and querying a table in memory (many allocation
#      sites and sizes), CPROF_HEAP at rate 1 and CPROF_CPU at 1000 Hz:
#      CPU (user+sys) of the process, median.
#   3. redis-server under redis-benchmark, CPROF_HEAP at the default rate
#      and at rate 1: requests/s, median.
# A ratio below 1 for CPU (above 1 for requests/s) means NEW is faster.
set -u
OLD=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
NEW=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
BUILD=${3:-build}
LOOP=$(cd "$BUILD" && pwd)/bench/heap_loop
RUNS=${COMPARE_RUNS:-7}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cprof-compare.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export OLD NEW LOOP RUNS tmp
exec python3 - <<'PY'
import os, shutil, socket, statistics, subprocess, time

OLD, NEW, LOOP, RUNS, TMP = (os.environ[k] for k in ("OLD", "NEW", "LOOP", "RUNS", "tmp"))
RUNS = int(RUNS)
BASE = {k: v for k, v in os.environ.items() if not k.startswith("CPROF_") and k != "LD_PRELOAD"}
BASE["LC_ALL"] = "C"

def env(lib, **kv):
    e = dict(BASE, LD_PRELOAD=lib)
    e.update({k: str(v) for k, v in kv.items()})
    return e

def cpu_of(argv, e):
    """CPU seconds (user+sys) of argv and its reaped children, or None."""
    p = subprocess.Popen(argv, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    return ru.ru_utime + ru.ru_stime if status == 0 else None

def loop_ns(e, *args):
    out = subprocess.run([LOOP, *args], env=e, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("ns_per_pair "):
            return float(line.split()[1])
    return None

def interleave(fns, n):
    res = [[] for _ in fns]
    for _ in range(n):
        for i, f in enumerate(fns):
            v = f()
            if v is not None:
                res[i].append(v)
    return res

def line(name, old, new, unit, pick, higher_better=False):
    if not old or not new:
        print(f"{name}: not measured")
        return
    a, b = pick(old), pick(new)
    print(f"{name}: old {a:.4g} {unit}, new {b:.4g} {unit}, new/old {b / a:.3f}x "
          f"({'higher' if higher_better else 'lower'} is better; {len(old)}+{len(new)} runs)")

if os.path.exists(LOOP):
    for rate, millions in (("524288", "3"), ("1", "0.2")):
        o, n = interleave([
            lambda: loop_ns(env(OLD, CPROF_HEAP=f"{TMP}/o.pb.gz", CPROF_HEAP_RATE=rate), millions),
            lambda: loop_ns(env(NEW, CPROF_HEAP=f"{TMP}/n.pb.gz", CPROF_HEAP_RATE=rate), millions),
        ], RUNS)
        line(f"heap_loop, CPROF_HEAP_RATE={rate}", o, n, "ns/pair", min)

sqlite = shutil.which("sqlite3")
if sqlite:
    q = ("create table t(a integer, b text, c blob);"
         "with recursive s(i) as (select 1 union all select i + 1 from s where i < 60000) "
         "insert into t select i, printf('%.*c', i % 97, 'x'), randomblob(i % 300) from s;"
         "create index ti on t(b);"
         "select count(*), sum(length(b)), sum(length(c)) from t group by a % 7;")
    argv = [sqlite, ":memory:", q]
    for name, kv in (("CPROF_HEAP at rate 1", dict(CPROF_HEAP="h.pb.gz", CPROF_HEAP_RATE=1)),
                     ("CPROF_CPU at 1000 Hz", dict(CPROF_CPU="c.pb.gz", CPROF_CPU_HZ=1000))):
        o, n = interleave([
            lambda: cpu_of(argv, env(OLD, **{k: (f"{TMP}/o{v}" if k in ("CPROF_HEAP", "CPROF_CPU") else v) for k, v in kv.items()})),
            lambda: cpu_of(argv, env(NEW, **{k: (f"{TMP}/n{v}" if k in ("CPROF_HEAP", "CPROF_CPU") else v) for k, v in kv.items()})),
        ], RUNS)
        line(f"sqlite3 insert/index/query, {name}", o, n, "s CPU", statistics.median)
else:
    print("sqlite3: not installed")

def redis_rps(lib, rate):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = subprocess.Popen(["redis-server", "--save", "", "--appendonly", "no", "--port", str(port),
                            "--bind", "127.0.0.1", "--loglevel", "warning"],
                           env=env(lib, CPROF_HEAP=f"{TMP}/r.pb.gz", CPROF_HEAP_RATE=rate),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        b = subprocess.run(["redis-benchmark", "-p", str(port), "-q", "-n", "100000",
                            "-t", "set,get,lpush,lpop", "-d", "64", "--csv"],
                           env=BASE, capture_output=True, text=True, timeout=120)
        vals = []
        for l in b.stdout.splitlines():
            f = [x.strip('"') for x in l.split(",")]
            if len(f) > 1 and f[0] != "test":
                vals.append(float(f[1]))
        return sum(vals) / len(vals) if vals else None
    finally:
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], env=BASE,
                       capture_output=True)
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()

if all(shutil.which(p) for p in ("redis-server", "redis-benchmark", "redis-cli")):
    for rate in ("524288", "1"):
        o, n = interleave([lambda: redis_rps(OLD, rate), lambda: redis_rps(NEW, rate)],
                          max(3, RUNS // 2))
        line(f"redis-server under redis-benchmark, CPROF_HEAP_RATE={rate}", o, n, "req/s",
             statistics.median, True)
else:
    print("redis: not installed")
PY
