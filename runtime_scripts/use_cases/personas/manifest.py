"""Personas: which groups do the telecom customers fall into by how they use their plans?
Unsupervised: K-Means over 11 standardised usage features (calls and minutes by time of day,
voicemail, international use, customer service calls, tenure) of modeldata's `mlc_churn`
customers (sample_data/regenerate.py). It trains with scikit-learn in its own image, or with
SageMaker's built-in K-Means (`training.algorithm = "builtin"`: the image's `process package`
turns its model into the same bundle); evaluation scores silhouette and cluster shares on the
test split; serving answers each customer's segment as built-in K-Means answers."""

from runtime_scripts.common.manifest import (
    BuiltinAlgorithm,
    GateCondition,
    Image,
    Metric,
    Monitoring,
    Resampling,
    Serving,
    Tuning,
    UseCaseManifest,
    Wording,
)

FEATURES = 11  # dataset.json's features: K-Means' feature_dim
TYPES = ("text/csv", "application/json")
# Built-in K-Means' hyperparameters (its documentation): script mode reads the same names.
HYPERPARAMETERS = {"k": "4", "feature_dim": str(FEATURES), "init_method": "kmeans++",
                   "epochs": "1"}

# Built-in PCA (training.builtin_algorithm "pca"), the customers' usage projected on its
# principal components, served from PCA's own container as projections. The usage features are
# nearly uncorrelated (each of the 11 components holds 8 to 10 % of the variance of the sample):
# 6 components keep 57 % of it, 52 % of the test split's (the emulation, measured 2026-12-02):
# about what any 6 of 11 uncorrelated directions keep. The gate refuses a projection that
# keeps less than 45 % of the held-out customers' variance (one trained on other data, or too
# few components); PCA compresses these features little, which the report's shares show.
PCA = BuiltinAlgorithm(
    framework="pca", version="1",
    hyperparameters={"feature_dim": str(FEATURES), "num_components": "6",
                     "mini_batch_size": "500"},
    input_format="application/x-recordio-protobuf",
    gate=(GateCondition("explained_variance", ">=", 0.45),))

MANIFEST = UseCaseManifest(
    name="personas",
    description="Customer segments by telecom usage: K-Means (scikit-learn or SageMaker's "
                "built-in) on the churn customers' usage features",
    problem_type="clustering",
    metrics=(
        Metric("silhouette", higher_is_better=True, minimum=-1.0, maximum=1.0),
        Metric("min_cluster_share", higher_is_better=True),
        Metric("msd", higher_is_better=False, maximum=None),
        # A sum over the test rows: its size moves it, so no gate compares it.
        Metric("inertia", higher_is_better=False, gateable=False, maximum=None),
        # A PCA model's (built-in PCA: evaluate.py).
        Metric("explained_variance", higher_is_better=True, minimum=None, maximum=1.0),
        Metric("reconstruction_error", higher_is_better=False, maximum=None),
    ),
    # Built-in K-Means' names for its metrics on the held-out (`test`) channel, which the
    # platform fills with the validation split; script mode logs the same.
    training_metrics=("test:msd", "test:ssd"),
    # Usage features overlap: on the sample's test split k=3..6 reach silhouettes of 0.06 to
    # 0.08 (the defaults 0.080, the smallest segment 13 % of the customers; measured
    # 2026-12-01). The gate refuses what is worse than weak structure: a silhouette under
    # 0.04 (one cluster scores -1), or a segment under 5 % of the customers.
    gate=(GateCondition("silhouette", ">=", 0.04),
          GateCondition("min_cluster_share", ">=", 0.05)),
    hyperparameters=HYPERPARAMETERS,
    # k changes what msd means (more clusters, smaller distances): it is the analyst's choice,
    # not a tuning range. Built-in K-Means' documented tunable ones are searched instead.
    tuning=Tuning(objective_metric="test:msd", objective_type="Minimize",
                  ranges={"continuous": [],
                          "integer": [{"name": "epochs", "min": 1, "max": 10,
                                       "scaling": "Linear"}],
                          "categorical": [{"name": "init_method",
                                           "values": ["kmeans++", "random"]}]},
                  static_hyperparameters={"k": "4", "feature_dim": str(FEATURES)}),
    serving=Serving(content_types=TYPES, accept_types=TYPES,
                    prediction_columns=("closest_cluster", "distance_to_cluster")),
    # The shared record preprocessor and drift checks read a supervised table's columns.
    monitoring=Monitoring(drift=False),
    image=Image(dockerfile="../../common/tabular/Dockerfile", instance_family="cpu",
                builtin_training=BuiltinAlgorithm(
                    framework="kmeans", version="1",
                    hyperparameters={"k": "4", "feature_dim": str(FEATURES)},
                    objective_metric="test:msd",
                    # Its preferred input: preprocessing writes train and validation as
                    # RecordIO-protobuf Records for it.
                    input_format="application/x-recordio-protobuf"),
                builtin_alternatives=(PCA,)),
    wording=Wording(rows="customers"),
    sample_data="sample_data/customers.csv",
    local_batch="sample_data/local_run/holdout.csv",
    cross_validation=Resampling(
        allowed=False,
        refusal=("clusters have no label to score folds against: personas is judged on its "
                 "test split's silhouette and cluster shares")),
)
