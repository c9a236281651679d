"""The chat widget in a real browser: Debian's Chromium driven by Playwright
against the demo page, a real Rasa server and a real action server."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from conftest import ROOT
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from actions.knowledge import Topic, default_knowledge

KNOWLEDGE = default_knowledge()
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "build" / "test-output" / "screenshots"
XSS = "<img src=x onerror=alert(1)>"
TIMEOUT_MS = 15_000
WATCH_FOR_TYPING_INDICATOR = """() => {
  const root = document.querySelector("deep-chat").shadowRoot;
  window.typingIndicatorSeen = false;
  new MutationObserver(() => {
    if (root.querySelector(".deep-chat-loading-message-bubble")) window.typingIndicatorSeen = true;
  }).observe(root, { childList: true, subtree: true });
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Sync API: Rasa switches asyncio to uvloop, whose policy cannot start
    # Playwright's driver from pytest-asyncio's loop.
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's `chromium` (make test does, as root)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def bubbles(page: Page) -> Any:
    return page.locator("deep-chat .message-bubble")


def text_input(page: Page) -> Any:
    return page.locator("deep-chat #text-input")


def send(page: Page, text: str) -> None:
    # deep-chat ignores Enter while an answer is loading: wait for the last one.
    expect(page.locator("deep-chat .deep-chat-loading-message-bubble")).to_have_count(0)
    text_input(page).click()
    text_input(page).fill(text)
    page.keyboard.press("Enter")


def expect_answer(page: Page, topic: Topic) -> None:
    """The topic's answer is shown, with the title of each source under it."""
    answer = bubbles(page).filter(has_text=topic.answer[:60]).last
    expect(answer).to_be_visible()
    for source in topic.sources:
        expect(answer).to_contain_text(source.title)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_a_visitor_chats_clicks_reloads_and_stays_safe(
    page: Page, web_urls: Dict[str, str]
) -> None:
    dialogs: List[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    page.goto(web_urls["page"])

    # Greeting with 3-4 suggested questions as buttons.
    greet = KNOWLEDGE.replies["greet"]
    expect(bubbles(page).filter(has_text=greet.text[:40])).to_be_visible()
    suggestions = page.locator("deep-chat .deep-chat-suggestion-button")
    expect(suggestions).to_have_count(len(greet.suggest))
    assert 3 <= len(greet.suggest) <= 4
    shot(page, "1-greeting")

    # Clicking a suggestion answers that topic.
    first = KNOWLEDGE.topics[greet.suggest[0]]
    suggestions.filter(has_text=first.question).click()
    expect_answer(page, first)

    # Typing a question and pressing Enter; a typing indicator shows while waiting.
    page.evaluate(WATCH_FOR_TYPING_INDICATOR)
    send(page, "does it hurt?")
    pain = KNOWLEDGE.topics["pain"]
    expect_answer(page, pain)
    assert page.evaluate("() => window.typingIndicatorSeen") is True
    focused = "() => document.activeElement.shadowRoot?.activeElement?.id"
    assert page.evaluate(focused) == "text-input", "the input keeps the focus"

    # A follow-up button sends its question and gets that answer.
    follow_up = KNOWLEDGE.topics[pain.related[1]]
    (
        page.locator("deep-chat .deep-chat-suggestion-button")
        .filter(has_text=follow_up.question)
        .last.click()
    )
    expect_answer(page, follow_up)
    shot(page, "2-answers")

    # The conversation survives a reload: same history, same conversation.
    shown = bubbles(page).count()
    page.reload()
    expect(bubbles(page).filter(has_text=follow_up.answer[:60])).to_be_visible()
    assert bubbles(page).count() == shown
    # Same conversation after the reload: its first-answer note is not shown again.
    send(page, "is microneedling safe?")
    expect_answer(page, KNOWLEDGE.topics["safety"])
    assert bubbles(page).filter(has_text=KNOWLEDGE.disclaimer).count() == 1

    # HTML typed by the user is shown as text, never run.
    send(page, XSS)
    expect(bubbles(page).filter(has_text=XSS)).to_be_visible()
    assert page.locator("deep-chat img[src='x']").count() == 0
    send(page, "see [my photos](javascript:alert(2)) or [this](https://example.org)")
    expect(bubbles(page).filter(has_text="my photos")).to_be_visible()
    assert page.locator("deep-chat a[href^='javascript']").count() == 0
    safe_link = page.locator("deep-chat a[href='https://example.org']")
    expect(safe_link).to_have_attribute("rel", "noopener noreferrer")
    expect(safe_link).to_have_attribute("target", "_blank")
    page.wait_for_timeout(300)
    assert dialogs == []
    shot(page, "3-after-reload-and-injection")


def test_two_questions_at_once_then_feedback_both_ways(
    page: Page, web_urls: Dict[str, str]
) -> None:
    page.goto(web_urls["page"])
    expect(bubbles(page).filter(has_text=KNOWLEDGE.replies["greet"].text[:40])).to_be_visible()

    # Both answers, in the order asked, each with its sources.
    send(page, "does it hurt and how long is the recovery?")
    pain, downtime = KNOWLEDGE.topics["pain"], KNOWLEDGE.topics["downtime"]
    expect_answer(page, downtime)
    expect_answer(page, pain)
    texts = bubbles(page).all_inner_texts()
    assert texts.index(next(t for t in texts if pain.answer[:60] in t)) < texts.index(
        next(t for t in texts if downtime.answer[:60] in t)
    )

    # "Not what I asked" offers other topics and the decline behind "Something else".
    suggestions = page.locator("deep-chat .deep-chat-suggestion-button")
    suggestions.filter(has_text=KNOWLEDGE.feedback.not_helpful).last.click()
    missed = KNOWLEDGE.replies["feedback_not_helpful"]
    expect(bubbles(page).filter(has_text=missed.text[:40])).to_be_visible()
    expect(suggestions.filter(has_text=KNOWLEDGE.something_else).last).to_be_visible()
    shot(page, "6-two-questions-and-feedback")

    # "That helped" gets the thank-you.
    send(page, "when will i see results?")
    expect_answer(page, KNOWLEDGE.topics["results_timing"])
    suggestions.filter(has_text=KNOWLEDGE.feedback.helpful).last.click()
    expect(bubbles(page).filter(has_text=KNOWLEDGE.replies["thank"].text[:40])).to_be_visible()


def test_unreachable_server_gets_a_clear_message_then_recovers(
    page: Page, web_urls: Dict[str, str]
) -> None:
    page.goto(web_urls["page"])
    expect(page.locator("deep-chat .deep-chat-suggestion-button").first).to_be_visible()
    page.route("**/webhooks/rest/webhook", lambda route: route.abort())
    send(page, "is it safe?")
    expect(page.locator("deep-chat").get_by_text("can't reach the assistant")).to_be_visible()
    shot(page, "4-server-unreachable")
    page.unroute("**/webhooks/rest/webhook")
    send(page, "is microneedling safe?")
    expect_answer(page, KNOWLEDGE.topics["safety"])


def test_a_reply_lost_on_the_way_is_fetched_again_without_an_error(
    page: Page, web_urls: Dict[str, str]
) -> None:
    page.goto(web_urls["page"])
    expect(page.locator("deep-chat .deep-chat-suggestion-button").first).to_be_visible()
    sent: List[Dict[str, Any]] = []

    def lose_the_first_reply(route: Route) -> None:
        sent.append(route.request.post_data_json)
        handled = route.fetch()  # the server answers; the page gets a 502, as from nginx
        if len(sent) == 1:
            route.fulfill(status=502, body="Bad Gateway")
        else:
            route.fulfill(response=handled)

    page.route("**/webhooks/rest/webhook", lose_the_first_reply)
    send(page, "how long is the recovery?")
    expect_answer(page, KNOWLEDGE.topics["downtime"])
    expect(page.locator("deep-chat").get_by_text("can't reach the assistant")).to_have_count(0)
    first, again = sent
    assert again["message_id"] == first["message_id"] and again["resend"] is True
    assert "resend" not in first and first["message"] == again["message"]


def test_usable_at_phone_width(browser: Browser, web_urls: Dict[str, str]) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(web_urls["page"])
    expect(page.locator("deep-chat .deep-chat-suggestion-button").first).to_be_visible()
    send(page, "how many sessions will i need")
    expect_answer(page, KNOWLEDGE.topics["number_of_sessions"])
    box = page.locator("deep-chat").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    expect(text_input(page)).to_be_in_viewport()
    shot(page, "5-phone-width")
    context.close()


def test_controls_are_labelled_for_screen_readers(page: Page, web_urls: Dict[str, str]) -> None:
    page.goto(web_urls["page"])
    expect(page.locator("deep-chat .deep-chat-suggestion-button").first).to_be_visible()
    expect(text_input(page)).to_have_attribute("aria-label", "Ask about microneedling…")
    expect(page.locator("deep-chat #input .input-button").first).to_have_attribute(
        "aria-label", "Send"
    )
    for button in page.locator("deep-chat .deep-chat-suggestion-button").all():
        assert (button.evaluate("b => b.tagName")) == "BUTTON"  # reachable by Tab
        assert (button.inner_text()).strip()


def test_cors_allows_the_page_origin_only(web_urls: Dict[str, str]) -> None:
    def allowed_origin(origin: str) -> Any:
        request = urllib.request.Request(
            f"{web_urls['rasa']}/webhooks/rest/webhook",
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers.get("Access-Control-Allow-Origin")

    assert allowed_origin(web_urls["page"]) == web_urls["page"]
    assert allowed_origin("http://evil.example") is None
