"""Bad and hostile input, over every subcommand: one stderr line naming the field, exit code 2,
no traceback, nothing written, and no user file lost.

Each case is a command line built in a fresh directory (``{d}`` below) holding the files the
case needs. The out path a case names never exists before it runs, and must not exist after.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from simulator.cli import main
from tests.conftest import SHARED

CFG = SHARED / "scalesim" / "configs" / "scale_ws32x32.cfg"
TOPO = SHARED / "scalesim" / "topologies" / "resnet18.csv"
HEAD = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
LT_HEAD = ("name,op,batch,in_h,in_w,in_c,out_c,k_h,k_w,stride_h,stride_w,pad_h,pad_w,dil_h,dil_w,groups,"
           "gemm_m,gemm_k,gemm_n,nm_n,nm_m,nm_dim,compat")  # fmt: skip
MM = "%%MatrixMarket matrix coordinate real general\n"
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b]\n"


@dataclass(frozen=True)
class Case:
    id: str
    argv: list[str]
    needle: str
    files: dict[str, str | bytes] = field(default_factory=dict)


def sim(*extra: str, arch: str = "{d}/a.yaml", workload: str = str(TOPO)) -> list[str]:
    return ["simulate", "--arch", arch, "--workload", workload, "--out", "{d}/out", *extra]


def arch(text: str) -> dict[str, str]:
    return {"a.yaml": text}


def topo(*rows: str) -> dict[str, str]:
    return {"t.csv": HEAD + "\n" + "\n".join(rows) + "\n"}


def spg(*extra: str, matrix: str = "{d}/m.mtx") -> list[str]:
    return ["spgemm", "--algorithm", "hash", "--matrix", matrix, "--out", "{d}/out", *extra]


def mob(*extra: str) -> list[str]:
    return ["mobile", "--model", "mobilenet_v1", "--input", "3,32,32", "--out", "{d}/out", *extra]


def llm(*extra: str, model: str = "zoo:gpt2", arch_: str = "nm_ws32x32") -> list[str]:
    return ["llm", "--model", model, "--arch", arch_, "--out", "{d}/out", *extra]


LLAMA_CFG = json.dumps({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                        "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100})  # fmt: skip


def hf(**change) -> dict[str, str]:
    cfg = {**json.loads(LLAMA_CFG), **change}
    return {"config.json": json.dumps({k: v for k, v in cfg.items() if v != "DROP"})}


def sweep_spec(text: str) -> dict[str, str]:
    return {"s.yaml": text}


SPEC_OK = "block: nm_array\nbase: {pe.rows: 8}\naxes:\n  pe.cols: [8, 16]\nworkloads: [{zoo: resnet18}]\n"
def _sweep_marker() -> str:
    """A real sweep's marker (its manifest), as a sweep that stopped before its first point left it."""
    import tempfile

    from simulator.common.outputs import MARKER, mark_sweep_dir

    with tempfile.TemporaryDirectory() as t:
        mark_sweep_dir(Path(t))
        return (Path(t) / MARKER).read_text()


SWEEP_MARKER = _sweep_marker()
GOOD_ARCH = arch("pe.rows: 8\npe.cols: 8\n")
W = "{d}/t.csv"
PROV = {"name": "x", "block": "nm_array", "simulator": "fold", "axes": ["rows"], "metrics": ["cycles"],
        "points": 1, "derived": {}, "report": {}, "workloads": ["w"], "runs": []}  # fmt: skip


def _tiny_onnx(batch_dim: str | None = None, opset: int = 13, cin: int = 3) -> bytes:
    """A one-Conv ONNX model (input ``x``: [N, 3, 8, 8]; ``batch_dim`` makes N symbolic; ``cin``:
    the weight's input channels, ``opset``: the default domain's)."""
    try:
        import numpy as np
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:  # the onnx extra is absent: the cases that need it fail with an install hint
        return b"onnx missing"
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch_dim or 1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(np.ones((4, cin, 1, 1), dtype=np.float32), "w")
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], "g", [x], [y], [w])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)]).SerializeToString()


def _topo_names() -> list[str]:
    from workloads.io import load_workload

    return list(load_workload(str(TOPO))["name"])


def mapfile(*extra: str, skip: int | None = None, rename: int | None = None) -> dict[str, str]:
    """A YAML mapping file for the ResNet-18 topology: every layer plain WS, changed as asked."""
    recs = []
    for i, name in enumerate(_topo_names()):
        if i == skip:
            continue
        nm = "other" if i == rename else name
        recs.append(f"  - {{layer: {i}, name: {nm}, dataflow: ws, tile_p: 0, tile_k: 0, tile_n: 0, loop_order: plain}}")
    return {"m.yaml": "mappings:\n" + "\n".join(recs + list(extra)) + "\n"}


def msim(*extra: str) -> list[str]:
    return sim("--mapping", "{d}/m.yaml", *extra, arch=str(CFG))


REC0 = "  - {layer: 0, name: Conv1, dataflow: ws, tile_p: %s, tile_k: %s, tile_n: 8, loop_order: %s}"

