"""The dashboard in French (``confiance serve --lang fr``, and the header's language switch): pages in
French with French numbers and dates, no English heading left, a choice remembered in a cookie, an
unknown language falling back, the JSON API unchanged, and the hostile world still escaped."""

from __future__ import annotations

import ast
import html
import re
from importlib import resources

import orjson
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from confiance import i18n, store
from confiance.cli import app
from confiance.i18n import LANGUAGES
from confiance.integrity.disclosure import Finding
from confiance.integrity.harm import MISSING_NOTES
from confiance.web.account_fields import CODE_LABELS, unlabelled
from confiance.web.app import Settings, create_app
from confiance.web.evidence import readable_cells
from confiance.web.evidence_keys import EVIDENCE_KEYS
from confiance.web.language import LANGUAGE_COOKIE
from confiance.web.map import SAMPLING_WORDS, WORDS
from confiance.web.security import CONTENT_SECURITY_POLICY, SESSION_COOKIE
from tests.web.hostile import PAYLOADS, hostile_world

BASE = "http://127.0.0.1:8765"
NNBSP = "\u202f"  # the narrow no-break space of French numbers and before ";", "!", "?"
NBSP = "\u00a0"  # the no-break space before ":" and inside « guillemets » (docs/glossaire.md)
#: Words spelled alike in both languages (and the data's own values, which are never translated).
SAME_IN_BOTH = {"Influence", "Amplification", "Sources", "Analyses", "Format", "Type", "Verdict", "Mention", "URL",
                "Hashtags", "Engagements", "table", "interaction", "bio", "API (OpenAPI)", "confiance", "amplification",
                "engagement", "engagements", "exclamations", "influence", "interactions", "participation", "type",
                "verdict"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    ws = hostile_world(tmp_path_factory.mktemp("hostile-fr"))
    return ws, ws.publish_snapshot()


def _client(world, **settings) -> TestClient:
    return TestClient(create_app(Settings(snapshot=world[1], **settings)), base_url=BASE)


@pytest.fixture(scope="module")
def english(world):
    return _client(world)


@pytest.fixture(scope="module")
def french(world):
    return _client(world, language="fr")


def _account_route(client: TestClient) -> str:
    first = client.get("/api/tables/accounts?limit=1").json()["rows"][0]["handle"]
    return f"/accounts/{first['platform']}/{first['ref']}"


#: Elements and attributes that hold the dashboard's own words (a handle also heads its account page:
#: data shown alike on both pages is taken out below).
OWN_WORDS = re.compile(r"<(title|h1|h2|th|label|button|option|summary|dt)(?: [^>]*)?>(.*?)</\1>"
                       r'|(placeholder|aria-label)="([^"]*)"', re.S)


def _own_words(page: str) -> set[str]:
    out = set()
    for match in OWN_WORDS.finditer(page.split("<tbody>")[0] if "<table class=\"data\" id=" in page else page):
        text = html.unescape(re.sub(r"<[^>]+>", "", match.group(2) or match.group(4) or ""))
        out |= {part.strip() for part in re.split(r"[▼▲·]", text) if re.search(r"[A-Za-z]{2}", part)}
    return out


PAGES = ("/", "/tables/accounts", "ACCOUNT", "/map", "/login", "/tables/nope", "/sections/communities")


@pytest.mark.parametrize("route", PAGES)
def test_each_page_is_in_french_with_no_english_heading_left(english, french, world, route):
    ws, _ = world
    route = _account_route(english) if route == "ACCOUNT" else route
    en, fr = english.get(route), french.get(route)
    assert en.status_code == fr.status_code
    assert re.match(r'<!doctype html>\s*<html lang="fr">', fr.text)
    assert re.match(r'<!doctype html>\s*<html lang="en">', en.text)
    english_words, french_words = _own_words(en.text), _own_words(fr.text)
    assert len(english_words) >= 3, english_words
    with ws.reader() as con:  # the data's own values (handles, names, analyses' keys) stay as they are
        handle = {h for (h,) in con.execute("SELECT handle FROM accounts").fetchall()}
    left = {w for w in english_words & french_words - SAME_IN_BOTH if not any(w.startswith(h) for h in handle if h)}
    assert not left, (route, sorted(left))


def test_the_french_pages_say_what_they_show_in_french(french, english):
    overview = french.get("/").text
    assert "<title>Vue d'ensemble · confiance</title>" in overview and "<h2>Contenu de la base</h2>" in overview
    assert "<th>table</th><th class=\"n\">lignes</th>" in overview
    assert re.search(r'<span class="snapshot">instantané du \d{1,2}(?:er)? [a-zéû]+\.? \d{4} \d\d:\d\d:\d\d UTC', overview)
    table = french.get("/tables/accounts?limit=3").text
    assert "<h1>Comptes</h1>" in table and ">Abonnés ▼</a>" in table and ">Plateforme</a>" in table
    assert 'placeholder="filtrer…"' in table and "<button type=\"submit\">Filtrer</button>" in table
    assert '<span class="muted" data-total="40">40 lignes</span>' in table and ">suivant</a>" in table
    assert '<span class="muted">1–3 sur 40</span>' in table
    account = french.get(_account_route(english)).text
    assert "<h2>Profil</h2>" in account and "<h2>Scores et preuves</h2>" in account
    assert "<dt>abonnés</dt>" in account and "<dt>abonnements</dt>" in account
    assert "<th>date</th><th>nature</th><th>texte</th>" in account
    login = french.get("/login").text
    assert "<title>Connexion · confiance</title>" in login
    assert "Jeton affiché par <code>confiance serve --auth</code>" in login
    missing = french.get("/tables/nope")
    assert missing.status_code == 404
    assert "<h1>Page introuvable</h1>" in missing.text and "<p>tableau inconnu.</p>" in missing.text
    assert "<p>aucune page à cette adresse.</p>" in french.get("/nowhere").text
    section = french.get("/sections/communities").text
    assert "<h1>Communautés</h1>" in section and "communautés sur 40 comptes" in section


def test_numbers_are_written_the_french_way(french, english):
    en = english.get("/tables/accounts?limit=5").text
    fr = french.get("/tables/accounts?limit=5").text
    followers_en = re.findall(r'<td class="n">(\d,\d{3})\n', en)
    followers_fr = re.findall(rf'<td class="n">(\d{NNBSP}\d{{3}})\n', fr)
    assert followers_en and [f.replace(NNBSP, ",") for f in followers_fr] == followers_en  # 4,000 → 4 000
    decimals_en = re.findall(r'<td class="n">(\d+\.\d+)\n', en)
    decimals_fr = re.findall(r'<td class="n">(\d+,\d+)\n', fr)
    assert decimals_en and [d.replace(",", ".") for d in decimals_fr] == decimals_en  # 0.772 → 0,772
    assert not re.search(r'<td class="n">\d+\.\d+', fr)
    # evidence on the account page: numbers in French form after French keys
    account = french.get(_account_route(english)).text
    assert re.search(rf"valeur{NBSP}: \d{NNBSP}\d{{3}}", account) and re.search(rf"valeur{NBSP}: \d+,\d+{NNBSP}; ", account)
    assert not re.search(r"valeur\s?: \d+\.\d+", account)


def test_the_switch_sets_a_strict_cookie_and_the_next_page_is_french(world):
    client = _client(world)  # English by default
    assert '<html lang="en">' in client.get("/").text
    switched = client.get("/tables/accounts", params={"lang": "fr", "sort": "followers"})
    assert '<html lang="fr">' in switched.text
    cookie = switched.headers["set-cookie"]
    assert cookie.startswith(f"{LANGUAGE_COOKIE}=fr;") and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert switched.headers["content-security-policy"] == CONTENT_SECURITY_POLICY  # every protection kept
    # the switch links keep the page's other parameters and name each language in itself
    assert '<a href="?sort=followers&amp;lang=en" lang="en" hreflang="en">English</a>' in switched.text
    assert '<strong lang="fr" aria-current="true">Français</strong>' in switched.text
    following = client.get("/map")
    assert '<html lang="fr">' in following.text and "<h1>Carte du réseau</h1>" in following.text
    assert "set-cookie" not in following.headers  # only a choice sets it
    back = client.get("/", params={"lang": "en"})
    assert '<html lang="en">' in back.text and back.headers["set-cookie"].startswith(f"{LANGUAGE_COOKIE}=en;")
    assert '<html lang="en">' in client.get("/map").text


def test_an_unsupported_language_falls_back_to_the_default(world):
    client = _client(world, language="fr")
    for params, cookies in (({"lang": "xx"}, {}), ({"lang": "<script>"}, {}), ({}, {LANGUAGE_COOKIE: "de"}),
                            ({"lang": ""}, {LANGUAGE_COOKIE: "\"x\\y"})):
        client.cookies.clear()
        for name, value in cookies.items():
            client.cookies.set(name, value)
        response = client.get("/tables/accounts", params=params)
        assert response.status_code == 200, params
        assert '<html lang="fr">' in response.text and "set-cookie" not in response.headers, params
        assert "<script>" not in response.text.split("<tbody>")[0], params  # the value is never echoed raw
    client.cookies.clear()
    assert '<html lang="en">' in _client(world).get("/", params={"lang": "xx"}).text


def test_the_json_api_and_csv_stay_english(french, english):
    french.cookies.set(LANGUAGE_COOKIE, "fr")
    for route in ("/api/tables", "/api/overview", "/api/tables/accounts?limit=3", "/api/map"):
        fr, en = french.get(route + ("&" if "?" in route else "?") + "lang=fr"), english.get(route)
        assert "set-cookie" not in fr.headers, route
        assert fr.json() == en.json(), route
    assert french.get("/api/tables/nope").json() == {"detail": "no such table"}
    assert french.get("/tables/accounts.csv").text == english.get("/tables/accounts.csv").text
    french.cookies.clear()


def test_the_map_script_gets_its_words_translated_from_the_page(french, english):
    page = french.get("/map").text
    attribute = re.search(r"data-words='([^']*)'", page).group(1)
    words = orjson.loads(html.unescape(attribute))
    assert set(words) == {"locale", *WORDS, *SAMPLING_WORDS} and words["locale"] == "fr"
    assert words["noAccount"] == "aucun compte à afficher avec ces filtres" and words["loading"] == "chargement…"
    assert all(words[k] != v for k, v in {**WORDS, **SAMPLING_WORDS}.items())
    # the placeholders the script fills are kept
    for key, message in {**WORDS, **SAMPLING_WORDS}.items():
        assert set(re.findall(r"\{\w+\}", words[key])) == set(re.findall(r"\{\w+\}", message)), key
    english_words = orjson.loads(html.unescape(re.search(r"data-words='([^']*)'", english.get("/map").text).group(1)))
    assert english_words == {"locale": "en", **WORDS}  # English: the API's own sampling sentence
    assert "<label>communauté <select name=\"community\"><option value=\"\">toutes</option>" in page
    assert re.search(rf"la carte en affiche au plus 50{NNBSP}000", page)


def test_hostile_data_stays_escaped_in_french(french, english):
    accounts = english.get("/api/tables/accounts?limit=40").json()["rows"]
    tables = [f"/tables/{v['key']}" for v in english.get("/api/tables").json() if v["available"]]
    routes = ["/", "/map", "/login", *tables,
              *(f"/accounts/{a['handle']['platform']}/{a['handle']['ref']}" for a in accounts)]
    routes += re.findall(r'href="(/sections/[^"]+)"', english.get("/").text)
    assert len(routes) > 40
    for route in routes:
        page = french.get(route, params={"lang": "fr"}).text
        assert '<html lang="fr">' in page, route
        scripts = re.findall(r"<script\b[^>]*>", page, re.I)
        assert all(re.fullmatch(r'<script src="/static/[a-z]+\.js" defer>', s) for s in scripts), (route, scripts)
        for payload in PAYLOADS:
            if "<" in payload:
                assert payload not in page, (route, payload)
    page = french.get(_account_route(english)).text
    assert "&lt;script&gt;" in page


def test_login_in_french_with_auth_keeps_the_guard(world):
    client = _client(world, auth=True)
    login = client.get("/login", params={"lang": "fr"})
    assert login.status_code == 200 and '<html lang="fr">' in login.text and "Connexion" in login.text
    assert login.headers["set-cookie"].startswith(f"{LANGUAGE_COOKIE}=fr;")
    # the language cookie opens nothing: every other page still needs a session
    assert client.get("/").status_code == 403 and client.get("/", params={"lang": "fr"}).status_code == 403
    token = client.app.state.sessions.token
    logged = client.post("/login", data={"token": token}, headers={"origin": BASE}, follow_redirects=False)
    assert logged.status_code == 303 and SESSION_COOKIE in logged.headers["set-cookie"]
    assert "HttpOnly" in logged.headers["set-cookie"]
    assert '<html lang="fr">' in client.get("/").text


def test_serve_refuses_an_unknown_language_naming_the_supported_ones(world):
    ws, _ = world
    result = CliRunner().invoke(app, ["--workspace", str(ws.root), "serve", "--lang", "de"])
    assert result.exit_code == 2
    assert "'de'" in result.output and " or ".join(LANGUAGES) in result.output  # the same words as report's
    with pytest.raises(ValueError, match="en, fr"):
        create_app(Settings(snapshot=ws.latest_snapshot(), language="de"))


def _problem(response) -> str:
    """The sentence of an error page (its first paragraph), unescaped."""
    return html.unescape(re.search(r"<p>(.*?)</p>", response.text.split("<main")[-1], re.S).group(1))


def test_a_bad_parameter_page_says_each_problem_in_the_pages_language(french, english):
    cases = {
        "limit=abc": ("limit: a whole number is expected (received \"abc\").",
                      f"limit{NBSP}: un nombre entier est attendu (reçu «{NBSP}abc{NBSP}»)."),
        "limit=0": ("limit: 1 or more is expected (received \"0\").",
                    f"limit{NBSP}: une valeur d'au moins 1 est attendue (reçu «{NBSP}0{NBSP}»)."),
        "offset=10000001": ("offset: 10,000,000 or less is expected (received \"10000001\").",
                            f"offset{NBSP}: une valeur d'au plus 10{NNBSP}000{NNBSP}000 est attendue "
                            f"(reçu «{NBSP}10000001{NBSP}»)."),
        "desc=peut-être": ("desc: true or false is expected (received \"peut-être\").",
                           f"desc{NBSP}: true ou false est attendu (reçu «{NBSP}peut-être{NBSP}»)."),
        "limit=x&offset=-1": ("offset: 0 or more is expected (received \"-1\"); limit: a whole number is expected "
                              "(received \"x\").",  # in the route's order of parameters
                              f"offset{NBSP}: une valeur d'au moins 0 est attendue (reçu «{NBSP}-1{NBSP}»){NNBSP}; "
                              f"limit{NBSP}: un nombre entier est attendu (reçu «{NBSP}x{NBSP}»)."),
        f"q={'a' * 201}": (f"q: at most 200 characters are accepted (received \"{'a' * 40}…\").",
                           f"q{NBSP}: au plus 200 caractères sont acceptés (reçu «{NBSP}{'a' * 40}…{NBSP}»)."),
    }
    for query, (in_english, in_french) in cases.items():
        for client, expected, language in ((english, in_english, "en"), (french, in_french, "fr")):
            response = client.get(f"/tables/accounts?{query}")
            assert response.status_code == 422 and response.headers["content-type"].startswith("text/html"), query
            assert f'<html lang="{language}">' in response.text, query
            assert _problem(response) == expected, (query, language)
            assert "Input should" not in response.text, query
    # the CSV download's page and the login form's missing field
    assert _problem(french.get("/tables/accounts.csv", params={"desc": "?"})) == (
        f"desc{NBSP}: true ou false est attendu (reçu «{NBSP}?{NBSP}»).")
    missing = french.post("/login", headers={"origin": BASE})
    assert missing.status_code == 422 and _problem(missing) == f"token{NBSP}: ce paramètre est obligatoire."
    assert _problem(english.post("/login", headers={"origin": BASE})) == "token: this parameter is required."


def test_a_hostile_bad_value_comes_back_escaped_and_cut(french):
    hostile = "<script>alert(1)</script>" + "x" * 100 + "<img src=x onerror=alert(2)>"
    response = french.get("/tables/accounts", params={"limit": hostile})
    assert response.status_code == 422
    assert "<script>alert" not in response.text and "<img" not in response.text
    assert "onerror" not in _problem(response)  # cut before it (the switch links keep it, URL-encoded)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" + "x" * 15 + "…" in response.text  # its first 40 characters
    scripts = re.findall(r"<script\b[^>]*>", response.text, re.I)
    assert all(re.fullmatch(r'<script src="/static/[a-z]+\.js" defer>', s) for s in scripts), scripts
    # a line break or a bidirectional override cannot rearrange the sentence around it
    spoof = french.get("/tables/accounts", params={"offset": "1\u202e2\n3"})
    assert _problem(spoof) == f"offset{NBSP}: un nombre entier est attendu (reçu «{NBSP}1\ufffd2\ufffd3{NBSP}»)."


def test_the_json_api_keeps_fastapis_own_422(french, english):
    french.cookies.set(LANGUAGE_COOKIE, "fr")
    for route in ("/api/tables/accounts?limit=abc", "/api/tables/accounts?offset=-1&limit=0", "/api/map?max_nodes=0"):
        fr, en = french.get(route + "&lang=fr"), english.get(route)
        assert fr.status_code == en.status_code == 422 and fr.headers["content-type"] == "application/json", route
        assert fr.json() == en.json(), route
        assert all(e["msg"].startswith("Input should be") for e in fr.json()["detail"]), route
    french.cookies.clear()


def test_framework_errors_read_in_the_pages_language(french, english):
    assert "<p>cette adresse n&#39;accepte pas cette méthode.</p>" in french.post(
        "/tables/accounts", headers={"origin": BASE}).text
    refused = english.post("/tables/accounts", headers={"origin": BASE})
    assert refused.status_code == 405 and "<p>this address does not take this method.</p>" in refused.text
    assert "Method Not Allowed" not in refused.text


def test_a_missing_static_file_is_a_page_in_the_requests_language(french, english):
    """Static files pass the language middleware by; their 404 page still follows the reader's language."""
    for client, cookies, language in ((french, {}, "fr"), (english, {LANGUAGE_COOKIE: "fr"}, "fr"), (english, {}, "en")):
        client.cookies.clear()
        for name, value in cookies.items():
            client.cookies.set(name, value)
        missing = client.get("/static/nowhere.js")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
        assert re.match(rf'<!doctype html>\s*<html lang="{language}">', missing.text), (language, cookies)
        assert ("<p>aucune page à cette adresse.</p>" if language == "fr" else
                "<p>there is no page at this address.</p>") in missing.text
    french.cookies.clear()
    english.cookies.clear()
    served = french.get("/static/app.css?lang=fr")
    assert served.status_code == 200 and "set-cookie" not in served.headers  # a file remembers no choice


def test_every_detail_the_dashboard_raises_is_a_translatable_message():
    """A bare English string given to HTTPException would reach a French error page as it is."""
    package = resources.files("confiance.web")
    raised = 0
    for module in (p for p in package.iterdir() if p.name.endswith(".py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "HTTPException":
                detail = node.args[1] if len(node.args) > 1 else next(k.value for k in node.keywords if k.arg == "detail")
                assert isinstance(detail, ast.Call) and detail.func.id == "Message", (module.name, node.lineno)
                raised += 1
    assert raised >= 6


def test_the_guards_plain_refusals_speak_the_requests_language(world):
    english, french_default = _client(world, auth=True), _client(world, auth=True, language="fr")
    login_first = {"en": "log in with the token printed by `confiance serve --auth`",
                   "fr": "connectez-vous avec le jeton affiché par `confiance serve --auth`"}
    cases = [(english, "/", {}, "en"), (english, "/?lang=fr", {}, "fr"), (english, "/map", {LANGUAGE_COOKIE: "fr"}, "fr"),
             (french_default, "/", {}, "fr"), (french_default, "/?lang=en", {}, "en"),
             (french_default, "/api/overview?lang=fr", {}, "en")]  # the JSON API answers in English
    for client, route, cookies, language in cases:
        client.cookies.clear()
        for name, value in cookies.items():
            client.cookies.set(name, value)
        refused = client.get(route)
        assert refused.status_code == 403, route  # the language opens nothing
        assert refused.text == login_first[language], (route, cookies)
        assert refused.headers["content-type"] == "text/plain; charset=utf-8"
        assert refused.headers["content-language"] == language
        assert refused.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "set-cookie" not in refused.headers  # a refusal remembers nothing
    english.cookies.clear()
    plain = _client(world)
    for params, language, text in (({}, "en", "unknown Host header"), ({"lang": "fr"}, "fr", "en-tête Host inconnu")):
        unknown = plain.get("/tables/accounts", params=params, headers={"host": "evil.example"})
        assert unknown.status_code == 400 and unknown.text == text and unknown.headers["content-language"] == language
    assert _client(world, language="fr").get("/", headers={"host": "evil.example"}).text == "en-tête Host inconnu"
    for params, text in (({}, "cross-origin request refused"), ({"lang": "fr"}, "requête d'une autre origine refusée")):
        cross = plain.post("/login", params=params, data={"token": "x"}, headers={"origin": "http://evil.example"})
        assert cross.status_code == 403 and cross.text == text


# -- evidence keys (web/evidence_keys.py) --

def _walk_keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for item in value.values() for k in _walk_keys(item)}
    if isinstance(value, (list, tuple)):
        return {k for item in value for k in _walk_keys(item)}
    return set()


def _stored_evidence_keys(ws) -> dict[str, set[str]]:
    """Per derived table the account page shows (keyed by platform and account id): the keys inside its JSON
    columns, structs and lists."""
    found: dict[str, set[str]] = {}
    with ws.reader() as con:
        for table in store.derived_tables(con):
            types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                     "WHERE table_name = ?", [table]).fetchall())
            if not {"platform", "account_id"} <= set(types):
                continue
            cursor = con.execute(f'SELECT * FROM "{table}"')
            json_columns = [types[d[0]] == "JSON" for d in cursor.description]
            for row in cursor.fetchall():
                found.setdefault(table, set()).update(
                    k for v, is_json in zip(row, json_columns) for k in _walk_keys(orjson.loads(v) if is_json and v else v))
    return found


