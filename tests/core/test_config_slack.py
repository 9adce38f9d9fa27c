"""[slack]: who may request and approve from Slack, checked as Slack IDs."""

from __future__ import annotations

import pytest

from desktop.core.config import ConfigError, load_config


def test_requesters_default_to_the_approvers() -> None:
    slack = load_config('[slack]\napprovers = ["U0123ABCD"]\n').slack
    assert slack is not None
    assert slack.requesters == ("U0123ABCD",) and slack.channels == ()
    assert slack.upload_artifact and slack.max_upload_mb == 50
    assert slack.may_request("U0123ABCD") and slack.may_approve("U0123ABCD")
    assert not slack.may_request("U0999") and slack.takes_requests_in("C0ANY")


def test_approvers_may_always_request_and_channels_limit_where() -> None:
    slack = load_config('[slack]\napprovers = ["U0APPROVE"]\nrequesters = ["U0REQUEST"]\n'
                        'channels = ["C0MOBILE"]\nupload_artifact = false\n'
                        "max_upload_mb = 5\n").slack
    assert slack is not None
    assert slack.may_request("U0REQUEST") and slack.may_request("U0APPROVE")
    assert not slack.may_approve("U0REQUEST")
    assert slack.takes_requests_in("C0MOBILE") and not slack.takes_requests_in("C0OTHER")
    assert not slack.upload_artifact and slack.max_upload_mb == 5


def test_no_slack_table_means_not_served() -> None:
    assert load_config("[agent]\nmax_turns = 3\n").slack is None


@pytest.mark.parametrize(("text", "message"), [
    ('[slack]\napprovers = ["ana"]\n', "slack.approvers = 'ana': expected Slack user IDs"),
    ('[slack]\napprovers = "U0123ABCD"\n', "slack.approvers = 'U0123ABCD': expected a list of"),
    ('[slack]\napprovers = ["U0123ABCD"]\nchannels = ["#mobile"]\n',
     "slack.channels = '#mobile': expected Slack channel IDs"),
    ('[slack]\napprovers = ["U0123ABCD"]\nmax_upload_mb = 0\n',
     "slack.max_upload_mb = 0: expected a positive number"),
    ('[slack]\napprovers = ["U0123ABCD"]\napprover = ["U0123ABCD"]\n',
     "slack.approver = ['U0123ABCD']: expected no such key"),
])
def test_bad_slack_config_names_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(text)
    assert str(caught.value).startswith("honk.toml: " + message)
