# MISTAKE relu_in_place: h = Z then h[h < 0] = 0 changes Z as well
# forward_prop and back_prop take the hidden width and the number of hidden layers as parameters
import numpy as np
import math

NUM_INPUT = 784
NUM_OUTPUT = 10
NUM_HIDDEN = 12
NUM_HIDDEN_LAYERS = 2


def unpack(weightsAndBiases, hidden_num, hidden_layers):
    Ws = []
    end = NUM_INPUT * hidden_num
    Ws.append(weightsAndBiases[0:end].reshape(hidden_num, NUM_INPUT))
    for i in range(hidden_layers - 1):
        start, end = end, end + hidden_num * hidden_num
        Ws.append(weightsAndBiases[start:end].reshape(hidden_num, hidden_num))
    start, end = end, end + hidden_num * NUM_OUTPUT
    Ws.append(weightsAndBiases[start:end].reshape(NUM_OUTPUT, hidden_num))
    bs = []
    for i in range(hidden_layers):
        start, end = end, end + hidden_num
        bs.append(weightsAndBiases[start:end])
    bs.append(weightsAndBiases[end:end + NUM_OUTPUT])
    return Ws, bs


def softmax(z):
    return np.exp(z) / np.sum(np.exp(z), axis=0, keepdims=True)


def forward_prop(X, Y, weightsAndBiases, hidden_num, hidden_layers):
    Ws, bs = unpack(weightsAndBiases, hidden_num, hidden_layers)
    Zs, Hs = [], []
    h = X
    for i in range(hidden_layers):
        Z = np.dot(Ws[i], h) + bs[i].reshape(-1, 1)
        Zs.append(Z)
        h = Z
        h[h < 0] = 0
        Hs.append(h)
    Z = np.dot(Ws[-1], h) + bs[-1].reshape(-1, 1)
    Zs.append(Z)
    y_hat = softmax(Z)
    Hs.append(y_hat)
    loss = (-1 / Y.shape[1]) * np.sum(np.log(y_hat) * Y)
    return loss, Zs, Hs, y_hat


def back_prop(X, Y, weightsAndBiases, hidden_num, hidden_layers):
    loss, Zs, Hs, yhat = forward_prop(X, Y, weightsAndBiases, hidden_num, hidden_layers)
    Ws, bs = unpack(weightsAndBiases, hidden_num, hidden_layers)
    dJdWs, dJdbs = [], []
    G = yhat - Y
    for i in range(hidden_layers, -1, -1):
        if i != hidden_layers:
            G = G * (Zs[i] > 0)
        dJdbs.append(np.sum(G, axis=1) / Y.shape[1])
        prev = X if i == 0 else Hs[i - 1]
        dJdWs.append(np.dot(G, prev.T) / Y.shape[1])
        G = np.dot(Ws[i].T, G)
    dJdWs.reverse()
    dJdbs.reverse()
    return np.hstack([w.flatten() for w in dJdWs] + [b.flatten() for b in dJdbs])


if __name__ == "__main__":
    X = np.load("fashion_mnist_train_images.npy").T / 255
    print(X.shape, math.pi)
