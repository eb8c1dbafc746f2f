"""The page as an office uses it, in a real headless Chromium: removal asks first and can be
undone, lists follow the library, filters show, the draft check agrees with itself, a
conversation keeps its history. Screenshots at 1440 px and 390 px wide are saved to
bench/out/screenshots/ for a person to look at."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from assistant.office.service import Service

from .test_browser import _wait, start_chrome
from .test_ui_client import launch, serve_corpus

pytestmark = [pytest.mark.browser]
SHOTS = Path(__file__).resolve().parents[1] / "bench" / "out" / "screenshots"


@pytest.fixture(scope="module")
def chrome():
    driver = start_chrome("1440,1600", "--lang=zh-CN")
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def mini_page(mini_corpus, tmp_path):
    app, url, service = serve_corpus(mini_corpus, tmp_path)
    yield url, mini_corpus, service
    app.close()


def _tab(driver, name: str) -> None:
    from selenium.webdriver.common.by import By

    _wait(driver, lambda d: [b for b in d.find_elements(By.CSS_SELECTOR, "button[role=tab]") if b.text == name])
    next(b for b in driver.find_elements(By.CSS_SELECTOR, "button[role=tab]") if b.text == name).click()
    time.sleep(0.5)


def _choose(driver, elem_id: str, text: str) -> None:
    """Pick the option of a Gradio dropdown that contains `text`."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, f"#{elem_id} input"))
    box.click()
    box.send_keys(text)
    time.sleep(0.4)
    box.send_keys(Keys.ENTER)
    time.sleep(0.4)
    box.send_keys(Keys.ESCAPE)


def _ask(driver, question: str, wait_for: str = "出处") -> str:
    from selenium.webdriver.common.by import By

    box = _wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#pq-question textarea"))
    box.clear()
    box.send_keys(question)
    driver.find_element(By.ID, "pq-ask").click()
    _wait(driver, lambda d: question in d.find_element(By.ID, "pq-answer").get_attribute("innerHTML")
          or wait_for in d.find_element(By.ID, "pq-answer").text)
    time.sleep(0.8)
    return driver.find_element(By.ID, "pq-answer").text


def _shots(driver, name: str) -> None:
    """The page as it is, at desktop and phone width; the window back at desktop size after."""
    for width in (1440, 390):
        _shot(driver, name, width)
    driver.set_window_size(1440, 1600)


def _shot(driver, name: str, width: int = 1440) -> Path:
    driver.set_window_size(width, 1600)
    time.sleep(0.6)
    path = SHOTS / f"{name}-{width}.png"
    driver.save_screenshot(str(path))
    scroll_width = driver.execute_script("return document.documentElement.scrollWidth")
    assert scroll_width <= width + 2, f"{name} needs sideways scrolling at {width}px ({scroll_width}px wide)"
    return path


def test_removal_asks_first_names_the_document_and_can_be_undone(chrome, mini_page):
    from selenium.webdriver.common.by import By

    url, corpus, service = mini_page
    chrome.get(url)
    _tab(chrome, "管理")
    assert chrome.find_element(By.CSS_SELECTOR, "#pq-remove-pick input").get_attribute("value") == ""  # nothing chosen
    chrome.find_element(By.ID, "pq-remove").click()
    _wait(chrome, lambda d: "请先选择要移除的文档" in d.find_element(By.ID, "pq-admin-status").text)
    assert len(list(corpus.glob("*.txt"))) == 2
    _choose(chrome, "pq-remove-pick", "乙县")
    chrome.find_element(By.ID, "pq-remove").click()
    text = _wait(chrome, lambda d: d.find_element(By.ID, "pq-confirm-text").text)
    assert "乙县教育局2024年工作要点" in text and "可以恢复" in text
    _shots(chrome, "confirm-removal")
    chrome.find_element(By.ID, "pq-cancel-remove").click()
    _wait(chrome, lambda d: "已取消" in d.find_element(By.ID, "pq-admin-status").text)
    assert (corpus / "2024-乙县教育工作要点.txt").exists()
    chrome.find_element(By.ID, "pq-remove").click()
    _wait(chrome, lambda d: d.find_element(By.ID, "pq-confirm").is_displayed())
    chrome.find_element(By.ID, "pq-confirm-remove").click()
    _wait(chrome, lambda d: "已从索引移除" in d.find_element(By.ID, "pq-admin-status").text)
    assert not (corpus / "2024-乙县教育工作要点.txt").exists() and len(service.engine.documents()) == 1
    _choose(chrome, "pq-restore-pick", "2024-乙县")
    chrome.find_element(By.ID, "pq-restore").click()
    _wait(chrome, lambda d: "已恢复" in d.find_element(By.ID, "pq-admin-status").text)
    assert (corpus / "2024-乙县教育工作要点.txt").exists() and len(service.engine.documents()) == 2


