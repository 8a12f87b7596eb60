"""Print the audit fingerprints of episodes as JSON; run in a fresh interpreter by test_determinism.

    python tests/fingerprints.py CASES_JSON [--shuffle SEED] [--noise N]

``CASES_JSON`` is a list of ``[scenario, profile, seed, agent]``. ``--shuffle`` runs them in a
shuffled order, and ``--noise`` runs that many other episodes before each case, so that a
fingerprint that depends on the history of the process shows up.
"""

from __future__ import annotations

import json
import sys

import numpy as np


def main(argv: list[str]) -> int:
    import simenv
    from simenv import files

    cases = [tuple(c) for c in json.loads(argv[0])]
    order = list(range(len(cases)))
    rng = np.random.default_rng(int(argv[argv.index("--shuffle") + 1]) if "--shuffle" in argv else 0)
    noise = int(argv[argv.index("--noise") + 1]) if "--noise" in argv else 0
    if "--shuffle" in argv:
        rng.shuffle(order)
    scenarios, policies = files.list_shipped("scenarios"), files.list_shipped("policies")
    out = {}
    for i in order:
        for _ in range(noise):
            simenv.run_episode(scenarios[int(rng.integers(len(scenarios)))], policies[int(rng.integers(len(policies)))],
                               seed=int(rng.integers(100)), agent=str(rng.choice(["scripted", "llm_stub", "oracle"])))
        s, p, seed, agent = cases[i]
        out["/".join(map(str, cases[i]))] = simenv.run_episode(s, p, seed=int(seed), agent=agent).scores["fingerprint"]
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
