"""The explorer page in headless Chromium against a real `kglink serve` with the sample graph."""

from __future__ import annotations

import subprocess

import pytest
from explorer_helpers import KGLINK_CMD, find, find_all, wait_for

pytest.importorskip("selenium", reason="selenium is not installed (kglink[browser])")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

MENTION, PAIR = "Grand Ole Opry", ("grand ole opry", "the grand ole opry")
QUESTION = "Where is the Grand Ole Opry held?"


def _open(browser, url: str) -> None:
    browser.get("about:blank")  # a new page load, even when only the #fragment differs
    browser.get(url)
    wait_for(browser, lambda d: "entities" in d.find_element(By.ID, "stats").text)


def _type(browser, field: str, text: str) -> None:
    box = browser.find_element(By.ID, field)
    box.clear()
    box.send_keys(text, Keys.ENTER)


def test_typing_a_mention_shows_its_match_and_no_link_below_threshold(browser, server, tmp_path):
    _open(browser, server.url + "/")
    _type(browser, "search-input", MENTION)
    first = find(browser, "#matches li.match")
    assert first.get_attribute("data-node") in PAIR
    assert float(first.find_element(By.CLASS_NAME, "score").text) >= 0.8
    browser.save_screenshot(str(tmp_path / "link.png"))
    _type(browser, "search-input", "qqqq zzzz xxxx")
    assert find(browser, "#search-results .no-link").text == "no link"
    assert "below the threshold" in browser.find_element(By.ID, "search-results").text
    browser.save_screenshot(str(tmp_path / "no-link.png"))


def test_entity_view_and_a_bounded_picture_whose_nodes_open_their_view(browser, server, tmp_path):
    _open(browser, server.url + "/#g=kg&node=" + "e:grand%20ole%20opry")
    assert find(browser, "#entity-name").text == "grand ole opry"
    assert "Grand Ole Opry" in browser.find_element(By.ID, "surface-forms").text
    synonym = find(browser, f"li.synonym[data-other='{PAIR[1]}']")
    assert float(synonym.find_element(By.CLASS_NAME, "score").text) > 0.9
    assert find_all(browser, "#passages li"), "the entity's passages are listed"
    picture = browser.find_element(By.ID, "picture")
    wait_for(browser, lambda d: int(picture.get_attribute("data-nodes") or 0) > 1)
    count = browser.execute_script("return window.kglinkCy.nodes().length")
    assert 1 < count <= 60  # the cap the page asks for by default
    kinds = set(browser.execute_script("return window.kglinkCy.edges().map(e => e.data('kind'))"))
    assert {"mention", "synonym"} <= kinds
    browser.save_screenshot(str(tmp_path / "entity.png"))
    browser.execute_script("window.kglinkCy.getElementById(arguments[0]).emit('tap')", "e:" + PAIR[1])
    wait_for(browser, lambda d: d.find_element(By.ID, "entity-name").text == PAIR[1])


def test_asking_a_question_shows_passages_seeds_and_their_subgraph(browser, server, tmp_path):
    _open(browser, server.url + "/")
    _type(browser, "question-input", QUESTION)
    passages = find_all(browser, "#question-passages li.retrieved", at_least=5)
    assert len(passages) == 5
    seeds = [s.get_attribute("data-node") for s in find_all(browser, "#question-seeds li.seed")]
    assert "e:the grand ole opry" in seeds
    roles = browser.execute_script("return window.kglinkCy.nodes().map(n => n.data('role'))")
    assert roles.count("retrieved") == 5 and roles.count("seed") == len(seeds)
    browser.save_screenshot(str(tmp_path / "question.png"))


def test_rejecting_a_synonym_edge_shows_at_once_and_after_a_reload(browser, server, tmp_path):
    listed = subprocess.run(
        [*KGLINK_CMD, "synonyms", "--graph", str(server.folder)], capture_output=True, text=True, check=True
    ).stdout
    assert f"{PAIR[0]}  <->  {PAIR[1]}" in listed
    _open(browser, server.url + "/#g=kg&node=e:grand%20ole%20opry")
    synonym = find(browser, f"li.synonym[data-other='{PAIR[1]}']")
    synonym.find_element(By.CLASS_NAME, "reject").click()
    wait_for(browser, lambda d: synonym.find_element(By.CLASS_NAME, "decision").text == "rejected")
    browser.refresh()
    wait_for(browser, lambda d: d.find_element(By.ID, "entity-name").text == PAIR[0])
    find(browser, f"li.rejected-pair[data-other='{PAIR[1]}']")
    assert not browser.find_elements(By.CSS_SELECTOR, "li.synonym")
    browser.save_screenshot(str(tmp_path / "rejected.png"))
    listed = subprocess.run(
        [*KGLINK_CMD, "synonyms", "--graph", str(server.folder)], capture_output=True, text=True, check=True
    ).stdout
    assert PAIR[1] not in listed


def test_a_server_with_keys_asks_for_one_and_works_after_it(browser, key_server, tmp_path):
    browser.get(key_server.url + "/")
    dialog = find(browser, "#api-key-dialog")
    wait_for(browser, lambda d: dialog.is_displayed())
    assert "API key" in dialog.text
    browser.save_screenshot(str(tmp_path / "key-prompt.png"))
    _type(browser, "api-key-input", "secret")
    wait_for(browser, lambda d: "entities" in d.find_element(By.ID, "stats").text)
    assert not dialog.is_displayed()
    assert browser.execute_script("return sessionStorage.getItem('kglink-api-key')") == "secret"
    assert browser.execute_script("return localStorage.length") == 0
    _type(browser, "search-input", MENTION)
    assert find(browser, "#matches li.match").get_attribute("data-node") in PAIR
    browser.save_screenshot(str(tmp_path / "key-accepted.png"))
