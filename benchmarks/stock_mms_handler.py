"""MMS handler service for the stock MMS stack: the toolkit's DefaultHandlerService, as the
framework containers define it (MMS loads the one class this module defines)."""

from __future__ import annotations

from sagemaker_inference.default_handler_service import DefaultHandlerService
from sagemaker_inference.transformer import Transformer

from benchmarks.stock_mms_support import XGBoostInferenceHandler


class HandlerService(DefaultHandlerService):
    def __init__(self) -> None:
        super().__init__(transformer=Transformer(default_inference_handler=XGBoostInferenceHandler()))
