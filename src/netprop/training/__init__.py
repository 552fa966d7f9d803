"""Training, from one minibatch up to a sweep of runs; each word names one level:

    step.py         train_step: ONE MINIBATCH (forward, each layer's δ, the optimizer's update),
                    network.py's numbers computed the quick way
    optimizers.py   the update rules (an optimizer owns its step and its fused update_from_deltas)
    compiled_step.py  the same minibatch and its score as ONE COMPILED CALL (Numba), where it applies
    fit.py          Trainer: ONE EPOCH over arrays;  fit(): THE LOOP over epochs, with validation,
                    early stopping and a checkpoint callback.  Arrays in, arrays out: no files
    train_run.py    train_run(): A RUN, what `netprop train` does: data → fit → a run directory
                    (files named by storage/run_directory.py) with model, history, plots, report
    tune.py         run_sweep(): MANY RUNS (`netprop tune`), its best one trained again as a run
    landscape.py    the loss landscape around a run's path;  evaluation.py  a saved model on data

explain/runs.py is not training: it is the live lecture's run view, reading a run directory.
"""
