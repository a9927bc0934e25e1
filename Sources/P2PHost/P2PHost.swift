// P2PHost module.
