"""Slack: the Web API and Socket Mode for an asyncio program, through slack_sdk.

``SlackConnection`` is the way in; the rest are the types it hands out.
"""

from desktop.adapters.slack.bridge import SlackConnection
from desktop.adapters.slack.errors import SlackCallRefused, SlackError, SlackUnavailable
from desktop.adapters.slack.inbound import SlackRequest
from desktop.adapters.slack.socket_mode import SocketState, SocketStatus

__all__ = [
    "SlackCallRefused",
    "SlackConnection",
    "SlackError",
    "SlackRequest",
    "SlackUnavailable",
    "SocketState",
    "SocketStatus",
]
