"""Which columns a row of a request holds: the features alone, or the training data's layout.

Two row layouts are scored:
- the features, in the feature schema's `input_columns` order (what a client that knows the
  model sends; the only layout an endpoint reads);
- in a batch transform job, also the training data's own layout without the target
  (`record_columns`: id columns, features and any column the dataset spec ignores, in the training
  file's order). A batch exported the way the training data was is scored as it is, and its
  predictions carry its id columns. A row's width tells the layouts apart; when both have the
  same width (no id or ignored columns) the rows are read as features.
An endpoint keeps to the features, header-less: its captured requests feed Model Monitor and the
drift check (capture.py), which read data rows in the features' order, and a row one column too
wide stays a client's mistake there rather than being read as a record.

In batch transform a CSV request may begin with a header row naming either layout. Batch
transform has no header option: with SplitType Line every line of an S3 object is a record, and
mini-batches are cut from one object at a time, so an object's header line arrives as the first
record of its first request. The header is not scored; it is answered with a header row of the
predictions (ids, `probability`, `label`), so the response still holds one line per record, which
JoinSource Input needs, and the assembled output file starts with a header of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from runtime_scripts.common.serving.errors import BadRequest
from runtime_scripts.common.tabular.transform import columns_getter

Row = Sequence[object]


@dataclass(frozen=True)
class Rows:
    """A request's data rows as features (input_columns order), with the ids they carried."""

    features: list[Row]
    ids: list[Row] | None  # per row, the id tokens in `RecordLayout.id_names` order
    header: bool  # the request began with a header row (not among `features`)


class RecordLayout:
    def __init__(self, input_columns: Sequence[str], record_columns: Sequence[str],
                 id_columns: Sequence[str]) -> None:
        self.features_width = len(input_columns)
        self.record_width = len(record_columns)
        self._distinct = self.record_width != self.features_width
        position = {name: i for i, name in enumerate(record_columns)}
        self._features = columns_getter([position[c] for c in input_columns])
        self.id_names = [c for c in id_columns if c in position]
        self._ids = columns_getter([position[c] for c in self.id_names]) if self.id_names \
            else None
        self._headers = (list(input_columns), list(record_columns))
        self._known = set(input_columns) | set(record_columns)

    def split(self, rows: list[Row], *, csv: bool, batch: bool) -> Rows:
        """`batch`: the server runs a batch transform job (SAGEMAKER_BATCH), where header rows
        and records in the training layout are read; `csv`: the rows came as CSV lines."""
        header = False
        if csv and rows and self._header(rows[0]) is not None:
            if not batch:
                raise BadRequest("text/csv bodies sent to an endpoint must not have a header row: "
                                 "send data rows only, in the features' order (batch transform "
                                 "reads a header row)")
            rows, header = rows[1:], True
        if batch and self._distinct and rows and len(rows[0]) == self.record_width:
            widths = set(map(len, rows))
            if widths != {self.record_width}:
                number = next(i for i, r in enumerate(rows) if len(r) != self.record_width)
                raise BadRequest(
                    f"row {number + 1 + header} has {len(rows[number])} columns where the rows "
                    f"before it have {self.record_width} (the training data's columns without "
                    "the target): send every row in one layout")
            ids = list(map(self._ids, rows)) if self._ids is not None else None
            return Rows(list(map(self._features, rows)), ids, header)
        return Rows(rows, None, header)

    def _header(self, row: Row) -> list[str] | None:
        """The names a header row gives, or None when `row` is data."""
        if not row or str(row[0]).strip() not in self._known:
            return None  # the common case, decided on one token (the hot path of every request)
        names = [str(v).strip() for v in row]
        if names in self._headers:
            return names
        known = sum(name in self._known for name in names)
        if known and known >= len(names) / 2:
            features, records = self._headers
            raise BadRequest(
                "row 1 looks like a header but names neither layout the model scores: "
                f"the features ({','.join(features)}) or the training data's columns without "
                f"the target ({','.join(records)})")
        return None
