"""The validation sweep behind dascourse.toy's knobs (chapter 4): for each setting of the MLP's training shapes
and steps, the MLP's accuracy on unseen validation shapes and DAS's IIA (lower of V1 and V2; the wrong model's A)
per layer and k, all on the VALIDATION pairs (the test pairs are used only by toy.run). About a minute on 1 core.

    python tools/toy_validation.py
"""
import itertools
import time

from dascourse import toy

SETTINGS = [  # (training pool size, training inputs, MLP steps)
    (10000, 20000, 3000), (50000, 20000, 3000), (50000, 50000, 6000)]


def main():
    started = time.time()
    validation_shapes = toy.make_shapes("validation")
    pairs = toy.make_pairs(2000, toy.VALIDATION_SEED, len(validation_shapes))
    for n_pool, n_train, steps in SETTINGS:
        toy.N_SHAPES["train"] = n_pool
        train_shapes = toy.make_shapes("train")
        mlp = toy.train_mlp(train_shapes, n_train=n_train, steps=steps)
        print(f"pool {n_pool}, {n_train} inputs, {steps} steps: accuracy on validation shapes "
              f"{toy.task_accuracy(mlp, validation_shapes, seed=toy.VALIDATION_SEED):.4f}", flush=True)
        for layer, k in itertools.product((0, 1), (1, 2, 4)):
            das = toy.score_both(mlp, validation_shapes, pairs, layer,
                                 toy.train_das(mlp, train_shapes, layer, k).R_k.detach(), k)
            wrong = toy.score(mlp, validation_shapes, pairs, layer,
                              toy.train_das(mlp, train_shapes, layer, k, variables=("A",)).R_k.detach(), "A")
            print(f"  layer {layer} k {k}: DAS V1 {das['V1']['all']:.3f} V2 {das['V2']['all']:.3f}; "
                  f"wrong model A {wrong['all']:.3f} ({time.time() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
