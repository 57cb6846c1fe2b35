"""Counting parameters and output shapes (exercise `param_count`)."""

# What the submission may import besides the standard library (autograder.yml's `imports`
# overrides it): count_parameters takes a torch.nn.Module.
IMPORTS = ("numpy", "torch")
