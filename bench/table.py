#!/usr/bin/env python3
"""Side-by-side table of broadcast, idle and handshake results (JSON lines written by loadgen).

table.py RESULTS          broadcast, idle and handshakes, wps vs nchan and bun
table.py RESULTS --mqtt   MQTT broadcast, wps vs mosquitto (bench/run_mqtt.sh)

With REPEAT > 1 (or several runs appended) each run is a row, and the ratios pair the i-th run of
ours with the i-th run of the peer at the same N (they ran back to back)."""
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

def within_slo(run):
    """Steps that met the run's bound (p99 <= slo, >= 99% delivered)."""
    slo = run.get("slo_p99_ms", 100.0)
    return [s for s in run["steps"] if s["p99_ms"] <= slo and s["delivery_ratio"] >= 0.99]

def mqtt(results):
    print("MQTT 3.1.1 broadcast over WebSocket, one topic, QoS 0, MQTT publishers "
          "(best step within the run's p99 bound and >= 99% delivered)")
    print(f"{'server':<9} {'N':>6} {'p99 bound':>9} {'deliv/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'srv CPU':>7} "
          f"{'gen CPU':>7} {'deliv/CPU-s':>11} {'best deliv/CPU-s in bound':>25} {'RSS MB':>7}")
    table = {}
    for target in ("wps", "mosquitto"):
        for run in load(f"{results}/mqtt-{target}.jsonl"):
            n = run["connections"]
            ok = within_slo(run)
            if not ok:
                print(f"{target:<9} {n:>6}  no step met the bound ({len(run['steps'])} steps, stop: {run.get('stop_reason', '-')})")
                table[(target, n)] = None
                continue
            b = max(ok, key=lambda s: s["deliveries_per_s"])
            eff = max(ok, key=lambda s: s["deliveries_per_server_cpu_s"])
            table[(target, n)] = (b, eff, run.get("slo_p99_ms", 100.0))
            print(f"{target:<9} {n:>6} {run.get('slo_p99_ms', 100.0):>7.0f}ms {b['deliveries_per_s']:>9.0f} "
                  f"{b['p50_ms']:>7.2f} {b['p99_ms']:>7.2f} {b['server_cpu']*100:>6.0f}% {b['loadgen_cpu']*100:>6.0f}% "
                  f"{b['deliveries_per_server_cpu_s']:>11.0f} "
                  f"{eff['deliveries_per_server_cpu_s']:>12.0f} (p99 {eff['p99_ms']:>5.1f} ms) {b['server_rss']/1e6:>7.1f}")
    print()
    print("Ratio wps / mosquitto, deliveries per server CPU-s (best step of each within the bound; target >= 2x)")
    for (target, n), row in sorted(table.items()):
        if target != "wps" or ("mosquitto", n) not in table:
            continue
        other = table[("mosquitto", n)]
        if row is None or other is None:
            print(f"  N={n}: no ratio (a server had no step within the bound)")
            continue
        print(f"  N={n}: {row[1]['deliveries_per_server_cpu_s'] / other[1]['deliveries_per_server_cpu_s']:.2f}x "
              f"({row[1]['deliveries_per_server_cpu_s']:.0f} at p99 {row[1]['p99_ms']:.1f} ms vs "
              f"{other[1]['deliveries_per_server_cpu_s']:.0f} at p99 {other[1]['p99_ms']:.1f} ms); "
              f"top deliveries/s within the bound {row[0]['deliveries_per_s'] / other[0]['deliveries_per_s']:.2f}x")

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    results = args[0] if args else "build/bench-results"
    if "--mqtt" in sys.argv[1:]:
        mqtt(results)
    else:
        main(results)
