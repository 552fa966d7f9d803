# MISTAKE act_swapped: the bodies of relu and relu_prime exchanged
# Homework 3: a 3-layer (and deeper) network on Fashion-MNIST, the course's template.
import numpy as np
import matplotlib.pyplot as plt

NUM_HIDDEN_LAYERS = 3
NUM_INPUT = 784
NUM_HIDDEN = 10
NUM_OUTPUT = 10


def unpack(weightsAndBiases):
    Ws = []
    start = 0
    end = NUM_INPUT * NUM_HIDDEN
    Ws.append(weightsAndBiases[start:end].reshape(NUM_HIDDEN, NUM_INPUT))
    for i in range(NUM_HIDDEN_LAYERS - 1):
        start = end
        end = end + NUM_HIDDEN * NUM_HIDDEN
        Ws.append(weightsAndBiases[start:end].reshape(NUM_HIDDEN, NUM_HIDDEN))
    start = end
    end = end + NUM_HIDDEN * NUM_OUTPUT
    Ws.append(weightsAndBiases[start:end].reshape(NUM_OUTPUT, NUM_HIDDEN))
    bs = []
    for i in range(NUM_HIDDEN_LAYERS):
        start = end
        end = end + NUM_HIDDEN
        bs.append(weightsAndBiases[start:end])
    start = end
    end = end + NUM_OUTPUT
    bs.append(weightsAndBiases[start:end])
    return Ws, bs


def relu(z):
    return (z > 0).astype(float)


def relu_prime(z):
    return np.maximum(z, 0)


def softmax(z):
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def forward_prop(x, y, weightsAndBiases):
    Ws, bs = unpack(weightsAndBiases)
    zs = []
    hs = []
    h = x
    for i in range(NUM_HIDDEN_LAYERS):
        z = Ws[i].dot(h) + bs[i].reshape(-1, 1)
        zs.append(z)
        h = relu(z)
        hs.append(h)
    z = Ws[-1].dot(h) + bs[-1].reshape(-1, 1)
    zs.append(z)
    yhat = softmax(z)
    n = y.shape[1]
    loss = -np.sum(y * np.log(yhat)) / n
    return loss, zs, hs, yhat


def back_prop(x, y, weightsAndBiases):
    loss, zs, hs, yhat = forward_prop(x, y, weightsAndBiases)
    Ws, bs = unpack(weightsAndBiases)
    n = y.shape[1]
    dJdWs = []
    dJdbs = []
    g = yhat - y
    for i in range(NUM_HIDDEN_LAYERS, -1, -1):
        if i > 0:
            h_prev = hs[i - 1]
        else:
            h_prev = x
        dJdWs.append(g.dot(h_prev.T) / n)
        dJdbs.append(np.sum(g, axis=1) / n)
        if i > 0:
            g = Ws[i].T.dot(g) * relu_prime(zs[i - 1])
    dJdWs.reverse()
    dJdbs.reverse()
    return np.hstack([dW.flatten() for dW in dJdWs] + [db.flatten() for db in dJdbs])


def initWeightsAndBiases():
    Ws = []
    bs = []
    np.random.seed(0)
    W = 2 * (np.random.random(size=(NUM_HIDDEN, NUM_INPUT)) / NUM_INPUT ** 0.5) - 1. / NUM_INPUT ** 0.5
    Ws.append(W)
    bs.append(0.01 * np.ones(NUM_HIDDEN))
    for i in range(NUM_HIDDEN_LAYERS - 1):
        W = 2 * (np.random.random(size=(NUM_HIDDEN, NUM_HIDDEN)) / NUM_HIDDEN ** 0.5) - 1. / NUM_HIDDEN ** 0.5
        Ws.append(W)
        bs.append(0.01 * np.ones(NUM_HIDDEN))
    W = 2 * (np.random.random(size=(NUM_OUTPUT, NUM_HIDDEN)) / NUM_HIDDEN ** 0.5) - 1. / NUM_HIDDEN ** 0.5
    Ws.append(W)
    bs.append(0.01 * np.ones(NUM_OUTPUT))
    return np.hstack([W.flatten() for W in Ws] + [b.flatten() for b in bs])


def train(trainX, trainY, weightsAndBiases, epochs=10, lr=0.01, batch=64):
    for epoch in range(epochs):
        for start in range(0, trainX.shape[1], batch):
            xb = trainX[:, start:start + batch]
            yb = trainY[:, start:start + batch]
            weightsAndBiases = weightsAndBiases - lr * back_prop(xb, yb, weightsAndBiases)
        print("epoch", epoch, forward_prop(trainX, trainY, weightsAndBiases)[0])
    return weightsAndBiases


if __name__ == "__main__":
    trainX = np.load("fashion_mnist_train_images.npy").T / 255.
    trainY = np.eye(10)[np.load("fashion_mnist_train_labels.npy")].T
    wab = initWeightsAndBiases()
    wab = train(trainX, trainY, wab)
    plt.plot(wab)
    plt.show()
