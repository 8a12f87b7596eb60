"""The viewer's local web server: Starlette routes served by uvicorn on 127.0.0.1 (the only importer of both).

Routes: ``/`` (the page) and ``/static/`` (its script, style and the vendored Chart.js and
Cytoscape.js, all in the package: no network), and a small JSON API the page reads:

* ``/api/sweep``: the sweep view's data (:meth:`simenv.view.sweep.Sweep.payload`), made
  before the URL is printed; ``/api/ranking?seeds=0,1,2`` the ranking over some seeds;
  ``/api/pair?a=&b=&agent=&scenario=`` two profiles on the same seeds;
* ``/api/episode/{i}``: open episode ``i`` (its recorded log, else re-run by name, which gives
  the same log) and return its summary; ``/api/episode/{i}/trail?offset=&limit=`` one page of
  its timeline; ``/api/episode/{i}/record/{seq}`` one record in full;
* ``/api/diff/{i}/{j}``: two episodes' calls aligned (:func:`simenv.view.diff.align`).

A request the viewer cannot answer gets ``{"error": "..."}`` with status 200 and ``ok: false``,
so that the page shows the message (a 4xx would also be a console error in the browser).
"""

from __future__ import annotations

import json
import socket
import threading
import webbrowser
from collections import OrderedDict
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from simenv.errors import SimenvError
from simenv.view.diff import align
from simenv.view.sweep import Sweep
from simenv.view.trail import PAGE, Trail

STATIC = Path(str(resources.files("simenv.view") / "static"))
OPEN_TRAILS = 16
"""Episodes kept open at once (the least recently opened is closed first)."""


def _json(doc: Any) -> Response:
    return Response(json.dumps(doc, allow_nan=False, separators=(",", ":"), default=str), media_type="application/json")


def _error(e: Exception) -> Response:
    return _json({"ok": False, "error": str(e)})


class Viewer:
    """What one ``simenv view`` serves: a results folder (:class:`Sweep`) or a single audit log."""

    def __init__(self, target: str | Path):
        target = Path(target)
        self.sweep: Sweep | None = None
        self.single: Trail | None = None
        self._trails: OrderedDict[int, Trail] = OrderedDict()
        self._lock = threading.Lock()
        if target.is_dir():
            self.sweep = Sweep.open(target)
            self._sweep_json = json.dumps(self.sweep.payload(), allow_nan=False, separators=(",", ":")).encode()
        elif target.is_file():
            self.single = Trail(path=target, source="file")
            self.single.summary()  # reads every line: a bad log is an error now, not in the page
            self._sweep_json = json.dumps({"kind": "trail", "title": str(target)}).encode()
        else:
            raise SimenvError(f"{target}: no such file or folder; pass a results folder (simenv bench --out DIR) or "
                              f"an audit log (simenv run --audit FILE)")
        self.target = target

    def trail(self, i: int) -> Trail:
        """Episode ``i``'s trail, opened on first use (a recorded log is indexed; otherwise the episode is re-run)."""
        if self.single is not None:
            if i != 0:
                raise SimenvError(f"this viewer shows one audit log: episode 0, not {i}")
            return self.single
        assert self.sweep is not None
        with self._lock:
            if i in self._trails:
                self._trails.move_to_end(i)
                return self._trails[i]
        r = self.sweep.row(i)
        if r.get("error"):
            raise SimenvError(f"episode {i} failed, so it has no trail: {r['error']}")
        path = self.sweep.audit_file(i)
        if path is not None:
            t = Trail(path=path, source="recorded")
        else:
            t = self._rerun(i, r)
        with self._lock:
            self._trails[i] = t
            while len(self._trails) > OPEN_TRAILS:
                self._trails.popitem(last=False)
        return t

    def _rerun(self, i: int, r: dict[str, Any]) -> Trail:
        from simenv.agents.registry import is_known
        from simenv.api import run_episode

        assert self.sweep is not None
        scenario, policy, agent, seed, size = self.sweep.refs(i)
        if not is_known(agent):
            raise SimenvError(f"episode {i} has no recorded audit log and its agent {agent!r} cannot be rebuilt by "
                              f"name; rerun the sweep with simenv bench --audit")
        res = run_episode(scenario, policy, seed=seed, agent=agent, size=size)
        same = res.scores.get("fingerprint") == r.get("fingerprint")
        return Trail.from_audit(res.audit, source="re-run (fingerprint matches)" if same else
                                "re-run (fingerprint differs from the sweep's: the files changed since)")

    def episode(self, i: int) -> dict[str, Any]:
        t = self.trail(i)
        s = t.summary()
        info = self.sweep.row(i) if self.sweep is not None else {}
        return {"ok": True, "id": i, "source": t.source, "row": info, "page": PAGE,
                **{k: v for k, v in s.items() if k != "approval_of"}}

    def diff(self, i: int, j: int) -> dict[str, Any]:
        a, b = self.trail(i), self.trail(j)
        out = align(a.calls(), b.calls())
        ha, hb = a.summary()["header"], b.summary()["header"]
        return {"ok": True, "a": {"id": i, "header": ha}, "b": {"id": j, "header": hb}, **out}


