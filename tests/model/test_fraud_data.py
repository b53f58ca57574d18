import pytest
from fraud_model.data import TARGET, generate
from fraud_model.schema import FEATURES


def test_same_seed_same_data_and_other_seed_other_data():
    assert generate(2_000, seed=5).equals(generate(2_000, seed=5))
    assert not generate(2_000, seed=5).equals(generate(2_000, seed=6))


def test_columns_follow_the_public_feature_order():
    frame = generate(1_000)
    assert list(frame.columns) == [*FEATURES, TARGET]
    assert FEATURES == ("amount", "distance_from_home_km", "merchant_risk_score")


def test_values_are_plausible_and_fraud_is_rare():
    frame = generate(50_000, fraud_rate=0.02, seed=1)
    assert 0.015 < frame[TARGET].mean() < 0.025
    assert (frame["amount"] > 0).all()
    assert (frame["distance_from_home_km"] >= 0).all()
    assert frame["merchant_risk_score"].between(0, 1).all()
    fraud, legit = frame[frame[TARGET] == 1], frame[frame[TARGET] == 0]
    for feature in FEATURES:
        assert fraud[feature].median() > legit[feature].median()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_samples": 5}, "n_samples = 5"),
        ({"n_samples": 100, "fraud_rate": 0.7}, "fraud_rate = 0.7"),
    ],
)
def test_invalid_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(**kwargs)