CASES = [
    # ---- mappings (issue 14)
    Case("map-objective-without-auto", sim("--objective", "energy", arch=str(CFG)), "only with --mapping auto"),
    Case("map-objective-unknown", sim("--mapping", "auto", "--objective", "speed", arch=str(CFG)), "invalid choice"),
    Case("map-dataflow-not-built", sim("--mapping", "os", arch=str(CFG)), "a dataflow the array runs"),
    Case("map-unknown-word", sim("--mapping", "best", arch=str(CFG)), "or a .yaml/.csv mapping file"),
    Case("map-file-missing", sim("--mapping", "{d}/none.yaml", arch=str(CFG)), "an existing mapping file"),
    Case("map-not-a-list", msim(), "a top-level key `mappings:`", {"m.yaml": "mappings: 3\n"}),
    Case("map-alias-bomb", msim(), "aliases are not accepted", {"m.yaml": BOMB}),
    Case("map-missing-layer", msim(), "a record for every layer", mapfile(skip=3)),
    Case("map-wrong-name", msim(), "the workload's layer 2", mapfile(rename=2)),
    Case("map-extra-layer", msim(), "it has no such layer",
         mapfile("  - {layer: 99, name: x, dataflow: ws, tile_p: 0, tile_k: 0, tile_n: 0, loop_order: plain}")),
    Case("map-duplicate-layer", msim(), "once (also at", mapfile(REC0 % (1, 1, "PKN"))),
    Case("map-bad-order", msim(), "loop_order", mapfile(REC0 % (4, 4, "PXN"), skip=0)),
    Case("map-negative-tile", msim(), "tile_p", mapfile(REC0 % (-4, 4, "PKN"), skip=0)),
    Case("map-quoted-tile", msim(), "tile_p = '512'", mapfile(REC0 % ("'512'", 4, "PKN"), skip=0)),
    Case("map-array-on-one-array", msim(), "no array column for a single array",
         mapfile("  - {layer: 0, name: Conv1, array: 0, dataflow: ws, tile_p: 0, tile_k: 0, tile_n: 0, loop_order: plain}")),  # fmt: skip
    Case("map-huge-tile", msim(), "tile_k", mapfile(REC0 % (4, 2**70, "PKN"), skip=0)),
    Case("map-float-tile", msim(), "tile_p", mapfile(REC0 % (4.5, 4, "PKN"), skip=0)),
    Case("map-plain-with-tiles", msim(), "0 with loop_order plain", mapfile(REC0 % (4, 4, "plain"), skip=0)),
    Case("map-dataflow-in-file-not-built", msim(), "one the array runs",
         mapfile("  - {layer: 0, name: Conv1, dataflow: os, tile_p: 0, tile_k: 0, tile_n: 0, loop_order: plain}",
                 skip=0)),
    Case("map-unknown-field", msim(), "fields:",
         mapfile("  - {layer: 0, name: Conv1, dataflow: ws, tile_p: 0, tile_k: 0, tile_n: 0, loop_order: plain, x: 1}",
                 skip=0)),
    Case("map-csv-columns", sim("--mapping", "{d}/m.csv", arch=str(CFG)), "needs columns",
         {"m.csv": "layer,name\n0,Conv1\n"}),
    Case("map-csv-not-int", sim("--mapping", "{d}/m.csv", arch=str(CFG)), "layer",
         {"m.csv": "layer,name,dataflow,tile_p,tile_k,tile_n,loop_order\nzero,Conv1,ws,0,0,0,plain\n"}),
    Case("map-csv-binary", sim("--mapping", "{d}/m.csv", arch=str(CFG)), "UTF-8", {"m.csv": b"\xff\xfe\x00"}),
    Case("map-write-exists", sim("--write-mapping", "{d}/w.yaml", arch=str(CFG)), "exists: pass --force",
         {"w.yaml": "mine\n"}),
    Case("map-write-extension", sim("--write-mapping", "{d}/w.txt", arch=str(CFG)), "extension"),
    Case("map-force-alone", sim("--force", arch=str(CFG)), "only with --write-mapping"),
    # ------------------------------------------------------------- simulate: the array config
    Case("arch-missing", sim(arch="{d}/none.yaml"), "cannot be read"),
    Case("arch-extension", sim(arch="{d}/a.txt"), "extension", {"a.txt": "pe.rows: 8\n"}),
    Case("arch-syntax", sim(), "valid YAML", arch("pe.rows: [8\npe.cols: 8\n")),
    Case("arch-duplicate-key", sim(), "duplicate key 'pe.rows' (first on line 1)", arch("pe.rows: 8\npe.cols: 8\npe.rows: 16\n")),
    Case("arch-alias", sim(), "aliases are not accepted", arch("pe.rows: &r 8\npe.cols: *r\n")),
    Case("arch-python-tag", sim(), "not accepted", arch("pe.rows: !!python/object/apply:os.system ['true']\npe.cols: 8\n")),
    Case("arch-custom-tag", sim(), "not accepted", arch("pe.rows: !eight 8\npe.cols: 8\n")),
    Case("arch-rows-0", sim(), "pe.rows = 0", arch("pe.rows: 0\npe.cols: 8\n")),
    Case("arch-rows-5000", sim(), "pe.rows = 5000: an integer from 1 to 4096", arch("pe.rows: 5000\npe.cols: 8\n")),
    Case("arch-rows-2pow70", sim(), "pe.rows = 1180591620717411303424", arch(f"pe.rows: {2**70}\npe.cols: 8\n")),
    Case("arch-rows-string", sim(), "pe.rows = '8'", arch("pe.rows: '8'\npe.cols: 8\n")),
    Case("arch-rows-float", sim(), "pe.rows = 8.5", arch("pe.rows: 8.5\npe.cols: 8\n")),
    Case("arch-rows-bool", sim(), "pe.rows = True", arch("pe.rows: true\npe.cols: 8\n")),
    Case("arch-rows-missing", sim(), "pe.rows = None: required", arch("pe.cols: 8\n")),
    Case("arch-unknown-key", sim(), "warp = 32: unknown key", arch("pe.rows: 8\npe.cols: 8\nwarp: 32\n")),
    Case("arch-list-document", sim(), "<document>", arch("- rows\n- cols\n")),
    Case("arch-empty-file", sim(), "<document> = 'NoneType'", arch("")),
    Case("arch-tiny-bw", sim(), "memory.bw_bytes_per_cycle = 1e-300", arch("pe.rows: 8\npe.cols: 8\nmemory.bw_bytes_per_cycle: 1.0e-300\n")),
    Case("arch-negative-bw", sim(), "memory.bw_bytes_per_cycle = -1", arch("pe.rows: 8\npe.cols: 8\nmemory.bw_bytes_per_cycle: -1\n")),
    Case("arch-nan-bw", sim(), "memory.bw_bytes_per_cycle = nan", arch("pe.rows: 8\npe.cols: 8\nmemory.bw_bytes_per_cycle: .nan\n")),
    Case("arch-inf-bw", sim(), "memory.bw_bytes_per_cycle = inf", arch("pe.rows: 8\npe.cols: 8\nmemory.bw_bytes_per_cycle: .inf\n")),
    Case("arch-quoted-number", sim(), "read as a string", arch("pe.rows: 8\npe.cols: 8\nbuffers.ifmap_kb: '1e2'\n")),
    Case("arch-sram-0", sim(), "buffers.ifmap_kb = 0.0", arch("pe.rows: 8\npe.cols: 8\nbuffers.ifmap_kb: 0\n")),
    Case("arch-supported-m-0", sim(), "supported_m", arch("pe.rows: 8\npe.cols: 8\npe.supported_m: [0]\n")),
    Case("arch-supported-m-dup", sim(), "supported_m", arch("pe.rows: 8\npe.cols: 8\npe.supported_m: [2, 2]\n")),
    Case("arch-word-bytes-3", sim(), "pe.word_bytes = 3", arch("pe.rows: 8\npe.cols: 8\npe.word_bytes: 3\n")),
    Case("arch-acc-bits", sim(), "pe.acc_bits = 4", arch("pe.rows: 8\npe.cols: 8\npe.acc_bits: 4\n")),
    Case("arch-dataflow", sim(), "pe.dataflow = 'systolic'", arch("pe.rows: 8\npe.cols: 8\npe.dataflow: systolic\n")),
    Case("arch-huge-file", sim(), "at most 4,194,304 bytes", arch("pe.rows: 8\n" + "#" * (5 << 20) + "\npe.cols: 8\n")),
    Case("arch-not-utf8", sim(), "UTF-8", {"a.yaml": b"pe.rows: \xff\xfe\n"}),
    Case("arch-nested-deep", sim(), "valid YAML", arch("pe.rows: " + "[" * 5000 + "]" * 5000 + "\npe.cols: 8\n")),
    Case("cfg-unknown-section", sim(arch="{d}/a.cfg"), "[warp]", {"a.cfg": "[warp]\nx = 1\n"}),
    Case("cfg-height-text", sim(arch="{d}/a.cfg"), "ArrayHeight",
         {"a.cfg": "[architecture_presets]\nArrayHeight : abc\nArrayWidth : 8\n"}),  # fmt: skip
    Case("cfg-height-missing", sim(arch="{d}/a.cfg"), "ArrayHeight = None: required",
         {"a.cfg": "[architecture_presets]\nArrayWidth : 8\n"}),  # fmt: skip
    Case("cfg-bandwidth-mode", sim(arch="{d}/a.cfg"), "InterfaceBandwidth",
         {"a.cfg": "[architecture_presets]\nArrayHeight : 8\nArrayWidth : 8\nIfmapSramSzkB : 64\n"
                   "FilterSramSzkB : 64\nOfmapSramSzkB : 64\n[run_presets]\nInterfaceBandwidth : FOO\n"}),  # fmt: skip
    Case("cfg-garbage", sim(arch="{d}/a.cfg"), "a valid SCALE-Sim INI config", {"a.cfg": "no sections at all\n"}),
    # ------------------------------------------------------------- simulate: the workload
    Case("workload-missing", sim(workload="{d}/none.csv", **{}), "workload", GOOD_ARCH),
    Case("workload-empty-file", sim(workload=W), "t.csv", {**GOOD_ARCH, "t.csv": ""}),
    Case("workload-garbage-header", sim(workload=W), "header", {**GOOD_ARCH, "t.csv": "hello,world\n1,2\n"}),
    Case("workload-negative", sim(workload=W), "Channels = '-3'", {**GOOD_ARCH, **topo("C1, 32, 32, 3, 3, -3, 8, 1,")}),
    Case("workload-fraction", sim(workload=W), "'3.5'", {**GOOD_ARCH, **topo("C1, 32, 32, 3, 3, 3.5, 8, 1,")}),
    Case("workload-superscript", sim(workload=W), "'²'", {**GOOD_ARCH, **topo("C1, 32, 32, 3, 3, ², 8, 1,")}),
    Case("workload-filters-2pow70", sim(workload=W), "Num Filter = '1180591620717411303424'", {**GOOD_ARCH, **topo(f"C1, 32, 32, 3, 3, 3, {2**70}, 1,")}),
    Case("table-channels-2pow21", sim(workload=W), "in_c = 2097152: must be an integer from 0 to 1048576",
         {**GOOD_ARCH, "t.csv": LT_HEAD + "\nx,conv,1,8,8,2097152,8,3,3,1,1,0,0,1,1,1,0,0,0,1,1,K,native\n"}),  # fmt: skip
    Case("table-macs-overflow", sim(workload=W), "dense MACs",
         {**GOOD_ARCH, "t.csv": LT_HEAD + f"\nx,gemm,{1 << 20},0,0,0,0,0,0,0,0,0,0,0,0,{1 << 20},{1 << 24},{1 << 24},{1 << 24},1,1,K,native\n"}),  # fmt: skip
    Case("workload-kernel-too-big", sim(workload=W), "Filter Height = 7", {**GOOD_ARCH, **topo("C1, 4, 4, 7, 7, 3, 8, 1,")}),
    Case("workload-sparsity-5of4", sim(workload=W), "N (5) must not exceed M (4)",
         {**GOOD_ARCH, "t.csv": HEAD + " Sparsity,\nC1, 32, 32, 3, 3, 3, 8, 1, 5:4,\n"}),  # fmt: skip
    Case("workload-sparsity-garbage", sim(workload=W), "2:4:8",
         {**GOOD_ARCH, "t.csv": HEAD + " Sparsity,\nC1, 32, 32, 3, 3, 3, 8, 1, 2:4:8,\n"}),  # fmt: skip
    Case("workload-sparsity-unsupported", sim(workload=W), "M = 16 is not supported",
         {**arch("pe.rows: 8\npe.cols: 8\npe.supported_m: [1, 4]\n"),
          "t.csv": HEAD + " Sparsity,\nC1, 32, 32, 3, 3, 3, 8, 1, 2:16,\n"}),  # fmt: skip
    Case("workload-extra-fields", sim(workload=W), "fields = 10", {**GOOD_ARCH, **topo("C1, 32, 32, 3, 3, 3, 8, 1, 7, 9")}),
    Case("workload-table-missing-column", sim(workload=W), "in_h", {**GOOD_ARCH, "t.csv": "name,op,batch\nx,conv,1\n"}),
    Case("workload-table-op", sim(workload=W), "op = 'pool'",
         {**GOOD_ARCH, "t.csv": LT_HEAD + "\nx,pool,1,8,8,3,8,3,3,1,1,0,0,1,1,1,0,0,0,1,1,K,native\n"}),  # fmt: skip
    Case("workload-table-nan", sim(workload=W), "in_h = nan",
         {**GOOD_ARCH, "t.csv": LT_HEAD + "\nx,conv,1,,8,3,8,3,3,1,1,0,0,1,1,1,0,0,0,1,1,K,native\n"}),  # fmt: skip
    Case("workload-too-many-folds", sim(workload=W), "folds",
         {**arch("pe.rows: 1\npe.cols: 1\n"),
          "t.csv": LT_HEAD + f"\nx,gemm,1,0,0,0,0,0,0,0,0,0,0,0,0,1,1,{1 << 20},{1 << 20},1,1,K,native\n"}),  # fmt: skip
    Case("workload-parquet-corrupt", sim(workload="{d}/t.parquet"), "not a readable Parquet file",
         {**GOOD_ARCH, "t.parquet": b"PAR1 this is not parquet"}),  # fmt: skip
    Case("workload-zoo-unknown", sim(workload="zoo:resnet19"), "resnet19", GOOD_ARCH),
    Case("workload-is-directory", sim(workload="{d}/sub"), "workload", {**GOOD_ARCH, "sub/x": "x"}),
    # ------------------------------------------------------------- simulate: options and --out
    Case("batch-0", sim("--batch", "0"), "--batch", GOOD_ARCH),
    Case("batch-negative", sim("--batch", "-3"), "--batch", GOOD_ARCH),
    Case("batch-2pow70", sim("--batch", str(2**70)), "--batch", GOOD_ARCH),
    Case("batch-text", sim("--batch", "abc"), "--batch", GOOD_ARCH),
    Case("batch-superscript", sim("--batch", "²"), "--batch", GOOD_ARCH),
    Case("batch-underscore", sim("--batch", "1_000"), "--batch", GOOD_ARCH),
    Case("nm-5of4", sim("--nm", "5:4"), "--nm", GOOD_ARCH),
    Case("nm-m-too-big", sim("--nm", "2:2000"), "--nm", GOOD_ARCH),
    Case("nm-text", sim("--nm", "half"), "--nm", GOOD_ARCH),
    Case("training-dense-with-nm", sim("--training", "dense", "--nm", "2:4", arch=str(CFG)), "only with a sparse training"),
    Case("sat-options-twice", sim("--training", "bdwp", "--sat-options", "interleave,interleave", arch=str(CFG)),
         "each option once"),
    Case("arch-request-mode-simple-memory", sim(), "memory.mode = 'request'", arch("pe.rows: 8\npe.cols: 8\nmemory.mode: request\n")),
    Case("arch-one-array-shapes", sim(), "empty with system.arrays: 1", arch("pe.rows: 32\npe.cols: 32\nsystem.arrays: 1\nsystem.shapes: ['64x64']\n")),
    Case("arch-old-flat-key", sim(), "rows = 8: renamed pe.rows (the config is composed of parts",
         arch("rows: 8\ncols: 8\n")),
    Case("arch-old-memory-string", sim(), "memory = 'ddr4-3200': renamed memory.dram",
         arch("pe.rows: 8\npe.cols: 8\nmemory: ddr4-3200\n")),
    Case("arch-old-freq", sim(), "freq_ghz = 1: renamed clock_ghz", arch("pe.rows: 8\npe.cols: 8\nfreq_ghz: 1\n")),
    Case("arch-nested-and-dotted", sim(), "pe.rows = 16: given once (nested or dotted, not both)",
         arch("pe.rows: 8\npe: {rows: 16, cols: 8}\n")),
    Case("arch-unknown-part-key", sim(), "buffers.sram_kb = 8: unknown key of buffers; allowed: ifmap_kb",
         arch("pe: {rows: 8, cols: 8}\nbuffers: {sram_kb: 8}\n")),
    Case("arch-part-not-mapping", sim(), "pe = 8: a mapping of pe keys", arch("pe: 8\n")),
    Case("sweep-old-flat-axis", ["sweep", "{d}/s.yaml", "--out", "{d}/out"], "axes.rows = [8]: renamed pe.rows",
         sweep_spec("block: nm_array\nbase: {pe.cols: 8}\naxes:\n  rows: [8]\nworkloads: [{zoo: resnet18}]\n")),
    Case("arch-run-time-state", sim(), "memory_share = 4: unknown key", arch("pe.rows: 8\npe.cols: 8\nmemory_share: 4\n")),
    Case("nm-unsupported-inference", sim("--nm", "2:16"), "M must be one of the array's pe.supported_m", arch("pe.rows: 8\npe.cols: 8\n")),
    Case("training-unknown", sim("--training", "sgd"), "--training", GOOD_ARCH),
    Case("sat-options-unknown", sim("--training", "bdwp", "--sat-options", "warp"), "option = 'warp'", GOOD_ARCH),
    Case("sat-options-without-training", sim("--sat-options", "all"), "only with --training", GOOD_ARCH),
    Case("clock-0", sim("--training", "bdwp", "--clock-ghz", "0"), "--clock-ghz", GOOD_ARCH),
    Case("clock-nan", sim("--training", "bdwp", "--clock-ghz", "nan"), "--clock-ghz", GOOD_ARCH),
    Case("clock-inf", sim("--training", "bdwp", "--clock-ghz", "inf"), "--clock-ghz", GOOD_ARCH),
    Case("clock-negative", sim("--training", "bdwp", "--clock-ghz", "-5"), "--clock-ghz", GOOD_ARCH),
    Case("clock-mhz-renamed", sim("--training", "bdwp", "--clock-mhz", "200"), "renamed --clock-ghz", GOOD_ARCH),
    Case("arch-required", ["simulate", "--workload", str(TOPO), "--out", "{d}/out"], "--arch"),
    # ------------------------------------------------------------- trace
    Case("trace-unknown-model", ["trace", "resnet19", "--out", "{d}/out.csv"], "model = 'resnet19'"),
    Case("trace-extension", ["trace", "resnet18", "--out", "{d}/out.txt"], "extension = '.txt'"),
    Case("trace-out-directory", ["trace", "resnet18", "--out", "{d}/sub.csv"], "it is a directory", {"sub.csv/x": "x"}),
    Case("trace-seq-len-cnn", ["trace", "resnet18", "--seq-len", "64", "--out", "{d}/out.csv"], "seq_len = 64"),
    Case("trace-seq-len-onnx", ["trace", "{d}/m.onnx", "--seq-len", "64", "--out", "{d}/out.csv"], "seq_len = 64",
         {"m.onnx": _tiny_onnx()}),  # fmt: skip
    Case("trace-onnx-unbound-dim", ["trace", "{d}/m.onnx", "--out", "{d}/out.csv"], "input x dimension 0",
         {"m.onnx": _tiny_onnx("batch")}),  # fmt: skip
    Case("trace-onnx-opset-999", ["trace", "{d}/m.onnx", "--out", "{d}/out.csv"], "opset = 999: an ONNX opset from 1",
         {"m.onnx": _tiny_onnx(opset=999)}),  # fmt: skip
    Case("trace-onnx-channel-mismatch", ["trace", "{d}/m.onnx", "--out", "{d}/out.csv"],
         "weight in_c = '4096 x group 1': the input's 3 channels", {"m.onnx": _tiny_onnx(cin=4096)}),  # fmt: skip
    Case("trace-onnx-unknown-dim", ["trace", "{d}/m.onnx", "--dim", "rows=3", "--out", "{d}/out.csv"],
         "rows", {"m.onnx": _tiny_onnx()}),  # fmt: skip
    Case("trace-onnx-dim-malformed", ["trace", "{d}/m.onnx", "--dim", "rows", "--out", "{d}/out.csv"],
         "NAME=VALUE", {"m.onnx": _tiny_onnx()}),  # fmt: skip
    Case("trace-onnx-dim-zero", ["trace", "{d}/m.onnx", "--dim", "batch=0", "--out", "{d}/out.csv"],
         "--dim", {"m.onnx": _tiny_onnx("batch")}),  # fmt: skip
    Case("trace-onnx-shape-rank", ["trace", "{d}/m.onnx", "--input-shape", "x=1,3", "--out", "{d}/out.csv"],
         "4 dimensions", {"m.onnx": _tiny_onnx()}),  # fmt: skip
    Case("trace-onnx-shape-input", ["trace", "{d}/m.onnx", "--input-shape", "y=1,3,8,8", "--out", "{d}/out.csv"],
         "one of the model's inputs", {"m.onnx": _tiny_onnx()}),  # fmt: skip
    Case("trace-dim-zoo", ["trace", "resnet18", "--dim", "batch=2", "--out", "{d}/out.csv"], "only for ONNX files"),
    Case("trace-seq-len-0", ["trace", "bert_base", "--seq-len", "0", "--out", "{d}/out.csv"], "--seq-len"),
    Case("trace-batch-0", ["trace", "resnet18", "--batch", "0", "--out", "{d}/out.csv"], "--batch"),
    Case("trace-onnx-corrupt", ["trace", "{d}/m.onnx", "--out", "{d}/out.csv"], "m.onnx", {"m.onnx": b"not onnx"}),
    Case("trace-onnx-missing", ["trace", "{d}/none.onnx", "--out", "{d}/out.csv"], "none.onnx"),
    # ------------------------------------------------------------- spgemm
    Case("spgemm-no-algorithm", ["spgemm", "--matrix", "rmat8", "--out", "{d}/out"], "--algorithm"),
    Case("spgemm-unknown-algorithm", ["spgemm", "--algorithm", "fast", "--matrix", "rmat8", "--out", "{d}/out"],
         "algorithm = 'fast'"),  # fmt: skip
    Case("spgemm-unknown-matrix", spg(matrix="rmat99"), "matrix = 'rmat99'"),
    Case("mtx-missing", spg(matrix="{d}/none.mtx"), "none.mtx"),
    Case("mtx-bad-header", spg(), "header", {"m.mtx": "hello\n"}),
    Case("mtx-nan", spg(), "entry (1, 1) = nan", {"m.mtx": MM + "3 3 2\n1 1 nan\n2 2 1\n"}),
    Case("mtx-inf", spg(), "entry (2, 2) = inf", {"m.mtx": MM + "3 3 2\n1 1 1\n2 2 inf\n"}),
    Case("mtx-huge-value", spg(), "magnitude", {"m.mtx": MM + "3 3 1\n1 1 1e300\n"}),
    Case("mtx-huge-dims", spg(), "rows = 1000000000000", {"m.mtx": MM + "1000000000000 1000000000000 1\n1 1 1\n"}),
    Case("mtx-too-many-entries", spg(), "entries", {"m.mtx": MM + f"10 10 {1 << 28}\n1 1 1\n"}),
    Case("mtx-complex", spg(), "complex",
         {"m.mtx": "%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 1 1 1\n"}),  # fmt: skip
    Case("mtx-bad-size-line", spg(), "size line", {"m.mtx": MM + "three by three\n"}),
    Case("mtx-truncated", spg(), "m.mtx", {"m.mtx": MM + "3 3 5\n1 1 1\n"}),
    Case("spgemm-rectangular", spg(), "square A", {"m.mtx": MM + "2 3 1\n1 1 1\n"}),
    Case("spgemm-shape-mismatch", spg("--b", "{d}/b.mtx"), "must equal B's rows",
         {"m.mtx": MM + "2 3 1\n1 1 1\n", "b.mtx": MM + "4 2 1\n1 1 1\n"}),  # fmt: skip
    Case("machine-cores-0", spg("--machine", "{d}/m.yaml", matrix="rmat8"), "cores = 0", {"m.yaml": "cores: 0\n"}),
    Case("machine-threads", spg("--machine", "{d}/m.yaml", matrix="rmat8"), "threads_per_core = 200",
         {"m.yaml": "threads_per_core: 200\n"}),  # fmt: skip
    Case("machine-tiny-bw", spg("--machine", "{d}/m.yaml", matrix="rmat8"), "dram_bytes_per_cycle",
         {"m.yaml": "dram_bytes_per_cycle: 1.0e-300\n"}),  # fmt: skip
    Case("machine-banks", spg("--machine", "{d}/m.yaml", matrix="rmat8"), "power of two",
         {"m.yaml": "scratchpad_banks: 12\n"}),  # fmt: skip
    Case("machine-unknown-key", spg("--machine", "{d}/m.yaml", matrix="rmat8"), "warp_size",
         {"m.yaml": "warp_size: 32\n"}),  # fmt: skip
    Case("machine-duplicate", spg("--machine", "{d}/m.yaml", matrix="rmat8"), "duplicate key 'cores'",
         {"m.yaml": "cores: 2\ncores: 4\n"}),  # fmt: skip
    Case("smash-table-too-small", ["spgemm", "--algorithm", "smash_v1", "--matrix", "rmat10", "--machine",
                                   "{d}/m.yaml", "--out", "{d}/out"], "table_bytes", {"m.yaml": "scratchpad_kb: 1\n"}),
    Case("spgemm-out-dot", ["spgemm", "--algorithm", "hash", "--matrix", "rmat8", "--out", "."], "current directory"),
    # ------------------------------------------------------------- mobile
    Case("mobile-sparsity-1", mob("--engine", "group", "--sparsity", "1.0"), "sparsity = 1.0"),
    Case("mobile-sparsity-negative", mob("--engine", "group", "--sparsity", "-0.2"), "sparsity"),
    Case("mobile-sparsity-nan", mob("--engine", "group", "--sparsity", "nan"), "sparsity = 'nan'"),
    Case("mobile-sparsity-text", mob("--engine", "group", "--sparsity", "lots"), "sparsity = 'lots'"),
    Case("mobile-engine", mob("--engine", "diagonal"), "engine = 'diagonal'"),
    Case("mobile-model", ["mobile", "--model", "alexnet", "--engine", "dense", "--out", "{d}/out"], "alexnet"),
    Case("mobile-input-short", mob("--engine", "dense", "--input", "3,64"), "input = '3,64'"),
    Case("mobile-input-text", mob("--engine", "dense", "--input", "3,64,x"), "input"),
    Case("mobile-input-zero", mob("--engine", "dense", "--input", "0,64,64"), "input"),
    Case("llm-prompt-0", llm("--prompt", "0"), "prompt"),
    Case("llm-train-generate", llm("--training", "bdwp", "--generate", "4"), "generate = 4"),
    Case("llm-train-dense-nm", llm("--training", "dense", "--nm", "2:4"), "only with a sparse training scheme"),
    Case("llm-partition-split", llm(arch_="{d}/a.yaml"), "one of auto, tensor, data, pipeline for block llm",
         arch("pe.rows: 8\npe.cols: 8\nsystem.arrays: 2\nsystem.partition: split_n\n")),
    Case("llm-heterogeneous", llm(arch_="{d}/a.yaml"), "system.shapes",
         arch("pe.rows: 8\npe.cols: 8\nsystem.arrays: 2\nsystem.shapes: [8x8, 16x16]\n")),
    Case("sim-partition-tensor", sim(), "one of auto, split_m, split_n, pipeline for block nm_array",
         arch("pe.rows: 8\npe.cols: 8\nsystem.arrays: 2\nsystem.partition: tensor\n")),
    Case("llm-prompt-huge", llm("--prompt", "1000000000000"), "prompt"),
    Case("llm-generate-0", llm("--generate", "0"), "generate"),
    Case("llm-batch-text", llm("--batch", "lots"), "batch"),
    Case("llm-context-over-positions", llm("--prompt", "1000", "--generate", "100"), "1,024 positions"),
    Case("llm-zoo-unknown", llm(model="zoo:llama9"), "zoo = 'llama9'"),
    Case("llm-nm-unsupported", llm("--nm", "2:16"), "nm"),
    Case("llm-attention-nm-unsupported", llm("--attention-nm", "2:16"), "(qk): Sparsity = '2:16'"),
    Case("llm-attention-nm-bad", llm("--attention-nm", "5:4"), "attention-nm"),
    Case("llm-train-attention-nm", llm("--training", "bdwp", "--attention-nm", "2:4"), "only for a serving run"),
    Case("llm-objective-plain", llm("--objective", "energy"), "objective"),
    Case("llm-does-not-fit", llm(model="zoo:llama3_70b", arch_="{d}/a.yaml"), "the memory holds",
         arch("pe.rows: 8\npe.cols: 8\nmemory.dram: lpddr4x-4266\n")),
    Case("llm-hf-kv-heads", llm(model="{d}/config.json"), "num_key_value_heads", hf(num_key_value_heads=3)),
    Case("llm-hf-zero-layers", llm(model="{d}/config.json"), "num_hidden_layers", hf(num_hidden_layers=0)),
    Case("llm-hf-heads-divide", llm(model="{d}/config.json"), "num_attention_heads", hf(hidden_size=66)),
    Case("llm-hf-absurd", llm(model="{d}/config.json"), "intermediate_size", hf(intermediate_size=10**13)),
    Case("llm-hf-family", llm(model="{d}/config.json"), "model_type", hf(model_type="bert")),
    Case("llm-hf-missing", llm(model="{d}/config.json"), "vocab_size", hf(vocab_size="DROP")),
    Case("llm-hf-not-json", llm(model="{d}/config.json"), "JSON", {"config.json": "{model_type: llama"}),
    Case("llm-hf-binary", llm(model="{d}/config.json"), "binary", {"config.json": b"\x00\x01"}),
    Case("llm-arch-bad", llm(arch_="{d}/a.yaml"), "pe.rows", arch("pe.rows: 0\npe.cols: 8\n")),
    Case("mobile-input-huge", mob("--engine", "dense", "--input", "3,99999,99999"), "from 1 to 16384"),
    Case("mobile-sparsity-dense", mob("--engine", "dense", "--sparsity", "0.5"), "0 with --engine dense"),
    Case("mobile-scope-dense", mob("--engine", "dense", "--scope", "network"), "only for an engine that prunes"),
    Case("mobile-core-freq", mob("--engine", "dense", "--core", "{d}/c.yaml"), "clock_ghz = 0", {"c.yaml": "clock_ghz: 0\n"}),
    Case("mobile-core-key", mob("--engine", "dense", "--core", "{d}/c.yaml"), "l4_kb", {"c.yaml": "l4_kb: 8\n"}),
    Case("mobile-core-preset-unknown", mob("--engine", "dense", "--core", "a99"), "core = 'a99'"),
    # ------------------------------------------------------------- dram
    Case("dram-preset", ["dram", "replay", "--trace", "{d}/t.trace", "--dram", "ddr9", "--out", "{d}/out"],
         "preset = 'ddr9'", {"t.trace": "LD 0x40\n"}),
    Case("dram-trace-op", ["dram", "replay", "--trace", "{d}/t.trace", "--out", "{d}/out"], "request = 'RD 0x40'",
         {"t.trace": "LD 0x0\nRD 0x40\n"}),
    Case("dram-trace-addr", ["dram", "replay", "--trace", "{d}/t.trace", "--out", "{d}/out"], "address = '0xZZ'",
         {"t.trace": "LD 0xZZ\n"}),
    Case("dram-trace-negative", ["dram", "replay", "--trace", "{d}/t.trace", "--out", "{d}/out"], "address = '-64'",
         {"t.trace": "ST -64\n"}),
    Case("dram-trace-empty", ["dram", "replay", "--trace", "{d}/t.trace", "--out", "{d}/out"], "requests = 0",
         {"t.trace": "\n\n"}),
    Case("dram-trace-binary", ["dram", "replay", "--trace", "{d}/t.trace", "--out", "{d}/out"], "encoding",
         {"t.trace": b"LD \xff\xfe\n"}),
    Case("dram-trace-missing", ["dram", "replay", "--trace", "{d}/none.trace", "--out", "{d}/out"], "cannot be read"),
    Case("dram-channels", ["dram", "replay", "--trace", "{d}/t.trace", "--channels", "3", "--out", "{d}/out"],
         "channels = 3", {"t.trace": "LD 0x40\n"}),
    Case("dram-channels-text", ["dram", "replay", "--trace", "{d}/t.trace", "--channels", "two", "--out",
                                "{d}/out"], "channels = 'two'", {"t.trace": "LD 0x40\n"}),  # fmt: skip
    Case("dram-arch-simple", ["dram", "trace", "--arch", "{d}/a.yaml", "--workload", str(TOPO), "--out", "{d}/out"],
         "memory.dram = None", {"a.yaml": "pe.rows: 8\npe.cols: 8\n"}),
    Case("arch-memory-bw", sim(), "memory.bw_bytes_per_cycle = 16", arch("pe.rows: 8\npe.cols: 8\nmemory.dram: hbm2\n"
                                                                       "memory.bw_bytes_per_cycle: 16\n")),  # fmt: skip
    Case("arch-memory-preset", sim(), "memory.dram = 'gddr9'", arch("pe.rows: 8\npe.cols: 8\nmemory.dram: gddr9\n")),
    Case("arch-dram-page", sim(), "page_policy = 'lazy'",
         arch("pe.rows: 8\npe.cols: 8\nmemory.dram: hbm2\nmemory.page_policy: lazy\n")),
    Case("mobile-core-q-uops", mob("--engine", "dense", "--core", "{d}/c.yaml"), "vec_q_uops = 3",
         {"c.yaml": "vec_q_uops: 3\n"}),
    Case("mobile-core-in-order", mob("--engine", "dense", "--core", "{d}/c.yaml"), "in_order = 'maybe'",
         {"c.yaml": "in_order: maybe\n"}),
    Case("mobile-core-l3-negative", mob("--engine", "dense", "--core", "{d}/c.yaml"), "l3_kb = -4",
         {"c.yaml": "l3_kb: -4\n"}),
    Case("mobile-core-load-pipes", mob("--engine", "dense", "--core", "{d}/c.yaml"), "load_pipes = 0",
         {"c.yaml": "load_pipes: 0\n"}),
    Case("mobile-core-duplicate", mob("--engine", "dense", "--core", "{d}/c.yaml"), "duplicate key",
         {"c.yaml": "l1_kb: 64\nl1_kb: 32\n"}),  # fmt: skip
    Case("mobile-channel-padding", ["mobile", "--model", "{d}/m.onnx", "--engine", "group", "--out", "{d}/out"],
         "m.onnx", {"m.onnx": b"not onnx"}),  # fmt: skip
    # ------------------------------------------------------------- reproduce
    Case("reproduce-unknown", ["reproduce", "everything", "--out", "{d}/out"], "everything"),
    Case("reproduce-user-dir", ["reproduce", "smash", "--out", "{d}/mine"], "not written by sparsim",
         {"mine/thesis.tex": "my thesis"}),  # fmt: skip
    # ------------------------------------------------------------- sweep
    Case("sweep-missing-spec", ["sweep", "{d}/none.yaml", "--out", "{d}/out"], "none.yaml"),
    Case("sweep-alias-bomb", ["sweep", "{d}/s.yaml", "--out", "{d}/out"], "aliases are not accepted",
         sweep_spec("name: bomb\n" + BOMB + SPEC_OK)),  # fmt: skip
    Case("sweep-duplicate-axis", ["sweep", "{d}/s.yaml", "--out", "{d}/out"], "duplicate key 'pe.cols'",
         sweep_spec("block: nm_array\nbase: {pe.rows: 8}\naxes:\n  pe.cols: [8]\n  pe.cols: [16]\nworkloads: [{zoo: resnet18}]\n")),
    Case("sweep-huge-range", ["sweep", "{d}/s.yaml", "--out", "{d}/out"], "at most 1,000,000 values",
         sweep_spec("block: nm_array\nbase: {pe.rows: 8}\naxes:\n  pe.cols: {range: [1, 1000000000000]}\n"
                    "workloads: [{zoo: resnet18}]\n")),  # fmt: skip
    Case("sweep-float-range-overflow", ["sweep", "{d}/s.yaml", "--out", "{d}/out"], "range",
         sweep_spec("block: nm_array\nbase: {pe.rows: 8}\naxes:\n  memory.bw_bytes_per_cycle: {range: [1, 2], step: 1.0e-300}\n"
                    "workloads: [{zoo: resnet18}]\n")),  # fmt: skip
    Case("sweep-jobs-0", ["sweep", "{d}/s.yaml", "--out", "{d}/out", "--jobs", "0"], "--jobs", sweep_spec(SPEC_OK)),
    Case("sweep-jobs-huge", ["sweep", "{d}/s.yaml", "--out", "{d}/out", "--jobs", "100000"], "--jobs",
         sweep_spec(SPEC_OK)),  # fmt: skip
    Case("sweep-executor", ["sweep", "{d}/s.yaml", "--out", "{d}/out", "--executor", "slurm"], "executor = 'slurm'",
         sweep_spec(SPEC_OK)),  # fmt: skip
    Case("sweep-progress", ["sweep", "{d}/s.yaml", "--out", "{d}/out", "--progress", "loud"], "progress = 'loud'",
         sweep_spec(SPEC_OK)),  # fmt: skip
    Case("sweep-user-dir", ["sweep", "{d}/s.yaml", "--out", "{d}/mine"], "empty or new directory",
         {**sweep_spec(SPEC_OK), "mine/thesis.tex": "my thesis"}),  # fmt: skip
    Case("sweep-out-empty", ["sweep", "{d}/s.yaml", "--out", ""], "it is empty", sweep_spec(SPEC_OK)),
    Case("sweep-spec-list", ["sweep", "{d}/s.yaml", "--out", "{d}/out"], "YAML mapping", sweep_spec("- 1\n- 2\n")),
    # ------------------------------------------------------------- report
    Case("report-no-sweep", ["report", "{d}/r"], "no sweep.json", {"r/x": "x"}),
    Case("report-bad-json", ["report", "{d}/r"], "sweep.json", {"r/sweep.json": "{not json"}),
    Case("report-json-list", ["report", "{d}/r"], "a JSON object", {"r/sweep.json": "[1, 2]"}),
    Case("report-json-metrics", ["report", "{d}/r"], "metrics", {"r/sweep.json": json.dumps({**PROV, "metrics": 5})}),
    Case("report-corrupt-part", ["report", "{d}/r"], "part-0.parquet",
         {"r/sweep.json": json.dumps(PROV), "r/points/part-0.parquet": b"PAR1 garbage"}),  # fmt: skip
    Case("report-out-user-dir", ["report", "{d}/r", "--out", "{d}/mine"], "not written by sparsim",
         {"r/sweep.json": json.dumps(PROV), "mine/thesis.tex": "x"}),  # fmt: skip
    # ------------------------------------------------------------- rtl
    Case("rtl-rows-0", ["rtl", "generate", "nm_array", "--rows", "0", "--out", "{d}/out"], "--rows"),
    Case("rtl-rows-huge", ["rtl", "generate", "nm_array", "--rows", "100", "--out", "{d}/out"], "--rows"),
    Case("rtl-n-over-m", ["rtl", "generate", "nm_array", "--n", "5", "--m", "4", "--out", "{d}/out"], "N:M = '5:4'"),
    Case("rtl-generate-user-dir", ["rtl", "generate", "nm_array", "--out", "{d}/mine"], "not written by sparsim",
         {"mine/nm_array.v": "// my own design"}),  # fmt: skip
    Case("rtl-sim", ["rtl", "test", "nm_array", "--sim", "vcs"], "--sim"),
    Case("rtl-area-existing-file", ["rtl", "area", "nm_array", "--out", "{d}/area.csv"], "pass --force",
         {"area.csv": "mine"}),  # fmt: skip
    Case("rtl-area-extension", ["rtl", "area", "nm_array", "--out", "{d}/area.txt"], "extension"),
    Case("rtl-operand-bits-1", ["rtl", "test", "nm_array", "--operand-bits", "1"], "--operand-bits"),
    Case("rtl-seed-negative", ["rtl", "test", "nm_array", "--seed", "-1"], "--seed"),
    Case("rtl-t-0", ["rtl", "test", "nm_array", "--t", "0"], "--t"),
    Case("rtl-k-huge", ["rtl", "test", "nm_array", "--k", "100000"], "--k"),
    # ------------------------------------------------------------- paths any command may be given
    Case("out-empty", sim(), "it is empty", GOOD_ARCH),
    Case("out-dot", sim(), "current directory", GOOD_ARCH),
    Case("out-parent", sim(), "current directory", GOOD_ARCH),
    Case("out-is-file", sim(), "exists as a file", {**GOOD_ARCH, "file": "x"}),
    Case("out-under-file", sim(), "is not a directory", {**GOOD_ARCH, "file": "x"}),
    Case("out-user-dir", sim(), "not written by sparsim", {**GOOD_ARCH, "mine/thesis.tex": "x"}),
    Case("out-sweep-results", sim(), "written by `sparsim sweep`, not `sparsim simulate`",
         {**GOOD_ARCH, "mine/.sparsim-output": SWEEP_MARKER, "mine/sweep.json": "{}"}),
    Case("out-forged-marker", sim(), "its .sparsim-output is not a manifest sparsim wrote",
         {**GOOD_ARCH, "mine/.sparsim-output": "simulate\n", "mine/thesis.tex": "x"}),
    Case("out-symlink", sim(), "not a symbolic link", {**GOOD_ARCH, "real/thesis.tex": "x"}),
    # ------------------------------------------------------------- work estimated before it runs
    Case("work-over-cap", sim("--max-work", "0.001"), "estimated work", GOOD_ARCH),
    Case("work-cap-text", sim("--max-work", "soon"), "max_work = 'soon': a duration", GOOD_ARCH),
    Case("work-cap-zero", sim("--max-work", "0"), "max_work = '0'", GOOD_ARCH),
    Case("work-cap-negative", sim("--max-work=-5m"), "max_work = '-5m'", GOOD_ARCH),
    Case("work-million-point-sweep", ["sweep", "{d}/s.yaml", "--out", "{d}/out", "--jobs", "2"], "1,000,000 points",
         sweep_spec("block: nm_array\naxes:\n  pe.rows: {range: [1, 1000]}\n  pe.cols: {range: [1, 1000]}\n"
                    "workloads: [{zoo: resnet50}]\n")),  # fmt: skip
    # ------------------------------------------------------------- refused because they would do nothing
    Case("arch-layout-without-banks", sim(), "ifmap_layout = 'p': k (the default) with banks: 0",
         arch("pe.rows: 8\npe.cols: 8\nbuffers.ifmap_layout: p\n")),  # fmt: skip
    Case("arch-ports-without-banks", sim(), "bank_ports = 2: 1 (the default) with banks: 0",
         arch("pe.rows: 8\npe.cols: 8\nbuffers.bank_ports: 2\n")),  # fmt: skip
    Case("dram-yaml-tag", sim(), "tag", {**arch("pe.rows: 8\npe.cols: 8\nmemory.dram: d.yaml\n"),
                                         "d.yaml": "name: d\nrcd: !!int 22\n"}),  # fmt: skip
    Case("dram-yaml-refresh-no-room", sim(), "room between refreshes",
         {**arch("pe.rows: 8\npe.cols: 8\nmemory.dram: d.yaml\n"), "d.yaml": "name: d\nrefi: 600\n"}),  # fmt: skip
    Case("dram-yaml-timing-huge", sim(), "ras = 1000000: an integer from 1 to 4096",
         {**arch("pe.rows: 8\npe.cols: 8\nmemory.dram: d.yaml\n"), "d.yaml": "name: d\nras: 1000000\nrc: 1000000\n"}),  # fmt: skip
    Case("dram-replay-device", ["dram", "replay", "--trace", "/dev/zero", "--out", "{d}/out"], "a regular trace file"),
    Case("dram-trace-underscore", ["dram", "replay", "--trace", "{d}/t.trace", "--out", "{d}/out"],
         "address = '1_000'", {"t.trace": "LD 1_000\n"}),  # fmt: skip
    Case("arch-binary-cfg", sim(arch="{d}/a.cfg"), "binary data", {"a.cfg": bytes(range(256))}),
    Case("arch-latin1-cfg", sim(arch="{d}/a.cfg"), "is not UTF-8", {"a.cfg": "[general]\nrun_name = caf\xe9\n".encode("latin-1")}),
    Case("dram-trace-plus", ["dram", "replay", "--trace", "{d}/t.trace", "--out", "{d}/out"], "address = '+64'",
         {"t.trace": "LD +64\n"}),  # fmt: skip
]
_OUT = {  # cases whose --out is not {d}/out
    "out-empty": "",
    "out-dot": ".",
    "out-parent": "..",
    "out-is-file": "{d}/file",
    "out-under-file": "{d}/file/sub",
    "out-user-dir": "{d}/mine",
    "out-sweep-results": "{d}/mine",
    "out-forged-marker": "{d}/mine",
    "out-symlink": "{d}/link",
}


