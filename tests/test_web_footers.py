"""Each page's footer says what holds for it (the real server): the check page that uploads
are deleted after 15 minutes, the receipt and the staff pages that submitted books stay until
the retention purge, the login page what the journal keeps of failed logins, the codes page
that a code is shown once, the book, roadmap and survey pages what they keep."""

from __future__ import annotations

import re

import httpx

from tests.storm import STAFF_LOGIN, STAFF_SECRET, Outcome, check_and_submit, login, storm_site
from tests.web_bench import start_server

FOOT_RE = re.compile(r'<footer class="wrap foot" id="foot">(.*?)</footer>', re.S)


def foot(html: str) -> str:
    m = FOOT_RE.search(html)
    assert m, "no footer"
    return " ".join(re.sub(r"<[^>]+>", "", m.group(1)).replace("&nbsp;", " ").split())


def test_each_page_says_what_holds_for_it(tmp_path) -> None:
    site = storm_site(tmp_path, [125])
    curator = site.curators[0]
    local = start_server(log_path=tmp_path / "local.log")
    server = start_server("--collect-dir", site.collect, "--access-file", site.access,
                          "--registry", site.registry, log_path=tmp_path / "serve.log")
    try:
        text = foot(httpx.get(local.url + "/").text)  # on one's own computer: nothing is kept
        assert "не дольше 15 минут после проверки" in text and "папке сбора" not in text
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
            text = foot(c.get("/login").text)
            assert "только их хеши" in text and "без введённых кодов" in text
            assert "15 минут" not in text
            text = foot(login(c, curator.code, curator.secret).text)
            assert "не дольше 15 минут после проверки" in text
            assert "остаётся в папке сбора" in text and "по сроку хранения" in text
            out = Outcome(curator.code)
            check_and_submit(c, curator, out)
            assert out.receipt, out.error
            text = foot(c.get(out.receipt_url).text)
            assert "хранится в папке сбора" in text and "удаляется через 15 минут" in text
            for path, words in (("/book", "при каждом скачивании"),
                                ("/roadmap", "не дольше 15 минут"),
                                ("/surveys", "без ФИО")):
                answer = c.get(path)
                assert answer.status_code == 200, path
                assert words in foot(answer.text), path
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=120) as c:
            login(c, STAFF_LOGIN, STAFF_SECRET)
            for path in ("/staff", "/staff/sync", "/staff/registry", "/staff/school/ОО-001"):
                text = foot(c.get(path).text)
                assert "nastavnik purge" in text and "без ФИО" in text, path
                assert "15 минут" not in text, path
            text = foot(c.get("/staff/codes").text)
            assert "только один раз" in text and "без самого кода" in text
            assert "nastavnik purge" in foot(c.get("/staff/remind").text)
    finally:
        local.stop()
        server.stop()

