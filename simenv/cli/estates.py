"""Commands ``import``, ``paths`` and ``export``: estates imported from AWS IAM, their escalation paths, OpenGraph."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from simenv.cli.common import Command
from simenv.errors import SimenvError


def _configure_import(p: argparse.ArgumentParser) -> None:
    p.add_argument("format", choices=("aws-iam",), help="what the file is: aws-iam, the JSON of "
                                                      "'aws iam get-account-authorization-details'")
    p.add_argument("file", help="the export")
    p.add_argument("-o", "--out", default=None, help="the estate file to write (.yaml, or .json for large accounts; "
                                                     "default: estates/<file name>.yaml)")
    p.add_argument("--sensitivity", action="append", default=[], metavar="NAME=W",
                   help="override a principal's sensitivity (user/NAME or role/NAME), repeatable")


def cmd_import(a: argparse.Namespace) -> int:
    from simenv import files
    from simenv.estates import aws, estate

    overrides: dict[str, float] = {}
    for item in a.sensitivity:
        name, _, w = item.partition("=")
        try:
            overrides[name] = float(w)
        except ValueError:
            raise SimenvError(f"--sensitivity {item!r}: give NAME=WEIGHT, e.g. role/deploy=12") from None
    account = aws.read(a.file)
    text = files.read_text(a.file, aws.MAX_EXPORT_BYTES)
    est = estate.from_account(account, estate.sha256(text), overrides)
    out = Path(a.out) if a.out else Path("estates") / f"{Path(a.file).stem}.yaml"
    estate.dump(est, out)
    admins = sum(p.admin for p in est.principals)
    esc = sum(p.rule == "escalates" for p in est.principals)
    print(f"{out}: {len(est.principals)} principals ({admins} admin, {esc} can escalate to admin), "
          f"{len(est.escalations)} escalation edges; not modelled: {'; '.join(est.not_modelled)}")
    return 0


def _configure_paths(p: argparse.ArgumentParser) -> None:
    p.add_argument("estate", help="an estate file (simenv import aws-iam)")
    p.add_argument("--to", choices=("admin",), default="admin", help="where the paths lead (admin)")
    p.add_argument("--json", action="store_true", help="one JSON object: principal -> list of paths (lists of steps)")
    p.add_argument("--max-depth", type=int, default=6, help="longest path, in steps (default 6)")
    p.add_argument("--limit", type=int, default=1000, help="paths listed per principal at most (default 1000)")


def cmd_paths(a: argparse.Namespace) -> int:
    from simenv.estates import estate

    if a.max_depth < 1 or a.limit < 1:
        raise SimenvError("--max-depth and --limit: give positive numbers")
    est = estate.load(a.estate)
    found = estate.paths(est, a.max_depth, a.limit)
    if a.json:
        json.dump({n: [[estate.step_json(s) for s in path] for path in ps] for n, (ps, _) in found.items()},
                  sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    for name, (ps, cut) in found.items():
        more = f", the first {len(ps)} listed" if cut else ""
        print(f"{name}: {len(ps)} path{'s' if len(ps) != 1 else ''} to admin{more}")
        for path in ps:
            steps = " -> ".join(f"{s.to} [{s.method}{' ' + s.pathfinding if s.pathfinding else ''}"
                                f"{' rhino-' + str(s.rhino) if s.rhino else ''}]" for s in path)
            print(f"  {name} -> {steps}")
    if not found:
        print("no principal has an escalation path to admin")
    return 0


def _configure_export(p: argparse.ArgumentParser) -> None:
    p.add_argument("format", choices=("opengraph",), help="what to write: opengraph, BloodHound CE's OpenGraph JSON")
    p.add_argument("source", help="an estate file (simenv import aws-iam), a scenario (a shipped name or a file), "
                                  "or an audit log (simenv run --audit)")
    p.add_argument("-o", "--out", required=True, help="the JSON file to write")
    p.add_argument("--scenario", default=None, help="for an audit log: the scenario file it ran with, if not a "
                                                    "shipped name")


def cmd_export(a: argparse.Namespace) -> int:
    from simenv.bench.opengraph import export

    payload = export(a.source, a.scenario)
    out = Path(a.out)
    try:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=1)
            f.write("\n")
    except OSError as e:
        raise SimenvError(f"{out}: cannot write: {e.strerror or e}; give -o a file in a writable folder") from None
    g = payload["graph"]
    esc = sum(bool((e.get("properties") or {}).get("escalation")) for e in g["edges"])
    calls = sum(n["kinds"][0] == "SimenvCall" for n in g["nodes"])
    print(f"{out}: {len(g['nodes'])} nodes, {len(g['edges'])} edges ({esc} escalation edges"
          f"{f', {calls} calls' if calls else ''})")
    return 0


COMMANDS = (
    Command("import", "turn an AWS IAM authorization-details export into a simenv estate file", _configure_import,
            cmd_import),
    Command("paths", "list every escalation path to admin of each principal of an estate", _configure_paths, cmd_paths),
    Command("export", "write an estate, a scenario's world or an episode as BloodHound OpenGraph JSON",
            _configure_export, cmd_export),
)
