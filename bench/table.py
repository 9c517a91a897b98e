#!/usr/bin/env python3
"""Side-by-side table of broadcast and idle results (JSON lines written by loadgen)."""
import json, sys, os

def load(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.startswith("{")]

def best(run, slo_ms=100.0):
    """Highest delivery rate among steps that met the SLO (p99 <= slo, >= 99% delivered)."""
    ok = [s for s in run["steps"] if s["p99_ms"] <= slo_ms and s["delivery_ratio"] >= 0.99]
    peak_eff = max((s["deliveries_per_server_cpu_s"] for s in run["steps"]), default=0)
    return (max(ok, key=lambda s: s["deliveries_per_s"]) if ok else None), peak_eff

def main(results):
    rows = []
    print("Broadcast, one group, 256-byte payloads (best step with p99 <= the run's bound, 100 ms; 1 s from N=10,000; and >= 99% delivered)")
    hdr = f"{'server':<7} {'N':>6} {'deliv/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'srv CPU':>7} {'gen CPU':>7} {'deliv/CPU-s':>11} {'peak/CPU-s':>10} {'RSS MB':>7}"
    print(hdr)
    table = {}
    for target in ("wps", "nchan"):
        for run in load(f"{results}/broadcast-{target}.jsonl"):
            n = run["connections"]
            b, peak = best(run, run.get("slo_p99_ms", 100.0))
            table[(target, n)] = (b, peak)
            if b is None:
                print(f"{target:<7} {n:>6}  no step met the SLO")
                continue
            print(f"{target:<7} {n:>6} {b['deliveries_per_s']:>9.0f} {b['p50_ms']:>7.2f} {b['p99_ms']:>7.2f} "
                  f"{b['server_cpu']*100:>6.0f}% {b['loadgen_cpu']*100:>6.0f}% {b['deliveries_per_server_cpu_s']:>11.0f} "
                  f"{peak:>10.0f} {b['server_rss']/1e6:>7.1f}")
    print()
    print("Ratios wps / nchan")
    for (target, n), (b, peak) in sorted(table.items()):
        if target != "wps" or ("nchan", n) not in table:
            continue
        nb, npeak = table[("nchan", n)]
        if b and nb:
            print(f"  N={n}: deliveries/s {b['deliveries_per_s']/nb['deliveries_per_s']:.2f}x, "
                  f"peak deliveries per server CPU-s {peak/npeak:.2f}x, p99 at best step {b['p99_ms']:.1f} vs {nb['p99_ms']:.1f} ms")
    print()
    print("Idle connections (server RSS growth and kernel TCP memory per connection; kernel figure covers both loopback ends)")
    print(f"{'server':<7} {'N':>6} {'open':>6} {'RSS B/conn':>10} {'kernel B/conn':>13} {'handshakes/s':>12}")
    idle = {}
    for target in ("wps", "nchan"):
        for run in load(f"{results}/idle-{target}.jsonl"):
            i = run.get("idle", {})
            idle[(target, run["connections_requested"])] = i
            print(f"{target:<7} {run['connections_requested']:>6} {i.get('open', 0):>6} {i.get('server_rss_per_conn', 0):>10.0f} "
                  f"{i.get('tcp_mem_per_conn', 0):>13.0f} {run['handshakes_per_s']:>12.0f}")
    for (target, n), i in sorted(idle.items()):
        if target == "wps" and ("nchan", n) in idle and idle[("nchan", n)].get("server_rss_per_conn"):
            print(f"  N={n}: RSS per connection wps/nchan {i['server_rss_per_conn']/idle[('nchan', n)]['server_rss_per_conn']:.2f}x")

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bench-results")
