#!/usr/bin/env bash
# One device call of H200 blind sets, after a model freeze (data/gpu/README.md): a classes draw
# (dense in every layout and its Triton tile set, two runs each: merge them with
# experiments/gpu/merge_runs.py), its kernel names and, when a 2:4
# blind set is named, that set twice; everything lands in $OUT/blind.tgz with the console log.
#
#   bash experiments/gpu/blind_sets.sh SEED [SPARSE_SET]
#   bash experiments/gpu/blind_sets.sh 20261212 12     # the v14 sets (tenth dense, twelfth 2:4)
set -u
SEED=${1:?usage: blind_sets.sh SEED [SPARSE_SET]}
SPARSE=${2:-}
W=$(mktemp -d)
{
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv
  python3 experiments/gpu/campaign_h200.py --out "$W/a" --set classes --seed "$SEED" --part dense,tiles --budget-s 150
  python3 experiments/gpu/campaign_h200.py --out "$W/b" --set classes --seed "$SEED" --part dense,tiles --budget-s 150
  if [ -n "$SPARSE" ]; then
    python3 experiments/sparse/prospective_sparse24.py --set "$SPARSE" --out "$W/s/a" --dtypes fp16,bf16 --budget-s 150
    python3 experiments/sparse/prospective_sparse24.py --set "$SPARSE" --out "$W/s/b" --dtypes fp16,bf16 --budget-s 150
  fi
  (cd experiments/gpu && python3 profile_kernels.py --out "$W/k" --campaign "classes:$SEED" \
    --dtypes bf16,fp16,fp32 --tag "classes_$SEED" --budget-s 120)
} > "$W/log.txt" 2>&1
tail -40 "$W/log.txt"
tar -czf "$OUT/blind.tgz" -C "$W" .
ls -la "$OUT"