def app(viewer: Viewer) -> Starlette:
    """The Starlette application over ``viewer``."""

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

    async def sweep(request: Request) -> Response:
        return Response(viewer._sweep_json, media_type="application/json")

    def guarded(fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
        def run(request: Request) -> Response:  # a plain function: Starlette runs it in its thread pool
            try:
                return _json(fn(request))
            except (SimenvError, ValueError, KeyError) as e:
                return _error(e)
        return run

    def _sweep() -> Sweep:
        if viewer.sweep is None:
            raise SimenvError("this viewer shows one audit log, not a sweep")
        return viewer.sweep

    def ranking(request: Request) -> Any:
        seeds = [int(s) for s in request.query_params.get("seeds", "").split(",") if s.strip()]
        return {"ok": True, **_sweep().ranking_for_seeds(seeds)}

    def pair(request: Request) -> Any:
        q = request.query_params
        return {"ok": True, **_sweep().pair(q["a"], q["b"], q["agent"], q.get("scenario", "*"))}

    def episode(request: Request) -> Any:
        return viewer.episode(int(request.path_params["i"]))

    def trail(request: Request) -> Any:
        t = viewer.trail(int(request.path_params["i"]))
        q = request.query_params
        offset = int(q.get("offset", 0))
        return {"ok": True, "offset": offset, "total": len(t), "rows": t.page(offset, int(q.get("limit", PAGE)))}

    def record(request: Request) -> Any:
        return {"ok": True, "record": viewer.trail(int(request.path_params["i"])).record(int(request.path_params["seq"]))}

    def diff(request: Request) -> Any:
        return viewer.diff(int(request.path_params["i"]), int(request.path_params["j"]))

    return Starlette(routes=[
        Route("/", index),
        Route("/api/sweep", sweep),
        Route("/api/ranking", guarded(ranking)),
        Route("/api/pair", guarded(pair)),
        Route("/api/episode/{i:int}", guarded(episode)),
        Route("/api/episode/{i:int}/trail", guarded(trail)),
        Route("/api/episode/{i:int}/record/{seq:int}", guarded(record)),
        Route("/api/diff/{i:int}/{j:int}", guarded(diff)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])


def serve(target: str | Path, *, port: int = 0, browser: bool = True, announce: Callable[[str], None] = print) -> None:
    """Open ``target``, bind 127.0.0.1:``port`` (0: a free port), announce the URL, open a browser, serve until Ctrl-C."""
    viewer = Viewer(target)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(128)  # connections made as soon as the URL is printed wait in the backlog for uvicorn
    except OSError as e:
        sock.close()
        raise SimenvError(f"--port {port}: cannot listen on 127.0.0.1:{port} ({e.strerror or e}); pass --port 0 for a "
                          f"free port") from None
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    server = uvicorn.Server(uvicorn.Config(app(viewer), log_level="warning", access_log=False, lifespan="off"))
    announce(url)
    if browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    server.run(sockets=[sock])
