"""`paramcalc import`: a readable spec from a model read elsewhere (a PyTorch module, an ONNX file).

layers.py holds what a reader gives (ops with module scopes), writer.py arranges them as the model's modules,
blocks.py turns repeated structure into blocks and repeats, spec_text.py writes the YAML. Nothing here
imports torch; the ONNX reader needs only the `onnx` package.
"""
