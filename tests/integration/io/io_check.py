#!/usr/bin/env python3
"""io_check.py MODE REPORT PROFILE — compare io_known's own figures with the
I/O profile, read by go tool pprof -raw (the oracle reader).

exact:    rate 1: bytes and calls exact per site, kind labels right, the
          blocking reads' time within 10% of what the program measured.
estimate: default rate: the 1 GiB site's bytes and the blocking reads' time
          within 10%.
Exits 0 when every check holds, 1 otherwise; prints the figures."""
import re
import subprocess
import sys


def read_profile(path):
    out = subprocess.run(["go", "tool", "pprof", "-raw", path], check=True,
                         capture_output=True, text=True).stdout
    lines = out.splitlines()
    i = lines.index("Samples:")
    types = lines[i + 1].split()
    names = [t.split("/")[0] for t in types]
    samples, locs = [], {}
    j = i + 2
    while j < len(lines) and lines[j] != "Locations":
        m = re.match(r"\s*([-\d ]+):((?: \d+)*)\s*$", lines[j])
        if m:
            vals = [int(v) for v in m.group(1).split()]
            samples.append({"v": dict(zip(names, vals)),
                            "locs": [int(x) for x in m.group(2).split()], "labels": {}})
        else:
            for k, v in re.findall(r"(\w+):\[([^\]]*)\]", lines[j]):
                samples[-1]["labels"][k] = v
        j += 1
    cur = None
    for line in lines[j + 1:]:
        if line == "Mappings":
            break
        m = re.match(r"\s*(\d+): 0x[0-9a-f]+ M=\d+ (\S+)", line)
        if m:
            cur = int(m.group(1))
            locs[cur] = [m.group(2)]
        elif cur is not None and line.strip():
            locs[cur].append(line.split()[0])
    for s in samples:
        s["funcs"] = {f for l in s["locs"] for f in locs.get(l, [])}
        s["leaf"] = locs.get(s["locs"][0], ["?"])[0] if s["locs"] else "?"
    return samples


def main():
    mode, report, prof = sys.argv[1:4]
    sites = {}
    for line in open(report):
        f = line.split()  # site NAME [KIND] BYTES CALLS NS
        if f and f[0] == "site":
            sites[f[1]] = {"kind": f[2] if len(f) == 6 else "", "bytes": int(f[-3]),
                           "calls": int(f[-2]), "ns": int(f[-1])}
    samples = read_profile(prof)
    ok = True

    def fail(msg):
        nonlocal ok
        ok = False
        print("FAIL:", msg)

    for name, s in sites.items():
        mine = [x for x in samples if name in x["funcs"]]
        got = {k: sum(x["v"][k] for x in mine) for k in ("io_calls", "io_bytes", "io_time")}
        kinds = sorted({x["labels"].get("kind", "") for x in mine})
        leaves = sorted({x["leaf"] for x in mine})
        print(f"{name}: program {s['bytes']} B {s['calls']} calls {s['ns'] / 1e6:.2f} ms; "
              f"profile {got['io_bytes']} B {got['io_calls']} calls "
              f"{got['io_time'] / 1e6:.2f} ms kind {','.join(kinds)} leaf {','.join(leaves)}")
        blocking = name == "site_pipe_read"
        if mode == "exact":
            if got["io_bytes"] != s["bytes"]:
                fail(f"{name}: bytes {got['io_bytes']} != {s['bytes']}")
            if got["io_calls"] != s["calls"]:
                fail(f"{name}: calls {got['io_calls']} != {s['calls']}")
            if s["kind"] and kinds != [s["kind"]]:
                fail(f"{name}: kind {kinds} != [{s['kind']}]")
            if got["io_time"] > s["ns"]:
                fail(f"{name}: profile time {got['io_time']} > measured {s['ns']}")
            if name == "site_labelled":
                routes = sorted({x["labels"].get("route", "") for x in mine})
                if routes != ["/upload"]:
                    fail(f"{name}: route labels {routes} != ['/upload']")
                others = [x for x in samples if x["labels"].get("route") and name not in x["funcs"]]
                if others:
                    fail(f"{name}: the route label leaked to {len(others)} other samples")
            if blocking and abs(got["io_time"] - s["ns"]) > 0.10 * s["ns"]:
                fail(f"{name}: time {got['io_time']} not within 10% of {s['ns']}")
        elif mode == "estimate":
            if name == "site_null_write":
                err = (got["io_bytes"] - s["bytes"]) / s["bytes"]
                print(f"  bytes off by {100 * err:+.2f}%")
                if abs(err) > 0.10:
                    fail(f"{name}: bytes {got['io_bytes']} not within 10% of {s['bytes']}")
                if kinds != ["other"]:
                    fail(f"{name}: kind {kinds} != [other]")
            if blocking:
                err = (got["io_time"] - s["ns"]) / s["ns"]
                print(f"  time off by {100 * err:+.2f}%")
                if abs(err) > 0.10:
                    fail(f"{name}: time {got['io_time']} not within 10% of {s['ns']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
