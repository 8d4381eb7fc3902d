"""Errors raised by the Inferno client.

Handlers pick the user-facing (translated) text by the exception class, so each class stands for
one thing the user can act on. The English ``str()`` is for logs; it never carries the API key or a
password because every message is either ours or scrubbed of the caller's secrets first.
"""

from __future__ import annotations


class InfernoError(Exception):
    """Base of every error the provider client raises."""

    def __init__(self, message: str, *, action: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # Mutable on purpose: model parsers raise without knowing the action; the client sets it.
        self.action = action

    def __str__(self) -> str:
        if not self.action or self.message.startswith(f"{self.action}:"):
            return self.message
        return f"{self.action}: {self.message}"


class InvalidCredentials(InfernoError):
    """The provider rejected the client id / API key, or the email / password."""


class AccessDenied(InfernoError):
    """The provider (or Cloudflare in front of it) refused to talk to this server at all.

    In practice this means the bot server's IP address is not whitelisted: the customer has to ask
    Inferno support, in a ticket, to whitelist it.
    """

    def __init__(
        self,
        message: str = (
            "the provider refused access; the bot server's IP address must be whitelisted "
            "by Inferno support"
        ),
        *,
        action: str | None = None,
        status: int | None = None,
        reason: str = "http",
    ) -> None:
        super().__init__(message, action=action)
        self.status = status
        # "http" (401/403), "html" (an HTML page instead of an answer), "cloudflare" (challenge
        # page) or "message" (a fail envelope about the caller's IP).
        self.reason = reason


class ProviderFail(InfernoError):
    """The provider understood the request and answered ``result: fail``."""

    def __init__(self, message: str, code: int | None = None, *, action: str | None = None) -> None:
        super().__init__(message, action=action)
        self.code = code

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} (code {self.code})" if self.code is not None else text


class ProviderUnavailable(InfernoError):
    """Timeouts, network errors, 5xx: nothing the user did wrong, try again later."""

    def __init__(
        self, message: str, *, action: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, action=action)
        self.status = status

    @property
    def retryable(self) -> bool:
        # 429 also lands here but a rate limit is not helped by retrying at once.
        return self.status is None or self.status >= 500


class UnreadableAnswer(InfernoError):
    """The answer was neither JSON nor print_r, or had a shape the parsers cannot make sense of."""

    def __init__(
        self, message: str = "unexpected answer from the provider", *, action: str | None = None
    ) -> None:
        super().__init__(message, action=action)


__all__ = [
    "AccessDenied",
    "InfernoError",
    "InvalidCredentials",
    "ProviderFail",
    "ProviderUnavailable",
    "UnreadableAnswer",
]
