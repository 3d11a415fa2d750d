"""The serving benchmark's summary: medians over rounds, ratios against the best stock stack."""

from __future__ import annotations

import statistics

from benchmarks.processes import SERVERS

# (rows, connections) -> minimum req/s ratio of ours over the best stock stack
TARGETS = {(1, 1): 3.0, (1, 8): 3.0, (1000, 1): 1.0, (1000, 8): 1.0}


def summarise(runs: dict[str, list[dict]], cases: list[tuple[int, int]]) -> list[dict]:
    table = []
    for rows, connections in cases:
        servers = {}
        for name, server_runs in runs.items():
            mine = [r for r in server_runs if (r["rows"], r["connections"]) == (rows, connections)]
            if not mine:
                continue
            servers[name] = {
                key: round(statistics.median(r[key] for r in mine), 2)
                for key in ("rps", "p50_ms", "p99_ms", "server_cpu_us_per_request",
                            "loadavg_1m", "foreign_cores")
            } | {"errors": sum(r["errors"] for r in mine), "rounds": len(mine)}
        stock = {n: s for n, s in servers.items() if SERVERS[n].kind == "stock"}
        case = {"rows": rows, "connections": connections, "servers": servers}
        if stock:
            best = max(stock, key=lambda n: stock[n]["rps"])
            case["best_stock"] = best
            for result in servers.values():
                result["ratio_rps"] = round(result["rps"] / stock[best]["rps"], 2)
                result["ratio_cpu"] = round(
                    stock[best]["server_cpu_us_per_request"]
                    / max(result["server_cpu_us_per_request"], 1e-9), 2)
            target = TARGETS.get((rows, connections))
            if target is not None:
                case["target_ratio"] = target
                case["pass"] = {n: r["ratio_rps"] >= target for n, r in servers.items()
                                if SERVERS[n].kind in ("ours", "candidate")}
        table.append(case)
    return table


def print_table(table: list[dict]) -> None:
    head = (f"{'case':<20}{'server':<18}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'cpu us/req':>11}"
            f"{'x best stock':>13}{'x (cpu)':>9}{'load':>6}  target")
    print(head)
    print("-" * len(head))
    for case in table:
        label = f"{case['rows']} row{'s' if case['rows'] > 1 else ''}, {case['connections']} conn"
        for name, r in case["servers"].items():
            verdict = ""
            if name in case.get("pass", {}):
                passed = "PASS" if case["pass"][name] else "FAIL"
                verdict = f">= {case['target_ratio']}x {passed}"
            elif name == case.get("best_stock"):
                verdict = "(best stock)"
            print(f"{label:<20}{name:<18}{r['rps']:>9.0f}{r['p50_ms']:>8.2f}{r['p99_ms']:>8.2f}"
                  f"{r['server_cpu_us_per_request']:>11.0f}{r.get('ratio_rps', 0):>12.2f}x"
                  f"{r.get('ratio_cpu', 0):>8.2f}x{r['loadavg_1m']:>6.1f}  {verdict}")
            label = ""


def markdown_table(table: list[dict]) -> str:
    """The README's serving table: one row per case and server, medians over the rounds."""
    lines = ["| case | server | req/s | p50 / p99 ms | server CPU per request | x best stock "
             "(req/s) | x best stock (CPU) |", "|---|---|---|---|---|---|---|"]
    for case in table:
        label = f"{case['rows']:,} row{'s' if case['rows'] > 1 else ''}, {case['connections']} conn"
        for name, r in case["servers"].items():
            best = " (best stock)" if name == case.get("best_stock") else ""
            lines.append(
                f"| {label} | {name}{best} | {r['rps']:,.0f} | {r['p50_ms']:.2f} / "
                f"{r['p99_ms']:.2f} | {r['server_cpu_us_per_request']:,.0f} us | "
                f"{r.get('ratio_rps', 0):.2f}x | {r.get('ratio_cpu', 0):.2f}x |"
            )
            label = ""
    return "\n".join(lines)
