"""What the commands do, as library calls: sync, close, reconcile, check, write documents and packets."""
