"""K-fold cross-validation splits (exercise `kfold`)."""
