# sizes as keyword defaults, forward returns accuracy too, L2 strength as a keyword of back_prop
import numpy as np


def unpack(wab, hidden_sizes):
    sizes = [784] + list(hidden_sizes) + [10]
    Ws, bs, k = [], [], 0
    for a, b in zip(sizes[:-1], sizes[1:]):
        Ws.append(wab[k:k + a * b].reshape(b, a))
        k += a * b
    for b in sizes[1:]:
        bs.append(wab[k:k + b])
        k += b
    return Ws, bs


def softmax(z):
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def forward_prop(x, y, weightsAndBiases, hidden_sizes=(24, 16), alpha=0.0):
    Ws, bs = unpack(weightsAndBiases, hidden_sizes)
    hs = [x]
    zs = []
    for layer, (w, b) in enumerate(zip(Ws, bs)):
        z = hs[layer] @ w.T + b
        zs.append(z)
        hs.append(softmax(z) if layer == len(Ws) - 1 else np.maximum(0.0, z))
    yhat = hs[-1]
    loss = -np.sum(y * np.log(yhat)) / len(y) + alpha / 2 * sum(np.sum(w * w) for w in Ws)
    acc = np.mean(np.argmax(yhat, 1) == np.argmax(y, 1))
    return loss, zs, hs, yhat, acc


def back_prop(x, y, weightsAndBiases, hidden_sizes=(24, 16), alpha=0.0):
    loss, zs, hs, yhat, acc = forward_prop(x, y, weightsAndBiases, hidden_sizes, alpha)
    Ws, bs = unpack(weightsAndBiases, hidden_sizes)
    err = (yhat - y) / len(y)
    gW, gb = [], []
    for i in range(len(Ws) - 1, -1, -1):
        gW.append(err.T @ hs[i] + alpha * Ws[i])
        gb.append(err.sum(axis=0))
        if i:
            err = (err @ Ws[i]) * (zs[i - 1] > 0)
    gW.reverse()
    gb.reverse()
    return np.hstack([g.flatten() for g in gW] + [g.flatten() for g in gb])
