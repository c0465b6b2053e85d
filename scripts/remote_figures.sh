#!/bin/sh
# The remote figures of docs/results.md (issue 17): speedups and round-trip costs per transport and
# encoding, one thread, fwd. usage: scripts/remote_figures.sh [OUTDIR]  (from the repository root)
set -eu
D=${DIAGBENCH:-build/diagbench}
O=${1:-build/remote_figures}
mkdir -p $O; rm -f $O/*.csv $O/*.partial
export OMP_NUM_THREADS=1
for tr in unix tcp; do
  $D -w remote,remote-vec -s materialise,probe -j fwd -n 20,1000,5000 --reps 5 --remote-transport $tr --remote-encoding binary -q -o $O/$tr-binary.csv
  $D -w remote,remote-vec -s materialise,probe -j fwd -n 20,1000 --reps 5 --remote-transport $tr --remote-encoding json -q -o $O/$tr-json.csv
  $D -w remote -s probe -j fwd -n 5000 --reps 5 --remote-transport $tr --remote-encoding json -q -o $O/$tr-json-probe5000.csv
done
$D -w seqsin -s materialise,probe -j fwd -n 20,1000,5000 --reps 5 -q -o $O/seqsin.csv
