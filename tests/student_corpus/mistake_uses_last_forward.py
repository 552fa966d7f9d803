# MISTAKE uses_last_forward: gradCE reads the activations fCE saved in globals instead of computing them
# examples as rows, W stored (out, in), one hidden layer
import numpy as np

NUM_INPUT = 784
NUM_HIDDEN = 30
NUM_OUTPUT = 10

saved_h = None
saved_z = None
saved_p = None


def unpack(w):
    i = NUM_INPUT * NUM_HIDDEN
    W1 = w[:i].reshape(NUM_HIDDEN, NUM_INPUT)
    b1 = w[i:i + NUM_HIDDEN]
    i += NUM_HIDDEN
    W2 = w[i:i + NUM_HIDDEN * NUM_OUTPUT].reshape(NUM_OUTPUT, NUM_HIDDEN)
    b2 = w[i + NUM_HIDDEN * NUM_OUTPUT:]
    return W1, b1, W2, b2


def fCE(X, Y, w):
    global saved_h, saved_z, saved_p
    W1, b1, W2, b2 = unpack(w)
    saved_z = X @ W1.T + b1
    saved_h = np.maximum(saved_z, 0)
    scores = saved_h @ W2.T + b2
    scores = scores - scores.max(axis=1, keepdims=True)
    saved_p = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    return -np.mean(np.sum(Y * np.log(saved_p), axis=1))


def gradCE(X, Y, w):
    W1, b1, W2, b2 = unpack(w)
    n = X.shape[0]
    e = (saved_p - Y) / n
    gW2 = e.T @ saved_h
    gb2 = e.sum(axis=0)
    g = (e @ W2) * (saved_z > 0)
    gW1 = g.T @ X
    gb1 = g.sum(axis=0)
    return np.concatenate([gW1.ravel(), gb1, gW2.ravel(), gb2])
