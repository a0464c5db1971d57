"""Benchmark of feedback analysis: clean, redact, sentiment, tag and cluster synthetic posts.

Run: `python bench/feedback.py` (one process, one core). It generates varied posts — about
forty complaint and praise topics, each reworded with synonyms, fillers, typos, signatures
with e-mail addresses or phone numbers, and near-duplicate reposts — then analyses 10k and
100k of them with a fresh analyser and theme index each time, and prints posts per second
and the time ratio 100k / 10k (10 means perfectly linear). Goal: >= 2,000 posts/s, ratio < 15.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.config import parse_config
from feedback.analysis import Analyser
from feedback.themes import ThemeIndex, terms_of

CONFIG = """
feedback:
  analysis:
    services:
      webshop: [checkout, cart, basket, payment, order]
      search: [search, results, filter]
      accounts: [login, password, account, signup]
      mobile: [android, iphone, ios, mobile app]
"""
SUBJECTS = [
    "the checkout page",
    "the payment step",
    "my shopping cart",
    "the search box",
    "the login screen",
    "password reset",
    "the android app",
    "the iphone app",
    "order history",
    "the invoice pdf",
    "dark mode",
    "the dashboard",
    "notifications",
    "the export to csv",
    "two factor login",
    "the product filter",
    "the mobile app",
    "account settings",
    "the signup form",
    "the api",
    "the status page",
    "email receipts",
    "the recommendations",
    "gift cards",
    "the wishlist",
    "shipping options",
    "the store locator",
    "the help centre",
    "profile pictures",
    "the coupon field",
    "address autocomplete",
    "the review section",
    "order tracking",
    "the returns form",
    "the language switcher",
    "image zoom",
    "the size guide",
    "subscriptions",
    "the loyalty points",
    "the chat widget",
]
PROBLEMS = [
    "times out",
    "is really slow",
    "keeps crashing",
    "shows an error 500",
    "does not load",
    "stopped working after the update",
    "is broken",
    "takes forever",
    "logs me out",
    "charged me twice",
    "lost my data",
    "is confusing",
]
PRAISE = ["works great", "is much faster now", "is lovely", "is so easy to use", "is perfect"]
OPENERS = ["", "Hi, ", "Hello team, ", "Ugh. ", "Quick note: ", "FYI ", "Honestly, "]
TAILS = [
    "",
    " Please fix it!",
    " Any idea when this gets fixed?",
    " Thanks.",
    " This is annoying.",
    " Happens every time since Monday.",
    " Same on Firefox and Chrome.",
    " :(",
    " Contact me at jane.doe@example.com.",
    " Call me on +1 415 555 2671.",
]


def make_posts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    posts: list[str] = []
    for _ in range(count):
        if posts and rng.random() < 0.15:  # a near-duplicate repost of an earlier post
            base = rng.choice(posts[-500:])
            posts.append(base.replace("the ", "teh ", 1) if rng.random() < 0.5 else base + "!")
            continue
        subject = rng.choice(SUBJECTS)
        verb = rng.choice(PROBLEMS) if rng.random() < 0.8 else rng.choice(PRAISE)
        extra = f" ({rng.choice(SUBJECTS)} too)" if rng.random() < 0.2 else ""
        text = f"{rng.choice(OPENERS)}{subject} {verb}{extra}.{rng.choice(TAILS)}"
        posts.append(text[0].upper() + text[1:])
    return posts


def run(posts: list[str]) -> tuple[float, float, int]:
    """Wall-clock and CPU seconds to analyse and cluster the posts, and the themes made."""
    analyser = Analyser.from_config(parse_config(CONFIG))
    index = ThemeIndex()
    started, cpu_started = time.perf_counter(), time.process_time()
    for text in posts:
        analysis = analyser.analyse(text)
        index.assign(terms_of(analysis.text), analysis.text[:80], analysis.service)
    vectors: dict[int, dict[str, float]] = {}
    for key, state in list(index.themes.items()):
        if state.size >= 3:
            index.similar_themes(key, vectors=vectors)
    return time.perf_counter() - started, time.process_time() - cpu_started, len(index.themes)


def main() -> None:
    small, large = 10_000, 100_000
    posts = make_posts(large, seed=42)
    run(posts[:500])  # warm caches (stemmer, regexes) so both runs start alike
    t_small, cpu_small, themes_small = run(posts[:small])
    t_large, cpu_large, themes_large = run(posts)
    for count, wall, cpu, themes in (
        (small, t_small, cpu_small, themes_small),
        (large, t_large, cpu_large, themes_large),
    ):
        print(
            f"{count:>7} posts: {wall:6.2f} s wall ({count / wall:6.0f} posts/s), "
            f"{cpu:6.2f} s CPU ({count / cpu:6.0f} posts/s), {themes} themes"
        )
    print(f"time ratio 100k/10k: {t_large / t_small:.2f} wall, {cpu_large / cpu_small:.2f} CPU")
    print("  (10 = linear; goal < 15)")
    per_core = large / cpu_large
    verdict = "met" if per_core >= 2000 else "NOT met"
    print(f"goal >= 2000 posts/s on one core (CPU time, 100k): {verdict}")


if __name__ == "__main__":
    main()
