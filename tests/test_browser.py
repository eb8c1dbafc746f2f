"""A real headless Chromium (Debian's chromium + chromium-driver) drives the page
served with the real model over the real corpus."""

from __future__ import annotations

import os
import re
import shutil
import socket
import time

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.model]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_chrome(window: str = "1280,1800", *extra: str):
    """Headless Chromium, or a skip (a failure in CI) when it is not installed."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        if os.environ.get("POLICYQA_REQUIRE_BROWSER"):
            pytest.fail("chromium / chromedriver missing: apt-get install chromium chromium-driver")
        pytest.skip("chromium / chromedriver not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--window-size={window}", *extra):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    return webdriver.Chrome(service=DriverService(DRIVER), options=opts)


@pytest.fixture(scope="module")
def browser():
    driver = start_chrome()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def page_url(real_index):
    from assistant.office.service import Service

    from .test_ui_client import launch

    app, url = launch(Service(real_index))
    yield url
    app.close()


def _wait(driver, condition, seconds=90):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


def test_ask_in_the_browser_and_open_the_source(browser, page_url, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(page_url)
    box = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#pq-question textarea"))
    box.send_keys("发展党员有哪些要求")
    browser.find_element(By.CSS_SELECTOR, "#pq-ask").click()
    _wait(browser, lambda d: "出处" in d.find_element(By.ID, "pq-answer").text)
    answer = browser.find_element(By.ID, "pq-answer").text
    browser.save_screenshot(str(tmp_path / "answer.png"))
    assert (tmp_path / "answer.png").stat().st_size > 10_000
    assert "回答（摘自文件原文）" in answer
    assert "金坛区委教育工委2023年工作要点 · 2023 · 金坛区 · 坛教委字〔2023〕20号 › 三、鲜明选育导向" in answer
    assert "7.持续提升发展党员工作水平" in answer
    assert "2024年武进教育党建工作要点 · 2024 · 武进区" in answer
    assert "中共上海市宝山区教育工作委员会2020年工作要点 · 2020 · 宝山区" in answer
    assert browser.find_elements(By.CSS_SELECTOR, "#pq-passages .pq-card mark")  # query words marked

    # One click on a card opens its section in the document.
    link = browser.find_element(By.CSS_SELECTOR, "#passage-1 a.pq-open")
    heading = browser.find_element(By.CSS_SELECTOR, "#passage-1 .pq-cite").text.split("›")[-1].strip()
    link.click()
    _wait(browser, lambda d: len(d.window_handles) > 1)
    browser.switch_to.window(browser.window_handles[-1])
    target = _wait(browser, lambda d: d.find_element(By.ID, "pq-target"))
    time.sleep(0.5)
    assert heading in target.text
    browser.save_screenshot(str(tmp_path / "section.png"))
    browser.close()
    browser.switch_to.window(browser.window_handles[0])


def test_document_text_with_script_stays_text(browser, tmp_path):
    """A document carrying <script> is shown as text: the script does not run."""
    from selenium.webdriver.common.by import By

    from assistant.office.service import Service
    from indexer.build import build_index
    from indexer.embed import FakeEmbedder

    from .test_ui_client import launch

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "x.txt").write_text(
        "戊区通知\n一、总则\n1.测试脚本<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">正文。"
        "<a href=\"javascript:window.pwned=4\">点此查看</a>\n",
        encoding="utf-8")
    build_index(corpus, tmp_path / "index", embedder=FakeEmbedder())
    app, url = launch(Service(tmp_path / "index", embedder=FakeEmbedder()))
    try:
        browser.get(url)
        box = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#pq-question textarea"))
        box.send_keys("测试脚本 <script>window.pwned=3</script>")
        browser.find_element(By.CSS_SELECTOR, "#pq-ask").click()
        _wait(browser, lambda d: "<script>" in d.find_element(By.ID, "pq-passages").text)
        passages = browser.find_element(By.ID, "pq-passages")
        assert "<img src=x onerror=" in passages.text and "javascript:window.pwned=4" in passages.text
        assert not passages.find_elements(By.CSS_SELECTOR, "script, img[onerror], a[href^='javascript']")
        for link in passages.find_elements(By.CSS_SELECTOR, "a"):
            assert not (link.get_attribute("href") or "").lower().startswith("javascript")
        assert browser.execute_script("return window.pwned === undefined")

        # The section opened in its document shows the same text as text.
        passages.find_element(By.CSS_SELECTOR, "a.pq-open").click()
        _wait(browser, lambda d: len(d.window_handles) > 1)
        browser.switch_to.window(browser.window_handles[-1])
        target = _wait(browser, lambda d: d.find_element(By.ID, "pq-target"))
        assert "<script>window.pwned=1</script>" in target.text
        assert browser.execute_script("return window.pwned === undefined")
        browser.close()
        browser.switch_to.window(browser.window_handles[0])
    finally:
        app.close()


def test_login_in_the_browser_before_anything_shows(browser, tmp_path):
    from selenium.webdriver.common.by import By

    from assistant.office.service import Service
    from indexer.build import build_index
    from indexer.embed import FakeEmbedder
    from tests.conftest import MINI_DOCS

    from .test_ui_client import launch

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in MINI_DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    build_index(corpus, tmp_path / "index", embedder=FakeEmbedder())
    service = Service(tmp_path / "index", embedder=FakeEmbedder())
    app, url = launch(service, auth=("admin", "s3cret"))
    port = url.rstrip("/").rsplit(":", 1)[1]
    try:
        browser.delete_all_cookies()
        browser.get(f"http://127.0.0.1:{port}/")
        user = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "input[type=text], input:not([type])"))
        assert not browser.find_elements(By.CSS_SELECTOR, "#pq-question")
        assert "甲区" not in browser.page_source
        user.send_keys("admin")
        browser.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys("wrong")
        browser.find_element(By.CSS_SELECTOR, "button").click()
        time.sleep(1.5)
        assert not browser.find_elements(By.CSS_SELECTOR, "#pq-question")

        browser.get(f"http://127.0.0.1:{port}/")
        user = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "input[type=text], input:not([type])"))
        user.send_keys("admin")
        browser.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys("s3cret")
        browser.find_element(By.CSS_SELECTOR, "button").click()
        box = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#pq-question textarea"), 30)
        box.send_keys("发展党员")
        browser.find_element(By.CSS_SELECTOR, "#pq-ask").click()
        _wait(browser, lambda d: "出处" in d.find_element(By.ID, "pq-answer").text)
        # the browser sends its login form as multipart: the audit log has the name it tried, both times
        logins = [(r.get("action"), r.get("user")) for r in service.audit.read()]
        assert ("login_failed", "admin") in logins and ("login", "admin") in logins
    finally:
        browser.delete_all_cookies()
        app.close()


def _sources(answer_html: str) -> list[str]:
    return re.findall(r'<div class="pq-source">(.*?)</div>', answer_html)


def test_a_follow_up_keeps_its_year_through_the_api(page_url):
    """`那2024年呢` after a question cites 2024 documents only (the scope is a constraint)."""
    from gradio_client import Client

    client = Client(page_url, verbose=False)
    answer, _ = client.predict("那2024年呢", [], [], [], "发展党员有哪些要求", api_name="/ask")
    assert "理解为：2024年 发展党员有哪些要求" in answer
    sources = _sources(answer)
    assert sources and all("· 2024 ·" in s for s in sources)
    answer, _ = client.predict("那2021年呢", [], [], [], "发展党员有哪些要求", api_name="/ask")
    assert "索引中没有2021年的文件" in answer


def test_an_overview_and_a_follow_up_in_the_browser(browser, page_url):
    from selenium.webdriver.common.by import By

    browser.get(page_url)
    box = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#pq-question textarea"))
    box.send_keys("金坛区委教育工委2023年工作要点有哪几个方面")
    browser.find_element(By.CSS_SELECTOR, "#pq-ask").click()
    _wait(browser, lambda d: "出处" in d.find_element(By.ID, "pq-answer").text)
    answer = browser.find_element(By.ID, "pq-answer").text
    assert "按文件的标题结构列出" in answer and "分为5个方面" in answer and "五、坚持党建引领" in answer
    box = browser.find_element(By.CSS_SELECTOR, "#pq-question textarea")
    box.clear()
    box.send_keys("发展党员有哪些要求")
    browser.find_element(By.CSS_SELECTOR, "#pq-ask").click()
    _wait(browser, lambda d: "7.持续提升发展党员工作水平" in d.find_element(By.ID, "pq-answer").text)
    box = browser.find_element(By.CSS_SELECTOR, "#pq-question textarea")
    box.clear()
    box.send_keys("那2024年呢")
    browser.find_element(By.CSS_SELECTOR, "#pq-ask").click()
    _wait(browser, lambda d: "理解为" in d.find_element(By.ID, "pq-answer").text)
    time.sleep(0.5)
    lines = [x for x in browser.find_element(By.ID, "pq-answer").text.splitlines() if re.match(r"\[\d+\]", x)]
    assert lines and all("· 2024 ·" in x for x in lines)


def test_only_documents_in_force_and_a_change_list_in_the_browser(browser, page_url):
    """只看现行有效 is a filter of 检索 that says so above the results; 文档 lists what changed
    between two documents picked from their lists."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(page_url)
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#pq-question textarea"))
    browser.find_element(By.XPATH, "//button[@role='tab'][contains(., '检索')]").click()
    box = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#pq-query textarea"))
    browser.find_element(By.CSS_SELECTOR, "#pq-s-current input[type=checkbox]").click()
    box.send_keys("发展党员")
    browser.find_element(By.CSS_SELECTOR, "#pq-search").click()
    _wait(browser, lambda d: "只看现行有效" in d.find_element(By.ID, "pq-results").text)
    assert browser.find_elements(By.CSS_SELECTOR, "#pq-results .pq-card")

    browser.find_element(By.XPATH, "//button[@role='tab'][contains(., '文档')]").click()
    panel = _wait(browser, lambda d: d.find_element(By.ID, "pq-changes-panel"))
    panel.find_element(By.XPATH, ".//button[contains(., '两份文件的变化')]").click()
    for elem_id, words in (("pq-changes-before", "2023年武进教育工作要点"), ("pq-changes-after", "2024年武进教育党建")):
        field = _wait(browser, lambda d, e=elem_id: d.find_element(By.CSS_SELECTOR, f"#{e} input"))
        field.click()
        field.send_keys(words)
        time.sleep(0.5)
        field.send_keys(Keys.ARROW_DOWN, Keys.ENTER)
    browser.find_element(By.ID, "pq-changes-go").click()
    _wait(browser, lambda d: "【新增】" in d.find_element(By.ID, "pq-changes").text)
    text = browser.find_element(By.ID, "pq-changes").text
    assert "从《2023年武进教育工作要点》到《2024年武进教育党建工作要点》" in text and "【调整】" in text


