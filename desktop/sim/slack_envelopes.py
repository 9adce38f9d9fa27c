"""Socket Mode envelopes shaped as Slack sends them: events, slash commands, button presses.

Follows https://docs.slack.dev/apis/events-api/using-socket-mode/ and the payload pages
under https://docs.slack.dev/reference/ (events, slash commands, ``block_actions``).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Envelopes", "new_id"]


def new_id() -> str:
    """An envelope id shaped like Slack's (a UUID)."""
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


@dataclass(frozen=True)
class Envelopes:
    """Socket Mode envelopes for one app, shaped as Slack sends them."""

    team_id: str
    app_id: str
    bot_user_id: str
    verification: str = "fake-verification-token"  # Slack's legacy per-app token

    def events_api(self, event: dict[str, Any]) -> dict[str, Any]:
        """An ``event_callback`` envelope ("Events API", events-api/#callback-field)."""
        return {"envelope_id": new_id(), "type": "events_api", "accepts_response_payload": False,
                "retry_attempt": 0, "retry_reason": "", "payload": {
                    "token": self.verification, "team_id": self.team_id,
                    "api_app_id": self.app_id, "event": event, "type": "event_callback",
                    "event_id": "Ev" + new_id().replace("-", "")[:10].upper(),
                    "event_time": int(time.time()), "is_ext_shared_channel": False,
                    "authorizations": [{"enterprise_id": None, "team_id": self.team_id,
                                        "user_id": self.bot_user_id, "is_bot": True,
                                        "is_enterprise_install": False}]}}

    def message_event(self, kind: str, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """An ``app_mention`` or ``message`` event envelope for a person's message."""
        event = {"type": kind, "user": message["user"], "text": message["text"],
                 "ts": message["ts"], "channel": message["channel"], "event_ts": message["ts"],
                 "team": self.team_id, "client_msg_id": new_id(), **extra}
        if message.get("thread_ts"):
            event["thread_ts"] = message["thread_ts"]
        return self.events_api(event)

    def slash_command(self, *, user: str, user_name: str, channel: str, command: str,
                      text: str, response_url: str, trigger_id: str) -> dict[str, Any]:
        """A ``slash_commands`` envelope ("Implementing slash commands")."""
        return {"envelope_id": new_id(), "type": "slash_commands",
                "accepts_response_payload": True, "payload": {
                    "token": self.verification, "team_id": self.team_id,
                    "team_domain": "fake-team", "channel_id": channel,
                    "channel_name": channel.lower(), "user_id": user, "user_name": user_name,
                    "command": command, "text": text, "api_app_id": self.app_id,
                    "is_enterprise_install": "false", "response_url": response_url,
                    "trigger_id": trigger_id}}

    def block_actions(self, *, user: str, user_name: str, channel: str,
                      message: dict[str, Any], action_id: str, value: str, action_ts: str,
                      response_url: str, trigger_id: str) -> dict[str, Any]:
        """An ``interactive`` envelope with a ``block_actions`` payload for a button press
        (reference/interaction-payloads/block_actions-payload)."""
        action: dict[str, Any] = {"action_id": action_id, "block_id": "", "value": value,
                                  "type": "button", "action_ts": action_ts,
                                  "text": {"type": "plain_text", "text": action_id}}
        for block in message.get("blocks") or []:
            for element in block.get("elements") or [block.get("accessory") or {}]:
                if element.get("action_id") == action_id:
                    action.update(block_id=block.get("block_id", ""),
                                  type=element.get("type", "button"),
                                  text=element.get("text", action["text"]))
        container = {"type": "message", "message_ts": message["ts"], "channel_id": channel,
                     "is_ephemeral": False}
        if "thread_ts" in message:
            container["thread_ts"] = message["thread_ts"]
        return {"envelope_id": new_id(), "type": "interactive",
                "accepts_response_payload": False, "payload": {
                    "type": "block_actions", "token": self.verification,
                    "user": {"id": user, "username": user_name, "name": user_name,
                             "team_id": self.team_id},
                    "api_app_id": self.app_id, "container": container,
                    "trigger_id": trigger_id, "team": {"id": self.team_id, "domain": "fake-team"},
                    "enterprise": None, "is_enterprise_install": False,
                    "channel": {"id": channel, "name": channel.lower()}, "message": message,
                    "state": {"values": {}}, "response_url": response_url,
                    "actions": [action]}}
