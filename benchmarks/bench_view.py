"""simenv view at scale, measured in headless Chromium: the full default matrix at 100 seeds, and a 100,000-record trail.

1. ``simenv bench --seeds 100 --audit`` (every shipped scenario × profile, recorded logs), unless
   ``--results DIR`` names such a folder already; then ``simenv view DIR``: the time until the
   URL is printed (the server reads the folder and prepares the sweep view), and in the browser
   the time from navigation to the rendered sweep view (ranking, Pareto plot, paired comparison,
   episode list), then the time to open one episode's trail from its recorded log.
2. A real 100,000-record audit log: scope_creep with a 95,000-tick budget, under ``jit``, and an
   agent that reads its table every tick and tries an out-of-scope self-grant every third
   (refused by the broker; credentials expire every 30 ticks and are reissued). ``simenv view
   LOG``: time to the URL (the log is read and checked whole), time to the rendered episode
   view, time to scroll to the middle and to the end of the trail and see the rows there, and
   the longest main-thread task in the page (what "frozen" would mean).

Each figure is the median of ``--runs`` (default 3). Needs the ``view`` extra and Chromium.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICKS = 95_000


class Busy:
    """Reads the ticket's table every tick; every third tick, tries to grant itself a role (out of scope under jit)."""

    name = "busy"

    def __init__(self, ctx=None):
        self.n = 0

    def reset(self, identity, tool_schemas, rng):
        self.me, self.n = identity, 0

    def act(self, obs):
        from simenv.types import ToolCall

        if obs.ticket is None or obs.pending_approval:
            return None
        self.n += 1
        if self.n % 3 == 0:
            return ToolCall("idp_assign_role", {"identity": "provisioner", "role": "db-admin"})
        return ToolCall("db_query", {"table": "payments"})


def long_log(dest: Path) -> int:
    import simenv

    scen = dest.parent / "scope_creep_long.yaml"
    text = (ROOT / "scenarios" / "scope_creep.yaml").read_text()
    scen.write_text(re.sub(r"(?m)^max_ticks: \d+", f"max_ticks: {TICKS}", text))
    res = simenv.run_episode(scen, "jit", seed=0, agent={"provisioner": Busy()})
    res.audit.to_jsonl(dest)
    return len(res.audit)


def start(target: Path) -> tuple[subprocess.Popen, str, float]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "simenv", "view", str(target), "--no-browser"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    line = proc.stdout.readline()
    m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"simenv view did not start: {line} {proc.stderr.read()[-500:]}")
    return proc, m.group(1), time.perf_counter() - t0


LONGTASKS = """window.__long = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); })
.observe({type: "longtask", buffered: true});"""


def open_page(browser, url: str):
    """A fresh page at ``url`` that records console errors and long main-thread tasks."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.add_init_script(LONGTASKS)
    pg.goto(url)
    return ctx, pg, errors


def ready_ms(pg, view: str) -> float:
    pg.wait_for_selector(f"body[data-ready='1'][data-view='{view}']", timeout=120_000)
    return pg.evaluate("performance.now()")


def measure_sweep(browser, url: str, episode: int) -> dict[str, float]:
    ctx, pg, errors = open_page(browser, url)
    sweep = ready_ms(pg, "sweep")
    n = pg.inner_text("#episodes .pager")
    t = pg.evaluate("performance.now()")
    pg.evaluate(f"location.hash = '#/episode/{episode}'")
    ep = ready_ms(pg, "episode") - t
    longest = max(pg.evaluate("window.__long") or [0])
    ctx.close()
    if errors:
        raise SystemExit(f"console errors: {errors}")
    return {"sweep_view_ms": sweep, "open_episode_ms": ep, "longest_task_ms": longest, "listed": n}


def measure_trail(browser, url: str, records: int) -> dict[str, float]:
    ctx, pg, errors = open_page(browser, url)
    view = ready_ms(pg, "episode")
    out = {"episode_view_ms": view}
    for name, seq in (("scroll_to_middle_ms", records // 2), ("scroll_to_end_ms", records - 1)):
        t = pg.evaluate("performance.now()")
        pg.evaluate(f"document.querySelector('.vscroll').scrollTop = {seq} * 24 - 100")
        pg.wait_for_selector(f".vrow[data-seq='{seq}']", timeout=60_000)
        out[name] = pg.evaluate("performance.now()") - t
    out["longest_task_ms"] = max(pg.evaluate("window.__long") or [0])
    out["rows_in_dom"] = pg.locator(".vrow").count()
    ctx.close()
    if errors:
        raise SystemExit(f"console errors: {errors}")
    return out


def median(runs: list[dict]) -> dict:
    return {k: (statistics.median(r[k] for r in runs) if isinstance(runs[0][k], (int, float)) else runs[0][k]) for k in runs[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=None, help="a results folder of simenv bench --seeds 100 --audit")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if chromium is None:
        raise SystemExit("no Chromium binary on PATH: apt-get install -y chromium")
    tmp = Path(tempfile.mkdtemp(prefix="bench_view_"))
    results = a.results
    if results is None:
        results = tmp / "results"
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "simenv", "bench", "--seeds", "100", "--audit", "--out", str(results),
                        "--no-report"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        print(f"simenv bench --seeds 100 --audit: {time.perf_counter() - t0:.1f} s")
    log = tmp / "long.jsonl"
    t0 = time.perf_counter()
    records = long_log(log)
    print(f"a {records:,}-record audit log ({log.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
    figures: dict[str, dict] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for name, target in (("sweep", results), ("trail", log)):
            runs = []
            for _ in range(a.runs):
                proc, url, startup = start(target)
                try:
                    got = measure_sweep(browser, url, 12345) if name == "sweep" else measure_trail(browser, url, records)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                runs.append({"server_ready_s": startup, **got})
            figures[name] = median(runs)
            print(name, json.dumps(figures[name]))
        browser.close()
    figures["trail"]["records"] = records
    if a.json:
        a.json.write_text(json.dumps(figures, indent=1))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
