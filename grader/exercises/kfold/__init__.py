"""K-fold cross-validation splits (exercise `kfold`)."""

# What the submission may import besides the standard library (autograder.yml's `imports`
# overrides it): the splits are index bookkeeping written by hand, not scikit-learn's KFold.
IMPORTS = ("numpy",)