def test_lists_follow_an_upload_made_in_another_tab(chrome, mini_page, tmp_path):
    from selenium.webdriver.common.by import By

    url, corpus, service = mini_page
    chrome.get(url)
    first = chrome.current_window_handle
    chrome.switch_to.new_window("tab")
    chrome.get(url)
    _tab(chrome, "管理")
    new = tmp_path / "2025-丙区教育工作要点.txt"
    new.write_text("丙区教育局2025年工作要点\n一、推进课后服务\n1.做好课后托管。实现课后服务全覆盖。\n", encoding="utf-8")
    chrome.find_element(By.CSS_SELECTOR, "#pq-uploads input[type=file]").send_keys(str(new))
    time.sleep(1)
    chrome.find_element(By.ID, "pq-upload").click()
    _wait(chrome, lambda d: "已加入索引" in d.find_element(By.ID, "pq-admin-status").text)
    chrome.close()
    chrome.switch_to.window(first)
    _ask(chrome, "课后托管")  # the first tab's next action brings its lists up to date
    _tab(chrome, "文档")
    box = chrome.find_element(By.CSS_SELECTOR, "#pq-doc-pick input")
    box.click()
    time.sleep(0.5)
    options = " ".join(li.text for li in chrome.find_elements(By.CSS_SELECTOR, "ul[role=listbox] li"))
    assert "丙区教育局2025年工作要点" in options
    chrome.get(url)  # and a freshly loaded page offers its year and region
    box = _wait(chrome, lambda d: d.find_element(By.CSS_SELECTOR, "#pq-qa-year input"))
    box.click()
    time.sleep(0.5)
    assert "2025" in " ".join(li.text for li in chrome.find_elements(By.CSS_SELECTOR, "ul[role=listbox] li"))


def test_filters_are_shown_and_belong_to_their_tab(chrome, mini_page):
    from selenium.webdriver.common.by import By

    url, _, _ = mini_page
    chrome.get(url)
    _choose(chrome, "pq-qa-year", "2024")
    _ask(chrome, "教育")
    passages = chrome.find_element(By.ID, "pq-passages").text
    assert "已按 2024 年 筛选" in passages.replace("\n", " ") and "甲区" not in passages
    _shots(chrome, "question-with-filters")
    _tab(chrome, "检索")
    box = chrome.find_element(By.CSS_SELECTOR, "#pq-query textarea, #pq-query input")
    box.send_keys("教育")
    chrome.find_element(By.ID, "pq-search").click()
    _wait(chrome, lambda d: "pq-card" in d.find_element(By.ID, "pq-results").get_attribute("innerHTML"))
    results = chrome.find_element(By.ID, "pq-results").text
    assert "已按" not in results and "甲区" in results  # the 问答 tab's filter does not narrow 检索
    _tab(chrome, "问答")
    chrome.find_element(By.ID, "pq-qa-clear").click()
    time.sleep(0.5)
    _ask(chrome, "教育")
    assert "已按" not in chrome.find_element(By.ID, "pq-passages").text


