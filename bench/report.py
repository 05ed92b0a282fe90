"""Turns the suite's results JSON into ``docs/performance.md``.

Everything in the document comes from the results file, except the "Notes" section, which is
``bench/notes.md`` included verbatim. ``python bench/suite.py --report-only`` rewrites the
document from an existing results file.
"""

from __future__ import annotations

import datetime
import math
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

HUBBUBS = ["hubbub-json", "hubbub-plain"]
PEERS = ["seed", "node-ws", "websockets", "socketio"]
SCALE_OUT = ["hubbub-pg", "hubbub-pg-2nodes"]
ORDER = HUBBUBS + PEERS + SCALE_OUT
DAGGER = "†"
DDAGGER = "‡"
TIMES = "\u00d7"  # multiplication sign
DASH = "\u2013"  # en dash, for ranges
BOUND_NOTE = "generator-bound: the rate is a lower bound; compare server CPU per delivery"

TARGET_ABOUT = {
    "hubbub-json": "hubbub, JSON protocol `hubbub.v1`: token at the handshake, then `sync`",
    "hubbub-plain": "hubbub, the seed's plain-text protocol: every guest in room `lobby`",
    "seed": "the seed's Node stack, `nodejs-websocket` (Nagle's algorithm left on)",
    "node-ws": "Node with `ws` (no permessage-deflate)",
    "websockets": "Python `websockets` with `broadcast()` on uvloop",
    "socketio": "python-socketio on aiohttp (uvloop), room emit",
    "hubbub-pg": "hubbub (`hubbub.v1`) on PostgreSQL: `--database postgresql://…`, a fresh "
    "database per run",
    "hubbub-pg-2nodes": "two `hubbub serve` nodes on one fresh PostgreSQL database and one Redis "
    "channel (`--broker redis://…?channel=…`), each with its own data dir",
}

Fmt = Callable[[float], str]


# --- numbers ------------------------------------------------------------------------------------


def rate(v: float) -> str:
    if v >= 1_000_000:
        return f"{v / 1e6:.2f} M"
    if v >= 100_000:
        return f"{v / 1000:.0f} k"
    if v >= 1000:
        return f"{v / 1000:.1f} k"
    return f"{v:.0f}"


def ms(v: float) -> str:
    if v < 1:
        return f"{v:.3f}"
    if v < 10:
        return f"{v:.2f}"
    if v < 100:
        return f"{v:.1f}"
    return f"{v:.0f}"


def us(v: float) -> str:
    if v < 10:
        return f"{v:.2f}"
    if v < 100:
        return f"{v:.1f}"
    return f"{v:.0f}"


def share(v: float) -> str:
    return f"{v * 100:.0f} %"


def fine_share(v: float) -> str:
    """A share of a core that may be a few per cent: one decimal."""
    return f"{v * 100:.1f} %"


def kib(v: float) -> str:
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def mib_from_kib(v: float) -> str:
    return f"{v / 1024:.0f}"


def count(v: float) -> str:
    return f"{v:.0f}"


def ratio(v: float) -> str:
    if v >= 100:
        return f"{v:.0f}{TIMES}"
    if v < 0.1:
        return f"{v:.3f}{TIMES}"
    return f"{v:.2f}{TIMES}"


# --- cells ----------------------------------------------------------------------------------------


class Results:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.cases: dict[tuple[str, str, str], dict[str, Any]] = {
            (c["scenario"], c["variant"], c["target"]): c for c in data["cases"]
        }

    def case(self, scenario: str, variant: str, target: str) -> dict[str, Any] | None:
        return self.cases.get((scenario, variant, target))

    def variants(self, scenario: str) -> list[str]:
        seen: dict[str, None] = {}
        for c in self.data["cases"]:
            if c["scenario"] == scenario:
                seen[c["variant"]] = None
        return list(seen)

    def targets(self, scenario: str, variant: str) -> list[str]:
        present = {t for (s, v, t) in self.cases if s == scenario and v == variant}
        return [t for t in ORDER if t in present]


def stat(case: dict[str, Any] | None, metric: str) -> dict[str, Any] | None:
    if case is None or "summary" not in case:
        return None
    found: dict[str, Any] | None = case["summary"]["metrics"].get(metric)
    return found


def median(case: dict[str, Any] | None, metric: str) -> float | None:
    s = stat(case, metric)
    return None if s is None else float(s["median"])


def why_missing(case: dict[str, Any] | None) -> str | None:
    """What a cell says when its case has no value at all, or None if it has runs."""
    if case is None:
        return "—"
    summary = case.get("summary")
    if summary is None:
        return "not run"
    if summary["ok"] == 0:
        return f"failed ({summary['failed']}/{summary['runs']})"
    return None


def cell(case: dict[str, Any] | None, metric: str, fmt: Fmt, mark_bound: bool = False) -> str:
    """``median (min-max)``, with † when a run was generator-bound; why a value is missing."""
    missing = why_missing(case)
    if missing is not None or case is None:
        return missing or "—"
    summary = case["summary"]
    s = summary["metrics"].get(metric)
    if s is None:
        return "—"
    text = fmt(s["median"])
    if s["n"] > 1 and fmt(s["min"]) != fmt(s["max"]):
        text += f" ({fmt(s['min'])}{DASH}{fmt(s['max'])})"
    if mark_bound and summary["generator_bound_runs"]:
        text += f" {DAGGER}"
    if summary["failed"]:
        text += f" [{summary['ok']} of {summary['runs']} runs]"
    return text


