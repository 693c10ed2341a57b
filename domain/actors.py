"""Who caused an event. Every event records one of these as a plain string."""

from __future__ import annotations

INACTIVITY = "system:inactivity"
OA_MANAGER = "zalo:oa-manager"
ZALO = "zalo:webhook"
SYSTEM = "system"


def customer(zalo_user_id: str) -> str:
    return f"customer:{zalo_user_id}"


def agent(agent_id: str) -> str:
    return f"agent:{agent_id}"


def automation(rule_id: str) -> str:
    return f"automation:{rule_id}"


OUTBOX = "system:outbox"
PROFILES = "system:profiles"
