# Older two-layer version: W1, b1, W2, b2 packed in that order; trains when imported
import numpy as np
import matplotlib.pyplot as plt
import scipy.optimize

NUM_INPUT = 784
NUM_HIDDEN = 40
NUM_OUTPUT = 10


def unpack(w):
    W1 = np.reshape(w[:NUM_INPUT * NUM_HIDDEN], (NUM_HIDDEN, NUM_INPUT))
    w = w[NUM_INPUT * NUM_HIDDEN:]
    b1 = w[:NUM_HIDDEN]
    w = w[NUM_HIDDEN:]
    W2 = np.reshape(w[:NUM_HIDDEN * NUM_OUTPUT], (NUM_OUTPUT, NUM_HIDDEN))
    w = w[NUM_HIDDEN * NUM_OUTPUT:]
    b2 = w
    return W1, b1, W2, b2


def pack(W1, b1, W2, b2):
    return np.hstack((W1.flatten(), b1, W2.flatten(), b2))


def fCE(X, Y, w):
    W1, b1, W2, b2 = unpack(w)
    z1 = X.dot(W1.T) + b1
    h1 = np.maximum(z1, 0)
    z2 = h1.dot(W2.T) + b2
    yhat = np.exp(z2) / np.exp(z2).sum(axis=1, keepdims=True)
    return -np.mean(np.sum(Y * np.log(yhat), axis=1))


def gradCE(X, Y, w):
    W1, b1, W2, b2 = unpack(w)
    z1 = X.dot(W1.T) + b1
    h1 = np.maximum(z1, 0)
    z2 = h1.dot(W2.T) + b2
    yhat = np.exp(z2) / np.exp(z2).sum(axis=1, keepdims=True)
    g2 = (yhat - Y) / X.shape[0]
    gradW2 = g2.T.dot(h1)
    gradb2 = g2.sum(axis=0)
    g1 = g2.dot(W2) * (z1 > 0)
    gradW1 = g1.T.dot(X)
    gradb1 = g1.sum(axis=0)
    return pack(gradW1, gradb1, gradW2, gradb2)


def train(X, Y, w, epochs=20):
    for e in range(epochs):
        w = w - 0.5 * gradCE(X, Y, w)
        print("epoch", e, fCE(X, Y, w))
    return w


trainX = np.load("fashion_mnist_train_images.npy") / 255.
trainY = np.eye(10)[np.load("fashion_mnist_train_labels.npy")]
w0 = np.random.randn(NUM_INPUT * NUM_HIDDEN + NUM_HIDDEN + NUM_HIDDEN * NUM_OUTPUT + NUM_OUTPUT) * 0.01
print(scipy.optimize.check_grad(lambda w: fCE(trainX[:5], trainY[:5], w), lambda w: gradCE(trainX[:5], trainY[:5], w), w0))
w = train(trainX, trainY, w0)
plt.imshow(unpack(w)[0][0].reshape(28, 28))
plt.show()
