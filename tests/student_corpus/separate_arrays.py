# fCE and gradCE take W1, b1, W2, b2 one by one (no packed vector); examples as rows, each W (in, out),
# the gradient returned as four arrays
import numpy as np


def softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


def fCE(X, Y, W1, b1, W2, b2):
    H = np.maximum(X @ W1 + b1, 0)
    P = softmax(H @ W2 + b2)
    return -np.sum(Y * np.log(P)) / X.shape[0]


def gradCE(X, Y, W1, b1, W2, b2):
    Z1 = X @ W1 + b1
    H = np.maximum(Z1, 0)
    P = softmax(H @ W2 + b2)
    G2 = (P - Y) / X.shape[0]
    G1 = (G2 @ W2.T) * (Z1 > 0)
    return X.T @ G1, G1.sum(axis=0), H.T @ G2, G2.sum(axis=0)


if __name__ == "__main__":
    W1 = np.random.randn(784, 40) * 0.01