def test_a_user_changes_their_password_and_logs_out_in_the_browser(browser, mini_corpus, tmp_path):
    """li changes her password on the page: she is sent to the login, gets in with the new one,
    and 退出登录 takes her back to the login; each step is in the audit log under her name."""
    from selenium.webdriver.common.by import By

    from .test_ui_client import serve_office

    app, url, service, users = serve_office(mini_corpus, tmp_path)
    try:
        browser.delete_all_cookies()
        _browser_login(browser, url, "li", "reader-pass")
        _wait(browser, lambda d: "已登录：li（读者）" in d.find_element(By.ID, "pq-who").text, 30)
        browser.find_element(By.CSS_SELECTOR, "#pq-account button").click()  # open the accordion
        for field, value in (("pq-pw-current", "reader-pass"), ("pq-pw-new", "li-new-pass"),
                             ("pq-pw-repeat", "li-new-pass")):
            _wait(browser, lambda d, f=field: d.find_element(By.CSS_SELECTOR, f"#{f} input")).send_keys(value)
        browser.find_element(By.ID, "pq-pw-change").click()
        _wait(browser, lambda d: "密码已修改" in d.find_element(By.ID, "pq-pw-status").text)
        _wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "#pq-question"), 20)  # at the login
        assert users.check("li", "li-new-pass") is not None
        _browser_login(browser, url, "li", "li-new-pass")
        _wait(browser, lambda d: d.find_element(By.ID, "pq-logout"), 30).click()
        _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "input[type=password]"), 20)
        assert not browser.find_elements(By.CSS_SELECTOR, "#pq-question")
        actions = [(r["action"], r["user"]) for r in service.audit.read()]
        assert ("password_change", "li") in actions and ("logout", "li") in actions
        assert actions.count(("login", "li")) == 2
    finally:
        browser.delete_all_cookies()
        app.close()


def _browser_login(browser, url: str, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(url)
    user = _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "input[type=text], input:not([type])"), 20)
    user.send_keys(name)
    browser.find_element(By.CSS_SELECTOR, "input[type=password]").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "button").click()
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#pq-question textarea"), 30)
