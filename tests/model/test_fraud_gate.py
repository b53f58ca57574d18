import pytest
from fraud_model.gate import GateConfig, evaluate_gate

CONFIG = GateConfig(min_roc_auc=0.9, min_pr_auc=0.6, max_regression=0.0)


def test_first_model_meeting_the_minimums_passes():
    result = evaluate_gate({"roc_auc": 0.95, "pr_auc": 0.8}, None, CONFIG)
    assert result.passed
    assert result.reasons == ()


def test_equal_to_champion_passes_and_worse_fails():
    champion = {"roc_auc": 0.95, "pr_auc": 0.8}
    assert evaluate_gate({"roc_auc": 0.95, "pr_auc": 0.8}, champion, CONFIG).passed
    result = evaluate_gate(
        {"roc_auc": 0.99, "pr_auc": 0.79}, champion, CONFIG, champion_version="3"
    )
    assert not result.passed
    assert result.reasons == (
        "pr_auc = 0.7900 is worse than the champion's 0.8000 (version 3) on the same test set"
        " (allowed regression 0.0000, --max-regression)",
    )


def test_allowed_regression_is_honoured():
    config = GateConfig(min_roc_auc=0.9, min_pr_auc=0.6, max_regression=0.02)
    assert evaluate_gate({"roc_auc": 0.95, "pr_auc": 0.79}, {"pr_auc": 0.8}, config).passed


def test_every_failed_minimum_is_reported():
    result = evaluate_gate({"roc_auc": 0.5, "pr_auc": 0.1}, None, CONFIG)
    assert not result.passed
    assert len(result.reasons) == 2
    assert "roc_auc = 0.5000 is below the minimum 0.9000" in result.message()
    assert "pr_auc = 0.1000 is below the minimum 0.6000" in result.message()


def test_out_of_range_settings_are_named():
    with pytest.raises(ValueError, match=r"min_roc_auc = 1.5.*max_regression = -0.1"):
        GateConfig(min_roc_auc=1.5, max_regression=-0.1)
