import pytest

from invoices.taxpayer import vrn_warning


@pytest.mark.parametrize("raw", ["40-012345-K", "10017937K", " 40012345k ", "NOT REGISTERED"])
def test_plausible_vrns_give_no_warning(raw):
    assert vrn_warning(raw) is None


@pytest.mark.parametrize("raw", ["40-012345", "4001234KK", "", "ABCDEFGHI"])
def test_odd_vrns_warn_without_raising(raw):
    assert "does not look like a VRN" in vrn_warning(raw)
