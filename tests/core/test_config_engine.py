"""[agent] engine: Honk's own loop over the Messages API (the default) or Claude Code."""

from __future__ import annotations

import pytest

from desktop.core.config import ENGINES, ConfigError, load_config


def test_the_messages_engine_is_the_default() -> None:
    assert load_config(None).agent.engine == "messages"
    assert load_config("[agent]\nmax_turns = 3\n").agent.engine == "messages"


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_can_be_chosen(engine: str) -> None:
    assert load_config(f'[agent]\nengine = "{engine}"\n').agent.engine == engine


@pytest.mark.parametrize(("value", "shown"), [
    ('"x"', "'x'"),
    ('"Claude-Code"', "'Claude-Code'"),  # spelled exactly: no guessing at case
    ('""', "''"),
    ("1", "1"),
])
def test_a_bad_engine_names_the_key_the_value_and_the_choices(value: str, shown: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(f"[agent]\nengine = {value}\n")
    message = str(caught.value)
    assert message.startswith(f"honk.toml: agent.engine = {shown}: expected ")
    if value.startswith('"') and value != '""':
        assert message == (f"honk.toml: agent.engine = {shown}: "
                           "expected one of 'messages', 'claude-code'")


def test_the_engine_keeps_the_other_agent_settings() -> None:
    agent = load_config('[agent]\nengine = "claude-code"\nmax_turns = 7\n'
                        "max_cost_usd = 0.5\n").agent
    assert (agent.engine, agent.max_turns, agent.max_cost_usd) == ("claude-code", 7, 0.5)
