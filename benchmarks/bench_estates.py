"""Import a 5,000-principal AWS export and build its escalation edges; print the times (targets: < 10 s, < 5 s).

The export is made from the IAMVulnerable fixture's shapes: its users, groups, roles and policies
copied with a suffix until there are 5,000 principals (every copy's policies, attachments, groups,
instance profiles and trust policies renamed with it, so each copy is a separate set of paths in
one account).

    python benchmarks/bench_estates.py [--principals 5000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "iamvulnerable" / "authorization-details.json"


def scaled(n: int) -> dict:
    """The fixture copied until it has ``n`` principals."""
    base = json.loads(FIXTURE.read_text())
    out: dict = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": [], "IsTruncated": False}
    k = 0
    while len(out["UserDetailList"]) + len(out["RoleDetailList"]) < n:
        text = json.dumps(base)
        for kind in ("user/", "role/", "group/", "policy/", "instance-profile/"):
            text = text.replace(f":111111111111:{kind}", f":111111111111:{kind}c{k:03d}-")
        d = json.loads(text)
        for u in d["UserDetailList"]:
            u["UserName"] = f"c{k:03d}-{u['UserName']}"
            u["GroupList"] = [f"c{k:03d}-{g}" for g in u["GroupList"]]
        for g in d["GroupDetailList"]:
            g["GroupName"] = f"c{k:03d}-{g['GroupName']}"
        for r in d["RoleDetailList"]:
            r["RoleName"] = f"c{k:03d}-{r['RoleName']}"
        for p in d["Policies"]:
            if ":aws:policy/" not in p["Arn"]:
                p["PolicyName"] = f"c{k:03d}-{p['PolicyName']}"
        for key in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
            out[key].extend(d[key])
        out["Policies"].extend(p for p in d["Policies"] if k == 0 or ":aws:policy/" not in p["Arn"])
        k += 1
    extra = len(out["UserDetailList"]) + len(out["RoleDetailList"]) - n
    del out["RoleDetailList"][len(out["RoleDetailList"]) - extra:]
    return out


def main() -> int:
    from simenv.estates import aws, estate

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--principals", type=int, default=5000)
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "auth.json"
        f.write_text(json.dumps(scaled(a.principals)))
        size = f.stat().st_size
        t0 = time.perf_counter()
        account = aws.read(f)
        t1 = time.perf_counter()
        an = aws.Analysis(account)
        edges, admins = aws.escalations(an)
        t2 = time.perf_counter()
        est = estate.from_account(account, "bench")
        out = Path(tmp) / "estate.json"
        estate.dump(est, out)
        t3 = time.perf_counter()
        estate.load(out)
        t4 = time.perf_counter()
        cli = []
        for _ in range(3):  # the whole command, as a user runs it: read, check, edges, sensitivity, write
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "simenv", "import", "aws-iam", str(f), "-o", str(Path(tmp) / "cli.json")],
                           check=True, stdout=subprocess.DEVNULL)
            cli.append(time.perf_counter() - t)
    print(f"principals {len(account.principals)}, export {size / 2**20:.1f} MiB")
    print(f"import (read and check the export): {t1 - t0:.2f} s  (target < 10 s)")
    print(f"escalation edges: {len(edges):,} edges, {len(admins)} admins in {t2 - t1:.2f} s  (target < 5 s)")
    print(f"estate file from the account (edges again, sensitivity, write): {t3 - t2:.2f} s; reading it back {t4 - t3:.2f} s")
    print(f"simenv import aws-iam, the whole command: {statistics.median(cli):.2f} s, median of 3  (target < 10 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
