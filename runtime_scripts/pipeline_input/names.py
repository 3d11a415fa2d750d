"""SageMaker job and model names derived from the Step Functions execution name.

A name is '<resource prefix>-<use case>-<word>-<execution name>': the use case's state machines
of one stage may run executions of the same name, and SageMaker job and model names are unique
per account and region. The training and batch pipelines pass the stage's prefix and their use
case; the deployment pipeline passes its use case's own prefix ('<stage prefix>-<use case>',
ml_constructs/serving_defaults.py) and none: its names (63 characters) keep that prefix whole.

Rules, and why:
- deterministic: the same execution name always gives the same names, so a re-run or a redrive
  is traceable to its execution and a job can be found from the execution alone;
- valid: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$, and at most 32 characters for a tuning job (SageMaker
  appends '-NNN-xxxxxxxx' to name the tuning job's training jobs);
- collision-free: when the name had to be shortened or had characters replaced, a short hash
  of the *original* parts is appended. Without it two long execution names that differ only
  at the end would truncate to the same job name, and 'run_1' and 'run.1' would both sanitise
  to 'run-1'; SageMaker then fails the second execution with "job name already in use". The
  hash is over the parts joined by '/', which none of them can hold (Step Functions execution
  names never do), so different parts never hash alike by being joined alike. A use case whose
  name holds a '-' always gets the hash: 'sales-model' + 'train' + 'x' and 'sales' + 'model' +
  'train-x' would otherwise read the same. Names of use cases without '-' cannot: the use case
  ends at the first '-' after the prefix, and no word is another word followed by '-'.
- IAM-friendly: names start with '<resource_prefix>-' (given a prefix of at most
  `MAX_SCOPED_PREFIX` characters), so policies can scope to 'training-job/<prefix>-*'. The use
  case can be cut short in a 32-character tuning job name, the stage's prefix never is: the
  policies scope to the stage's jobs.
"""

from __future__ import annotations

import base64
import hashlib
import re

from .. import contract

SAGEMAKER_NAME_MAX = contract.SAGEMAKER_NAME_MAX
TUNING_NAME_MAX = contract.TUNING_JOB_NAME_MAX
HASH_LENGTH = 8  # base32: 40 bits; a collision needs ~10^6 truncated names from one prefix+kind
# The longest resource prefix for which even a 32-character tuning job name keeps the whole
# '<prefix>-' in front of the hash: 32 - len('-') - HASH_LENGTH - len('-').
MAX_SCOPED_PREFIX = TUNING_NAME_MAX - HASH_LENGTH - 2

_NOT_NAME_CHARS = re.compile(r"[^a-zA-Z0-9-]+")

# kind (the key under run.job_names) -> (word in the name, maximum length)
TRAINING_JOBS: dict[str, tuple[str, int]] = {
    "preprocessing": ("prep", SAGEMAKER_NAME_MAX),
    "training": ("train", SAGEMAKER_NAME_MAX),
    "tuning": ("tune", TUNING_NAME_MAX),
    # Repacks a built-in XGBoost model into the runtime image's bundle (builtin only).
    "package": ("pkg", SAGEMAKER_NAME_MAX),
    "evaluation": ("eval", SAGEMAKER_NAME_MAX),
    "model": ("model", SAGEMAKER_NAME_MAX),
    # Runs a Data Wrangler flow before preprocessing (when the input names one).
    "data_wrangler": ("dw", SAGEMAKER_NAME_MAX),
    # Judges the training rules after training (training.rules not "off").
    "training_rules": ("rules", SAGEMAKER_NAME_MAX),
    # The AutoML branch: the Autopilot job, and its best candidate's batch transform of the
    # test split (what the evaluation job scores).
    "automl": ("automl", contract.AUTOML_JOB_NAME_MAX),
    "candidate_transform": ("cand", SAGEMAKER_NAME_MAX),
}
# Distinct words from the training pipeline's: two state machines may run executions with the
# same name, and SageMaker model names are unique per account and region.
BATCH_JOBS: dict[str, tuple[str, int]] = {
    "model": ("batch-model", SAGEMAKER_NAME_MAX),
    "transform": ("transform", SAGEMAKER_NAME_MAX),
    # Scores the predictions against labels known for the batch (data.labels_s3_uri).
    "evaluation": ("batch-eval", SAGEMAKER_NAME_MAX),
}
# Cross-validation: its own jobs, and each fold's run of the use case's preprocessing, training
# and evaluation, the fold in the word ('f3-train'): a fold's job names differ from every other
# fold's and from the training pipeline's (no word here is another word followed by '-').
CROSS_VALIDATION_JOBS: dict[str, tuple[str, int]] = {
    "split": ("cv-split", SAGEMAKER_NAME_MAX),
    "aggregate": ("cv-agg", SAGEMAKER_NAME_MAX),
}
FOLD_JOB_WORDS = {"preprocessing": "prep", "training": "train", "evaluation": "eval"}
# With `final_model`: the use case's preprocessing and training on all the data.
FINAL_MODEL_JOBS: dict[str, tuple[str, int]] = {
    "preprocessing": ("cv-prep", SAGEMAKER_NAME_MAX),
    "training": ("cv-train", SAGEMAKER_NAME_MAX),
}


def fold_jobs(fold: int) -> dict[str, tuple[str, int]]:
    """The job kinds of fold `fold`'s iteration, under the same keys as the training pipeline's
    (its request builders read `$.run.job_names.<kind>`)."""
    return {kind: (f"f{fold}-{word}", SAGEMAKER_NAME_MAX) for kind, word in FOLD_JOB_WORDS.items()}


