"""The SQL that turns TMDB JSON (or TMDB-5000 CSV rows) into canonical movie rows, in DuckDB.

Two stages. `records_sql` finds the movie records inside a JSON file, whatever its shape (list
pages, details, collections, lists, person credits, a dict keyed by id), and pulls each field
out as text. `validated_sql` then checks and converts those text fields the same way for every
source: the quarantine reasons and the normalisations are defined once, here.
"""

from __future__ import annotations

from cinefeat.sources._schema import TMDB_GENRES

__all__ = ["NORMALISATIONS", "records_sql", "validated_sql"]

# Which keys hold movie records, per recognised shape of a JSON document.
_SHAPE = """
CASE
  WHEN json_type(doc) <> 'OBJECT' THEN 'unknown'
  WHEN json_type(doc, '$.results') = 'ARRAY' THEN 'list page'
  WHEN json_type(doc, '$.parts') = 'ARRAY' THEN 'collection'
  WHEN json_type(doc, '$.items') = 'ARRAY' THEN 'list'
  WHEN json_type(doc, '$.cast') = 'ARRAY' OR json_type(doc, '$.crew') = 'ARRAY' THEN 'credits'
  WHEN json_type(doc, '$.media') = 'OBJECT' THEN 'credit'
  WHEN json_exists(doc, '$.id') AND (json_exists(doc, '$.title')
       OR json_exists(doc, '$.original_title')) THEN 'movie'
  WHEN len(json_keys(doc)) > 0
       AND len(list_filter(json_keys(doc), lambda k: NOT regexp_full_match(k, '[0-9]+'))) = 0
       THEN 'keyed by id'
  ELSE 'unknown'
END
"""

_RECORDS = """
CASE shape
  WHEN 'list page' THEN json_extract(doc, '$.results[*]')
  WHEN 'collection' THEN json_extract(doc, '$.parts[*]')
  WHEN 'list' THEN json_extract(doc, '$.items[*]')
  WHEN 'credits' THEN list_concat(coalesce(json_extract(doc, '$.cast[*]'), []),
                                  coalesce(json_extract(doc, '$.crew[*]'), []))
  WHEN 'credit' THEN [json_extract(doc, '$.media')]
  WHEN 'keyed by id' THEN list_transform(json_keys(doc), lambda k:
       coalesce(json_extract(doc, '$."' || k || '".details'), json_extract(doc, '$."' || k || '"')))
  ELSE [doc]
END
"""


_TEXT_FIELDS = (
    "id", "media_type", "title", "original_title", "original_language", "release_date",
    "popularity", "vote_average", "vote_count", "adult", "overview", "runtime", "budget",
    "revenue",
)  # fmt: skip
# One parse per record: every field as text (numbers keep their JSON spelling), genres as JSON.
_FIELDS_STRUCT = (
    "{"
    + ", ".join(f'"{name}": "VARCHAR"' for name in _TEXT_FIELDS)
    + ', "genre_ids": "JSON", "genres": "JSON"}'
)


def records_sql(source: str) -> str:
    """One row per record found in `source` (a relation with a `doc` JSON column and the
    `filename` it came from): `source`, `shape`, `raw` (the record's JSON text), `shape_error`
    and the canonical fields still as text."""
    fields = ", ".join(f"f.{name} AS {name}" for name in _TEXT_FIELDS)
    # List records carry genre_ids; detail objects carry genres: [{id, name}].
    genre_ids = (
        "CASE WHEN json_type(f.genre_ids) = 'ARRAY' THEN f.genre_ids::VARCHAR "
        "WHEN json_type(f.genres) = 'ARRAY' THEN to_json(json_extract(f.genres, '$[*].id')) END"
    )
    return f"""
WITH shaped AS (SELECT doc, filename, {_SHAPE} AS shape FROM {source}),
unnested AS (SELECT filename, shape, unnest({_RECORDS}) AS rec FROM shaped),
parsed AS (
  SELECT filename, shape, rec,
    CASE WHEN json_type(rec) = 'OBJECT' THEN json_transform(rec, '{_FIELDS_STRUCT}') END AS f
  FROM unnested
)
SELECT
  filename AS source, shape, rec::VARCHAR AS raw,
  CASE WHEN shape = 'unknown' THEN 'unknown JSON shape: top-level keys '
       || coalesce(array_to_string(json_keys(rec)[:8], ', '), json_type(rec)) END AS shape_error,
  {fields},
  {genre_ids} AS genre_ids
FROM parsed
"""


def _integral(text: str) -> str:
    """Integer text (also '12.0'), never rounding '12.5' the way a plain cast would."""
    t = f"trim({text})"
    return (
        f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]+') THEN TRY_CAST({t} AS BIGINT) "
        f"WHEN regexp_full_match({t}, '[+-]?[0-9]+[.]0*') THEN TRY_CAST(split_part({t}, '.', 1) "
        "AS BIGINT) END"
    )


def _number(text: str) -> str:
    # "NaN" and "Infinity" parse as doubles but are no popularity or vote average.
    value = f"TRY_CAST(trim({text}) AS DOUBLE)"
    return f"CASE WHEN isfinite({value}) THEN {value} END"


_KNOWN_GENRES = "[" + ", ".join(str(g) for g in TMDB_GENRES) + "]"

