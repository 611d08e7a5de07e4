#!/usr/bin/env bash
# Your device, end to end: from a CSV of its measured latencies to the NB201
# architecture to train for it. Run from the repository root after scripts/setup:
#     examples/your_device.sh [OUT_FOLDER] [LIMIT_MS]
set -euo pipefail
out="${1:-results/your_device}"
limit="${2:-13}"
data="${PROXYSIM_DATA:-../shared/data}"
proxysim="${PROXYSIM:-build/proxysim}"
mkdir -p "$out"

# 0. Your measurements, a CSV with arch_index,arch_str,<your device>. Here a stand-in:
#    a phone 1.7x slower than HELP's Pixel 3, 2 % noise, measured on 300 architectures.
/usr/bin/python3 examples/make_phone.py "$data/help_nb201_latency.csv" pixel3 300 > "$out/my_phone.csv"

# 1. Which device is the best proxy for it? Every measured, simulated and twin device,
#    ranked by SRCC with your device over the architectures measured on both.
"$proxysim" monotonicity --measured "$data/help_nb201_latency.csv" --measured "$out/my_phone.csv" \
    --devices all,twins --target my_phone --no-kendall --quiet --out "$out/ranking.h5"
best=$(/usr/bin/python3 examples/best_proxy.py "$out/ranking.h5")

# 2. Adapt the best measured proxy with your measurements, predict every architecture
#    and choose the most accurate one predicted under the limit.
phone=$(realpath "$out/my_phone.csv")
cat > "$out/deploy.yaml" <<YAML
name: your-device
space: nb201
archs: all
devices: none
measured: [help_nb201_latency.csv, $phone]
stages:
  - deploy: {proxy: $best, target: my_phone, n: all, validation: 10, constraint_ms: $limit,
             export: $out/choice.json}
YAML
"$proxysim" run "$out/deploy.yaml" --out "$out/deploy.h5" --data-dir "$data" 2>&1 | sed -n '/^Deploy on/,/^$/p'

# 3. What a training script reads.
cat "$out/choice.json"
