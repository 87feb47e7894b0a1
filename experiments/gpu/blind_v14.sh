#!/usr/bin/env bash
# The v14 blind sets (data/gpu/README.md, "Dense v14 data"), one device call from the repository
# root, after the freeze data/gpu/raw/h200_frozen_model_v14.sha256: the tenth dense + Triton tile
# set (classes seed 20261212, two runs), the twelfth 2:4 set (BLIND_SETS[12], two runs) and the
# kernel names of the dense set; everything lands in $OUT/v14.tgz with the console log.
set -u
W=$(mktemp -d)
{
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv
  python3 experiments/gpu/campaign_h200.py --out "$W/a" --set classes --seed 20261212 --part dense,tiles --budget-s 150
  python3 experiments/gpu/campaign_h200.py --out "$W/b" --set classes --seed 20261212 --part dense --budget-s 150
  python3 experiments/sparse/prospective_sparse24.py --set 12 --out "$W/s/a" --dtypes fp16,bf16 --budget-s 150
  python3 experiments/sparse/prospective_sparse24.py --set 12 --out "$W/s/b" --dtypes fp16,bf16 --budget-s 150
  (cd experiments/gpu && python3 profile_kernels.py --out "$W/k" --campaign classes:20261212 \
    --dtypes bf16,fp16,fp32 --tag classes_p10 --budget-s 120)
} > "$W/log.txt" 2>&1
tail -40 "$W/log.txt"
tar -czf "$OUT/v14.tgz" -C "$W" .
ls -la "$OUT"
