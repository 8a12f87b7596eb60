"""Scores change only on purpose: every shipped scenario × profile × seeds 0–2 × two agents is pinned.

The fingerprint is not pinned (it changes with the record format). To re-pin after an
intended change of a score's meaning, run ``python tests/pin_scores.py`` and say why in the commit.
"""

import pytest
from pin_scores import SEEDS, cases, key, load, scores

PINNED = load()
CASES = cases()
GROUPS = sorted({(s, p, a) for s, p, _, a in CASES})


def test_the_pinned_cases_are_the_shipped_ones():
    assert sorted(PINNED) == sorted(key(c) for c in CASES), "re-pin: python tests/pin_scores.py"


@pytest.mark.parametrize("scenario,policy,agent", GROUPS, ids=["/".join(g) for g in GROUPS])
def test_scores_are_unchanged(scenario, policy, agent):
    for seed in SEEDS:
        case = (scenario, policy, seed, agent)
        want = PINNED[key(case)]
        got = scores(*case)
        diff = {k: (want.get(k), got.get(k)) for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)}
        assert not diff, f"{key(case)}: (pinned, now) {diff}"
