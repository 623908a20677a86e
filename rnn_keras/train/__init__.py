"""The training loop and its records: `training` (the loop), `steps` (the compiled
gradient step), `checkpoint`, `runs` (run folders), `monitor` (progress, CSV,
TensorBoard), `distributed` (tf.distribute), `report` (after training), `saving`
(safe `.keras` loading) and `errors` (the CLI's one-line errors)."""
