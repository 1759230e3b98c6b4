"""HTML quality reports on a repo with known answers: a view written twice (popularity shifted
by one standard deviation, 30% of languages missing the second time) and checked after each
write, a second view never written, a stored importance ranking, an offline experiment and
an online one. The documents must parse as balanced HTML, carry the numbers the store holds,
embed only valid PNGs, escape user text and never refer to anything outside the file.

Here: the HTML helpers, the view and the project reports. The repo's builder and the document
checker serve test_report_drift.py, test_report_models.py and tests/cli/test_report_cli.py."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cinefeat import Entity, FeatureService, FeatureStore, FeatureView, Field
from cinefeat.errors import FeatureNotFoundError
from cinefeat.quality import (
    ABTestFramework,
    create_online_experiment,
    list_alerts,
    monitor_views,
    project_report,
    record_outcomes,
    service_importance,
    view_report,
)
from cinefeat.quality._report_html import Html, duration, esc, number, percent, shorten, tag
from cinefeat.types import Float64, Int64, String

DAY = datetime(2024, 3, 1, tzinfo=UTC)
N = 2_000
PNG = b"\x89PNG\r\n\x1a\n"
SCRIPT = "<script>alert(1)</script>"
MOVIE = Entity("movie", ["movie_id"])
USER = Entity("user", ["user_id"])
VIEW = FeatureView(
    "movie_stats",
    [MOVIE],
    [
        Field("movie_id", Int64),
        Field("popularity", Float64, description=f"TMDB popularity {SCRIPT}"),
        Field("votes", Int64, description="vote count"),
        Field("language", String, description="original language"),
    ],
    ttl=timedelta(days=2),
    description="per-movie stats & <b>more</b>",
)
IDLE = FeatureView("user_stats", [USER], [Field("user_id", Int64), Field("avg_rating", Float64)])
SERVICE = FeatureService("ranking_v1", [VIEW])
NARROW = FeatureService("votes_only", [VIEW[["votes"]]])


def crawl(day: int, mean: float, language_nulls: float, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    languages = rng.choice(["en", "fr", "ja", "<i>xx</i>"], N, p=[0.5, 0.3, 0.15, 0.05])
    languages = languages.astype(object)
    languages[: int(N * language_nulls)] = None
    return pl.DataFrame(
        {
            "movie_id": np.arange(N),
            "popularity": rng.normal(mean, 1.0, N),
            "votes": rng.poisson(40, N),
            "language": pl.Series(languages.tolist(), dtype=pl.String),
            "event_timestamp": [DAY + timedelta(days=day)] * N,
        }
    )


def build_report_repo(path: Path, *, models: bool = True) -> dict[str, str]:
    """The repo described in the module docstring; returns the experiments' ids."""
    path.mkdir(parents=True)
    (path / "cinefeat.yaml").write_text("project: films\n")
    ids: dict[str, str] = {}
    with FeatureStore(path) as store:
        store.apply([MOVIE, USER, VIEW, IDLE, SERVICE, NARROW])
        store.write_offline("movie_stats", crawl(0, 5.0, 0.0, seed=1))
        monitor_views(store, ["movie_stats"], now=DAY + timedelta(hours=1))
        second = crawl(1, 6.0, 0.3, seed=2)
        store.write_offline("movie_stats", second)
        monitor_views(store, ["movie_stats"], now=DAY + timedelta(days=1, hours=3))
        if not models:
            return ids
        rng = np.random.default_rng(3)
        examples = pl.DataFrame(
            {
                "movie_id": np.arange(N),
                "user_id": rng.integers(0, 200, N),
                "event_timestamp": [
                    DAY + timedelta(days=1, hours=1, seconds=30 * i) for i in range(N)
                ],
                "rating": second["popularity"].to_numpy() + rng.normal(0, 0.5, N),
            }
        )
        service_importance(store, "ranking_v1", examples, "rating", model="hist_gb", n_repeats=2)
        framework = ABTestFramework(store)
        ids["offline"] = framework.create_experiment(
            "popularity <b>helps</b>", ["movie_stats:votes"],
            ["movie_stats:votes", "movie_stats:popularity"], label="rating", model="hist_gb",
            folds=3, n_bootstrap=200, description=f"does it {SCRIPT}",
        )  # fmt: skip
        framework.run_experiment(ids["offline"], examples)
        online = create_online_experiment(
            store, "votes only", "ranking_v1", "votes_only", metric="mean",
            minimum_detectable_effect=0.5, baseline=1.0,
        )  # fmt: skip
        # Outcomes are taken only around the experiment's life: the 80 minutes before now.
        start = datetime.now(UTC) - timedelta(minutes=80)
        outcomes = [
            {
                "entity": {"movie_id": i},
                "value": 3.0 + (i % 5),
                "event_timestamp": start + timedelta(minutes=i),
            }
            for i in range(80)
        ]
        record_outcomes(store, online.id, outcomes)
        ids["online"] = online.id
    return ids


