"""RecordIO-protobuf, the input of SageMaker's MXNet-based built-in algorithms: the encoder and
decoder agree with each other and with protobuf's own wire format for the documented Record
schema, frames are what the documented format says, and preprocessing writes the training
splits in it when the pipeline asks (the test split stays CSV for the evaluation job)."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from runtime_scripts import contract
from runtime_scripts.common import recordio_protobuf as rp
from runtime_scripts.common.jobio import JobError
from runtime_scripts.common.tabular import preprocess as tabular
from runtime_scripts.common.tabular.dataset import DatasetSpec
from runtime_scripts.use_cases.churn.manifest import MANIFEST as CHURN
from tests.runtime.conftest import SAMPLE


def record_class():
    """The documented Record schema (aialgs.data, proto2), built with protobuf itself."""
    f = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(name="record_test.proto", package="aialgs.data",
                                              syntax="proto2")
    tensor = file.message_type.add(name="Float32Tensor")
    for name, number, kind in (("values", 1, f.TYPE_FLOAT), ("keys", 2, f.TYPE_UINT64),
                               ("shape", 3, f.TYPE_UINT64)):
        tensor.field.add(name=name, number=number, type=kind, label=f.LABEL_REPEATED,
                         options=descriptor_pb2.FieldOptions(packed=True))
    value = file.message_type.add(name="Value")
    value.oneof_decl.add(name="value")
    value.field.add(name="float32_tensor", number=2, type=f.TYPE_MESSAGE,
                    type_name=".aialgs.data.Float32Tensor", label=f.LABEL_OPTIONAL,
                    oneof_index=0)
    record = file.message_type.add(name="Record")
    for name, number in (("features", 1), ("label", 2)):
        entry = record.nested_type.add(name=f"{name.capitalize()}Entry",
                                       options=descriptor_pb2.MessageOptions(map_entry=True))
        entry.field.add(name="key", number=1, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
        entry.field.add(name="value", number=2, type=f.TYPE_MESSAGE,
                        type_name=".aialgs.data.Value", label=f.LABEL_OPTIONAL)
        record.field.add(name=name, number=number, type=f.TYPE_MESSAGE,
                         type_name=f".aialgs.data.Record.{name.capitalize()}Entry",
                         label=f.LABEL_REPEATED)
    record.field.add(name="uid", number=3, type=f.TYPE_STRING, label=f.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("aialgs.data.Record"))


Record = record_class()
ROWS = np.array([[0.5, -1.25, 3.0], [1e6, 0.0, -2.5e-4], [7.0, 8.0, 9.0]])
LABELS = np.array([1.0, 0.0, 215000.0])


def test_round_trip_keeps_float32_rows_and_labels():
    features, labels = rp.decode(rp.encode(ROWS, LABELS))
    assert np.array_equal(features, ROWS.astype(np.float32))
    assert np.array_equal(labels, LABELS.astype(np.float32))
    unlabelled, none = rp.decode(rp.encode(ROWS))
    assert none is None and np.array_equal(unlabelled, ROWS.astype(np.float32))


def test_frames_carry_the_magic_the_length_and_padding_to_four_bytes():
    data = rp.encode(ROWS[:1], LABELS[:1])
    magic, length = struct.unpack_from("<II", data)
    assert magic == 0xCED7230A
    assert len(data) == 8 + length + (-length % 4) and len(data) % 4 == 0
    assert rp.records(data + rp.encode(ROWS[1:2]))[0] == data[8:8 + length]


def test_what_protobuf_parses_from_ours_and_what_we_read_from_protobufs():
    payload = rp.records(rp.encode(ROWS[:1], LABELS[:1]))[0]
    parsed = Record.FromString(payload)
    assert list(parsed.features["values"].float32_tensor.values) == [0.5, -1.25, 3.0]
    assert list(parsed.label["values"].float32_tensor.values) == [1.0]
    # Protobuf's own serialisation, with a sparse tensor (keys and shape) and a uid we ignore.
    theirs = Record(uid="row-7")
    sparse = theirs.features["values"].float32_tensor
    sparse.values.extend([2.0, 4.0])
    sparse.keys.extend([1, 3])
    sparse.shape.extend([4])
    theirs.label["values"].float32_tensor.values.append(1.0)
    features, label = rp.decode_record(theirs.SerializeToString())
    assert features.tolist() == [0.0, 2.0, 0.0, 4.0] and label.tolist() == [1.0]


def test_what_is_not_recordio_protobuf_is_refused_by_name(tmp_path):
    (tmp_path / "data.rec").write_bytes(b"1,2,3\n4,5,6\n")
    with pytest.raises(rp.RecordIOError, match="data.rec: no RecordIO magic number at offset 0"):
        rp.read(tmp_path / "data.rec")
    with pytest.raises(rp.RecordIOError, match="cut short"):
        rp.decode(rp.encode(ROWS)[:-8])
    with pytest.raises(JobError, match="ML_TRAINING_INPUT_FORMAT='text/libsvm'"):
        rp.training_format({contract.TRAINING_INPUT_FORMAT_ENV: "text/libsvm"})


def test_preprocessing_writes_the_training_splits_as_records_when_asked(tmp_path, monkeypatch):
    spec = DatasetSpec.load(CHURN.path(CHURN.dataset_spec))
    outputs = {}
    for fmt in ("text/csv", rp.CONTENT_TYPE):
        ml = contract.MlPaths(tmp_path / fmt.replace("/", "-"))
        raw = ml.processing_input(contract.PROCESSING_INPUT_RAW)
        raw.mkdir(parents=True)
        pd.read_csv(SAMPLE, nrows=600).to_csv(raw / "rows.csv", index=False)
        monkeypatch.setenv(contract.TRAINING_INPUT_FORMAT_ENV, fmt)
        tabular.preprocess(ml, spec)
        outputs[fmt] = ml
    csv, rec = outputs["text/csv"], outputs[rp.CONTENT_TYPE]
    for split in contract.TRAINING_SPLITS:
        assert [p.name for p in rec.processing_output(split).iterdir()] == [
            contract.RECORDIO_SPLIT_FILE]  # nothing else the algorithm would misread
        features, labels = rp.read(rec.processing_output(split) / contract.RECORDIO_SPLIT_FILE)
        rows = np.loadtxt(csv.processing_output(split) / contract.SPLIT_FILE, delimiter=",")
        assert np.array_equal(labels, rows[:, 0]) and np.allclose(features, rows[:, 1:],
                                                                   rtol=1e-6, atol=1e-7)
    test = rec.processing_output(contract.PROCESSING_OUTPUT_TEST)
    assert (test / contract.SPLIT_FILE).read_bytes() == (
        csv.processing_output(contract.PROCESSING_OUTPUT_TEST) / contract.SPLIT_FILE).read_bytes()
