"""A batch transform request that holds a header row and no record (an S3 object of a header
alone) is answered with the header of the predictions, not a server error."""

from __future__ import annotations

from runtime_scripts.common.serving.app import InferenceApp, Scorer
from runtime_scripts.common.serving.config import ServerConfig


def test_a_header_row_alone_gets_the_header_of_the_predictions(sample_model, artifacts) -> None:
    app = InferenceApp(ServerConfig.resolve([], {"SAGEMAKER_BATCH": "true"}), Scorer(artifacts))
    for columns in (sample_model.spec.feature_names,
                    [c for c in sample_model.holdout.columns if c != sample_model.spec.target]):
        reply = app.handle("POST", b"/invocations", "text/csv", None,
                           (",".join(columns) + "\n").encode())
        assert reply.status == 200 and reply.body.endswith(b"probability,label\n")
        assert reply.body.count(b"\n") == 1  # one line per record, and one for the header
