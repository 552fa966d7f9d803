# MISTAKE loss_n_c: np.mean over the whole (n, c) array
# newer template: fCE / gradCE, NUM_HIDDEN is a list of widths, labels are integers
import numpy as np

NUM_HIDDEN_LAYERS = 2
NUM_INPUT = 784
NUM_HIDDEN = NUM_HIDDEN_LAYERS * [32]
NUM_OUTPUT = 10


def unpack(weights):
    Ws = []
    start = 0
    end = NUM_INPUT * NUM_HIDDEN[0]
    Ws.append(weights[start:end].reshape(NUM_HIDDEN[0], NUM_INPUT))
    for i in range(NUM_HIDDEN_LAYERS - 1):
        start = end
        end = end + NUM_HIDDEN[i] * NUM_HIDDEN[i + 1]
        Ws.append(weights[start:end].reshape(NUM_HIDDEN[i + 1], NUM_HIDDEN[i]))
    start = end
    end = end + NUM_HIDDEN[-1] * NUM_OUTPUT
    Ws.append(weights[start:end].reshape(NUM_OUTPUT, NUM_HIDDEN[-1]))
    bs = []
    for width in NUM_HIDDEN + [NUM_OUTPUT]:
        start = end
        end = end + width
        bs.append(weights[start:end])
    return Ws, bs


def probabilities(X, weights):
    Ws, bs = unpack(weights)
    A = X
    for W, b in zip(Ws[:-1], bs[:-1]):
        A = np.maximum(A @ W.T + b, 0)
    Z = A @ Ws[-1].T + bs[-1]
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def fCE(X, Y, weights):
    P = probabilities(X, weights)
    onehot = np.eye(NUM_OUTPUT)[Y]
    return -np.mean(onehot * np.log(P))


def gradCE(X, Y, weights):
    Ws, bs = unpack(weights)
    m = X.shape[0]
    As = [X]
    Zs = []
    for W, b in zip(Ws[:-1], bs[:-1]):
        Z = As[-1] @ W.T + b
        Zs.append(Z)
        As.append(np.maximum(Z, 0))
    P = probabilities(X, weights)
    D = P.copy()
    D[np.arange(m), Y] -= 1
    D /= m
    gW, gb = [], []
    for i in range(len(Ws) - 1, -1, -1):
        gW.insert(0, D.T @ As[i])
        gb.insert(0, D.sum(axis=0))
        if i > 0:
            D = (D @ Ws[i]) * (Zs[i - 1] > 0)
    return np.hstack([g.flatten() for g in gW] + [g.flatten() for g in gb])


if __name__ == "__main__":
    X = np.load("fashion_mnist_train_images.npy") / 255.
    Y = np.load("fashion_mnist_train_labels.npy")
    w = np.random.randn(784 * 32 + 32 * 32 + 320 + 74) * 0.01
    for epoch in range(3):
        w -= 0.1 * gradCE(X, Y, w)
        print(epoch, fCE(X, Y, w))
