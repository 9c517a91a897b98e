#!/usr/bin/env python3
"""Side-by-side table of broadcast, idle and handshake results (JSON lines written by loadgen).

Peers: nchan and bun. With REPEAT > 1 (or several runs appended) each run is a row, and the ratios
pair the i-th run of ours with the i-th run of the peer at the same N (they ran back to back)."""
import json, sys, os

TARGETS = ("wps", "bun", "nchan")

def load(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.startswith("{")]

def best(run, slo_ms=100.0):
    """The highest delivery rate among steps that met the SLO (p99 <= slo, >= 99% delivered), and
    the most deliveries per server CPU-second among those steps (None, 0 if no step met it)."""
    ok = [s for s in run["steps"] if s["p99_ms"] <= slo_ms and s["delivery_ratio"] >= 0.99]
    eff = max((s["deliveries_per_server_cpu_s"] for s in ok), default=0)
    return (max(ok, key=lambda s: s["deliveries_per_s"]) if ok else None), eff

def main(results):
    print("Broadcast, one group (best step with p99 <= the run's bound and >= 99% delivered;"
          " eff@SLO = most deliveries per server CPU-s among the steps within the bound)")
    print(f"{'server':<6} {'N':>6} {'deliv/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'srv CPU':>7} {'gen CPU':>7} "
          f"{'deliv/CPU-s':>11} {'eff@SLO':>9} {'RSS MB':>7}  load average")
    runs = {}
    for target in TARGETS:
        for run in load(f"{results}/broadcast-{target}.jsonl"):
            n = run["connections_requested"]
            b, eff = best(run, run.get("slo_p99_ms", 100.0))
            runs.setdefault((target, n), []).append((b, eff))
            la = run.get("loadavg", "")
            if b is None:
                print(f"{target:<6} {n:>6}  no step met the SLO  {la}")
                continue
            print(f"{target:<6} {n:>6} {b['deliveries_per_s']:>9.0f} {b['p50_ms']:>7.2f} {b['p99_ms']:>7.2f} "
                  f"{b['server_cpu']*100:>6.0f}% {b['loadgen_cpu']*100:>6.0f}% {b['deliveries_per_server_cpu_s']:>11.0f} "
                  f"{eff:>9.0f} {b['server_rss']/1e6:>7.1f}  {b.get('loadavg', la)}")
    for peer in TARGETS[1:]:
        lines = []
        for (target, n), ours in sorted(runs.items()):
            if target != "wps" or (peer, n) not in runs:
                continue
            for i, ((b, eff), (pb, peff)) in enumerate(zip(ours, runs[(peer, n)])):
                if b and pb:
                    lines.append(f"  N={n} run {i + 1}: highest rate within the bound {b['deliveries_per_s']/pb['deliveries_per_s']:.2f}x, "
                                 f"deliveries per server CPU-s within the bound {eff/peff:.2f}x, "
                                 f"p99 at the best step {b['p99_ms']:.1f} vs {pb['p99_ms']:.1f} ms")
        if lines:
            print(f"\nRatios wps / {peer}")
            print("\n".join(lines))
    print()
    print("Idle connections (server RSS growth and kernel TCP memory per connection; kernel figure covers both loopback ends)")
    print(f"{'server':<6} {'N':>6} {'open':>6} {'RSS B/conn':>10} {'kernel B/conn':>13} {'handshakes/s':>12}  load average")
    idle = {}
    for target in TARGETS:
        for run in load(f"{results}/idle-{target}.jsonl"):
            i = run.get("idle", {})
            idle[(target, run["connections_requested"])] = i
            print(f"{target:<6} {run['connections_requested']:>6} {i.get('open', 0):>6} {i.get('server_rss_per_conn', 0):>10.0f} "
                  f"{i.get('tcp_mem_per_conn', 0):>13.0f} {run['handshakes_per_s']:>12.0f}  {run.get('loadavg', '')}")
    for (target, n), i in sorted(idle.items()):
        for peer in TARGETS[1:]:
            if target == "wps" and (peer, n) in idle and idle[(peer, n)].get("server_rss_per_conn"):
                print(f"  N={n}: RSS per connection wps/{peer} {i['server_rss_per_conn']/idle[(peer, n)]['server_rss_per_conn']:.2f}x")
    hs = [("wps", r) for r in load(f"{results}/handshake.jsonl")] + [("bun", r) for r in load(f"{results}/handshake-bun.jsonl")]
    if hs:
        print()
        print("Handshakes (connect phase)")
        print(f"{'server':<6} {'N':>6} {'handshakes/s':>12} {'srv CPU':>7} {'per CPU-s':>9}  label / load average")
        for target, r in hs:
            print(f"{target:<6} {r['connections_requested']:>6} {r['handshakes_per_s']:>12.0f} {r['connect_server_cpu']*100:>6.0f}% "
                  f"{r['handshakes_per_server_cpu_s']:>9.0f}  {r['label']} / {r.get('loadavg', '')}")

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "build/bench-results")
