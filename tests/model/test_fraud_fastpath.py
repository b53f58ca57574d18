import math
import re

import numpy as np
import pandas as pd
import pytest
from fraud_model.data import generate
from fraud_model.fastpath import (
    FLOAT32_MAX,
    GRID_TOLERANCE,
    GridMismatchError,
    GridModel,
    GridUnavailableError,
    build_grid,
    split_thresholds,
    verify_grid,
)
from fraud_model.schema import FEATURES
from sklearn.linear_model import LogisticRegression


@pytest.fixture(scope="module")
def classifier(served_model):
    return served_model[0]


@pytest.fixture(scope="module")
def grid(classifier) -> GridModel:
    return build_grid(classifier)


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return generate(2_000, seed=5)[list(FEATURES)].to_numpy(np.float64)


def sklearn_probability(classifier, rows) -> np.ndarray:
    return classifier.predict_proba(pd.DataFrame(rows, columns=list(FEATURES)))[:, 1]


def test_grid_has_one_cell_more_than_thresholds_per_feature(classifier, grid):
    nodes = np.concatenate(
        [tree.nodes for iteration in classifier._predictors for tree in iteration]
    )
    splits = nodes[nodes["is_leaf"] == 0]
    for feature, thresholds in enumerate(grid.thresholds):
        used = splits["num_threshold"][splits["feature_idx"] == feature]
        assert set(thresholds) == set(used)
        assert grid.probabilities.shape[feature] == len(thresholds) + 1
    assert grid.probabilities.dtype == np.float32


def test_values_on_and_next_to_every_threshold_give_the_classifiers_probability(
    classifier, grid, rows
):
    """scikit-learn sends x <= threshold left: a value equal to a threshold is the edge case."""
    for feature, thresholds in enumerate(grid.thresholds):
        for values in (
            thresholds,
            np.nextafter(thresholds, -np.inf),
            np.nextafter(thresholds, np.inf),
        ):
            probe = rows[: len(values)].copy()
            probe[:, feature] = values
            served = [grid.predict_one(row) for row in probe.tolist()]
            np.testing.assert_allclose(
                served, sklearn_probability(classifier, probe), atol=GRID_TOLERANCE, rtol=0
            )


def test_realistic_extreme_and_integer_rows_give_the_classifiers_probability(
    classifier, grid, rows
):
    extremes = [[-FLOAT32_MAX, 0.0, FLOAT32_MAX], [FLOAT32_MAX, -FLOAT32_MAX, 0.0], [0.0, 0.0, 0.0]]
    probe = np.concatenate([rows, extremes])
    served = [grid.predict_one(row) for row in probe.tolist()]
    expected = sklearn_probability(classifier, probe)
    np.testing.assert_allclose(served, expected, atol=GRID_TOLERANCE, rtol=0)
    np.testing.assert_array_equal(grid.predict(probe), np.array(served, dtype=np.float32))
    assert grid.predict_one([1000, 45, 1]) == grid.predict_one([1000.0, 45.0, 1.0])


def test_verification_accepts_the_built_grid(classifier, grid, rows):
    assert verify_grid(grid, classifier, rows) <= GRID_TOLERANCE


def test_a_wrong_cell_is_refused(classifier, grid, rows):
    probabilities = grid.probabilities.copy()
    probabilities[3, 2, 1] += 0.01
    with pytest.raises(GridMismatchError, match="the table differs from the classifier"):
        verify_grid(GridModel(grid.thresholds, probabilities), classifier, rows)


def test_a_missing_threshold_is_refused(classifier, grid, rows):
    """Dropping a threshold merges two cells: the merged cell's lower corner gives it away."""
    thresholds = list(grid.thresholds)
    feature = 0
    middle = len(thresholds[feature]) // 2
    thresholds[feature] = np.delete(thresholds[feature], middle)
    probabilities = np.delete(grid.probabilities, middle, axis=feature)
    with pytest.raises(GridMismatchError, match="lower corner"):
        verify_grid(GridModel(thresholds, probabilities), classifier, rows)


class RightBisectGrid(GridModel):
    """The off-by-one that ``<`` instead of ``<=`` would cause: values on a threshold go right."""

    def predict_one(self, row):
        index = [
            int(np.searchsorted(t, value, side="right"))
            for t, value in zip(self.thresholds, row, strict=True)
        ]
        return float(self.probabilities[tuple(index)])


def test_routing_values_on_a_threshold_to_the_right_is_refused(classifier, grid, rows):
    with pytest.raises(GridMismatchError):
        verify_grid(RightBisectGrid(grid.thresholds, grid.probabilities), classifier, rows)


def test_a_grid_over_the_size_limit_is_not_built(classifier, grid):
    cells = " x ".join(str(size) for size in grid.probabilities.shape)
    with pytest.raises(GridUnavailableError, match=re.escape(f"{cells} cells, ")):
        build_grid(classifier, max_bytes=grid.probabilities.nbytes - 1)


def test_a_model_other_than_gradient_boosting_is_not_tabulated(rows):
    other = LogisticRegression().fit(rows, rows[:, 0] > 100)
    with pytest.raises(GridUnavailableError, match="not a binary HistGradientBoostingClassifier"):
        split_thresholds(other)


def test_serialisation_round_trips_and_is_reproducible(grid, tmp_path):
    data = grid.to_bytes()
    assert data == grid.to_bytes()
    (tmp_path / "grid.npz").write_bytes(data)
    loaded = GridModel.load(tmp_path / "grid.npz")
    np.testing.assert_array_equal(loaded.probabilities, grid.probabilities)
    for ours, theirs in zip(loaded.thresholds, grid.thresholds, strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t, p: (t[:2], p), "2 threshold arrays; expected 3"),
        (lambda t, p: ([t[0][::-1], t[1], t[2]], p), "amount must be finite and strictly"),
        (lambda t, p: ([t[0], t[1], np.append(t[2], math.inf)], p), "merchant_risk_score"),
        (lambda t, p: (t, p.astype(np.float64)), "expected float32"),
        (lambda t, p: (t, p[:-1]), "expected float32"),
    ],
)
def test_inconsistent_tables_are_refused_on_load(grid, change, message):
    with pytest.raises(ValueError, match=message):
        GridModel(*change(list(grid.thresholds), grid.probabilities))
