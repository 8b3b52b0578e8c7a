"""The models compared by `leadledger train`: the product model and two baselines.

- product: LightGBM gradient-boosted trees on native categories, the number of rounds found by
  early stopping inside the training rows, probabilities calibrated by Platt scaling of
  out-of-fold scores, and per-lead explanations from the trees' exact SHAP contributions.
- logistic: one-hot categories, standardised numbers, L2 logistic regression (scikit-learn).
- naive_bayes: the Odoo-style per-value won/lost frequency model (domain.predict.naive_bayes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from leadledger.domain.predict.explain import Explanation, Factor, describe_value, explain
from leadledger.domain.predict.features import FeatureKind, as_category, parse_number, quantile_edges
from leadledger.domain.predict.naive_bayes import DEFAULT_ALPHA, NaiveBayes, fit_naive_bayes
from leadledger.services.training.matrix import Encoder, fit_encoder

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from leadledger.services.training.table import LeadTable

INNER_FOLDS = 3  # inside the training rows: rounds by early stopping, and the calibration scores
MAX_ROUNDS = 2000
PATIENCE = 50
NB_BINS = 5  # numbers become quintiles for the frequency model


class Fitted(Protocol):
    """A trained model: a conversion probability per lead."""

    def predict(self, table: LeadTable) -> NDArray[np.float64]:
        """P(converted) for each lead of `table`."""
        ...


def _sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-np.clip(x, -700, 700)))


def product_params(rows: int, *, seed: int, threads: int) -> dict[str, Any]:
    """LightGBM settings: small, shallow, bagged trees; leaf and category minimums scale with the data."""
    small = max(5, min(40, rows // 50))
    return {
        "objective": "binary", "learning_rate": 0.03, "num_leaves": 7, "min_data_in_leaf": small,
        "bagging_fraction": 0.8, "bagging_freq": 1, "feature_fraction": 0.8, "cat_smooth": 20.0,
        "min_data_per_group": small, "seed": seed, "deterministic": True, "force_col_wise": True,
        "num_threads": threads, "verbose": -1,
    }


@dataclass(frozen=True, slots=True)
class ProductModel:
    """Calibrated gradient-boosted trees: P = σ(slope · trees(x) + intercept)."""

    encoder: Encoder
    booster: Any  # lightgbm.Booster
    slope: float
    intercept: float
    rounds: int

    def raw(self, table: LeadTable) -> NDArray[np.float64]:
        """The trees' uncalibrated log-odds."""
        import numpy as np

        return np.asarray(self.booster.predict(self.encoder.matrix(table), raw_score=True), dtype=float)

    def predict(self, table: LeadTable) -> NDArray[np.float64]:
        """Calibrated P(converted)."""
        return _sigmoid(self.slope * self.raw(table) + self.intercept)

    def effects(self, table: LeadTable) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Calibrated probabilities, and each feature's effect on them (leads × features).

        A feature's effect is how much the calibrated probability drops when its SHAP
        contribution (in log-odds) is taken away: exact for one feature, additive in log-odds.
        """
        contributions = self.booster.predict(self.encoder.matrix(table), pred_contrib=True)
        logits = self.slope * contributions.sum(axis=1) + self.intercept
        probabilities = _sigmoid(logits)
        without = _sigmoid(logits[:, None] - self.slope * contributions[:, :-1])
        return probabilities, probabilities[:, None] - without

    def explanations(self, table: LeadTable, top: int = 3) -> list[Explanation]:
        """Per lead: the values that pushed its probability up and down most."""
        probabilities, effects = self.effects(table)
        return [
            explain(float(probabilities[i]), [
                Factor(spec.name, describe_value(spec, table.columns[spec.name][i]), float(effects[i, j]))
                for j, spec in enumerate(self.encoder.features)
            ], top)
            for i in range(len(table))
        ]


def _dataset(lgb: Any, x: Any, y: Any, encoder: Encoder) -> Any:
    return lgb.Dataset(x, y, categorical_feature=encoder.categorical, free_raw_data=False,
                       params={"verbose": -1})


def fit_product(table: LeadTable, *, seed: int = 0, threads: int = 1) -> ProductModel:
    """Inner folds find the number of rounds and the out-of-fold scores Platt scaling is fitted on."""
    import lightgbm as lgb
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    encoder = fit_encoder(table)
    x, y = encoder.matrix(table), np.asarray(table.outcomes, dtype=float)
    params = product_params(len(table), seed=seed, threads=threads)
    oof, best = np.zeros(len(table)), []
    # A lead's snapshots stay on one side: validating on a lead's other snapshots would reward
    # memorising leads, and early stopping would run on to MAX_ROUNDS.
    inner = (StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=seed).split(x, y)
             if table.groups is None else
             StratifiedGroupKFold(INNER_FOLDS, shuffle=True, random_state=seed).split(x, y, table.groups))
    for train, valid in inner:
        booster = lgb.train(
            params, _dataset(lgb, x[train], y[train], encoder), MAX_ROUNDS,
            valid_sets=[_dataset(lgb, x[valid], y[valid], encoder)],
            callbacks=[lgb.early_stopping(PATIENCE, verbose=False)],
        )
        best.append(max(1, booster.best_iteration))
        oof[valid] = booster.predict(x[valid], raw_score=True, num_iteration=booster.best_iteration)
    rounds = max(1, round(float(np.mean(best))))
    booster = lgb.train(params, _dataset(lgb, x, y, encoder), rounds)
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(oof.reshape(-1, 1), y)
    return ProductModel(encoder=encoder, booster=booster, slope=float(platt.coef_[0, 0]),
                        intercept=float(platt.intercept_[0]), rounds=rounds)


@dataclass(frozen=True, slots=True)
class LogisticModel:
    """One-hot categories, standardised numbers with missing indicators, L2 logistic regression."""

    encoder: Encoder
    pipeline: Any  # sklearn Pipeline

    def predict(self, table: LeadTable) -> NDArray[np.float64]:
        """P(converted)."""
        import numpy as np

        return np.asarray(self.pipeline.predict_proba(_design(self.encoder, table))[:, 1], dtype=float)


def _design(encoder: Encoder, table: LeadTable) -> NDArray[np.float64]:
    import numpy as np

    x = encoder.matrix(table)
    cats = encoder.categorical
    x[:, cats] = np.nan_to_num(x[:, cats], nan=-1.0)  # missing is a category of its own
    return x


def fit_logistic(table: LeadTable, *, seed: int = 0, threads: int = 1) -> LogisticModel:
    """Fit the logistic-regression baseline."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    encoder = fit_encoder(table)
    cats = encoder.categorical
    rest = [j for j in range(len(encoder.features)) if j not in set(cats)]
    columns = ColumnTransformer([
        ("categories", OneHotEncoder(handle_unknown="ignore"), cats),
        ("numbers", make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                                keep_empty_features=True), StandardScaler()), rest),
    ])
    pipeline = make_pipeline(columns, LogisticRegression(C=1.0, max_iter=5000, random_state=seed))
    pipeline.fit(_design(encoder, table), table.outcomes)
    return LogisticModel(encoder=encoder, pipeline=pipeline)