def _scores_text(page: str) -> str:
    """The account page's scores section as text, one element a line."""
    start = page.index("<h2>", page.index("</dl>"))
    end = page.index("<section>", start) if "<section>" in page[start:] else len(page)
    return html.unescape(re.sub(r"<[^>]+>", "\n", page[start:end]))


def _english_keys_left(text: str) -> set[str]:
    """Labels of the table written as an English key ("label:") in ``text``, where French says otherwise."""
    with i18n.using("fr"):
        french = {label: i18n.translate(label) for label in EVIDENCE_KEYS.values()}
    return {label for label, fr in french.items()
            if fr != label and re.search(rf"(?<![\w-]){re.escape(label)}[ {NBSP}]?:", text)}


def test_every_key_the_analyses_write_has_a_label(world):
    ws, _ = world
    found = _stored_evidence_keys(ws)
    assert {"bot_scores", "account_types", "harm_profiles", "influence_scores"} <= set(found), sorted(found)
    named_by_handle = {"account_id", "handle"}  # shown as the account's handle (web/evidence.py)
    unlabelled = {table: keys - named_by_handle - set(EVIDENCE_KEYS) for table, keys in found.items()}
    assert not any(unlabelled.values()), unlabelled
    # disclosure findings (no commercial post in this world): the keys their writer gives
    finding = Finding("disclosure.missing", "high", "promo", (0, 5)).as_dict()
    assert set(finding) <= set(EVIDENCE_KEYS)


