# Copyright: (c) 2026, konnect.devportal contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: write every task result and the stats as JSON to $KDP_RECORD_FILE."""

DOCUMENTATION = """
name: record
type: aggregate
short_description: write task results to a JSON file for the test suite
description: Test harness only; not shipped in the collection's plugins.
requirements:
  - the KDP_RECORD_FILE environment variable names the output file
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.tasks = []
        self.started = {}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.started[task._uuid] = time.monotonic()

    def v2_playbook_on_handler_task_start(self, task):
        self.started[task._uuid] = time.monotonic()

    def _add(self, result, status):
        res = dict(result._result)
        started = self.started.get(result._task._uuid)
        self.tasks.append(
            {
                "name": result._task.get_name(),
                # seconds from the task's start to this result (the bench's per-task figures)
                "seconds": round(time.monotonic() - started, 3) if started is not None else None,
                "action": result._task.action,
                "host": result._host.get_name(),
                "status": status,
                "result": json.loads(json.dumps(res, default=str)),
            }
        )

    def v2_runner_on_ok(self, result):
        self._add(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._add(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._add(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._add(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("KDP_RECORD_FILE")
        if not path:
            return
        summary = {h: stats.summarize(h) for h in sorted(stats.processed)}
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"tasks": self.tasks, "stats": summary}, fh)
