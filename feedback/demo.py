"""Demo feedback for `opsloop serve --demo`: a stream of forum posts and NPS answers.

Deterministic: the batch for a given `now` and seed is always the same (the random
generator is seeded with both), so a test or a screenshot can be reproduced. About a third
of the posts complain about the demo web shop's incidents — errors at checkout, slow pages —
and name it, so its theme and the plan item it feeds show up within minutes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from feedback.analysis import Analyser
from feedback.ingest import NewFeedback, ingest
from feedback.models import FeedbackKind, SurveyKind
from feedback.survey_responses import NewResponse, record_responses
from feedback.surveys import SurveySpec, create_survey, get_survey

SOURCE = "demo"
SURVEY_SLUG = "demo-nps"
DEMO_SERVICE = "webshop"
FORUM_URL = "https://forum.demo.invalid/t"
INTERVAL_S = 20.0

USERS = [
    "maria_k", "dev_tom", "ana.silva", "jkowalski", "li.wei", "sam_ops", "nina", "pete_r",
    "oliviab", "rahul.m", "fatima", "george_h", "yuki", "lars.e", "chloe", "ben_t",
]  # fmt: skip
INCIDENT_POSTS = [
    "Checkout fails with an error 500 when I click Pay.",
    "The checkout page times out every time I try to pay for my order.",
    "Got 'something went wrong' at checkout twice, my cart is still full.",
    "Pages in the web shop take forever to load today, 10+ seconds.",
    "The web shop is really slow this morning, product pages barely load.",
    "Payment step keeps spinning and then errors out. Was I charged twice?",
    "Search and product pages in the shop are sluggish since yesterday's release.",
    "I can't finish checkout, the page just hangs after entering my card.",
]
OTHER_POSTS = [
    "Please add a dark mode to the dashboard, my eyes would thank you.",
    "Dark mode for the dashboard would be lovely.",
    "Love the new order history page, very clear!",
    "Would be great to export my invoices as CSV.",
    "The mobile app logs me out every day, annoying.",
    "Can you add Apple Pay as a payment option?",
    "Shipping options are confusing: which one is the fastest?",
    "Great support, my return was handled in a day. Thanks!",
    "The size guide is wrong for the running shoes.",
    "Wishlist sharing would be a nice feature.",
    "Password reset email never arrives, checked spam too.",
    "Really happy with the new search filters, much faster to find things.",
]
NPS_COMMENTS = {
    "promoter": ["Fast delivery and easy returns.", "Love it, works great.", "Great selection."],
    "passive": ["Good, but checkout could be quicker.", "Fine overall.", "Search could be better."],
    "detractor": [
        "Checkout errors made me give up on my order.",
        "The shop is too slow, pages time out.",
        "Lost my cart twice at checkout.",
    ],
}


@dataclass(frozen=True)
class DemoBatch:
    posts: list[NewFeedback]
    answers: list[NewResponse]


def demo_batch(now: datetime, seed: int = 7) -> DemoBatch:
    """The posts and survey answers that arrive at `now` (same `now` and seed, same batch)."""
    tick = int(now.timestamp() // INTERVAL_S)
    rng = random.Random(f"{seed}:{tick}")
    posts = [_post(rng, now, tick, n) for n in range(rng.randint(1, 3))]
    answers = [_answer(rng, now, tick)] if rng.random() < 0.6 else []
    return DemoBatch(posts, answers)


def _post(rng: random.Random, now: datetime, tick: int, n: int) -> NewFeedback:
    incident = rng.random() < 0.35
    text = rng.choice(INCIDENT_POSTS if incident else OTHER_POSTS)
    if rng.random() < 0.3:
        text += rng.choice([" Please fix!", " Same for my colleague.", " (Firefox, Windows)", ""])
    external_id = f"{tick}-{n}"
    return NewFeedback(
        source=SOURCE,
        kind=FeedbackKind.DEMO,
        text=text,
        external_id=external_id,
        author=rng.choice(USERS),
        url=f"{FORUM_URL}/{external_id}",
        created_at=now - timedelta(seconds=rng.randint(0, int(INTERVAL_S) - 1)),
        service=DEMO_SERVICE if incident else None,
    )


def _answer(rng: random.Random, now: datetime, tick: int) -> NewResponse:
    score = rng.choices(range(11), weights=[2, 1, 1, 2, 2, 3, 4, 6, 9, 8, 7])[0]
    group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    comment = rng.choice(NPS_COMMENTS[group]) if rng.random() < 0.7 else None
    return NewResponse(
        external_id=f"demo-{tick}",
        score=score,
        created_at=now,
        comment=comment,
        service=DEMO_SERVICE,
    )


def ensure_demo_survey(session: Session, now: datetime) -> None:
    if get_survey(session, SURVEY_SLUG) is None:
        spec = SurveySpec(
            slug=SURVEY_SLUG,
            kind=SurveyKind.NPS,
            title="Demo shop NPS",
            question="How likely are you to recommend the demo shop to a friend?",
            service=DEMO_SERVICE,
        )
        create_survey(session, spec, now)


def add_demo_feedback(session: Session, now: datetime, analyser: Analyser, seed: int = 7) -> int:
    """Store the batch for `now` (idempotent: a repeated `now` adds nothing); items added."""
    batch = demo_batch(now, seed)
    added = ingest(session, batch.posts, now, analyser).added
    if batch.answers:
        ensure_demo_survey(session, now)
        survey = get_survey(session, SURVEY_SLUG)
        if survey is not None:
            result = record_responses(
                session, survey, batch.answers, now, analyser, kind=FeedbackKind.DEMO
            )
            added += result.added
    return added