def test_a_french_account_page_names_its_evidence_in_french(english, french, world):
    top = english.get("/api/tables/bots?limit=1").json()["rows"][0]["handle"]
    route = f"/accounts/{top['platform']}/{top['ref']}"
    fr, en = _scores_text(french.get(route).text), _scores_text(english.get(route).text)
    for label in ("caractéristique", "valeur", "contribution", "indice", "types", "amplification par des bots",
                  "seuil", "sources peu fiables", "mention publicitaire", "comptes distincts ayant interagi"):
        assert f"{label}{NBSP}: " in fr, label
    assert not _english_keys_left(fr)
    assert "feature: " not in fr and "unique engagers" not in fr
    # the English page: the English labels, the stored values
    for label in ("feature", "value", "contribution", "cue", "types", "bot amplification", "threshold",
                  "low-credibility sources", "ad disclosure", "unique engagers"):
        assert f"{label}: " in en, label
    assert "low credibility: " not in en and not re.search(r"(?<!ad )disclosure: \(", en)  # the keys' old spelling
    assert NBSP + ":" not in en


def test_a_french_evidence_cell_names_keys_and_enumerations_in_french(french, english, world):
    fr = html.unescape(french.get("/tables/bots").text)
    en = html.unescape(english.get("/tables/bots").text)
    table = fr[fr.index("<tbody"):fr.index("</tbody>")]
    assert re.search(rf"caractéristique{NBSP}: [^;|<]+{NNBSP}; valeur{NBSP}: [^;|<]+{NNBSP}; contribution{NBSP}: ", table)
    assert not _english_keys_left(re.sub(r"<[^>]+>", "\n", table))
    assert re.search(r"feature: \w+; value: [^;|<]+; contribution: ", en[en.index("<tbody"):])
    ws, _ = world
    with ws.reader() as con, i18n.using("fr"):
        [findings, harm] = readable_cells(con, [
            ("x", orjson.dumps([{"rule": "disclosure.missing", "severity": "high", "field": "text", "span": None,
                                 "text": "promo"}]).decode()),
            ("x", {"coordination": {"group": "g1", "kinds": ["co_repost"]}, "bot_amplification": MISSING_NOTES["bot_scores"]})])
    assert findings == (f"règle{NBSP}: disclosure.missing{NNBSP}; gravité{NBSP}: élevée{NNBSP}; champ{NBSP}: text"
                        f"{NNBSP}; texte{NBSP}: promo")
    assert harm == (f"comportement coordonné{NBSP}: (groupe{NBSP}: g1{NNBSP}; natures{NBSP}: republications simultanées)"
                    f"{NNBSP}; amplification par des bots{NBSP}: non calculé{NBSP}: aucun score de bot (étape bots)")


