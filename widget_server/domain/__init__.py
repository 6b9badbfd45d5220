"""Domain logic: plain Python on the models. No Flask imports; flush, never commit."""
