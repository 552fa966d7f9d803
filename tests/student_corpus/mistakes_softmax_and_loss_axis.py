# MISTAKES softmax_axis loss_over_c: softmax normalised over the examples, and the loss averaged over the classes
# two-layer net, everything as columns (784 x n), labels one-hot (10 x n)
import numpy as np

NUM_INPUT = 784
NUM_HIDDEN = 24
NUM_OUTPUT = 10


def unpack(w):
    a = NUM_INPUT * NUM_HIDDEN
    b = a + NUM_HIDDEN
    c = b + NUM_OUTPUT * NUM_HIDDEN
    return w[:a].reshape(NUM_HIDDEN, NUM_INPUT), w[a:b], w[b:c].reshape(NUM_OUTPUT, NUM_HIDDEN), w[c:]


def probabilities(z):
    e = np.exp(z)
    return e / np.sum(e, axis=1, keepdims=True)


def forward_prop(X, Y, w):
    W1, b1, W2, b2 = unpack(w)
    z1 = W1 @ X + b1.reshape(-1, 1)
    h1 = np.maximum(0, z1)
    z2 = W2 @ h1 + b2.reshape(-1, 1)
    yhat = probabilities(z2)
    loss = -np.mean(np.sum(Y * np.log(yhat), axis=1))
    return loss, [z1, z2], [h1], yhat


def back_prop(X, Y, w):
    W1, b1, W2, b2 = unpack(w)
    loss, zs, hs, yhat = forward_prop(X, Y, w)
    n = X.shape[1]
    d2 = (yhat - Y) / n
    d1 = (W2.T @ d2) * (zs[0] > 0)
    return np.concatenate([(d1 @ X.T).ravel(), d1.sum(axis=1), (d2 @ hs[0].T).ravel(), d2.sum(axis=1)])