def test_a_conversation_keeps_its_history_and_reads_follow_ups(chrome, mini_page):
    from selenium.webdriver.common.by import By

    url, _, _ = mini_page
    chrome.get(url)
    _ask(chrome, "发展党员有哪些要求")
    answer = _ask(chrome, "那2024年呢", wait_for="理解为")
    assert "理解为：2024年 发展党员有哪些要求" in answer
    history = chrome.find_element(By.ID, "pq-history").text
    assert "本次对话" in history and "发展党员有哪些要求" in history
    _shots(chrome, "follow-up")
    chrome.find_element(By.ID, "pq-useless").click()
    _wait(chrome, lambda d: "谢谢" in d.find_element(By.ID, "pq-feedback").text)
    chrome.find_element(By.ID, "pq-clear-conversation").click()
    _wait(chrome, lambda d: not d.find_element(By.ID, "pq-history").text.strip())
    answer = _ask(chrome, "那2024年呢", wait_for="回答")
    assert "理解为" not in answer  # a new conversation: nothing to follow


@pytest.mark.model
def test_the_draft_check_agrees_with_its_own_precedents(chrome, real_index, tmp_path):
    """A five-item draft is not told that every item of 2023 武进 is missing while its own
    precedents name some of them."""
    from selenium.webdriver.common.by import By

    from assistant.answers.answer import Answerer
    from assistant.drafting.draft import check_draft
    from assistant.drafting.export import draft_blocks, to_markdown

    draft = ("2025年某区教育工作要点\n一、党的建设\n1.打造党建品牌。开展党建品牌创建，评选示范校。\n"
             "2.严格发展党员。把骨干教师培养成党员，严把入口关。\n二、队伍建设\n3.加强师德师风建设。建立师德承诺制。\n"
             "4.为教师减负。精简各类检查评比，减轻教师非教学负担。\n三、安全稳定\n5.防治校园欺凌。开展欺凌专项治理。\n")
    service = Service(real_index)
    report = check_draft(Answerer(service.engine), draft)
    precedent_ids = {p.section_id for item in report.items for p in item.precedents}
    assert report.covered > 0 and not precedent_ids & {m.section_id for m in report.missing}
    assert f"覆盖其 {report.covered} 个条目" in to_markdown(draft_blocks(report))
    app, url = launch(service)
    try:
        chrome.get(url)
        _tab(chrome, "先例")
        chrome.find_element(By.CSS_SELECTOR, "#pq-draft-panel button").click()
        time.sleep(0.5)
        chrome.find_element(By.CSS_SELECTOR, "#pq-draft-box textarea").send_keys(draft)
        chrome.find_element(By.ID, "pq-draft-check").click()
        shown = _wait(chrome, lambda d: "对照文件" in d.find_element(By.ID, "pq-draft").text and d.find_element(By.ID, "pq-draft").text, 120)
        assert f"草稿未涉及对照文件的 {len(report.missing)} 个条目" in shown or "均已涉及" in shown
        assert "相关度" in shown
    finally:
        app.close()


def test_the_document_tab_fits_a_phone(chrome, mini_page):
    from selenium.webdriver.common.by import By

    url, _, _ = mini_page
    chrome.get(url)
    _tab(chrome, "文档")
    _choose(chrome, "pq-doc-pick", "甲区")
    _wait(chrome, lambda d: "目录" in d.find_element(By.ID, "pq-doc").text)
    _shots(chrome, "document")
    chrome.set_window_size(390, 1600)
    time.sleep(0.6)
    years = chrome.execute_script(LINES_OF_CELLS, '#pq-docs-table [role=gridcell][data-col="1"]')
    chrome.set_window_size(1440, 1600)
    assert sorted(years) == [["2023", 1], ["2024", 1]]  # each year on one line at a phone's width


# The text of the cells a selector finds, each with the number of lines it is laid out on.
LINES_OF_CELLS = """
const out = [];
for (const td of document.querySelectorAll(arguments[0])) {
  const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
  let node, text = '', tops = new Set();
  while ((node = walker.nextNode())) {
    if (!node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const rect of range.getClientRects()) tops.add(Math.round(rect.top));
    text += node.textContent.trim();
  }
  if (text) out.push([text, tops.size]);
}
return out;
"""


def teardown_module(module):
    shutil.rmtree(SHOTS / "tmp", ignore_errors=True)
