"""PACING, the one setting the sync function and the sweep share: on by default (with the
reserve and the default quota each reads), off when asked, anything else refused."""

from __future__ import annotations

import pytest

from activity_relay.core.quota.pacing import PacePolicy
from activity_relay.runtime.sweep import SweepSettings
from activity_relay.runtime.sync import SyncSettings
from tests.support.settings import SWEEP_ENV, SYNC_ENV, assert_refused


def test_pacing_is_on_by_default_with_the_reserve_and_can_be_turned_off() -> None:
    sync = SyncSettings.from_env({**SYNC_ENV, "LEADLEX_QUOTA_RESERVE": "50"})
    assert sync.pace == PacePolicy(reserve=50)
    assert SyncSettings.from_env({**SYNC_ENV, "PACING": " OFF "}).pace is None

    swept = SweepSettings.from_env({**SWEEP_ENV, "DEFAULT_DAILY_QUOTA": "1000"}).policy
    assert swept.pace == PacePolicy(reserve=0, default_limit=1000)
    assert SweepSettings.from_env({**SWEEP_ENV, "PACING": "off"}).policy.pace is None


@pytest.mark.parametrize("env", [SYNC_ENV, SWEEP_ENV])
def test_a_bad_pacing_setting_names_the_variable(env: dict[str, str]) -> None:
    reader = SyncSettings if env is SYNC_ENV else SweepSettings
    assert_refused(reader, {**env, "PACING": "sometimes"}, "PACING must be on or off")