def _setup(case: Case, d: Path) -> list[str]:
    for name, content in case.files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        (p.write_bytes if isinstance(content, bytes) else p.write_text)(content)
    if case.id == "out-symlink":
        (d / "link").symlink_to(d / "real")
    argv = [a.replace("{d}", str(d)) for a in case.argv]
    if case.id in _OUT:
        argv[argv.index("--out") + 1] = _OUT[case.id].replace("{d}", str(d))
    return argv


def _snapshot(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_enough_cases():
    assert len(CASES) >= 100 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, capsys, monkeypatch):
    d = tmp_path / "work"
    d.mkdir()
    monkeypatch.chdir(d)
    argv = _setup(case, d)
    before = _snapshot(d)
    t0 = time.perf_counter()
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    elapsed = time.perf_counter() - t0
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2, err
    assert len(err) == 1 and err[0].startswith("sparsim: error:"), err
    assert case.needle in err[0], err[0]
    assert "Traceback" not in err[0]
    assert _snapshot(d) == before  # nothing written, nothing of the user's touched
    assert not list(tmp_path.rglob("*.tmp-*")) and not list(tmp_path.rglob(".*.old-*"))
    assert elapsed < 30, f"took {elapsed:.1f} s to refuse"


def test_console_script_prints_no_traceback(tmp_path):
    """Through the real entry point (a new process): a bad file and an unknown option."""
    bad = tmp_path / "a.yaml"
    bad.write_text("pe.rows: [1\n")
    for argv in (["simulate", "--arch", str(bad), "--workload", str(TOPO), "--out", str(tmp_path / "o")],
                 ["simulate", "--no-such-option"]):  # fmt: skip
        r = subprocess.run([sys.executable, "-m", "simulator.cli", *argv], capture_output=True, text=True)
        assert r.returncode == 2 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_an_internal_error_is_one_line_exit_1_with_a_saved_traceback(tmp_path, capsys, monkeypatch):
    import simulator.cli.simulate as simulate_cli

    def broken(args):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(simulate_cli, "run", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rc = main(["simulate", "--arch", str(CFG), "--workload", str(TOPO), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and len(err) == 1 and "this is a bug" in err[0] and "ZeroDivisionError" in err[0]
    saved = Path(err[0].rsplit("traceback: ", 1)[1])
    assert saved.is_file() and "Traceback" in saved.read_text()


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--arch", str(CFG), "--workload", str(TOPO)],
        ["spgemm", "--algorithm", "hash", "--matrix", "rmat8"],
        ["rtl", "generate", "nm_array"],
    ],
    ids=["simulate", "spgemm", "rtl-generate"],
)
def test_users_own_directory_survives(argv, tmp_path, capsys):
    """A directory the user made and filled is never replaced, by any command."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("two years of work")
    assert main([*argv, "--out", str(mine)]) == 2
    assert (mine / "thesis.tex").read_text() == "two years of work" and os.listdir(mine) == ["thesis.tex"]
    assert "not written by sparsim" in capsys.readouterr().err


def test_a_commands_own_output_is_replaced_whole(tmp_path, capsys):
    """A rerun replaces the whole folder its manifest lists (a training step's files are gone after
    an inference run into it); a file a user added keeps the folder as it is."""
    out = tmp_path / "o"
    args = ["simulate", "--arch", str(CFG), "--workload", str(TOPO), "--out", str(out)]
    assert main([*args, "--training", "dense"]) == 0 and (out / "passes.csv").is_file()
    assert main(args) == 0
    assert not (out / "passes.csv").exists() and (out / "layers.csv").is_file()
    assert not list(tmp_path.glob(".o.*"))
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(args) == 2 and (out / "notes.txt").read_text() == "mine"
    assert "holds notes.txt, which sparsim did not write" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["mobile", "--model", "mobilenet_v1", "--engine", "dense", "--input", "3,32,32"],
        ["trace", "resnet18"],
    ],
    ids=["mobile", "trace"],
)
def test_a_missing_torch_is_an_install_hint(argv, tmp_path, capsys, monkeypatch):
    """Without the torch extra, commands that need torch say which extra to install."""
    import simulator.mobile.block as block

    block._pruned.cache_clear()
    for name in [m for m in sys.modules if m == "torch" or m.startswith("torch.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    out = tmp_path / ("o.csv" if argv[0] == "trace" else "o")
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "install the torch extra: pip install 'sparsim[torch]'" in err[0]
    assert not out.exists()
