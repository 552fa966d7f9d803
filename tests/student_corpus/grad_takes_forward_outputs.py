# fCE returns the loss and the layers' values, and gradCE takes them as extra parameters;
# images as columns (784 x n) but labels as rows (n x 10)
import numpy as np

NUM_INPUT = 784
NUM_HIDDEN = 16
NUM_OUTPUT = 10


def unpack(w):
    W1 = w[:NUM_INPUT * NUM_HIDDEN].reshape(NUM_HIDDEN, NUM_INPUT)
    w = w[NUM_INPUT * NUM_HIDDEN:]
    b1 = w[:NUM_HIDDEN]
    w = w[NUM_HIDDEN:]
    W2 = w[:NUM_HIDDEN * NUM_OUTPUT].reshape(NUM_OUTPUT, NUM_HIDDEN)
    b2 = w[NUM_HIDDEN * NUM_OUTPUT:]
    return W1, b1, W2, b2


def pack(W1, b1, W2, b2):
    return np.concatenate((W1.flatten(), b1, W2.flatten(), b2))


def fCE(X, Y, w):
    W1, b1, W2, b2 = unpack(w)
    z1 = W1 @ X + b1[:, None]
    h1 = np.maximum(z1, 0)
    z2 = W2 @ h1 + b2[:, None]
    yhat = np.exp(z2) / np.exp(z2).sum(axis=0)
    loss = -np.mean(np.sum(Y.T * np.log(yhat), axis=0))
    acc = np.mean(np.argmax(yhat, axis=0) == np.argmax(Y, axis=1))
    return loss, z1, h1, yhat, acc


def gradCE(X, Y, w, z1, h1, yhat):
    W1, b1, W2, b2 = unpack(w)
    n = X.shape[1]
    err = (yhat - Y.T) / n
    dW2 = err @ h1.T
    db2 = err.sum(axis=1)
    g = (W2.T @ err) * (z1 > 0)
    dW1 = g @ X.T
    db1 = g.sum(axis=1)
    return pack(dW1, db1, dW2, db2)


if __name__ == "__main__":
    X = np.load("fashion_mnist_train_images.npy").T / 255.0