# Short words: endpoint config names are limited to 63 characters like job names, and as much
# as possible of a console execution name (a 36-character UUID) should fit.
DEPLOYMENT_JOBS: dict[str, tuple[str, int]] = {
    "model": ("serve", SAGEMAKER_NAME_MAX),
    "endpoint_config": ("epc", SAGEMAKER_NAME_MAX),
    "baseline": ("dqbase", SAGEMAKER_NAME_MAX),
}


def sanitize(text: str) -> str:
    """Replace every run of characters SageMaker names cannot hold with '-', and trim '-'."""
    return _NOT_NAME_CHARS.sub("-", text).strip("-")


def short_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    # Lowercase base32 (a-z, 2-7): only characters a SageMaker name may hold.
    return base64.b32encode(digest).decode("ascii").lower()[:HASH_LENGTH]


def _parts(prefix: str, use_case: str | None, word: str,
           execution_name: str) -> tuple[str, str, bool]:
    """(the readable name, the key its hash is taken over, whether the hash is always added)."""
    if use_case is None:  # `prefix` is already the use case's own (the deployment's)
        full = f"{prefix}-{word}-{execution_name}"
        return full, full, False
    return (f"{prefix}-{use_case}-{word}-{execution_name}",
            f"{prefix}/{use_case}/{word}/{execution_name}", "-" in use_case)


def job_name(prefix: str, word: str, execution_name: str, limit: int = SAGEMAKER_NAME_MAX, *,
             use_case: str | None = None) -> str:
    """'<prefix>-<use case>-<word>-<execution name>' (without a use case when `prefix` already
    is one use case's), made valid and at most `limit` characters."""
    if limit <= HASH_LENGTH + 1:
        raise ValueError(f"a name limit of {limit} leaves no room for the hash")
    full, key, always_hashed = _parts(prefix, use_case, word, execution_name)
    clean = sanitize(full)
    if clean == full and len(clean) <= limit and not always_hashed:
        return clean
    head = clean[: limit - HASH_LENGTH - 1].rstrip("-")
    tail = short_hash(key)
    return f"{head}-{tail}" if head else tail


def job_names(prefix: str, execution_name: str, kinds: dict[str, tuple[str, int]], *,
              use_case: str | None = None) -> dict[str, str]:
    return {kind: job_name(prefix, word, execution_name, limit, use_case=use_case)
            for kind, (word, limit) in kinds.items()}


# --- retried jobs ------------------------------------------------------------------------------
# Kinds that are SageMaker jobs: a job that failed for a transient reason (no capacity, an
# internal error) is retried by the state machine as a new job, and SageMaker job names are unique
# per account and region, so each attempt needs a name of its own.
JOB_KINDS = frozenset({"preprocessing", "training", "tuning", "package", "evaluation",
                       "transform", "baseline", "split", "aggregate", "data_wrangler",
                       "window_split", "window_aggregate", "training_rules",
                       "candidate_transform"})


def attempt_name(prefix: str, word: str, execution_name: str, attempt: int,
                 limit: int = SAGEMAKER_NAME_MAX, *, use_case: str | None = None) -> str:
    """The job name of attempt `attempt` (1-based). Attempt 1's is `job_name`'s; a later one is
    '<prefix>-<use case>-<word>-<execution name, cut>-a<N>-<hash>', the hash over the parts
    plus '/attempt-N'. Step Functions execution names never hold '/', so a later attempt's name
    differs from every attempt's of every other execution (unless a name is crafted to match).
    Where '-a<N>' would cut into '<prefix>-' (IAM policies scope to it), it is left out."""
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}")
    if attempt == 1:
        return job_name(prefix, word, execution_name, limit, use_case=use_case)
    base, key, _ = _parts(prefix, use_case, word, execution_name)
    tag = f"-a{attempt}"
    keep = limit - len(tag) - HASH_LENGTH - 1
    if keep < len(prefix) + 1:
        tag, keep = "", limit - HASH_LENGTH - 1
    head = sanitize(base)[:keep].rstrip("-")
    return f"{head}{tag}-{short_hash(f'{key}/attempt-{attempt}')}"


def job_attempts(prefix: str, execution_name: str, kinds: dict[str, tuple[str, int]],
                 max_attempts: int, *, use_case: str | None = None) -> dict[str, dict]:
    """kind -> {"attempt": 1, "names": [attempt 1's name, ..., attempt max_attempts's]} for the
    job kinds among `kinds`: the state the retry states of a job read and advance."""
    return {kind: {"attempt": 1,
                   "names": [attempt_name(prefix, word, execution_name, n, limit,
                                          use_case=use_case)
                             for n in range(1, max_attempts + 1)]}
            for kind, (word, limit) in kinds.items() if kind in JOB_KINDS}


def run_jobs(platform: dict, execution_name: str, kinds: dict[str, tuple[str, int]],
             key: str = "job") -> dict[str, dict]:
    """`<key>_names` and `<key>_attempts` of these kinds for a run of the platform's use case
    (its resource_prefix, use_case, max_job_attempts)."""
    prefix, use_case = platform["resource_prefix"], platform["use_case"]
    return {f"{key}_names": job_names(prefix, execution_name, kinds, use_case=use_case),
            f"{key}_attempts": job_attempts(prefix, execution_name, kinds,
                                            platform["max_job_attempts"], use_case=use_case)}
