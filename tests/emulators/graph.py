"""Placeholder: replaced by the real Graph emulator."""

from framework import Service


class Graph(Service):
    name = "graph"
