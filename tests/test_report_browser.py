"""report.html in a real headless browser: every image decodes, the sections and tables are there, text is readable.

The report itself carries no script. The test loads a copy with one probe script appended,
which, once the page has loaded, writes what it measured into the DOM; ``--dump-dom`` prints
it. A screenshot checks that the page paints. Skipped only when no Chromium binary exists
(``.ci/run`` installs Debian's ``chromium``).
"""

import json
import re
import shutil
import subprocess

import pytest

from simenv.bench.runner import run_matrix

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER = next((b for b in BROWSERS if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason=f"no Chromium binary on PATH (looked for {', '.join(BROWSERS)}); "
                                                       "install Debian's: apt-get install -y chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
SECTIONS = ["Ranking over all scenarios", "Completion under policy vs blast radius", "Blast radius vs friction",
            "Blast radius over episodes: the tail", "Scenario × profile", "Exposure over time", "Ranking per scenario",
            "Paired comparisons", "Failed episodes"]

PROBE = """<script>
window.addEventListener('load', function () {
  function rgba(s) { var m = s.match(/[\\d.]+/g).map(Number); return m.length > 3 ? m : m.concat([1]); }
  function lum(c) {
    var v = c.slice(0, 3).map(function (x) { x /= 255; return x <= 0.04045 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
  }
  function background(el) {
    for (; el; el = el.parentElement) { var c = rgba(getComputedStyle(el).backgroundColor); if (c[3] > 0) return c; }
    return [255, 255, 255, 1];
  }
  var low = [], texts = 0;
  document.querySelectorAll('body *').forEach(function (el) {
    var own = [].some.call(el.childNodes, function (n) { return n.nodeType === 3 && n.textContent.trim(); });
    if (!own || el.closest('details:not([open])') && el.tagName !== 'SUMMARY' && !el.closest('summary')) return;
    texts++;
    var fg = lum(rgba(getComputedStyle(el).color)), bg = lum(background(el));
    var ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) low.push([el.tagName, el.textContent.trim().slice(0, 40), ratio.toFixed(2)]);
  });
  var out = {
    images: [].map.call(document.images, function (i) {
      return {alt: i.alt, complete: i.complete, w: i.naturalWidth, h: i.naturalHeight, shown: i.getBoundingClientRect().width};
    }),
    h2: [].map.call(document.querySelectorAll('h2'), function (h) { return h.textContent.trim(); }),
    ranking_rows: document.querySelectorAll('#ranking table.ranking > tbody').length,
    ranking_heads: [].map.call(document.querySelectorAll('#ranking table.ranking th'), function (t) { return t.textContent; }),
    commands: [].map.call(document.querySelectorAll('#ranking tr.cmd code'), function (c) { return c.textContent; }),
    scripts: document.scripts.length,
    scroll_width: document.documentElement.scrollWidth, inner_width: window.innerWidth,
    texts: texts, low_contrast: low
  };
  var pre = document.createElement('pre'); pre.id = 'probe-result'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    run_matrix(["delegated_admin", "scope_creep"], "allow_all,deny_all,jit,zero_standing", 3, agent="llm_stub",
               executor="serial", out=out)
    from simenv.bench.report import build_report

    return build_report(out)


def browse(tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120)


def test_the_page_renders_every_image_section_and_table_readably(report, tmp_path):
    page = tmp_path / "probe.html"
    page.write_text(report.read_text().replace("</body>", PROBE + "</body>"))
    r = browse(tmp_path, "--window-size=1400,1000", "--virtual-time-budget=10000", "--dump-dom", page.as_uri())
    m = re.search(r'<pre id="probe-result">(.*?)</pre>', r.stdout, re.S)
    assert m, f"the probe did not run: {r.stderr[-800:]}"
    got = json.loads(m.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    assert len(got["images"]) == 6
    for img in got["images"]:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0 and img["shown"] > 0, img
    assert got["h2"] == SECTIONS
    assert got["ranking_rows"] == 4
    heads = " ".join(got["ranking_heads"])
    for name in ("blast radius ↓", "completion under policy ↑", "task success ↑", "friction rate ↓", "exposure ↓",
                 "potential blast radius ↓", "weight × ticks", "sensitivity-weighted resources"):
        assert name in heads, name
    assert any(c.startswith("simenv bench --scenarios delegated_admin,scope_creep --policies ") for c in got["commands"])
    assert any(c.startswith("simenv run ") and " --seed " in c for c in got["commands"])
    assert got["scripts"] == 1  # the probe's own: the report has none
    assert got["scroll_width"] <= got["inner_width"], "the page scrolls sideways at 1400 px"
    assert got["texts"] > 100 and not got["low_contrast"], got["low_contrast"][:10]


def test_the_page_paints(report, tmp_path):
    from PIL import Image

    shot = tmp_path / "shot.png"
    r = browse(tmp_path, "--window-size=1400,2400", f"--screenshot={shot}", report.as_uri())
    assert shot.exists(), r.stderr[-800:]
    with Image.open(shot) as im:
        assert im.size == (1400, 2400)
        colours = im.convert("RGB").resize((140, 240)).getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 50, "the screenshot is (nearly) blank"
