# kfold: not implemented; the attack is the other file of this submission