def test_the_evidence_stays_stored_as_it_is_in_the_api_and_csv(french, english, world):
    ws, _ = world
    for key, table in (("bots", "bot_scores"), ("account-types", "account_types")):
        fr = french.get(f"/api/tables/{key}?lang=fr&limit=100").json()
        assert fr == english.get(f"/api/tables/{key}?limit=100").json(), key
        with ws.reader() as con:
            stored = {a: orjson.loads(e) for a, e in con.execute(
                f"SELECT account_id, CAST(evidence AS VARCHAR) FROM {table}").fetchall()}
        assert fr["rows"] and all(orjson.loads(r["evidence"]) == stored[r["handle"]["account_id"]]
                                  for r in fr["rows"]), key
        assert french.get(f"/tables/{key}.csv?lang=fr").text == english.get(f"/tables/{key}.csv").text, key


def test_the_account_pages_brand_fit_explanation_is_written_in_the_pages_language():
    """The fit row's explanation is stored in English; the French account page showed it as stored
    ("editorial 0.41 (best post …, cosine 0.065); trust 0.94 (weakest: bot_score)")."""
    import duckdb

    from confiance.web.evidence import readable_scores

    evidence = {"editorial": {"best_posts": [{"post_id": "p1", "cosine": 0.065}], "avoided_hits": []},
                "trust": {"components": [{"component": "bot_score", "factor": 0.944}]}, "missing": ["style"]}
    row = {"fit": 0.557, "editorial": 0.412, "style": None, "audience": None, "trust": 0.944,
           "explanation": "editorial 0.41 (best post p1, cosine 0.065); trust 0.94 (weakest: bot_score)",
           "evidence": orjson.dumps(evidence).decode()}
    con = duckdb.connect()
    with i18n.using("fr"):
        [fr] = readable_scores(con, "x", {"fit": [dict(row)]})["fit"]
    assert fr["explanation"] == (f"éditorial 0,41 (centile parmi les candidats{NNBSP}; publication la plus proche p1, "
                                 f"similarité cosinus brute 0,065){NNBSP}; "
                                 f"confiance 0,94 (point faible{NBSP}: probabilité de bot)")
    [en] = readable_scores(con, "x", {"fit": [dict(row)]})["fit"]
    assert en["explanation"] == row["explanation"]


