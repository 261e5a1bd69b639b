"""The dashboard in a real browser: Playwright for Python drives Debian's
chromium (never a downloaded browser) against `lqmf serve` on loopback. The
pages load without errors and without any request leaving the machine, the
matrix filters and sorts, a phone-width screenshot renders, and (slow) the
live progress of a real quantize job of the bundled model advances on screen."""
from __future__ import annotations

import json
import shutil
import time
from urllib.parse import urlsplit

import pytest

from tests.serve_fixtures import Server, seed
from tests.store_fixtures import sample_records

sync_api = pytest.importorskip("playwright.sync_api", reason="the serve extra (playwright) is not installed")
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("dash") / "home"
    seed(home, sample_records())
    now = time.time()   # past samples as the watcher writes them: an older line without GPU fields, a GPU job
    (home / "resource_samples.jsonl").write_text("".join(
        [json.dumps({"at": now - 60 + i, "job": "cpu1", "kind": "benchmark", "cpu_pct": 180.0, "rss_mb": 300.0}) + "\n"
         for i in range(3)]
        + [json.dumps({"at": now - 30 + i, "job": "gpu1", "kind": "benchmark", "cpu_pct": 95.0, "rss_mb": 900.0,
                       "gpu_mem_mb": 1500.0 + i, "gpu_pct": 80.0}) + "\n" for i in range(3)]))
    srv = Server(home, jobs="sleep:0.5")
    srv.warm()
    yield srv
    srv.stop()


def _page(browser, srv, **kw):
    ctx = browser.new_context(**kw)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    page.errors, page.outside = [], []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: urlsplit(r.url).hostname not in ("127.0.0.1", None) and page.outside.append(r.url))
    return page


def test_pages_load(browser, served):
    page = _page(browser, served)
    for path, marker in (("/", "#jobs"), ("/matrix", "table.matrix"), ("/resources", "#heat-cpu"),
                         ("/timeline", "#timeline-records"), ("/artifact/sm-q80", "ol.lineage")):
        resp = page.goto(served.url + path)
        assert resp.status == 200, path
        page.wait_for_selector(marker)
        if path == "/timeline":
            page.wait_for_selector("#timeline-records .main-svg")   # plotly drew the timeline
        if path == "/resources":   # both jobs in the CPU heatmap, only the GPU job in the GPU one
            page.wait_for_selector("#heat-gpu .main-svg")
            rows = page.evaluate("() => [...['#heat-cpu', '#heat-gpu']].map(s => document.querySelector(s).data[0].y)")
            assert rows == [["benchmark cpu1", "benchmark gpu1"], ["benchmark gpu1"]], rows
    assert page.locator("text=Q8_0").count() >= 1
    page.goto(served.url + "/artifact/sm-q80")
    assert "mean KLD" in page.content() and "0.0046" in page.content()
    assert page.errors == [] and page.outside == []
    page.context.close()


def _column(page, cls: str) -> list[str]:
    return page.locator(f"table.matrix tbody td.{cls}").all_inner_texts()


def test_matrix_filters_and_sorts(browser, served):
    page = _page(browser, served)
    page.goto(served.url + "/matrix")
    assert page.locator("#matched").inner_text() == str(len(sample_records()))
    page.fill("input[name=model]", "llama")
    page.wait_for_function("document.querySelector('#matched').textContent === '2'")
    assert sorted(_column(page, "c-model_name")) == ["llama-3.1-8b", "llama-3.2-3b"]
    page.fill("input[name=model]", "")
    page.wait_for_function(f"document.querySelector('#matched').textContent === '{len(sample_records())}'")
    page.click("a.sort[data-sort=kld_mean]")
    page.wait_for_selector("a.sort.on.asc[data-sort=kld_mean]")
    klds = [float(x) for x in _column(page, "c-kld_mean") if x not in ("–", "")]
    assert klds == sorted(klds) and len(klds) == 8
    page.click("a.sort[data-sort=kld_mean]")
    page.wait_for_selector("a.sort.on.desc[data-sort=kld_mean]")
    klds = [float(x) for x in _column(page, "c-kld_mean") if x not in ("–", "")]
    assert klds == sorted(klds, reverse=True)
    page.fill("input[name=quant]", "q4_k_m")   # the filter keeps the sort
    page.wait_for_function("document.querySelector('#matched').textContent === '6'")
    klds = [float(x) for x in _column(page, "c-kld_mean") if x not in ("–", "")]
    assert klds == sorted(klds, reverse=True) and set(_column(page, "c-quant_type")) == {"Q4_K_M"}
    assert page.errors == []
    page.context.close()


