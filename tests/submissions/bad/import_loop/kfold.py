while True:  # training code left at top level, say
    pass
