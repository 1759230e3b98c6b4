"""Word lists and vectorised text builders for the synthetic movie world: English-ish titles,
Korean/Japanese/Russian/Chinese titles in their own scripts with English translations, and
one- or two-sentence overviews.

Every builder takes index arrays drawn by the caller's generator and assembles strings with
Polars expressions (gathers and `concat_str`), never a Python loop over movies.
"""

from __future__ import annotations

import numpy as np
import polars as pl

__all__ = ["SCRIPT_LANGUAGES", "overviews", "titles"]

ADJECTIVES = (
    "Silent", "Last", "Broken", "Golden", "Dark", "Hidden", "Lost", "Crimson", "Eternal", "Wild",
    "Little", "Final", "Burning", "Frozen", "Midnight", "Secret", "Forgotten", "Savage", "Distant",
    "Electric", "Hollow", "Iron", "Lonely", "Perfect", "Quiet", "Red", "Blue", "Black", "White",
    "Endless", "Fallen", "Sacred", "Stolen", "Twisted", "Wicked", "Young", "Lucky", "Brave",
    "Crazy", "Sweet", "Bitter", "Cold", "Deadly", "Open", "Second", "Northern", "Velvet", "Paper",
)  # fmt: skip
NOUNS = (
    "Road", "River", "Night", "Heart", "Summer", "Kingdom", "Shadow", "Storm", "Garden", "Mirror",
    "City", "Island", "Promise", "Dream", "Game", "Witness", "Stranger", "Empire", "Ghost",
    "Hunter", "Station", "Letter", "Fire", "Sky", "Winter", "Memory", "Border", "Legacy",
    "Protocol", "Signal", "House", "Bride", "Machine", "Horizon", "Season", "Treasure", "Secret",
    "Crown", "Harbor", "Circus", "Frontier", "Sister", "Brother", "Planet", "Song", "Silence",
    "Hotel", "Train",
)  # fmt: skip
NAMES = (
    "Annie", "Max", "Jack", "Lola", "Oscar", "Vera", "Billy", "Rosa", "Henry", "Eddie", "Maggie",
    "Frank", "Nora", "Sam", "Ruby", "Leo",
)  # fmt: skip
PLACES = (
    "Paris", "Tokyo", "Brooklyn", "the Desert", "Vegas", "Rome", "the Snow", "Space", "Havana",
    "the Dark", "Berlin", "the Valley",
)  # fmt: skip
SEQUELS = ("2", "3", "II", "III", "Part Two")

# Native-script (adjective, gloss) and (noun, gloss) pairs. Russian nouns are all masculine
# so the masculine adjective forms agree; Japanese and Chinese join without a space.
SCRIPT_LEXICON: dict[str, tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]] = {
    "ko": (
        " ",
        (("마지막", "Last"), ("조용한", "Quiet"), ("잃어버린", "Lost"), ("붉은", "Red"),
         ("푸른", "Blue"), ("차가운", "Cold"), ("뜨거운", "Burning"), ("작은", "Little"),
         ("위험한", "Dangerous"), ("슬픈", "Sad"), ("비밀의", "Secret")),
        (("여름", "Summer"), ("도시", "City"), ("바다", "Sea"), ("밤", "Night"),
         ("기억", "Memory"), ("약속", "Promise"), ("전쟁", "War"), ("친구", "Friend"),
         ("형사", "Detective"), ("가족", "Family"), ("편지", "Letter"), ("정원", "Garden")),
    ),
    "ja": (
        "",
        (("最後の", "Last"), ("静かな", "Quiet"), ("失われた", "Lost"), ("赤い", "Red"),
         ("青い", "Blue"), ("小さな", "Little"), ("遠い", "Distant"), ("秘密の", "Secret"),
         ("永遠の", "Eternal"), ("冬の", "Winter")),
        (("夏", "Summer"), ("街", "Town"), ("海", "Sea"), ("夜", "Night"), ("約束", "Promise"),
         ("記憶", "Memory"), ("剣", "Sword"), ("空", "Sky"), ("花", "Flower"), ("手紙", "Letter"),
         ("猫", "Cat"), ("少女", "Girl")),
    ),
    "ru": (
        " ",
        (("Последний", "Last"), ("Тихий", "Quiet"), ("Потерянный", "Lost"), ("Красный", "Red"),
         ("Холодный", "Cold"), ("Чужой", "Foreign"), ("Белый", "White"), ("Долгий", "Long"),
         ("Тёмный", "Dark"), ("Старый", "Old")),
        (("город", "City"), ("день", "Day"), ("поезд", "Train"), ("сад", "Garden"),
         ("остров", "Island"), ("дом", "House"), ("брат", "Brother"), ("друг", "Friend"),
         ("рассвет", "Dawn"), ("путь", "Road"), ("ветер", "Wind"), ("снег", "Snow"),
         ("лес", "Forest")),
    ),
    "zh": (
        "",
        (("最后的", "Last"), ("沉默的", "Silent"), ("消失的", "Vanished"), ("红色", "Red"),
         ("遥远的", "Distant"), ("秘密", "Secret"), ("永远的", "Eternal")),
        (("夏天", "Summer"), ("城市", "City"), ("大海", "Sea"), ("夜晚", "Night"),
         ("约定", "Promise"), ("记忆", "Memory"), ("英雄", "Hero"), ("河流", "River"),
         ("少年", "Youth")),
    ),
}  # fmt: skip
SCRIPT_LANGUAGES = tuple(SCRIPT_LEXICON)