@dataclass(frozen=True, slots=True)
class NaiveBayesModel:
    """The frequency model over categories (numbers binned into training quintiles)."""

    table_features: tuple[str, ...]
    edges: dict[str, tuple[float, ...]]
    model: NaiveBayes

    def rows(self, table: LeadTable) -> list[list[str]]:
        """Each lead's values as categories, in feature order."""
        specs = {s.name: s for s in table.features}
        columns = []
        for name in self.table_features:
            cells = table.columns[name]
            # Once per distinct value: snapshot rows repeat the same few values thousands of times.
            found = {raw: as_category(specs[name], raw, self.edges.get(name, ())) for raw in set(cells)}
            columns.append([found[raw] for raw in cells])
        return [list(row) for row in zip(*columns, strict=True)]

    def predict(self, table: LeadTable) -> NDArray[np.float64]:
        """P(converted)."""
        import numpy as np

        return np.asarray([self.model.probability(r) for r in self.rows(table)], dtype=float)


def number_edges(table: LeadTable, bins: int = NB_BINS) -> dict[str, tuple[float, ...]]:
    """Quantile cut points of every numeric feature over the training rows."""
    return {
        s.name: quantile_edges([n for v in table.columns[s.name] if v is not None
                                and (n := parse_number(v)) is not None], bins)
        for s in table.features if s.kind is FeatureKind.numeric
    }


def fit_nb(
    table: LeadTable, *, seed: int = 0, threads: int = 1, alpha: float = DEFAULT_ALPHA
) -> NaiveBayesModel:
    """Fit the naive-Bayes baseline (seed and threads are unused: counting is deterministic)."""
    names = tuple(s.name for s in table.features)
    shell = NaiveBayesModel(names, number_edges(table), NaiveBayes(names, 1, 1, ()))
    model = fit_naive_bayes(names, shell.rows(table), table.outcomes, alpha=alpha)
    return NaiveBayesModel(names, shell.edges, model)


@dataclass(frozen=True, slots=True)
class ModelKind:
    """A model the report compares: its key, its name for people, how to fit it."""

    key: str
    label: str
    fit: Callable[..., Fitted]


PRODUCT = ModelKind("product", "Gradient-boosted trees (calibrated)", fit_product)
LOGISTIC = ModelKind("logistic", "Logistic regression", fit_logistic)
NAIVE_BAYES = ModelKind("naive_bayes", "Naive Bayes (Odoo-style frequencies)", fit_nb)
MODELS = (PRODUCT, LOGISTIC, NAIVE_BAYES)