def test_the_overview_names_what_each_table_holds_not_the_table(english, french):
    """The first thing a reader sees listed "audience_reports" and "observations", untranslated."""
    english_rows = re.findall(r"<tr><td>([^<]+)</td>", english.get("/").text)
    french_rows = re.findall(r"<tr><td>([^<]+)</td>", french.get("/").text)
    assert english_rows[:3] == ["ingested files", "accounts", "posts"] and "audience report rows" in english_rows
    assert french_rows[:3] == ["fichiers importés", "comptes", "publications"]
    assert not [row for row in english_rows + french_rows if "_" in row or row in ("sources", "rejects", "kpis")]


def _column(client: TestClient, table: str, label: str) -> set[str]:
    """The texts of one column of a dashboard table's first page."""
    page = client.get(f"/tables/{table}?limit=100").text
    heads = [html.unescape(re.sub(r"<[^>]+>|[▼▲]", "", h)).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", page, re.S)]
    at = heads.index(label)
    rows = re.findall(r"<tr>(.*?)</tr>", page.split("<tbody>")[1], re.S)
    return {html.unescape(re.sub(r"<[^>]+>", "", re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[at])).strip() for row in rows}


def test_table_cells_name_flags_and_the_analyses_codes_in_the_readers_language(english, french):
    """A French page showed "True", "creator" and "banned_category": the stored codes, not the reader's words."""
    assert _column(french, "bots", "Signalé") <= {"oui", "non"} and _column(english, "bots", "Flagged") <= {"yes", "no"}
    types = _column(french, "account-types", "Type")
    assert types and types <= {"expert individuel (B2B)", "créateur de contenu professionnel", "média", "marque",
                               "institution", "autre"}
    with i18n.using("fr"):
        from confiance.web.views import all_views

        columns = {c.name: c for v in all_views() for c in v.columns if c.labels}
        assert columns["verdict"].labels("banned_category") == "catégorie interdite"
        assert columns["verdict"].labels("missing_disclosure") == "mention absente"
        assert columns["disclosure"].labels("statutory") == "mention légale"
        assert columns["rating"].labels("low") == "faible" and columns["kind"].labels("co_repost") != "co_repost"
    # the CSV and the API keep the stored codes
    assert {r["type"] for r in french.get("/api/tables/account-types?limit=100").json()["rows"]} <= {
        "expert", "creator", "media", "brand", "institution", "other"}


def _account_page_names(page: str) -> list[str]:
    """The names the account page gives its tables and fields (its h3, dt and th)."""
    return [html.unescape(re.sub(r"<[^>]+>", "", m.group(2))).strip()
            for m in re.finditer(r"<(h3|dt|th)(?: [^>]*)?>(.*?)</\1>", page, re.S)]


def test_every_column_the_account_page_shows_has_a_label(english, french, world):
    """The account page showed ~150 stored names ("account_bridging", "posts_count_log") and codes ("creator",
    "top_engager"): every table and column an analysis writes per account is named for a reader, or hidden."""
    ws, _ = world
    with ws.reader() as con:
        tables = {}
        for table in store.derived_tables(con):
            columns = [c for (c,) in con.execute("SELECT column_name FROM information_schema.columns "
                                                 "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall()]
            if {"platform", "account_id"} <= set(columns):
                tables[table] = columns
        top = con.execute("SELECT platform, account_id FROM influence_evidence GROUP BY ALL "
                          "ORDER BY count(*) DESC, 2 LIMIT 1").fetchall()[0]
    assert {"bot_scores", "bot_features", "influence_scores", "influence_evidence", "account_types"} <= set(tables)
    assert not {t: missing for t, columns in tables.items() if (missing := unlabelled(t, columns))}
    for client in (english, french):
        page = client.get(f"/accounts/{top[0]}/{top[1]}").text
        names = _account_page_names(page)
        assert len(names) > 40, names
        assert not [n for n in names if "_" in n or n in ("x", "y", "n")], names
        cells = {html.unescape(c).strip() for c in re.findall(r"<(?:dd|td)[^>]*>([^<]*)</(?:dd|td)>", page)}
        if client is french:  # the analyses' codes (English words too: "neutral"), and the types' ("creator")
            codes = set(CODE_LABELS) | {"creator", "expert", "media", "brand", "institution", "other"}
            assert not cells & codes, cells & codes
        assert "top_engager" not in page and "example_post" not in page


def test_a_fit_rows_evidence_reads_in_the_pages_language(world):
    """The French account page wrote a fit's evidence with its stored keys ("raw", "similarity", "cosine",
    "factor") and a table name as its source ("bot_scores")."""
    import duckdb

    from confiance.web.evidence import readable_scores

    evidence = {  # as influence/fit.py writes it
        "editorial": {"raw": 0.477, "similarity": 0.2876, "posts": 3, "topic_overlap": 0.6667, "hit_share": 0.0,
                      "best_posts": [{"post_id": "p1", "cosine": 0.429, "closest_brief_text": "Vélos", "excerpt": "Yet"}],
                      "avoided_hits": [{"post_id": "p2", "avoided": ["crypto"], "words": [], "cosine": 0.4}],
                      "percentile": 0.973, "score": 0.973},
        "style": {"distance": 2.06, "references": ["x:@solvanevelo"],
                  "features": [{"feature": "mean_length", "value": 155.5, "reference": 269.0,
                                "reference_account": "x:@solvanevelo", "z": 4.4}]},
        "audience": {"lower": 0.33, "upper": 0.4, "segments_not_covered": [],
                     "segments": [{"segment": "cyclistes", "weight": 1.0, "share": 0.3, "criteria": [
                         {"criterion": "languages", "dimension": "language", "categories": ["fr"], "n": 21,
                          "source": "estimated"}]}]},
        "trust": {"components": [
            {"component": "bot_score", "value": 0.14, "factor": 0.86, "source": "bot_scores", "label": False},
            {"component": "suspicious_audience_share", "value": 0.0, "factor": 1.0, "engagers": 25,
             "suspicious_engagers": 0, "source": "audience_credibility"},
            {"component": "harm_profile", "low_credibility_share": 0.0, "coordinated_group": None, "factor": 1.0,
             "source": "harm_profiles"}]},
        "missing": ["style"]}
    row = {"fit": 0.5, "editorial": 0.973, "style": 0.1, "audience": 0.3, "trust": 0.86, "explanation": "",
           "evidence": orjson.dumps(evidence).decode()}
    with i18n.using("fr"):
        [fr] = readable_scores(duckdb.connect(), "x", {"fit": [row]})["fit"]
    text = fr["evidence"]
    for key in ("raw", "similarity", "cosine", "factor", "percentile", "component", "criterion"):
        assert not re.search(rf"(?<![\w-]){key}{NBSP}?:", text), (key, text)
    assert "bot_scores" not in text and "harm_profiles" not in text and "mean_length" not in text
    for label in ("centile parmi les candidats", "similarité cosinus", "facteur", "composante"):
        assert f"{label}{NBSP}: " in text, (label, text)
    assert f"source{NBSP}: Probabilité de bot" in text and f"composante{NBSP}: probabilité de bot" in text


def _total(client: TestClient, route: str) -> int:
    return int(re.search(r'data-total="(\d+)"', client.get(route).text).group(1))


def test_the_filter_finds_a_code_by_the_label_the_reader_sees(english, french, world):
    """« catégorie interdite » found nothing: the filter searched the stored codes only."""
    ws, _ = world
    with ws.reader() as con:
        others = con.execute("SELECT count(*) FROM account_types WHERE type = 'other'").fetchall()[0][0]
    assert others > 0
    assert _total(french, "/tables/account-types?q=autre") == others  # the French label of "other"
    assert _total(french, "/tables/account-types?q=AUTRE") == others
    assert _total(french, "/tables/account-types?q=other") == others  # the code still finds its rows
    assert _total(english, "/tables/account-types?q=autre") == 0  # an English page searches English labels
    with ws.reader() as con:
        creators = con.execute("SELECT count(*) FROM account_types WHERE type = 'creator'").fetchall()[0][0]
    assert creators > 0 and _total(english, "/tables/account-types?q=professional%20creator") == creators
    assert _total(french, "/tables/account-types?q=nothing-like-this") == 0


def test_the_overview_writes_the_ingest_accounting_in_words_not_column_names(english, french):
    """The French overview read « l'invariant vérifié pour chacun : records_read = stored + duplicates + rejected »."""
    assert "read = stored + duplicates + rejected" in html.unescape(english.get("/").text)
    page = html.unescape(french.get("/").text)
    assert "lus = enregistrés + doublons + rejetés" in page
    assert not re.search(r"records_read|\bstored\b|\bduplicates\b", page)
