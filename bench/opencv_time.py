#!/usr/bin/python3
"""bench/infer's OpenCV baseline: OpenCV's Caffe importer (cv2.dnn, CPU, 2 threads) on a prototxt and its
.caffemodel, timed forward by forward (setInput + forward), on the input bench/infer uses
(x[i] = ((i * 7919) % 1000) / 500 - 1, as in test/convert/onnx-nets.test.ts).

  /usr/bin/python3 bench/opencv_time.py PROTOTXT CAFFEMODEL INPUT N,C,H,W WARMUP ITERS [OUT.npy]

Prints one JSON line: {"ms_mean", "ms_median", "ms_min", "ms_max", "iters", "load_ms", "output_shape"}, or
{"error": "..."} (exit status 0) when OpenCV cannot load or run the net (SegNet's Upsample, for one).
With OUT.npy, the last forward's output is saved there, for bench/infer to compare with caffe-tool's.
"""
import json
import sys
import time

import numpy as np


def formula_input(shape):
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.int64)
    return (((i * 7919) % 1000) / 500.0 - 1.0).astype(np.float32).reshape(shape)


def main():
    if len(sys.argv) not in (7, 8):
        sys.exit(f'usage: {sys.argv[0]} PROTOTXT CAFFEMODEL INPUT N,C,H,W WARMUP ITERS [OUT.npy]')
    prototxt, caffemodel, blob, dims, warmup, iters = sys.argv[1:7]
    shape = [int(d) for d in dims.split(',')]
    warmup, iters = int(warmup), int(iters)
    import cv2
    cv2.setNumThreads(2)
    x = formula_input(shape)
    if not hasattr(cv2.dnn, 'readNetFromCaffe'):
        print(json.dumps({'error': f'OpenCV {cv2.__version__} has no Caffe importer (removed in OpenCV 5)'}))
        return
    try:
        t = time.perf_counter()
        net = cv2.dnn.readNetFromCaffe(prototxt, caffemodel)
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        load_ms = (time.perf_counter() - t) * 1000
        times = []
        for k in range(warmup + iters):
            t = time.perf_counter()
            net.setInput(x, blob)
            y = net.forward()
            if k >= warmup:
                times.append((time.perf_counter() - t) * 1000)
    except cv2.error as e:
        msg = ' '.join(str(e).split())
        print(json.dumps({'error': f'OpenCV {cv2.__version__} cannot run this net: {msg[-300:]}'}))
        return
    if len(sys.argv) == 8:
        np.save(sys.argv[7], np.ascontiguousarray(y, dtype=np.float32))
    print(json.dumps({
        'ms_mean': float(np.mean(times)), 'ms_median': float(np.median(times)),
        'ms_min': float(np.min(times)), 'ms_max': float(np.max(times)),
        'iters': iters, 'load_ms': load_ms, 'output_shape': list(y.shape), 'opencv': cv2.__version__,
    }))


main()