def divide(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "—"
    return ratio(a / b)


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# --- sections ------------------------------------------------------------------------------------


Column = tuple[str, str, Fmt, bool]  # header, metric, format, mark generator-bound


def comparison(
    results: Results,
    scenario: str,
    variant: str,
    columns: list[Column],
    headline: str,
    ratios: list[tuple[str, str]],
) -> list[str]:
    """One row per target, then "hubbub ÷ peer" for the ``ratios`` metrics."""
    targets = results.targets(scenario, variant)
    seed = results.case(scenario, variant, "seed")
    header = ["target"] + [c[0] for c in columns[:1]]
    if seed is not None:
        header.append("÷ seed")
    header += [c[0] for c in columns[1:]]
    rows = []
    for target in targets:
        case = results.case(scenario, variant, target)
        cells = [cell(case, metric, fmt, bound) for _, metric, fmt, bound in columns]
        row = [f"`{target}`", cells[0]]
        if seed is not None:
            row.append(divide(median(case, headline), median(seed, headline)))
        rows.append(row + cells[1:])
    lines = table(header, rows)
    hubbubs = [h for h in HUBBUBS if h in targets]
    peers = [p for p in PEERS if p in targets]
    if hubbubs and peers and ratios:
        lines += ["", "hubbub ÷ each peer (medians):", ""]
        head = ["peer"] + [f"`{h}` {label}" for h in hubbubs for _, label in ratios]
        body = []
        for peer in peers:
            peer_case = results.case(scenario, variant, peer)
            row = [f"`{peer}`"]
            for h in hubbubs:
                mine = results.case(scenario, variant, h)
                for metric, _ in ratios:
                    row.append(divide(median(mine, metric), median(peer_case, metric)))
            body.append(row)
        lines += table(head, body)
    return lines


def footnotes(results: Results, scenario: str) -> list[str]:
    """The generator-bound mark and every failed run of a scenario."""
    lines = []
    bound = []
    failed = []
    for c in results.data["cases"]:
        if c["scenario"] != scenario:
            continue
        summary = c.get("summary") or {}
        if summary.get("generator_bound_runs"):
            bound.append(
                f"`{c['target']}` {c['variant']} ({summary['generator_bound_runs']} of "
                f"{summary['ok']} runs)"
            )
        for run in c["runs"]:
            if not run.get("ok"):
                failed.append(
                    f"- `{c['target']}` {c['variant']}, run {run['run']}: {run.get('error')}"
                )
    if bound:
        limit = results.data.get("generator_bound_share", 0.9)
        lines += [
            "",
            f"{DAGGER} The generator was ≥ {limit * 100:.0f} % busy ({BOUND_NOTE}): "
            + ", ".join(bound)
            + ".",
        ]
    if failed:
        lines += ["", "Failed runs:", "", *failed]
    return lines


def variant_title(variant: str) -> str:
    """``n=1000,rate=20000`` as "N = 1 000, msgs/s = 20 000"; a part without ``=`` (what
    the history room holds beside messages) is shown as it is."""
    names = {
        "n": "N",
        "pairs": "pairs",
        "senders": "senders",
        "rate": "msgs/s",
        "events": "events",
        "clients": "clients",
        "messages": "messages",
        "users": "users",
        "rooms": "rooms",
        "uploads": "uploads",
        "mib": "MiB each",
    }
    shown = []
    for part in variant.split(","):
        key, _, value = part.partition("=")
        if value:
            shown.append(f"{names.get(key, key)} = " + f"{int(value):,}".replace(",", " "))
        else:
            shown.append(f"with {key}")
    return ", ".join(shown)


def loadgen_args(results: Results, scenario: str, variant: str) -> str:
    for c in results.data["cases"]:
        if c["scenario"] == scenario and c["variant"] == variant:
            args = [a for a in c["loadgen"]]
            if "--users" in args:
                i = args.index("--users")
                del args[i : i + 2]
            return "`loadgen.py TARGET " + " ".join(args) + "`"
    return ""


def fanout_section(results: Results) -> list[str]:
    lines = [
        "## Fan-out at full speed",
        "",
        "One sender as fast as the generator's window allows (at most 64 messages not yet "
        "delivered to every receiver), N receivers in one room, 100-byte messages; 1 s warm-up, "
        "then the rate of deliveries (messages "
        + TIMES
        + " receivers). Server CPU per delivery is the "
        "server's user + system CPU over the measured window divided by the deliveries; the "
        "generator's own CPU is beside it. CPU shares are of one core (a server with helper "
        "threads can pass 100 %).",
    ]
    columns: list[Column] = [
        ("deliveries/s", "deliveries_per_s", rate, True),
        ("server CPU µs/delivery", "server_cpu_us_per_delivery", us, False),
        ("server CPU", "server_cpu_share", share, False),
        ("generator CPU", "loadgen_cpu_share", share, False),
        ("generator µs/delivery", "loadgen_cpu_us_per_delivery", us, False),
    ]
    ratios = [("deliveries_per_s", "deliveries/s"), ("server_cpu_us_per_delivery", "CPU/delivery")]
    for variant in results.variants("fanout"):
        lines += ["", f"### {variant_title(variant)}", "", loadgen_args(results, "fanout", variant)]
        lines += ["", *comparison(results, "fanout", variant, columns, "deliveries_per_s", ratios)]
    return lines + footnotes(results, "fanout")


def latency_section(results: Results) -> list[str]:
    lines = [
        "## Fan-out latency at 20 000 deliveries/s",
        "",
        "The sender paces messages so that messages "
        + TIMES
        + " receivers = 20 000 deliveries/s; every "
        "receiver takes the send time out of the payload, so latency is end to end (sender's "
        'write to receiver\'s read). "received" is the share of expected deliveries that '
        "arrived; at a fixed rate the server's CPU share is its cost.",
    ]
    columns: list[Column] = [
        ("p99 ms", "p99_ms", ms, False),
        ("p50 ms", "p50_ms", ms, False),
        ("max ms", "max_ms", ms, False),
        ("deliveries/s", "deliveries_per_s", rate, False),
        ("received", "received_share", share, False),
        ("server CPU", "server_cpu_share", share, False),
        ("generator CPU", "loadgen_cpu_share", share, True),
    ]
    ratios = [("p99_ms", "p99"), ("server_cpu_share", "server CPU")]
    for variant in results.variants("latency"):
        lines += [
            "",
            f"### {variant_title(variant)}",
            "",
            loadgen_args(results, "latency", variant),
        ]
        lines += ["", *comparison(results, "latency", variant, columns, "p99_ms", ratios)]
    return lines + footnotes(results, "latency")


def reqresp_section(results: Results) -> list[str]:
    lines = [
        "## Request/response",
        "",
        "Pairs of connections, each pair alone in a two-member room: A sends, B answers, A "
        "measures the round trip; each pair has one message in flight. 1 s warm-up. "
        "`hubbub-plain` runs only with 1 pair: every guest of the plain protocol is in `lobby`, "
        "so pairs cannot be kept apart.",
    ]
    columns: list[Column] = [
        ("p50 ms", "p50_ms", ms, False),
        ("p99 ms", "p99_ms", ms, False),
        ("round trips/s", "round_trips_per_s", rate, True),
        ("server CPU", "server_cpu_share", share, False),
        ("generator CPU", "loadgen_cpu_share", share, False),
    ]
    ratios = [("p50_ms", "p50"), ("round_trips_per_s", "round trips/s")]
    for variant in results.variants("reqresp"):
        lines += [
            "",
            f"### {variant_title(variant)}",
            "",
            loadgen_args(results, "reqresp", variant),
        ]
        lines += ["", *comparison(results, "reqresp", variant, columns, "p50_ms", ratios)]
    return lines + footnotes(results, "reqresp")


def idle_section(results: Results) -> list[str]:
    lines = [
        "## Idle connections",
        "",
        "Server memory (RSS) before and 2 s after opening the connections, divided by their "
        "number. `hubbub-json` connections are authenticated (100 accounts, each connection "
        "with one account's token) and follow a room (`sync`); `hubbub-plain` connections are "
        "named guests in `lobby`; the peers' connections are in one room. Connections come "
        "from 8 loopback source addresses.",
    ]
    columns: list[Column] = [
        ("KiB/connection", "kib_per_connection", kib, False),
        ("connections open", "connections", count, False),
        ("RSS before MiB", "rss_before_kib", mib_from_kib, False),
        ("RSS after MiB", "rss_after_kib", mib_from_kib, False),
    ]
    ratios = [("kib_per_connection", "KiB/connection")]
    for variant in results.variants("idle"):
        lines += ["", f"### {variant_title(variant)}", "", loadgen_args(results, "idle", variant)]
        lines += ["", *comparison(results, "idle", variant, columns, "kib_per_connection", ratios)]
    return lines + footnotes(results, "idle")


def hubbub_only_table(
    results: Results, scenario: str, columns: list[Column], first: str
) -> list[str]:
    """One row per variant and hubbub target; a target column where more than one ran."""
    variants = results.variants(scenario)
    targets = [t for t in ORDER if any(results.case(scenario, v, t) for v in variants)]
    shown = len(targets) > 1
    rows = []
    for variant in variants:
        for target in targets:
            case = results.case(scenario, variant, target)
            if case is None:
                continue
            row = [variant_title(variant), *([f"`{target}`"] if shown else [])]
            row.append(loadgen_args(results, scenario, variant))
            row += [cell(case, metric, fmt, bound) for _, metric, fmt, bound in columns]
            rows.append(row)
    header = [first, *(["target"] if shown else []), "loadgen"] + [c[0] for c in columns]
    return table(header, rows)


def storage_ratios(results: Results, scenario: str, metrics: list[tuple[str, str]]) -> list[str]:
    """PostgreSQL ÷ SQLite per variant, for the ``metrics`` (name, label), from medians."""
    lines = []
    for variant in results.variants(scenario):
        sqlite = results.case(scenario, variant, "hubbub-json")
        pg = results.case(scenario, variant, "hubbub-pg")
        if sqlite is None or pg is None:
            continue
        parts = [
            f"{label} {divide(median(pg, metric), median(sqlite, metric))}"
            for metric, label in metrics
        ]
        lines.append(f"- {variant_title(variant)}: " + ", ".join(parts))
    if lines:
        lines = ["", "`hubbub-pg` ÷ `hubbub-json` (PostgreSQL ÷ SQLite, medians):", "", *lines]
    return lines


def durable_section(results: Results) -> list[str]:
    lines = [
        "## Durable sends (`hubbub-json`, `hubbub-pg`)",
        "",
        "Senders on their own connections (members of the room, not following it) send "
        "messages with an `id` and time the `sent` acknowledgement, which comes after the "
        "message is committed: to SQLite (WAL, `synchronous=FULL`, group commit) for "
        "`hubbub-json`, to PostgreSQL (`synchronous_commit=on`, one group-committing writer "
        "connection) for `hubbub-pg`. Either each sender waits for its ack before the next "
        "send, or all together keep a fixed total rate. "
        '1 s warm-up; "errors" counts error replies (not acks). Server CPU is the node\'s '
        "alone: PostgreSQL's own processes are not in it.",
        "",
    ]
    columns: list[Column] = [
        ("acked msgs/s", "acked_per_s", rate, True),
        ("p50 ms", "p50_ms", ms, False),
        ("p99 ms", "p99_ms", ms, False),
        ("max ms", "max_ms", ms, False),
        ("errors", "errors", count, False),
        ("server CPU", "server_cpu_share", share, False),
        ("generator CPU", "loadgen_cpu_share", share, False),
    ]
    lines += hubbub_only_table(results, "durable", columns, "case")
    ratios = [("acked_per_s", "acked msgs/s"), ("p99_ms", "p99")]
    lines += storage_ratios(results, "durable", ratios)
    return lines + footnotes(results, "durable")


def history_section(results: Results) -> list[str]:
    lines = [
        "## History (`hubbub-json`, `hubbub-pg`)",
        "",
        "A public room `big` holding 1 000 000 events, inserted directly into SQLite before "
        "the server starts, row for row as the server writes them (for `hubbub-pg`, that "
        "database copied once into PostgreSQL with `hubbub migrate-to`, and each run on a "
        "copy of that, `createdb -T`); one client asks for pages "
        "of 50 events before a random seq, one request at a time, and times each answer. In "
        "the first case every event is a message (100-byte body). *With reactions*: every 3rd "
        "message has 1" + DASH + "3 reactions (their `reaction_added` events right after it, "
        "and rows in `reactions`), so about 60 % of the events are messages and a page counts "
        "the reactions of its messages for the reader. *With replies*: every 10th message "
        "answers the message 3 before it, whose row counts its replies; a page also reads the "
        "parents its replies quote.",
        "",
    ]
    columns: list[Column] = [
        ("p50 ms", "p50_ms", ms, False),
        ("p99 ms", "p99_ms", ms, False),
        ("pages", "pages", count, False),
        ("generator CPU", "loadgen_cpu_share", share, False),
    ]
    lines += hubbub_only_table(results, "history", columns, "case")
    variants = results.variants("history")
    plain = [v for v in variants if "," not in v]
    if plain:
        base = results.case("history", plain[0], "hubbub-json")
        for variant in variants:
            if "," in variant:
                case = results.case("history", variant, "hubbub-json")
                lines += [
                    "",
                    f"{variant_title(variant)} ÷ messages only (medians): p50 "
                    f"{divide(median(case, 'p50_ms'), median(base, 'p50_ms'))}, p99 "
                    f"{divide(median(case, 'p99_ms'), median(base, 'p99_ms'))}.",
                ]
    lines += storage_ratios(results, "history", [("p50_ms", "p50"), ("p99_ms", "p99")])
    return lines + footnotes(results, "history")


def cluster_fanout_section(results: Results) -> list[str]:
    lines = [
        "## Fan-out across nodes",
        "",
        "One room of N receivers; one sender on the first node sends a fixed number of "
        "messages per second, and every receiver takes the send time out of the payload. "
        "With two nodes the receivers are split evenly: those on the sender's node (*same "
        "node*) get each event from that node's hub, those on the other (*cross node*) from "
        "the other node after a trip through Redis; both halves hear the same messages in the "
        "same run, so their ratio is the cost of the hop. With one node every receiver is on "
        "it. 1 s warm-up, 1 s for the last messages to arrive. Server CPU per delivery and per "
        "message is the nodes' CPU summed, and each node's per message is what a payload costs "
        "that node (node 0 stores it and publishes it, node 1 takes it from Redis); the "
        "database's and Redis's CPU are beside it, as shares of a core (Redis's counts every "
        "user of that server). With 2 receivers and many messages, what a message costs a node "
        "apart from its fan-out can be read.",
    ]
    latency: list[Column] = [
        ("same-node p50 ms", "same_p50_ms", ms, False),
        ("same-node p99 ms", "same_p99_ms", ms, False),
        ("cross-node p50 ms", "cross_p50_ms", ms, False),
        ("cross-node p99 ms", "cross_p99_ms", ms, False),
        ("received", "received_share", share, False),
        ("deliveries/s", "deliveries_per_s", rate, False),
    ]
    cost: list[Column] = [
        ("server CPU µs/delivery", "server_cpu_us_per_delivery", us, False),
        ("server CPU µs/message", "server_cpu_us_per_message", us, False),
        ("node 0 µs/message", "node0_cpu_us_per_message", us, False),
        ("node 1 µs/message", "node1_cpu_us_per_message", us, False),
        ("server CPU", "server_cpu_share", share, False),
        ("PostgreSQL CPU", "database_cpu_share", share, False),
        ("Redis CPU", "redis_cpu_share", share, False),
    ]
    for variant in results.variants("cluster-fanout"):
        title = variant_title(variant).replace("N =", "receivers =")
        lines += ["", f"### {title}", "", loadgen_args(results, "cluster-fanout", variant)]
        for columns in (latency, cost):
            rows = []
            for target in results.targets("cluster-fanout", variant):
                case = results.case("cluster-fanout", variant, target)
                rows.append([f"`{target}`"] + [cell(case, m, f, b) for _, m, f, b in columns])
            lines += ["", *table(["target"] + [c[0] for c in columns], rows)]
        two = results.case("cluster-fanout", variant, "hubbub-pg-2nodes")
        one = results.case("cluster-fanout", variant, "hubbub-pg")
        sqlite = results.case("cluster-fanout", variant, "hubbub-json")
        metric = "server_cpu_us_per_delivery"
        if two is not None:
            lines += [
                "",
                "Cross node ÷ same node, median of the runs' ratios: p50 "
                + cell(two, "cross_over_same_p50", ratio)
                + ", p99 "
                + cell(two, "cross_over_same_p99", ratio)
                + ". Server CPU per delivery, two nodes ÷ one node on PostgreSQL: "
                + divide(median(two, metric), median(one, metric))
                + "; ÷ one node on SQLite: "
                + divide(median(two, metric), median(sqlite, metric))
                + ".",
            ]
    return lines + footnotes(results, "cluster-fanout")


def cluster_writes_section(results: Results) -> list[str]:
    lines = [
        "## Writes across nodes",
        "",
        "Senders on their own connections and accounts, split evenly over the nodes and over "
        "the rooms (sender i on node i mod nodes, in room i mod rooms), each waiting for its "
        "`sent` ack before the next send. With one room every write of every node takes that "
        "room's row lock in PostgreSQL (its seq comes from it), so writes serialize there; "
        "with ten they can overlap. PostgreSQL transactions per second are counted over the "
        "whole load (`pg_stat_database.xact_commit`, which also counts the nodes' few reads), "
        "and acks per transaction is the writers' batch size. Server CPU per ack is the nodes' "
        "CPU summed; PostgreSQL CPU per ack is its backends' for this database.",
    ]
    columns: list[Column] = [
        ("acked msgs/s", "acked_per_s", rate, False),
        ("p50 ms", "p50_ms", ms, False),
        ("p99 ms", "p99_ms", ms, False),
        ("errors", "errors", count, False),
        ("PostgreSQL tx/s", "db_commits_per_s", rate, False),
        ("acks per tx", "acks_per_commit", us, False),
        ("server CPU µs/ack", "server_cpu_us_per_ack", us, False),
        ("PostgreSQL CPU µs/ack", "database_cpu_us_per_ack", us, False),
        ("server CPU", "server_cpu_share", share, False),
        ("PostgreSQL CPU", "database_cpu_share", share, False),
    ]
    for variant in results.variants("cluster-writes"):
        lines += ["", f"### {variant_title(variant)}", ""]
        lines += [loadgen_args(results, "cluster-writes", variant), ""]
        rows = []
        for target in results.targets("cluster-writes", variant):
            case = results.case("cluster-writes", variant, target)
            rows.append([f"`{target}`"] + [cell(case, m, f, b) for _, m, f, b in columns])
        lines += table(["target"] + [c[0] for c in columns], rows)
        two = results.case("cluster-writes", variant, "hubbub-pg-2nodes")
        one = results.case("cluster-writes", variant, "hubbub-pg")
        if two is not None and one is not None:
            lines += [
                "",
                "Two nodes ÷ one node (medians): acked msgs/s "
                + divide(median(two, "acked_per_s"), median(one, "acked_per_s"))
                + ", PostgreSQL tx/s "
                + divide(median(two, "db_commits_per_s"), median(one, "db_commits_per_s"))
                + ", p99 "
                + divide(median(two, "p99_ms"), median(one, "p99_ms"))
                + ". Two nodes' acks by node: node 0 "
                + cell(two, "node0_acked_per_s", rate)
                + ", node 1 "
                + cell(two, "node1_acked_per_s", rate)
                + " msgs/s.",
            ]
    return lines + footnotes(results, "cluster-writes")


MIX_KINDS = [("send", "70 %"), ("react", "15 %"), ("edit", "10 %"), ("delete", "5 %")]


def mixed_section(results: Results) -> list[str]:
    lines = [
        "## Mixed conversation workload (`hubbub-json`)",
        "",
        "Clients signed in as accounts of their own, spread over a few rooms (members, not "
        "following them), each operation awaiting its reply: sends (`sent`, after the commit), "
        "reactions toggled on one of the room's 200 newest messages, edits of one of the "
        "client's own newest messages and deletes of one of its own (`current`). Each run "
        "alternates short phases on the same connections: plain sends only, the mix, plain, "
        "the mix, five of each (0.5 s warm-up each, not measured; `--duration` is the measured "
        "time of each workload in all); the rows give each workload's replies per second and "
        "their latency from request to reply, the mix also per kind. The ratios are taken "
        "within each run, so other load on the machine touches both sides alike. Saturated: "
        "each client keeps one operation in flight. At a fixed rate: the clients together offer "
        "that many operations per second, each at its own evenly spaced times; p99 is what "
        'counts. "errors" counts error replies; server CPU is per acknowledged operation.',
    ]
    columns: list[tuple[str, str, Fmt]] = [
        ("ops/s", "ops_per_s", rate),
        ("p50 ms", "p50_ms", ms),
        ("p99 ms", "p99_ms", ms),
        ("max ms", "max_ms", ms),
        ("errors", "errors", count),
    ]
    for variant in results.variants("mixed"):
        case = results.case("mixed", variant, "hubbub-json")
        rows = []
        for label, prefix in [
            ("plain sends", "plain"),
            ("mix, all", "mixed"),
            *((f"mix: `{k}` ({p})", f"mixed_{k}") for k, p in MIX_KINDS),
        ]:
            row = [label] + [cell(case, f"{prefix}_{m}", f) for _, m, f in columns]
            cpu = f"{prefix}_server_cpu_us_per_op"
            row.append(cell(case, cpu, us) if prefix in ("plain", "mixed") else "")
            rows.append(row)
        header = ["operations"] + [c[0] for c in columns] + ["server CPU µs/op"]
        regime = "saturated" if "rate=" not in variant else "fixed rate"
        title = variant_title(variant).replace("msgs/s", "ops/s")
        lines += ["", f"### {title} ({regime})", "", loadgen_args(results, "mixed", variant)]
        lines += ["", *table(header, rows), ""]
        lines.append(
            "mix ÷ plain, median of the runs' ratios: ops/s "
            + cell(case, "ops_ratio", ratio)
            + ", p50 "
            + cell(case, "p50_ratio", ratio)
            + ", p99 "
            + cell(case, "p99_ratio", ratio)
            + ", server CPU per op "
            + cell(case, "cpu_per_op_ratio", ratio)
            + "."
        )
    return lines + footnotes(results, "mixed")


def script_args(results: Results, scenario: str, variant: str) -> str:
    """The command of a scenario measured by a script of its own (``suite.SCRIPTS``)."""
    return loadgen_args(results, scenario, variant).replace("loadgen.py", f"{scenario}.py")


SEARCH_KINDS = [
    ("latin_common", "English words, common (`meeting`, `deploy`, `tomorrow`, `release`)"),
    ("latin_partial", "pieces of English words (`ploym`, `orrow`, `eleas`, `atab`)"),
    ("latin_rare", "English words, rare (`kubernetes`, `zanzibar`, `flamingo`, `quartz`)"),
    ("cjk_common", "Chinese, common (`服务器`, `数据库`, `会议室`, `明天的`)"),
    ("cjk_partial", "pieces of Chinese words (`据库迁`, `器重启`, `议室预`)"),
    ("cjk_rare", "Chinese, rare (`长颈鹿`, `冰淇淋`, `大熊猫`, `火烈鸟`)"),
    ("no_match", "found nowhere (`qxzvjk`, `锟斤拷烫`)"),
]


def search_section(results: Results) -> list[str]:
    lines = [
        "## Search (`hubbub-json`, `hubbub-pg`)",
        "",
        "200 public rooms holding 1 000 000 messages over a year (room r gets a share of "
        "1/(r+1)^0.7 of them; 15 authors each): 70 % English-like text, 25 % Chinese, 5 % "
        "both; 55 % short (2" + DASH + "8 words), 35 % medium (8" + DASH + "25), 10 % long "
        "(25" + DASH + "120); words drawn by Zipf's law from everyday chat words followed by "
        "thousands of made-up ones, with a few real rare words deep in the tail. The searching "
        "user is a member of 50 of the rooms. Every message was written through "
        "`SQLiteStorage.append` (batches of 5 000), so the trigram index (FTS5 on SQLite) is "
        "the one production writes; the database is built once per set of migrations and "
        "cached in `bench/.cache`, and PostgreSQL (its `pg_trgm` GIN index) gets a copy by "
        "`hubbub migrate-to`. The user signs in and sends `GET /api/v1/search?query=…` (the "
        "first page, 20 results) one after another over one keep-alive connection, each query "
        "below once per round in a shuffled order, after one round of warm-up; latency is from "
        "the request to the whole body. CPU per search is read around each request from "
        "`/proc` (in 10 ms ticks, so only means are given): the server's, and for `hubbub-pg` "
        "also its PostgreSQL backends'; unlike latency, it holds when other work on the "
        "machine takes the cores. The server runs with `HUBBUB_SEARCH_RATE` and "
        "`HUBBUB_SEARCH_BURST` at 1e9, so the per-user limit never answers 429.",
    ]
    columns: list[Column] = [
        ("p50 ms", "p50_ms", ms, False),
        ("p99 ms", "p99_ms", ms, False),
        ("max ms", "max_ms", ms, False),
        ("CPU ms/search", "cpu_ms_per_search", us, False),
        ("searches", "searches", count, False),
        ("errors", "errors", count, False),
        ("server CPU", "server_cpu_share", share, False),
        ("generator CPU", "loadgen_cpu_share", share, False),
    ]
    for variant in results.variants("search"):
        targets = results.targets("search", variant)
        lines += ["", f"### {variant_title(variant)}", "", script_args(results, "search", variant)]
        rows = []
        for target in targets:
            case = results.case("search", variant, target)
            rows.append([f"`{target}`"] + [cell(case, m, f, b) for _, m, f, b in columns])
        lines += ["", *table(["target"] + [c[0] for c in columns], rows), ""]
        lines.append(
            "By kind of query: latency p50 and p99 and the mean CPU per query (ms); results: "
            "on the first page, on average."
        )
        header = ["queries"]
        for target in targets:
            header += [f"`{target}` p50", f"`{target}` p99", f"`{target}` CPU"]
        header.append("results")
        rows = []
        for kind, about in SEARCH_KINDS:
            row = [about]
            for target in targets:
                case = results.case("search", variant, target)
                row += [cell(case, f"{kind}_p50_ms", ms), cell(case, f"{kind}_p99_ms", ms)]
                row.append(cell(case, f"{kind}_cpu_ms", ms))
            first = results.case("search", variant, targets[0]) if targets else None
            row.append(cell(first, f"{kind}_results", us))
            rows.append(row)
        lines += ["", *table(header, rows)]
    lines += storage_ratios(results, "search", [("p50_ms", "p50"), ("p99_ms", "p99")])
    return lines + footnotes(results, "search")


def presence_section(results: Results) -> list[str]:
    lines = [
        "## Presence (`hubbub-json`)",
        "",
        "10 000 accounts and 1 000 public rooms, each account a member of 2" + DASH + "4 rooms "
        "(3 on average: about 30 members a room, about 90 users sharing a room with each), "
        "built once through `SQLiteStorage` and cached. Four client processes (open-files "
        "limit raised, each from its own 127.0.0.x address) open one connection per account "
        "with its token and ask for `sync`, so each hears of the presence of the users it "
        "shares a room with. Then, on one schedule: *at rest* (30 s) nothing happens; in "
        "*churn* 10 % of the users change state at evenly spaced times over 60 s, every other "
        "one by `idle {away: true}`, the rest by closing their connection and opening a new one "
        "(with `sync`) 2 s later; the churn window is measured 2 s past the last change. Server "
        "CPU is the process's user + system time from `/proc/<pid>/stat` over each window "
        "divided by its wall time (a share of one core); CPU per change is the churn window's "
        "CPU above the rest rate, per changing user. Presence frames are counted per "
        "connection (a connection gets at most one a second); users named counts the entries "
        "in them. At rest the server pings every connection silent for 20 s, and the clients "
        "answer.",
    ]
    cpu: list[Column] = [
        ("connected", "connected", count, False),
        ("connect s", "connect_s", us, False),
        ("server CPU ms/connect", "server_cpu_ms_per_connect", us, False),
        ("server CPU at rest", "server_cpu_rest_share", fine_share, False),
        ("server CPU in churn", "server_cpu_churn_share", fine_share, False),
        ("churn ÷ rest", "churn_over_rest", ratio, False),
        ("server CPU µs/change", "server_cpu_us_per_change", us, False),
        ("RSS at rest MiB", "rss_rest_kib", mib_from_kib, False),
    ]
    frames: list[Column] = [
        ("frames/connection at rest", "presence_frames_per_client_rest", us, False),
        ("frames/connection in churn", "presence_frames_per_client_churn", us, False),
        ("most frames on one connection", "presence_frames_max_client_churn", count, False),
        ("users named/connection", "presence_entries_per_client_churn", us, False),
        ("frames per change", "presence_frames_per_change", us, False),
        ("failed reconnects", "reconnect_failures", count, False),
        ("generator CPU", "loadgen_cpu_share", share, False),
    ]
    for variant in results.variants("presence"):
        case = results.case("presence", variant, "hubbub-json")
        lines += ["", f"### {variant_title(variant)}", ""]
        lines += [script_args(results, "presence", variant)]
        for columns in (cpu, frames):
            row = [cell(case, m, f, b) for _, m, f, b in columns]
            lines += ["", *table([c[0] for c in columns], [row])]
    return lines + footnotes(results, "presence")


def uploads_section(results: Results) -> list[str]:
    lines = [
        "## Uploads (`hubbub-json`)",
        "",
        "Ten accounts, members of one room, each upload a file of random bytes at the same "
        "moment: the raw body of `POST /api/v1/rooms/files/files?name=…` with its "
        "Content-Length, one connection each (one account per upload: a user gets at most 4 "
        "at once). Throughput is the bytes answered `201` over the wall time from the first "
        "request to the last answer; *disk* is the same bytes written right after by as many "
        "threads straight to files on the same filesystem (64 KiB writes, then an fsync), the "
        "bound the disk sets under the load of that moment. The server's RSS is sampled every "
        "20 ms: before (after 1 s of rest), its peak, and 2 s after the last answer.",
    ]
    columns: list[Column] = [
        ("MiB/s", "mib_per_s", us, False),
        ("disk MiB/s", "disk_mib_per_s", us, False),
        ("÷ disk", "over_disk", ratio, False),
        ("upload p50 s", "upload_p50_s", us, False),
        ("slowest s", "upload_max_s", us, False),
        ("RSS before MiB", "rss_before_kib", mib_from_kib, False),
        ("RSS peak MiB", "rss_peak_kib", mib_from_kib, False),
        ("RSS after MiB", "rss_after_kib", mib_from_kib, False),
        ("peak growth MiB", "rss_peak_growth_mib", us, False),
        ("server CPU ms/MiB", "server_cpu_ms_per_mib", us, False),
        ("server CPU", "server_cpu_share", share, False),
    ]
    for variant in results.variants("uploads"):
        case = results.case("uploads", variant, "hubbub-json")
        lines += ["", f"### {variant_title(variant)}", ""]
        lines += [script_args(results, "uploads", variant), ""]
        lines += table([c[0] for c in columns], [[cell(case, m, f, b) for _, m, f, b in columns]])
    return lines + footnotes(results, "uploads")


# --- headline: fan-out latency at a fixed rate -----------------------------------------------


LATENCY_PLOT = "latency.png"
HEADLINE: list[tuple[str, str, Fmt]] = [
    ("p50 ms", "p50_ms", ms),
    ("p90 ms", "p90_ms", ms),
    ("p99 ms", "p99_ms", ms),
    ("max ms", "max_ms", ms),
    ("first receiver p50 ms", "first_p50_ms", ms),
    ("server CPU µs/delivery", "server_cpu_us_per_delivery", us),
]
PERCENTILES = [("p50", "p50_ms"), ("p90", "p90_ms"), ("p99", "p99_ms"), ("max", "max_ms")]
# One colour per target in the plot, the same in every subplot; hubbub's drawn solid.
COLOURS = {
    "hubbub-json": "#d62728",
    "hubbub-plain": "#ff7f0e",
    "seed": "#1f77b4",
    "node-ws": "#2ca02c",
    "websockets": "#9467bd",
    "socketio": "#7f7f7f",
}


def loadgen_option(case: dict[str, Any], option: str) -> float | None:
    args = case.get("loadgen", [])
    if option in args[:-1]:
        return float(args[args.index(option) + 1])
    return None


def ok_runs(case: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [] if case is None else [r for r in case["runs"] if r.get("ok")]


def run_value(case: dict[str, Any], run: dict[str, Any], metric: str) -> float | None:
    """One run's value. Runs from before the generator reported server CPU per delivery get
    the same quotient from what they did record: the CPU share is over the measured time plus
    the 1 s the generator waits for the last deliveries, the rate over the measured time."""
    result = run.get("result") or {}
    value = result.get(metric)
    if value is None and metric == "server_cpu_us_per_delivery":
        cpu, rate_, duration = (
            result.get("server_cpu_share"),
            result.get("deliveries_per_s"),
            loadgen_option(case, "--duration"),
        )
        if cpu is not None and rate_ and duration:
            value = cpu * (duration + 1) / (rate_ * duration) * 1e6
    return None if value is None else float(value)


def run_median(case: dict[str, Any] | None, metric: str) -> float | None:
    if case is None:
        return None
    values = [v for r in ok_runs(case) if (v := run_value(case, r, metric)) is not None]
    return statistics.median(values) if values else None


def paired_ratio(
    mine: dict[str, Any] | None, base: dict[str, Any] | None, metric: str
) -> float | None:
    """``mine`` ÷ ``base`` when both were measured in the same run of the suite: the median of
    the ratios of the runs with the same index (the suite interleaves a variant's targets run
    by run, so run i of each ran close together), or the ratio of the medians where no run
    pairs."""
    if mine is None or base is None or mine.get("merged_run") != base.get("merged_run"):
        return None
    theirs = {r["run"]: r for r in ok_runs(base)}
    ratios = []
    for run in ok_runs(mine):
        other = theirs.get(run["run"])
        a = run_value(mine, run, metric)
        b = None if other is None else run_value(base, other, metric)
        if a is not None and b:
            ratios.append(a / b)
    if ratios:
        return statistics.median(ratios)
    a, b = run_median(mine, metric), run_median(base, metric)
    return None if a is None or not b else a / b


def latency_title(results: Results, variant: str) -> str:
    """``n=1000`` at 20 000 deliveries/s as "N = 1 000 at 20 msgs/s"."""
    case = next(
        c for c in results.data["cases"] if c["scenario"] == "latency" and c["variant"] == variant
    )
    n, deliveries = loadgen_option(case, "-n"), loadgen_option(case, "--rate")
    title = variant_title(variant)
    if n and deliveries:
        title += f" at {deliveries / n:.3g} msgs/s"
    return title


def headline_cell(case: dict[str, Any] | None, metric: str, fmt: Fmt) -> str:
    missing = why_missing(case)
    if missing is not None or case is None:
        return missing or "—"
    value = run_median(case, metric)
    return "—" if value is None else fmt(value)


def headline_section(results: Results) -> list[str]:
    """Each server's latency distribution at each size: medians over the runs, and hubbub
    over the seed's server run by run."""
    variants = results.variants("latency")
    rates = {
        loadgen_option(c, "--rate") for c in results.data["cases"] if c["scenario"] == "latency"
    }
    fixed = rates.pop() if len(rates) == 1 else None
    deliveries = "a fixed rate of" if fixed is None else f"{fixed:,.0f}".replace(",", " ")
    lines = [
        f"## Headline: fan-out latency at {deliveries} deliveries/s",
        "",
        "One sender and N receivers in one room. The sender paces its messages so that messages "
        + TIMES
        + " receivers stay at a fixed rate; every receiver times each message from the "
        "sender's write to its own read. Medians over the runs of each case; *first receiver* "
        "is the latency of each message's earliest receiver (the server's own path, the commit "
        "included). The rows `hubbub-… ÷ seed` give the median of the ratios of runs made side "
        'by side (run i of each). Details and spreads in "Fan-out latency" below.',
        "",
        f"![Fan-out latency: p50, p90, p99 and max of each server, per size]({LATENCY_PLOT})",
    ]
    missing: dict[str, list[str]] = {}  # target -> columns none of its runs recorded
    derived_cpu: list[str] = []
    for variant in variants:
        targets = results.targets("latency", variant)
        rows = []
        for target in targets:
            case = results.case("latency", variant, target)
            name = f"`{target}`"
            received = run_median(case, "received_share")
            if received is not None and received < 0.995:
                name += f" ({share(received)} received)"
            row = [name]
            for label, metric, fmt in HEADLINE:
                text = headline_cell(case, metric, fmt)
                recorded = [(r.get("result") or {}).get(metric) for r in ok_runs(case)]
                if recorded and None in recorded:
                    if text == "—":
                        missing.setdefault(target, [])
                        if label not in missing[target]:
                            missing[target].append(label)
                    elif metric == "server_cpu_us_per_delivery":  # run_value derived it
                        text += f" {DDAGGER}"
                        if target not in derived_cpu:
                            derived_cpu.append(target)
                row.append(text)
            rows.append(row)
        seed = results.case("latency", variant, "seed")
        for h in (h for h in HUBBUBS if h in targets and seed is not None):
            mine = results.case("latency", variant, h)
            cells = []
            for _, metric, _ in HEADLINE:
                r = paired_ratio(mine, seed, metric)
                cells.append("—" if r is None else ratio(r))
            rows.append([f"`{h}` ÷ `seed`", *cells])
        header = ["server", *(label for label, _, _ in HEADLINE)]
        lines += ["", f"### {latency_title(results, variant)}", "", *table(header, rows)]
    if derived_cpu:
        lines += [
            "",
            f"{DDAGGER} "
            + ", ".join(f"`{t}`" for t in derived_cpu)
            + ": runs made before the generator reported server CPU per delivery; the value is "
            "the same quotient (server CPU time over deliveries) from the CPU share and delivery "
            "rate they recorded.",
        ]
    if missing:
        order = [label for label, _, _ in HEADLINE]
        labels = sorted({label for t in missing for label in missing[t]}, key=order.index)
        lines += [
            "",
            "— "
            + ", ".join(f"`{t}`" for t in missing)
            + ": "
            + ", ".join(labels)
            + " not recorded (runs made before the generator reported them).",
        ]
    return lines


OFF_SCALE = 5.0  # a server whose best is this many times the others' worst gets a note instead


def latency_plot(results: Results, path: Path) -> None:
    """Each server's p50, p90, p99 and max per size on a log axis, so tails compare by eye."""
    # Only the plot needs matplotlib; Agg through its own canvas, no pyplot and no screen.
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    variants = results.variants("latency")
    with matplotlib.style.context("default"):  # the same picture whatever matplotlibrc says
        fig = Figure(figsize=(4.3 * len(variants), 5.0), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, len(variants), squeeze=False)[0]
        shown: dict[str, Any] = {}
        no_p90: set[str] = set()
        for ax, variant in zip(axes, variants, strict=True):
            # NaN where a percentile was not recorded: the line breaks there instead of
            # drawing a p90 that was never measured.
            values: dict[str, list[float]] = {}
            for target in results.targets("latency", variant):
                case = results.case("latency", variant, target)
                got = [run_median(case, metric) for _, metric in PERCENTILES]
                if any(v is not None for v in got):
                    values[target] = [math.nan if v is None else v for v in got]
            # One server far above all the others would squash them into a corner of the
            # log axis: it is named in a note at the top instead.
            off: dict[str, list[float]] = {}
            for target, vs in values.items():
                rest = [v for t, o in values.items() if t != target for v in o if v == v]
                if rest and min(v for v in vs if v == v) > OFF_SCALE * max(rest):
                    off[target] = vs
            notes = []
            for target in results.targets("latency", variant):
                if target not in values:
                    continue
                vs = values[target]
                received = run_median(results.case("latency", variant, target), "received_share")
                lost = (
                    f", {share(received)} received"
                    if received is not None and received < 0.995
                    else ""
                )
                if target in off:
                    shown_values = ", ".join(
                        f"{label} {ms(v)}"
                        for (label, _), v in zip(PERCENTILES, vs, strict=True)
                        if v == v
                    )
                    notes.append(f"{target} off scale{lost}:\n{shown_values} ms")
                if math.isnan(vs[1]):
                    no_p90.add(target)
                hubbub = target in HUBBUBS
                if target not in off and any(math.isnan(v) for v in vs):
                    # across the gap, faintly, so the eye can follow the server from p50 to p99
                    xs = [x for x, v in enumerate(vs) if v == v]
                    ax.plot(
                        xs,
                        [vs[x] for x in xs],
                        color=COLOURS.get(target),
                        linestyle=":",
                        linewidth=1.0,
                        alpha=0.6,
                    )
                (line,) = ax.plot(
                    range(len(PERCENTILES)),
                    [math.nan] * len(vs) if target in off else vs,
                    color=COLOURS.get(target),
                    linestyle="-" if hubbub else "--",
                    linewidth=2.2 if hubbub else 1.3,
                    marker="o" if hubbub else "s",
                    markersize=6 if hubbub else 4.5,
                )
                shown.setdefault(target, line)
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0, 7.0)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_xticks(range(len(PERCENTILES)), [label for label, _ in PERCENTILES])
            ax.set_xlim(-0.3, len(PERCENTILES) - 0.7)
            drawn = [v for t, vs in values.items() if t not in off for v in vs if v == v]
            if drawn:  # room above for the note
                ax.set_ylim(min(drawn) / 1.2, max(drawn) * (1.9 if notes else 1.2))
            if notes:
                ax.text(
                    0.5,
                    0.98,
                    "\n".join(notes),
                    transform=ax.transAxes,
                    ha="center",
                    va="top",
                    fontsize=8,
                    wrap=True,
                    bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "0.7"},
                )
            ax.set_xlabel("percentile of the deliveries' latency")
            ax.set_ylabel("latency, ms (log scale)")
            ax.set_title(latency_title(results, variant))
            ax.grid(True, which="major", axis="y", alpha=0.45)
            ax.grid(True, which="minor", axis="y", alpha=0.15)
            ax.grid(True, which="major", axis="x", alpha=0.25)
        order = [t for t in ORDER if t in shown]
        labels = [f"{t} (p90 not recorded: dotted)" if t in no_p90 else t for t in order]
        fig.legend([shown[t] for t in order], labels, loc="outside lower center", ncols=3)
        fig.suptitle(
            "Fan-out latency at a fixed rate of deliveries, end to end: medians over the runs"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        # No timestamp or version in the file: the same results give the same bytes.
        fig.savefig(path, format="png", metadata={"Software": None})


# --- goals ---------------------------------------------------------------------------------------


def fixed_rate_goals(results: Results, verdict: Callable[[bool | None], str]) -> list[list[str]]:
    """The fan-out at a fixed rate, each size: the plain protocol's p99 no worse than the
    seed's and its CPU per delivery at most 0.8 of the seed's, the JSON protocol within 10 %
    of the plain one, the first receiver's p50 within 1 ms; ratios within one run."""
    rows: list[list[str]] = []

    def goal(text: str, value: float | None, bound: float, unit: str = TIMES) -> None:
        shown = "—" if value is None else (ratio(value) if unit == TIMES else f"{ms(value)} ms")
        rows.append([text, shown, verdict(None if value is None else value <= bound)])

    for variant in results.variants("latency"):
        plain, json_ = (results.case("latency", variant, t) for t in HUBBUBS[::-1])
        seed = results.case("latency", variant, "seed")
        where = f"fixed rate, {latency_title(results, variant)}"
        if plain is None or seed is None:
            continue
        goal(f"{where}: `hubbub-plain` p99 ≤ the seed's", paired_ratio(plain, seed, "p99_ms"), 1)
        cpu = paired_ratio(plain, seed, "server_cpu_us_per_delivery")
        goal(f"{where}: `hubbub-plain` server CPU/delivery ≤ 0.8{TIMES} the seed's", cpu, 0.8)
        if json_ is not None:
            for metric, name in (("p99_ms", "p99"), ("server_cpu_us_per_delivery", "CPU")):
                value = paired_ratio(json_, plain, metric)
                goal(f"{where}: `hubbub-json` {name} ≤ 1.1{TIMES} `hubbub-plain`'s", value, 1.1)
        for target, case in (("hubbub-plain", plain), ("hubbub-json", json_)):
            first = run_median(case, "first_p50_ms")
            if case is not None and first is not None:
                goal(f"{where}: `{target}` first receiver p50 ≤ 1 ms", first, 1, unit="ms")
    return rows


def goals_section(results: Results) -> list[str]:
    rows: list[list[str]] = []

    def verdict(ok: bool | None, bound: bool = False) -> str:
        if ok is None:
            return "not measured"
        if ok:
            return "**met**"
        return "**not met** (lower bound: generator-bound)" if bound else "**not met**"

    def bound_runs(case: dict[str, Any] | None) -> bool:
        return bool(case and case.get("summary", {}).get("generator_bound_runs"))

    fan_variant = next((v for v in results.variants("fanout") if v == "n=1000"), None)
    for target in HUBBUBS:
        mine = results.case("fanout", fan_variant, target) if fan_variant else None
        seed = results.case("fanout", fan_variant, "seed") if fan_variant else None
        a, b = median(mine, "deliveries_per_s"), median(seed, "deliveries_per_s")
        if mine is None:
            continue
        value = "—" if a is None or b is None else f"{ratio(a / b)} ({rate(a)} vs {rate(b)})"
        rows.append(
            [
                f"fan-out N = 1000: `{target}` deliveries/s ≥ 1.5{TIMES} the seed's",
                value,
                verdict(None if a is None or b is None else a / b >= 1.5, bound_runs(mine)),
            ]
        )
        cpu = median(mine, "server_cpu_us_per_delivery")
        rows.append(
            [
                f"fan-out N = 1000: `{target}` server CPU ≤ 3.5 µs/delivery",
                "—" if cpu is None else f"{us(cpu)} µs",
                verdict(None if cpu is None else cpu <= 3.5),
            ]
        )
    rows += fixed_rate_goals(results, verdict)
    for target in HUBBUBS:
        case = results.case("reqresp", "pairs=1", target)
        if case is None:
            continue
        p50 = median(case, "p50_ms")
        rows.append(
            [
                f"request/response, 1 pair: `{target}` p50 < 0.2 ms",
                "—" if p50 is None else f"{ms(p50)} ms",
                verdict(None if p50 is None else p50 < 0.2),
            ]
        )
    for variant in results.variants("idle"):
        case = results.case("idle", variant, "hubbub-json")
        k = median(case, "kib_per_connection")
        if case is not None:
            rows.append(
                [
                    f"idle ({variant_title(variant)}): ≤ 8 KiB server memory per "
                    "authenticated connection in a room (`hubbub-json`)",
                    "—" if k is None else f"{kib(k)} KiB",
                    verdict(None if k is None else k <= 8),
                ]
            )
    case = results.case("durable", "senders=100", "hubbub-json")
    if case is not None:
        acked, p99 = median(case, "acked_per_s"), median(case, "p99_ms")
        rows.append(
            [
                "durable sends, 100 senders: ≥ 40 000 acked msgs/s",
                "—" if acked is None else f"{rate(acked)}/s",
                verdict(None if acked is None else acked >= 40_000, bound_runs(case)),
            ]
        )
        rows.append(
            [
                "durable sends, 100 senders: p99 ack ≤ 20 ms",
                "—" if p99 is None else f"{ms(p99)} ms",
                verdict(None if p99 is None else p99 <= 20),
            ]
        )
    case = results.case("durable", "senders=10,rate=1000", "hubbub-json")
    if case is not None:
        p99 = median(case, "p99_ms")
        rows.append(
            [
                "durable sends at 1 000 msgs/s (10 senders): p99 ack ≤ 5 ms",
                "—" if p99 is None else f"{ms(p99)} ms",
                verdict(None if p99 is None else p99 <= 5),
            ]
        )
    for variant in results.variants("history"):
        case = results.case("history", variant, "hubbub-json")
        p99 = median(case, "p99_ms")
        rows.append(
            [
                f"history ({variant_title(variant)}): p99 ≤ 2 ms per 50-message page",
                "—" if p99 is None else f"{ms(p99)} ms",
                verdict(None if p99 is None else p99 <= 2),
            ]
        )
    for variant in results.variants("search"):
        case = results.case("search", variant, "hubbub-json")
        p99 = median(case, "p99_ms")
        rows.append(
            [
                f"search ({variant_title(variant)}, SQLite): p99 ≤ 50 ms over HTTP",
                "—" if p99 is None else f"{ms(p99)} ms",
                verdict(None if p99 is None else p99 <= 50),
            ]
        )
    lines = [
        "## Goals",
        "",
        "Each measured value is the median of the runs in the sections below.",
    ]
    if rows:
        lines += ["", *table(["goal", "measured", "verdict"], rows)]
    else:
        lines += ["", "No scenario of the goals was run."]
    return lines


# --- the document ---------------------------------------------------------------------------------


DISTURBED = 0.15  # share of one core used by neither the server nor the generator


def disturbance(results: Results) -> list[str]:
    """How much else ran on the machine during the runs (the suite measures it per run)."""
    seen = []
    for c in results.data["cases"]:
        for run in c["runs"]:
            usage = run.get("usage")
            if usage:
                seen.append((usage["other_cpu_share"], usage.get("steal_share", 0.0), c, run))
    if not seen:
        return []
    worst = max(seen, key=lambda item: item[0])
    steal = max(item[1] for item in seen)
    busy = [item for item in seen if item[0] >= DISTURBED]
    text = (
        "Other activity: over each generator run the suite also reads the whole machine's CPU "
        "time from `/proc/stat`. What neither the server nor the generator used (the suite "
        "itself and anything else; for the `hubbub-pg` targets also PostgreSQL and Redis) "
        f"was at most {share(worst[0])} of one core "
        f"(`{worst[2]['target']}` {worst[2]['scenario']} {worst[2]['variant']}, run "
        f"{worst[3]['run']}); the hypervisor took at most {share(steal)}."
    )
    if busy:
        listed = ", ".join(
            f"`{c['target']}` {c['scenario']} {c['variant']} run {run['run']} ({share(o)})"
            for o, _, c, run in busy
        )
        text += f" Runs where it was ≥ {share(DISTURBED)}, which may be disturbed: {listed}."
    else:
        text += f" No run reached {share(DISTURBED)}."
    return ["", text]


def merged_runs(data: dict[str, Any]) -> list[str]:
    """One line per later run merged into the file (``suite.py --merge``) whose cases are
    still in it: what it measured, when, and from which commit."""
    lines = []
    for index, run in enumerate(data.get("merged_runs", [])):
        cases = [c for c in data["cases"] if c.get("merged_run") == index]
        if not cases:
            continue
        names = ", ".join(dict.fromkeys(f"{c['scenario']} {c['variant']}" for c in cases))
        when = datetime.datetime.fromisoformat(run["started"]).strftime("%Y-%m-%d %H:%M UTC")
        quick = "; quick mode" if run.get("quick") else ""
        lines.append(
            f"- Measured later, in `{run['command']}` on {when} (hubbub "
            f"{run['machine'].get('hubbub_commit')}, each case {run['runs_per_case']} times"
            f"{quick}): {names}."
        )
    if lines:
        lines.append("- Every other case is from the run above.")
    return lines


def scale_out_servers(data: dict[str, Any]) -> str:
    """Which PostgreSQL and Redis the scale-out targets ran on, from the newest run that
    recorded them."""
    for run in [*reversed(data.get("merged_runs", [])), data]:
        m = run.get("machine", {})
        if m.get("postgresql"):
            return (
                f"; the `hubbub-pg` targets use PostgreSQL {m['postgresql']} (its defaults, "
                f"`synchronous_commit=on`) and Redis {m.get('redis')} on the same machine and "
                "disk, which the nodes reach over 127.0.0.1"
            )
    return ""


def method_section(results: Results) -> list[str]:
    data = results.data
    m = data["machine"]
    started = data.get("started")
    date = started
    if started:
        date = datetime.datetime.fromisoformat(started).strftime("%Y-%m-%d %H:%M UTC")
    elapsed = data.get("elapsed_s")
    env = " ".join(f"`{k}={v}`" for k, v in data.get("hubbub_env", {}).items())
    py = ", ".join(f"{k} {v}" for k, v in m.get("python_packages", {}).items())
    nd = ", ".join(f"{k} {v}" for k, v in m.get("node_packages", {}).items())
    lines = [
        "## How it was measured",
        "",
        f"- Command: `{data['command']}` (from the repository root)",
        f"- Date: {date}; the whole run took {elapsed / 60:.0f} min"
        if elapsed
        else f"- Date: {date}",
        f"- Runs: each case {data['runs_per_case']} times, every run on a freshly started "
        f"server; tables give the median and, in brackets, the spread (min{DASH}max).",
    ]
    if data.get("quick"):
        lines.append("- **Quick mode** (`--quick`): small N and short runs; a smoke test only.")
    lines += merged_runs(data)
    lines += [
        "",
        "| machine | |",
        "|---|---|",
        f"| cores (`nproc`) | {m.get('nproc')} |",
        f"| CPU | {m.get('cpu_model')} |",
        f"| memory | {m.get('memory_gib')} GiB |",
        f"| kernel | {m.get('kernel')} |",
        f"| OS | {m.get('os')} |",
        f"| Python | {m.get('python')} |",
        f"| Node | {m.get('node')} |",
        f"| data dir filesystem | {m.get('filesystem')} |",
        f"| open files limit | {m.get('open_files_limit')} |",
        f"| hubbub | commit {m.get('hubbub_commit')} |",
        f"| Python packages | {py} |",
        f"| Node packages | {nd} |",
        "",
        "`bench/run` installs the pinned peers (`bench/package.json` with its lock file, "
        "`bench/requirements.txt`) and hubbub from this repository into `bench/.work/`, raises "
        "the open-files limit and runs `bench/suite.py`. The suite starts each server as a "
        "subprocess on a free 127.0.0.1 port (hubbub with a fresh data dir on the disk, and a "
        "fresh PostgreSQL database for the `hubbub-pg` targets), waits "
        "until it answers, runs `bench/loadgen.py` against it with the server's pid, and stops "
        "it (SIGTERM, then SIGKILL). hubbub runs from a copy of `src/` taken when the suite "
        "starts, so every run measures the same code. The generator is one process of raw "
        "WebSocket clients on uvloop; it reads the server's CPU time and memory from `/proc`.",
        "",
        "The machine has 2 cores: the server and the generator each get about one. Where the "
        "generator itself was ≥ 90 % busy in a run, the server was not the limit; such values "
        f"carry {DAGGER} ({BOUND_NOTE}).",
        *disturbance(results),
        "",
        f"hubbub runs with {env}: Argon2 at its cheapest so that setting up hundreds of "
        "accounts takes seconds, and the per-user send and sign-up rate limits raised so far "
        "that they never cap the load. Everything else is hubbub's default configuration "
        "(SQLite, `synchronous=FULL`)" + scale_out_servers(data) + ".",
        "",
        "| target | server |",
        "|---|---|",
        *(f"| `{t}` | {about} |" for t, about in TARGET_ABOUT.items()),
    ]
    return lines


def render(data: dict[str, Any], notes: str) -> str:
    results = Results(data)
    scenarios = {c["scenario"] for c in data["cases"]}
    lines = [
        "# Performance",
        "",
        "<!-- Generated by bench/report.py from bench/results.json: do not edit by hand. The "
        "Notes section at the end is bench/notes.md, included verbatim. -->",
        "",
        "hubbub against the seed's server and three other WebSocket stacks on one small "
        "machine. To reproduce: `bash bench/run` (see `--help` for a subset).",
        "",
    ]
    if "latency" in scenarios:
        lines += [*headline_section(results), ""]
    lines += [*goals_section(results), ""]
    lines += method_section(results)
    sections = [
        ("fanout", fanout_section),
        ("latency", latency_section),
        ("reqresp", reqresp_section),
        ("idle", idle_section),
        ("durable", durable_section),
        ("history", history_section),
        ("mixed", mixed_section),
        ("cluster-fanout", cluster_fanout_section),
        ("cluster-writes", cluster_writes_section),
        ("search", search_section),
        ("presence", presence_section),
        ("uploads", uploads_section),
    ]
    for scenario, section in sections:
        if scenario in scenarios:
            lines += ["", *section(results)]
    lines += ["", "## Notes", "", notes.strip()]
    return "\n".join(lines) + "\n"


def write(data: dict[str, Any], path: Path, notes_path: Path) -> None:
    notes = notes_path.read_text() if notes_path.exists() else "_No notes yet._"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(data, notes))
    if any(c["scenario"] == "latency" for c in data["cases"]):
        latency_plot(Results(data), path.parent / LATENCY_PLOT)