ROLE_ADJECTIVES = (
    "reluctant", "disgraced", "ambitious", "lonely", "stubborn", "grieving", "fearless",
    "small-town", "weary", "idealistic", "eccentric", "young", "retired", "brilliant", "ordinary",
    "unemployed", "overworked", "former",
)  # fmt: skip
ROLES = (
    "detective", "teacher", "widow", "smuggler", "pilot", "boxer", "chef", "hacker", "nurse",
    "farmer", "street magician", "journalist", "soldier", "runaway", "scientist", "musician",
    "lawyer", "thief", "priest", "astronaut", "taxi driver", "dancer", "spy", "architect",
)  # fmt: skip
VERBS = (
    "must confront", "sets out to find", "falls for", "is forced to protect", "uncovers",
    "tries to escape", "returns home to face", "races to stop", "struggles to keep",
    "teams up with", "is haunted by", "bets everything on",
)  # fmt: skip
OBJECTS = (
    "a dangerous secret", "a long-lost sibling", "a charming stranger", "a corrupt mayor",
    "an ancient curse", "the truth about the past", "a rival gang", "a mysterious signal",
    "a stolen painting", "a failing family restaurant", "an unlikely friend", "a deadly virus",
    "a runaway heiress", "the last dragon", "a forbidden love", "a billion-dollar heist",
)  # fmt: skip
SETTINGS = (
    "in a small coastal town", "on the eve of war", "in near-future Tokyo",
    "across the American West", "during one chaotic weekend", "in 1970s Paris",
    "aboard a crippled starship", "in a snowbound village", "in the streets of Seoul",
    "before the winter ends", "deep in the Amazon", "at a crumbling seaside hotel",
    "in post-war Berlin", "on a remote Scottish island",
)  # fmt: skip
TWISTS = (
    "Nothing is what it seems.", "But time is running out.", "Some debts can never be repaid.",
    "Together they learn what family really means.", "The past refuses to stay buried.",
    "Every choice has a price.", "Based on a true story.", "No one will believe them.",
)  # fmt: skip


def _pick(words: tuple[str, ...], rng: np.random.Generator, n: int) -> pl.Series:
    return pl.Series(words).gather(rng.integers(0, len(words), size=n))


def _english_titles(rng: np.random.Generator, n: int) -> pl.Series:
    frame = pl.DataFrame(
        {
            "t": rng.choice(7, size=n, p=[0.22, 0.18, 0.12, 0.08, 0.16, 0.12, 0.12]),
            "adj": _pick(ADJECTIVES, rng, n),
            "noun": _pick(NOUNS, rng, n),
            "noun2": _pick(NOUNS, rng, n),
            "name": _pick(NAMES, rng, n),
            "place": _pick(PLACES, rng, n),
            "seq": _pick(SEQUELS, rng, n),
        }
    )
    adj, noun, noun2 = pl.col("adj"), pl.col("noun"), pl.col("noun2")
    t = pl.col("t")
    title = (
        pl.when(t == 0)
        .then(pl.concat_str(pl.lit("The "), adj, pl.lit(" "), noun))
        .when(t == 1)
        .then(pl.concat_str(adj, pl.lit(" "), noun))
        .when(t == 2)
        .then(pl.concat_str(noun, pl.lit(" of the "), noun2))
        .when(t == 3)
        .then(pl.concat_str(pl.col("name"), pl.lit("'s "), noun))
        .when(t == 4)
        .then(pl.concat_str(pl.lit("The "), noun))
        .when(t == 5)
        .then(pl.concat_str(noun, pl.lit(" in "), pl.col("place")))
        .otherwise(pl.concat_str(adj, pl.lit(" "), noun, pl.lit(" "), pl.col("seq")))
    )
    return frame.select(title.alias("title")).to_series()


