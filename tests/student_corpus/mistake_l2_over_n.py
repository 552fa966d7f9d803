# MISTAKE l2_strength: the gradient's L2 term divided by n, the loss's not
# Each W is stored as (inputs, outputs) so that z = h @ W
import numpy as np

NUM_HIDDEN_LAYERS = 2
NUM_INPUT = 784
NUM_HIDDEN = 20
NUM_OUTPUT = 10
ALPHA = 0.001


def unpack(weightsAndBiases):
    Ws = []
    start = 0
    end = NUM_INPUT * NUM_HIDDEN
    Ws.append(weightsAndBiases[start:end].reshape(NUM_INPUT, NUM_HIDDEN))
    for i in range(NUM_HIDDEN_LAYERS - 1):
        start, end = end, end + NUM_HIDDEN * NUM_HIDDEN
        Ws.append(weightsAndBiases[start:end].reshape(NUM_HIDDEN, NUM_HIDDEN))
    start, end = end, end + NUM_HIDDEN * NUM_OUTPUT
    Ws.append(weightsAndBiases[start:end].reshape(NUM_HIDDEN, NUM_OUTPUT))
    bs = []
    for i in range(NUM_HIDDEN_LAYERS):
        start, end = end, end + NUM_HIDDEN
        bs.append(weightsAndBiases[start:end])
    bs.append(weightsAndBiases[end:end + NUM_OUTPUT])
    return Ws, bs


def ReLU(x):
    return np.maximum(0, x)


def dReLU(x):
    return (x > 0).astype(int)


def softmax(z):
    z = z - np.max(z, axis=1, keepdims=True)
    return np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)


def forward_prop(X, y, weightsAndBiases):
    Ws, bs = unpack(weightsAndBiases)
    zs = []
    hs = []
    h = X
    for layer in range(len(Ws) - 1):
        z = np.dot(h, Ws[layer]) + bs[layer]
        zs.append(z)
        h = ReLU(z)
        hs.append(h)
    yhat = softmax(np.dot(h, Ws[-1]) + bs[-1])
    loss = (-1. / len(y)) * np.sum(y * np.log(yhat))
    loss += ALPHA / 2 * sum(np.sum(W ** 2) for W in Ws)
    return loss, zs, hs, yhat


def back_prop(X, y, weightsAndBiases):
    Ws, bs = unpack(weightsAndBiases)
    loss, zs, hs, yhat = forward_prop(X, y, weightsAndBiases)
    n = len(y)
    dJdWs, dJdbs = [], []
    g = (yhat - y) / n
    for layer in range(len(Ws) - 1, -1, -1):
        inp = X if layer == 0 else hs[layer - 1]
        dJdWs.insert(0, np.dot(inp.T, g) + ALPHA * Ws[layer] / n)
        dJdbs.insert(0, np.sum(g, axis=0))
        if layer > 0:
            g = np.dot(g, Ws[layer].T) * dReLU(zs[layer - 1])
    return np.hstack([dW.flatten() for dW in dJdWs] + [db.flatten() for db in dJdbs])