def test_phone_width_and_start_stop(browser, served, tmp_path):
    page = _page(browser, served, viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                 has_touch=True)
    page.goto(served.url + "/")
    page.wait_for_selector("#live.on")                       # the event stream is connected
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at phone width"
    page.select_option("select[name=kind]", "quantize")
    page.fill("input[name=quant_type]", "Q5_K_M")
    page.click("#start-job button[type=submit]")
    page.wait_for_function("document.querySelector('#start-msg').textContent.startsWith('queued ')")
    jid = page.locator("#start-msg").inner_text().split()[1]
    page.wait_for_selector(f"#job-{jid}.st-succeeded", timeout=30000)   # it ran, and the row followed live
    shot = tmp_path / "phone.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.fill("input[name=quant_type]", "Q9_Z")
    page.click("#start-job button[type=submit]")
    page.wait_for_function("document.querySelector('#start-msg').textContent.includes('unknown quant type')")
    assert page.errors == [] and page.outside == []
    page.context.close()


@pytest.mark.slow
def test_live_progress_of_a_real_job(browser, warm_home, tmp_path):
    """A real benchmark job of the bundled model (F16 from the warm data dir), watched in the browser."""
    home = tmp_path / "home"
    shutil.copytree(warm_home, home, ignore=shutil.ignore_patterns("*.lock", "jobs.db*", "worker*"))
    srv = Server(home, jobs="real")
    try:
        srv.warm()
        page = _page(browser, srv)
        page.goto(srv.url + "/matrix?quant=Q4_K_S")   # the warm data dir may hold Q4_K_S runs of other tests
        before = int(page.locator("#matched").inner_text())
        page.goto(srv.url + "/")
        page.wait_for_selector("#live.on")
        page.evaluate("""() => { window.seen = [];
            new MutationObserver(() => document.querySelectorAll('#jobs tr .pct').forEach(e => {
                const t = e.textContent; if (t && window.seen[window.seen.length - 1] !== t) window.seen.push(t); }))
              .observe(document.querySelector('#jobs'), {subtree: true, childList: true, characterData: true, attributes: true}); }""")
        # a benchmark (it quantizes first): its scoring reports a fraction per batch of windows,
        # where a quantize from the cached F16 can finish between two screen updates
        page.select_option("select[name=kind]", "benchmark")
        page.fill("input[name=quant_type]", "Q4_K_S")
        page.fill("input[name=chunks]", "16")   # 4 batches of 4 windows: a step each on screen
        page.click("#start-job button[type=submit]")
        page.wait_for_function("document.querySelector('#start-msg').textContent.startsWith('queued ')")
        jid = page.locator("#start-msg").inner_text().split()[1]
        page.wait_for_selector(f"#job-{jid}.st-succeeded", timeout=300_000)
        seen = [int(s.rstrip("%")) for s in page.evaluate("window.seen")]
        assert seen[-1] == 100 and len({s for s in seen if 0 < s < 100}) >= 3, seen   # it advanced on screen
        # each stage (quantize, then scoring) counts up on its own; a drop only starts the next stage
        assert sum(b < a for a, b in zip(seen, seen[1:])) <= 3, seen
        page.goto(srv.url + f"/jobs/{jid}")
        page.wait_for_selector("#progress-plot .main-svg")
        import httpx

        job = httpx.get(srv.url + f"/api/jobs/{jid}").json()
        assert job["args"]["chunks"] == 16, job["args"]   # the form's windows reached the job
        samples = httpx.get(srv.url + "/api/resources", params={"job": jid}).json()
        if job["finished_at"] - job["started_at"] > 2:   # sampled every 0.5 s while it ran
            assert samples and all(s["rss_mb"] > 0 for s in samples), samples
            page.goto(srv.url + "/resources")
            page.wait_for_selector("#heat-cpu .main-svg")
            # llama.cpp's CPU build holds no GPU memory, here or on a machine with a GPU
            assert all(s["gpu_mem_mb"] is None for s in samples)
            assert "No GPU use sampled" in page.locator("#heat-gpu").inner_text()
        page.goto(srv.url + "/matrix?quant=Q4_K_S")
        assert int(page.locator("#matched").inner_text()) == before + 2   # the job's quantize run and its benchmark
        assert page.errors == [] and page.outside == []
        page.context.close()
    finally:
        srv.stop()