# Normalisation name -> SQL condition (on the `typed` relation below) that it was applied.
NORMALISATIONS: dict[str, str] = {
    "release_date missing or empty, kept as null": (
        "release_date IS NULL OR trim(release_date) = ''"
    ),
    "impossible release_date made null": (
        "trim(release_date) <> '' AND release_date_value IS NULL"
    ),
    "genre ids missing, kept as empty": "genre_ids IS NULL",
    "unknown genre ids dropped": "len(all_genre_ids) > len(known_genre_ids)",
    "adult missing, taken as false": "adult IS NULL",
    "overview missing, kept as empty": "overview IS NULL",
    "title missing, taken from original_title": (
        "coalesce(trim(title), '') = '' AND coalesce(trim(original_title), '') <> ''"
    ),
    "original_title missing, taken from title": (
        "coalesce(trim(original_title), '') = '' AND coalesce(trim(title), '') <> ''"
    ),
    "runtime 0 (unknown) made null": "runtime_value = 0",
    "budget 0 (unknown) made null": "budget_value = 0",
    "revenue 0 (unknown) made null": "revenue_value = 0",
    "negative or invalid runtime/budget/revenue made null": (
        "(runtime IS NOT NULL AND (runtime_value IS NULL OR runtime_value < 0)) "
        "OR (budget IS NOT NULL AND (budget_value IS NULL OR budget_value < 0)) "
        "OR (revenue IS NOT NULL AND (revenue_value IS NULL OR revenue_value < 0))"
    ),
}


def _problems() -> str:
    """The reasons a record is quarantined; each starts with its rule, then ': detail'."""
    checks = [
        (
            "media_type IS NOT NULL AND media_type <> 'movie'",
            "'not a movie: media_type ' || media_type",
        ),
        ("id IS NULL", "'missing id'"),
        ("movie_id IS NULL OR movie_id <= 0", "'invalid id: ' || id"),
        (
            "coalesce(nullif(trim(title), ''), nullif(trim(original_title), ''), '') = ''",
            "'missing title'",
        ),
    ]
    for column in ("popularity", "vote_average"):
        checks.append((f"{column} IS NULL", f"'missing {column}'"))
        invalid = f"{column} IS NOT NULL AND {column}_value IS NULL"
        checks.append((invalid, f"'invalid {column}: ' || {column}"))
    checks += [
        ("vote_count IS NULL", "'missing vote_count'"),
        (
            "vote_count IS NOT NULL AND (vote_count_value IS NULL OR vote_count_value < 0)",
            "'invalid vote_count: ' || vote_count",
        ),
        (
            "vote_average_value < 0 OR vote_average_value > 10",
            "'invalid vote_average: ' || vote_average || ' is outside 0-10'",
        ),
        ("popularity_value < 0", "'invalid popularity: ' || popularity || ' is negative'"),
        (
            "adult IS NOT NULL AND adult_value IS NULL",
            "'invalid adult: ' || adult",
        ),
    ]
    parts = ", ".join(f"CASE WHEN {cond} THEN {reason} END" for cond, reason in checks)
    # A document of unknown shape is one record; its fields mean nothing, so only say that.
    return f"coalesce(shape_error, concat_ws('; ', {parts}))"


def validated_sql(records: str) -> str:
    """Typed, checked rows of `records` (the columns of `records_sql`): a `problems` column
    (empty when the record is accepted), the canonical values, and one flag per normalisation."""
    typed = f"""
SELECT *,
  {_integral("id")} AS movie_id,
  {_number("popularity")} AS popularity_value,
  {_number("vote_average")} AS vote_average_value,
  {_integral("vote_count")} AS vote_count_value,
  TRY_CAST(trim(adult) AS BOOLEAN) AS adult_value,
  TRY_CAST(TRY_STRPTIME(trim(release_date), '%Y-%m-%d') AS DATE) AS release_date_value,
  coalesce(TRY_CAST(genre_ids AS BIGINT[]), []) AS all_genre_ids,
  list_filter(coalesce(TRY_CAST(genre_ids AS BIGINT[]), []),
              lambda g: list_contains({_KNOWN_GENRES}, g)) AS known_genre_ids,
  {_integral("runtime")} AS runtime_value,
  {_integral("budget")} AS budget_value,
  {_integral("revenue")} AS revenue_value
FROM ({records})
"""
    flags = ",\n  ".join(
        f'coalesce({cond}, false) AS "{name}"' for name, cond in NORMALISATIONS.items()
    )
    positive = "CASE WHEN {0} > 0 THEN {0} END"
    return f"""
SELECT
  {_problems()} AS problems,
  raw, source, position,
  movie_id,
  trim(coalesce(nullif(trim(title), ''), original_title)) AS title,
  trim(coalesce(nullif(trim(original_title), ''), title)) AS original_title,
  nullif(lower(trim(original_language)), '') AS original_language,
  release_date_value AS release_date,
  list_filter(known_genre_ids, lambda g, i: list_position(known_genre_ids, g) = i) AS genre_ids,
  popularity_value AS popularity,
  vote_average_value AS vote_average,
  vote_count_value AS vote_count,
  coalesce(adult_value, false) AS adult,
  coalesce(overview, '') AS overview,
  {positive.format("runtime_value")} AS runtime,
  {positive.format("budget_value")} AS budget,
  {positive.format("revenue_value")} AS revenue,
  {flags}
FROM ({typed})
"""
