"""Placeholder: replaced by the real Portal emulator."""

from framework import Service


class Portal(Service):
    name = "portal"
