"""Files in and out: atomic writes, the model file format, the predictor that loads it, and
the ONNX export."""
