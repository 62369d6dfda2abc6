"""Unit tests of what the Konnect and the Azure modules share."""

from __future__ import annotations

import pytest

from ansible_collections.konnect.devportal.plugins.module_utils import common, konnect
from ansible_collections.konnect.devportal.plugins.module_utils import graph as graph_utils


def test_query_applies_jmespath_and_explains_bad_expressions():
    data = [{"app_id": "a", "consent_granted": False}, {"app_id": "b", "consent_granted": True}]
    assert common.apply_query(data, "[?consent_granted].app_id") == ["b"]
    with pytest.raises(common.InputError, match="not a valid JMESPath"):
        common.apply_query(data, "[?")


def test_one_input_error_and_one_base_for_both_services():
    assert konnect.InputError is graph_utils.InputError is common.InputError
    assert issubclass(konnect.KonnectModule, common.BaseModule)
    assert issubclass(graph_utils.AzureModule, common.BaseModule)
    assert common.one_line(" a\n  b\tc ") == "a b c" and common.one_line(None) is None