@dataclass
class Document:
    """What a strict pass over a document found: ids, links, images, text and any nesting
    error (every element closed, in order; void elements never closed)."""

    ids: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    scripts: int = 0
    text: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


class _Checker(HTMLParser):
    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = Document()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.found.ids.append(str(values["id"]))
        if tag == "a":
            self.found.links.append(str(values.get("href")))
        if tag == "img":
            self.found.images.append(str(values.get("src")))
        if tag == "script":
            self.found.scripts += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.found.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] not in ("style", "title"):
            self.found.text.append(data)


def check(document: str) -> Document:
    """Parse `document`, asserting it is well formed, self-contained and script-free."""
    assert document.startswith("<!DOCTYPE html>")
    checker = _Checker()
    checker.feed(document)
    checker.close()
    found = checker.found
    assert found.errors == [] and checker.stack == []
    assert found.scripts == 0 and "<script" not in document.lower()
    assert not re.search(r"(src|href)=\"(https?:|//)", document)  # nothing fetched
    assert len(found.ids) == len(set(found.ids)), "ids must be unique"
    for link in found.links:
        assert link.startswith("#") and link[1:] in found.ids, link
    for image in found.images:
        prefix = "data:image/png;base64,"
        assert image.startswith(prefix)
        assert base64.b64decode(image[len(prefix) :], validate=True)[:8] == PNG
    return found


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[FeatureStore, dict[str, str]]:
    path = tmp_path_factory.mktemp("report") / "repo"
    ids = build_report_repo(path)
    return FeatureStore(path), ids


def test_html_helpers_escape_text_and_format_numbers() -> None:
    assert esc("<a & 'b'>") == "&lt;a &amp; &#x27;b&#x27;&gt;"
    assert esc(Html("<b>kept</b>")) == "<b>kept</b>"
    assert Html("<b>") + "<i>" == "<b>&lt;i&gt;" and "<i>" + Html("<b>") == "&lt;i&gt;<b>"
    link = tag("a", "x<y", href='#"q"', class_="c")
    assert link == '<a href="#&quot;q&quot;" class="c">x&lt;y</a>'
    assert [number(1_234_567), number(0.1234567), number(None), number(float("nan"))] == [
        "1,234,567", "0.1235", "\u2013", "\u2013",
    ]  # fmt: skip
    assert [percent(0.3), duration(90), duration(3 * 3600), duration(5 * 86_400)] == [
        "30.0%", "90 s", "3.0 h", "5.0 d",
    ]  # fmt: skip
    assert [shorten("abcd", 4), shorten("abcde", 4), shorten(12345.5, 5), shorten(None, 9)] == [
        "abcd", "abc\u2026", "1234\u2026", "None",
    ]  # fmt: skip


