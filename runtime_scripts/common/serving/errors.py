"""Errors the inference server turns into HTTP answers.

A client error carries its status and a message that names the problem; the server answers it
and keeps serving. Anything else reaching the top is a bug and becomes a 500 with a log line.
"""

from __future__ import annotations


class ClientError(Exception):
    """A request the server refuses: `status` is the 4xx code, the message says why."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        return str(self.args[0])


class BadRequest(ClientError):
    status = 400


class NotFound(ClientError):
    status = 404


class MethodNotAllowed(ClientError):
    status = 405

    def __init__(self, message: str, allow: str) -> None:
        super().__init__(message)
        self.allow = allow


class NotAcceptable(ClientError):
    status = 406


class PayloadTooLarge(ClientError):
    status = 413


class UnsupportedMediaType(ClientError):
    status = 415


class ServiceUnavailable(ClientError):
    """Not a client error, but answered the same way: the model is not loaded yet."""

    status = 503


class ModelLoadError(RuntimeError):
    """The model directory is missing or inconsistent; the message names the file and the fix."""
