// P2PCore module.
