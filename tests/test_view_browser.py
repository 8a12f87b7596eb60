"""simenv view in real headless Chromium (Playwright drives Debian's chromium): sweep, episode, diff.

A small sweep (3 scenarios × 3 profiles × 2 seeds, audit logs recorded) is served by the real
``simenv view`` command in a child process; every test fails on any console error or uncaught
exception in the page. Skipped only when no Chromium binary exists (``.ci/run`` installs
Debian's ``chromium``). With ``SIMENV_SCREENSHOTS=DIR`` the screenshots are also written there
(that is how ``docs/viewer-*.png`` are made).
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simenv.bench.runner import run_matrix
from simenv.bench.shards import audit_path

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason=f"no Chromium binary on PATH (looked for {', '.join(BROWSERS)}); "
                                                       "install Debian's: apt-get install -y chromium")
SCENARIOS = ["scope_creep", "delegated_admin", "multi_agent_chaining"]
PROFILES = ["allow_all", "static_rbac", "zero_standing"]
REFUSED = {"denied", "refused", "forbidden", "unresolved"}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("view") / "results"
    df = run_matrix(SCENARIOS, PROFILES, 2, executor="serial", out=out, audit=True)
    return out, df.reset_index(drop=True)


@pytest.fixture(scope="module")
def server(results):
    out, _ = results
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "simenv", "view", str(out), "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
    if not m:
        proc.kill()
        pytest.fail(f"simenv view printed no URL: {line!r} {proc.stderr.read()[-800:]}")
    yield m.group(1)
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=BROWSER, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser, tmp_path):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(f"page: {e}"))
    pg.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    yield pg
    ctx.close()
    assert not errors, errors


def ready(pg, view: str) -> None:
    pg.wait_for_selector(f"body[data-ready='1'][data-view='{view}']", timeout=30_000)


def shoot(pg, tmp_path: Path, name: str) -> Path:
    from PIL import Image

    path = tmp_path / f"viewer-{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    with Image.open(path) as im:
        colours = im.convert("RGB").resize((140, 100)).getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 30, f"the {name} screenshot is (nearly) blank"
    if os.environ.get("SIMENV_SCREENSHOTS"):
        dest = Path(os.environ["SIMENV_SCREENSHOTS"])
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest / path.name)
    return path


def episode(df, scenario: str, policy: str, seed: int) -> int:
    hit = df[(df["scenario"] == scenario) & (df["policy"] == policy) & (df["seed"] == seed)]
    return int(hit.index[0])


def log(out: Path, scenario: str, policy: str, seed: int) -> list[dict]:
    return [json.loads(x) for x in audit_path(out, scenario, policy, "scripted", seed).read_text().splitlines()]


def test_the_sweep_view_ranks_filters_sorts_and_plots(server, page, tmp_path):
    page.goto(server)
    ready(page, "sweep")
    assert page.locator("#ranking tbody tr").count() == len(PROFILES)
    assert "18 episodes" in page.inner_text("#episodes .pager")
    names = [page.inner_text(f"#ranking tbody tr:nth-child({i}) td:nth-child(2)") for i in (1, 2, 3)]
    assert names[0] == "zero_standing" and set(names) == set(PROFILES)
    assert page.locator("#pareto").bounding_box()["height"] > 200

    page.select_option("#f-scenario", "scope_creep")
    assert "6 episodes" in page.inner_text("#episodes .pager")
    assert set(page.locator("#episodes tbody td:nth-child(1)").all_inner_texts()) == {"scope_creep"}

    page.locator("#f-profiles input[value='allow_all']").uncheck()
    assert page.locator("#ranking tbody tr").count() == 2
    assert "4 episodes" in page.inner_text("#episodes .pager")

    page.click("#ranking th[data-key='blast_radius.mean']")  # ascending, then descending
    page.click("#ranking th[data-key='blast_radius.mean']")
    assert page.inner_text("#ranking tbody tr:nth-child(1) td:nth-child(2)") == "static_rbac"

    page.fill("#f-seeds", "1")
    page.click("#f-seeds-go")
    page.wait_for_selector("#ranking >> text=selected seeds only")
    assert "2 episodes" in page.inner_text("#episodes .pager")
    assert set(page.locator("#episodes tbody td:nth-child(3)").all_inner_texts()) == {"1"}
    shoot(page, tmp_path, "sweep")


def test_an_episode_opened_from_the_sweep_shows_the_refused_call_and_its_policy_id(server, results, page, tmp_path):
    out, df = results
    records = log(out, "scope_creep", "zero_standing", 0)
    refused = next(r for r in records if r["kind"] == "call" and r["effect"] in REFUSED)
    page.goto(server)
    ready(page, "sweep")
    page.select_option("#f-scenario", "scope_creep")
    page.locator("#f-profiles input[value='allow_all']").uncheck()
    page.locator("#f-profiles input[value='static_rbac']").uncheck()
    page.locator("#episodes tbody tr", has_text="zero_standing").first.click()  # seed 0 comes first
    ready(page, "episode")
    assert page.locator(".vrow").count() == len(records)
    row = page.locator(f".vrow[data-seq='{refused['seq']}'] .cell")
    text = row.inner_text()
    assert refused["tool"] in text and refused["policy_ids"][0] in text
    assert "deny" in row.get_attribute("class")
    if not refused["in_intent"]:
        assert "out of intent" in text
    row.click()
    page.wait_for_selector(f"#detail h3 >> text=#{refused['seq']} call")
    detail = page.inner_text("#detail")
    for want in ("decision", "reasons", "policy ids", refused["policy_ids"][0], refused["reasons"][0], "approval", "effect"):
        assert want in detail
    assert page.locator("#creds").bounding_box()["height"] > 100
    assert page.locator("#graph canvas").count() > 0
    shoot(page, tmp_path, "episode")


def test_two_profiles_compared_then_their_trails_diffed_at_the_first_differing_decision(server, results, page, tmp_path):
    out, df = results
    page.goto(server)
    ready(page, "sweep")
    page.select_option("#f-scenario", "scope_creep")
    page.select_option("#p-a", "zero_standing")
    page.select_option("#p-b", "static_rbac")
    page.click("#p-go")
    page.wait_for_selector("#pair-stats tbody tr")
    blast = page.inner_text("#pair-stats tbody tr:nth-child(1)")
    a = df[(df["scenario"] == "scope_creep") & (df["policy"] == "zero_standing")].sort_values("seed")["blast_radius"].to_numpy()
    b = df[(df["scenario"] == "scope_creep") & (df["policy"] == "static_rbac")].sort_values("seed")["blast_radius"].to_numpy()
    from simenv.bench.report import num

    assert num(float((a - b).mean())) in blast
    assert page.locator("#pair-rows tbody tr").count() == 2
    page.locator("#pair-rows a", has_text="diff the trails").first.click()
    ready(page, "diff")
    page.click("#jump-first")
    first = page.locator("#diff tr.first")
    assert first.count() == 1
    assert first.is_visible()
    cells = first.locator("td").all_inner_texts()
    # the first differing row is where one side's decision or outcome is not the other's
    assert cells[1] != cells[2] and "differs" in cells[3]
    for tr in page.locator("#diff tbody tr").all():
        if "first" in (tr.get_attribute("class") or ""):
            break
        assert "differs" not in (tr.get_attribute("class") or "")
    shoot(page, tmp_path, "diff")


def test_a_single_audit_log_opens_as_an_episode(results, tmp_path, browser):
    out, _ = results
    src = audit_path(out, "multi_agent_chaining", "zero_standing", "scripted", 1)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "simenv", "view", str(src), "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = re.search(r"(http://127\.0\.0\.1:\d+/)", proc.stdout.readline()).group(1)
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(url)
        ready(pg, "episode")
        assert pg.locator(".vrow").count() == len(src.read_text().splitlines())
        assert "multi_agent_chaining" in pg.inner_text("#where")
        ctx.close()
        assert not errors, errors
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_a_log_with_no_end_record_opens_and_says_so(results, tmp_path, browser):
    out, _ = results
    lines = audit_path(out, "multi_agent_chaining", "static_rbac", "scripted", 1).read_text().splitlines()
    src = tmp_path / "cut.jsonl"
    src.write_text("\n".join(lines[:-4]) + "\n")  # a run killed mid-way
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "simenv", "view", str(src), "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", proc.stdout.readline())
        assert found, proc.stderr.read() if proc.poll() is not None else "no URL"
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(found.group(1))
        ready(pg, "episode")
        assert pg.locator(".vrow").count() == len(lines) - 4
        assert "no end record" in pg.inner_text(".note.warn")
        shoot(pg, tmp_path, "episode_cut_short")
        ctx.close()
        assert not errors, errors
    finally:
        proc.terminate()
        proc.wait(timeout=20)
