"""Resampling: the rows of a use case's data dealt into folds (cross-validation) and the
metrics of the use case's own jobs on each fold aggregated. Generic for every tabular use case;
the pipelines that run these jobs are ml_constructs/cross_validation_pipeline.py."""
