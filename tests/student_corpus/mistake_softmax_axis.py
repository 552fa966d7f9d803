# MISTAKE softmax_axis: softmax normalised over the examples
# HW3 -- x comes in as (n, 784) rows, everything inside is columns
import numpy as np
import scipy.optimize

NUM_HIDDEN_LAYERS = 2
NUM_INPUT = 784
NUM_HIDDEN = 16
NUM_OUTPUT = 10


def unpack(wab):
    Ws, bs = [], []
    sizes = [NUM_INPUT] + [NUM_HIDDEN] * NUM_HIDDEN_LAYERS + [NUM_OUTPUT]
    k = 0
    for a, b in zip(sizes[:-1], sizes[1:]):
        Ws.append(wab[k:k + a * b].reshape(b, a))
        k += a * b
    for b in sizes[1:]:
        bs.append(wab[k:k + b])
        k += b
    return Ws, bs


def forward_prop(x, y, weightsAndBiases):
    Ws, bs = unpack(weightsAndBiases)
    n = x.shape[0]
    h = x.T
    hs = [h]
    zs = []
    for i in range(NUM_HIDDEN_LAYERS):
        z = np.dot(Ws[i], h) + bs[i][:, None]
        zs.append(z)
        h = np.maximum(0, z)
        hs.append(h)
    z = np.dot(Ws[-1], h) + bs[-1][:, None]
    zs.append(z)
    ez = np.exp(z - z.max(axis=1, keepdims=True))
    yhat = ez / ez.sum(axis=1, keepdims=True)
    hs.append(yhat)
    loss = -np.sum(y * np.log(yhat.T)) / n
    return loss, zs, hs, yhat


def back_prop(x, y, weightsAndBiases):
    loss, zs, hs, yhat = forward_prop(x, y, weightsAndBiases)
    Ws, bs = unpack(weightsAndBiases)
    n = x.shape[0]
    dWs = [None] * len(Ws)
    dbs = [None] * len(bs)
    delta = (yhat - y.T) / n
    for i in range(len(Ws) - 1, -1, -1):
        dWs[i] = np.dot(delta, hs[i].T)
        dbs[i] = np.sum(delta, axis=1)
        if i > 0:
            delta = np.dot(Ws[i].T, delta) * (zs[i - 1] > 0)
    return np.hstack([w.flatten() for w in dWs] + [b.flatten() for b in dbs])


if __name__ == "__main__":
    X = np.load("fashion_mnist_train_images.npy") / 255. - 0.5
    Y = np.eye(10)[np.load("fashion_mnist_train_labels.npy")]
    w = np.random.randn(784 * 16 + 16 * 16 + 160 + 42) * 0.01
    print(scipy.optimize.check_grad(lambda w_: forward_prop(X[:5], Y[:5], w_)[0],
                                    lambda w_: back_prop(X[:5], Y[:5], w_), w))
