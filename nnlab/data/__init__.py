"""The data sets: MNIST loading, checksums and download, beside the shipped files (data/mnist/)."""
