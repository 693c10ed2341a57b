"""Settings from the environment: a value zalodesk cannot use stops it at start-up, named."""

from __future__ import annotations

import pytest

from adapters.settings import Settings, SettingsError

INACTIVITY = "ZALODESK_CHAT_INACTIVITY_SECONDS"


@pytest.mark.parametrize("seconds", ["59", "604801", "0", "2147483648", "soon"])
def test_a_default_inactivity_timeout_out_of_bounds_is_refused(seconds: str) -> None:
    with pytest.raises(SettingsError, match=INACTIVITY):
        Settings.from_env({INACTIVITY: seconds})


@pytest.mark.parametrize("seconds", ["60", "600", "604800"])
def test_a_default_inactivity_timeout_within_bounds_is_taken(seconds: str) -> None:
    assert Settings.from_env({INACTIVITY: seconds}).chat_inactivity_seconds == int(seconds)
