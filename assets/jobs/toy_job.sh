#!/bin/sh
# A tiny stand-in training job for trying Lifeboat on one machine: it advances a step
# counter, writes its heartbeat ("<step> <unix-time>") and, every 50 steps, a checkpoint
# file. With `--resume PATH` it starts from the step in the checkpoint's name.
# TOY_CKPT_EVERY (steps, default 50) and TOY_CKPT_KIB (size, default 64) tune checkpoints.
# TOY_WORKERS=N starts N worker processes beside it, as a trainer's dataloaders are; the
# first ignores SIGTERM, as a stuck one does, so only SIGKILL stops it.
every=${TOY_CKPT_EVERY:-50}
kib=${TOY_CKPT_KIB:-64}
step=0
case "$2" in *step-*) step=$(basename "$2" .ckpt | sed 's/.*step-0*//'); step=${step:-0} ;; esac
mkdir -p ckpt
echo "toy job: resuming after step $step"
echo "toy job: on GPU ${CUDA_VISIBLE_DEVICES:-none}"
w=0
while [ "$w" -lt "${TOY_WORKERS:-0}" ]; do
  if [ "$w" -eq 0 ]; then
    (trap '' TERM; while :; do sleep 1; done) &
  else
    (while :; do sleep 1; done) &
  fi
  w=$((w + 1))
done
while true; do
  step=$((step + 1))
  echo "$step $(date +%s)" > heartbeat.tmp && mv heartbeat.tmp heartbeat
  if [ $((step % every)) -eq 0 ]; then
    head -c $((kib * 1024)) /dev/urandom > "ckpt/step-$(printf %08d "$step").ckpt"
  fi
  sleep 0.1
done
