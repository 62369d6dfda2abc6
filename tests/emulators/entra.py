"""Placeholder: replaced by the real Entra emulator."""

from framework import Service


class Entra(Service):
    name = "entra"
