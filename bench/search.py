"""Search latency over a million messages, as a user sees it: ``GET /api/v1/search``.

The database (``build``): 200 public rooms of 15 authors each, of very different activity
(room r gets a share of 1/(r+1)^0.7), and a user ``searcher`` who is a member of 50 of
them; 1 000 000 messages over a year, in the rooms' order of time: 70 % English-like text,
25 % Chinese, 5 % both; 55 % short (2-8 words), 35 % medium (8-25), 10 % long (25-120).
Words follow Zipf's law over a vocabulary of everyday chat words followed by thousands of
made-up ones, with a few real rare words placed deep in the tail. Every message goes
through ``SQLiteStorage.append`` in batches of 5 000, so the trigram index is written by its
triggers as in production. The build is cached in ``bench/.cache`` (see ``prebuilt``) with
``queries.json``: how many messages hold each query, in all and in the searcher's rooms.

The measurement (``search.py TARGET search --port P --pid PID``): the searcher signs in and
sends one query at a time over one keep-alive HTTP connection, every query of ``QUERIES``
in a shuffled order per round; a first round warms the caches and is not counted. Latency
is from the request to the whole JSON body (the first page: 20 results). The CPU time a query
cost is read around each request: the server's, and on PostgreSQL also its backends' for the
database (``cluster.Meters``), from ``/proc`` in clock ticks (10 ms), so only its mean over
many queries means anything. It holds when other work on the machine stretches latency.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import prebuilt  # noqa: E402  (bench/prebuilt.py, beside this file)

NAME = "search"
ROOMS = 200
SEARCHER_ROOMS = 50
AUTHORS = 100
AUTHORS_PER_ROOM = 15
SEARCHER = "searcher"
PASSWORD = "bench password"
BATCH = 5000
SEED = 20261127


# What is searched for, by kind. Common words match tens of thousands of messages; partial
# ones are pieces of words; rare ones match a few hundred messages at most.
def words(text: str) -> list[str]:
    return text.split()


QUERIES: dict[str, list[str]] = {
    "latin_common": ["meeting", "deploy", "tomorrow", "release"],
    "latin_partial": ["ploym", "orrow", "eleas", "atab"],
    "latin_rare": ["kubernetes", "zanzibar", "flamingo", "quartz"],
    "cjk_common": ["服务器", "数据库", "会议室", "明天的"],
    "cjk_partial": ["据库迁", "器重启", "议室预"],
    "cjk_rare": ["长颈鹿", "冰淇淋", "大熊猫", "火烈鸟"],
    "no_match": ["qxzvjk", "锟斤拷烫"],
}

LATIN_HEAD = words(
    "the to I you a and is it for we on in that this be can of have do not with are just at "
    "meeting so will me what my if deploy but was up get tomorrow release today now about "
    "there please check fix build test server thanks ok yes no need think know should time "
    "would could let see work done new issue branch merge review code bug error log config "
    "update team call lunch morning afternoon week friday monday deployment ticket customer "
    "database query slow fast latency pipeline staging production rollback migration docs "
    "again also any back before after still maybe sure looks good great sorry wait why how "
    "when where who which one two three first last next here them they their our us "
    "release-notes hotfix metrics dashboard alert incident oncall standup retro sprint plan "
    "borrow follow window shadow yellow narrow sorrow arrow"
)
# Real words placed deep in the tail: each is found in a few hundred messages at most.
LATIN_RARE = {2500: "kubernetes", 4000: "flamingo", 5000: "quartz", 6000: "zanzibar"}
SYLLABLES = words(
    "ka lo mi ten ras vel dor pin sul ber tra nok fe gu lin mar sto pe qui ran vo zel dax "
    "ho bri cen tul mo sa ne fi pra gor lek wun yi ju"
)

CJK_HEAD = words(
    "的 了 是 我 你 他 我们 今天 明天 昨天 一下 这个 那个 可以 没有 什么 怎么 问题 服务器 "
    "数据库 会议 会议室 项目 代码 测试 上线 发布 版本 客户 文档 部署 修复 需要 已经 还是 "
    "因为 所以 但是 如果 大家 时间 下午 上午 晚上 周末 吃饭 同事 老板 一起 看看 好的 谢谢 "
    "不错 辛苦 注意 检查 更新 配置 日志 接口 用户 数据 系统 网络 环境 分支 合并 提交 评审 "
    "需求 设计 计划 进度 报告 邮件 电话 性能 内存 磁盘 错误 告警 监控 回滚 紧急 重要 完成 "
    "开始 结束 服务器重启 数据库迁移 会议室预订"
)
CJK_RARE = {1500: "长颈鹿", 2000: "冰淇淋", 2500: "大熊猫", 2900: "火烈鸟"}
CJK_CHARS = (
    "一是不了人在有这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家"
    "学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所"
    "本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声"
    "全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口"
)
# the full-width comma, full stop, exclamation and question marks, and the enumeration comma
CJK_PUNCTUATION = ["\uff0c", "\u3002", "\uff01", "\uff1f", "\u3001"]


# --- the database -----------------------------------------------------------------------------


def latin_vocabulary(rng: random.Random) -> list[str]:
    words = list(dict.fromkeys(LATIN_HEAD))
    seen = set(words) | set(LATIN_RARE.values())
    while len(words) < 6500:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen and not any(q in word for q in itertools.chain(*QUERIES.values())):
            seen.add(word)
            words.append(word)
    for rank, word in sorted(LATIN_RARE.items()):
        words.insert(rank, word)
    return words


def cjk_vocabulary(rng: random.Random) -> list[str]:
    words = list(dict.fromkeys(CJK_HEAD))
    seen = set(words) | set(CJK_RARE.values())
    while len(words) < 3200:
        word = "".join(rng.choice(CJK_CHARS) for _ in range(rng.randint(1, 3)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    for rank, word in sorted(CJK_RARE.items()):
        words.insert(rank, word)
    return words


def zipf_weights(n: int) -> list[float]:
    return list(itertools.accumulate(1 / (r + 1) for r in range(n)))


class Texts:
    """Message bodies of mixed language and length, always the same for one seed."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.latin = latin_vocabulary(rng)
        self.latin_w = zipf_weights(len(self.latin))
        self.cjk = cjk_vocabulary(rng)
        self.cjk_w = zipf_weights(len(self.cjk))

    def length(self) -> int:
        r = self.rng.random()
        if r < 0.55:
            return self.rng.randint(2, 8)
        if r < 0.90:
            return self.rng.randint(8, 25)
        return self.rng.randint(25, 120)

    def latin_text(self, words: int) -> str:
        chosen = self.rng.choices(self.latin, cum_weights=self.latin_w, k=words)
        text = " ".join(chosen)
        text = text[0].upper() + text[1:]
        return text + self.rng.choice(["", "", ".", "?", "!", " :)"])

    def cjk_text(self, words: int) -> str:
        chosen = self.rng.choices(self.cjk, cum_weights=self.cjk_w, k=words)
        parts = []
        for i, word in enumerate(chosen):
            parts.append(word)
            if i and i % self.rng.randint(4, 9) == 0:
                parts.append(self.rng.choice(CJK_PUNCTUATION))
        return "".join(parts) + self.rng.choice(["", "\u3002", "\uff01", "\uff1f"])

    def body(self) -> str:
        r = self.rng.random()
        words = self.length()
        if r < 0.70:
            return self.latin_text(words)
        if r < 0.95:
            return self.cjk_text(words)
        half = max(1, words // 2)
        return self.cjk_text(half) + " " + self.latin_text(half) + " " + self.cjk_text(half)


def plan_rooms(rng: random.Random) -> tuple[list[str], dict[str, list[str]], set[str]]:
    """Room names, each room's authors, and the rooms the searcher is a member of."""
    rooms = [f"room{r:03d}" for r in range(ROOMS)]
    authors = [f"author{a:03d}" for a in range(AUTHORS)]
    members = {room: rng.sample(authors, AUTHORS_PER_ROOM) for room in rooms}
    mine = set(rng.sample(rooms, SEARCHER_ROOMS))
    return rooms, members, mine


async def build(out: Path, count: int) -> None:
    from hubbub.auth.passwords import Passwords
    from hubbub.core.events import Message
    from hubbub.core.models import RoomKind
    from hubbub.storage.sqlite import SQLiteStorage

    rng = random.Random(SEED)
    rooms, members, mine = plan_rooms(rng)
    texts = Texts(rng)
    storage = SQLiteStorage(out / prebuilt.DATABASE)
    await storage.open()
    now = time.time_ns() // 1_000_000
    start = now - 365 * 86_400_000
    try:
        password = await Passwords(time_cost=1, memory_kib=8192).hash(PASSWORD)
        users = [SEARCHER, *sorted({a for m in members.values() for a in m})]
        await prebuilt.in_batches(
            (partial(storage.create_user, u, password, start) for u in users), BATCH
        )
        for room in rooms:
            await storage.create_room(room, RoomKind.PUBLIC, members[room][0], start)
        joins = [(room, a) for room in rooms for a in members[room][1:]]
        joins += [(room, SEARCHER) for room in rooms if room in mine]
        await prebuilt.in_batches(
            (partial(storage.add_member, room, user, start, None) for room, user in joins), BATCH
        )
        activity = list(itertools.accumulate(1 / (r + 1) ** 0.7 for r in range(ROOMS)))
        room_order = rng.sample(rooms, ROOMS)  # which room is how busy
        counts = {q: [0, 0] for q in itertools.chain(*QUERIES.values())}
        step = (now - start - 60_000) / count

        def appends() -> Iterator[Any]:
            started = time.monotonic()
            for i in range(count):
                room = rng.choices(room_order, cum_weights=activity)[0]
                body = texts.body()
                folded = body.lower()
                for query, seen in counts.items():
                    if query in folded:
                        seen[0] += 1
                        seen[1] += room in mine
                message = Message(
                    room=room,
                    seq=0,
                    ts=start + 60_000 + int(i * step),
                    user=rng.choice(members[room]),
                    msg_id=f"bench{SEED}{i:016x}",
                    client_msg_id=f"s{i}",
                    body=body,
                )
                yield partial(storage.append, message)
                if i and i % 100_000 == 0:
                    prebuilt.progress("messages", i, count, started)

        await prebuilt.in_batches(appends(), BATCH)
    finally:
        await storage.close()
    about = {
        "messages": count,
        "rooms": ROOMS,
        "searcher_rooms": SEARCHER_ROOMS,
        "queries": {q: {"messages": a, "in_searcher_rooms": b} for q, (a, b) in counts.items()},
    }
    (out / "queries.json").write_text(json.dumps(about, indent=1, ensure_ascii=False) + "\n")


def cache_name(count: int) -> str:
    return f"{NAME}-{count}"


# --- the measurement ------------------------------------------------------------------------


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(
    port: int, pid: int, database: str | None, duration: float, min_rounds: int
) -> dict[str, Any]:
    import aiohttp
    from cluster import Meters
    from loadgen import cpu_seconds

    base = f"http://127.0.0.1:{port}"
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(base, connector=connector) as http:
        signin = {"username": SEARCHER, "password": PASSWORD}
        async with http.post("/api/v1/login", json=signin) as response:
            response.raise_for_status()
            token = (await response.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        times: dict[str, list[float]] = {kind: [] for kind in QUERIES}
        cpu: dict[str, list[float]] = {kind: [] for kind in QUERIES}  # server + database
        meters = Meters([], database)  # the database's backends, on PostgreSQL
        hits: dict[str, list[int]] = {kind: [] for kind in QUERIES}
        errors = 0
        pairs = [(kind, q) for kind, queries in QUERIES.items() for q in queries]
        rng = random.Random(7)

        async def one(kind: str, query: str, counted: bool) -> None:
            nonlocal errors
            cpu_before = cpu_seconds(pid) + meters.database_cpu()
            t = time.perf_counter()
            async with http.get("/api/v1/search", params={"query": query}, headers=headers) as r:
                body = await r.read()
            elapsed = (time.perf_counter() - t) * 1000
            used = (cpu_seconds(pid) + meters.database_cpu() - cpu_before) * 1000
            if r.status != 200:
                errors += 1
                print(f"search {query!r}: HTTP {r.status} {body[:200]!r}", file=sys.stderr)
                return
            if counted:
                times[kind].append(elapsed)
                cpu[kind].append(used)
                hits[kind].append(len(json.loads(body)["results"]))

        for kind, query in pairs:  # warm-up round
            await one(kind, query, False)
        await meters.open()  # the server's pool is connected by now
        cpu_0, gen_0, t0 = cpu_seconds(pid), cpu_seconds(), time.monotonic()
        rounds = 0
        while rounds < min_rounds or time.monotonic() - t0 < duration:
            rng.shuffle(pairs)
            for kind, query in pairs:
                await one(kind, query, True)
            rounds += 1
        wall = time.monotonic() - t0
        server_cpu, gen_cpu = cpu_seconds(pid) - cpu_0, cpu_seconds() - gen_0
        await meters.close()
    every = [t for kind in QUERIES for t in times[kind]]
    result: dict[str, Any] = {
        "searches": len(every),
        "rounds": rounds,
        "p50_ms": percentile(every, 0.5),
        "p99_ms": percentile(every, 0.99),
        "max_ms": max(every) if every else None,
        "errors": errors,
        "cpu_ms_per_search": mean([c for kind in QUERIES for c in cpu[kind]]),
    }
    for kind in QUERIES:
        result[f"{kind}_p50_ms"] = percentile(times[kind], 0.5)
        result[f"{kind}_p99_ms"] = percentile(times[kind], 0.99)
        result[f"{kind}_results"] = mean([float(h) for h in hits[kind]])
        result[f"{kind}_cpu_ms"] = mean(cpu[kind])
    result["server_cpu_share"] = server_cpu / wall
    result["loadgen_cpu_share"] = gen_cpu / wall
    return result


def main() -> None:
    if sys.argv[1:2] == ["build"]:
        parser = argparse.ArgumentParser(description="build the search database")
        parser.add_argument("command")
        parser.add_argument("out", type=Path)
        parser.add_argument("--messages", type=int, default=1_000_000)
        args = parser.parse_args()
        asyncio.run(build(args.out, args.messages))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target")
    parser.add_argument("scenario", choices=[NAME])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's pid, for /proc")
    parser.add_argument("--database", help="the server's PostgreSQL URL, for its CPU time")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--rounds", type=int, default=5, help="at least this many rounds")
    args = parser.parse_args()
    result = asyncio.run(measure(args.port, args.pid, args.database, args.duration, args.rounds))
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
