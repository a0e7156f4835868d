"""A request's invalid parameters told in the page's language (the dashboard's 422 page).

FastAPI checks a route's parameters with pydantic, whose messages are English sentences ("Input should be
a valid integer, unable to parse string as an integer"). A page says each problem again from the error's
``type`` and context values (the limits) in the language of :mod:`confiance.i18n`: the parameter's name,
what it takes, and the value received (cut short, non-printing characters replaced, escaped by the
template's autoescape). The JSON API keeps FastAPI's own 422.

The types with a sentence of their own are those the page routes can raise: whole numbers with bounds
(``offset``, ``limit``), booleans (``desc``), bounded text (``q``) and the login form's field. Any other
type reads as a generic sentence naming the parameter.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from confiance import i18n
from confiance.i18n import N_

#: Characters of a rejected value shown: enough to recognise it, too few to fill the page with it.
SHOWN_VALUE = 40

_WHOLE_NUMBER = N_("a whole number is expected")
#: What a parameter takes, by pydantic error type.
_EXPECTED = {
    "missing": N_("this parameter is required"),
    "int_parsing": _WHOLE_NUMBER,
    "int_parsing_size": _WHOLE_NUMBER,  # digits past the parser's limit (an offset of a thousand nines)
    "bool_parsing": N_("true or false is expected"),
}
#: The bounded types: the context value that is the bound, and what the parameter takes ("%(limit)s").
_BOUNDED = {
    "greater_than_equal": ("ge", N_("%(limit)s or more is expected")),
    "less_than_equal": ("le", N_("%(limit)s or less is expected")),
}


def shown_value(value: str) -> str:
    """``value`` as a page may show it: its first :data:`SHOWN_VALUE` characters ("…" when cut), each
    non-printing character (a line break, a bidirectional override) as "�"."""
    cut = value[:SHOWN_VALUE] + ("…" if len(value) > SHOWN_VALUE else "")
    return "".join(c if c.isprintable() else "\ufffd" for c in cut)


def _expected(error: Mapping[str, Any]) -> str:
    kind, context = error.get("type"), error.get("ctx") or {}
    if kind == "string_too_long":
        return i18n.ngettext("at most %(num)s character is accepted", "at most %(num)s characters are accepted",
                             context.get("max_length"))
    if kind in _BOUNDED:
        bound, message = _BOUNDED[kind]
        return i18n.gettext(message, limit=i18n.number(context[bound]))
    return i18n.translate(_EXPECTED.get(kind, N_("this value is not accepted")))


def problem(error: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``RequestValidationError.errors()``) as a sentence in the page's
    language: "limit: 500 or less is expected (received "9000")"."""
    parameter = ".".join(str(part) for part in error.get("loc", ())[1:]) or i18n.translate(N_("the request"))
    value = error.get("input")
    if error.get("type") == "missing" or not isinstance(value, str):
        return i18n.gettext("%(parameter)s: %(problem)s", parameter=parameter, problem=_expected(error))
    return i18n.gettext('%(parameter)s: %(problem)s (received "%(value)s")', parameter=parameter,
                        problem=_expected(error), value=shown_value(value))


def problems(errors: Iterable[Mapping[str, Any]]) -> str:
    """Every problem of a request, as one sentence's clauses ("a; b")."""
    return i18n.clauses([problem(e) for e in errors])
