"""Placeholder: replaced by the real Konnect emulator."""

from framework import Service


class Konnect(Service):
    name = "konnect"