def _script_titles(rng: np.random.Generator, languages: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Native-script titles and their English translations for languages in SCRIPT_LEXICON
    (rows in other languages get empty strings)."""
    native_adj: list[str] = []
    gloss_adj: list[str] = []
    native_noun: list[str] = []
    gloss_noun: list[str] = []
    seps: list[str] = []
    adj_off, adj_len, noun_off, noun_len = [], [], [], []
    for sep, adjectives, nouns in SCRIPT_LEXICON.values():
        seps.append(sep)
        adj_off.append(len(native_adj))
        adj_len.append(len(adjectives))
        noun_off.append(len(native_noun))
        noun_len.append(len(nouns))
        native_adj += [a for a, _ in adjectives]
        gloss_adj += [g for _, g in adjectives]
        native_noun += [a for a, _ in nouns]
        gloss_noun += [g for _, g in nouns]
    code = languages.replace_strict(
        list(SCRIPT_LANGUAGES), list(range(len(SCRIPT_LANGUAGES))), default=0
    ).to_numpy()
    n = code.size
    ai = np.asarray(adj_off)[code] + (rng.random(n) * np.asarray(adj_len)[code]).astype(np.int64)
    ni = np.asarray(noun_off)[code] + (rng.random(n) * np.asarray(noun_len)[code]).astype(np.int64)
    frame = pl.DataFrame(
        {
            "a": pl.Series(native_adj).gather(ai),
            "n": pl.Series(native_noun).gather(ni),
            "sep": pl.Series(seps).gather(code),
            "ga": pl.Series(gloss_adj).gather(ai),
            "gn": pl.Series(gloss_noun).gather(ni),
            "the": rng.random(n) < 0.5,
        }
    )
    out = frame.select(
        native=pl.concat_str("a", "sep", "n"),
        gloss=pl.concat_str(
            pl.when("the").then(pl.lit("The ")).otherwise(pl.lit("")), "ga", pl.lit(" "), "gn"
        ),
    )
    return out["native"], out["gloss"]


def titles(
    rng: np.random.Generator, languages: pl.Series, untranslated_share: float = 0.2
) -> tuple[pl.Series, pl.Series]:
    """(title, original_title) per movie. Languages with their own script get a native
    original title and, mostly, an English title; every other language gets one English-ish
    title used for both (as TMDB shows many European films)."""
    n = languages.len()
    english = _english_titles(rng, n)
    native, gloss = _script_titles(rng, languages)
    keep_native = rng.random(n) < untranslated_share
    frame = pl.DataFrame(
        {"lang": languages, "en": english, "native": native, "gloss": gloss, "keep": keep_native}
    )
    scripted = pl.col("lang").is_in(SCRIPT_LANGUAGES)
    out = frame.select(
        title=pl.when(scripted & ~pl.col("keep"))
        .then("gloss")
        .when(scripted)
        .then("native")
        .otherwise("en"),
        original_title=pl.when(scripted).then("native").otherwise("en"),
    )
    return out["title"], out["original_title"]


def overviews(rng: np.random.Generator, n: int, empty_share: float = 0.03) -> pl.Series:
    """One sentence ("A reluctant detective must confront ... in ...") plus, for about half of
    the movies, a short second one; about `empty_share` are "" as TMDB often has."""
    adj_index = rng.integers(0, len(ROLE_ADJECTIVES), size=n)
    articles = pl.Series(["An" if w[0] in "aeiou" else "A" for w in ROLE_ADJECTIVES])
    frame = pl.DataFrame(
        {
            "art": articles.gather(adj_index),
            "adj": pl.Series(ROLE_ADJECTIVES).gather(adj_index),
            "role": _pick(ROLES, rng, n),
            "verb": _pick(VERBS, rng, n),
            "obj": _pick(OBJECTS, rng, n),
            "set": _pick(SETTINGS, rng, n),
            "twist": _pick(TWISTS, rng, n),
            "two": rng.random(n) < 0.5,
            "empty": rng.random(n) < empty_share,
        }
    )
    sentence = pl.concat_str(
        "art",
        "adj",
        "role",
        "verb",
        "obj",
        pl.concat_str(pl.col("set"), pl.lit(".")),
        separator=" ",
    )
    text = pl.when("two").then(pl.concat_str(sentence, "twist", separator=" ")).otherwise(sentence)
    return frame.select(
        pl.when("empty").then(pl.lit("")).otherwise(text).alias("overview")
    ).to_series()
