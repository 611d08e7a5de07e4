#!/bin/bash
# A proxysim sweep on a multi-node GPU cluster: one MPI rank per GPU, cells spread
# round-robin over the ranks, rank 0 assembling one result file. Resubmitting the same
# script after a time-out or a node failure resumes (finished cells are skipped).
# The output must be on a file system every node sees (the cells are written beside it).
#
#   sbatch experiments/cluster/slurm_sweep.sh experiments/paper/oneproxy_vpu.yaml
#
#SBATCH --job-name=proxysim-sweep
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=4
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=8
#SBATCH --time=02:00:00
#SBATCH --output=proxysim-%j.log
set -euo pipefail

CONFIG="${1:?usage: sbatch slurm_sweep.sh CONFIG.yaml [OUT.h5]}"
NAME="$(basename "$CONFIG" .yaml)"
OUT="${2:-results/runs/$NAME/slurm/result.h5}"   # fixed, so a resubmission resumes it

export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"
# Validate and size the job first: a config mistake fails here, before any GPU time.
build/proxysim run "$CONFIG" --out "$OUT" --dry-run
# Each rank takes GPU (local rank mod GPUs) unless Slurm already bound one to it.
srun --mpi=pmix build/proxysim run "$CONFIG" --out "$OUT" --backend auto
/usr/bin/python3 results/plot.py "$OUT"
