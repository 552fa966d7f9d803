# no NUM_* at all: the layer list lives inside the functions, initWeightsAndBiases says the sizes
import numpy as np


def layer_list():
    return [784, 30, 30, 10]


def unpack(wab):
    L = layer_list()
    Ws, bs, k = [], [], 0
    for i in range(len(L) - 1):
        Ws.append(wab[k:k + L[i] * L[i + 1]].reshape(L[i + 1], L[i]))
        k += L[i] * L[i + 1]
    for i in range(1, len(L)):
        bs.append(wab[k:k + L[i]])
        k += L[i]
    return Ws, bs


def forward_prop(x, y, wab):
    Ws, bs = unpack(wab)
    zs, hs, a = [], [], x
    for i, (W, b) in enumerate(zip(Ws, bs)):
        z = W @ a + b[:, np.newaxis]
        zs.append(z)
        if i < len(Ws) - 1:
            a = np.maximum(z, 0)
            hs.append(a)
    yhat = np.exp(zs[-1]) / np.exp(zs[-1]).sum(axis=0)
    return -(y * np.log(yhat)).sum() / x.shape[1], zs, hs, yhat


def back_prop(x, y, wab):
    Ws, bs = unpack(wab)
    loss, zs, hs, yhat = forward_prop(x, y, wab)
    acts = [x] + hs
    g = (yhat - y) / x.shape[1]
    gWs, gbs = [], []
    for i in reversed(range(len(Ws))):
        gWs = [g @ acts[i].T] + gWs
        gbs = [g.sum(axis=1)] + gbs
        if i > 0:
            g = (Ws[i].T @ g) * (zs[i - 1] > 0)
    return np.concatenate([w.ravel() for w in gWs] + [b.ravel() for b in gbs])


def initWeightsAndBiases():
    L = layer_list()
    rng = np.random.default_rng(0)
    Ws = [rng.uniform(-1, 1, (L[i + 1], L[i])) / np.sqrt(L[i]) for i in range(len(L) - 1)]
    bs = [0.01 * np.ones(L[i]) for i in range(1, len(L))]
    return np.concatenate([w.ravel() for w in Ws] + bs)
