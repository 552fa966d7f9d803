# fCE / gradCE with the width kept in HIDDEN_UNITS (no NUM_HIDDEN), examples as rows, and a helper
# forward(X, w) beside them that both call
import numpy as np

NUM_INPUT = 784
NUM_OUTPUT = 10
HIDDEN_UNITS = 20
LEARNING_RATE = 0.05


def unpack(w):
    cut1 = NUM_INPUT * HIDDEN_UNITS
    cut2 = cut1 + HIDDEN_UNITS
    cut3 = cut2 + HIDDEN_UNITS * NUM_OUTPUT
    W1 = w[:cut1].reshape(HIDDEN_UNITS, NUM_INPUT)
    b1 = w[cut1:cut2]
    W2 = w[cut2:cut3].reshape(NUM_OUTPUT, HIDDEN_UNITS)
    b2 = w[cut3:]
    return W1, b1, W2, b2


def forward(X, w):
    W1, b1, W2, b2 = unpack(w)
    Z1 = X.dot(W1.T) + b1
    H1 = np.maximum(Z1, 0)
    Z2 = H1.dot(W2.T) + b2
    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    return Z1, H1, P


def fCE(X, Y, w):
    _, _, P = forward(X, w)
    return -np.mean(np.sum(Y * np.log(P), axis=1))


def gradCE(X, Y, w):
    W1, b1, W2, b2 = unpack(w)
    Z1, H1, P = forward(X, w)
    m = X.shape[0]
    D2 = (P - Y) / m
    gW2 = D2.T.dot(H1)
    gb2 = D2.sum(axis=0)
    D1 = D2.dot(W2) * (Z1 > 0)
    gW1 = D1.T.dot(X)
    gb1 = D1.sum(axis=0)
    return np.concatenate([gW1.ravel(), gb1, gW2.ravel(), gb2])


if __name__ == "__main__":
    X = np.load("fashion_mnist_train_images.npy") / 255.0
