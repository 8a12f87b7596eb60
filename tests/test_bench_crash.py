"""A worker that dies (a segfault in a native library, the OOM killer) costs the sweep one error row, not the
episodes beside it, and never the results: the sweep ends with its parquet, and --resume works."""

import os
import signal

import pandas as pd
import pytest

from simenv.bench.runner import SweepFailed, run_matrix
from simenv.bench.shards import EPISODES

SCEN = "delegated_admin,key_export"
SEEDS = 4


class Crasher:
    """Kills its own process, as a segfault would, in key_export on the seeds whose first draw is below one half;
    elsewhere it waits (the null agent)."""

    name = "crasher"

    def reset(self, identity, tool_schemas, rng):
        self.crash = identity == "crypto-bot" and rng.random() < 0.5

    def act(self, obs):
        if self.crash:
            os.kill(os.getpid(), signal.SIGKILL)
        return None


@pytest.mark.parametrize("pool", ["fork", "loky"])
def test_a_dying_worker_costs_its_own_episode_only(tmp_path, pool):
    out = tmp_path / "res"
    with pytest.raises(SweepFailed) as e:
        run_matrix(SCEN, "allow_all,static_rbac", SEEDS, agent=Crasher(), executor=pool, jobs=2, chunk_size=3,
                   out=out)
    got = pd.read_parquet(out / EPISODES)
    assert len(got) == 2 * 2 * SEEDS  # every episode has its row
    bad = got[got["error"].notna()]
    assert set(bad["scenario"]) == {"key_export"} and 0 < len(bad) < 2 * SEEDS, bad[["scenario", "policy", "seed"]]
    assert bad["error"].str.startswith("executor: failed twice, the second time on its own").all()
    assert got[got["scenario"] == "delegated_admin"]["error"].isna().all()  # neighbours in flight ran again
    assert len(e.value.failed) == len(bad)
    crashed = {(r.policy, r.seed) for r in bad.itertuples()}
    assert {s for _, s in crashed} == {s for p, s in crashed if p == "static_rbac"}  # the seed decides, not luck
    with pytest.raises(SweepFailed):  # resume retries just the crashed episodes, and keeps every row
        run_matrix(SCEN, "allow_all,static_rbac", SEEDS, agent=Crasher(), executor=pool, jobs=2, out=out,
                   resume=True)
    again = pd.read_parquet(out / EPISODES)
    assert len(again) == 4 * SEEDS and {(r.policy, r.seed) for r in again[again["error"].notna()].itertuples()} == crashed
