"""Benchmark of the similar-case query on a large store: time to find a complaint's closest
resolved complaints through the text index (SQLite FTS5 trigram; PostgreSQL pg_trgm GIN).

Fills a fresh store as benchmarks/report.py does (default 1,000,000 complaints, 90 %
resolved), indexes a synthetic description for each (Chinese or English, a product, a
problem and a detail drawn from short lists, and an order number, so that descriptions share
words as real ones do), then times `similar_to` for descriptions not in the store, the limit
of an assignment (3). Not a test: it prints.

    .venv/bin/python -m benchmarks.similar_cases [--complaints N] [--backend sqlite|postgresql|both]
"""

import argparse
import random
import statistics
import tempfile
import time

from sqlalchemy import Engine, text

from benchmarks.report import CHUNK, Synthetic, fill, throwaway_postgresql
from complaintflow.engine.core.vocabulary import Category
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.schema import upgrade
from complaintflow.state_store.similar_cases import similar_to
from complaintflow.state_store.text_search import complaint_text

PRODUCTS_ZH = [
    "充电器",
    "洗衣机",
    "手机",
    "空调",
    "冰箱",
    "耳机",
    "电饭煲",
    "运动鞋",
    "外套",
    "台灯",
]
PROBLEMS_ZH = [
    "退款一直没有到账",
    "快递丢失了",
    "收到的商品有破损",
    "尺码不对",
    "客服态度很差",
    "安装师傅迟迟不来",
    "和描述的不一样",
    "用了两天就坏了",
    "充电时起火",
    "发错了颜色",
]
DETAILS_ZH = [
    "已经等了两周",
    "联系了三次都没人处理",
    "要求尽快解决",
    "希望换货",
    "要求全额退款",
    "非常失望",
    "再不处理就投诉",
    "",
]
PRODUCTS_EN = [
    "charger",
    "washing machine",
    "phone",
    "air conditioner",
    "fridge",
    "headphones",
    "rice cooker",
    "running shoes",
    "jacket",
    "desk lamp",
]
PROBLEMS_EN = [
    "refund never arrived",
    "parcel was lost",
    "arrived damaged",
    "wrong size",
    "rude customer service",
    "installer never came",
    "not as described",
    "broke after two days",
    "caught fire while charging",
    "wrong colour sent",
]
DETAILS_EN = [
    "waited two weeks",
    "called three times",
    "please fix this soon",
    "I want a replacement",
    "I want a full refund",
    "very disappointed",
    "",
]


def description(rng: random.Random) -> str:
    order = f"O{rng.randrange(10**8):08d}"
    if rng.random() < 0.6:
        return (
            f"{rng.choice(PRODUCTS_ZH)}{rng.choice(PROBLEMS_ZH)}，"
            f"{rng.choice(DETAILS_ZH)}，订单号{order}"
        )
    return (
        f"my {rng.choice(PRODUCTS_EN)}: {rng.choice(PROBLEMS_EN)}, "
        f"{rng.choice(DETAILS_EN)} (order {order})"
    )


def index(engine: Engine, total: int) -> None:
    """A description per complaint, with the category benchmarks/report.py gave it."""
    synthetic, rng = Synthetic(total), random.Random(11)
    for first in range(0, total, CHUNK):
        rows = []
        for n in range(first, min(first + CHUNK, total)):
            row, _ = synthetic.complaint(n)
            rows.append(
                {
                    "complaint_id": row["complaint_id"],
                    "category": row["category"],
                    "description": description(rng),
                }
            )
        with engine.begin() as connection:
            connection.execute(complaint_text.insert(), rows)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))


def measure(name: str, url: str, total: int, queries: int) -> None:
    engine = open_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    fill(engine, total)
    filled = time.perf_counter() - started
    started = time.perf_counter()
    index(engine, total)
    indexed = time.perf_counter() - started
    print(f"{name}: {total:,} complaints stored in {filled:.1f} s, indexed in {indexed:.1f} s")
    rng = random.Random(99)
    took, found = [], []
    with engine.connect() as connection:
        for _ in range(queries):
            asked = description(rng)
            category = rng.choice(list(Category))
            started = time.perf_counter()
            cases = similar_to(connection, asked, category, "C-none", 3, indexed=False)
            took.append(time.perf_counter() - started)
            found.append(len(cases))
    took.sort()
    print(
        f"{name}: {queries} queries (limit 3): median {statistics.median(took) * 1000:.1f} ms, "
        f"p90 {took[int(queries * 0.9) - 1] * 1000:.1f} ms, max {took[-1] * 1000:.1f} ms; "
        f"{sum(1 for n in found if n == 3)} of {queries} found three cases"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="complaintflow-bench-") as directory:
            measure("sqlite", f"sqlite:///{directory}/similar.db", args.complaints, args.queries)
    if args.backend in ("postgresql", "both"):
        with throwaway_postgresql() as url:
            measure("postgresql", url, args.complaints, args.queries)


if __name__ == "__main__":
    main()
