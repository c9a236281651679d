"""A local SQLite store of the messages the assistant declined or was unsure
about, so the knowledge file and training data can grow from real use.

Each record keeps the question (personal data masked), when it was asked, why it
went unanswered and the classifier's top guesses: no sender id, no conversation.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Sequence, Tuple

from review.masking import mask_personal_data

logger = logging.getLogger(__name__)

PROJECT_STORE = Path(__file__).resolve().parent.parent / "data" / "runtime" / "review.db"
# REVIEW_STORE lets a deployment (or a test) keep the store elsewhere.
DEFAULT_PATH = Path(os.environ.get("REVIEW_STORE", PROJECT_STORE))
MAX_TEXT = 1000  # enough for any real question; a pasted essay is cut, not stored whole

Guess = Tuple[str, float]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS unanswered (
    id INTEGER PRIMARY KEY,
    asked_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    text TEXT NOT NULL,
    normalized TEXT NOT NULL,
    guesses TEXT NOT NULL
)
"""


@dataclass(frozen=True)
class FrequentQuestion:
    text: str  # the latest wording of the question
    times: int
    last_asked: str
    reason: str
    guesses: Tuple[Guess, ...]


def normalize(text: str) -> str:
    """Groups trivial variants: case, spacing and surrounding punctuation."""
    return re.sub(r"\s+", " ", text).strip(" ?!.,;:").lower()


class ReviewStore:
    def __init__(self, path: Path = DEFAULT_PATH) -> None:
        self.path = path
        self._failed = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=5)
        connection.execute(_SCHEMA)
        return connection

    def record(self, text: str, reason: str, guesses: Sequence[Guess]) -> None:
        """Keeps one unanswered message; a failing store never stops an answer."""
        masked = mask_personal_data(text)[:MAX_TEXT]
        if not normalize(masked):
            return
        row = (
            datetime.now(timezone.utc).isoformat(timespec="seconds"),
            reason,
            masked,
            normalize(masked),
            json.dumps([[intent, round(confidence, 3)] for intent, confidence in guesses]),
        )
        try:
            with closing(self._connect()) as connection, connection:
                connection.execute(
                    "INSERT INTO unanswered (asked_at, reason, text, normalized, guesses)"
                    " VALUES (?, ?, ?, ?, ?)",
                    row,
                )
        except (sqlite3.Error, OSError) as error:
            if not self._failed:  # once, not on every message
                logger.error("Cannot record unanswered questions in %s: %s", self.path, error)
            self._failed = True
        else:
            self._failed = False

    def most_frequent(self, limit: int = 20) -> List[FrequentQuestion]:
        if not self.path.exists():
            return []
        query = (  # each question's count, with its latest wording and guesses
            "SELECT u.text, g.times, u.asked_at, u.reason, u.guesses FROM"
            " (SELECT COUNT(*) AS times, MAX(id) AS latest FROM unanswered GROUP BY normalized) g"
            " JOIN unanswered u ON u.id = g.latest ORDER BY g.times DESC, g.latest DESC LIMIT ?"
        )
        with closing(self._connect()) as connection:
            rows = connection.execute(query, (limit,)).fetchall()
        return [
            FrequentQuestion(
                text=text,
                times=times,
                last_asked=last_asked,
                reason=reason,
                guesses=tuple((intent, confidence) for intent, confidence in json.loads(guesses)),
            )
            for text, times, last_asked, reason, guesses in rows
        ]
