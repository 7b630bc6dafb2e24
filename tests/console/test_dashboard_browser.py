"""The dashboard's charts in a real browser: headless Chromium from Debian's packages, driven by
selenium through Debian's chromedriver, against the server under uvicorn. The test logs in
through the form, takes a screenshot and checks its pixels: inside each chart's box there
must be the chart's own colours (bars, lines), and none outside the charts.

`scripts/test` installs `chromium` and `chromium-driver` when they are missing and it runs as
root with apt-get (as CI does); anywhere else without them this test is skipped, saying why,
except under CI (`CI` set), where a missing browser fails it.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from rq import Queue
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from console.charts import ALERT, PALETTE
from memoryserver.observability.metrics import reset_metrics
from memoryserver.queues import enqueue
from memoryserver.redis import get_redis
from memoryserver.repositories.jobs import count_job_failure, record_queue_depth
from server.worker import MemoryWorker
from tests.console.conftest import put_session, store_memories
from tests.console.jobs import explode, succeed

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
WINDOW = (1280, 2000)  # tall enough that every chart is inside the screenshot
# The colours each chart draws its data in, and how many such pixels make it "drawn".
CHART_COLOURS = {
    "memories": [PALETTE[0]],
    "sessions": [PALETTE[1]],
    "queued": [PALETTE[0]],
    "failed": [ALERT],
    "latency": [PALETTE[0], PALETTE[1], PALETTE[2]],
}
ENOUGH_PIXELS = 40

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the server thread must see the staff user
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER) and not os.environ.get("CI"),
        reason="headless Chromium is not installed: apt-get install chromium chromium-driver "
        "(scripts/test does so itself when run as root)",
    ),
]


@pytest.fixture
def chromium() -> Iterator[WebDriver]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.fail("CI must run the browser test: chromium or chromedriver is missing (see scripts/lib.sh)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests and CI run as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    # A driver path of our own: selenium then never looks for (or downloads) one.
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def dashboard_data(live_server_url: str, redis_client, django_user_model) -> None:
    """Memories in two namespaces, sessions, an hour of queue history, a failed job, searches."""
    django_user_model.objects.create_user("ops", password="correct horse", is_staff=True)
    store_memories(
        *({"text": f"alpha fact {n}", "namespace": "alpha"} for n in range(6)),
        *({"text": f"beta fact {n}", "namespace": "beta"} for n in range(3)),
    )
    put_session("s1", namespace="alpha")
    put_session("s2", namespace="beta")
    put_session("s3", namespace="beta")
    now = time.time()
    for minutes_ago, depth in ((55, 3), (40, 6), (25, 2), (10, 4)):  # as the queues recorded them
        record_queue_depth(redis_client, "default", depth, +1, now=now - minutes_ago * 60)
    for minutes_ago in (50, 50, 20):
        count_job_failure(redis_client, "default", now=now - minutes_ago * 60)
    default = Queue("default", connection=get_redis())
    default.enqueue(explode, "in the browser test")
    MemoryWorker([default], connection=get_redis()).work(burst=True)  # fails now, recorded
    enqueue("summarization", succeed)
    enqueue("summarization", succeed)
    reset_metrics()
    with httpx.Client(base_url=live_server_url, timeout=30) as api:
        for text in ("alpha", "beta", "facts"):
            assert api.post("/long-term-memory/search", json={"text": text}).status_code == 200
        assert api.put("/sessions/s4/memory", json={"messages": []}).status_code == 200
        memory = {"memories": [{"text": "written through the API", "namespace": "beta"}]}
        assert api.post("/long-term-memory", json=memory).status_code == 200
    yield
    reset_metrics()


def log_in(driver: WebDriver, base_url: str) -> None:
    driver.get(f"{base_url}/console/login/?next=/console/")
    driver.find_element(By.NAME, "username").send_keys("ops")
    driver.find_element(By.NAME, "password").send_keys("correct horse")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "figure[data-chart]"),
        message=f"no charts on the page after logging in: {driver.current_url}",
    )


def pixels_like(image: Image.Image, colour: str, tolerance: int = 40) -> int:
    """How many pixels are within `tolerance` of `colour` in every channel."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    data = image.convert("RGB").tobytes()
    return sum(
        1
        for i in range(0, len(data), 3)
        if abs(data[i] - red) <= tolerance
        and abs(data[i + 1] - green) <= tolerance
        and abs(data[i + 2] - blue) <= tolerance
    )


def box(element: WebElement, scale: float) -> tuple[int, int, int, int]:
    rect = element.rect
    return (
        round(rect["x"] * scale),
        round(rect["y"] * scale),
        round((rect["x"] + rect["width"]) * scale),
        round((rect["y"] + rect["height"]) * scale),
    )


def test_the_dashboard_charts_are_drawn_in_the_browser(
    chromium: WebDriver, live_server_url: str, dashboard_data, tmp_path
):
    log_in(chromium, live_server_url)
    assert chromium.find_element(By.TAG_NAME, "h1").text == "Dashboard"
    shot = Image.open(io.BytesIO(chromium.get_screenshot_as_png()))
    saved = tmp_path / "dashboard.png"
    shot.save(saved)
    scale = float(chromium.execute_script("return window.devicePixelRatio"))

    for key, colours in CHART_COLOURS.items():
        svg = chromium.find_element(By.CSS_SELECTOR, f'figure[data-chart="{key}"] svg')
        assert svg.is_displayed(), f"chart {key} is hidden"
        assert svg.size["width"] > 200 and svg.size["height"] > 20, f"chart {key} is {svg.size}"
        left, top, right, bottom = box(svg, scale)
        assert right <= shot.width and bottom <= shot.height, f"chart {key} is outside the screenshot {saved}"
        chart = shot.crop((left, top, right, bottom))
        for colour in colours:
            drawn = pixels_like(chart, colour)
            assert drawn >= ENOUGH_PIXELS, f"chart {key} has {drawn} pixels of {colour}; see {saved}"

    # The check itself can fail: the page's heading has none of the charts' colours.
    heading = shot.crop(box(chromium.find_element(By.TAG_NAME, "h1"), scale))
    assert all(pixels_like(heading, colour) == 0 for colour in (*PALETTE, ALERT))
