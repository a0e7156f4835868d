"""Survey responses as CSV (brand-lift / attitude waves from panel providers or forms).

Two shapes, told apart by the header (names case-insensitive):

- long: ``wave,respondent,question,answer[,segment,weight,exposed]``: one record per row;
- wide: ``wave,respondent[,segment,weight,exposed],<q1>,<q2>…``: one record per question cell,
  question = the column name as written.

An empty answer (a long row's empty ``answer``, a wide row's empty cell) is stored as NULL in both
shapes: the respondent was in the wave and gave no answer to that question (a wide file cannot tell
"not asked" from "skipped"; neither can the analysis, which leaves NULL answers out of every
estimate, see ``confiance.campaign.surveys``), and the response rate stays countable.

Accepted names: ``respondent_id`` for respondent, ``vague`` for wave, ``response`` / ``reponse`` for
answer, ``poids`` for weight, ``segment`` / ``group``. ``exposed`` reads 1/0, true/false, yes/no,
oui/non (empty = unknown). Weights accept decimal commas. Answers are kept as text.
Natural key (wave, respondent, question): a repeated answer is a duplicate.
"""

from __future__ import annotations

from typing import Any, Iterator

from confiance.errors import RecordError
from confiance.ingest._format import Context, Format, Sample
from confiance.ingest._sink import Sink
from confiance.ingest._tables import boolean, cell, decimal, has_any, lowered

WAVE = ("wave", "vague")
RESPONDENT = ("respondent", "respondent_id")
QUESTION = ("question",)
ANSWER = ("answer", "response", "reponse", "réponse")
SEGMENT = ("segment", "group")
WEIGHT = ("weight", "poids")
EXPOSED = ("exposed", "expose", "exposé")
_RESPONDENT_COLUMNS = set(WAVE + RESPONDENT + SEGMENT + WEIGHT + EXPOSED)


def records(row: Any, ctx: Context) -> Iterator[dict[str, Any]]:
    if not isinstance(row, dict):
        raise RecordError("expected a CSV row")
    low = lowered(row)
    common = {
        "wave": cell(low, WAVE),
        "respondent": cell(low, RESPONDENT),
        "segment": cell(low, SEGMENT),
        "weight": cell(low, WEIGHT),
        "exposed": cell(low, EXPOSED),
    }
    if has_any(set(low), QUESTION) and has_any(set(low), ANSWER):
        yield {**common, "question": cell(low, QUESTION), "answer": cell(low, ANSWER)}
        return
    for name, value in row.items():
        question = str(name).strip()
        if question.lower() in _RESPONDENT_COLUMNS:
            continue
        yield {**common, "question": question, "answer": str(value or "").strip() or None}


def map_answer(answer: dict[str, Any], sink: Sink, ctx: Context) -> None:
    for key in ("wave", "respondent", "question"):
        if not answer.get(key):
            raise RecordError(f"survey {key} is missing")
    sink.survey(
        primary=True,
        wave=answer["wave"],
        respondent=answer["respondent"],
        question=answer["question"],
        answer=answer.get("answer"),
        segment=answer.get("segment"),
        weight=decimal(answer.get("weight"), "weight")[0],
        exposed=boolean(answer.get("exposed"), "exposed"),
    )


def sniff(sample: Sample) -> int:
    header = {h.strip().lower() for h in sample.header}
    if not (has_any(header, WAVE) and has_any(header, RESPONDENT)):
        return 0
    if has_any(header, QUESTION) and has_any(header, ANSWER):
        return 85
    return 80 if header - _RESPONDENT_COLUMNS else 0


FORMAT = Format(
    name="survey-csv",
    description="survey CSV: wave,respondent,question,answer[,…] or one column per question",
    containers=("csv",),
    sniff=sniff,
    records=records,
    map=map_answer,
)