def test_view_report(repo: tuple[FeatureStore, dict[str, str]]) -> None:
    store, _ = repo
    document = view_report(store, "movie_stats")
    found = check(document)
    for anchor in ("view", "alerts", "history", "drift", "profile"):
        assert f"{anchor}-movie_stats" in found.ids
    words = found.words
    # Score of the second check, by hand: completeness 1 - 0.3/3, uniqueness 1, freshness 1,
    # stability 1 - 1/3 (popularity drifted); validity unmeasured (no rules), so weights rescale.
    assert round(100 * (0.25 * 0.9 + 0.20 + 0.15 + 0.15 * 2 / 3) / 0.75, 1) == 90.0
    assert "90.0 / 100 quality score" in words
    assert "2 firing alerts" in words
    firing = list_alerts(store.registry.quality_records(), "movie_stats", "firing")
    assert {(a.rule, a.feature) for a in firing} == {
        ("null_rate", "language"),
        ("drift", "popularity"),
    }
    for alert in firing:
        assert f"firing {alert.rule} {alert.feature} {alert.message}" in words
    assert "drifted popularity Rows committed in Delta version 1 (event times 2024-03-02" in words
    assert "against the previous check's rows, committed in Delta version 0" in words
    assert "age of newest event" in words and "3.0 h" in words  # 3 hours after the newest event
    # The stats table holds the latest write's numbers.
    second = crawl(1, 6.0, 0.3, seed=2)
    values = second["popularity"].to_numpy()
    mean, std = values.mean(), values.std(ddof=1)
    assert f"popularity Float64 TMDB popularity {SCRIPT} 0.0% 2,000" in words
    assert f"{mean:,.4g} {std:,.4g}" in words
    assert "language String original language 30.0% 4" in words
    assert "2,000 rows written by the write that made Delta version 1 (view v1)" in words
    # Charts: score, freshness, null rates (language had nulls), the PSI bars, and one per
    # feature of the write profile (popularity, votes, language; none for the event time).
    assert len(found.images) == 7
    # User text is escaped, in the description and in a category value.
    assert SCRIPT not in document and "&lt;script&gt;alert(1)&lt;/script&gt;" in document
    assert "per-movie stats &amp; &lt;b&gt;more&lt;/b&gt;" in document


def test_a_view_never_checked_or_written_says_so(repo: tuple[FeatureStore, dict[str, str]]) -> None:
    store, _ = repo
    found = check(view_report(store, "user_stats"))
    words = found.words
    assert "no score quality score" in words and "never last check" in words
    assert "No monitoring checks yet" in words and "No check has measured drift yet" in words
    assert "No write profile: nothing has been written to it yet." in words
    assert found.images == []
    with pytest.raises(FeatureNotFoundError, match="nope"):
        view_report(store, "nope")


def test_project_report(repo: tuple[FeatureStore, dict[str, str]]) -> None:
    store, ids = repo
    found = check(project_report(store))
    words = found.words
    # The project score is the mean over checked views: only movie_stats was checked.
    assert "90.0 / 100 project quality score 2 views 1 views checked 2 firing alerts" in words
    assert "movie_stats v1 90.0 / 100 2 2024-03-02 03:00:00 UTC 2,000" in words
    assert "user_stats v1 no score 0 never" in words
    overview = words[: words.index("movie_stats v1 90.0 / 100 quality score")]
    assert "Firing alerts view status rule" in overview
    (nulls,) = list_alerts(store.registry.quality_records(), "movie_stats", "firing")[-1:]
    assert f"movie_stats firing {nulls.rule} {nulls.feature} {nulls.message}" in overview
    expected = {
        "#view-movie_stats", "#view-user_stats", "#importance-ranking_v1",
        f"#experiment-{ids['offline']}", f"#experiment-{ids['online']}",
    }  # fmt: skip
    assert set(found.links) == expected
    assert {link[1:] for link in expected} <= set(found.ids)
    assert len(found.images) == 7 + 1 + 1 + 1  # movie_stats, importance, two experiments


def test_the_project_report_charts_the_features_that_changed_most(tmp_path: Path) -> None:
    from cinefeat.quality import project_report, view_report

    wide = FeatureView(
        "wide", [MOVIE], [Field("movie_id", Int64), *(Field(f"f{i}", Float64) for i in range(9))]
    )
    rng = np.random.default_rng(0)

    def write(day: int, shifted: dict[int, float]) -> None:
        columns = {f"f{i}": rng.normal(shifted.get(i, 0.0), 1.0, 500) for i in range(9)}
        frame = pl.DataFrame({"movie_id": np.arange(500), **columns})
        store.write_offline(
            "wide", frame.with_columns(event_timestamp=pl.lit(DAY + timedelta(day)))
        )

    (tmp_path / "cinefeat.yaml").write_text("project: wide\n")
    store = FeatureStore(tmp_path)
    store.apply([MOVIE, wide])
    write(0, {})
    write(1, {7: 3.0, 2: 1.5})  # f7 moved most, then f2
    overview = project_report(store)
    captions = re.findall(r"wide\.(f\d): distribution", overview)
    assert len(captions) == 6 and captions[:2] == ["f7", "f2"]
    assert "Charts of the 6 features that changed most" in overview
    assert len(re.findall(r"wide\.f\d: distribution", view_report(store, "wide"))) == 9
